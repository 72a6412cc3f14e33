"""Shared fixtures. Every test runs on a real SQLite file; when PARCOURS_TEST_DATABASE_URL is
set, database tests also run on PostgreSQL, each in a database of its own."""

from __future__ import annotations

import gc
import os
import queue
import shutil
import sqlite3
import tempfile
import threading
import uuid
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import fastapi.dependencies.models as fastapi_models
import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from engine.services import access, accounts
from engine.services.access import Actor
from engine.services.bootstrap import initialise
from engine.services.organisations import add_staff, upsert_organisation
from engine.services.runtime import Runtime
from engine.store.database import database_url, make_engine

PG_URL = os.environ.get("PARCOURS_TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])
BROWSER_BACKENDS = BACKENDS if os.environ.get("PARCOURS_TEST_BROWSER_BOTH") else BACKENDS[-1:]
"""Where the browser tests (those that start Chromium) run: on PostgreSQL when it is there,
else on SQLite; on both with PARCOURS_TEST_BROWSER_BOTH=1. A page walked in Chromium checks
the page (its layout on a phone, axe-core, its scripts, the flow through it); what the
services and the API do is tested on both databases without a browser, and every page is
rendered over the demo's data on both (tests/web/test_every_page.py). A browser test costs
5 to 35 s per database: on both they were most of the suite's time. See
`pytest_generate_tests`."""

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


# Argon2 at production cost (64 MiB, 3 passes: ~0.25 s of CPU per hash or check) made up a
# large share of the suite's time: every web test sets two passwords and most log in. The
# tests keep argon2id and every check of the login path, at the library's lowest cost.
accounts._hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
accounts._DUMMY = accounts._hasher.hash("une phrase de passe factice")


# --- databases -----------------------------------------------------------------------------
# Each test gets a database of its own: a SQLite file in its tmp_path, or a PostgreSQL
# database (not a schema: a database can be copied from a template in one statement).
# `initialised` fills it with a copy of a database this process initialised once the same
# way, instead of running the migrations and publishing the networks for each test (about
# 1 s of CPU and up to 6 s on a busy PostgreSQL). Each pytest process (xdist worker) has its
# own templates, named uniquely, dropped when the session ends.


def _pg_admin() -> Engine:
    """Autocommit on PG_URL's database: CREATE/DROP DATABASE refuse transactions."""
    global _PG_ADMIN
    if _PG_ADMIN is None:
        _PG_ADMIN = create_engine(database_url(PG_URL), isolation_level="AUTOCOMMIT")
    return _PG_ADMIN


_PG_ADMIN: Engine | None = None
_TEMPLATES: dict[tuple, str] = {}
"""(backend, workflows, networks, plugins, PARCOURS_* environment) -> template: a SQLite file
path or a PostgreSQL database name."""
_TEMPLATE_DIR: Path | None = None


def _pg_url(database: str) -> str:
    return make_url(PG_URL).set(database=database).render_as_string(hide_password=False)


def _create_database(name: str, template: str = "template0") -> None:
    with _pg_admin().connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))


def _drop_database(name: str) -> None:
    with _pg_admin().connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


class _Dropper:
    """Drops the tests' PostgreSQL databases in a thread of its own: DROP DATABASE waits for
    a checkpoint (up to a second on a busy server), which the next test need not wait for."""

    def __init__(self) -> None:
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self.failures: list[str] = []

    def drop(self, name: str) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="drop-databases", daemon=True)
            self._thread.start()
        self._queue.put(name)

    def _run(self) -> None:
        while (name := self._queue.get()) is not None:
            try:
                _drop_database(name)
            except Exception as exc:  # reported when the session ends
                self.failures.append(f"{name}: {exc}")

    def finish(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None


_DROPPER = _Dropper()


def templated(fixture_function):
    """Marks a fixture (an `rt`) that fills its database with `initialised`: `db_url` then
    leaves the PostgreSQL database to be created from the template, not empty first."""
    fixture_function._parcours_template = True
    return fixture_function


def _from_template(request: pytest.FixtureRequest) -> bool:
    if "rt" not in request.fixturenames:
        return False
    try:  # the `rt` that applies to this test: the last definition is the nearest override
        defs = request._fixturemanager.getfixturedefs("rt", request.node)
    except Exception:  # pytest's internals moved: create the empty database as before
        return False
    return bool(defs) and getattr(defs[-1].func, "_parcours_template", False)


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'parcours.sqlite'}"
        return
    name = f"t_{uuid.uuid4().hex[:12]}"
    if not _from_template(request):
        _create_database(name)
    yield _pg_url(name)
    _DROPPER.drop(name)


@pytest.fixture
def db_engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


def _template_key(runtime: Runtime) -> tuple:
    env = tuple(
        sorted(
            (k, v) for k, v in os.environ.items() if k.startswith("PARCOURS_") and "TEST" not in k
        )
    )
    plugins = tuple(sorted(name for name, _ in runtime.pm.list_name_plugin()))
    return (
        runtime.engine.dialect.name,
        str(Path(runtime.workflows).resolve()),
        str(Path(runtime.networks_dir).resolve()),
        plugins,
        env,
    )


