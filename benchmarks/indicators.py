"""How long a network's indicators take to compute, on a network of realistic size.

    python benchmarks/indicators.py [--enrollments 10000] [--structures 50] [--runs 5]

Builds a network of N structures with E enrollments spread over eighteen months on a
four-stage pathway: participants and their entries are written in bulk, then the steps are
taken through the real service (`enrollments.advance`, which issues each stage's badge and
records each exit): about two thirds leave the first stage, half reach the third, a third
exit with an outcome, a tenth leave early; 20 % of the people have a badge request (decided
or waiting). Then times `indicators.compute` for the network's admin over the last twelve
months (every table: entries, people by stage, exits, durations, funnel, badges, requests,
committees, with small counts hidden), after ANALYZE (as autovacuum leaves a live database),
on a SQLite file (WAL) and, when 127.0.0.1:5432
answers (or PARCOURS_BENCH_PG_URL is set), on PostgreSQL. Prints the best and the median of
`--runs` runs.
"""

from __future__ import annotations

import sys
from pathlib import Path

# benchmarks/transitions.py would shadow the `transitions` package: the repository replaces
# this folder on the import path.
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path[0] = str(Path(__file__).resolve().parents[1])  # the repository instead

import argparse
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import insert, select, text

from benchmarks.databases import fresh_pg_database, postgres_url
from engine import exits
from engine.exits import Exit
from engine.pathways import load_pathway_text
from engine.services import access, indicators
from engine.services import enrollments as e
from engine.services.bootstrap import initialise
from engine.services.organisations import add_staff, upsert_organisation
from engine.services.pathways import publish
from engine.services.runtime import Runtime
from engine.store.database import make_engine
from engine.store.tables import AuditEvent, BadgeClass, BadgeRequest, Enrollment, Person

PATHWAY = """\
id: bench-indicateurs
version: 1
network: sato
title: Banc d'essai des indicateurs
initial: s1
stages:
  - {id: s1, title: Accueil, awards: {on_complete: [sato.ponctualite]}}
  - {id: s2, title: Immersion, awards: {on_complete: [sato.travail-equipe]}}
  - {id: s3, title: Mission, awards: {on_complete: [sato.consignes]}}
  - {id: s4, title: Sortie, final: true}
  - {id: s5, title: Sortie anticipée, final: true}
transitions:
  - {trigger: t1, source: s1, dest: s2, title: T1, gate: {roles: [cip]}}
  - {trigger: t2, source: s2, dest: s3, title: T2, gate: {roles: [cip]}}
  - {trigger: t3, source: s3, dest: s4, title: T3, gate: {roles: [cip]}}
  - {trigger: stop, source: [s1, s2, s3], dest: s5, title: Arrêt, completes: false,
     gate: {roles: [cip]}}
"""
CIP = "cip@bench.example"
ADMIN = "admin@bench.example"
TODAY = date(2026, 6, 30)
FIRST = datetime(2025, 1, 1, 9, tzinfo=UTC)
CODES = list(exits.OUTCOMES)


