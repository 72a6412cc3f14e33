"""Badge requests, committees and the partner feed over the REST API."""

from __future__ import annotations

import io

from PIL import Image

from engine.services.accounts import set_password
from engine.services.organisations import add_staff
from tests.conftest import DIRECTRICE, OTHER_CIP
from tests.web.conftest import PASSWORD, login
from tests.web.test_api import _enroll

GEIQ = "recrutement@geiq-industrie.example"
ADIE = "conseil@adie.example"


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (20, 20), "blue").save(out, "PNG")
    return out.getvalue()


def _partners(web) -> None:
    with web.unit_of_work() as s:
        add_staff(s, GEIQ, "Gwen", "Le Bris", [("geiq-industrie", "partner")])
        add_staff(s, ADIE, "Karim", "Saïdi", [("adie", "partner")])
    set_password(web, GEIQ, PASSWORD)
    set_password(web, ADIE, PASSWORD)
    set_password(web, DIRECTRICE, PASSWORD)


def test_a_request_with_evidence_is_signed_then_the_badge_is_issued(client, web) -> None:
    csrf = login(client)
    h = {"X-CSRF-Token": csrf}
    eid = _enroll(client, csrf)
    body = {"badge": "sato.ponctualite", "enrollment_id": eid, "narrative": "Aucun retard"}
    created = client.post("/api/v1/badge-requests", json=body, headers=h)
    assert created.status_code == 201, created.text
    rid = created.json()["id"]
    assert created.json()["waiting_for"] == ["signature : CIP"]
    bad = client.post(
        f"/api/v1/badge-requests/{rid}/evidence",
        data={"kind": "planning"},
        files={"file": ("planning.png", b"not an image", "image/png")},
        headers=h,
    )
    assert bad.status_code == 422 and "planning.png" in bad.json()["detail"]
    ok = client.post(
        f"/api/v1/badge-requests/{rid}/evidence",
        data={"kind": "planning", "context": "mission"},
        files={"file": ("planning.png", _png(), "image/png")},
        headers=h,
    )
    assert ok.status_code == 201, ok.text
    no_reason = client.post(
        f"/api/v1/badge-requests/{rid}/reviews", json={"approve": True, "reason": ""}, headers=h
    )
    assert no_reason.status_code == 422 and "reason" in no_reason.json()["detail"]
    signed = client.post(
        f"/api/v1/badge-requests/{rid}/reviews",
        json={"approve": True, "reason": "Quatre semaines sans retard"},
        headers=h,
    )
    assert signed.status_code == 200 and signed.json()["status"] == "approved"
    badges = client.get(f"/api/v1/enrollments/{eid}/badges").json()["items"]
    assert [b["name"] for b in badges] == ["Ponctualité"]
    assert client.get("/api/v1/badge-requests", params={"status": "approved"}).json()["total"] == 1

    other = client.__class__(client.app, base_url=str(client.base_url))
    login(other, OTHER_CIP)
    assert other.get(f"/api/v1/badge-requests/{rid}").status_code == 403
    assert other.get("/api/v1/badge-requests", params={"status": "all"}).json()["total"] == 0


def test_partners_see_only_what_was_shared_with_them(client, web) -> None:
    _partners(web)
    csrf = login(client)
    h = {"X-CSRF-Token": csrf}
    eid = _enroll(client, csrf)
    client.post(f"/api/v1/enrollments/{eid}/advance", json={"trigger": "demarrer"}, headers=h)
    client.post(f"/api/v1/enrollments/{eid}/evidence", data={"kind": "fiche-atelier"}, headers=h)
    done = client.post(
        f"/api/v1/enrollments/{eid}/advance", json={"trigger": "valider-atelier"}, headers=h
    )
    assert done.json()["awarded"] == ["sato.securite-atelier"]

    geiq = client.__class__(client.app, base_url=str(client.base_url))
    login(geiq, GEIQ)
    feed = geiq.get("/api/v1/partner/feed").json()
    assert [i["badge"] for i in feed["items"]] == ["sato.securite-atelier"]
    assert feed["items"][0]["recipient"] == "Awa Diallo"
    assert geiq.get(f"/api/v1/enrollments/{eid}").status_code == 403

    adie = client.__class__(client.app, base_url=str(client.base_url))
    adie_csrf = login(adie, ADIE)
    assert adie.get("/api/v1/partner/feed").json()["total"] == 0
    first = client.get(f"/api/v1/enrollments/{eid}/badges").json()["items"][0]["id"]
    refused = adie.post(
        f"/api/v1/badges/{first}/shares",
        json={"organisation": "adie"},
        headers={"X-CSRF-Token": adie_csrf},
    )
    assert refused.status_code == 403
    shared = client.post(f"/api/v1/badges/{first}/shares", json={"organisation": "adie"}, headers=h)
    assert shared.status_code == 204
    assert [i["assertion_id"] for i in adie.get("/api/v1/partner/feed").json()["items"]] == [first]
    assert client.get("/api/v1/partner/feed").status_code == 403


