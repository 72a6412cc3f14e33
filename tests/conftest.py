"""Shared fixtures. Every test runs on a real SQLite file; when PARCOURS_TEST_DATABASE_URL is
set, database tests also run on PostgreSQL, each in a schema of its own."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, create_engine, text

from engine.services import access
from engine.services.access import Actor
from engine.services.bootstrap import initialise
from engine.services.organisations import add_staff, upsert_organisation
from engine.services.runtime import Runtime
from engine.store.database import database_url, make_engine

PG_URL = os.environ.get("PARCOURS_TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

CIP = "claire.martin@sato-interim.example"
ENCADRANT = "marc.legall@sato-interim.example"
DIRECTRICE = "helene.kerbrat@sato.example"
OTHER_CIP = "jean.durand@autre-siae.example"
NETWORK_ADMIN = "admin@sato.example"

SYSTEM = Actor.system()
"""The scheduler or the operator's command line: for reads a test makes that are not about who
may read."""


def actor(rt: Runtime, ref: str | int) -> Actor:
    """The Actor of a staff member by e-mail, or of anyone by person id, as services take it."""
    with rt.reading() as c:
        return access.actor_for(c, ref)


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'parcours.sqlite'}"
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(database_url(PG_URL))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def db_engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def rt(db_engine: Engine) -> Runtime:
    """A database initialised with the built-in plugins and the workflows/ pathways."""
    runtime = Runtime(db_engine)
    initialise(runtime)
    return runtime


@pytest.fixture
def sato(rt: Runtime) -> Runtime:
    """SATO Intérim's team, and a CIP of another SIAE who must not reach its participants."""
    with rt.unit_of_work() as s:
        upsert_organisation(
            s, "sato-interim", "SATO Intérim", "structure", structure_kind="ETTI", networks=["sato"]
        )
        upsert_organisation(
            s, "sato-eiti", "SATO EiTi", "structure", structure_kind="EiTi", networks=["sato"]
        )
        upsert_organisation(s, "autre-siae", "Autre SIAE", "structure", structure_kind="ACI")
        add_staff(s, CIP, "Claire", "Martin", [("sato-interim", "cip"), ("sato-eiti", "cip")])
        add_staff(s, ENCADRANT, "Marc", "Le Gall", [("sato-interim", "encadrant_technique")])
        add_staff(
            s,
            DIRECTRICE,
            "Hélène",
            "Kerbrat",
            [("sato-interim", "directeur"), ("sato-eiti", "directeur")],
        )
        add_staff(s, OTHER_CIP, "Jean", "Durand", [("autre-siae", "cip")])
        add_staff(s, NETWORK_ADMIN, "Anne", "Réseau", [("sato", "network_admin")])
    return rt
