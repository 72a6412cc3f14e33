"""Attribution committees: created by a director (internal) or a network (crossed between its
SIAE), with members from the structures; their agenda is the requests waiting for their vote."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlmodel import Session

from engine.committees import CommitteeRule
from engine.errors import Conflict, Forbidden, InvalidInput, NotFound
from engine.services import access
from engine.services.access import Action, Actor, Target
from engine.services.runtime import Runtime
from engine.statuses import PersonKind, RequestStatus
from engine.store.tables import (
    BadgeRequest,
    Committee,
    CommitteeMember,
    Organisation,
    Person,
    StaffRole,
    utcnow,
)


@dataclass(frozen=True)
class Member:
    person_id: int
    name: str
    structure: str | None


@dataclass(frozen=True)
class CommitteeView:
    id: int
    name: str
    kind: str
    title: str
    rule: str
    network: str
    structure: str | None
    members: list[Member]
    pending: int


def _roles(session: Session, person_id: int) -> list[tuple[int, str, str, str]]:
    """(organisation id, slug, kind, role) of every role the person holds."""
    return list(
        session.execute(
            select(Organisation.id, Organisation.slug, Organisation.kind, StaffRole.role)
            .join(StaffRole, StaffRole.organisation_id == Organisation.id)
            .where(StaffRole.person_id == person_id)
        ).all()
    )


def _target(committee: Committee) -> Target:
    return Target(
        structure_id=committee.structure_id, network=committee.network, committee_id=committee.id
    )


def create(
    rt: Runtime,
    name: str,
    kind: str,
    *,
    by: Actor,
    structure: str | None = None,
    now: datetime | None = None,
) -> int:
    """An internal committee belongs to one structure; a crossed one to the network."""
    rule = rt.committee_rule(kind)
    if rule is None:
        known = ", ".join(sorted(rt.committee_rules)) or "aucun"
        raise InvalidInput(f"kind : type de comité « {kind} » inconnu (connus : {known})")
    if not name.strip():
        raise InvalidInput("name : le comité doit avoir un nom")
    network = rt.committee_network(kind) or kind.split(".", 1)[0]
    with rt.unit_of_work() as session:
        structure_id = None
        if structure is not None:
            if rule.crossed:
                raise InvalidInput("structure : un comité croisé appartient au réseau")
            org = session.execute(
                select(Organisation).where(Organisation.slug == structure)
            ).scalar_one_or_none()
            if org is None or org.kind != "structure":
                raise NotFound(f"structure « {structure} » introuvable")
            structure_id = org.id
        elif not rule.crossed:
            raise InvalidInput("structure : un comité interne appartient à une structure")
        committee = Committee(
            name=name.strip(),
            kind=kind,
            network=network,
            structure_id=structure_id,
            created_at=now or utcnow(),
        )
        access.ensure(session, by, Action.COMMITTEE_MANAGE, _target(committee))
        session.add(committee)
        session.flush()
        return committee.id  # type: ignore[return-value]


def ensure_no_conflict(
    session: Session,
    rule: CommitteeRule,
    voter: int | None,
    structure_id: int | None,
    requester: int | None = None,
) -> None:
    """The committee rule's conflicts of interest, for gate votes and request votes alike."""
    if rule.excludes_structure and access.holds_role_at(session, voter, structure_id):
        raise Forbidden(
            "conflit d'intérêts : un membre de la structure du participant ne vote pas "
            "dans ce comité"
        )
    if "requester" in rule.conflicts_of_interest and requester is not None and voter == requester:
        raise Forbidden("conflit d'intérêts : l'auteur de la demande ne vote pas sur elle")


def add_member(rt: Runtime, committee_id: int, member: str | int, *, by: Actor) -> None:
    """Add a staff member (by e-mail or id). Their structure is recorded, so a crossed
    committee can keep them from voting on their own structure's participants."""
    with rt.unit_of_work() as session:
        committee = session.get(Committee, committee_id)
        if committee is None:
            raise NotFound(f"comité n° {committee_id} introuvable")
        access.ensure(session, by, Action.COMMITTEE_MANAGE, _target(committee))
        query = select(Person).where(Person.kind == PersonKind.STAFF)
        query = query.where(
            Person.id == int(member) if str(member).isdigit() else Person.email == member
        )
        person = session.execute(query).scalar_one_or_none()
        if person is None:
            raise NotFound(f"membre de l'équipe « {member} » introuvable")
        roles = _roles(session, person.id)
        structures = [oid for oid, _, kind, r in roles if kind == "structure" and r != "partner"]
        rule = rt.committee_rule(committee.kind)
        held = {r for *_, r in roles}
        if rule is not None and rule.member_roles and not held & set(rule.member_roles):
            needed = ", ".join(r.label for r in rule.member_roles)
            raise InvalidInput(f"membre : ce comité réunit des {needed}")
        if committee.structure_id is not None and committee.structure_id not in structures:
            raise InvalidInput("membre : un comité interne réunit l'équipe de sa structure")
        if session.get(CommitteeMember, (committee.id, person.id)) is not None:
            raise Conflict(f"{person.display_name} est déjà membre de ce comité")
        session.add(
            CommitteeMember(
                committee_id=committee.id,
                person_id=person.id,
                structure_id=structures[0] if structures else None,
            )
        )


def view(rt: Runtime, committee_id: int, *, by: Actor) -> CommitteeView:
    with rt.unit_of_work() as session:
        committee = session.get(Committee, committee_id)
        if committee is None:
            raise NotFound(f"comité n° {committee_id} introuvable")
        access.ensure(session, by, Action.COMMITTEE_READ, _target(committee))
        rows = session.execute(
            select(Person.id, Person.given_name, Person.family_name, Organisation.name)
            .join(CommitteeMember, CommitteeMember.person_id == Person.id)
            .outerjoin(Organisation, Organisation.id == CommitteeMember.structure_id)
            .where(CommitteeMember.committee_id == committee.id)
            .order_by(Person.family_name)
        ).all()
        pending = session.execute(
            select(func.count(BadgeRequest.id)).where(
                BadgeRequest.committee_id == committee.id,
                BadgeRequest.status == RequestStatus.PENDING,
            )
        ).scalar_one()
        structure = (
            session.get(Organisation, committee.structure_id) if committee.structure_id else None
        )
    rule = rt.committee_rule(committee.kind)
    return CommitteeView(
        id=committee.id,  # type: ignore[arg-type]
        name=committee.name,
        kind=committee.kind,
        title=rule.title if rule else committee.kind,
        rule=rule.explain() if rule else "règle indisponible (plugin absent)",
        network=committee.network,
        structure=structure.name if structure else None,
        members=[Member(pid, f"{g} {f}".strip(), org) for pid, g, f, org in rows],
        pending=pending,
    )


def mine(rt: Runtime, who: Actor) -> list[tuple[int, str, int]]:
    """(id, name, pending requests) of the committees the person sits on."""
    with rt.unit_of_work() as session:
        rows = session.execute(
            select(Committee.id, Committee.name, func.count(BadgeRequest.id))
            .join(CommitteeMember, CommitteeMember.committee_id == Committee.id)
            .outerjoin(
                BadgeRequest,
                (BadgeRequest.committee_id == Committee.id)
                & (BadgeRequest.status == RequestStatus.PENDING),
            )
            .where(CommitteeMember.person_id == who.person_id)
            .group_by(Committee.id, Committee.name)
            .order_by(Committee.name)
        ).all()
    return [(a, b, c) for a, b, c in rows]
