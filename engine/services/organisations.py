"""Organisations, people and staff roles."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlmodel import Session

from engine.errors import Conflict, InvalidInput, NotFound
from engine.openbadges.identity import normalise_phone
from engine.roles import OrganisationKind, Role, StructureKind
from engine.slugs import SLUG_MAX, slug_problem
from engine.statuses import PersonKind
from engine.store.tables import AuditEvent, Membership, Organisation, Person, StaffRole, utcnow

if TYPE_CHECKING:
    from engine.services.access import Actor
    from engine.services.runtime import Runtime


# --- IAE identifiers (issue 20) --------------------------------------------------------------

DEPARTEMENTS = frozenset(
    [f"{n:02d}" for n in range(1, 96) if n != 20] + ["2A", "2B"] + [str(n) for n in range(971, 977)]
)
"""France's départements: 01 to 95 (Corsica is 2A and 2B, never 20) and overseas 971 to 976."""


def normalise_siret(value: str | None) -> str | None:
    """A SIRET as stored (14 digits), checked by `python-stdnum` (the Luhn key, with La Poste's
    establishments as the exception the library knows); spaces and dots typed are dropped.
    Empty: None."""
    from stdnum.exceptions import ValidationError
    from stdnum.fr import siret

    if value is None or not value.strip():
        return None
    try:
        return siret.validate(value)
    except ValidationError:
        digits = siret.compact(value)
        if not digits.isdigit():
            raise InvalidInput(f"SIRET : « {value} » ne contient pas que des chiffres") from None
        if len(digits) != 14:
            raise InvalidInput(
                f"SIRET : « {value} » a {len(digits)} chiffres, il en faut 14"
            ) from None
        raise InvalidInput(
            f"SIRET : « {value} » n'est pas un SIRET valide (clé de contrôle fausse : "
            "vérifiez-le sur l'avis de situation INSEE)"
        ) from None


def normalise_departement(value: str | None) -> str | None:
    """A département code as stored (`29`, `2A`, `971`); `1` is `01`, `2a` is `2A`. Empty:
    None."""
    if value is None or not value.strip():
        return None
    code = value.strip().upper()
    if code.isdigit() and len(code) == 1:
        code = f"0{code}"
    if code not in DEPARTEMENTS:
        hint = " (la Corse s'écrit 2A ou 2B)" if code == "20" else ""
        raise InvalidInput(
            f"département : « {value} » inconnu : de 01 à 95, 2A, 2B ou de 971 à 976{hint}"
        )
    return code


def siret_holder(
    session: Session, siret: str, *, besides: int | None = None
) -> Organisation | None:
    """The organisation that already carries this SIRET (other than `besides`)."""
    query = select(Organisation).where(Organisation.siret == siret)
    if besides is not None:
        query = query.where(Organisation.id != besides)
    return session.execute(query.limit(1)).scalar_one_or_none()


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
    siret: str | None = None,
    departement: str | None = None,
) -> Organisation:
    """Create or update an organisation by identifier. `siret` and `departement` are checked
    (`normalise_siret`, `normalise_departement`) and kept when not given; a SIRET another
    organisation carries is refused."""
    kind = OrganisationKind(kind)
    problem = slug_problem(slug)
    if problem:
        raise InvalidInput(f"identifiant : {problem}")
    if kind == OrganisationKind.STRUCTURE:
        forms = ", ".join(k.value for k in StructureKind)
        if structure_kind is None:
            raise InvalidInput(f"une structure doit préciser son type ({forms})")
        if str(structure_kind).upper() in {"EA", "EATT"}:
            raise InvalidInput(
                "type de structure : une entreprise adaptée n'est pas une SIAE, "
                "ajoutez-la comme partenaire (--kind partner)"
            )
        try:
            structure_kind = StructureKind(structure_kind)
        except ValueError:
            raise InvalidInput(
                f"type de structure inconnu « {structure_kind} » (attendu : {forms})"
            ) from None
    siret = normalise_siret(siret)
    departement = normalise_departement(departement)
    org = session.execute(
        select(Organisation).where(Organisation.slug == slug)
    ).scalar_one_or_none()
    if siret is not None:
        holder = siret_holder(session, siret, besides=org.id if org is not None else None)
        if holder is not None:
            raise Conflict(f"SIRET : {siret} est déjà celui de « {holder.name} » ({holder.slug})")
    if org is None:
        org = Organisation(slug=slug, name=name, kind=kind.value)
        session.add(org)
    org.name, org.kind = name, kind.value
    org.structure_kind = structure_kind.value if structure_kind else None
    org.url, org.email = url or org.url, email or org.email
    org.siret, org.departement = siret or org.siret, departement or org.departement
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
        select(Person).where(Person.email == email, Person.kind == PersonKind.STAFF)
    ).scalar_one_or_none()
    if person is None:
        person = Person(
            kind=PersonKind.STAFF, email=email, given_name=given_name, family_name=family_name
        )
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
    query = select(Person).where(Person.kind == PersonKind.STAFF)
    if isinstance(ref, int) or str(ref).isdigit():
        query = query.where(Person.id == int(ref))
    else:
        query = query.where(Person.email == ref)
    person = session.execute(query).scalar_one_or_none()
    if person is None:
        raise NotFound(f"membre de l'équipe « {ref} » introuvable")
    return person


