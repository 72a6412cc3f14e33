"""Attribution committees: created by a director (internal) or a network (crossed between its
SIAE), with members from the structures; their agenda is the requests waiting for their vote."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select
from sqlmodel import Session

from engine.committees import CommitteeRule, Vote, outcome
from engine.errors import Conflict, Forbidden, InvalidInput, NotFound
from engine.services import access
from engine.services.access import Action, Actor, Target
from engine.services.gate_state import ENROLLMENT_NAMED, gate_committee, load, read_target
from engine.services.runtime import Runtime
from engine.statuses import EnrollmentStatus, PersonKind, RequestStatus
from engine.store.tables import (
    BadgeRequest,
    Committee,
    CommitteeDecision,
    CommitteeMember,
    Organisation,
    Person,
    StaffRole,
    as_utc,
    full_name,
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
        raise InvalidInput(f"type : type de comité « {kind} » inconnu (connus : {known})")
    if not name.strip():
        raise InvalidInput("nom : le comité doit avoir un nom")
    if len(name.strip()) > 200:
        raise InvalidInput("nom : 200 caractères au plus")
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
        _audit(session, by, "committee_created", committee_id=committee.id, kind=kind)
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
        _audit(
            session, by, "committee_member_added", committee_id=committee.id, person_id=person.id
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


@dataclass(frozen=True)
class GateVote:
    voter: str
    approved: bool
    reason: str
    at: datetime


@dataclass(frozen=True)
class GateVotes:
    """A committee gate of one next step, as its page shows it: the committee, the votes cast
    since the stage began, what the rule still needs, and whether the reader may vote now."""

    trigger: str
    step_title: str
    committee: str | None
    rule: str
    votes: list[GateVote]
    verdict: bool | None
    needs: str
    may_vote: bool
    why_not: str | None
    """Why a member of the committee cannot vote (already voted, conflict of interest)."""


def still_needed(rule: CommitteeRule, votes: list[Vote]) -> str:
    """What the rule still asks before the committee's decision is made, in French."""
    verdict = outcome(rule, votes)
    if verdict is not None:
        return "décision prise : " + ("avis favorable" if verdict else "avis défavorable")
    missing = rule.quorum - len(votes)
    if missing > 0:
        return f"encore {missing} vote{'s' if missing > 1 else ''} ({rule.explain()})"
    structures = len({v.structure_id for v in votes})
    if structures < rule.min_structures:
        more = rule.min_structures - structures
        return f"des votes d'encore {more} autre{'s' if more > 1 else ''} structure(s)"
    return "égalité : un vote de plus départagera le comité"


def gate_votes(rt: Runtime, enrollment_id: int, *, by: Actor) -> list[GateVotes]:
    """The committee gates of an enrollment's next steps, with their votes, for its page."""
    with rt.reading() as conn:
        row = load(conn, enrollment_id, ENROLLMENT_NAMED)
        target = read_target(row)
        access.ensure(conn, by, Action.ENROLLMENT_READ, target)
        if row.status != EnrollmentStatus.ACTIVE:
            return []
        pathway = rt.pathway(conn, row.pathway_version_id)
        steps = [t for t in pathway.transitions_from(row.stage) if t.gate.committee]
        if not steps:
            return []
        committee = gate_committee(conn, row.structure_id, row.network)
        if committee is None:
            none = "aucun comité d'attribution n'est encore constitué pour cette étape"
            return [
                GateVotes(t.trigger, t.title, None, "", [], None, none, False, None) for t in steps
            ]
        rule = rt.committee_rule(committee.kind)
        cast = conn.execute(
            select(
                CommitteeDecision.trigger,
                CommitteeDecision.approved,
                CommitteeDecision.reason,
                CommitteeDecision.decided_at,
                CommitteeDecision.decided_by,
                CommitteeMember.structure_id,
                Person.given_name,
                Person.family_name,
            )
            .join(
                CommitteeMember,
                and_(
                    CommitteeMember.person_id == CommitteeDecision.decided_by,
                    CommitteeMember.committee_id == committee.id,
                ),
            )
            .join(Person, Person.id == CommitteeDecision.decided_by)
            .where(
                CommitteeDecision.enrollment_id == row.id,
                CommitteeDecision.stage == row.stage,
                CommitteeDecision.trigger.in_([t.trigger for t in steps]),
                CommitteeDecision.decided_at >= as_utc(row.stage_entered_at),
            )
            .order_by(CommitteeDecision.id)
        ).all()
        vote_target = Target(row.structure_id, row.network, committee_id=committee.id)
        member = access.check(conn, by, Action.GATE_VOTE, vote_target) is not None
        conflicted = (
            member
            and rule is not None
            and rule.excludes_structure
            and access.holds_role_at(conn, by.person_id, row.structure_id)
        )
    out = []
    for t in steps:
        mine = [v for v in cast if v.trigger == t.trigger]
        votes = [Vote(bool(v.approved), v.structure_id) for v in mine]
        voted = any(v.decided_by == by.person_id for v in mine)
        why_not = None
        if conflicted:
            why_not = "conflit d'intérêts : vous travaillez dans la structure du participant"
        elif voted:
            why_not = "vous avez déjà voté sur ce passage"
        out.append(
            GateVotes(
                trigger=t.trigger,
                step_title=t.title,
                committee=committee.name,
                rule=rule.explain() if rule else "règle indisponible (plugin absent)",
                votes=[
                    GateVote(
                        full_name(v.given_name, v.family_name),
                        bool(v.approved),
                        v.reason,
                        as_utc(v.decided_at),
                    )
                    for v in mine
                ],
                verdict=outcome(rule, votes) if rule else None,
                needs=still_needed(rule, votes) if rule else "règle indisponible",
                may_vote=member and why_not is None,
                why_not=why_not if member else None,
            )
        )
    return out


