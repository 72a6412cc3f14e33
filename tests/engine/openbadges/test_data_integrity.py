"""Data Integrity proofs (`eddsa-rdfc-2022`) next to the VC-JWT, checked by a third party
(PyPI `openbadgeslib`, LGPL-3.0, test-only), and key hygiene: keys made when a network is
published, never by a read."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from fastapi.testclient import TestClient
from openbadgeslib.ob3.did import _pem_from_vm
from openbadgeslib.ob3.ldp import (
    OB3LdpVerifier,
    add_data_integrity_proof,
    verify_data_integrity_proof,
)
from openbadgeslib.ob3.verifier import OB3VerificationError
from sqlalchemy import delete, func, select

from engine.api.app import create_app
from engine.errors import NetworkInvalid
from engine.networks import load_network_text
from engine.openbadges import data_integrity as di
from engine.openbadges import keys
from engine.services import badge_documents, issuer_keys, networks
from engine.services.access import Actor
from engine.services.organisations import get_organisation
from engine.services.runtime import Runtime
from engine.store.tables import IssuerKey
from tests.engine.openbadges.conftest import BASE

NETWORK_FILES = Path(__file__).parents[3] / "networks"


def _with_data_integrity(rt: Runtime) -> None:
    """SATO publishes a new version of its network file, choosing Data Integrity proofs too."""
    text = (NETWORK_FILES / "sato.yaml").read_text(encoding="utf-8")
    assert "credentials:" not in text
    text = re.sub(r"(?m)^version: \d+$", "version: 99", text, count=1)
    text += "\ncredentials:\n  proofs: [vc-jwt, data-integrity]\n"
    networks.publish(rt, load_network_text(text), by=Actor.system())


def _key_rows(rt: Runtime, slug: str | None = None, algorithm: str | None = None) -> int:
    query = select(func.count()).select_from(IssuerKey)
    with rt.unit_of_work() as s:
        if slug is not None:
            query = query.where(IssuerKey.organisation_id == get_organisation(s, slug).id)
        if algorithm is not None:
            query = query.where(IssuerKey.algorithm == algorithm)
        return s.execute(query).scalar_one()


def _resolve(issued, method_url: str) -> dict:
    """The verification method as a stranger gets it: its URL, answered as JSON-LD."""
    resp = issued.client.get(method_url.removeprefix(BASE))
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("application/ld+json")
    return resp.json()


def _pem(issued, doc: dict) -> bytes:
    """The public key the proof names, decoded by openbadgeslib from its publicKeyMultibase."""
    return _pem_from_vm(_resolve(issued, doc["proof"]["verificationMethod"]))


def test_openbadgeslib_verifies_the_data_integrity_proof(issued, u) -> None:
    _with_data_integrity(issued.rt)
    # a stranger gets it from the credential's URL, asking for JSON-LD
    resp = issued.client.get(
        f"/ob/v3/credentials/{issued.assertion}", headers={"Accept": "application/vc+ld+json"}
    )
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("application/vc+ld+json")
    doc = resp.json()
    proof = doc["proof"]
    assert proof["type"] == "DataIntegrityProof"
    assert proof["cryptosuite"] == "eddsa-rdfc-2022"
    assert proof["proofPurpose"] == "assertionMethod"
    assert proof["verificationMethod"].startswith(f"{BASE}/ob/v3/issuers/sato/keys/")
    assert proof["proofValue"].startswith("z") and datetime.fromisoformat(proof["created"])
    pem = _pem(issued, doc)
    # the full OB 3.0 check: the JSON is the compacted form of what is signed, then the proof
    credential = OB3LdpVerifier(pubkey_pem=pem).verify(json.dumps(doc))
    assert credential.achievement.name == "Jeu de piste en entreprises"
    assert credential.issuer.id == u.profile3("sato")
    verify_data_integrity_proof(doc, pem)
    # the VC-JWT is still there, for the same badge
    assert issued.client.get(f"/ob/v3/credentials/{issued.assertion}").status_code == 200


def test_the_proof_is_the_one_openbadgeslib_would_make(issued, u) -> None:
    """Same key, same time: Ed25519 is deterministic, so the two implementations of RDFC-1.0
    canonicalization and hashing must give the very same proofValue."""
    _with_data_integrity(issued.rt)
    doc = badge_documents.credential_document(issued.rt, issued.assertion, u)
    kid = doc["proof"]["verificationMethod"].rsplit("/", 1)[1]
    with issued.rt.unit_of_work() as s:
        pem = s.execute(select(IssuerKey.private_pem).where(IssuerKey.kid == kid)).scalar_one()
    private = keys.load_ed25519(pem).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    unsecured = {k: v for k, v in doc.items() if k != "proof"}
    theirs = add_data_integrity_proof(
        unsecured,
        private,
        doc["proof"]["verificationMethod"],
        created=datetime.fromisoformat(doc["proof"]["created"]),
    )
    assert theirs["proof"] == doc["proof"]


def test_a_tampered_credential_fails(issued, u) -> None:
    _with_data_integrity(issued.rt)
    doc = badge_documents.credential_document(issued.rt, issued.assertion, u)
    pem = _pem(issued, doc)
    forged = json.loads(json.dumps(doc))
    forged["credentialSubject"]["achievement"]["name"] = "Soudeur certifié"
    with pytest.raises(OB3VerificationError, match="signature mismatch"):
        OB3LdpVerifier(pubkey_pem=pem).verify(forged)
    later = json.loads(json.dumps(doc))
    later["validFrom"] = "2020-01-01T00:00:00Z"
    with pytest.raises(OB3VerificationError, match="signature mismatch"):
        OB3LdpVerifier(pubkey_pem=pem).verify(later)
    public = keys.ed25519_public(_okp(issued, doc))
    assert di.verify_proof(doc, public) and not di.verify_proof(forged, public)


def _okp(issued, doc: dict) -> dict:
    """The stored public JWK of the key the proof names."""
    kid = doc["proof"]["verificationMethod"].rsplit("/", 1)[1]
    with issued.rt.unit_of_work() as s:
        return s.execute(select(IssuerKey.public_jwk).where(IssuerKey.kid == kid)).scalar_one()


def test_a_credential_signed_before_a_key_rotation_still_verifies(issued, u) -> None:
    _with_data_integrity(issued.rt)
    old = badge_documents.credential_document(issued.rt, issued.assertion, u)
    issuer_keys.rotate_key(issued.rt, "sato")
    new = badge_documents.credential_document(issued.rt, issued.assertion, u)
    assert old["proof"]["verificationMethod"] != new["proof"]["verificationMethod"]
    for doc in (old, new):
        OB3LdpVerifier(pubkey_pem=_pem(issued, doc)).verify(doc)
    with pytest.raises(OB3VerificationError):  # each key verifies only what it signed
        OB3LdpVerifier(pubkey_pem=_pem(issued, new)).verify(old)
    profile = issued.client.get("/ob/v3/issuers/sato").json()
    methods = [m["id"] for m in profile["verificationMethod"]]
    assert methods == [old["proof"]["verificationMethod"], new["proof"]["verificationMethod"]]
    assert profile["assertionMethod"] == methods
    assert _key_rows(issued.rt, "sato", keys.ED25519) == 2


def test_the_profile_publishes_the_multikey_and_its_url_resolves(rt: Runtime, u) -> None:
    """INAÉ's network file chooses Data Integrity: its key exists as soon as it is published,
    before any badge is signed."""
    assert rt.network_definitions()["inae"].credentials.proofs == ("vc-jwt", "data-integrity")
    client = TestClient(create_app(rt, BASE), base_url=BASE)
    profile = client.get("/ob/v3/issuers/inae")
    assert profile.headers["content-type"].startswith("application/ld+json")
    profile = profile.json()
    assert di.MULTIKEY_CONTEXT in profile["@context"]
    [method] = profile["verificationMethod"]
    assert method["type"] == "Multikey" and method["controller"] == profile["id"]
    assert method["publicKeyMultibase"].startswith("z6Mk")  # 0xed01: an Ed25519 public key
    assert profile["assertionMethod"] == [method["id"]]
    assert method["id"].startswith(f"{BASE}/ob/v3/issuers/inae/keys/")
    resolved = client.get(method["id"].removeprefix(BASE))
    assert resolved.headers["content-type"].startswith("application/ld+json")
    assert resolved.json() == {"@context": di.MULTIKEY_CONTEXT, **method}  # and nothing private
    assert client.get("/ob/v3/issuers/inae/keys/inconnue").status_code == 404


def test_a_network_with_vc_jwt_only_gets_no_proof(issued, u) -> None:
    assert issued.rt.network_definitions()["sato"].credentials.proofs == ("vc-jwt",)
    doc = badge_documents.credential_document(issued.rt, issued.assertion, u)
    assert "proof" not in doc
    assert "verificationMethod" not in issued.client.get("/ob/v3/issuers/sato").json()
    assert _key_rows(issued.rt, "sato", keys.ED25519) == 0


def test_the_jwk_set_lists_a_key_right_after_publishing(rt: Runtime) -> None:
    client = TestClient(create_app(rt, BASE), base_url=BASE)
    for network in ("sato", "inae", "centre_val_de_loire"):
        found = client.get(f"/ob/v3/issuers/{network}/jwks").json()["keys"]
        assert [k["alg"] for k in found] == ["RS256"], network
        assert all("d" not in k for k in found)
    # a database whose networks were published before keys were made there: publishing the
    # same version again (every deploy does) gives them their keys
    with rt.unit_of_work() as s:
        s.execute(delete(IssuerKey))
    assert client.get("/ob/v3/issuers/inae/jwks").json()["keys"] == []
    text = (NETWORK_FILES / "inae.yaml").read_text(encoding="utf-8")
    assert not networks.publish(rt, load_network_text(text), by=Actor.system()).new
    assert len(client.get("/ob/v3/issuers/inae/jwks").json()["keys"]) == 1
    assert _key_rows(rt, "inae", keys.ED25519) == 1


def test_reading_a_status_list_never_makes_a_key(issued, u) -> None:
    badge_documents.credential_jwt(issued.rt, issued.assertion, u)
    before = _key_rows(issued.rt)
    assert issued.client.get("/ob/v3/issuers/sato/status/0").status_code == 200
    assert issued.client.get("/ob/v3/issuers/geiq-industrie/status/0").status_code == 404
    assert _key_rows(issued.rt) == before
    with issued.rt.unit_of_work() as s:
        s.execute(delete(IssuerKey))
    resp = issued.client.get("/ob/v3/issuers/sato/status/0")
    assert resp.status_code == 404 and "statut" in resp.json()["detail"]
    assert issued.client.get("/ob/v3/issuers/sato/jwks").json()["keys"] == []
    assert issued.client.get("/ob/v3/issuers/sato").status_code == 200
    assert _key_rows(issued.rt) == 0


def test_the_canonicalizer_reads_only_local_contexts() -> None:
    with pytest.raises(di.ContextRefused):
        di.load_context("https://evil.example/context.json")
    doc = {"@context": ["https://evil.example/context.json"], "name": "x"}
    with pytest.raises(Exception) as caught:
        di.canonicalize(doc)
    chain, exc = [], caught.value
    while exc is not None:
        chain.append(exc)
        exc = exc.__cause__ or exc.__context__
    assert any(isinstance(e, di.ContextRefused) for e in chain)
    for url in di.LOCAL_CONTEXTS:
        assert di.load_context(url)["document"]["@context"]


def test_a_network_file_must_keep_vc_jwt() -> None:
    text = (NETWORK_FILES / "sato.yaml").read_text(encoding="utf-8")
    for proofs in ("[data-integrity]", "[vc-jwt, ldp]"):
        with pytest.raises(NetworkInvalid):
            load_network_text(text + f"\ncredentials:\n  proofs: {proofs}\n")
    default = load_network_text(text).definition
    # a file without the field dumps as before: networks published earlier keep their digest
    assert "credentials" not in default.model_dump(mode="json")
    assert default.credentials.proofs == ("vc-jwt",)
