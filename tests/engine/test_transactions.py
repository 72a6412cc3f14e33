"""A state change happens whole, with its audit event and badges, or not at all; of two staff
advancing the same enrollment at once, exactly one wins."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from engine.errors import Conflict
from engine.hookspecs import hookimpl
from engine.pathways import load_pathway_text
from engine.plugins import make_plugin_manager
from engine.services import enrollment_views as ev
from engine.services import enrollments as e
from engine.services import issuing
from engine.services.access import Actor
from engine.services.pathways import publish
from engine.services.runtime import Runtime
from engine.store.tables import Assertion, AuditEvent, Enrollment
from tests.conftest import CIP, DIRECTRICE, ENCADRANT, T0, actor

RACE = """\
id: course
version: 1
network: sato
title: Course
initial: a
stages:
  - {id: a, title: A, awards: {on_complete: [sato.ponctualite]}}
  - {id: b, title: B, final: true}
  - {id: c, title: C, final: true}
transitions:
  - {trigger: vers-b, source: a, dest: b, title: Vers B, gate: {checks: [test.rendez-vous]}}
  - {trigger: vers-c, source: a, dest: c, title: Vers C, gate: {checks: [test.rendez-vous]}}
"""


class Recorder:
    """A plugin that also makes both racing requests meet after reading, before writing."""

    def __init__(self) -> None:
        self.barrier = threading.Barrier(2, timeout=10)
        self.entered: list[tuple[int, str]] = []
        self.issued: list[str] = []

    def _meet(self, ctx) -> None:
        self.barrier.wait()

    @hookimpl
    def parcours_gate_checks(self):
        return {"test.rendez-vous": self._meet}

    @hookimpl
    def parcours_stage_entered(self, enrollment_id, pathway_id, stage, at):
        self.entered.append((enrollment_id, stage))

    @hookimpl
    def parcours_badge_issued(self, assertion_id, badge_class, recipient_id):
        self.issued.append(badge_class)


@pytest.fixture
def race(sato: Runtime) -> tuple[Runtime, Recorder, int]:
    recorder = Recorder()
    pm = make_plugin_manager()
    pm.register(recorder, "recorder")
    rt = Runtime(sato.engine, pm)
    publish(rt, load_pathway_text(RACE, known_checks=set(rt.gate_checks)), RACE)
    eid = e.enroll(
        rt, "course", "sato-interim", e.Participant("Awa", "Diallo"), by=actor(rt, CIP), now=T0
    )
    return rt, recorder, eid


def _audit(rt: Runtime, eid: int) -> int:
    with rt.unit_of_work() as s:
        return s.execute(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.enrollment_id == eid)
        ).scalar_one()


def test_two_staff_at_once_exactly_one_wins(race) -> None:
    rt, recorder, eid = race

    def fire(trigger: str, by: Actor):
        try:
            return e.advance(rt, eid, trigger, by=by, now=T0)
        except Conflict as exc:
            return exc

    with ThreadPoolExecutor(2) as pool:
        results = list(
            pool.map(fire, ["vers-b", "vers-c"], [actor(rt, CIP), actor(rt, DIRECTRICE)])
        )
    wins = [r for r in results if isinstance(r, e.AdvanceResult)]
    conflicts = [r for r in results if isinstance(r, Conflict)]
    assert len(wins) == 1 and len(conflicts) == 1, results
    assert "quelqu'un d'autre" in str(conflicts[0])
    st = ev.status(rt, eid, by=actor(rt, CIP))
    assert st.stage == wins[0].to_stage and st.revision == 2
    assert _audit(rt, eid) == 2  # enrolled + the one transition
    with rt.unit_of_work() as s:
        assert s.execute(select(func.count()).select_from(Assertion)).scalar_one() == 1
    assert recorder.entered == [(eid, "a"), (eid, wins[0].to_stage)]
    assert recorder.issued == ["sato.ponctualite"]


def test_a_failure_while_issuing_badges_rolls_back_the_stage_and_audit(race, monkeypatch):
    rt, recorder, eid = race
    recorder.barrier = threading.Barrier(1)

    def broken(*args, **kwargs):
        raise RuntimeError("panne au milieu de la transaction")

    monkeypatch.setattr(issuing, "issue_badges", broken)  # every path issues through here
    with pytest.raises(RuntimeError):
        e.advance(rt, eid, "vers-b", by=actor(rt, CIP), now=T0)
    st = ev.status(rt, eid, by=actor(rt, CIP))
    assert (st.stage, st.revision) == ("a", 1)
    assert _audit(rt, eid) == 1
    assert recorder.entered == [(eid, "a")]  # no event announced for what never happened


def test_audit_log_is_append_only(sato: Runtime) -> None:
    eid = e.enroll(
        sato,
        "sato-femmes-metallurgie",
        "sato-interim",
        e.Participant("Awa", "Diallo"),
        by=actor(sato, CIP),
    )
    with pytest.raises(RuntimeError, match="ajout seul"), sato.unit_of_work() as s:
        event = s.execute(select(AuditEvent).where(AuditEvent.enrollment_id == eid)).scalar_one()
        event.note = "réécrit"
    with pytest.raises(RuntimeError, match="ajout seul"), sato.unit_of_work() as s:
        s.delete(s.execute(select(AuditEvent)).scalars().first())
    assert ev.history(sato, eid, by=actor(sato, CIP))[0].note is None


def test_award_is_one_transaction_with_its_audit_event(sato: Runtime, monkeypatch) -> None:
    eid = e.enroll(
        sato,
        "sato-femmes-metallurgie",
        "sato-interim",
        e.Participant("Awa", "Diallo"),
        by=actor(sato, CIP),
    )

    def broken_audit(*args, **kwargs):
        raise RuntimeError("panne")

    monkeypatch.setattr(e, "AuditEvent", broken_audit)
    with pytest.raises(RuntimeError):
        e.award(sato, eid, "sato.jeu-de-piste", by=actor(sato, ENCADRANT))
    with sato.unit_of_work() as s:
        assert s.execute(select(func.count()).select_from(Assertion)).scalar_one() == 0
        assert s.get(Enrollment, eid).revision == 1


def test_a_stage_award_never_duplicates_a_badge_already_held(race) -> None:
    rt, recorder, eid = race
    recorder.barrier = threading.Barrier(1)
    e.award(rt, eid, "sato.ponctualite", by=actor(rt, ENCADRANT), now=T0)
    result = e.advance(rt, eid, "vers-b", by=actor(rt, CIP), now=T0)
    assert result.awarded == []
    with rt.unit_of_work() as s:
        assert s.execute(select(func.count()).select_from(Assertion)).scalar_one() == 1
    assert recorder.issued == ["sato.ponctualite"]
