"""Enrolling participants and moving them through a pathway.

`advance` is the heart of Parcours: it reads the enrollment, evaluates the gate, fires the
state machine and writes the new stage, its audit event and the badges it issues in one
transaction. The update is conditional on the enrollment's `revision`, so of two staff
advancing the same enrollment at once exactly one wins and the other gets a Conflict.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, insert, or_, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import aliased
from sqlmodel import Session

from engine import gates
from engine.badges.issuing import held_badges
from engine.committees import Vote, outcome
from engine.errors import Conflict, Forbidden, GateRefused, InvalidInput, NotFound
from engine.machine import machine_for
from engine.pathways.model import Pathway, Transition
from engine.roles import Role
from engine.services import access, events, issuing
from engine.services.access import Action, Actor, Target
from engine.services.evidence import attach
from engine.services.organisations import find_or_add_participant, get_organisation
from engine.services.pathways import latest_version
from engine.services.runtime import Db, Runtime
from engine.store.tables import (
    AuditEvent,
    BadgeClass,
    Committee,
    CommitteeDecision,
    CommitteeMember,
    Enrollment,
    Evidence,
    Organisation,
    PathwayVersion,
    Person,
    StaffRole,
    as_utc,
    full_name,
    utcnow,
)
from engine.uploads import Upload


@dataclass(frozen=True)
class Participant:
    given_name: str
    family_name: str
    email: str | None = None


@dataclass(frozen=True)
class AdvanceResult:
    enrollment_id: int
    trigger: str
    from_stage: str
    to_stage: str
    awarded: list[str]
    conditions: list[gates.Condition]
    revision: int


@dataclass(frozen=True)
class NextStep:
    trigger: str
    title: str
    dest: str
    dest_title: str
    roles: list[Role]
    conditions: list[gates.Condition]

    @property
    def ready(self) -> bool:
        return all(c.met for c in self.conditions)


@dataclass(frozen=True)
class Status:
    enrollment_id: int
    participant: str
    structure: str
    pathway_id: str
    pathway_title: str
    version: int
    stage: str
    stage_title: str
    status: str
    stage_entered_at: datetime
    days_in_stage: int
    deadline: datetime | None
    badges: list[str]
    revision: int
    next_steps: list[NextStep] = field(default_factory=list)


_LOAD = select(
    Enrollment.id,
    Enrollment.participant_id,
    Enrollment.structure_id,
    Enrollment.pathway_version_id,
    Enrollment.stage,
    Enrollment.status,
    Enrollment.revision,
    Enrollment.stage_entered_at,
).where(Enrollment.id == bindparam("eid"))


_PARTICIPANT = aliased(Person)

# The enrollment, its participant's e-mail (hashed into the badges it may issue), its pathway's
# network and the acting staff member's roles that let them advance it (the access rule, joined
# in): one query, one row per role (a single row with a NULL role when they have none).
_LOAD_AS = (
    select(
        *_LOAD.selected_columns,
        _PARTICIPANT.email.label("participant_email"),
        PathwayVersion.network,
        StaffRole.role,
    )
    .select_from(Enrollment)
    .join(_PARTICIPANT, _PARTICIPANT.id == Enrollment.participant_id)
    .join(PathwayVersion, PathwayVersion.id == Enrollment.pathway_version_id)
    .outerjoin(
        StaffRole,
        and_(
            StaffRole.person_id == bindparam("pid"),
            access.reach(
                access.PERMISSIONS[Action.ADVANCE],
                Target(structure_id=Enrollment.structure_id, network=PathwayVersion.network),
            ),
        ),
    )
    .where(Enrollment.id == bindparam("eid"))
)


# What `status` shows, with the participant's and structure's names and the pathway's network,
# in one query.
_STATUS = (
    select(
        *_LOAD.selected_columns,
        Person.given_name,
        Person.family_name,
        Organisation.name.label("structure_name"),
        PathwayVersion.network,
    )
    .select_from(Enrollment)
    .outerjoin(Person, Person.id == Enrollment.participant_id)
    .outerjoin(Organisation, Organisation.id == Enrollment.structure_id)
    .join(PathwayVersion, PathwayVersion.id == Enrollment.pathway_version_id)
    .where(Enrollment.id == bindparam("eid"))
)
_EVIDENCE = select(Evidence.kind).where(
    Evidence.enrollment_id == bindparam("eid"),
    Evidence.stage == bindparam("stage"),
    Evidence.added_at >= bindparam("since"),
)
_VOTES = (
    select(
        CommitteeDecision.trigger,
        CommitteeDecision.approved,
        CommitteeDecision.reason,
        CommitteeMember.structure_id,
    )
    .join(
        CommitteeMember,
        and_(
            CommitteeMember.person_id == CommitteeDecision.decided_by,
            CommitteeMember.committee_id == bindparam("cid"),
        ),
    )
    .where(
        CommitteeDecision.enrollment_id == bindparam("eid"),
        CommitteeDecision.stage == bindparam("stage"),
        CommitteeDecision.trigger.in_(bindparam("triggers", expanding=True)),
        CommitteeDecision.decided_at >= bindparam("since"),
    )
    .order_by(CommitteeDecision.id)
)
# The committee that decides an enrollment's gates: the structure's own, else its network's.
_GATE_COMMITTEE = (
    select(Committee.id, Committee.kind, Committee.name, Committee.structure_id)
    .where(
        or_(
            Committee.structure_id == bindparam("sid"),
            and_(Committee.structure_id.is_(None), Committee.network == bindparam("net")),
        )
    )
    .order_by(Committee.structure_id.is_(None), Committee.id)
    .limit(1)
)
_MOVE = (
    update(Enrollment)
    .where(Enrollment.id == bindparam("eid"), Enrollment.revision == bindparam("rev"))
    .values(
        stage=bindparam("dest"),
        revision=bindparam("new_rev"),
        stage_entered_at=bindparam("at"),
        status=bindparam("new_status"),
        completed_at=bindparam("done_at"),
    )
)
_AUDIT = insert(AuditEvent)


def _load(db: Db, enrollment_id: int, query: Any = _LOAD) -> Any:
    row = db.execute(query, {"eid": enrollment_id}).one_or_none()
    if row is None:
        raise NotFound(f"parcours n° {enrollment_id} introuvable")
    return row


def gate_committee(db: Db, structure_id: int, network: str) -> Any:
    """(id, kind, name, structure_id) of the committee deciding this structure's gates: its own
    internal committee, else its network's crossed one; None when there is none yet."""
    return db.execute(_GATE_COMMITTEE, {"sid": structure_id, "net": network}).first()


