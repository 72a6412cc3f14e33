"""Committed transitions per second, against the floor of the same rows written bare.

    python benchmarks/transitions.py [--enrollments 10000] [--load 100000] [--only sqlite]

Prints, for N enrollments advanced through 4 stages (3 transitions each, each issuing a badge
and checking a badge gate and a role): committed transitions/s on a SQLite file (WAL) and, when
127.0.0.1:5432 answers (or PARCOURS_BENCH_PG_URL is set), on PostgreSQL; the ratio to the
three rows a transition writes (stage, badge, audit) done bare with SQLAlchemy Core on a held
connection, measured in turns with the transitions so that both see the same machine (the
target: at most 1.5x); the ratio to a bare insert-and-commit of one audit row; then the
seconds and peak Python memory to load the state of 100,000 enrollments.
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file is named like the `transitions` package it benchmarks: run as a script, its own
# folder would shadow the package, so the repository takes its place on the import path.
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path[0] = str(Path(__file__).resolve().parents[1])  # the repository instead

import argparse
import tempfile
import time
import tracemalloc
import uuid
from datetime import UTC, datetime

from sqlalchemy import bindparam, insert, select, text

from benchmarks import machine
from benchmarks.databases import fresh_pg_database, postgres_url
from engine.pathways import load_pathway_text
from engine.services import access
from engine.services import enrollment_views as ev
from engine.services import enrollments as e
from engine.services.bootstrap import initialise
from engine.services.organisations import add_staff, upsert_organisation
from engine.services.pathways import publish
from engine.services.runtime import Runtime
from engine.store.database import make_engine
from engine.store.tables import Assertion, AuditEvent, Enrollment, Person

PATHWAY = """\
id: bench
version: 1
network: sato
title: Banc d'essai
initial: s1
stages:
  - {id: s1, title: Un, awards: {on_complete: [sato.ponctualite]}}
  - {id: s2, title: Deux, awards: {on_complete: [sato.travail-equipe]}}
  - {id: s3, title: Trois, awards: {on_complete: [sato.consignes]}}
  - {id: s4, title: Quatre, final: true}
transitions:
  - {trigger: t1, source: s1, dest: s2, title: T1, gate: {roles: [cip]}}
  - {trigger: t2, source: s2, dest: s3, title: T2,
     gate: {roles: [cip], badges: [sato.ponctualite], min_days: 0}}
  - {trigger: t3, source: s3, dest: s4, title: T3,
     gate: {roles: [cip], badges: [sato.travail-equipe]}}
