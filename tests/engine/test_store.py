"""The Alembic migrations build exactly the schema the code declares."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlmodel import SQLModel

from engine.store.database import database_url, make_engine, upgrade
from engine.store.tables import EXPRESSION_INDEXES
from tests.conftest import PG_URL


def test_migrations_match_the_models(db_engine) -> None:
    upgrade(db_engine)
    with db_engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    # the expression indexes exist in the database only; each is there
    expressions = {d[1].name for d in diff if d[0] == "remove_index"} & EXPRESSION_INDEXES
    assert [d for d in diff if d[0] != "remove_index" or d[1].name not in expressions] == []
    if db_engine.dialect.name == "postgresql":
        found = {i["name"] for i in inspect(db_engine).get_indexes("person")}
        assert found >= EXPRESSION_INDEXES
    else:  # SQLAlchemy does not reflect SQLite's expression indexes: ask SQLite itself
        with db_engine.connect() as conn:
            query = "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'person'"
            found = set(conn.execute(text(query)).scalars())
        assert "ix_person_lower_email" in found
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


def test_upgrading_a_database_with_data_keeps_every_row(db_engine) -> None:
    """0004 and 0006 rebuild `evidence` and `assertion` on SQLite (to make a column nullable)
    while other rows point at them: those rows must come through, and so must the links."""
    from alembic import command
    from sqlalchemy import text

    from engine.store.database import alembic_config

    cfg = alembic_config(db_engine)
    with db_engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0003")
    now = "2026-01-01 00:00:00"
    with db_engine.begin() as c:
        c.execute(
            text(
                "INSERT INTO organisation (id, slug, kind, name) "
                "VALUES (1, 's', 'structure', 'S'), (2, 'g', 'partner', 'G')"
            )
        )
        c.execute(
            text(
                "INSERT INTO person (id, kind, given_name, family_name, created_at) "
                f"VALUES (1, 'participant', 'Awa', 'Diallo', '{now}')"
            )
        )
        c.execute(
            text(
                "INSERT INTO pathwayversion (id, pathway_id, version, network, title, digest, "
                "source, definition, published_at) "
                f"VALUES (1, 'p', 1, 'n', 't', 'd', 's', '{{}}', '{now}')"
            )
        )
        c.execute(
            text(
                "INSERT INTO enrollment (id, participant_id, structure_id, pathway_version_id, "
                "stage, status, revision, started_at, stage_entered_at) "
                f"VALUES (1, 1, 1, 1, 'a', 'active', 1, '{now}', '{now}')"
            )
        )
        c.execute(
            text(
                "INSERT INTO evidence (id, enrollment_id, stage, kind, added_at) "
                f"VALUES (1, 1, 'a', 'convention', '{now}')"
            )
        )
        c.execute(
            text(
                "INSERT INTO evidencefile (id, evidence_id, filename, media_type, content) "
                "VALUES ('f1', 1, 'c.pdf', 'application/pdf', :content)"
            ),
            {"content": b"%PDF-1.4"},
        )
        c.execute(
            text(
                "INSERT INTO badgeclass (id, slug, network, name, description, criteria, tags) "
                "VALUES (1, 'n.b', 'n', 'B', 'd', 'c', '[]')"
            )
        )
        c.execute(
            text(
                "INSERT INTO assertion (id, badge_class_id, recipient_id, issued_on, salt, "
                f"evidence) VALUES ('a1', 1, 1, '{now}', 's', '[]')"
            )
        )
    with db_engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0005")
    with db_engine.begin() as c:
        c.execute(
            text(
                "INSERT INTO share (assertion_id, organisation_id, reason, shared_at) "
                f"VALUES ('a1', 2, 'stage', '{now}')"
            )
        )
    upgrade(db_engine)
    with db_engine.connect() as c:
        assert c.execute(text("SELECT evidence_id, filename FROM evidencefile")).all() == [
            (1, "c.pdf")
        ]
        assert c.execute(text("SELECT assertion_id, organisation_id FROM share")).all() == [
            ("a1", 2)
        ]
        assert c.execute(text("SELECT recipient_id FROM assertion")).all() == [(1,)]
        if db_engine.dialect.name == "sqlite":
            assert c.execute(text("PRAGMA foreign_key_check")).all() == []


@pytest.mark.skipif(not PG_URL, reason="a server-side disconnect needs PostgreSQL")
def test_a_connection_the_server_dropped_is_replaced_after_idle() -> None:
    """A PostgreSQL restart (here: the backend terminated) must not fail the next request:
    a connection that sat idle is checked on checkout and replaced."""
    engine = make_engine(PG_URL, ping_after=0)
    admin = make_engine(PG_URL)
    try:
        with engine.connect() as conn:
            pid = conn.execute(text("SELECT pg_backend_pid()")).scalar()
        with admin.begin() as conn:
            assert conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar()
        with engine.connect() as conn:
            assert conn.execute(text("SELECT pg_backend_pid()")).scalar() != pid
    finally:
        engine.dispose()
        admin.dispose()