def mine(rt: Runtime, who: Actor, view: Any = None) -> list[tuple[int, str, int]]:
    """(id, name, pending requests) of the committees the person sits on. `view`: a
    dashboard's (`dashboard.View`), whose connection it shares and whose reach says
    whether they sit anywhere."""
    from engine.services import dashboard

    with dashboard.viewing(rt, who, view) as v:
        if not v.reach.committees:
            return []
        rows = v.conn.execute(
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


# --- committees managed from the web: who sits where (issue 19, administration) ----------------


def _audit(session: Session, by: Actor, event: str, **details: object) -> None:
    # ids only: the audit log keeps no name
    from engine.store.tables import AuditEvent

    session.add(AuditEvent(at=utcnow(), actor_id=by.person_id, kind=event, details=details))


def remove_member(rt: Runtime, committee_id: int, person_id: int, *, by: Actor) -> None:
    """Take a seat away (`COMMITTEE_MANAGE`); the votes already cast stay, as decided."""
    with rt.unit_of_work() as session:
        committee = session.get(Committee, committee_id)
        if committee is None:
            raise NotFound(f"comité n° {committee_id} introuvable")
        access.ensure(session, by, Action.COMMITTEE_MANAGE, _target(committee))
        seat = session.get(CommitteeMember, (committee.id, person_id))
        if seat is None:
            raise NotFound("cette personne n'est pas membre de ce comité")
        session.delete(seat)
        _audit(
            session, by, "committee_member_removed", committee_id=committee.id, person_id=person_id
        )


@dataclass(frozen=True)
class Seat:
    person_id: int
    name: str
    structure: str | None


@dataclass(frozen=True)
class ManagedCommittee:
    id: int
    name: str
    title: str
    """The kind's title in the network's rules (« Commission de validation »)."""
    crossed: bool
    network: str
    structure: str | None
    """The structure's name, for an internal committee."""
    members: list[Seat]
    candidates: list[Seat]
    """Staff who may be added: the structure's team (internal), or the teams of the network's
    structures (crossed), who are not members yet."""


@dataclass(frozen=True)
class KindOffered:
    kind: str
    title: str
    crossed: bool
    network: str
    structures: list[tuple[str, str]]
    """(slug, name) of the structures an internal committee of this kind may belong to."""


def _managed_structures(by: Actor) -> object:
    """Ids of the structures where `by` may manage committees (`COMMITTEE_MANAGE`)."""
    rule = access.PERMISSIONS[Action.COMMITTEE_MANAGE]
    reached = access.structures_staffed(by.person_id, rule.roles)
    if rule.network_admin:
        reached = reached.union(access.structures_administered(by.person_id))
    return reached


def managed(rt: Runtime, *, by: Actor) -> tuple[list[ManagedCommittee], list[KindOffered]]:
    """The committees `by` manages (internal ones of the structures they direct or whose
    network they administer, crossed ones of the networks they administer), with members and
    who may join; and the kinds of committee they may create, where. A fixed number of
    queries whatever the number of committees."""
    from sqlalchemy import and_, or_

    if not by.is_staff or by.person_id is None:
        return [], []
    structures = _managed_structures(by)
    networks = access.networks_administered(by.person_id)
    with rt.reading() as conn:
        committees = conn.execute(
            select(
                Committee.id,
                Committee.name,
                Committee.kind,
                Committee.network,
                Committee.structure_id,
                Organisation.name,
            )
            .outerjoin(Organisation, Organisation.id == Committee.structure_id)
            .where(
                or_(
                    Committee.structure_id.in_(structures),
                    and_(Committee.structure_id.is_(None), Committee.network.in_(networks)),
                )
            )
            .order_by(Committee.name, Committee.id)
        ).all()
        ids = [c[0] for c in committees]
        seats = conn.execute(
            select(
                CommitteeMember.committee_id,
                Person.id,
                Person.given_name,
                Person.family_name,
                Organisation.name,
            )
            .join(Person, Person.id == CommitteeMember.person_id)
            .outerjoin(Organisation, Organisation.id == CommitteeMember.structure_id)
            .where(CommitteeMember.committee_id.in_(ids))
            .order_by(Person.family_name, Person.given_name)
        ).all()
        reachable = conn.execute(
            select(Organisation.id, Organisation.slug, Organisation.name)
            .where(Organisation.id.in_(structures), Organisation.kind == "structure")
            .order_by(Organisation.name)
        ).all()
        network_of = _memberships(conn, [r[0] for r in reachable])
        team = conn.execute(
            select(
                StaffRole.organisation_id,
                Person.id,
                Person.given_name,
                Person.family_name,
                StaffRole.role,
            )
            .join(Person, Person.id == StaffRole.person_id)
            .where(
                StaffRole.organisation_id.in_([r[0] for r in reachable]),
                StaffRole.role != "partner",
                Person.erased_at.is_(None),
            )
            .order_by(Person.family_name, Person.given_name)
        ).all()
        administered = set(conn.execute(networks).scalars())
    names = {oid: name for oid, _, name in reachable}
    members: dict[int, list[Seat]] = {}
    for cid, pid, given, family, org in seats:
        members.setdefault(cid, []).append(Seat(pid, f"{given} {family}".strip(), org))
    out = []
    for cid, name, kind, network, structure_id, structure_name in committees:
        rule = rt.committee_rule(kind)
        seated = {m.person_id for m in members.get(cid, [])}
        pool: dict[int, Seat] = {}
        for oid, pid, given, family, role in team:
            if pid in seated or pid in pool:
                continue
            if structure_id is not None and oid != structure_id:
                continue
            if structure_id is None and network not in network_of.get(oid, ()):
                continue
            if rule is not None and rule.member_roles and role not in rule.member_roles:
                continue
            pool[pid] = Seat(pid, f"{given} {family}".strip(), names.get(oid))
        out.append(
            ManagedCommittee(
                id=cid,
                name=name,
                title=rule.title if rule else kind,
                crossed=structure_id is None,
                network=network,
                structure=structure_name,
                members=members.get(cid, []),
                candidates=sorted(pool.values(), key=lambda s: s.name),
            )
        )
    offered = []
    for kind, rule in sorted(rt.committee_rules.items()):
        network = rt.committee_network(kind) or kind.split(".", 1)[0]
        if rule.crossed:
            if network in administered:
                offered.append(KindOffered(kind, rule.title, True, network, []))
            continue
        where = [(slug, n) for oid, slug, n in reachable if network in network_of.get(oid, ())]
        if where:
            offered.append(KindOffered(kind, rule.title, False, network, where))
    return out, offered


def _memberships(conn: object, structure_ids: list[int]) -> dict[int, set[str]]:
    """The network slugs of each structure."""
    from engine.store.tables import Membership

    rows = conn.execute(  # type: ignore[attr-defined]
        select(Membership.structure_id, Organisation.slug)
        .join(Organisation, Organisation.id == Membership.network_id)
        .where(Membership.structure_id.in_(structure_ids))
    ).all()
    found: dict[int, set[str]] = {}
    for sid, slug in rows:
        found.setdefault(sid, set()).add(slug)
    return found