"""
CIP = "cip@bench.example"
NOW = datetime(2026, 6, 1, tzinfo=UTC)


def prepare(url: str, enrollments: int) -> tuple[Runtime, list[int]]:
    rt = Runtime(make_engine(url))
    initialise(rt)
    publish(rt, load_pathway_text(PATHWAY), PATHWAY)
    with rt.unit_of_work() as s:
        org = upsert_organisation(
            s, "bench-siae", "SIAE de banc", "structure", structure_kind="ACI", networks=["sato"]
        )
        add_staff(s, CIP, "Camille", "Banc", [("bench-siae", "cip")])
        version_id = s.execute(
            text("SELECT id FROM pathwayversion WHERE pathway_id='bench'")
        ).scalar()
        people = [
            {
                "kind": "participant",
                "given_name": "P",
                "family_name": str(i),
                "structure_id": org.id,
                "created_at": NOW,
            }
            for i in range(enrollments)
        ]
        ids = s.execute(insert(Person).returning(Person.id), people).scalars().all()
        rows = [
            {
                "participant_id": pid,
                "structure_id": org.id,
                "pathway_version_id": version_id,
                "stage": "s1",
                "status": "active",
                "revision": 1,
                "started_at": NOW,
                "stage_entered_at": NOW,
            }
            for pid in ids
        ]
        eids = s.execute(insert(Enrollment).returning(Enrollment.id), rows).scalars().all()
    return rt, list(eids)


CHUNK = 100
"""Transitions timed, then as many bare writes, in turn: both see the same machine."""


def bench_interleaved(rt: Runtime, eids: list[int], bare_eids: list[int]) -> tuple[float, float]:
    """All enrollments through t1, then t2, then t3, and the same number of bare writes
    (`bare_writes`, on `bare_eids`, enrollments of their own), taken in turns of CHUNK: a
    machine shared with other work slows both alike, so their ratio holds from run to run
    where two rates measured a minute apart do not. Returns (transitions/s, bare writes/s)."""
    with rt.reading() as c:
        cip = access.actor_for(c, CIP)  # as a request resolves its caller, before the service
    bare = BareWrites(rt.engine.url.render_as_string(hide_password=False)) if bare_eids else None
    spent = spent_bare = 0.0
    done = done_bare = 0
    for trigger in ("t1", "t2", "t3"):
        for i in range(0, len(eids), CHUNK):
            start = time.perf_counter()
            for eid in eids[i : i + CHUNK]:
                e.advance(rt, eid, trigger, by=cip, now=NOW)
            spent += time.perf_counter() - start
            done += len(eids[i : i + CHUNK])
            if bare is not None:
                chunk = bare_eids[i % len(bare_eids) :][:CHUNK]
                spent_bare += bare.run(chunk)
                done_bare += len(chunk)
    if bare is not None:
        bare.close()
    return done / spent, (done_bare / spent_bare if spent_bare else 0.0)


def bench_floor(url: str, n: int, *, pooled: bool) -> float:
    """A bare Core insert of one audit row and a commit, n times: what any transition costs.
    `pooled`: each in its own `engine.begin()` (how a request gets its transaction, and how
    `advance` gets one); otherwise all on one held connection (the strictest floor)."""
    engine = make_engine(url)
    table = AuditEvent.__table__
    row = {"at": NOW, "kind": "floor", "trigger": "t"}
    start = time.perf_counter()
    if pooled:
        for _ in range(n):
            with engine.begin() as conn:
                conn.execute(insert(table), row)
    else:
        with engine.connect() as conn:
            for _ in range(n):
                with conn.begin():
                    conn.execute(insert(table), row)
    rate = n / (time.perf_counter() - start)
    engine.dispose()
    return rate


class BareWrites:
    """What a transition must write, done bare: the stage update, one badge and one audit row
    in one transaction, on a held connection. Separates the cost of the writes from Parcours'
    own reads and logic. Each write moves its enrollment to another stage (s1 and s2 in turn)
    with its next revision, as a transition does: rewriting a row with the values it holds
    would spare the database the index entries a real move rewrites (SQLite skips them,
    PostgreSQL makes it a HOT update), a floor lower than any transition's. Times are `NOW`,
    as the timed transitions'."""

    def __init__(self, url: str):
        self.engine = make_engine(url)
        enrollment = Enrollment.__table__
        self.update_stage = (
            enrollment.update()
            .where(enrollment.c.id == bindparam("eid"), enrollment.c.revision == bindparam("rev"))
            .values(
                stage=bindparam("dest"),
                revision=bindparam("new_rev"),
                stage_entered_at=bindparam("at"),
            )
        )
        self.state: dict[int, tuple[str, int]] = {}
        """Each enrollment's stage and revision as the last write left them."""
        self.conn = self.engine.connect()
        self.badge_class = self.conn.execute(text("SELECT id FROM badgeclass LIMIT 1")).scalar()
        self.conn.rollback()  # end the read's implicit transaction before timing

    def run(self, eids: list[int]) -> float:
        """Seconds to write the rows of one transition for each enrollment (from stage s1,
        revision 1, as `prepare` leaves them, the first time)."""
        conn = self.conn
        pids = dict(
            conn.execute(
                select(Enrollment.id, Enrollment.participant_id).where(Enrollment.id.in_(eids))
            ).all()
        )
        conn.rollback()
        start = time.perf_counter()
        for eid in eids:
            stage, rev = self.state.get(eid, ("s1", 1))
            dest = "s2" if stage == "s1" else "s1"
            at = NOW
            with conn.begin():
                moved = conn.execute(
                    self.update_stage,
                    {"eid": eid, "rev": rev, "dest": dest, "new_rev": rev + 1, "at": at},
                )
                assert moved.rowcount == 1, eid  # a missed guard would write nothing
                conn.execute(
                    insert(Assertion.__table__),
                    {
                        "id": str(uuid.uuid4()),
                        "badge_class_id": self.badge_class,
                        "recipient_id": pids[eid],
                        "enrollment_id": eid,
                        "issued_on": at,
                        "salt": "0" * 32,
                        "evidence": [],
                    },
                )
                conn.execute(
                    insert(AuditEvent.__table__),
                    {
                        "enrollment_id": eid,
                        "at": at,
                        "kind": "bench",
                        "trigger": "t",
                        "from_stage": stage,
                        "to_stage": dest,
                        "details": {"gate": []},
                    },
                )
            self.state[eid] = (dest, rev + 1)
        return time.perf_counter() - start

    def close(self) -> None:
        self.conn.close()
        self.engine.dispose()


