"""The REST API: sessions with CSRF, API tokens, structure isolation, problem details in French,
pagination, evidence upload, and GDPR export and erasure."""

from __future__ import annotations

import io

import pytest
from anyio import to_thread
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import func, select

from engine.api.app import create_app
from engine.services import accounts
from engine.store.database import POOL_SIZE
from engine.store.tables import AuditEvent, Evidence, EvidenceFile
from tests.conftest import CIP, OTHER_CIP
from tests.web.conftest import BASE, login

NEW = {
    "pathway": "atelier-decouverte",
    "structure": "sato-interim",
    "given_name": "Awa",
    "family_name": "Diallo",
    "email": "awa.diallo@example.org",
}


def _enroll(client, csrf: str) -> int:
    resp = client.post("/api/v1/enrollments", json=NEW, headers={"X-CSRF-Token": csrf})
    assert resp.status_code == 201, resp.text
    return resp.json()["id"]


def test_a_session_write_needs_its_csrf_token(client) -> None:
    assert client.get("/api/v1/me").status_code == 401
    csrf = login(client)
    assert client.get("/api/v1/me").json()["email"] == CIP
    refused = client.post("/api/v1/enrollments", json=NEW)
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    assert "CSRF" in refused.json()["detail"]
    assert _enroll(client, csrf) > 0


def test_a_wrong_password_is_refused_without_saying_which_part(client) -> None:
    resp = client.post("/api/v1/session", json={"email": CIP, "password": "pas-le-bon-mot"})
    assert resp.status_code == 403
    assert resp.json()["detail"] == "adresse e-mail ou mot de passe incorrect"
    unknown = client.post("/api/v1/session", json={"email": "x@y.fr", "password": "pas-le-bon"})
    assert unknown.json()["detail"] == resp.json()["detail"]


def test_advance_explains_the_gate_and_history_is_paginated(client) -> None:
    csrf = login(client)
    eid = _enroll(client, csrf)
    h = {"X-CSRF-Token": csrf}
    ok = client.post(f"/api/v1/enrollments/{eid}/advance", json={"trigger": "demarrer"}, headers=h)
    assert ok.status_code == 200 and ok.json()["to_stage"] == "atelier"
    assert ok.json()["awarded"] == ["sato.jeu-de-piste"]
    refused = client.post(
        f"/api/v1/enrollments/{eid}/advance", json={"trigger": "valider-atelier"}, headers=h
    )
    assert refused.status_code == 422
    assert refused.json()["unmet"] == ["pièce justificative manquante : fiche-atelier"]
    status = client.get(f"/api/v1/enrollments/{eid}").json()
    assert status["stage"] == "atelier"
    [step] = status["next_steps"]
    assert [c["met"] for c in step["conditions"] if c["kind"] == "evidence"] == [False]
    page = client.get(f"/api/v1/enrollments/{eid}/history?per_page=1&page=2").json()
    assert (page["total"], page["page"], len(page["items"])) == (2, 2, 1)
    assert page["items"][0]["kind"] == "transition"


def test_staff_of_another_siae_neither_see_nor_change_the_enrollment(client, web) -> None:
    eid = _enroll(client, login(client))
    other = client.__class__(client.app, base_url=str(client.base_url))
    csrf = login(other, OTHER_CIP)
    assert other.get(f"/api/v1/enrollments/{eid}").status_code == 403
    assert other.get(f"/api/v1/enrollments/{eid}/history").status_code == 403
    assert other.get("/api/v1/enrollments").json()["total"] == 0
    moved = other.post(
        f"/api/v1/enrollments/{eid}/advance",
        json={"trigger": "demarrer"},
        headers={"X-CSRF-Token": csrf},
    )
    assert moved.status_code == 403
    assert client.get(f"/api/v1/enrollments/{eid}").json()["stage"] == "accueil"