def test_a_director_sets_a_badge_and_the_public_form_gives_a_support_badge(client, web) -> None:
    _partners(web)
    director = client.__class__(client.app, base_url=str(client.base_url))
    csrf = login(director, DIRECTRICE)
    resp = director.put(
        "/api/v1/structures/sato-interim/badge-settings/sato.ponctualite",
        json={"mode": "committee"},
        headers={"X-CSRF-Token": csrf},
    )
    assert resp.status_code == 422 and "hors du cadre" in resp.json()["detail"]
    support = client.post(
        "/api/v1/public/badges/inae.badgeons-iae/requests",
        json={"given_name": "Camille", "family_name": "Roy", "email": "pas-une-adresse"},
    )
    assert support.status_code == 422 and "email" in support.json()["detail"]
    support = client.post(
        "/api/v1/public/badges/inae.badgeons-iae/requests",
        json={"given_name": "Camille", "family_name": "Roy", "email": "camille@roy.example"},
    )
    assert support.status_code == 201
    hosted = client.get(support.json()["url"])
    assert hosted.status_code == 200 and hosted.json()["type"] == "Assertion"


def test_a_structure_proposes_a_project_badge_and_the_network_reviews_it(client, web) -> None:
    from tests.conftest import NETWORK_ADMIN

    set_password(web, NETWORK_ADMIN, PASSWORD)
    csrf = login(client)
    h = {"X-CSRF-Token": csrf}
    eid = _enroll(client, csrf)
    proposal = {
        "structure": "sato-interim",
        "network": "sato",
        "name": "Jardin partagé de Pontanézen",
        "description": "A co-animé le jardin partagé du quartier avec les habitants.",
        "criteria": "Avoir tenu trois permanences et accueilli de nouveaux jardiniers.",
    }
    created = client.post("/api/v1/badge-classes", json=proposal, headers=h)
    assert created.status_code == 201, created.text
    slug = created.json()["id"]
    assert slug == "sato.projet-jardin-partage-de-pontanezen"
    early = client.post(f"/api/v1/enrollments/{eid}/badges", json={"badge": slug}, headers=h)
    assert early.status_code == 404
    own = client.post(
        f"/api/v1/badge-classes/{slug}/review", json={"approve": True, "reason": "ok"}, headers=h
    )
    assert own.status_code == 403

    network = client.__class__(client.app, base_url=str(client.base_url))
    ncsrf = login(network, NETWORK_ADMIN)
    # A pathway may name the project badge once the network approved it, not before.
    pathway = (
        "id: jardin\nversion: 1\nnetwork: sato\ntitle: Jardin partagé\ninitial: a\n"
        "stages:\n  - {id: a, title: Permanences}\n"
        f"  - {{id: b, title: Fin, final: true, awards: {{on_enter: [{slug}]}}}}\n"
        "transitions:\n  - {trigger: finir, source: a, dest: b, title: Finir}\n"
    )
    upload = {"file": ("jardin.yaml", pathway.encode(), "text/yaml")}
    ncsrf_h = {"X-CSRF-Token": ncsrf}
    refused = network.post("/api/v1/pathways", files=upload, headers=ncsrf_h)
    assert refused.status_code == 422
    [problem] = refused.json()["problems"]
    assert (problem["line"], problem["message"]) == (8, f"badge inconnu « {slug} »")
    listed = network.get("/api/v1/badge-classes/proposals").json()["items"]
    assert [p["slug"] for p in listed] == [slug]
    reviewed = network.post(
        f"/api/v1/badge-classes/{slug}/review",
        json={"approve": True, "reason": "Critères clairs, co-construits avec les habitants"},
        headers={"X-CSRF-Token": ncsrf},
    )
    assert reviewed.status_code == 204
    published = network.post("/api/v1/pathways", files=upload, headers=ncsrf_h)
    assert published.status_code == 201, published.text
    issued = client.post(f"/api/v1/enrollments/{eid}/badges", json={"badge": slug}, headers=h)
    assert issued.status_code == 201, issued.text
    assert client.get(issued.json()["url"]).json()["badge"].endswith(f"/{slug}")


def test_a_recommendation_request_leaves_by_e_mail_for_the_badge_holder_only(client, web) -> None:
    from sqlalchemy import select

    from engine.store.tables import Delivery

    csrf = login(client)
    h = {"X-CSRF-Token": csrf}
    eid = _enroll(client, csrf)
    client.post(f"/api/v1/enrollments/{eid}/advance", json={"trigger": "demarrer"}, headers=h)
    badge = client.get(f"/api/v1/enrollments/{eid}/badges").json()["items"][0]["id"]
    ask = {"company": "adie", "email": "rh@adie.example"}
    other = client.__class__(client.app, base_url=str(client.base_url))
    ocsrf = login(other, OTHER_CIP)
    refused = other.post(
        f"/api/v1/badges/{badge}/recommendation-requests",
        json=ask,
        headers={"X-CSRF-Token": ocsrf},
    )
    assert refused.status_code == 403
    done = client.post(f"/api/v1/badges/{badge}/recommendation-requests", json=ask, headers=h)
    assert done.status_code == 201 and "/recommandations/" in done.json()["url"]
    with web.unit_of_work() as s:
        [mail] = s.execute(select(Delivery)).scalars()
    assert (mail.channel, mail.target) == ("email", "rh@adie.example")