def _decisions(
    rt: Runtime, db: Db, row: Any, network: str, triggers: list[str], scope: dict[str, Any]
) -> dict[str, tuple[bool | None, str]]:
    """Per trigger, the committee's verdict under its rule (None: still waiting) and its text.
    Only votes of the committee's members count."""
    committee = gate_committee(db, row.structure_id, network)
    if committee is None:
        waiting = (None, "aucun comité d'attribution n'est encore constitué pour cette étape")
        return dict.fromkeys(triggers, waiting)
    rule = rt.committee_rules.get(committee.kind)
    if rule is None:
        return dict.fromkeys(triggers, (None, f"règle du comité « {committee.kind} » absente"))
    votes: dict[str, list[Any]] = {t: [] for t in triggers}
    for vote in db.execute(_VOTES, {**scope, "triggers": triggers, "cid": committee.id}):
        votes[vote.trigger].append(vote)
    out: dict[str, tuple[bool | None, str]] = {}
    for trigger, cast in votes.items():
        verdict = outcome(rule, [Vote(bool(v.approved), v.structure_id) for v in cast])
        yes = sum(bool(v.approved) for v in cast)
        count = f"{yes} pour, {len(cast) - yes} contre"
        if verdict is None:
            text = f"décision du comité « {committee.name} » attendue ({count} ; {rule.explain()})"
        else:
            word = "favorable" if verdict else "défavorable"
            reasons = " ; ".join(v.reason for v in cast)
            text = f"avis {word} du comité « {committee.name} » ({count}) : {reasons}"
        out[trigger] = (verdict, text)
    return out


