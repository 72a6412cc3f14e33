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
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
sys.path[0] = str(ROOT)  # not benchmarks/: its transitions.py would shadow the library

from benchmarks import machine  # noqa: E402
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


class _Wire:
    """A lean HTTP/1.1 keep-alive client on asyncio streams. httpx's AsyncClient took 2 to 9 ms
    of CPU per request here once many were in flight: more than the server, on the same two
    cores. Requests are bytes made in advance; responses are read by Content-Length (or
    chunks) and only their status is kept."""

    def __init__(self, port: int, size: int = 64) -> None:
        self.port = port
        self.idle: asyncio.Queue = asyncio.Queue()
        self.made = 0
        self.size = size

    async def _connection(self):
        if self.idle.empty() and self.made < self.size:
            self.made += 1
            return await asyncio.open_connection("127.0.0.1", self.port)
        return await self.idle.get()

    async def send(self, request: bytes) -> int:
        reader, writer = await self._connection()
        try:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            headers = head.lower()
            if b"transfer-encoding: chunked" in headers:
                while size := int((await reader.readline()).strip(), 16):
                    await reader.readexactly(size + 2)
                await reader.readline()
            else:
                at = headers.index(b"content-length:") + 15
                await reader.readexactly(int(headers[at : headers.index(b"\r\n", at)]))
        except BaseException:
            writer.close()
            self.made -= 1
            raise
        self.idle.put_nowait((reader, writer))
        return status


def _request(method: str, path: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    if body or method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def _paced(
    port: int, requests: list[bytes], rate: float, warm: int
) -> tuple[float, list[float], int, float]:
    """Send each request at its slot (i / rate seconds after start), from one asyncio loop;
    latency from the slot time, so a server that falls behind shows it in p99 (no coordinated
    omission). The first `warm` requests are sent the same way but not counted: they open the
    connections and fill the server's pools and caches, as a running server has them. Also
    returns the client's CPU seconds per request: what the load generator took from the cores
    the server runs on."""
    return asyncio.run(_paced_async(port, requests, rate, warm))


async def _paced_async(
    port: int, requests: list[bytes], rate: float, warm: int
) -> tuple[float, list[float], int, float]:
    latencies: list[float] = [0.0] * len(requests)
    errors = 0
    wire = _Wire(port)
    cpu = time.process_time()
    start = time.perf_counter() + 0.2

    async def one(i: int, request: bytes) -> None:
        nonlocal errors
        slot = start + i / rate
        await asyncio.sleep(max(0.0, slot - time.perf_counter()))
        try:
            failed = await asyncio.wait_for(wire.send(request), 30) >= 400
        except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError):
            failed = True  # an overloaded server may drop a connection
        latencies[i] = time.perf_counter() - slot
        errors += failed and i >= warm

    await asyncio.gather(*(one(i, r) for i, r in enumerate(requests)))
    elapsed = time.perf_counter() - (start + warm / rate)
    cpu = (time.process_time() - cpu) / len(requests)
    return (len(requests) - warm) / elapsed, latencies[warm:], errors, cpu


def _cpu_seconds(names: tuple[str, ...], root: int | None = None) -> float:
    """CPU seconds used so far by the processes named `names` or descended from `root`, read
    from /proc (0 where there is none): what the server and the database cost per request."""
    ticks = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    used: dict[int, float] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text_ = stat.read_text()
        except OSError:
            continue
        name = text_[text_.index("(") + 1 : text_.rindex(")")]
        fields = text_[text_.rindex(")") + 2 :].split()
        pid = int(stat.parent.name)
        parents[pid] = int(fields[1])
        if name in names or root is not None:
            used[pid] = (int(fields[11]) + int(fields[12])) / ticks
    if root is None:
        return sum(used.values())

    def under(pid: int) -> bool:
        while pid > 1:
            if pid == root:
                return True
            pid = parents.get(pid, 0)
        return False

    return sum(cpu for pid, cpu in used.items() if under(pid))


def _measure(
    label: str, server: subprocess.Popen, port: int, requests: list[bytes], rate: float, warm: int
) -> None:
    """One paced run, then its figures and what each request cost in CPU: in the server's
    processes, in PostgreSQL's and in this client."""
    before = _cpu_seconds((), server.pid), _cpu_seconds(("postgres",))
    rps, lat, errors, client = _paced(port, requests, rate, warm)
    spent = [
        (now - then) * 1000 / len(requests)
        for now, then in zip(
            (_cpu_seconds((), server.pid), _cpu_seconds(("postgres",))), before, strict=False
        )
    ]
    q = statistics.quantiles(lat, n=100)
    print(
        f"  {label:<24} {rps:5.0f} req/s  p50 {q[49] * 1000:7.1f} ms  p99 {q[98] * 1000:7.1f} ms"
        f"  errors {errors}  CPU ms/req: server {spent[0]:.2f}, postgres {spent[1]:.2f}, "
        f"client {client * 1000:.2f}"
    )


def run(name: str, url: str, rate: float, n: int, warm: int, workers: int) -> None:
    _, ids, token, assertions = _setup(url, n + warm + PAGES)
    port = _port()
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
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    print(
        f"{name}, {workers} worker(s): {n} requests each after {warm} not counted, public "
        f"page over {len(assertions)} badges, target {rate:.0f} req/s"
    )
    body = json.dumps({"trigger": "demarrer"}).encode()
    advance = [_request("POST", f"/api/v1/enrollments/{i}/advance", headers, body) for i in ids]
    _measure("advance (POST)", server, port, advance, rate, warm)
    page = [_request("GET", f"/badges/{assertions[i % len(assertions)]}", {}) for i in ids]
    _measure("public badge page (GET)", server, port, page, rate, warm)
    # what staff read most: where an enrollment stands and what each next step still needs
    status = [_request("GET", f"/api/v1/enrollments/{i}", headers) for i in ids]
    _measure("enrollment status (GET)", server, port, status, rate, warm)
    server.terminate()
    server.wait(timeout=10)


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
