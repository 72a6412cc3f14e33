"""Requests paced at a fixed rate against a real server: `parcours serve` in its own
processes on loopback, one asyncio client sending each request at its slot. Latency counts
from the slot, so a server that falls behind shows it in p99 (no coordinated omission). Used
by `api.py` (fresh databases) and `scale.py --rate` (the national one)."""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def served(
    url: str, workers: int, env: dict[str, str] | None = None
) -> Iterator[tuple[subprocess.Popen, int]]:
    """`parcours --db URL serve --workers N` on a free port, once it answers; stopped after.
    The server runs in its own processes, as in production: the client here must not share
    its GIL."""
    at = port()
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "parcours"),
            *("--db", url, "serve", "--port", str(at), "--workers", str(workers)),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
    )
    try:
        answering(at, server, "parcours serve", 60)
        yield server, at
    finally:
        server.terminate()
        server.wait(timeout=10)


def port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answering(at: int, process: subprocess.Popen, what: str, seconds: float) -> None:
    """Returns once something listens on 127.0.0.1:`at`; fails when `process` has ended or
    `seconds` have passed."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            socket.create_connection(("127.0.0.1", at), timeout=1).close()
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not start") from None
            time.sleep(0.1)


class Wire:
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


def request(method: str, path: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    if body or method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def paced(
    port: int, requests: list[bytes], rate: float, warm: int
) -> tuple[float, list[float], int, float]:
    """Send each request at its slot (i / rate seconds after start), from one asyncio loop;
    latency from the slot time, so a server that falls behind shows it in p99 (no coordinated
    omission). The first `warm` requests are sent the same way but not counted: they open the
    connections and fill the server's pools and caches, as a running server has them. Also
    returns the client's CPU seconds per request: what the load generator took from the cores
    the server runs on."""
    return asyncio.run(paced_async(port, requests, rate, warm))


async def paced_async(
    port: int, requests: list[bytes], rate: float, warm: int
) -> tuple[float, list[float], int, float]:
    latencies: list[float] = [0.0] * len(requests)
    errors = 0
    wire = Wire(port)
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


def cpu_seconds(names: tuple[str, ...], root: int | None = None) -> float:
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


def measure(
    label: str, server: subprocess.Popen, port: int, requests: list[bytes], rate: float, warm: int
) -> tuple[float, float, float, int, float]:
    """One paced run, then its figures and what each request cost in CPU: in the server's
    processes, in PostgreSQL's and in this client. Returns requests/s, p50 and p99 (ms),
    errors, and the server's and PostgreSQL's CPU ms per request: the cost that stays
    readable when a load near the machine's capacity makes the tail a matter of queueing."""
    before = cpu_seconds((), server.pid), cpu_seconds(("postgres",))
    rps, lat, errors, client = paced(port, requests, rate, warm)
    spent = [
        (now - then) * 1000 / len(requests)
        for now, then in zip(
            (cpu_seconds((), server.pid), cpu_seconds(("postgres",))), before, strict=False
        )
    ]
    q = statistics.quantiles(lat, n=100)
    print(
        f"  {label:<24} {rps:5.0f} req/s  p50 {q[49] * 1000:7.1f} ms  p99 {q[98] * 1000:7.1f} ms"
        f"  errors {errors}  CPU ms/req: server {spent[0]:.2f}, postgres {spent[1]:.2f}, "
        f"client {client * 1000:.2f}"
    )
    return rps, q[49] * 1000, q[98] * 1000, errors, spent[0] + spent[1]
