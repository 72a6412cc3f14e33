"""Recipient identities, hashed with a salt so a public badge never shows an e-mail address,
a telephone number or the holder's profile URL in clear."""

from __future__ import annotations

import hashlib
import hmac
import re

PHONE = re.compile(r"^\+[1-9]\d{7,14}$")
"""E.164: `+`, the country code and the number, 8 to 15 digits in all."""


def hash_identity(plaintext: str, salt: str, *, fold_case: bool = True) -> str:
    """OB 2.0 / 3.0 IdentityHash: `sha256$` + hex(sha256(identity + salt)). An e-mail is
    lower-cased first; a URL or a telephone number (`fold_case=False`) is hashed as written,
    as the IMS validator hashes what a verifier gives it."""
    text = plaintext.strip()
    text = text.lower() if fold_case else text
    digest = hashlib.sha256((text + salt).encode("utf-8")).hexdigest()
    return f"sha256${digest}"


def matches(identity_hash: str, plaintext: str, salt: str, *, fold_case: bool = True) -> bool:
    """Does this e-mail (or URL, telephone with `fold_case=False`) own the badge? Constant-time."""
    expected = hash_identity(plaintext, salt, fold_case=fold_case)
    return hmac.compare_digest(identity_hash.lower(), expected)


def normalise_phone(value: str) -> str:
    """A telephone number as E.164 (`+33612345678`): spaces, dots, dashes and brackets go, a
    French national number (`06 12 34 56 78`) gets `+33`. Raises ValueError in French."""
    digits = re.sub(r"[\s.\-()]", "", value)
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    elif re.fullmatch(r"0[1-9]\d{8}", digits):
        digits = "+33" + digits[1:]
    if not PHONE.match(digits):
        raise ValueError(
            "numéro de téléphone invalide : au format international (+33 6 12 34 56 78) "
            "ou français (06 12 34 56 78)"
        )
    return digits


def recipient_for(
    salt: str, *, email: str | None, phone: str | None = None, profile: str | None = None
) -> tuple[str, str]:
    """(OB 2.0 identity type, hashed identity), decided when the badge is issued: the person's
    e-mail when they have one; else their telephone (E.164), when that is how they are
    reached; else the URL of their public profile (`/profils/<subject>`), which is also the
    subject of the badge's OB 3.0 credential. Badges issued before a profile existed kept a
    URL identity over `urn:uuid:<assertion id>`: they still verify by their page."""
    if email:
        return "email", hash_identity(email, salt)
    if phone:
        return "telephone", hash_identity(phone, salt, fold_case=False)
    if not profile:
        raise ValueError("a recipient needs an e-mail, a telephone or a profile URL")
    return "url", hash_identity(profile, salt, fold_case=False)
