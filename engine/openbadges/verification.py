"""Verifying a badge as a stranger would: from the file or URL alone, fetching only what the
issuer publishes. Says valid, revoked, expired or tampered, and why, in French."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from joserfc.errors import JoseError

from engine.errors import InvalidInput
from engine.openbadges import keys, ob3, status
from engine.openbadges.baking import unbake

Fetch = Callable[[str], tuple[int, bytes]]
"""GET a URL: (HTTP status, body)."""

MAX_FETCH_BYTES = 2 * 1024 * 1024


def http_fetch(url: str) -> tuple[int, bytes]:
    if urlsplit(url).scheme not in ("http", "https"):
        raise InvalidInput(f"adresse non prise en charge : {url}")
    try:
        with (
            httpx.Client(timeout=10, follow_redirects=True) as client,
            client.stream("GET", url) as resp,
        ):
            body = b""
            for chunk in resp.iter_bytes():
                body += chunk
                if len(body) > MAX_FETCH_BYTES:
                    raise InvalidInput(f"{url} : réponse trop volumineuse")
            return resp.status_code, body
    except httpx.HTTPError as exc:
        raise InvalidInput(f"{url} : injoignable ({exc})") from None


@dataclass
class Verdict:
    status: str  # valide | révoqué | expiré | altéré | invalide
    reasons: list[str] = field(default_factory=list)
    version: int | None = None
    badge: str | None = None
    issuer: str | None = None
    issued_on: str | None = None

    @property
    def valid(self) -> bool:
        return self.status == "valide"


def _json(fetch: Fetch, url: str, what: str) -> tuple[int, Any]:
    code, body = fetch(url)
    try:
        return code, json.loads(body)
    except ValueError:
        raise InvalidInput(f"{what} ({url}) : réponse qui n'est pas du JSON") from None


def _same_origin(a: str, b: str) -> bool:
    sa, sb = urlsplit(a), urlsplit(b)
    return (sa.scheme, sa.netloc) == (sb.scheme, sb.netloc)


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def _parse_time(value: str) -> datetime:
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


_COMPARED = ("recipient", "badge", "issuedOn", "expires", "evidence", "verification")


def verify_ob2(text: str, fetch: Fetch, now: datetime | None = None) -> Verdict:
    text = text.strip()
    embedded: dict[str, Any] | None = None
    if text.startswith("{"):
        try:
            embedded = json.loads(text)
        except ValueError:
            return Verdict("invalide", ["le badge intégré n'est pas du JSON lisible"], 2)
        url = embedded.get("id") if isinstance(embedded, dict) else None
        if not isinstance(url, str):
            return Verdict("invalide", ["l'assertion n'a pas d'identifiant (id)"], 2)
    else:
        url = text
    code, hosted = _json(fetch, url, "assertion")
    if code == 410 or (isinstance(hosted, dict) and hosted.get("revoked")):
        reason = hosted.get("revocationReason") if isinstance(hosted, dict) else None
        return Verdict("révoqué", [f"révoqué par l'émetteur : {reason or 'sans motif donné'}"], 2)
    if code != 200 or not isinstance(hosted, dict):
        return Verdict("invalide", [f"l'émetteur ne publie pas ce badge ({url} : HTTP {code})"], 2)
    if hosted.get("id") != url:
        return Verdict("altéré", ["l'assertion publiée ne porte pas l'adresse demandée"], 2)
    if embedded is not None:
        changed = [k for k in _COMPARED if embedded.get(k) != hosted.get(k)]
        if changed:
            return Verdict(
                "altéré",
                [
                    "le badge intégré diffère de celui publié par l'émetteur "
                    f"(champ(s) : {', '.join(changed)})"
                ],
                2,
            )
    badge_url = hosted.get("badge")
    if not isinstance(badge_url, str):
        return Verdict("invalide", ["l'assertion ne désigne pas son badge"], 2)
    _, bc = _json(fetch, badge_url, "badge")
    issuer_url = bc.get("issuer") if isinstance(bc, dict) else None
    if not isinstance(issuer_url, str):
        return Verdict("invalide", ["le badge ne désigne pas son émetteur"], 2)
    _, issuer = _json(fetch, issuer_url, "émetteur")
    verdict = Verdict(
        "valide",
        [],
        2,
        badge=bc.get("name"),
        issuer=issuer.get("name") if isinstance(issuer, dict) else None,
        issued_on=hosted.get("issuedOn"),
    )
    if not _same_origin(url, issuer_url):
        verdict.status = "invalide"
        verdict.reasons.append("l'assertion n'est pas hébergée chez son émetteur")
        return verdict
    revocations = issuer.get("revocationList") if isinstance(issuer, dict) else None
    if isinstance(revocations, str):
        _, rl = _json(fetch, revocations, "liste de révocation")
        for entry in rl.get("revokedAssertions", []) if isinstance(rl, dict) else []:
            if entry == url or (isinstance(entry, dict) and entry.get("id") == url):
                reason = entry.get("revocationReason") if isinstance(entry, dict) else None
                verdict.status = "révoqué"
                verdict.reasons.append(f"révoqué par l'émetteur : {reason or 'sans motif donné'}")
                return verdict
    expires = hosted.get("expires")
    if expires and _parse_time(expires) <= _now(now):
        verdict.status = "expiré"
        verdict.reasons.append(f"expiré depuis le {expires[:10]}")
        return verdict
    verdict.reasons.append(f"publié par {verdict.issuer} et conforme à l'original")
    return verdict


def _verified_jwt(token: str, fetch: Fetch) -> tuple[dict[str, Any], str]:
    """Check a VC-JWT against the key its `kid` names, which must be published by its issuer.
    Returns (payload, issuer id); raises ValueError with the French reason."""
    try:
        header, payload = ob3.unverified(token)
    except (JoseError, ValueError):
        raise ValueError("le jeton VC-JWT est illisible") from None
    issuer = payload.get("issuer")
    issuer_id = issuer.get("id") if isinstance(issuer, dict) else issuer
    kid = header.get("kid")
    if not isinstance(kid, str) or not isinstance(issuer_id, str):
        raise ValueError("le jeton ne désigne ni sa clé ni son émetteur")
    if not _same_origin(kid, issuer_id):
        raise ValueError("la clé de signature n'est pas publiée par l'émetteur")
    code, jwk = _json(fetch, kid, "clé publique")
    if code != 200 or not isinstance(jwk, dict):
        raise ValueError(f"clé publique introuvable ({kid})")
    try:
        return ob3.verify(token, keys.load_public(jwk)), issuer_id
    except (JoseError, ValueError, KeyError):
        raise ValueError("la signature ne correspond pas : le badge a été modifié") from None


def verify_ob3(token: str, fetch: Fetch, now: datetime | None = None) -> Verdict:
    token = token.strip()
    try:
        payload, _ = _verified_jwt(token, fetch)
    except ValueError as exc:
        status_word = "altéré" if "modifié" in str(exc) else "invalide"
        return Verdict(status_word, [str(exc)], 3)
    issuer = payload.get("issuer", {})
    subject = payload.get("credentialSubject", {})
    verdict = Verdict(
        "valide",
        [],
        3,
        badge=(subject.get("achievement") or {}).get("name"),
        issuer=issuer.get("name") if isinstance(issuer, dict) else None,
        issued_on=payload.get("validFrom"),
    )
    entry = payload.get("credentialStatus")
    if isinstance(entry, dict) and entry.get("type") == "BitstringStatusListEntry":
        try:
            listing, _ = _verified_jwt(fetch(entry["statusListCredential"])[1].decode(), fetch)
            encoded = listing["credentialSubject"]["encodedList"]
            revoked = status.is_set(encoded, int(entry["statusListIndex"]))
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
            verdict.status = "invalide"
            verdict.reasons.append(f"statut de révocation illisible : {exc}")
            return verdict
        if revoked:
            verdict.status = "révoqué"
            verdict.reasons.append("révoqué par l'émetteur (liste de statut)")
            return verdict
    until = payload.get("validUntil")
    if until and _parse_time(until) <= _now(now):
        verdict.status = "expiré"
        verdict.reasons.append(f"expiré depuis le {until[:10]}")
        return verdict
    verdict.reasons.append(f"signature valide de {verdict.issuer}")
    return verdict


def verify_file(data: bytes, name: str, fetch: Fetch = http_fetch, now=None) -> Verdict:
    baked = unbake(data, name)
    if baked.version == 3 or (baked.text.count(".") == 2 and not baked.text.startswith("{")):
        return verify_ob3(baked.text, fetch, now)
    return verify_ob2(baked.text, fetch, now)


def verify_url(url: str, fetch: Fetch = http_fetch, now=None) -> Verdict:
    """A URL of a hosted OB 2.0 assertion, an OB 3.0 credential, or a baked image."""
    code, body = fetch(url)
    if code == 410:
        return verify_ob2(url, fetch, now)
    if body.startswith(b"\x89PNG") or body.lstrip().startswith(b"<"):
        return verify_file(body, url, fetch, now)
    text = body.decode("utf-8", errors="replace").strip()
    if text.startswith("{"):
        return verify_ob2(url, fetch, now)
    return verify_ob3(text, fetch, now)
