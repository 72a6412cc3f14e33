"""Connectors: where issued badges go beyond Parcours (a participant's backpack, a network's
Open Badge Factory account). Plugins provide them through ``parcours_passport_connectors``;
the outbox calls them, so a connector only has to say what to send and how.

`ObfConnector` speaks the public API that Open Badge Factory documents (OAuth2 client
credentials, then ``POST /v1/badge/{client_id}/{badge_id}`` with the recipients' e-mails); the
badge reaches the recipient's Open Badge Passport through the e-mail OBF sends.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx
import yaml


@dataclass(frozen=True)
class IssuedFor:
    """What a connector may use of a badge just issued."""

    assertion_id: str
    badge: str
    network: str
    email: str | None
    assertion_url: str
    issued_on: int


class Connector(Protocol):
    name: str
    network: str

    def enabled(self) -> bool: ...

    def payload(self, issued: IssuedFor) -> dict[str, Any] | None:
        """What to queue for this badge, or None when this connector does not take it."""

    def send(self, payload: dict[str, Any], key: str) -> str:
        """Deliver; returns the receiver's reference. Raises on failure (retried later)."""


class DeliveryFailed(Exception):
    """A delivery the receiver refused or could not take; the outbox retries it."""


@dataclass
class ObfConnector:
    """Open Badge Factory, configured by environment: ``PARCOURS_OBF_<NETWORK>_URL`` (default
    https://openbadgefactory.com), ``_CLIENT_ID`` and ``_CLIENT_SECRET``. `badges` maps a
    Parcours badge to the OBF badge id that mirrors it in the network's OBF account."""

    name: str
    network: str
    badges: dict[str, str]
    email_subject: str
    email_body: str
    email_link_text: str = "Accepter le badge"
    timeout: float = 10.0
    _token: str | None = field(default=None, repr=False)

    @classmethod
    def from_file(cls, mapping: Path, **kw: Any) -> ObfConnector:
        """A connector whose badge mapping (`badges:` Parcours id -> OBF id) is a plugin's
        YAML file."""
        data = yaml.safe_load(mapping.read_text(encoding="utf-8")) or {}
        return cls(badges=dict(data.get("badges") or {}), **kw)

    def _env(self, suffix: str, default: str | None = None) -> str | None:
        return os.environ.get(f"PARCOURS_OBF_{self.network.upper()}_{suffix}", default)

    def enabled(self) -> bool:
        return bool(self._env("CLIENT_ID") and self._env("CLIENT_SECRET"))

    def payload(self, issued: IssuedFor) -> dict[str, Any] | None:
        obf_badge = self.badges.get(issued.badge)
        if obf_badge is None or not issued.email:
            return None
        return {
            "badge_id": obf_badge,
            "body": {
                "recipient": [issued.email],
                "issued_on": issued.issued_on,
                "email_subject": self.email_subject,
                "email_body": self.email_body,
                "email_link_text": self.email_link_text,
                "api_consumer_id": "parcours",
                "log_entry": {"parcours_assertion": issued.assertion_url},
            },
        }

    def _base(self) -> str:
        return (self._env("URL", "https://openbadgefactory.com") or "").rstrip("/")

    def _access_token(self, client: httpx.Client) -> str:
        if self._token is None:
            resp = client.post(
                f"{self._base()}/v1/client/oauth2/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": self._env("CLIENT_ID"),
                    "client_secret": self._env("CLIENT_SECRET"),
                },
            )
            if resp.status_code != 200:
                raise DeliveryFailed(f"OBF : jeton refusé ({resp.status_code})")
            self._token = resp.json()["access_token"]
        return self._token

    def send(self, payload: dict[str, Any], key: str) -> str:
        client_id = self._env("CLIENT_ID")
        body = {**payload["body"], "log_entry": {**payload["body"]["log_entry"], "key": key}}
        with httpx.Client(timeout=self.timeout) as client:
            for _ in range(2):  # once more with a fresh token if the cached one expired
                resp = client.post(
                    f"{self._base()}/v1/badge/{client_id}/{payload['badge_id']}",
                    json=body,
                    headers={"Authorization": f"Bearer {self._access_token(client)}"},
                )
                if resp.status_code != 401:
                    break
                self._token = None
        if resp.status_code != 201:
            raise DeliveryFailed(f"OBF : émission refusée ({resp.status_code} {resp.text[:200]})")
        return resp.headers.get("Location", "")