def _build_template(runtime: Runtime) -> str:
    """A database initialised as `runtime` would be, by `initialise` itself."""
    global _TEMPLATE_DIR
    if runtime.engine.dialect.name == "sqlite":
        if _TEMPLATE_DIR is None:
            _TEMPLATE_DIR = Path(tempfile.mkdtemp(prefix="parcours-templates-"))
        where = str(_TEMPLATE_DIR / f"{len(_TEMPLATES)}.sqlite")
        url = f"sqlite:///{where}"
    else:
        where = f"parcours_tpl_{uuid.uuid4().hex[:12]}"
        _create_database(where)
        url = _pg_url(where)
    engine = make_engine(url)
    try:
        initialise(Runtime(engine, runtime.pm, runtime.workflows, runtime.networks_dir))
    finally:
        engine.dispose()  # a PostgreSQL template must have no connection when it is copied
    return where


def initialised(runtime: Runtime) -> Runtime:
    """`initialise(runtime)` on the test's empty database, done by copying a database this
    process initialised with the same backend, workflows, networks, plugins and PARCOURS_*
    environment. Fixtures whose workflows change per test call `initialise` itself."""
    key = _template_key(runtime)
    template = _TEMPLATES.get(key)
    if template is None:
        template = _TEMPLATES[key] = _build_template(runtime)
    engine = runtime.engine
    engine.dispose()
    if engine.dialect.name == "sqlite":
        source = sqlite3.connect(template)
        target = sqlite3.connect(engine.url.database)
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()
    else:
        with _pg_admin().connect() as conn:
            there = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"),
                {"name": engine.url.database},
            ).first()
        if there:
            _drop_database(engine.url.database)
        _create_database(engine.url.database, template)
    return runtime


@pytest.fixture(scope="session", autouse=True)
def _templates() -> Iterator[None]:
    """Drop this process's template databases when its session ends."""
    yield
    _DROPPER.finish()
    if _DROPPER.failures:
        warnings.warn(
            "bases de test non supprimées : " + " ; ".join(_DROPPER.failures), stacklevel=2
        )
    for template in _TEMPLATES.values():
        if not template.endswith(".sqlite"):
            _drop_database(template)
    _TEMPLATES.clear()
    if _TEMPLATE_DIR is not None:
        shutil.rmtree(_TEMPLATE_DIR, ignore_errors=True)
    if _PG_ADMIN is not None:
        _PG_ADMIN.dispose()


@pytest.fixture
@templated
def rt(db_engine: Engine) -> Runtime:
    """A database initialised with the built-in plugins and the workflows/ pathways."""
    return initialised(Runtime(db_engine))


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


# --- browser tests on one database ----------------------------------------------------------


@pytest.hookimpl(tryfirst=True)
def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test that drives Chromium gets `db_url` on BROWSER_BACKENDS only, through a
    parametrize mark: pytest applies the marks first, and leaves out of the fixtures' own
    params (`db_url`'s BACKENDS) an argument a mark names."""
    names = metafunc.fixturenames
    if "chromium_process" in names and "db_url" in names:
        metafunc.definition.add_marker(
            pytest.mark.parametrize("db_url", BROWSER_BACKENDS, indirect=True)
        )


# --- order ---------------------------------------------------------------------------------


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The longest modules first, each module's tests in their order: under `-n auto` a module
    runs whole on one worker (`--dist loadscope`), and a long one handed out last would keep
    one worker busy while the others wait. The walk of every page (over the demo) comes
    first, then the modules that drive Chromium."""

    def weight(item: pytest.Item) -> int:
        if item.nodeid.startswith("tests/web/test_every_page.py"):
            return 0
        return 1 if "chromium_process" in item.fixturenames else 2

    ranks: dict[str, int] = {}
    for item in items:
        module = item.nodeid.split("::", 1)[0]
        ranks[module] = min(ranks.get(module, 2), weight(item))
    items.sort(key=lambda item: ranks[item.nodeid.split("::", 1)[0]])


# --- memory --------------------------------------------------------------------------------


def pytest_collection_finish(session: pytest.Session) -> None:
    """What collection loaded (modules, test items, the engine's tables) lives to the end:
    out of the garbage collector's sight, later collections have far less to walk."""
    gc.freeze()


def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    """FastAPI caches what kind of callable each dependency is (4,096 per cache), keyed by
    the callables themselves: closures over a test's app, hence its Runtime, engine and
    caches. Cleared after each test, the apps go with their tests instead of piling up."""
    for name in _FASTAPI_CACHES:
        cached = getattr(fastapi_models, name, None)
        if cached is not None and hasattr(cached, "cache_clear"):
            cached.cache_clear()


_FASTAPI_CACHES = (
    "_is_gen_callable_cached",
    "_is_async_gen_callable_cached",
    "_is_coroutine_callable_cached",
)