def prepare(url: str, enrollments: int, structures: int) -> Runtime:
    rt = Runtime(make_engine(url))
    initialise(rt)
    publish(rt, load_pathway_text(PATHWAY), PATHWAY)
    slugs = [f"siae-{i:03d}" for i in range(structures)]
    with rt.unit_of_work() as s:
        ids = [
            upsert_organisation(
                s, slug, f"SIAE {slug}", "structure", structure_kind="ACI", networks=["sato"]
            ).id
            for slug in slugs
        ]
        add_staff(s, CIP, "Camille", "Banc", [(slug, "cip") for slug in slugs])
        add_staff(s, ADMIN, "Alex", "Réseau", [("sato", "network_admin")])
        version_id = s.execute(
            text("SELECT id FROM pathwayversion WHERE pathway_id='bench-indicateurs'")
        ).scalar()
        starts = [FIRST + timedelta(days=(i * 547) // enrollments) for i in range(enrollments)]
        people = [
            {
                "kind": "participant",
                "given_name": "P",
                "family_name": str(i),
                "structure_id": ids[i % structures],
                "created_at": starts[i],
            }
            for i in range(enrollments)
        ]
        pids = s.execute(insert(Person).returning(Person.id), people).scalars().all()
        rows = [
            {
                "participant_id": pid,
                "structure_id": ids[i % structures],
                "pathway_version_id": version_id,
                "stage": "s1",
                "status": "active",
                "revision": 1,
                "started_at": starts[i],
                "stage_entered_at": starts[i],
            }
            for i, pid in enumerate(pids)
        ]
        eids = s.execute(insert(Enrollment).returning(Enrollment.id), rows).scalars().all()
        s.execute(
            insert(AuditEvent),
            [
                {"enrollment_id": eid, "at": starts[i], "kind": "enrolled", "to_stage": "s1"}
                for i, eid in enumerate(eids)
            ],
        )
        badge = s.execute(
            select(BadgeClass.id).where(BadgeClass.slug == "sato.geste-professionnel")
        ).scalar()
        requests = []
        for i in range(0, enrollments, 5):
            submitted = starts[i] + timedelta(days=3 + i % 20)
            decided = submitted + timedelta(days=1 + i % 30) if i % 3 else None
            requests.append(
                {
                    "badge_class_id": badge,
                    "participant_id": pids[i],
                    "structure_id": ids[i % structures],
                    "enrollment_id": eids[i],
                    "origin": "suivi",
                    "mode": "staff",
                    "status": ("approved" if i % 2 else "rejected") if decided else "pending",
                    "submitted_at": submitted,
                    "decided_at": decided,
                }
            )
        s.execute(insert(BadgeRequest), requests)
    with rt.reading() as c:
        cip = access.actor_for(c, CIP)
    steps = 0
    began = time.perf_counter()
    for i, eid in enumerate(eids):
        at = starts[i]
        now = datetime.now(UTC)
        if i % 10 == 9:
            e.advance(rt, eid, "stop", by=cip, now=min(now, at + timedelta(days=20)))
            steps += 1
            continue
        for k, trigger in enumerate(("t1", "t2", "t3")):
            if (i % 6) < (2, 3, 4)[k]:  # 4/6 leave s1, 3/6 reach s3, 2/6 exit
                break
            at += timedelta(days=10 + (i * 7 + k * 13) % 50)
            if at > now:
                break
            code = CODES[i % len(CODES)] if trigger == "t3" else None
            exit = Exit(code, on=at.date()) if code else None
            e.advance(rt, eid, trigger, by=cip, now=at, exit=exit)
            steps += 1
    took = time.perf_counter() - began
    print(f"  (data: {enrollments} entries, {steps} steps through the service in {took:.0f} s)")
    # a live database has its planner statistics (autovacuum); a bulk-loaded one not yet
    with rt.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
    return rt


def bench(rt: Runtime, runs: int) -> tuple[float, float, str]:
    with rt.reading() as c:
        admin = access.actor_for(c, ADMIN)
    period = indicators.Period.parse(None, None, today=TODAY)
    subject = indicators.Subject("network", "sato")
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        found = indicators.compute(rt, admin, subject, period)
        times.append(time.perf_counter() - start)
    headline = ", ".join(f"{k} {v}" for k, v in found.headline)
    return min(times), statistics.median(times), headline


def run(label: str, url: str, args: argparse.Namespace) -> None:
    rt = prepare(url, args.enrollments, args.structures)
    best, median, headline = bench(rt, args.runs)
    print(
        f"{label:<11} a network's indicators ({args.structures} structures, "
        f"{args.enrollments} enrollments, 12 months): best {best * 1000:.0f} ms, "
        f"median {median * 1000:.0f} ms"
    )
    print(f"{label:<11} {headline}")
    rt.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--enrollments", type=int, default=10_000)
    parser.add_argument("--structures", type=int, default=50)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run("SQLite WAL", f"sqlite:///{Path(tmp) / 'bench.sqlite'}", args)
    pg = postgres_url()
    if pg is None:
        print("PostgreSQL  not reachable on 127.0.0.1:5432: skipped")
        return
    url, drop = fresh_pg_database(pg)
    try:
        run("PostgreSQL", url, args)
    finally:
        drop()


if __name__ == "__main__":
    main()