def _context(
    rt: Runtime,
    db: Db,
    row: Any,
    pathway: Pathway,
    transitions: list[Transition],
    now: datetime,
    actor_roles: frozenset[Role] | None,
) -> gates.GateContext:
    """Query only what these transitions' gates need."""
    names, requirements = rt.badge_lookups(db)
    # Badges held are read only when a condition depends on them: a plain award checks for
    # duplicates inside its own insert.
    need_badges = any(
        t.gate.badges or any(b in requirements for b in pathway.awards_for(t, row.stage))
        for t in transitions
    )
    held = held_badges(db, row.participant_id) if need_badges else None
    entered = as_utc(row.stage_entered_at)
    scope = {"eid": row.id, "stage": row.stage, "since": entered}
    network = pathway.network
    evidence: frozenset[str] = frozenset()
    if any(t.gate.evidence or t.gate.checks for t in transitions):
        evidence = frozenset(db.execute(_EVIDENCE, scope).scalars())
    decisions: dict[str, tuple[bool | None, str]] = {}
    committee = [t.trigger for t in transitions if t.gate.committee]
    if committee:
        decisions = _decisions(rt, db, row, network, committee, scope)
    return gates.GateContext(
        pathway=pathway,
        enrollment_id=row.id,
        participant_id=row.participant_id,
        structure_id=row.structure_id,
        stage=row.stage,
        stage_entered_at=entered,
        now=now,
        badge_names=names,
        badge_requirements=requirements,
        held=held or frozenset(),
        held_known=held is not None,
        evidence=evidence,
        decisions=decisions,
        actor_roles=actor_roles,
    )


def enroll(
    rt: Runtime,
    pathway_id: str,
    structure: str,
    participant: Participant,
    *,
    by: Actor,
    version: int | None = None,
    note: str | None = None,
    now: datetime | None = None,
) -> int:
    """Start a participant on the newest (or given) version; issues the initial stage's badges."""
    now = now or utcnow()
    pv = latest_version(rt, pathway_id, version)
    with rt.unit_of_work() as session:
        org = get_organisation(session, structure)
        if org.kind != "structure":
            raise InvalidInput(f"« {structure} » n'est pas une structure (SIAE)")
        access.ensure(session, by, Action.ENROLL, Target(structure_id=org.id, network=pv.network))
        pathway = rt.pathway(session, pv.id)
        person = find_or_add_participant(
            session, org.id, participant.given_name, participant.family_name, participant.email
        )
        active = session.execute(
            select(Enrollment.id)
            .join(PathwayVersion, PathwayVersion.id == Enrollment.pathway_version_id)
            .where(
                Enrollment.participant_id == person.id,
                Enrollment.status == "active",
                PathwayVersion.pathway_id == pathway_id,
            )
        ).first()
        if active:
            raise Conflict(f"{person.display_name} suit déjà ce parcours (n° {active[0]})")
        enrollment = Enrollment(
            participant_id=person.id,
            structure_id=org.id,
            pathway_version_id=pv.id,
            stage=pathway.initial,
            started_at=now,
            stage_entered_at=now,
        )
        session.add(enrollment)
        session.flush()
        issued = issuing.issue(
            rt,
            session,
            pathway.stage(pathway.initial).awards.on_enter,
            basis=issuing.Basis.PATHWAY,
            recipient_id=person.id,  # type: ignore[arg-type]
            structure_id=org.id,  # type: ignore[arg-type]
            enrollment_id=enrollment.id,
            actor_id=by.person_id,
            now=now,
            held=held_badges(session, person.id),  # type: ignore[arg-type]
            email=person.email,
        )
        session.add(
            AuditEvent(
                enrollment_id=enrollment.id,
                at=now,
                actor_id=by.person_id,
                kind="enrolled",
                to_stage=pathway.initial,
                note=note,
                details={"version": pv.version, "awarded": [b for _, b, _ in issued]},
            )
        )
        events.collect(
            session,
            events.StageEntered(enrollment.id, pathway_id, pathway.initial, now),  # type: ignore[arg-type]
        )
        return enrollment.id  # type: ignore[return-value]


