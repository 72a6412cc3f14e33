"""A badge issued on SATO's pathway, its public server (the real FastAPI app, in process) and a
fetch function that reaches it, so verification runs exactly as a stranger's would."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from engine.api.app import create_app
from engine.services import enrollments as e
from engine.services.badges import urls
from engine.services.runtime import Runtime
from tests.conftest import CIP, ENCADRANT, T0

BASE = "http://badges.test"


@dataclass
class Issued:
    rt: Runtime
    client: TestClient
    enrollment: int
    assertion: str

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
        by=CIP,
        now=T0,
    )
    aid = e.award(
        sato, eid, "sato.jeu-de-piste", by=ENCADRANT, narrative="Visite chez Naval Group", now=T0
    )
    client = TestClient(create_app(sato, BASE), base_url=BASE)
    return Issued(sato, client, eid, aid)


@pytest.fixture
def u():
    return urls(BASE)
