"""Issuer signing keys: generated per issuer, kept in the database (never served), rotatable.

RS256 because OB 3.0 requires every verifier to accept it. With PARCOURS_KEY_PASSPHRASE set,
private keys are stored encrypted (PKCS#8, best available encryption) and useless to anyone
reading a database dump without it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from cryptography.hazmat.primitives import serialization
from joserfc.jwk import RSAKey

ALGORITHM = "RS256"


def _passphrase() -> bytes | None:
    value = os.environ.get("PARCOURS_KEY_PASSPHRASE")
    return value.encode() if value else None


@dataclass(frozen=True)
class NewKey:
    kid: str
    public_jwk: dict[str, Any]
    private_pem: bytes


def generate() -> NewKey:
    key = RSAKey.generate_key(2048, private=True)
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
    public = {**key.as_dict(private=False), "kid": kid, "alg": ALGORITHM, "use": "sig"}
    return NewKey(kid, public, pem)


@lru_cache(maxsize=256)
def load_private(pem: bytes) -> RSAKey:
    """Parsing an RSA key costs milliseconds; each issuer's is parsed once per process."""
    private = serialization.load_pem_private_key(pem, password=_passphrase())
    plain = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return RSAKey.import_key(plain)


def load_public(jwk: dict[str, Any]) -> RSAKey:
    return RSAKey.import_key({k: v for k, v in jwk.items() if k in ("kty", "n", "e")})


@dataclass(frozen=True)
class SigningKey:
    """The active private key of an issuer, with the URL its `kid` header points at."""

    kid_url: str
    key: RSAKey