def advance(
    rt: Runtime,
    enrollment_id: int,
    trigger: str,
    *,
    by: Actor,
    note: str | None = None,
    now: datetime | None = None,
    expected_revision: int | None = None,
) -> AdvanceResult:
    """Fire `trigger` on an enrollment, all or nothing. Raises GateRefused with every unmet
    condition, Forbidden for staff of another structure, Conflict when someone else won."""
    now = now or utcnow()
    try:
        with rt.transaction() as conn:
            rows = conn.execute(_LOAD_AS, {"eid": enrollment_id, "pid": by.person_id}).all()
            if not rows:
                raise NotFound(f"parcours n° {enrollment_id} introuvable")
            row = rows[0]
            roles = frozenset(Role(r.role) for r in rows if r.role)
            if not roles and not by.is_system:
                access.ensure(
                    conn,
                    by,
                    Action.ADVANCE,
                    Target(structure_id=row.structure_id, network=row.network),
                )
            if expected_revision is not None and row.revision != expected_revision:
                raise Conflict(
                    f"le parcours n° {enrollment_id} a changé entre-temps "
                    f"(révision {row.revision}, attendue {expected_revision})"
                )
            if row.status != "active":
                raise InvalidInput(f"le parcours n° {enrollment_id} est terminé ({row.status})")
            pathway = rt.pathway(conn, row.pathway_version_id)
            machine = machine_for(pathway)
            transition = pathway.transition(row.stage, trigger)
            if transition is None:
                machine.fire(row.stage, trigger, [])  # raises the French "not possible" error
                raise InvalidInput(trigger)  # pragma: no cover
            actor_roles = None if by.is_system else roles
            ctx = _context(rt, conn, row, pathway, [transition], now, actor_roles)
            conditions = gates.evaluate(transition, ctx, rt.gate_checks)
            unmet = gates.unmet(conditions)
            dest = machine.fire(row.stage, trigger, unmet)
            if dest is None:
                raise GateRefused(trigger, unmet)
            final = pathway.stage(dest).final
            ended = ("completed" if transition.completes else "withdrawn") if final else "active"
            changed = conn.execute(
                _MOVE,
                {
                    "eid": row.id,
                    "rev": row.revision,
                    "dest": dest,
                    "new_rev": row.revision + 1,
                    "at": now,
                    "new_status": ended,
                    "done_at": now if final else None,
                },
            ).rowcount
            if changed != 1:
                raise Conflict(
                    f"le parcours n° {enrollment_id} vient d'être modifié par "
                    "quelqu'un d'autre : rechargez-le et recommencez"
                )
            issued = issuing.issue(
                rt,
                conn,
                pathway.awards_for(transition, row.stage),
                basis=issuing.Basis.PATHWAY,
                recipient_id=row.participant_id,
                structure_id=row.structure_id,
                enrollment_id=row.id,
                actor_id=by.person_id,
                now=now,
                held=ctx.held if ctx.held_known else None,
                email=row.participant_email,
                shares=pathway.shares_for(transition, row.stage),
            )
            conn.execute(
                _AUDIT,
                {
                    "enrollment_id": row.id,
                    "at": now,
                    "actor_id": by.person_id,
                    "kind": "transition",
                    "trigger": trigger,
                    "from_stage": row.stage,
                    "to_stage": dest,
                    "note": note,
                    "details": {
                        "gate": [c.as_dict() for c in conditions],
                        "awarded": [b for _, b, _ in issued],
                    },
                },
            )
            events.collect(conn, events.StageEntered(row.id, pathway.id, dest, now))
    except OperationalError as exc:
        # SQLite reports a writer that lost the race as "database is locked".
        if "locked" in str(exc).lower() or "busy" in str(exc).lower():
            raise Conflict(
                f"le parcours n° {enrollment_id} est en cours de modification par "
                "quelqu'un d'autre : réessayez"
            ) from None
        raise
    return AdvanceResult(
        row.id, trigger, row.stage, dest, [b for _, b, _ in issued], conditions, row.revision + 1
    )


