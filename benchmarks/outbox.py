"""Outbox figures: deliveries per second to a local webhook receiver (uvicorn on loopback, in
its own process, checking each HMAC signature), with 1 and 2 worker processes, on SQLite and
on PostgreSQL when 127.0.0.1:5432 answers.

    python benchmarks/outbox.py [--deliveries 2000]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import create_engine, func, insert, select, text

ROOT = Path(__file__).resolve().parents[1]
sys.path[0] = str(ROOT)  # not benchmarks/: its transitions.py would shadow the library

from benchmarks import paced  # noqa: E402
from engine.services import access, shares  # noqa: E402
from engine.services.bootstrap import initialise  # noqa: E402
from engine.services.organisations import add_staff, upsert_organisation  # noqa: E402
from engine.services.runtime import Runtime  # noqa: E402
from engine.store.database import make_engine  # noqa: E402
from engine.store.tables import Assertion, BadgeClass, Delivery, Person, Share  # noqa: E402

PG = "postgresql://postgres@127.0.0.1:5432/postgres"
RECEIVER = textwrap.dedent(
    """
    import sys, time
    from fastapi import FastAPI, Request, Response
    from engine import webhooks
    secret = sys.argv[1]
    app = FastAPI()
    taken = set()

    @app.post("/hook")
    async def hook(request: Request) -> Response:
        body = await request.body()
        if webhooks.verify(secret, request.headers, body, time.time()):
            return Response(status_code=401)
        key = request.headers["idempotency-key"]
        if key in taken:
            return Response(status_code=409)
        taken.add(key)
        return Response(status_code=204)

    @app.get("/count")
    def count() -> dict:
        return {"taken": len(taken)}

    import uvicorn
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
    """
)


def _setup(url: str, n: int, hook: str) -> Runtime:
    """n badges shared with the GEIQ and queued for its webhook, written in bulk."""
    rt = Runtime(make_engine(url))
    initialise(rt)
    with rt.unit_of_work() as s:
        upsert_organisation(
            s, "bench-siae", "SIAE de mesure", "structure", structure_kind="ACI", networks=["sato"]
        )
        add_staff(s, "geiq@bench.example", "G", "Mesure", [("geiq-industrie", "partner")])
        person = Person(kind="participant", given_name="P", family_name="Mesure")
        s.add(person)
        s.flush()
        badge = s.execute(
            select(BadgeClass.id).where(BadgeClass.slug == "sato.jeu-de-piste")
        ).scalar_one()
        geiq = s.execute(text("SELECT id FROM organisation WHERE slug='geiq-industrie'")).scalar()
        pid = person.id
    with rt.reading() as c:
        geiq_staff = access.actor_for(c, "geiq@bench.example")
    secret = shares.set_webhook(rt, "geiq-industrie", hook, by=geiq_staff)
    now = datetime.now(UTC)
    ids = [str(uuid.uuid4()) for _ in range(n)]
    with rt.transaction() as conn:
        conn.execute(
            insert(Assertion),
            [
                {
                    "id": i,
                    "badge_class_id": badge,
                    "recipient_id": pid,
                    "issued_on": now,
                    "salt": "s",
                    "evidence": [],
                }
                for i in ids
            ],
        )
        conn.execute(
            insert(Share),
            [
                {"assertion_id": i, "organisation_id": geiq, "reason": "stage", "shared_at": now}
                for i in ids
            ],
        )
        conn.execute(
            insert(Delivery),
            [
                {
                    "key": f"webhook:geiq-industrie:{i}",
                    "channel": "webhook",
                    "target": "geiq-industrie",
                    "payload": {"assertion_id": i},
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
                for i in ids
            ],
        )
    rt.secret = secret  # type: ignore[attr-defined]
    return rt


def run(name: str, url: str, n: int, workers: int) -> None:
    port = paced.port()
    hook = f"http://127.0.0.1:{port}/hook"
    rt = _setup(url, n, hook)
    receiver = subprocess.Popen(
        [sys.executable, "-c", RECEIVER, rt.secret, str(port)],  # type: ignore[attr-defined]
        cwd=ROOT,
    )
    paced.answering(port, receiver, "receiver", 30)
    start = time.perf_counter()
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "engine.cli", "--db", url, "outbox", "work"],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
        )
        for _ in range(workers)
    ]
    try:
        while True:
            with rt.transaction() as conn:
                left = conn.execute(
                    select(func.count()).where(Delivery.status != "sent")
                ).scalar_one()
            if not left:
                break
            time.sleep(0.05)
        elapsed = time.perf_counter() - start
        taken = httpx.get(f"http://127.0.0.1:{port}/count").json()["taken"]
    finally:
        for p in procs:
            p.terminate()
            p.wait()
        receiver.terminate()
        receiver.wait()
    print(
        f"  {name:<14} {workers} worker(s): {n} deliveries in {elapsed:5.1f} s = "
        f"{n / elapsed:6.0f}/s   (receiver took {taken}, duplicates refused by key)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--deliveries", type=int, default=2000)
    args = parser.parse_args()
    # the receiver is on loopback, over plain http: allowed for this process and its workers
    os.environ.update(PARCOURS_ALLOW_HTTP_WEBHOOKS="1", PARCOURS_WEBHOOK_ALLOWED_HOSTS="127.0.0.1")
    print("Signed webhook deliveries to a local receiver (worker start-up included)")
    for workers in (1, 2):
        with tempfile.TemporaryDirectory() as tmp:
            run("SQLite (WAL)", f"sqlite:///{tmp}/bench.sqlite", args.deliveries, workers)
    try:
        socket.create_connection(("127.0.0.1", 5432), timeout=2).close()
    except OSError:
        print("PostgreSQL: no server on 127.0.0.1:5432, skipped")
        return
    for workers in (1, 2):
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(PG)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            url = f"{PG}?options=-csearch_path%3D{schema}"
            run("PostgreSQL", url, args.deliveries, workers)
        finally:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    main()
