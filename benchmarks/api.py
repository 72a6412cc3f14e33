"""HTTP figures: uvicorn on loopback, requests paced at a target rate (default 200/s) from
client threads, for "advance" (POST /api/v1/enrollments/{id}/advance, API token) and for the
public badge page GET. Prints achieved requests/s and p50/p99 latency, on SQLite and on
PostgreSQL when 127.0.0.1:5432 answers.

    python benchmarks/api.py [--rate 200] [--requests 2000] [--workers 1]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
sys.path[0] = str(ROOT)  # not benchmarks/: its transitions.py would shadow the library

from engine.services import accounts, badges  # noqa: E402
from engine.services import enrollments as e  # noqa: E402
from engine.services.bootstrap import initialise  # noqa: E402
from engine.services.organisations import add_staff, upsert_organisation  # noqa: E402
from engine.services.runtime import Runtime  # noqa: E402
from engine.store.database import make_engine  # noqa: E402

PG = "postgresql://postgres@127.0.0.1:5432/postgres"
CIP = "cip@bench.example"
WORKFLOWS = ROOT / "tests" / "data" / "workflows"  # atelier-decouverte: "demarrer" needs a CIP
PAGES = 200


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _setup(url: str, n: int) -> tuple[Runtime, list[int], str, list[str]]:
    rt = Runtime(make_engine(url), workflows=WORKFLOWS)
    initialise(rt)
    with rt.unit_of_work() as s:
        upsert_organisation(
            s, "bench-siae", "SIAE de mesure", "structure", structure_kind="ACI", networks=["sato"]
        )
        add_staff(s, CIP, "Claire", "Mesure", [("bench-siae", "cip")])
    ids = [
        e.enroll(rt, "atelier-decouverte", "bench-siae", e.Participant("P", str(i)), by=CIP)
        for i in range(n)
    ]
    token = accounts.create_api_token(rt, CIP, "mesure")
    # the public page is read across many badges, not one (each has its own QR code)
    shown = ids[-PAGES:]
    for i in shown:
        e.advance(rt, i, "demarrer", by=CIP)
    assertions = [badges.badges_of(rt, i)[0][0] for i in shown]
    return rt, ids[:-PAGES], token, assertions


def _paced(urls_calls, rate: float) -> tuple[float, list[float], int]:
    """Send each call at its slot (i / rate seconds after start); latency from the slot time,
    so a server that falls behind shows it in p99 (no coordinated omission)."""
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    client = httpx.Client(timeout=30, limits=httpx.Limits(max_connections=64))
    start = time.perf_counter() + 0.2

    def one(i: int, call) -> None:
        nonlocal errors
        slot = start + i / rate
        delay = slot - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        try:
            failed = call(client).status_code >= 400
        except httpx.TransportError:  # an overloaded server may drop a connection
            failed = True
        done = time.perf_counter()
        with lock:
            latencies.append(done - slot)
            errors += failed

    with ThreadPoolExecutor(max_workers=64) as pool:
        list(pool.map(lambda args: one(*args), enumerate(urls_calls)))
    elapsed = time.perf_counter() - start
    client.close()
    return len(urls_calls) / elapsed, latencies, errors


def _report(label: str, rps: float, lat: list[float], errors: int) -> None:
    q = statistics.quantiles(lat, n=100)
    print(
        f"  {label:<22} {rps:8.0f} req/s   p50 {q[49] * 1000:6.1f} ms   "
        f"p99 {q[98] * 1000:6.1f} ms   errors {errors}"
    )


def run(name: str, url: str, rate: float, n: int, workers: int) -> None:
    _, ids, token, assertions = _setup(url, n + PAGES)
    port = _port()
    base = f"http://127.0.0.1:{port}"
    # the server in its own process, as `parcours serve` runs it: client threads here must not
    # share its GIL
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "parcours"),
            *("--db", url, "serve", "--port", str(port), "--workers", str(workers)),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PARCOURS_WORKFLOWS": str(WORKFLOWS)},
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError("parcours serve did not start") from None
            time.sleep(0.1)
    headers = {"Authorization": f"Bearer {token}"}
    print(
        f"{name}, {workers} worker(s): {len(ids)} requests each, public page over "
        f"{len(assertions)} badges, target {rate:.0f} req/s"
    )
    advance = [
        (
            lambda c, i=i: c.post(
                f"{base}/api/v1/enrollments/{i}/advance",
                json={"trigger": "demarrer"},
                headers=headers,
            )
        )
        for i in ids
    ]
    _report("advance (POST)", *_paced(advance, rate))
    page = [
        (lambda c, a=assertions[i % len(assertions)]: c.get(f"{base}/badges/{a}"))
        for i in range(len(ids))
    ]
    _report("public badge page (GET)", *_paced(page, rate))
    server.terminate()
    server.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=1, help="parcours serve --workers")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run("SQLite (WAL)", f"sqlite:///{tmp}/bench.sqlite", args.rate, args.requests, args.workers)
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
        run("PostgreSQL", pg, args.rate, args.requests, args.workers)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


if __name__ == "__main__":
    main()