def test_api_tokens_act_as_their_staff_member_without_csrf(client, web) -> None:
    token = accounts.create_api_token(web, CIP, "SI de la structure")
    h = {"Authorization": f"Bearer {token}"}
    resp = client.post("/api/v1/enrollments", json=NEW, headers=h)
    assert resp.status_code == 201
    listed = client.get("/api/v1/enrollments?per_page=5", headers=h).json()
    assert listed["total"] == 1 and listed["per_page"] == 5
    assert listed["items"][0]["participant"] == "Awa Diallo"
    bad = client.get("/api/v1/enrollments", headers={"Authorization": "Bearer prc_faux"})
    assert bad.status_code == 401


def test_bad_bodies_get_french_problem_details_naming_the_field(client) -> None:
    csrf = login(client)
    body = dict(NEW, email="pas-une-adresse")
    del body["family_name"]
    resp = client.post("/api/v1/enrollments", json=body, headers={"X-CSRF-Token": csrf})
    assert resp.status_code == 422
    problem = resp.json()
    assert problem["title"] == "Donnée invalide"
    fields = {e["field"]: e["message"] for e in problem["errors"]}
    assert fields == {"family_name": "champ obligatoire", "email": "adresse e-mail invalide"}
    unknown = client.post(
        "/api/v1/enrollments", json=dict(NEW, pathway="inconnu"), headers={"X-CSRF-Token": csrf}
    )
    assert unknown.status_code == 404 and "inconnu" in unknown.json()["detail"]


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), "teal").save(out, "PNG")
    return out.getvalue()


def test_evidence_upload_checks_the_file_and_writes_nothing_when_bad(client, web) -> None:
    csrf = login(client)
    eid = _enroll(client, csrf)
    h = {"X-CSRF-Token": csrf}
    client.post(f"/api/v1/enrollments/{eid}/advance", json={"trigger": "demarrer"}, headers=h)

    def count() -> int:
        with web.unit_of_work() as s:
            return s.execute(select(func.count(Evidence.id))).scalar_one()

    broken = client.post(
        f"/api/v1/enrollments/{eid}/evidence",
        data={"kind": "fiche-atelier"},
        files={"file": ("fiche.png", b"\x89PNG\r\n\x1a\n pas une image", "image/png")},
        headers=h,
    )
    assert broken.status_code == 422
    assert "fiche.png" in broken.json()["detail"] and "illisible" in broken.json()["detail"]
    exe = client.post(
        f"/api/v1/enrollments/{eid}/evidence",
        data={"kind": "fiche-atelier"},
        files={"file": ("virus.exe", b"MZ\x90\x00", "image/png")},
        headers=h,
    )
    assert exe.status_code == 422 and "ni un PDF" in exe.json()["detail"]
    assert count() == 0
    good = client.post(
        f"/api/v1/enrollments/{eid}/evidence",
        data={"kind": "fiche-atelier", "context": "AFEST"},
        files={"file": ("fiche.png", _png(), "image/png")},
        headers=h,
    )
    assert good.status_code == 201 and count() == 1
    done = client.post(
        f"/api/v1/enrollments/{eid}/advance", json={"trigger": "valider-atelier"}, headers=h
    )
    assert done.status_code == 200 and done.json()["to_stage"] == "emploi"


def test_an_evidence_file_is_served_to_its_structure_and_to_no_other(client, web) -> None:
    csrf = login(client)
    eid = _enroll(client, csrf)
    h = {"X-CSRF-Token": csrf}
    client.post(f"/api/v1/enrollments/{eid}/advance", json={"trigger": "demarrer"}, headers=h)
    png = _png()
    sent = client.post(
        f"/api/v1/enrollments/{eid}/evidence",
        data={"kind": "fiche-atelier"},
        files={"file": ("fiche atelier.png", png, "image/png")},
        headers=h,
    )
    assert sent.status_code == 201
    with web.unit_of_work() as s:
        (file_id,) = s.execute(select(EvidenceFile.id)).scalars()
    shown = client.get(f"/pieces/{file_id}")
    assert shown.status_code == 200 and shown.content == png
    assert shown.headers["content-type"] == "image/png"
    assert shown.headers["x-content-type-options"] == "nosniff"
    other = client.__class__(client.app, base_url=str(client.base_url))
    login(other, OTHER_CIP)
    assert other.get(f"/pieces/{file_id}").status_code in (403, 404)