def find_or_add_participant(
    session: Session,
    structure_id: int,
    given_name: str,
    family_name: str,
    email: str | None = None,
    phone: str | None = None,
) -> Person:
    """The structure's participant with this e-mail (or, without one, this name), else a new
    one. `phone`: E.164 (`engine.openbadges.identity.normalise_phone`), recorded on a new
    participant, or on one found who has none yet."""
    if phone:
        try:
            phone = normalise_phone(phone)
        except ValueError as exc:
            raise InvalidInput(f"phone : {exc}") from None
    query = select(Person).where(
        Person.kind == PersonKind.PARTICIPANT, Person.structure_id == structure_id
    )
    query = (
        query.where(Person.email == email)
        if email
        else query.where(Person.given_name == given_name, Person.family_name == family_name)
    )
    person = session.execute(query).scalars().first()
    if person is None:
        person = Person(
            kind=PersonKind.PARTICIPANT,
            given_name=given_name,
            family_name=family_name,
            email=email,
            phone=phone,
            structure_id=structure_id,
        )
        session.add(person)
        session.flush()
    elif phone and not person.phone:
        person.phone = phone
    return person


def directory(rt: Runtime, *, page: int, per_page: int) -> tuple[list[dict[str, Any]], int]:
    """Networks, structures and partners by identifier: their public names, no person."""
    with rt.reading() as conn:
        total = conn.execute(select(func.count(Organisation.id))).scalar_one()
        rows = conn.execute(
            select(
                Organisation.slug, Organisation.name, Organisation.kind, Organisation.structure_kind
            )
            .order_by(Organisation.slug)
            .limit(per_page)
            .offset((page - 1) * per_page)
        ).all()
    keys = ("slug", "name", "kind", "structure_kind")
    return [dict(zip(keys, row, strict=True)) for row in rows], total


# --- a network's structures and partners, added from the web (issue 19) ----------------------

WEB_STRUCTURE_KINDS = (
    StructureKind.AI,
    StructureKind.ACI,
    StructureKind.EI,
    StructureKind.EITI,
    StructureKind.ETTI,
)
"""The SIAE forms a network admin picks from on the web."""


