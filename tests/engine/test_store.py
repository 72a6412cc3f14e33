"""The Alembic migrations build exactly the schema the code declares."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

import engine.store.tables  # noqa: F401
from engine.store.database import database_url, upgrade


def test_migrations_match_the_models(db_engine) -> None:
    upgrade(db_engine)
    with db_engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diff == []
    assert {"enrollment", "auditevent", "assertion", "pathwayversion"} <= set(
        inspect(db_engine).get_table_names()
    )


def test_upgrade_is_idempotent(db_engine) -> None:
    upgrade(db_engine)
    upgrade(db_engine)


def test_database_url_defaults_and_bare_paths(monkeypatch) -> None:
    monkeypatch.delenv("PARCOURS_DATABASE_URL", raising=False)
    assert database_url() == "sqlite:///parcours.sqlite"
    assert database_url("demo.sqlite") == "sqlite:///demo.sqlite"
    assert database_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    monkeypatch.setenv("PARCOURS_DATABASE_URL", "sqlite:///autre.sqlite")
    assert database_url() == "sqlite:///autre.sqlite"
