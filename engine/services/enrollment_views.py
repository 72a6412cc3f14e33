"""Where enrollments stand, as staff, participants and the scheduler read them: the status
with each next step's conditions, the history, and the bulk states of many enrollments."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from engine import gates
from engine.badges.assertions import held_badges
from engine.roles import Role
from engine.services import access
from engine.services.access import Action, Actor
from engine.services.gate_state import ENROLLMENT, ENROLLMENT_NAMED, context, load, read_target
from engine.services.runtime import Runtime
from engine.statuses import EnrollmentStatus
from engine.store.tables import AuditEvent, Enrollment, Person, as_utc, full_name, utcnow


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


def status(rt: Runtime, enrollment_id: int, *, by: Actor, now: datetime | None = None) -> Status:
    """Where the enrollment stands and, for each next step, what is still missing."""
    now = now or utcnow()
    # Read on every enrollment page and for each row of the dashboard: Core reads on one
    # connection, no ORM session (it cost as much as the reads).
    with rt.reading() as conn:
        row = load(conn, enrollment_id, ENROLLMENT_NAMED)
        access.ensure(conn, by, Action.ENROLLMENT_READ, read_target(row))
        pathway = rt.pathway(conn, row.pathway_version_id)
        outgoing = (
            pathway.transitions_from(row.stage) if row.status == EnrollmentStatus.ACTIVE else []
        )
        ctx = context(rt, conn, row, pathway, outgoing, now, None)
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
        if stage.deadline_days and row.status == EnrollmentStatus.ACTIVE
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
        row = load(session, enrollment_id, ENROLLMENT_NAMED)
        access.ensure(session, by, Action.ENROLLMENT_READ, read_target(row))
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


@dataclass(frozen=True, slots=True)
class EnrollmentState:
    id: int
    participant_id: int
    structure_id: int
    pathway_version_id: int
    stage: str
    status: str
    revision: int
    stage_entered_at: datetime


def states(
    rt: Runtime,
    *,
    structure_ids: list[int] | None = None,
    active_only: bool = True,
    batch: int = 10_000,
) -> list[EnrollmentState]:
    """Where every enrollment stands, for dashboards and the scheduler: plain rows streamed in
    batches, no ORM objects, so a region's 100,000 enrollments load in well under a second."""
    query = select(*ENROLLMENT.selected_columns).order_by(Enrollment.id)
    if active_only:
        query = query.where(Enrollment.status == EnrollmentStatus.ACTIVE)
    if structure_ids is not None:
        query = query.where(Enrollment.structure_id.in_(structure_ids))
    out: list[EnrollmentState] = []
    with rt.engine.connect() as conn:
        result = conn.execution_options(yield_per=batch).execute(query)
        for rows in result.partitions():
            out.extend(EnrollmentState(*row) for row in rows)
    return out