def slug_of(name: str) -> str:
    """The identifier a name suggests: « Atelier Brestois d'Insertion » is
    « atelier-brestois-d-insertion »."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:SLUG_MAX]


def create_organisation(
    rt: Runtime,
    name: str,
    kind: OrganisationKind | str,
    network: str,
    *,
    by: Actor,
    slug: str = "",
    structure_kind: str | None = None,
    siret: str | None = None,
    departement: str | None = None,
    now: datetime | None = None,
) -> str:
    """A new structure (SIAE) or partner of `network`, by an admin of that network
    (`ORGANISATION_CREATE`). The identifier is derived from the name unless given; an
    identifier already taken is refused, never overwritten. Returns the identifier."""
    from engine.services import access

    now = now or utcnow()
    name = " ".join(name.split())
    if not name:
        raise InvalidInput("nom : obligatoire")
    if len(name) > 200:
        raise InvalidInput("nom : 200 caractères au plus")
    try:
        kind = OrganisationKind(kind)
    except ValueError:
        kind = OrganisationKind.NETWORK  # refused just below
    if kind == OrganisationKind.NETWORK:
        raise InvalidInput("type : une structure ou un partenaire")
    if kind == OrganisationKind.STRUCTURE and structure_kind not in {
        k.value for k in WEB_STRUCTURE_KINDS
    }:
        forms = ", ".join(k.value for k in WEB_STRUCTURE_KINDS)
        raise InvalidInput(f"type de structure : à choisir parmi {forms}")
    slug = slug.strip() or slug_of(name)
    problem = slug_problem(slug)
    if problem:
        raise InvalidInput(f"identifiant : {problem}")
    siret = normalise_siret(siret)
    departement = normalise_departement(departement)
    with rt.unit_of_work() as session:
        home = session.execute(
            select(Organisation).where(
                Organisation.slug == network, Organisation.kind == OrganisationKind.NETWORK.value
            )
        ).scalar_one_or_none()
        if home is None:
            raise NotFound(f"réseau « {network} » introuvable")
        access.ensure(
            session, by, access.Action.ORGANISATION_CREATE, access.Target(network=network)
        )
        taken = session.execute(select(Organisation.id).where(Organisation.slug == slug)).first()
        if taken is not None:
            raise Conflict(f"identifiant : « {slug} » est déjà pris, choisissez-en un autre")
        org = upsert_organisation(
            session,
            slug,
            name,
            kind,
            structure_kind=structure_kind if kind == OrganisationKind.STRUCTURE else None,
            networks=[network],
            siret=siret,
            departement=departement,
        )
        session.add(
            AuditEvent(
                at=now,
                actor_id=by.person_id,
                kind="organisation_created",
                details={"organisation": org.slug, "kind": kind.value, "network": network},
            )
        )
        return org.slug


@dataclass(frozen=True)
class OrganisationRow:
    slug: str
    name: str
    kind: str
    structure_kind: str | None
    networks: list[str]
    """The names of the networks it belongs to."""
    siret: str | None = None
    departement: str | None = None


def administered(rt: Runtime, *, by: Actor) -> tuple[list[tuple[str, str]], list[OrganisationRow]]:
    """The networks `by` administers ((slug, name), by name) and their structures and
    partners, by name: what the administration page lists. Empty for anyone else."""
    from engine.services import access

    if not by.is_staff or by.person_id is None:
        return [], []
    mine = access.networks_administered(by.person_id)
    network = Organisation.__table__.alias("network")
    with rt.reading() as conn:
        networks = conn.execute(
            select(Organisation.slug, Organisation.name)
            .where(Organisation.slug.in_(mine))
            .order_by(Organisation.name)
        ).all()
        rows = conn.execute(
            select(
                Organisation.slug,
                Organisation.name,
                Organisation.kind,
                Organisation.structure_kind,
                network.c.name,
                Organisation.siret,
                Organisation.departement,
            )
            .join(Membership, Membership.structure_id == Organisation.id)
            .join(network, network.c.id == Membership.network_id)
            .where(network.c.slug.in_(mine))
            .order_by(Organisation.name, network.c.name)
        ).all()
    found: dict[str, OrganisationRow] = {}
    for slug, name, kind, structure_kind, network_name, siret, departement in rows:
        row = found.setdefault(
            slug, OrganisationRow(slug, name, kind, structure_kind, [], siret, departement)
        )
        row.networks.append(network_name)
    return [(s, n) for s, n in networks], list(found.values())
