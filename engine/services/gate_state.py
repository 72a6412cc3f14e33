"""What a gate sees of an enrollment: the enrollment's row, the badges held, the evidence of
the current stage and its committee's votes, read with only the queries the gates at hand need.
Shared by the commands (`enrollments`) and the read views (`enrollment_views`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, or_, select

from engine import gates
from engine.badges.assertions import held_badges
from engine.committees import Vote, outcome
from engine.errors import NotFound
from engine.pathways.model import Pathway, Transition
from engine.roles import Role
from engine.services.access import Target
from engine.services.runtime import Db, Runtime
from engine.store.tables import (
    Committee,
    CommitteeDecision,
    CommitteeMember,
    Enrollment,
    Evidence,
    Organisation,
    PathwayVersion,
    Person,
    as_utc,
)

ENROLLMENT = select(
    Enrollment.id,
    Enrollment.participant_id,
    Enrollment.structure_id,
    Enrollment.pathway_version_id,
    Enrollment.stage,
    Enrollment.status,
    Enrollment.revision,
    Enrollment.stage_entered_at,
).where(Enrollment.id == bindparam("eid"))


# What `status` shows, with the participant's and structure's names and the pathway's network,
# in one query.
ENROLLMENT_NAMED = (
    select(
        *ENROLLMENT.selected_columns,
        Enrollment.completed_at,
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
            and_(Committee.structure_id == bindparam("sid"), Committee.network == bindparam("net")),
            and_(Committee.structure_id.is_(None), Committee.network == bindparam("net")),
        )
    )
    .order_by(Committee.structure_id.is_(None), Committee.id)
    .limit(1)
)


def load(db: Db, enrollment_id: int, query: Any = ENROLLMENT) -> Any:
    """The enrollment's row (`query` picks the columns), or NotFound."""
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
    rule = rt.committee_rule(committee.kind)
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


def context(
    rt: Runtime,
    db: Db,
    row: Any,
    pathway: Pathway,
    transitions: list[Transition],
    now: datetime,
    actor_roles: frozenset[Role] | None,
    held: frozenset[str] | None = None,
) -> gates.GateContext:
    """Query only what these transitions' gates need. `held`: the badges held, when the
    caller read them with its own query (`advance` does, with the enrollment)."""
    names, requirements = rt.badge_lookups(db)
    # Badges held are read only when a condition depends on them: a plain award checks for
    # duplicates inside its own insert.
    if held is None and any(
        t.gate.badges or any(b in requirements for b in pathway.awards_for(t, row.stage))
        for t in transitions
    ):
        held = held_badges(db, row.participant_id)
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


def read_target(row: Any) -> Target:
    """What the access rule needs of an enrollment row read with `ENROLLMENT_NAMED`."""
    return Target(
        structure_id=row.structure_id, network=row.network, participant_id=row.participant_id
    )
