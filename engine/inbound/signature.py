"""The signature of an inbound event: HMAC-SHA256 with the secret shared by one network and
one source, over the request's timestamp and raw body, in one header:

    X-Parcours-Signature: reseau=<network>,t=<unix seconds>,v1=<hex HMAC-SHA256>

where the HMAC is computed over the bytes `<t>.<raw body>`. The network is named in the header
because the path (`/api/v1/inbound/{source}`) is the same for every network: it says which
secret to check with, and a signature made with another network's secret never verifies. The
timestamp is signed too, so a captured request cannot be replayed once it is older than
`TOLERANCE`. Several `v1=` values may be given (while a sender rotates its secret); one
matching is enough. The shape follows Stripe's `Stripe-Signature` header.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

HEADER = "X-Parcours-Signature"
TOLERANCE = timedelta(minutes=5)
"""How far the signed timestamp may be from the server's clock, either way."""


class SignatureError(ValueError):
    """A missing, malformed, stale or wrong signature; the message is French."""


@dataclass(frozen=True)
class Signed:
    network: str
    timestamp: int
    digests: tuple[str, ...]


def parse(header: str | None) -> Signed:
    """The header's parts, or SignatureError saying what is wrong with it."""
    if not header or not header.strip():
        raise SignatureError(f"en-tête {HEADER} absent")
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if not sep or not value.strip():
            raise SignatureError(
                f"en-tête {HEADER} illisible : « reseau=<réseau>,t=<horodatage>,v1=<hmac> » attendu"
            )
        parts.setdefault(key.strip(), []).append(value.strip())
    network = (parts.get("reseau") or [""])[0]
    stamp = (parts.get("t") or [""])[0]
    digests = tuple(parts.get("v1") or ())
    if not network or not digests or not (stamp.isascii() and stamp.isdigit()) or len(stamp) > 12:
        raise SignatureError(
            f"en-tête {HEADER} incomplet : « reseau=<réseau>,t=<horodatage>,v1=<hmac> » attendu"
        )
    return Signed(network, int(stamp), digests)


def digest(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def header(secret: str, network: str, body: bytes, at: datetime) -> str:
    """The header a sender puts on `body` sent at `at` (for partners' relays and tests)."""
    stamp = int(at.timestamp())
    return f"reseau={network},t={stamp},v1={digest(secret, stamp, body)}"


def verify(signed: Signed, secret: str, body: bytes, now: datetime) -> None:
    """Nothing when one `v1` is the body's HMAC and the timestamp is recent; SignatureError
    otherwise. Digests are compared in constant time."""
    if abs(now.timestamp() - signed.timestamp) > TOLERANCE.total_seconds():
        raise SignatureError(
            "horodatage de la signature trop éloigné de l'heure du serveur "
            f"(plus de {int(TOLERANCE.total_seconds() // 60)} minutes) : requête refusée"
        )
    expected = digest(secret, signed.timestamp, body)
    if not any(hmac.compare_digest(expected.encode(), d.lower().encode()) for d in signed.digests):
        raise SignatureError("signature invalide pour ce réseau et cette source")
