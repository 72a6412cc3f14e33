"""Time: stage deadlines remind the CIP then the director, each once; the scheduler keeps its
jobs in the database across a restart, and only one scheduler runs per database."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.errors import Conflict
from engine.services import enrollments as e
from engine.services import scheduler
from engine.store.tables import Delivery
from tests.conftest import CIP, DIRECTRICE, T0, actor


def _mail(rt) -> list[Delivery]:
    with rt.unit_of_work() as s:
        return list(s.execute(select(Delivery).order_by(Delivery.id)).scalars())


def test_a_passed_deadline_reminds_the_cip_then_the_director_once_each(sato) -> None:
    eid = e.enroll(
        sato,
        "sato-femmes-metallurgie",
        "sato-interim",
        e.Participant("Awa", "Diallo"),
        by=actor(sato, CIP),
        now=T0,
    )
    assert scheduler.deadlines(sato, now=T0 + timedelta(days=29)) == 0  # 30-day deadline
    scheduler.deadlines(sato, now=T0 + timedelta(days=31))
    scheduler.deadlines(sato, now=T0 + timedelta(days=32))  # again: nothing new
    [cip] = _mail(sato)
    assert cip.target == CIP and cip.payload["subject"].startswith("Échéance dépassée : Awa")
    assert f"/parcours/{eid}" in cip.payload["body"]
    scheduler.deadlines(sato, now=T0 + timedelta(days=38))
    assert [d.target for d in _mail(sato)] == [CIP, DIRECTRICE]
    assert _mail(sato)[1].payload["subject"].startswith("[Relance directeur]")


def test_the_scheduler_keeps_its_jobs_across_a_restart_and_runs_alone(sato) -> None:
    first = scheduler.start(sato, tick=3600)
    planned = {job.id: job.next_run_time for job in first.get_jobs()}
    assert set(planned) == {
        "deadlines",
        "request_reminders",
        "committee_sessions",
        "expiry_notices",
        "outbox",
        "retention",
    }
    with pytest.raises(Conflict, match="un planificateur tourne déjà"):
        scheduler.start(sato)
    first.shutdown()
    scheduler.release(sato, first.parcours_holder)
    time.sleep(1.1)  # a re-added interval job would now get a later next run

    second = scheduler.start(sato, tick=3600)
    try:
        assert {job.id: job.next_run_time for job in second.get_jobs()} == planned
    finally:
        second.shutdown()
        scheduler.release(sato, second.parcours_holder)


def test_a_dead_schedulers_lock_is_taken_over(sato) -> None:
    scheduler.acquire(sato, "ancien", now=T0)
    with pytest.raises(Conflict):
        scheduler.acquire(sato, "nouveau", now=T0 + timedelta(seconds=30))
    scheduler.acquire(sato, "nouveau", now=T0 + scheduler.LOCK_TTL + timedelta(seconds=1))
    assert not scheduler.heartbeat(sato, "ancien") and scheduler.heartbeat(sato, "nouveau")
