"""A third-party OB 3.0 verifier, PyPI `openbadgeslib` (LGPL-3.0, used by the tests only), on
what Parcours issues: signature, VC/OB structure and JWT claims, Bitstring status list (signed
list included), the credential baked in a PNG, and an EndorsementCredential."""

from __future__ import annotations

import pytest
from joserfc.jwk import RSAKey
from openbadgeslib.ob3.verifier import OB3VerificationError, OB3Verifier, verify_endorsement_jwt

from engine.openbadges import ob3
from engine.services import badge_documents, badges, endorsements
from tests.conftest import DIRECTRICE, actor
from tests.engine.openbadges.conftest import GEIQ


def _pem(issued, u, token: str) -> bytes:
    """The issuer's public key as a stranger gets it: the kid URL from the token header."""
    status, body = issued.fetch(ob3.unverified(token)[0]["kid"])
    assert status == 200
    import json

    doc = json.loads(body)
    jwk = doc.get("publicKeyJwk", doc)
    return RSAKey.import_key(jwk).as_pem(private=False)


def _download(issued):
    def download(url: str) -> bytes:
        status, body = issued.fetch(url)
        assert status == 200, url
        return body

    return download


def test_openbadgeslib_verifies_the_credential_and_its_status(issued, u) -> None:
    token = badge_documents.credential_jwt(issued.rt, issued.assertion, u)
    verifier = OB3Verifier(_pem(issued, u, token))
    credential = verifier.verify(token, check_status=True, download=_download(issued))
    assert credential.issuer.id == u.profile3("sato")
    assert credential.achievement.name == "Jeu de piste en entreprises"


def test_openbadgeslib_refuses_a_revoked_credential(issued, u) -> None:
    token = badge_documents.credential_jwt(issued.rt, issued.assertion, u)
    verifier = OB3Verifier(_pem(issued, u, token))
    badges.revoke(issued.rt, issued.assertion, "Fraude", by=actor(issued.rt, DIRECTRICE))
    with pytest.raises(OB3VerificationError, match="status 'revocation' is set"):
        verifier.verify(token, check_status=True, download=_download(issued))


def test_openbadgeslib_reads_the_credential_baked_in_the_png(issued, u) -> None:
    png = badge_documents.baked(issued.rt, issued.assertion, u, version=3)
    token = OB3Verifier.extract_token_from_png(png)
    credential = OB3Verifier(_pem(issued, u, token)).verify(token)
    assert credential.achievement.name == "Jeu de piste en entreprises"


def test_openbadgeslib_verifies_the_endorsement_credential(issued, u) -> None:
    eid = endorsements.endorse(
        issued.rt,
        "geiq-industrie",
        "badge_class",
        "sato.jeu-de-piste",
        "Nous recrutons",
        by=actor(issued.rt, GEIQ),
    )
    token = endorsements.endorsement_jwt(issued.rt, eid, u)
    result = verify_endorsement_jwt(token, endorser_pubkey_pem=_pem(issued, u, token))
    assert result["endorses"] == u.achievement("sato.jeu-de-piste")
    assert result["comment"] == "Nous recrutons"
