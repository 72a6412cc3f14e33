"""Signed partner webhooks. Each POST carries:

- ``Parcours-Timestamp``: Unix seconds when it was signed;
- ``Parcours-Signature``: ``v1=`` + hex HMAC-SHA256 of ``"{timestamp}.{body}"`` with the
  partner's secret;
- ``Idempotency-Key``: the same on every retry of one delivery, so a receiver that keeps the
  keys it has taken never takes a badge twice.

A receiver refuses a signature that does not match, and a timestamp more than five minutes
away from its clock (replay protection). `verify` is the reference implementation.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

TOLERANCE = 300


def body_of(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def headers(secret: str, timestamp: int, body: bytes, key: str) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "Parcours-Timestamp": str(timestamp),
        "Parcours-Signature": signature(secret, timestamp, body),
        "Idempotency-Key": key,
    }


def verify(secret: str, received: Mapping[str, str], body: bytes, now: float) -> str | None:
    """None when the request is authentic and fresh, else why it is refused (in French)."""
    try:
        timestamp = int(received.get("parcours-timestamp") or received["Parcours-Timestamp"])
    except (KeyError, ValueError):
        return "horodatage absent ou illisible"
    if abs(now - timestamp) > TOLERANCE:
        return "horodatage trop ancien ou dans le futur (rejeu ?)"
    sent = received.get("parcours-signature") or received.get("Parcours-Signature") or ""
    if not hmac.compare_digest(sent, signature(secret, timestamp, body)):
        return "signature invalide"
    return None