def bench_load(rt: Runtime, eids_needed: int) -> tuple[float, float, int]:
    have = len(ev.states(rt, active_only=False))
    if have < eids_needed:
        prepare_more(rt, eids_needed - have)
    # Time without tracemalloc (it slows allocation several-fold), then measure memory apart.
    timings = []
    for _ in range(3):
        start = time.perf_counter()
        loaded = ev.states(rt, active_only=False)
        timings.append(time.perf_counter() - start)
    del loaded
    tracemalloc.start()
    loaded = ev.states(rt, active_only=False)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return min(timings), peak / 2**20, len(loaded)


def prepare_more(rt: Runtime, n: int) -> None:
    with rt.unit_of_work() as s:
        version_id, org_id, pid = s.execute(
            text("SELECT pathway_version_id, structure_id, participant_id FROM enrollment LIMIT 1")
        ).one()
        rows = [
            {
                "participant_id": pid,
                "structure_id": org_id,
                "pathway_version_id": version_id,
                "stage": "s2",
                "status": "active",
                "revision": 1,
                "started_at": NOW,
                "stage_entered_at": NOW,
            }
            for _ in range(n)
        ]
        for i in range(0, n, 20_000):
            s.execute(insert(Enrollment), rows[i : i + 20_000])


def run(label: str, url: str, n: int, load: int) -> None:
    rt, eids = prepare(url, 2 * n)
    rate, writes = bench_interleaved(rt, eids[:n], eids[n:])
    held = bench_floor(url, 3 * n, pooled=False)
    pooled = bench_floor(url, 3 * n, pooled=True)
    print(f"{label:<11} Parcours transitions committed/s                {rate:8.0f}")
    print(
        f"{label:<11} floor: 1 audit insert+commit, held connection/s {held:8.0f}"
        f"   ratio {held / rate:4.2f}x  (target <= 3x)"
    )
    print(
        f"{label:<11} floor: 1 audit insert+commit, engine.begin()/s  {pooled:8.0f}"
        f"   ratio {pooled / rate:4.2f}x  (target <= 3x)"
    )
    print(
        f"{label:<11} the 3 rows a transition writes, done bare/s     {writes:8.0f}"
        f"   ratio {writes / rate:4.2f}x  (target <= 1.5x; taken in turns with the above)"
    )
    seconds, peak_mib, count = bench_load(rt, load)
    print(
        f"{label:<11} load state of {count} enrollments: {seconds:.2f} s, "
        f"peak {peak_mib:.0f} MiB  (target < 2 s)"
    )
    rt.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--enrollments", type=int, default=10_000)
    parser.add_argument("--load", type=int, default=100_000)
    parser.add_argument(
        "--only", choices=["sqlite", "postgresql"], help="run on one database, not both"
    )
    args = parser.parse_args()
    print(machine.said())
    print(f"{args.enrollments} enrollments x 3 transitions (4 stages), one process")
    if args.only != "postgresql":
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{Path(tmp) / 'bench.sqlite'}"
            run("SQLite WAL", url, args.enrollments, args.load)
    if args.only == "sqlite":
        return
    pg = postgres_url()
    if pg is None:
        print("PostgreSQL  not reachable on 127.0.0.1:5432: skipped")
        return
    url, drop = fresh_pg_database(pg)
    try:
        run("PostgreSQL", url, args.enrollments, args.load)
    finally:
        drop()


if __name__ == "__main__":
    main()
