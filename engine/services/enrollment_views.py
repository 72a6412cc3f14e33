"""Where enrollments stand, as staff, participants and the scheduler read them: the status
with each next step's conditions, the history, and the bulk states of many enrollments."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from engine import dates, exits, gates
from engine.badges.assertions import held_badges
from engine.pathways.model import Pathway
from engine.roles import Role
from engine.services import access
from engine.services.access import Action, Actor
from engine.services.evidence import (
    Piece,
    expected_kinds,
    free_kinds_allowed,
    kind_title,
)
from engine.services.evidence import pieces as evidence_pieces
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
    final: bool = False
    """The step ends the enrollment: its page asks for a confirmation first."""
    early_exit: bool = False
    committee: bool = False
    outcomes: list[str] | None = None
    """The exit outcomes the final stage accepts (None: any); see `exit_required`."""
    exit_required: bool = False
    """Taking the step asks how the person leaves (the stage declares its outcomes)."""
    records_exit: bool = False
    """Taking the step may record how the person leaves."""

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
    completed_at: datetime | None = None
    evidence_kinds: dict[str, str] = field(default_factory=dict)
    """Kind -> title of the evidence the pathway's gates name: what the evidence form offers."""
    free_kinds: bool = True
    """Whether other evidence kinds are accepted (see `evidence.free_kinds_allowed`)."""
    started_at: datetime | None = None
    exit: exits.RecordedExit | None = None
    """How the person left, once recorded (the last step, or later)."""
    exit_outcomes: list[str] | None = None
    """For a finished enrollment whose last stage records exits: the outcomes it accepts
    (None: any), what the form to record or correct the exit offers."""
    exit_recordable: bool = False
    """A finished enrollment whose last stage records an exit: it may be recorded or
    corrected (`enrollments.record_exit`)."""

    @property
    def status_label(self) -> str:
        return EnrollmentStatus(self.status).label


def _titled(conditions: list[gates.Condition], titles: dict[str, str]) -> list[gates.Condition]:
    """The gate's sentences with each evidence kind's title instead of its slug."""
    return [
        gates.Condition(c.kind, c.met, kind_titles(c.text, titles)) if c.kind == "evidence" else c
        for c in conditions
    ]


def kind_titles(text: str, titles: dict[str, str]) -> str:
    """`text` with a trailing evidence kind (« … manquante : bilan-immersion ») titled."""
    for kind, title in titles.items():
        if text.endswith(f" : {kind}"):
            return text[: -len(kind)] + title
    return text


# What `status` reads: the named enrollment, when it started and how the person left.
_STATUS = ENROLLMENT_NAMED.add_columns(
    Enrollment.started_at, Enrollment.exit_outcome, Enrollment.exit_on, Enrollment.exit_employer
)


def status(rt: Runtime, enrollment_id: int, *, by: Actor, now: datetime | None = None) -> Status:
    """Where the enrollment stands and, for each next step, what is still missing."""
    now = now or utcnow()
    # Read on every enrollment page and for each row of the dashboard: Core reads on one
    # connection, no ORM session (it cost as much as the reads).
    with rt.reading() as conn:
        row = load(conn, enrollment_id, _STATUS)
        access.ensure(conn, by, Action.ENROLLMENT_READ, read_target(row))
        pathway = rt.pathway(conn, row.pathway_version_id)
        outgoing = (
            pathway.transitions_from(row.stage) if row.status == EnrollmentStatus.ACTIVE else []
        )
        ctx = context(rt, conn, row, pathway, outgoing, now, None)
        kinds = expected_kinds(pathway)
        steps = [
            NextStep(
                t.trigger,
                t.title,
                t.dest,
                pathway.stage(t.dest).title,
                list(t.gate.roles),
                _titled(gates.evaluate(t, ctx, rt.gate_checks), kinds),
                final=pathway.stage(t.dest).final,
                early_exit=not t.completes,
                committee=t.gate.committee,
                outcomes=pathway.stage(t.dest).outcomes,
                exit_required=pathway.stage(t.dest).requires_exit,
                records_exit=pathway.stage(t.dest).records_exit,
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
        as_utc(row.completed_at) if row.completed_at else None,
        kinds,
        free_kinds_allowed(pathway),
        as_utc(row.started_at),
        exits.recorded(row.exit_outcome, row.exit_on, row.exit_employer),
        stage.outcomes,
        row.status != EnrollmentStatus.ACTIVE and stage.records_exit,
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
    what: str = ""
    """What happened beyond the event's kind, in French with titles and names (no ids)."""
    awarded: list[str] = field(default_factory=list)
    """Names of the badges the event issued."""


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
        pathway = rt.pathway(session, row.pathway_version_id)
        names = rt.badge_lookups(session)[0]
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
            _what(pathway, e.kind, e.trigger, e.from_stage, e.to_stage, e.details or {}, names),
            [names.get(b, b) for b in (e.details or {}).get("awarded") or []],
        )
        for e, g, f in events_
    ]


def exit_text(details: Mapping[str, Any]) -> str:
    """« CDI (Emploi durable), le 12/03/2026 » from an audit event's exit details."""
    shown = exits.recorded(details.get("outcome"), None, None)
    said = f"{shown.label} ({shown.category_label})" if shown else "?"
    on = details.get("on")
    if on:
        said += f", le {dates.day(date.fromisoformat(on))}"
    return said


def _stage_title(pathway: Pathway, stage: str | None) -> str:
    if not stage:
        return ""
    try:
        return pathway.stage(stage).title
    except KeyError:  # a stage of another version (after a migration)
        return stage


def _step_title(pathway: Pathway, trigger: str | None) -> str:
    for t in pathway.transitions:
        if t.trigger == trigger:
            return t.title
    return trigger or ""


