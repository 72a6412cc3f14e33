"""HTTP figures: uvicorn on loopback, requests paced at a target rate (default 200/s) from
one asyncio client, for "advance" (POST /api/v1/enrollments/{id}/advance, API token), for the
public badge page GET and for an enrollment's status (GET, API token). Prints achieved
requests/s and p50/p99 latency, on SQLite and on PostgreSQL when 127.0.0.1:5432 answers, after
a warm-up that is not counted.

    python benchmarks/api.py [--rate 200] [--requests 2000] [--warmup 400] [--workers 2]
        [--threads 8] [--db sqlite|postgresql|both]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import tempfile
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
sys.path[0] = str(ROOT)  # not benchmarks/: its transitions.py would shadow the library

from benchmarks import machine, paced  # noqa: E402
from engine.services import access, accounts, badges  # noqa: E402
from engine.services import enrollments as e  # noqa: E402
from engine.services.bootstrap import initialise  # noqa: E402
from engine.services.organisations import add_staff, upsert_organisation  # noqa: E402
from engine.services.runtime import Runtime  # noqa: E402
from engine.store.database import make_engine  # noqa: E402

PG = "postgresql://postgres@127.0.0.1:5432/postgres"
CIP = "cip@bench.example"
WORKFLOWS = ROOT / "tests" / "data" / "workflows"  # atelier-decouverte: "demarrer" needs a CIP
PAGES = 200


def _setup(url: str, n: int) -> tuple[Runtime, list[int], str, list[str]]:
    rt = Runtime(make_engine(url), workflows=WORKFLOWS)
    initialise(rt)
    with rt.unit_of_work() as s:
        upsert_organisation(
            s, "bench-siae", "SIAE de mesure", "structure", structure_kind="ACI", networks=["sato"]
        )
        add_staff(s, CIP, "Claire", "Mesure", [("bench-siae", "cip")])
    with rt.reading() as c:
        cip = access.actor_for(c, CIP)
    ids = [
        e.enroll(rt, "atelier-decouverte", "bench-siae", e.Participant("P", str(i)), by=cip)
        for i in range(n)
    ]
    token = accounts.create_api_token(rt, CIP, "mesure")
    # the public page is read across many badges, not one (each has its own QR code)
    shown = ids[-PAGES:]
    for i in shown:
        e.advance(rt, i, "demarrer", by=cip)
    assertions = [badges.badges_of(rt, i, by=cip)[0][0] for i in shown]
    if rt.engine.dialect.name == "postgresql":
        # A live database has statistics (autovacuum gathers them about a minute after a bulk
        # load): without them the plans are not the ones users get, and the autovacuum
        # starting mid-run made runs disagree.
        with rt.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
    return rt, ids[:-PAGES], token, assertions


def run(name: str, url: str, rate: float, n: int, warm: int, workers: int) -> None:
    _, ids, token, assertions = _setup(url, n + warm + PAGES)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    with paced.served(url, workers, {"PARCOURS_WORKFLOWS": str(WORKFLOWS)}) as (server, port):
        print(
            f"{name}, {workers} worker(s): {n} requests each after {warm} not counted, public "
            f"page over {len(assertions)} badges, target {rate:.0f} req/s"
        )
        body = json.dumps({"trigger": "demarrer"}).encode()
        advance = [
            paced.request("POST", f"/api/v1/enrollments/{i}/advance", headers, body) for i in ids
        ]
        paced.measure("advance (POST)", server, port, advance, rate, warm)
        page = [paced.request("GET", f"/badges/{assertions[i % len(assertions)]}", {}) for i in ids]
        paced.measure("public badge page (GET)", server, port, page, rate, warm)
        # what staff read most: where an enrollment stands and what each next step still needs
        status = [paced.request("GET", f"/api/v1/enrollments/{i}", headers) for i in ids]
        paced.measure("enrollment status (GET)", server, port, status, rate, warm)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=400, help="requests sent, not counted")
    parser.add_argument(
        "--workers", type=int, default=2, help="parcours serve --workers (one per core)"
    )
    parser.add_argument("--threads", type=int, default=None, help="parcours serve --threads")
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    if args.threads:
        os.environ["PARCOURS_SERVE_THREADS"] = str(args.threads)
    print(machine.said())
    if args.db != "postgresql":
        with tempfile.TemporaryDirectory() as tmp:
            run(
                "SQLite (WAL)",
                f"sqlite:///{tmp}/bench.sqlite",
                args.rate,
                args.requests,
                args.warmup,
                args.workers,
            )
    if args.db == "sqlite":
        return
    try:
        socket.create_connection(("127.0.0.1", 5432), timeout=2).close()
    except OSError:
        print("PostgreSQL: no server on 127.0.0.1:5432, skipped")
        return
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        pg = f"{PG}?options=-csearch_path%3D{schema}"
        run("PostgreSQL", pg, args.rate, args.requests, args.warmup, args.workers)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


if __name__ == "__main__":
    main()
