"""The inbound webhook over HTTP (issue 20): `POST /api/v1/inbound/pmsmp`, signed by the
secret SATO's administrator made through the API, turns the PMSMP platform's events into
evidence (200), keeps an unmatched one for the admins (202), answers a replay with the first
result, and refuses an unsigned, badly signed or oversized request with a French problem
detail, writing nothing."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from engine.api.app import PROBLEM, create_app
from engine.inbound import signature
from engine.services import enrollments as e
from engine.services.accounts import create_api_token
from engine.services.runtime import Runtime
from engine.store.tables import Evidence, InboundEvent, utcnow
from tests.conftest import CIP, NETWORK_ADMIN, actor, initialised, templated
from tests.engine.test_inbound import EMAIL, assessment, convention
from tests.web.conftest import BASE


@pytest.fixture
@templated
def rt(db_engine: Engine) -> Runtime:
    """The shipped pathways (workflows/): SATO's « Femmes et métallurgie » and its PMSMP."""
    return initialised(Runtime(db_engine))


@pytest.fixture
def client(sato: Runtime) -> TestClient:
    return TestClient(create_app(sato, BASE), base_url=BASE)


def _bearer(rt: Runtime, who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_api_token(rt, who, 'essai')}"}


def _post(
    client: TestClient, secret: str, payload: object, at: datetime | None = None
) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload).encode()
    header = signature.header(secret, "sato", body, at or utcnow())
    return body, {signature.HEADER: header, "Content-Type": "application/json"}


def _counts(rt: Runtime) -> tuple[int, int]:
    with rt.reading() as conn:
        return (
            conn.execute(select(func.count()).select_from(Evidence)).scalar_one(),
            conn.execute(select(func.count()).select_from(InboundEvent)).scalar_one(),
        )


def test_the_pmsmp_platform_posts_signed_events(sato: Runtime, client: TestClient) -> None:
    admin = _bearer(sato, NETWORK_ADMIN)
    made = client.post("/api/v1/networks/sato/inbound-sources/pmsmp/secret", headers=admin)
    assert made.status_code == 200, made.text
    secret = made.json()["secret"]
    eid = e.enroll(
        sato,
        "sato-femmes-metallurgie",
        "sato-interim",
        e.Participant("Awa", "Diallo", email=EMAIL),
        by=actor(sato, CIP),
    )

    body, headers = _post(client, secret, convention())
    first = client.post("/api/v1/inbound/pmsmp", content=body, headers=headers)
    assert first.status_code == 200, first.text
    assert first.json() | {"detail": ""} == {
        "event_id": first.json()["event_id"],
        "network": "sato",
        "source": "pmsmp",
        "kind": "convention",
        "status": "applied",
        "enrollment_id": eid,
        "evidence_id": first.json()["evidence_id"],
        "replayed": False,
        "detail": "",
    }
    before = _counts(sato)
    again = client.post("/api/v1/inbound/pmsmp", content=body, headers=headers)
    assert again.status_code == 200
    assert again.json()["replayed"] is True
    assert again.json()["evidence_id"] == first.json()["evidence_id"]
    assert _counts(sato) == before

    stranger = assessment() | {
        "payload": {
            "assessment": {**assessment()["payload"]["assessment"], "conventionId": "inconnue"}
        }
    }
    body, headers = _post(client, secret, stranger)
    waiting = client.post("/api/v1/inbound/pmsmp", content=body, headers=headers)
    assert waiting.status_code == 202, waiting.text
    assert waiting.json()["status"] == "unmatched"

    listed = client.get("/api/v1/networks/sato/inbound-events?statut=unmatched", headers=admin)
    assert listed.status_code == 200
    assert [(r["kind"], r["external_ref"]) for r in listed.json()] == [("assessment", "inconnue")]
    sources = client.get("/api/v1/networks/sato/inbound-sources", headers=admin).json()
    assert [(s["source"], s["unmatched"]) for s in sources] == [("pmsmp", 1)]


@pytest.mark.parametrize(
    ("case", "status"),
    [("unsigned", 401), ("wrong", 401), ("old", 401), ("json", 422), ("huge", 413)],
)
def test_bad_requests_are_refused_in_french_and_write_nothing(
    sato: Runtime, client: TestClient, case: str, status: int
) -> None:
    secret = client.post(
        "/api/v1/networks/sato/inbound-sources/pmsmp/secret", headers=_bearer(sato, NETWORK_ADMIN)
    ).json()["secret"]
    body, headers = _post(client, secret, convention())
    if case == "unsigned":
        del headers[signature.HEADER]
    elif case == "wrong":
        headers = _post(client, "un-autre-secret", convention())[1]
    elif case == "old":
        headers = _post(client, secret, convention(), utcnow() - timedelta(minutes=10))[1]
    elif case == "json":
        body = b"{pas du json"
        headers[signature.HEADER] = signature.header(secret, "sato", body, utcnow())
    else:
        body = b" " * (300 * 1024) + body
        headers[signature.HEADER] = signature.header(secret, "sato", body, utcnow())
    before = _counts(sato)
    refused = client.post("/api/v1/inbound/pmsmp", content=body, headers=headers)
    assert refused.status_code == status, refused.text
    assert refused.headers["content-type"].startswith(PROBLEM)
    problem = refused.json()
    assert problem["status"] == status and problem["detail"]
    if status == 401:
        assert problem["title"] == "Signature refusée"
    assert _counts(sato) == before


def test_only_network_admins_make_secrets(sato: Runtime, client: TestClient) -> None:
    made = client.post(
        "/api/v1/networks/sato/inbound-sources/pmsmp/secret", headers=_bearer(sato, CIP)
    )
    assert made.status_code == 403
    assert made.json()["title"] == "Action non autorisée"
    listed = client.get("/api/v1/networks/sato/inbound-events", headers=_bearer(sato, CIP))
    assert listed.status_code == 403