def test_gdpr_export_then_erasure(client, web) -> None:
    csrf = login(client)
    h = {"X-CSRF-Token": csrf}
    eid = _enroll(client, csrf)
    client.post(
        f"/api/v1/enrollments/{eid}/advance",
        json={"trigger": "demarrer", "note": "Awa a été très ponctuelle"},
        headers=h,
    )
    pid = client.get("/api/v1/enrollments").json()["items"][0]["participant_id"]
    data = client.get(f"/api/v1/participants/{pid}/export").json()
    assert data["personne"]["email"] == "awa.diallo@example.org"
    assert [b["badge"] for b in data["badges"]] == ["sato.jeu-de-piste"]
    assert any(ev["note"] == "Awa a été très ponctuelle" for ev in data["historique"])
    [badge] = client.get(f"/api/v1/enrollments/{eid}/badges").json()["items"]

    assert client.delete(f"/api/v1/participants/{pid}", headers=h).status_code == 204
    after = client.get(f"/api/v1/participants/{pid}/export").json()
    assert (
        after["personne"]["email"] is None and after["personne"]["prenom"] == "Personne anonymisée"
    )
    assert after["badges"][0]["revoque_le"] is not None
    assert all(ev["note"] is None for ev in after["historique"])
    page = client.get(f"/badges/{badge['id']}")
    assert "Awa" not in page.text and "Personne anonymisée" in page.text
    assert client.get(badge["url"].removeprefix("http://parcours.test")).status_code == 410
    with web.unit_of_work() as s:
        kinds = list(
            s.execute(select(AuditEvent.kind).where(AuditEvent.enrollment_id == eid)).scalars()
        )
    assert kinds[-1] == "erased"


def test_a_participant_link_works_once_and_shows_only_their_own_data(client, web) -> None:
    csrf = login(client)
    eid = _enroll(client, csrf)
    pid = client.get("/api/v1/enrollments").json()["items"][0]["participant_id"]
    url = client.post(f"/api/v1/participants/{pid}/link", headers={"X-CSRF-Token": csrf}).json()[
        "url"
    ]
    path = url.removeprefix("http://parcours.test")
    participant = client.__class__(client.app, base_url=str(client.base_url))
    assert participant.get(path).status_code == 200  # a page with a button: not yet used
    opened = participant.post(path, follow_redirects=False)
    assert opened.status_code == 303 and opened.headers["location"] == "/moi"
    assert "Atelier découverte" in participant.get("/moi").text
    assert participant.get(f"/api/v1/enrollments/{eid}").status_code == 200
    assert participant.get(f"/api/v1/participants/{pid + 1000}/export").status_code in (403, 404)
    again = client.__class__(client.app, base_url=str(client.base_url)).post(path)
    assert again.status_code == 410


@pytest.mark.parametrize(("asked", "runs"), [("3", 3), ("1000", POOL_SIZE)])
def test_a_worker_runs_at_most_its_threads_requests_at_once(web, monkeypatch, asked, runs) -> None:
    """`parcours serve --threads` bounds the handlers running at once, never beyond the
    database pool (a thread waiting for a connection only holds the GIL's queue longer)."""
    monkeypatch.setenv("PARCOURS_SERVE_THREADS", asked)
    with TestClient(create_app(web, BASE), base_url=BASE) as client:
        limit = client.portal.call(lambda: to_thread.current_default_thread_limiter().total_tokens)
    assert limit == runs
