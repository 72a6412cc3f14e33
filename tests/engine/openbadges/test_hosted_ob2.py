"""OB 2.0 hosted verification: what a verifier fetches, and what it learns once revoked."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine.errors import Forbidden, InvalidInput
from engine.openbadges.identity import hash_identity
from engine.openbadges.verification import verify_ob2, verify_url
from engine.services import badge_documents, badges
from tests.conftest import DIRECTRICE, OTHER_CIP, T0, actor
from tests.engine.openbadges.conftest import BASE


def test_the_assertion_badge_class_and_issuer_are_served_as_json_ld(issued) -> None:
    resp = issued.client.get(f"/ob/v2/assertions/{issued.assertion}")
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/ld+json"
    a = resp.json()
    assert a["@context"] == "https://w3id.org/openbadges/v2"
    assert (a["type"], a["verification"]) == ("Assertion", {"type": "hosted"})
    assert a["id"] == f"{BASE}/ob/v2/assertions/{issued.assertion}"
    # the e-mail never appears, only its salted hash, which the owner can prove
    assert "awa.diallo" not in resp.text
    recipient = a["recipient"]
    assert recipient["identity"] == hash_identity("awa.diallo@example.org", recipient["salt"])
    assert a["evidence"] == [{"narrative": "Visite chez Naval Group"}]

    bc = issued.client.get(a["badge"].removeprefix(BASE)).json()
    assert (bc["type"], bc["name"]) == ("BadgeClass", "Jeu de piste en entreprises")
    assert bc["criteria"]["narrative"] and bc["image"].endswith("/image.png")
    issuer = issued.client.get(bc["issuer"].removeprefix(BASE)).json()
    assert issuer["type"] == "Issuer" and issuer["name"].startswith("SATO")
    assert issuer["revocationList"].endswith("/ob/v2/issuers/sato/revocations")

    image = issued.client.get(bc["image"].removeprefix(BASE))
    assert image.headers["content-type"] == "image/png" and image.content[:4] == b"\x89PNG"


def test_verify_says_valid_then_revoked_with_the_reason(issued) -> None:
    url = f"{BASE}/ob/v2/assertions/{issued.assertion}"
    verdict = verify_url(url, issued.fetch)
    assert verdict.status == "valide", verdict.reasons
    assert verdict.badge == "Jeu de piste en entreprises"

    badges.revoke(
        issued.rt, issued.assertion, "Délivré par erreur", by=actor(issued.rt, DIRECTRICE)
    )
    resp = issued.client.get(f"/ob/v2/assertions/{issued.assertion}")
    assert resp.status_code == 410
    assert resp.json()["revocationReason"] == "Délivré par erreur"
    rl = issued.client.get("/ob/v2/issuers/sato/revocations").json()
    assert rl["revokedAssertions"] == [{"id": url, "revocationReason": "Délivré par erreur"}]
    verdict = verify_url(url, issued.fetch)
    assert verdict.status == "révoqué"
    assert verdict.reasons == ["révoqué par l'émetteur : Délivré par erreur"]


def test_an_edited_embedded_assertion_is_tampered(issued, u) -> None:
    _, doc = badge_documents.assertion_document(issued.rt, issued.assertion, u)
    doc["issuedOn"] = "2020-01-01T00:00:00Z"
    import json

    verdict = verify_ob2(json.dumps(doc), issued.fetch)
    assert verdict.status == "altéré"
    assert "issuedOn" in verdict.reasons[0]


def test_an_expired_badge_says_so(issued, u) -> None:
    from sqlalchemy import update

    from engine.store.tables import Assertion

    with issued.rt.unit_of_work() as s:
        s.execute(
            update(Assertion)
            .where(Assertion.id == issued.assertion)
            .values(expires=T0 + timedelta(days=365))
        )
    verdict = verify_url(u.assertion(issued.assertion), issued.fetch, now=T0 + timedelta(days=400))
    assert verdict.status == "expiré"


def test_revocation_needs_a_reason_and_staff_of_the_structure(issued) -> None:
    with pytest.raises(InvalidInput, match="motif"):
        badges.revoke(issued.rt, issued.assertion, "  ", by=actor(issued.rt, DIRECTRICE))
    # the reason is published, and held in the index of revoked badges: bounded everywhere
    # (from the command line as from the API), not refused by PostgreSQL's index
    with pytest.raises(InvalidInput, match="motif : 500 caractères au plus"):
        badges.revoke(issued.rt, issued.assertion, "я" * 1500, by=actor(issued.rt, DIRECTRICE))
    with pytest.raises(Forbidden):
        badges.revoke(issued.rt, issued.assertion, "erreur", by=actor(issued.rt, OTHER_CIP))
    assert (
        badge_documents.assertion_document(issued.rt, issued.assertion, badges.urls(BASE))[0] == 200
    )
