"""OB 3.0: signed OpenBadgeCredentials, status-list revocation, key rotation, endorsements."""

from __future__ import annotations

from engine.openbadges import ob3
from engine.openbadges.verification import verify_ob3
from engine.services import badge_documents, badges, endorsements, issuer_keys
from tests.conftest import DIRECTRICE, actor
from tests.engine.openbadges.conftest import GEIQ


def test_the_credential_is_a_vc_2_signed_as_vc_jwt(issued, u) -> None:
    token = issued.client.get(f"/ob/v3/credentials/{issued.assertion}")
    assert token.headers["content-type"].startswith("text/plain")
    header, vc = ob3.unverified(token.text)
    assert header["alg"] == "RS256" and header["kid"].startswith(f"{u.base}/ob/v3/issuers/sato/")
    assert vc["@context"][0] == "https://www.w3.org/ns/credentials/v2"
    assert vc["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert vc["iss"] == vc["issuer"]["id"] and vc["jti"] == vc["id"]
    subject = vc["credentialSubject"]
    assert subject["achievement"]["name"] == "Jeu de piste en entreprises"
    assert subject["identifier"][0]["identityType"] == "emailAddress"
    assert vc["credentialStatus"]["type"] == "BitstringStatusListEntry"
    verdict = verify_ob3(token.text, issued.fetch)
    assert verdict.status == "valide", verdict.reasons


def test_a_forged_credential_is_tampered(issued, u) -> None:
    token = badge_documents.credential_jwt(issued.rt, issued.assertion, u)
    head, payload, sig = token.split(".")
    import base64
    import json

    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["credentialSubject"]["achievement"]["name"] = "Soudeur certifié"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    verdict = verify_ob3(f"{head}.{forged}.{sig}", issued.fetch)
    assert verdict.status == "altéré"


def test_revocation_flips_the_status_bit(issued, u) -> None:
    token = badge_documents.credential_jwt(issued.rt, issued.assertion, u)
    badges.revoke(issued.rt, issued.assertion, "Fraude", by=actor(issued.rt, DIRECTRICE))
    assert verify_ob3(token, issued.fetch).status == "révoqué"


def test_credentials_signed_before_a_key_rotation_still_verify(issued, u) -> None:
    old = badge_documents.credential_jwt(issued.rt, issued.assertion, u)
    issuer_keys.rotate_key(issued.rt, "sato")
    new = badge_documents.credential_jwt(issued.rt, issued.assertion, u)
    assert ob3.unverified(old)[0]["kid"] != ob3.unverified(new)[0]["kid"]
    assert verify_ob3(old, issued.fetch).status == "valide"
    assert verify_ob3(new, issued.fetch).status == "valide"
    assert len(issued.client.get("/ob/v3/issuers/sato/jwks").json()["keys"]) == 2
    # the public API never shows a private key
    assert all("d" not in k for k in issued.client.get("/ob/v3/issuers/sato/jwks").json()["keys"])


def test_endorsement_credential_is_signed_by_the_endorser(issued, u) -> None:
    eid = endorsements.endorse(
        issued.rt,
        "geiq-industrie",
        "badge_class",
        "sato.jeu-de-piste",
        "Nous recrutons sur ce badge",
        by=actor(issued.rt, GEIQ),
    )
    token = issued.client.get(f"/ob/v3/endorsements/{eid}").text
    header, vc = ob3.unverified(token)
    assert vc["type"] == ["VerifiableCredential", "EndorsementCredential"]
    assert vc["credentialSubject"]["type"] == ["EndorsementSubject"]
    assert vc["credentialSubject"]["id"] == u.achievement("sato.jeu-de-piste")
    assert "/geiq-industrie/" in header["kid"]
    ob2 = issued.client.get(f"/ob/v2/endorsements/{eid}").json()
    assert ob2["claim"]["endorsementComment"] == "Nous recrutons sur ce badge"


def test_each_credential_gets_its_own_status_bit(issued, u) -> None:
    from engine.services import enrollments as e
    from tests.conftest import ENCADRANT, T0

    other = e.award(
        issued.rt,
        issued.enrollment,
        "sato.securite-atelier",
        by=actor(issued.rt, ENCADRANT),
        now=T0,
    )
    first = ob3.unverified(badge_documents.credential_jwt(issued.rt, issued.assertion, u))[1]
    second = ob3.unverified(badge_documents.credential_jwt(issued.rt, other, u))[1]
    again = ob3.unverified(badge_documents.credential_jwt(issued.rt, issued.assertion, u))[1]
    indexes = [c["credentialStatus"]["statusListIndex"] for c in (first, second, again)]
    assert indexes == ["0", "1", "0"]
    badges.revoke(issued.rt, other, "Erreur de saisie", by=actor(issued.rt, DIRECTRICE))
    token = badge_documents.credential_jwt(issued.rt, issued.assertion, u)
    assert verify_ob3(token, issued.fetch).status == "valide"
