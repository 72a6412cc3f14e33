"""Recipient identities, hashed with a salt so a public badge never shows an e-mail address."""

from __future__ import annotations

import hashlib
import hmac


def hash_identity(plaintext: str, salt: str) -> str:
    """OB 2.0 / 3.0 IdentityHash: `sha256$` + hex(sha256(identity + salt))."""
    digest = hashlib.sha256((plaintext.strip().lower() + salt).encode("utf-8")).hexdigest()
    return f"sha256${digest}"


def matches(identity_hash: str, plaintext: str, salt: str) -> bool:
    """Does this e-mail (or URL) own the badge? Constant-time, case-insensitive on the e-mail."""
    return hmac.compare_digest(identity_hash.lower(), hash_identity(plaintext, salt))


def recipient_for(email: str | None, assertion_id: str, salt: str) -> tuple[str, str]:
    """(type, hashed identity) at issue time. A participant without e-mail (common in the IAE)
    gets a URL identity naming the badge itself: verifiable by its page and QR code, not
    matchable by a backpack until the badge is reissued to an address."""
    if email:
        return "email", hash_identity(email, salt)
    return "url", hash_identity(f"urn:uuid:{assertion_id}", salt)