def _read_target(row: Any) -> Target:
    return Target(
        structure_id=row.structure_id, network=row.network, participant_id=row.participant_id
    )


def status(rt: Runtime, enrollment_id: int, *, by: Actor, now: datetime | None = None) -> Status:
    """Where the enrollment stands and, for each next step, what is still missing."""
    now = now or utcnow()
    # Read on every enrollment page and for each row of the dashboard: Core reads on one
    # connection, no ORM session (it cost as much as the reads).
    with rt.reading() as conn:
        row = _load(conn, enrollment_id, _STATUS)
        access.ensure(conn, by, Action.ENROLLMENT_READ, _read_target(row))
        pathway = rt.pathway(conn, row.pathway_version_id)
        outgoing = pathway.transitions_from(row.stage) if row.status == "active" else []
        ctx = _context(rt, conn, row, pathway, outgoing, now, None)
        steps = [
            NextStep(
                t.trigger,
                t.title,
                t.dest,
                pathway.stage(t.dest).title,
                list(t.gate.roles),
                gates.evaluate(t, ctx, rt.gate_checks),
            )
            for t in outgoing
        ]
        stage = pathway.stage(row.stage)
        held = ctx.held if ctx.held_known else held_badges(conn, row.participant_id)
    names = ctx.badge_names
    deadline = (
        ctx.stage_entered_at + timedelta(days=stage.deadline_days)
        if stage.deadline_days and row.status == "active"
        else None
    )
    return Status(
        row.id,
        full_name(row.given_name, row.family_name) if row.given_name is not None else "?",
        row.structure_name or "?",
        pathway.id,
        pathway.title,
        pathway.version,
        row.stage,
        stage.title,
        row.status,
        ctx.stage_entered_at,
        ctx.days_in_stage,
        deadline,
        sorted(names.get(b, b) for b in held),
        row.revision,
        steps,
    )


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    kind: str
    actor: str
    trigger: str | None
    from_stage: str | None
    to_stage: str | None
    note: str | None
    details: dict[str, Any] | None


def history(rt: Runtime, enrollment_id: int, *, by: Actor) -> list[HistoryEntry]:
    with rt.unit_of_work() as session:
        row = _load(session, enrollment_id, _STATUS)
        access.ensure(session, by, Action.ENROLLMENT_READ, _read_target(row))
        events_ = session.execute(
            select(AuditEvent, Person.given_name, Person.family_name)
            .outerjoin(Person, Person.id == AuditEvent.actor_id)
            .where(AuditEvent.enrollment_id == enrollment_id)
            .order_by(AuditEvent.id)
        ).all()
    return [
        HistoryEntry(
            as_utc(e.at),
            e.kind,
            f"{g or ''} {f or ''}".strip() or "système",
            e.trigger,
            e.from_stage,
            e.to_stage,
            e.note,
            e.details,
        )
        for e, g, f in events_
    ]


def _active(session: Session, enrollment_id: int, by: Actor, action: Action) -> tuple[Any, Any]:
    """The active enrollment and the actor's grant for `action` on it."""
    row = _load(session, enrollment_id, _STATUS)
    grant = access.ensure(session, by, action, _read_target(row))
    if row.status != "active":
        raise InvalidInput(f"le parcours n° {enrollment_id} est terminé")
    return row, grant


