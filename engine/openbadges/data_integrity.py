"""W3C Data Integrity proofs, cryptosuite `eddsa-rdfc-2022` (W3C vc-di-eddsa), and Ed25519 keys
as `Multikey` verification methods.

The proof signs the RDF dataset the credential expands to: the document without its proof and
the proof options without `proofValue` (read in the document's `@context`) are each
canonicalized with RDFC-1.0 (pyld, which names it URDNA2015: same output), hashed with SHA-256,
and the 64-byte Ed25519 signature of hash(options) || hash(document) travels as a multibase
base58btc `proofValue`. pyld reads `@context` documents only through `load_context`, which
serves the local copies in `contexts/` (see SOURCES.md there) and refuses any other URL.
"""

from __future__ import annotations

import copy
import hashlib
import json
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pyld import jsonld

from engine.openbadges.ob2 import iso

CRYPTOSUITE = "eddsa-rdfc-2022"
MULTIKEY_CONTEXT = "https://w3id.org/security/multikey/v1"
_ED25519_PUB = b"\xed\x01"
"""Multicodec header of an Ed25519 public key (varint 0xed)."""

_CONTEXTS = Path(__file__).parent / "contexts"
LOCAL_CONTEXTS = {
    "https://www.w3.org/ns/credentials/v2": "credentials-v2.json",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json": "ob-v3p0-context-3.0.3.json",
    "https://w3id.org/security/data-integrity/v1": "data-integrity-v1.json",
}


class ContextRefused(ValueError):
    """A document names a JSON-LD context Parcours has no local copy of."""


@cache
def _context(name: str) -> dict[str, Any]:
    return json.loads((_CONTEXTS / name).read_text(encoding="utf-8"))


def load_context(url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """pyld's document loader: a local copy, or a refusal; never the network."""
    name = LOCAL_CONTEXTS.get(url)
    if name is None:
        raise ContextRefused(f"contexte JSON-LD inconnu, non chargé : {url}")
    return {"contextUrl": None, "documentUrl": url, "document": copy.deepcopy(_context(name))}


def canonicalize(doc: dict[str, Any]) -> str:
    """RDFC-1.0 canonical N-Quads of a JSON-LD document."""
    options = {
        "algorithm": "URDNA2015",
        "format": "application/n-quads",
        "documentLoader": load_context,
    }
    return jsonld.normalize(doc, options)  # type: ignore[arg-type]


def _hash_data(unsecured: dict[str, Any], proof_options: dict[str, Any]) -> bytes:
    options = {**proof_options, "@context": unsecured["@context"]}
    return (
        hashlib.sha256(canonicalize(options).encode()).digest()
        + hashlib.sha256(canonicalize(unsecured).encode()).digest()
    )


_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def base58btc(data: bytes) -> str:
    """Bitcoin base58 (multibase `z` without the `z`): leading zero bytes become `1`s."""
    n = int.from_bytes(data, "big")
    out = ""
    while n:
        n, r = divmod(n, 58)
        out = _B58[r] + out
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + out


def base58btc_decode(text: str) -> bytes:
    n = 0
    for ch in text:
        digit = _B58.find(ch)
        if digit < 0:
            raise ValueError(f"caractère base58 invalide : {ch!r}")
        n = n * 58 + digit
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return b"\0" * (len(text) - len(text.lstrip("1"))) + body


def public_key_multibase(key: Ed25519PublicKey) -> str:
    """`publicKeyMultibase` of a Multikey: `z` + base58btc(0xed01 || the 32 raw bytes)."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "z" + base58btc(_ED25519_PUB + raw)


def multikey(method_id: str, controller: str, key: Ed25519PublicKey) -> dict[str, Any]:
    """A Multikey verification method (W3C Controlled Identifiers / Data Integrity)."""
    return {
        "id": method_id,
        "type": "Multikey",
        "controller": controller,
        "publicKeyMultibase": public_key_multibase(key),
    }


def add_proof(
    doc: dict[str, Any], key: Ed25519PrivateKey, verification_method: str, created: datetime
) -> dict[str, Any]:
    """A copy of `doc` with an embedded `eddsa-rdfc-2022` DataIntegrityProof."""
    unsecured = {k: v for k, v in doc.items() if k != "proof"}
    proof = {
        "type": "DataIntegrityProof",
        "cryptosuite": CRYPTOSUITE,
        "created": iso(created),
        "verificationMethod": verification_method,
        "proofPurpose": "assertionMethod",
    }
    signature = key.sign(_hash_data(unsecured, proof))
    return {**unsecured, "proof": {**proof, "proofValue": "z" + base58btc(signature)}}


def verify_proof(doc: dict[str, Any], key: Ed25519PublicKey) -> bool:
    """Whether the document's `eddsa-rdfc-2022` proof holds for `key`."""
    proof = doc.get("proof")
    if not isinstance(proof, dict) or proof.get("cryptosuite") != CRYPTOSUITE:
        return False
    value = proof.get("proofValue")
    if not isinstance(value, str) or not value.startswith("z"):
        return False
    options = {k: v for k, v in proof.items() if k != "proofValue"}
    unsecured = {k: v for k, v in doc.items() if k != "proof"}
    try:
        key.verify(base58btc_decode(value[1:]), _hash_data(unsecured, options))
    except (InvalidSignature, ValueError):
        return False
    return True