def _what(
    pathway: Pathway,
    kind: str,
    trigger: str | None,
    src: str | None,
    dest: str | None,
    details: dict[str, Any],
    names: Mapping[str, str],
) -> str:
    """The detail of one history line, as people read it."""
    if kind == "enrolled":
        return f"étape « {_stage_title(pathway, dest)} »"
    if kind in ("transition", "migration"):
        moved = f"{_stage_title(pathway, src)} → {_stage_title(pathway, dest)}"
        said = f"« {_step_title(pathway, trigger)} » : {moved}" if trigger else moved
        if details.get("exit"):
            said += f" ; sortie : {exit_text(details['exit'])}"
        return said
    if kind == exits.EVENT:
        said = exit_text(details)
        before = details.get("before")
        if before:
            return f"corrigée : {said} (auparavant : {exit_text(before)})"
        return f"enregistrée : {said}"
    if kind == "evidence":
        return f"« {kind_title(str(details.get('kind') or ''))} »"
    if kind == "committee_decision":
        verdict = "favorable" if details.get("approved") else "défavorable"
        return f"avis {verdict} sur « {_step_title(pathway, trigger)} »"
    return ""


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


def pathway_badges(pathway: Pathway, requirements: Mapping[str, Any]) -> list[str]:
    """The badges a pathway names (stage awards, gate badges) and the sub-badges its key badges
    require, in the order the pathway meets them: what its participants work towards."""
    ordered: list[str] = []

    def add(badge: str) -> None:
        # sub-badges first: they are the ones staff award by hand, the key badge follows
        req = requirements.get(badge)
        for sub in req.of if req is not None else []:
            if sub not in ordered:
                ordered.append(sub)
        if badge not in ordered:
            ordered.append(badge)

    for stage in pathway.stages:
        for t in pathway.transitions_from(stage.id):
            for req in t.gate.badges:
                for badge in req.of:
                    add(badge)
        for badge in (*stage.awards.on_enter, *stage.awards.on_complete):
            add(badge)
    return ordered


@dataclass(frozen=True)
class AwardChoices:
    """What « Délivrer un badge » offers: the pathway's badges, then the rest of its network's,
    none already held; (badge id, name) pairs."""

    pathway: list[tuple[str, str]]
    others: list[tuple[str, str]]


def award_choices(rt: Runtime, enrollment_id: int, *, by: Actor) -> AwardChoices:
    with rt.reading() as conn:
        row = load(conn, enrollment_id, ENROLLMENT_NAMED)
        access.ensure(conn, by, Action.ENROLLMENT_READ, read_target(row))
        pathway = rt.pathway(conn, row.pathway_version_id)
        catalogue = rt.catalogue(conn)
        requirements = rt.badge_lookups(conn)[1]
        held = held_badges(conn, row.participant_id)
    offered = {
        slug: entry.name
        for slug, entry in catalogue.items()
        if entry.recipient == "person" and slug not in held
    }
    own = [b for b in pathway_badges(pathway, requirements) if b in offered]
    others = sorted(
        (entry.name, slug)
        for slug, entry in catalogue.items()
        if slug in offered and slug not in own and entry.network == pathway.network
    )
    return AwardChoices([(b, offered[b]) for b in own], [(slug, name) for name, slug in others])


def pieces(rt: Runtime, enrollment_id: int, *, by: Actor) -> list[Piece]:
    """The evidence attached to the enrollment, every stage, oldest first."""
    with rt.unit_of_work() as session:
        row = load(session, enrollment_id, ENROLLMENT_NAMED)
        access.ensure(session, by, Action.ENROLLMENT_READ, read_target(row))
        pathway = rt.pathway(session, row.pathway_version_id)
        found = evidence_pieces(session, enrollment_ids=[row.id])
    return [replace(p, stage=_stage_title(pathway, p.stage)) for p in found]


@dataclass(frozen=True)
class StepRules:
    """One step of a pathway and what its gate asks, in French: the pathway page's text."""

    title: str
    sources: list[str]
    dest: str
    conditions: list[str]


def step_rules(rt: Runtime, pathway: Pathway) -> list[StepRules]:
    """Every step with its conditions written out, titles and names instead of ids."""
    with rt.reading() as conn:
        names = rt.badge_lookups(conn)[0]
    out = []
    for t in pathway.transitions:
        said: list[str] = []
        for req in t.gate.badges:
            listed = ", ".join(names.get(b, b) for b in req.of)
            if req.at_least is None:
                said.append(f"badges : {listed}")
            else:
                said.append(f"au moins {req.at_least} badge(s) parmi : {listed}")
        said += [f"pièce justificative : {kind_title(k)}" for k in t.gate.evidence]
        if t.gate.min_days is not None:
            said.append(f"au moins {t.gate.min_days} jour(s) dans l'étape")
        if t.gate.max_days is not None:
            said.append(f"au plus {t.gate.max_days} jour(s) dans l'étape")
        if t.gate.committee:
            said.append("décision du comité d'attribution")
        # a plugin check explains itself only on an enrollment (it reads its evidence, badges)
        said += ["une vérification propre au réseau"] * len(t.gate.checks)
        if t.gate.roles:
            said.append("réservé à : " + gates.roles_text(list(t.gate.roles)))
        if not t.completes:
            said.append("sortie anticipée : les badges de l'étape quittée ne sont pas délivrés")
        dest = pathway.stage(t.dest)
        if dest.requires_exit:
            listed = ", ".join(exits.OUTCOMES[c].label for c in dest.outcomes or [])
            said.append(f"sortie à renseigner parmi : {listed}")
        out.append(
            StepRules(
                t.title,
                [_stage_title(pathway, s) for s in t.source],
                _stage_title(pathway, t.dest),
                said or ["aucune condition"],
            )
        )
    return out
