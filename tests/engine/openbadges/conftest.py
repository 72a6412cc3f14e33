"""A badge issued on SATO's pathway, its public server (the real FastAPI app, in process) and a
fetch function that reaches it, so verification runs exactly as a stranger's would."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from engine.api.app import create_app
from engine.services import enrollments as e
from engine.services.access import Actor
from engine.services.badges import urls
from engine.services.organisations import add_staff
from engine.services.runtime import Runtime
from engine.store.tables import Assertion
from tests.conftest import CIP, ENCADRANT, T0, actor

BASE = "http://badges.test"
GEIQ = "rh@geiq-industrie.example"
"""Works for the GEIQ industrie, a partner: endorses on its behalf."""
ADIE = "conseil@adie.example"
"""Works for ADIE, a partner: endorses and recommends on its behalf."""


@dataclass
class Issued:
    rt: Runtime
    client: TestClient
    enrollment: int
    assertion: str
    holder: Actor
    """Awa Diallo, who holds the badge."""

    def fetch(self, url: str) -> tuple[int, bytes]:
        assert url.startswith(BASE), url
        resp = self.client.get(url.removeprefix(BASE))
        return resp.status_code, resp.content


@pytest.fixture
def issued(sato: Runtime) -> Issued:
    eid = e.enroll(
        sato,
        "sato-femmes-metallurgie",
        "sato-interim",
        e.Participant("Awa", "Diallo", "awa.diallo@example.org"),
        by=actor(sato, CIP),
        now=T0,
    )
    aid = e.award(
        sato,
        eid,
        "sato.jeu-de-piste",
        by=actor(sato, ENCADRANT),
        narrative="Visite chez Naval Group",
        now=T0,
    )
    with sato.unit_of_work() as s:
        add_staff(s, GEIQ, "Gaëlle", "Riou", [("geiq-industrie", "partner")])
        add_staff(s, ADIE, "Alain", "Diverrès", [("adie", "partner")])
        holder = s.get(Assertion, aid).recipient_id
    client = TestClient(create_app(sato, BASE), base_url=BASE)
    return Issued(sato, client, eid, aid, actor(sato, holder))


@pytest.fixture
def u():
    return urls(BASE)
