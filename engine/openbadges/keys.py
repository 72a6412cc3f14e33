"""Issuer signing keys: generated per issuer, kept in the database (never served), rotatable.

RS256 because OB 3.0 requires every verifier to accept it (VC-JWT and status lists); Ed25519
for the Data Integrity proofs (`eddsa-rdfc-2022`) a network may add. With
PARCOURS_KEY_PASSPHRASE set, private keys are stored encrypted (PKCS#8, best available
encryption) and useless to anyone reading a database dump without it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from joserfc.jwk import OKPKey, RSAKey

ALGORITHM = "RS256"
ED25519 = "Ed25519"
"""`IssuerKey.algorithm` of the keys that sign Data Integrity proofs."""


def _passphrase() -> bytes | None:
    value = os.environ.get("PARCOURS_KEY_PASSPHRASE")
    return value.encode() if value else None


@dataclass(frozen=True)
class NewKey:
    kid: str
    public_jwk: dict[str, Any]
    private_pem: bytes


def generate(algorithm: str = ALGORITHM) -> NewKey:
    """A new key pair: RSA 2048 for RS256, or Ed25519. The key id is its JWK thumbprint."""
    if algorithm == ED25519:
        return _with_pem(OKPKey.generate_key("Ed25519", private=True), "EdDSA")
    return _with_pem(RSAKey.generate_key(2048, private=True), ALGORITHM)


def _with_pem(key: RSAKey | OKPKey, jws_alg: str) -> NewKey:
    passphrase = _passphrase()
    encryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    pem = key.private_key.private_bytes(  # type: ignore[union-attr]
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )
    kid = key.thumbprint()
    public = {**key.as_dict(private=False), "kid": kid, "alg": jws_alg, "use": "sig"}
    return NewKey(kid, public, pem)


@lru_cache(maxsize=256)
def load_private(pem: bytes) -> RSAKey:
    """Parsing an RSA key costs milliseconds; each issuer's is parsed once per process."""
    private = serialization.load_pem_private_key(pem, password=_passphrase())
    plain = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return RSAKey.import_key(plain)


@lru_cache(maxsize=256)
def load_ed25519(pem: bytes) -> Ed25519PrivateKey:
    private = serialization.load_pem_private_key(pem, password=_passphrase())
    if not isinstance(private, Ed25519PrivateKey):
        raise ValueError("clé Ed25519 attendue")
    return private


def ed25519_public(jwk: dict[str, Any]) -> Ed25519PublicKey:
    """The public half of a stored Ed25519 key, from its OKP JWK."""
    return OKPKey.import_key({k: jwk[k] for k in ("kty", "crv", "x")}).public_key  # type: ignore[return-value]


def load_public(jwk: dict[str, Any]) -> RSAKey:
    return RSAKey.import_key({k: v for k, v in jwk.items() if k in ("kty", "n", "e")})


@dataclass(frozen=True)
class SigningKey:
    """The active private key of an issuer, with the URL its `kid` header points at."""

    kid_url: str
    key: RSAKey


@dataclass(frozen=True)
class ProofKey:
    """The active Ed25519 key of an issuer, with its verification method URL."""

    verification_method: str
    key: Ed25519PrivateKey
