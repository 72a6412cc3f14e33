"""The web app's tests run SATO Intérim's team on a short test pathway
(tests/data/workflows/atelier-decouverte.yaml) that a CIP can walk in one sitting."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser
from sqlalchemy import Engine

from engine.api.app import create_app
from engine.services.accounts import set_password
from engine.services.runtime import Runtime
from tests.conftest import CIP, OTHER_CIP, initialised, templated
from tests.web.chromium import launched

WORKFLOWS = Path(__file__).parents[1] / "data" / "workflows"
PASSWORD = "une-phrase-de-passe-longue"
BASE = "http://parcours.test"


@pytest.fixture
@templated
def rt(db_engine: Engine) -> Runtime:
    return initialised(Runtime(db_engine, workflows=WORKFLOWS))


@pytest.fixture(scope="module")
def chromium_process() -> Iterator[Browser]:
    """One Chromium for the module's browser tests (each opens contexts of its own). Not one
    for the session: while Playwright's sync API runs, the main thread's asyncio loop counts
    as running, and other modules' tests call asyncio.run."""
    with launched() as browser:
        yield browser


@pytest.fixture
def web(sato: Runtime) -> Runtime:
    set_password(sato, CIP, PASSWORD)
    set_password(sato, OTHER_CIP, PASSWORD)
    return sato


@pytest.fixture
def client(web: Runtime) -> TestClient:
    return TestClient(create_app(web, BASE), base_url=BASE)


def login(client: TestClient, email: str = CIP) -> str:
    """Log in through the API; returns the CSRF token for writes."""
    resp = client.post("/api/v1/session", json={"email": email, "password": PASSWORD})
    assert resp.status_code == 200, resp.text
    return resp.json()["csrf"]
