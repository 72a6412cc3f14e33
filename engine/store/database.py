"""Database engines: SQLite (embedded default, WAL) or PostgreSQL, upgraded by Alembic."""

from __future__ import annotations

import ast
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlmodel import Session

from engine.errors import InvalidInput

DEFAULT_URL = "sqlite:///parcours.sqlite"
MIGRATIONS = Path(__file__).parent / "migrations"


def database_url(url: str | None = None) -> str:
    """`--db` wins, then PARCOURS_DATABASE_URL, then a SQLite file in the working directory.

    A bare path (`--db demo.sqlite`) is taken as a SQLite file.
    """
    url = url or os.environ.get("PARCOURS_DATABASE_URL") or DEFAULT_URL
    if "://" not in url:
        url = f"sqlite:///{url}"
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


POOL_SIZE = 10
"""Connections each process keeps open (`PARCOURS_DB_POOL_SIZE`): a request holds one at a
time and `parcours serve` runs at most this many at once per worker (8 by default), so
requests never open and close connections under load. PostgreSQL's default limit is 100
connections: workers x (this + 4) must stay under it, with room for the scheduler and outbox
workers."""


def env_count(name: str, default: int) -> int:
    """A positive whole number from the environment, or a French error naming the variable."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise InvalidInput(f"{name} : un nombre entier positif est attendu, pas « {raw} »")
    return int(raw)


def pool_size() -> int:
    return env_count("PARCOURS_DB_POOL_SIZE", POOL_SIZE)


PING_AFTER_IDLE = 30.0
"""Seconds a pooled server connection may sit idle before it is checked on checkout."""


def _ping_after_idle(engine: Engine, idle: float) -> None:
    """Check a pooled connection only when it sat idle: a database restart or an idle timeout
    is then met with a fresh connection, and a busy server does not pay a `SELECT 1` round trip
    on every checkout as `pool_pre_ping` would."""

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < idle:
            return
        try:
            cursor = dbapi_connection.cursor()
            cursor.execute("SELECT 1")
            cursor.close()
            dbapi_connection.rollback()
        except engine.dialect.loaded_dbapi.Error as exc:
            raise DisconnectionError("connexion perdue avec la base") from exc


def make_engine(
    url: str | None = None, *, ping_after: float = PING_AFTER_IDLE, **kw: Any
) -> Engine:
    url = database_url(url)
    parsed = make_url(url)
    sqlite = parsed.get_backend_name() == "sqlite"
    if not sqlite or parsed.database not in (None, "", ":memory:"):
        # a server or a SQLite file (where each new connection costs its PRAGMAs); overflow
        # for the scheduler's and the outbox's own work when they run in the same process
        kw.setdefault("pool_size", pool_size())
        kw.setdefault("max_overflow", 4)
        # the connection used last comes back first: SQLite keeps its page cache only while
        # no other connection has written since (a round robin made every transaction
        # re-read it), and a server's idle connections are the ones the pool lets go
        kw.setdefault("pool_use_lifo", True)
    if sqlite:
        engine = create_engine(url, connect_args={"timeout": 5}, **kw)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    engine = create_engine(url, **kw)
    _ping_after_idle(engine, ping_after)
    return engine


def alembic_config(engine: Engine) -> Any:
    from alembic.config import Config  # a third of a read command's start: only to upgrade

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    # configparser treats % as interpolation; URL-encoded passwords and options contain it.
    url = engine.url.render_as_string(hide_password=False).replace("%", "%%")
    cfg.set_main_option("sqlalchemy.url", url)
    return cfg


_REVISION_LINE = re.compile(r"^(revision|down_revision)\b[^=\n]*=\s*(.+)$", re.MULTILINE)


def head_revisions() -> frozenset[str]:
    """The newest migration(s), read from the migration files' headers: knowing a database is
    up to date then costs no Alembic import (a third of a read command's start)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        for key, value in _REVISION_LINE.findall(path.read_text(encoding="utf-8")):
            named = ast.literal_eval(value.strip())
            if key == "revision":
                revisions.add(named)
            elif named:
                parents.update([named] if isinstance(named, str) else named)
    return frozenset(revisions - parents)


def is_current(engine: Engine) -> bool:
    """Whether the database's schema is at the newest revision (False when it has none)."""
    try:
        with engine.connect() as conn:
            stamped = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalars()
            versions = frozenset(stamped)
    except DBAPIError:  # no alembic_version table: an empty or foreign database
        return False
    return bool(versions) and versions == head_revisions()


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision (creating it on an empty database);
    a database already there is left alone without loading Alembic."""
    if is_current(engine):
        return
    from alembic import command

    cfg = alembic_config(engine)
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as connection:
        if sqlite:
            # SQLite changes a constraint by rebuilding the table, which its foreign keys
            # forbid: they are off during the upgrade and checked before it commits
            # (sqlite.org/lang_altertable.html, "other kinds of table schema changes").
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        try:
            with connection.begin():
                cfg.attributes["connection"] = connection
                command.upgrade(cfg, "head")
                if sqlite and connection.exec_driver_sql("PRAGMA foreign_key_check").first():
                    raise RuntimeError("mise à jour du schéma : clés étrangères incohérentes")
        finally:
            if sqlite:
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()


@contextmanager
def unit_of_work(engine: Engine) -> Iterator[Session]:
    """One transaction: committed whole on success, rolled back whole on any error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