def add_evidence(
    rt: Runtime,
    enrollment_id: int,
    kind: str,
    *,
    by: Actor,
    narrative: str | None = None,
    url: str | None = None,
    context: str | None = None,
    file: Upload | None = None,
    now: datetime | None = None,
) -> int:
    """Attach a proof to the current stage (e.g. the PMSMP convention), with its audit event and
    its file when there is one (already checked by `engine.uploads.check`)."""
    now = now or utcnow()
    with rt.unit_of_work() as session:
        row, _ = _active(session, enrollment_id, by, Action.EVIDENCE_ADD)
        evidence = attach(
            session,
            kind=kind,
            added_by=by.person_id,
            now=now,
            enrollment_id=row.id,
            stage=row.stage,
            narrative=narrative,
            url=url,
            context=context,
            file=file,
        )
        session.add(
            AuditEvent(
                enrollment_id=row.id,
                at=now,
                actor_id=by.person_id,
                kind="evidence",
                from_stage=row.stage,
                note=narrative,
                details={
                    "kind": kind,
                    "url": url,
                    "context": context,
                    "file": file.filename if file else None,
                },
            )
        )
        return evidence.id  # type: ignore[return-value]


def record_decision(
    rt: Runtime,
    enrollment_id: int,
    trigger: str,
    approved: bool,
    reason: str,
    *,
    by: Actor,
    now: datetime | None = None,
) -> int:
    """A member of the attribution committee votes on a transition that requires one. The
    committee is the structure's own, else its network's; its rule (quorum, crossed or internal,
    majority) turns the members' votes into the gate's decision."""
    now = now or utcnow()
    if not reason.strip():
        raise InvalidInput("une décision de comité doit être motivée (--reason)")
    with rt.unit_of_work() as session:
        row = _load(session, enrollment_id, _STATUS)
        if row.status != "active":
            raise InvalidInput(f"le parcours n° {enrollment_id} est terminé")
        pathway = rt.pathway(session, row.pathway_version_id)
        transition = pathway.transition(row.stage, trigger)
        if transition is None or not transition.gate.committee:
            raise InvalidInput(
                f"« {trigger} » ne demande pas de décision de comité depuis l'étape « {row.stage} »"
            )
        committee = gate_committee(session, row.structure_id, row.network)
        if committee is None:
            raise InvalidInput(
                "aucun comité d'attribution ne décide encore cette étape : le directeur de la "
                "structure ou le réseau doit en constituer un"
            )
        target = _read_target(row)
        access.ensure(
            session,
            by,
            Action.GATE_VOTE,
            Target(target.structure_id, target.network, committee_id=committee.id),
        )
        rule = rt.committee_rules.get(committee.kind)
        if rule is None:
            raise InvalidInput(f"règle de comité « {committee.kind} » absente (plugin manquant)")
        member = session.get(CommitteeMember, (committee.id, by.person_id))
        if rule.crossed and member is not None and member.structure_id == row.structure_id:
            raise Forbidden(
                "conflit d'intérêts : en comité croisé, un membre de la structure du "
                "participant ne vote pas"
            )
        already = session.execute(
            select(CommitteeDecision.id).where(
                CommitteeDecision.enrollment_id == row.id,
                CommitteeDecision.stage == row.stage,
                CommitteeDecision.trigger == trigger,
                CommitteeDecision.decided_by == by.person_id,
                CommitteeDecision.decided_at >= as_utc(row.stage_entered_at),
            )
        ).first()
        if already is not None:
            raise Conflict("vous avez déjà voté sur ce passage")
        decision = CommitteeDecision(
            enrollment_id=row.id,
            stage=row.stage,
            trigger=trigger,
            approved=approved,
            reason=reason,
            decided_by=by.person_id,  # type: ignore[arg-type]
            decided_at=now,
        )
        session.add(decision)
        session.flush()
        session.add(
            AuditEvent(
                enrollment_id=row.id,
                at=now,
                actor_id=by.person_id,
                kind="committee_decision",
                trigger=trigger,
                from_stage=row.stage,
                details={"approved": approved, "committee": committee.id},
            )
        )
        return decision.id  # type: ignore[return-value]


