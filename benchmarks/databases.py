"""The databases a benchmark runs on: a SQLite file and, when a server answers, a PostgreSQL
database made for the run and dropped after it."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable

from sqlalchemy import create_engine, make_url, text

from engine.store.database import database_url


def postgres_url() -> str | None:
    """`PARCOURS_BENCH_PG_URL`, else the local server if 127.0.0.1:5432 answers, else None."""
    url = os.environ.get("PARCOURS_BENCH_PG_URL")
    if url:
        return url
    try:
        socket.create_connection(("127.0.0.1", 5432), timeout=1).close()
    except OSError:
        return None
    return "postgresql://postgres@127.0.0.1:5432/postgres"


def fresh_pg_database(base: str) -> tuple[str, Callable[[], None]]:
    """A new empty database on `base`'s server: its URL, and what drops it."""
    name = f"parcours_bench_{uuid.uuid4().hex[:8]}"
    server = make_url(database_url(base))
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = server.set(database=name).render_as_string(hide_password=False)

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url, drop
