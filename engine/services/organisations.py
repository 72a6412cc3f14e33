"""Organisations, people and staff roles."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, and_, bindparam, or_, select
from sqlmodel import Session

from engine.errors import Forbidden, InvalidInput, NotFound
from engine.roles import OrganisationKind, Role, StructureKind
from engine.store.tables import Membership, Organisation, Person, StaffRole


def get_organisation(session: Session, slug: str) -> Organisation:
    org = session.execute(
        select(Organisation).where(Organisation.slug == slug)
    ).scalar_one_or_none()
    if org is None:
        raise NotFound(f"organisation « {slug} » introuvable")
    return org


def upsert_organisation(
    session: Session,
    slug: str,
    name: str,
    kind: OrganisationKind | str,
    *,
    structure_kind: StructureKind | str | None = None,
    networks: list[str] | None = None,
    url: str | None = None,
    email: str | None = None,
) -> Organisation:
    kind = OrganisationKind(kind)
    if kind == OrganisationKind.STRUCTURE:
        if structure_kind is None:
            raise InvalidInput("une structure doit préciser son type (AI, ACI, EI, ETTI, EiTi, EA)")
        try:
            structure_kind = StructureKind(structure_kind)
        except ValueError:
            raise InvalidInput(
                f"type de structure inconnu « {structure_kind} » "
                f"(attendu : {', '.join(k.value for k in StructureKind)})"
            ) from None
    org = session.execute(
        select(Organisation).where(Organisation.slug == slug)
    ).scalar_one_or_none()
    if org is None:
        org = Organisation(slug=slug, name=name, kind=kind.value)
        session.add(org)
    org.name, org.kind = name, kind.value
    org.structure_kind = structure_kind.value if structure_kind else None
    org.url, org.email = url or org.url, email or org.email
    session.flush()
    for network_slug in networks or []:
        network = get_organisation(session, network_slug)
        if network.kind != OrganisationKind.NETWORK:
            raise InvalidInput(f"« {network_slug} » n'est pas un réseau")
        if session.get(Membership, (org.id, network.id)) is None:
            session.add(Membership(structure_id=org.id, network_id=network.id))
    session.flush()
    return org


def add_staff(
    session: Session,
    email: str,
    given_name: str,
    family_name: str,
    roles: list[tuple[str, Role | str]],
) -> Person:
    """Create (or find by e-mail) a staff member and grant roles at organisations (by slug)."""
    person = session.execute(
        select(Person).where(Person.email == email, Person.kind == "staff")
    ).scalar_one_or_none()
    if person is None:
        person = Person(kind="staff", email=email, given_name=given_name, family_name=family_name)
        session.add(person)
        session.flush()
    for org_slug, role in roles:
        try:
            role = Role(role)
        except ValueError:
            raise InvalidInput(
                f"rôle inconnu « {role} » (attendu : {', '.join(r.value for r in Role)})"
            ) from None
        org = get_organisation(session, org_slug)
        exists = session.execute(
            select(StaffRole.id).where(
                StaffRole.person_id == person.id,
                StaffRole.organisation_id == org.id,
                StaffRole.role == role.value,
            )
        ).first()
        if not exists:
            session.add(StaffRole(person_id=person.id, organisation_id=org.id, role=role.value))
    session.flush()
    return person


def find_staff(session: Session, ref: str | int) -> Person:
    """A staff member by id or e-mail, as given on the command line (`--by`)."""
    query = select(Person).where(Person.kind == "staff")
    if isinstance(ref, int) or str(ref).isdigit():
        query = query.where(Person.id == int(ref))
    else:
        query = query.where(Person.email == ref)
    person = session.execute(query).scalar_one_or_none()
    if person is None:
        raise NotFound(f"membre de l'équipe « {ref} » introuvable")
    return person


def granted_at(structure: Any) -> Any:
    """Join condition for the StaffRole rows that give Person a say at `structure` (a column
    or a bound parameter): a role at the structure itself, or network-admin of one of its
    networks."""
    networks = select(Membership.network_id).where(Membership.structure_id == structure)
    return and_(
        StaffRole.person_id == Person.id,
        or_(
            StaffRole.organisation_id == structure,
            and_(
                StaffRole.organisation_id.in_(networks),
                StaffRole.role == Role.NETWORK_ADMIN.value,
            ),
        ),
    )


def staff_match(ref: str | int) -> tuple[str, Any]:
    """(statement key, bound value) for a staff reference given as id or e-mail."""
    by_id = isinstance(ref, int) or str(ref).isdigit()
    return ("id", int(ref)) if by_id else ("email", ref)


def _roles_query(match: Any) -> Any:
    """Built once: every state change asks who may act."""
    granted = granted_at(bindparam("sid"))
    return (
        select(Person.id, StaffRole.role)
        .select_from(Person)
        .outerjoin(StaffRole, granted)
        .where(Person.kind == "staff", match)
    )


_ROLES = {
    "id": _roles_query(Person.id == bindparam("ref")),
    "email": _roles_query(Person.email == bindparam("ref")),
}


def require_staff(
    db: Connection | Session, ref: str | int, structure_id: int
) -> tuple[int, frozenset[Role]]:
    """The acting staff member's id and roles there; Forbidden when they have none, so staff
    of one SIAE never reach another's participants unless a network role grants it."""
    key, value = staff_match(ref)
    rows = db.execute(_ROLES[key], {"ref": value, "sid": structure_id}).all()
    return check_roles(db, ref, rows[0][0] if rows else None, [r for _, r in rows], structure_id)


def check_roles(
    db: Connection | Session,
    ref: str | int,
    person_id: int | None,
    roles_found: list[str | None],
    structure_id: int,
) -> tuple[int, frozenset[Role]]:
    """Turn looked-up roles into (person id, roles), or the French NotFound / Forbidden."""
    if person_id is None:
        raise NotFound(f"membre de l'équipe « {ref} » introuvable")
    roles = frozenset(Role(role) for role in roles_found if role)
    if not roles:
        given, family = db.execute(
            select(Person.given_name, Person.family_name).where(Person.id == person_id)
        ).one()
        structure = db.execute(
            select(Organisation.name).where(Organisation.id == structure_id)
        ).scalar_one_or_none()
        raise Forbidden(
            f"{given} {family} n'a aucun rôle dans la structure « {structure or structure_id} »"
        )
    return person_id, roles


def find_or_add_participant(
    session: Session, structure_id: int, given_name: str, family_name: str, email: str | None = None
) -> Person:
    query = select(Person).where(Person.kind == "participant", Person.structure_id == structure_id)
    query = (
        query.where(Person.email == email)
        if email
        else query.where(Person.given_name == given_name, Person.family_name == family_name)
    )
    person = session.execute(query).scalars().first()
    if person is None:
        person = Person(
            kind="participant",
            given_name=given_name,
            family_name=family_name,
            email=email,
            structure_id=structure_id,
        )
        session.add(person)
        session.flush()
    return person