def award(
    rt: Runtime,
    enrollment_id: int,
    badge: str,
    *,
    by: Actor,
    narrative: str | None = None,
    now: datetime | None = None,
) -> str:
    """Issue one badge by hand, where the badge's catalogue lets the actor's role award it alone
    (typically a sub-badge evaluated by the encadrant technique); otherwise a request is the
    way."""
    now = now or utcnow()
    with rt.unit_of_work() as session:
        row = _load(session, enrollment_id, _STATUS)
        bc = session.execute(
            select(BadgeClass).where(BadgeClass.slug == badge, BadgeClass.status == "active")
        ).scalar_one_or_none()
        if bc is None:
            raise NotFound(f"badge « {badge} » introuvable dans les catalogues chargés")
        grant = access.ensure(
            session,
            by,
            Action.BADGE_AWARD,
            Target(structure_id=row.structure_id, network=bc.network),
        )
        if row.status != "active":
            raise InvalidInput(f"le parcours n° {enrollment_id} est terminé")
        if bc.recipient_kind != "person":
            raise InvalidInput(f"le badge {bc.name} se délivre à une organisation")
        if not grant.system:
            issuing.ensure_direct(session, bc, row.structure_id, grant.roles)
        held = held_badges(session, row.participant_id)
        if badge in held:
            raise Conflict(f"le badge {bc.name} est déjà détenu")
        entry = rt.catalogue_entry(session, badge)
        if entry and entry.requires and entry.requires.missing(set(held)):
            names = rt.badge_lookups(session)[0]
            missing = ", ".join(names.get(b, b) for b in entry.requires.missing(set(held)))
            raise GateRefused(badge, [f"pour le badge {bc.name}, il manque : {missing}"])
        issued = issuing.issue(
            rt,
            session,
            [badge],
            basis=issuing.Basis.DIRECT,
            recipient_id=row.participant_id,
            structure_id=row.structure_id,
            enrollment_id=row.id,
            actor_id=by.person_id,
            now=now,
            held=held,
            evidence=[{"narrative": narrative}] if narrative else [],
        )
        session.add(
            AuditEvent(
                enrollment_id=row.id,
                at=now,
                actor_id=by.person_id,
                kind="badge_issued",
                from_stage=row.stage,
                note=narrative,
                details={"awarded": [badge]},
            )
        )
    return issued[0][0]


@dataclass(frozen=True, slots=True)
class EnrollmentState:
    id: int
    participant_id: int
    structure_id: int
    pathway_version_id: int
    stage: str
    status: str
    stage_entered_at: datetime
    revision: int


def states(
    rt: Runtime,
    *,
    structure_ids: list[int] | None = None,
    active_only: bool = True,
    batch: int = 10_000,
) -> list[EnrollmentState]:
    """Where every enrollment stands, for dashboards and the scheduler: plain rows streamed in
    batches, no ORM objects, so a region's 100,000 enrollments load in well under a second."""
    query = select(
        Enrollment.id,
        Enrollment.participant_id,
        Enrollment.structure_id,
        Enrollment.pathway_version_id,
        Enrollment.stage,
        Enrollment.status,
        Enrollment.stage_entered_at,
        Enrollment.revision,
    ).order_by(Enrollment.id)
    if active_only:
        query = query.where(Enrollment.status == "active")
    if structure_ids is not None:
        query = query.where(Enrollment.structure_id.in_(structure_ids))
    out: list[EnrollmentState] = []
    with rt.engine.connect() as conn:
        result = conn.execution_options(yield_per=batch).execute(query)
        for rows in result.partitions():
            out.extend(EnrollmentState(*row) for row in rows)
    return out
