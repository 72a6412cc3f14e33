"""Enrolling participants and moving them through a pathway.

`advance` is the heart of Parcours: it reads the enrollment, evaluates the gate, fires the
state machine and writes the new stage, its audit event and the badges it issues in one
transaction. The update is conditional on the enrollment's `revision`, so of two staff
advancing the same enrollment at once exactly one wins and the other gets a Conflict.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, insert, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import aliased
from sqlmodel import Session

from engine import dates, exits, gates
from engine.badges.assertions import contact_of, held_badges, held_column, parse_held
from engine.errors import Conflict, GateRefused, InvalidInput, NotFound
from engine.exits import Exit
from engine.machine import machine_for
from engine.openbadges.urls import PublicUrls
from engine.pathways.model import Pathway
from engine.roles import Role
from engine.services import access, events, issuing, privacy
from engine.services.access import Action, Actor, Target
from engine.services.badge_documents import Portable, portable_in, with_issuer
from engine.services.committees import ensure_no_conflict
from engine.services.evidence import add_to_stage
from engine.services.gate_state import (
    ENROLLMENT,
    ENROLLMENT_NAMED,
    context,
    gate_committee,
    load,
    read_target,
)
from engine.services.organisations import find_or_add_participant, get_organisation
from engine.services.pathways import latest_version
from engine.services.runtime import Db, Runtime
from engine.statuses import BadgeClassStatus, EnrollmentStatus
from engine.store.prepared import Prepared
from engine.store.tables import (
    Assertion,
    AuditEvent,
    BadgeClass,
    CommitteeDecision,
    Enrollment,
    PathwayVersion,
    Person,
    StaffRole,
    as_utc,
    utcnow,
)
from engine.uploads import Upload


@dataclass(frozen=True)
class Participant:
    given_name: str
    family_name: str
    email: str | None = None
    phone: str | None = None
    """E.164, when that is how they are reached: binds their badges when they have no e-mail."""


@dataclass(frozen=True)
class AdvanceResult:
    enrollment_id: int
    trigger: str
    from_stage: str
    to_stage: str
    awarded: list[str]
    conditions: list[gates.Condition]
    revision: int


_PARTICIPANT = aliased(Person)

# The enrollment, its participant's contact (bound into the badges it may issue) and the badges
# they hold (the gate's, and the awards' duplicate check), its pathway's network and the acting
# staff member's roles that let them advance it (the access rule, joined in): one query, one
# row per role (a single row with a NULL role when they have none).
_LOAD_AS = (
    select(
        *ENROLLMENT.selected_columns,
        Enrollment.started_at,
        _PARTICIPANT.email.label("participant_email"),
        _PARTICIPANT.phone.label("participant_phone"),
        _PARTICIPANT.subject.label("participant_subject"),
        held_column(Enrollment.participant_id).label("held"),
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


_STEP = (
    update(Enrollment)
    .where(Enrollment.id == bindparam("eid"), Enrollment.revision == bindparam("rev"))
    .values(
        stage=bindparam("dest"), revision=bindparam("new_rev"), stage_entered_at=bindparam("at")
    )
)
"""A move to a stage that is not final: only the columns that change, so the indexes over the
status and the exit columns are not rewritten with the same values."""
_FINISH = _STEP.values(
    status=bindparam("new_status"),
    completed_at=bindparam("done_at"),
    exit_outcome=bindparam("exit_outcome"),
    exit_on=bindparam("exit_on"),
    exit_employer=bindparam("exit_employer"),
)
"""A move into a final stage: the enrollment ends there, with its exit when one is given."""
_AUDIT = insert(AuditEvent)
_NOTED = ["enrollment_id", "at", "actor_id", "kind", "trigger", "from_stage", "to_stage", "note"]
_audit_table = AuditEvent.__table__


def _moved_and_noted(move: Any, lock: bool) -> Any:
    """PostgreSQL: the guarded move, its audit row and, when the transition issues badges of
    one issuer, that issuer's place lock, in one statement (one round trip). It returns a row
    only when the move was made (no row: the revision moved on, a Conflict). The audit insert
    and the lock act only on the moved row; the lock is taken after the move's row lock, as
    when they were apart, and before the statement that reads the place."""
    moved = move.returning(Enrollment.id).cte("moved")
    values = [moved.c.id, bindparam("at", type_=_audit_table.c.at.type)]
    values += [bindparam(c, type_=_audit_table.c[c].type) for c in _NOTED[2:]]
    values.append(bindparam("details", type_=_audit_table.c.details.type))
    noted = insert(AuditEvent).from_select([*_NOTED, "details"], select(*values)).cte("noted")
    return select(moved.c.id, *([issuing.PLACE_LOCK] if lock else [])).add_cte(noted)


_MOVED_AND_NOTED = {
    (final, lock): Prepared(_moved_and_noted(_FINISH if final else _STEP, lock))
    for final in (False, True)
    for lock in (False, True)
}
"""By (into a final stage, with an issuer's lock)."""
# advance's statements, compiled once (`engine.store.prepared`: SQLAlchemy's per-execution work
# around the joined load cost more than the database's)
_LOAD = Prepared(_LOAD_AS)
_MOVE = {False: Prepared(_STEP), True: Prepared(_FINISH)}
_NOTE = Prepared(_AUDIT, [*_NOTED, "details"])


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
            session,
            org.id,
            participant.given_name,
            participant.family_name,
            participant.email,
            participant.phone,
        )
        active = session.execute(
            select(Enrollment.id)
            .join(PathwayVersion, PathwayVersion.id == Enrollment.pathway_version_id)
            .where(
                Enrollment.participant_id == person.id,
                Enrollment.status == EnrollmentStatus.ACTIVE,
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
        audit = started(
            rt,
            session,
            pathway,
            version=pv.version,
            enrollment_id=enrollment.id,  # type: ignore[arg-type]
            person_id=person.id,  # type: ignore[arg-type]
            structure_id=org.id,  # type: ignore[arg-type]
            by=by,
            now=now,
            held=held_badges(session, person.id),  # type: ignore[arg-type]
            email=person.email,
            note=note,
        )
        session.add(AuditEvent(**audit))
        return enrollment.id  # type: ignore[return-value]


def started(
    rt: Runtime,
    db: Session,
    pathway: Pathway,
    *,
    version: int,
    enrollment_id: int,
    person_id: int,
    structure_id: int,
    by: Actor,
    now: datetime,
    held: frozenset[str] | None,
    email: str | bool | None = False,
    note: str | None = None,
) -> dict[str, Any]:
    """What starting a pathway entails beside the enrollment's row, for `enroll` and the
    participant import alike: the initial stage's badges and the StageEntered event. Returns
    the `enrolled` audit row, for the caller to write alone or with others in one insert."""
    issued = issuing.issue(
        rt,
        db,
        pathway.stage(pathway.initial).awards.on_enter,
        basis=issuing.Basis.PATHWAY,
        recipient_id=person_id,
        structure_id=structure_id,
        enrollment_id=enrollment_id,
        actor_id=by.person_id,
        now=now,
        held=held,
        email=email,
    )
    events.collect(db, events.StageEntered(enrollment_id, pathway.id, pathway.initial, now))
    return {
        "enrollment_id": enrollment_id,
        "at": now,
        "actor_id": by.person_id,
        "kind": "enrolled",
        "to_stage": pathway.initial,
        "note": note,
        "details": {"version": version, "awarded": [b for _, b, _ in issued]},
    }


def advance(
    rt: Runtime,
    enrollment_id: int,
    trigger: str,
    *,
    by: Actor,
    note: str | None = None,
    now: datetime | None = None,
    expected_revision: int | None = None,
    exit: Exit | None = None,
) -> AdvanceResult:
    """Fire `trigger` on an enrollment, all or nothing. Raises GateRefused with every unmet
    condition, Forbidden for staff of another structure, Conflict when someone else won.
    Into a final stage, `exit` says how the person left (required when the stage declares
    its outcomes; see `engine.exits.check`); written with the move, in the same statement."""
    now = now or utcnow()
    try:
        with rt.transaction() as conn:
            rows = _LOAD.all(conn, {"eid": enrollment_id, "pid": by.person_id})
            if not rows:
                raise NotFound(f"parcours n° {enrollment_id} introuvable")
            row = rows[0]
            roles = frozenset(Role(r.role) for r in rows if r.role)
            if not roles:
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
            if row.status != EnrollmentStatus.ACTIVE:
                raise InvalidInput(f"le parcours n° {enrollment_id} est terminé ({row.status})")
            pathway = rt.pathway(conn, row.pathway_version_id)
            machine = machine_for(pathway)
            planned = machine.move(row.stage, trigger)  # or the French "not possible" error
            transition = planned.transition
            held = parse_held(row.held)
            ctx = context(rt, conn, row, pathway, [transition], now, roles, held=held)
            conditions = gates.evaluate(transition, ctx, rt.gate_checks)
            unmet = gates.unmet(conditions)
            dest = machine.fire(row.stage, trigger, unmet)
            if dest is None:
                raise GateRefused(trigger, unmet)
            recorded = _exit_for(planned.dest, exit, row.started_at, now)
            final = planned.dest.final
            due = [b for b in planned.awards if b not in held]
            move = {
                "eid": row.id,
                "rev": row.revision,
                "dest": dest,
                "new_rev": row.revision + 1,
                "at": now,
            }
            audit = {
                "enrollment_id": row.id,
                "at": now,
                "actor_id": by.person_id,
                "kind": "transition",
                "trigger": trigger,
                "from_stage": row.stage,
                "to_stage": dest,
                "note": note,
                "details": {
                    "gate": privacy.gate_for_audit(conditions),
                    "awarded": due,
                    **({"exit": _exit_audit(recorded)} if recorded else {}),
                },
            }
            if final:
                move["new_status"] = (
                    EnrollmentStatus.COMPLETED
                    if transition.completes
                    else EnrollmentStatus.WITHDRAWN
                )
                move["done_at"] = now
                move["exit_outcome"] = recorded.outcome if recorded else None
                move["exit_on"] = recorded.on if recorded else None
                move["exit_employer"] = recorded.employer if recorded else None
            issuers = issuing.issuers_of(rt, conn, due, held) if due else []
            if conn.dialect.name == "postgresql":
                if len(issuers) == 1:
                    move["iid"] = issuers[0]
                statement = _MOVED_AND_NOTED[final, len(issuers) == 1]
                changed = len(statement.all(conn, {**move, **audit}))
            else:
                changed = _MOVE[final].rowcount(conn, move)
            if changed != 1:
                raise Conflict(
                    f"le parcours n° {enrollment_id} vient d'être modifié par "
                    "quelqu'un d'autre : rechargez-le et recommencez"
                )
            if conn.dialect.name != "postgresql":
                _NOTE.rowcount(conn, audit)
            elif len(issuers) > 1:
                issuing.lock_places(conn, issuers)  # after the move's row lock, as above
            # `due` is what the audit row says; a badge awarded by hand since the read (a
            # race of milliseconds) is skipped by the insert and left out of the answer
            issued = issuing.issue(
                rt,
                conn,
                due,
                basis=issuing.Basis.PATHWAY,
                recipient_id=row.participant_id,
                structure_id=row.structure_id,
                enrollment_id=row.id,
                actor_id=by.person_id,
                now=now,
                held=held,
                contact=contact_of(
                    row.participant_email, row.participant_phone, row.participant_subject, rt.urls
                ),
                shares=planned.shares,
                places_locked=True,
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
    awarded = [b for _, b, _ in issued]
    return AdvanceResult(row.id, trigger, row.stage, dest, awarded, conditions, row.revision + 1)


def _exit_for(stage: Any, exit: Exit | None, started_at: datetime, now: datetime) -> Exit | None:
    """The exit to write on entering `stage`, checked against what it accepts."""
    if not stage.final:
        if exit is not None:
            raise InvalidInput(
                f"sortie : l'étape « {stage.title} » n'est pas la dernière ; la sortie "
                "s'enregistre en entrant dans une étape finale"
            )
        return None
    return exits.check(
        exit,
        stage.outcomes,
        started_on=dates.local(started_at).date(),
        today=dates.local(now).date(),
        stage_title=stage.title,
    )


def _exit_audit(recorded: Exit) -> dict[str, Any]:
    """What the history keeps of an exit: the outcome and its day. The employer's name stays
    in the enrollment's row, where erasure reaches it; the history says one was given."""
    return {
        "outcome": recorded.outcome,
        "on": recorded.on.isoformat() if recorded.on else None,
        "employer": recorded.employer is not None,
    }


# The finished enrollment whose exit is recorded, with what the access rule needs.
_EXIT_ROW = select(
    Enrollment.id,
    Enrollment.participant_id,
    Enrollment.structure_id,
    Enrollment.pathway_version_id,
    Enrollment.stage,
    Enrollment.status,
    Enrollment.revision,
    Enrollment.started_at,
    Enrollment.exit_outcome,
    Enrollment.exit_on,
    Enrollment.exit_employer,
    PathwayVersion.network,
).join(PathwayVersion, PathwayVersion.id == Enrollment.pathway_version_id)
_SET_EXIT = (
    update(Enrollment)
    .where(Enrollment.id == bindparam("eid"), Enrollment.revision == bindparam("rev"))
    .values(
        revision=bindparam("new_rev"),
        exit_outcome=bindparam("exit_outcome"),
        exit_on=bindparam("exit_on"),
        exit_employer=bindparam("exit_employer"),
    )
)


def record_exit(
    rt: Runtime,
    enrollment_id: int,
    exit: Exit,
    *,
    by: Actor,
    note: str | None = None,
    now: datetime | None = None,
) -> Exit:
    """Record, or correct, how a finished enrollment's person left: sorties are often known
    weeks after the last step. One audited transaction; a correction (an exit was recorded)
    says why in `note`. Returns the exit as stored."""
    now = now or utcnow()
    with rt.transaction() as conn:
        row = conn.execute(_EXIT_ROW.where(Enrollment.id == enrollment_id)).one_or_none()
        if row is None:
            raise NotFound(f"parcours n° {enrollment_id} introuvable")
        access.ensure(
            conn,
            by,
            Action.ADVANCE,
            Target(
                structure_id=row.structure_id,
                network=row.network,
                participant_id=row.participant_id,
            ),
        )
        if row.status == EnrollmentStatus.ACTIVE:
            raise InvalidInput(
                f"sortie : le parcours n° {enrollment_id} est en cours ; la sortie s'enregistre "
                "avec sa dernière étape"
            )
        stage = rt.pathway(conn, row.pathway_version_id).stage(row.stage)
        if exit is None or not exit.outcome.strip():
            raise InvalidInput("sortie : indiquez comment la personne a quitté le parcours")
        recorded = _exit_for(stage, exit, row.started_at, now)
        assert recorded is not None  # an outcome was given, and checked
        before = (row.exit_outcome, row.exit_on, row.exit_employer)
        if before == (recorded.outcome, recorded.on, recorded.employer):
            raise InvalidInput("sortie : déjà enregistrée telle quelle, rien à changer")
        if row.exit_outcome and not (note or "").strip():
            raise InvalidInput("motif : une correction de sortie doit être motivée")
        changed = conn.execute(
            _SET_EXIT,
            {
                "eid": row.id,
                "rev": row.revision,
                "new_rev": row.revision + 1,
                "exit_outcome": recorded.outcome,
                "exit_on": recorded.on,
                "exit_employer": recorded.employer,
            },
        ).rowcount
        if changed != 1:
            raise Conflict(
                f"le parcours n° {enrollment_id} vient d'être modifié par "
                "quelqu'un d'autre : rechargez-le et recommencez"
            )
        details = _exit_audit(recorded)
        if row.exit_outcome:
            details["before"] = {
                "outcome": row.exit_outcome,
                "on": row.exit_on.isoformat() if row.exit_on else None,
            }
        conn.execute(
            _AUDIT,
            {
                "enrollment_id": row.id,
                "at": now,
                "actor_id": by.person_id,
                "kind": exits.EVENT,
                "from_stage": row.stage,
                "note": note or None,
                "details": details,
            },
        )
    return recorded


def _active(session: Session, enrollment_id: int, by: Actor, action: Action) -> tuple[Any, Any]:
    """The active enrollment and the actor's grant for `action` on it."""
    row = load(session, enrollment_id, ENROLLMENT_NAMED)
    grant = access.ensure(session, by, action, read_target(row))
    if row.status != EnrollmentStatus.ACTIVE:
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
        evidence = add_to_stage(
            session,
            rt.pathway(session, row.pathway_version_id),
            row,
            kind,
            by=by,
            now=now,
            narrative=narrative,
            url=url,
            context=context,
            file=file,
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
        raise InvalidInput("reason : une décision de comité doit être motivée")
    with rt.unit_of_work() as session:
        row = load(session, enrollment_id, ENROLLMENT_NAMED)
        if row.status != EnrollmentStatus.ACTIVE:
            raise InvalidInput(f"le parcours n° {enrollment_id} est terminé")
        pathway = rt.pathway(session, row.pathway_version_id)
        transition = pathway.transition(row.stage, trigger)
        if transition is None or not transition.gate.committee:
            raise InvalidInput(
                f"« {trigger} » ne demande pas de décision de comité depuis l'étape "
                f"« {pathway.stage(row.stage).title} »"
            )
        committee = gate_committee(session, row.structure_id, row.network)
        if committee is None:
            raise InvalidInput(
                "aucun comité d'attribution ne décide encore cette étape : le directeur de la "
                "structure ou le réseau doit en constituer un"
            )
        target = read_target(row)
        access.ensure(
            session,
            by,
            Action.GATE_VOTE,
            Target(target.structure_id, target.network, committee_id=committee.id),
        )
        rule = rt.committee_rule(committee.kind)
        if rule is None:
            raise InvalidInput(f"règle de comité « {committee.kind} » absente du réseau")
        ensure_no_conflict(session, rule, by.person_id, row.structure_id)
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


# The enrollment, its participant's contact, the badge class (the slug's active version, under
# its own column names: the row serves as the badge class) and the acting staff member's roles
# that let them award it (the access rule, joined in): one query, one row per role.
_AWARDING = (
    select(
        Enrollment.id.label("enrollment_id"),
        Enrollment.participant_id,
        Enrollment.structure_id,
        Enrollment.stage,
        Enrollment.status.label("enrollment_status"),
        _PARTICIPANT.email.label("participant_email"),
        _PARTICIPANT.subject.label("participant_subject"),
        *BadgeClass.__table__.c,
        StaffRole.role,
    )
    .select_from(Enrollment)
    .join(_PARTICIPANT, _PARTICIPANT.id == Enrollment.participant_id)
    .outerjoin(
        BadgeClass,
        and_(BadgeClass.slug == bindparam("slug"), BadgeClass.status == BadgeClassStatus.ACTIVE),
    )
    .outerjoin(
        StaffRole,
        and_(
            StaffRole.person_id == bindparam("pid"),
            access.reach(
                access.PERMISSIONS[Action.BADGE_AWARD],
                Target(structure_id=Enrollment.structure_id, network=BadgeClass.network),
            ),
        ),
    )
    .where(Enrollment.id == bindparam("eid"))
)
# ... and the badge's issuer with its signing key, for the badge sent out at once.
_AWARDING_PORTABLE = with_issuer(_AWARDING, BadgeClass.network)


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
    with rt.transaction() as conn:
        return _award(rt, conn, _AWARDING, enrollment_id, badge, by, narrative, now)[0]


def award_portable(
    rt: Runtime,
    enrollment_id: int,
    badge: str,
    u: PublicUrls,
    *,
    by: Actor,
    narrative: str | None = None,
    now: datetime | None = None,
) -> tuple[str, Portable]:
    """`award`, and in the same transaction the badge as its holder carries it (baked picture
    and signed credential), built from the rows the award already holds: the assertion as
    written with its status-list place, the badge class, issuer and key read with the award's
    checks. One commit for all of it."""
    with rt.transaction() as conn:
        assertion_id, row, a = _award(
            rt, conn, _AWARDING_PORTABLE, enrollment_id, badge, by, narrative, now
        )
        bc, subject = row, row.participant_subject
        if a is None:  # an issuer without a status list: nothing was written back
            a = conn.execute(select(*_ASSERTION.c).where(_ASSERTION.c.id == assertion_id)).one()
        if a.badge_class_id != row.id:  # the catalogue moved on meanwhile: the version issued
            version = select(*_BADGE_CLASS.c).where(_BADGE_CLASS.c.id == a.badge_class_id)
            bc = conn.execute(version).one()
        if subject is None:  # given one as the badge was bound (`recipient_contact`)
            subject = conn.execute(
                select(Person.subject).where(Person.id == row.participant_id)
            ).scalar_one()
        return assertion_id, portable_in(conn, a, bc, row, subject, u)


_ASSERTION = Assertion.__table__
_BADGE_CLASS = BadgeClass.__table__


def _award(
    rt: Runtime,
    db: Db,
    statement: Any,
    enrollment_id: int,
    badge: str,
    by: Actor,
    narrative: str | None,
    now: datetime | None,
) -> tuple[str, Any, Any]:
    """Checks and issues, in the caller's transaction: (assertion id, the `statement` row,
    the assertion row as written with its status-list place, or None without an issuer)."""
    now = now or utcnow()
    pid = by.person_id if by.is_staff else None  # only staff hold roles
    rows = db.execute(statement, {"eid": enrollment_id, "slug": badge, "pid": pid}).all()
    if not rows:
        raise NotFound(f"parcours n° {enrollment_id} introuvable")
    row = bc = rows[0]
    if bc.id is None:
        raise NotFound(f"badge « {badge} » introuvable dans les catalogues chargés")
    roles = frozenset(Role(r.role) for r in rows if r.role)
    if not roles:  # the permission table's own check: it allows or says why not
        target = Target(structure_id=row.structure_id, network=bc.network)
        roles = access.ensure(db, by, Action.BADGE_AWARD, target).roles
    if row.enrollment_status != EnrollmentStatus.ACTIVE:
        raise InvalidInput(f"le parcours n° {enrollment_id} est terminé")
    if bc.recipient_kind != "person":
        raise InvalidInput(f"le badge {bc.name} se délivre à une organisation")
    issuing.ensure_direct(db, bc, row.structure_id, roles)
    entry = rt.catalogue_entry(db, badge)
    held = None  # without sub-badges to check, the insert itself refuses a badge held
    if entry and entry.requires:
        held = held_badges(db, row.participant_id)
        if badge in held:
            raise Conflict(f"le badge {bc.name} est déjà détenu")
        if entry.requires.missing(set(held)):
            names = rt.badge_lookups(db)[0]
            missing = ", ".join(names.get(b, b) for b in entry.requires.missing(set(held)))
            raise GateRefused(badge, [f"pour le badge {bc.name}, il manque : {missing}"])
    placed: list[Any] = []
    issued = issuing.issue(
        rt,
        db,
        [badge],
        basis=issuing.Basis.DIRECT,
        recipient_id=row.participant_id,
        structure_id=row.structure_id,
        enrollment_id=row.enrollment_id,
        actor_id=by.person_id,
        now=now,
        held=held,
        # bound to the e-mail read above; without one (or a profile yet) issuing reads more
        email=row.participant_email if row.participant_subject else False,
        evidence=[{"narrative": narrative}] if narrative else [],
        placed=placed,
    )
    if not issued:
        raise Conflict(f"le badge {bc.name} est déjà détenu")
    audit = AuditEvent(
        enrollment_id=row.enrollment_id,
        at=now,
        actor_id=by.person_id,
        kind="badge_issued",
        from_stage=row.stage,
        details={"awarded": [badge]},  # the narrative is the badge's own evidence
    )
    db.execute(_AUDIT, audit.model_dump(exclude_none=True))
    return issued[0][0], row, placed[0] if placed else None
