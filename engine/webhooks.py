"""Signed partner webhooks. Each POST carries:

- ``Parcours-Timestamp``: Unix seconds when it was signed;
- ``Parcours-Signature``: ``v1=`` + hex HMAC-SHA256 of ``"{timestamp}.{body}"`` with the
  partner's secret;
- ``Idempotency-Key``: the same on every retry of one delivery, so a receiver that keeps the
  keys it has taken never takes a badge twice.

A receiver refuses a signature that does not match, and a timestamp more than five minutes
away from its clock (replay protection). `verify` is the reference implementation.

Where the worker sends is a partner's choice, so it is held to what a public service may reach
(no server-side request forgery): https only, and never a loopback, private, link-local,
multicast or reserved address. `check_url` says so when the URL is registered; `client` checks
again at every connection, on the addresses it is about to connect to, and connects to exactly
those (a DNS answer that changes between the check and the connection, "DNS rebinding", cannot
slip a private address in). Two settings relax this, for tests and for an administrator who
means it:

- ``PARCOURS_ALLOW_HTTP_WEBHOOKS=1``: plain http is accepted (the tests' local receivers);
- ``PARCOURS_WEBHOOK_ALLOWED_HOSTS``: comma-separated host names, addresses or networks
  (``hooks.intranet, 10.20.0.0/16, 127.0.0.1``) that may be reached although not public.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import os
import socket
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx

from engine.connectors import DeliveryFailed
from engine.errors import InvalidInput

TOLERANCE = 300
ALLOW_HTTP = "PARCOURS_ALLOW_HTTP_WEBHOOKS"
ALLOWED_HOSTS = "PARCOURS_WEBHOOK_ALLOWED_HOSTS"

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeTarget(DeliveryFailed):
    """A webhook URL the worker must not reach; the delivery fails like a refused one."""


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
    """None when the request is authentic and fresh, else why it is refused (in French).
    Headers come from anyone: whatever they hold, the answer is a refusal, never an exception."""
    raw = received.get("parcours-timestamp") or received.get("Parcours-Timestamp")
    if not isinstance(raw, str) or not (raw.isascii() and raw.isdigit() and len(raw) <= 12):
        return "horodatage absent ou illisible"
    timestamp = int(raw)
    if abs(now - timestamp) > TOLERANCE:
        return "horodatage trop ancien ou dans le futur (rejeu ?)"
    sent = received.get("parcours-signature") or received.get("Parcours-Signature") or ""
    # compare_digest refuses non-ASCII text with a TypeError: compare bytes instead
    if not isinstance(sent, str) or not hmac.compare_digest(
        sent.encode("utf-8", "replace"), signature(secret, timestamp, body).encode()
    ):
        return "signature invalide"
    return None


def _allowed() -> tuple[set[str], list[ipaddress.IPv4Network | ipaddress.IPv6Network]]:
    names: set[str] = set()
    networks = []
    for item in os.environ.get(ALLOWED_HOSTS, "").split(","):
        item = item.strip().lower().strip("[]")
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            names.add(item.rstrip("."))
    return names, networks


def _public(address: Address) -> bool:
    """Reachable on the internet: not loopback, private, link-local, multicast, shared (CGNAT)
    or reserved, including an IPv4 address written inside an IPv6 one."""
    if not address.is_global or address.is_multicast or address.is_reserved:
        return False
    if isinstance(address, ipaddress.IPv6Address):
        inner = address.ipv4_mapped or address.sixtofour
        if inner is not None:
            return _public(inner)
    return True


def _parts(url: str) -> tuple[str, str, int]:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise InvalidInput("url : adresse illisible") from None
    scheme, host = parts.scheme.lower(), (parts.hostname or "").rstrip(".")
    if scheme not in ("https", "http") or not host:
        raise InvalidInput("url : adresse https attendue (https://…)")
    if scheme == "http" and os.environ.get(ALLOW_HTTP) != "1":
        raise InvalidInput("url : adresse https attendue ; le http en clair n'est pas accepté")
    if parts.username is not None or parts.password is not None:
        raise InvalidInput("url : pas d'identifiant ni de mot de passe dans l'adresse")
    return scheme, host, port or (443 if scheme == "https" else 80)


def _resolve(host: str, port: int) -> list[Address]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    # scope ids (fe80::1%eth0) are dropped: such an address is link-local, refused anyway
    return list(dict.fromkeys(ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos))


def _refused(host: str, addresses: list[Address]) -> list[Address]:
    names, networks = _allowed()
    if host.lower() in names:
        return []
    return [
        a
        for a in addresses
        if not _public(a) and not any(a.version == n.version and a in n for n in networks)
    ]


def check_url(url: str) -> None:
    """When a partner registers its URL: refused (InvalidInput, in French) unless it is https
    and its host is, or resolves to, public addresses only. A name that does not resolve yet is
    accepted: it is checked again when something is sent."""
    _scheme, host, port = _parts(url)
    try:
        addresses = _resolve(host, port)
    except OSError:
        return
    refused = _refused(host, addresses)
    if refused:
        raise InvalidInput(
            f"url : « {host} » mène à une adresse non publique ({refused[0]}) ; "
            f"un administrateur peut l'autoriser ({ALLOWED_HOSTS})"
        )


def check_target(url: str) -> list[Address]:
    """At send time: the addresses `url` resolves to now, all of them allowed; raises
    UnsafeTarget (a failed delivery, retried then dead-lettered) otherwise."""
    try:
        _scheme, host, port = _parts(url)
    except InvalidInput as exc:
        raise UnsafeTarget(f"webhook refusé : {exc}") from None
    try:
        addresses = _resolve(host, port)
    except OSError as exc:
        raise UnsafeTarget(f"webhook : « {host} » introuvable ({exc})") from None
    refused = _refused(host, addresses)
    if refused or not addresses:
        raise UnsafeTarget(
            f"webhook refusé : « {host} » mène à une adresse non publique "
            f"({refused[0] if refused else 'aucune'})"
        )
    return addresses


class _CheckedTransport(httpx.BaseTransport):
    """Resolves and checks each request's host, then connects to the checked address itself,
    keeping the host name for the Host header and for TLS (SNI and certificate check). One
    connection pool per host name: a connection verified for one partner's certificate is
    never reused for another partner hosted at the same address."""

    def __init__(self) -> None:
        self._pools: dict[str, httpx.HTTPTransport] = {}
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        address = check_target(str(request.url))[0]
        pinned = httpx.Request(
            request.method,
            request.url.copy_with(host=str(address)),
            headers=request.headers,  # still carries Host: the partner's name
            stream=request.stream,
            extensions={**request.extensions, "sni_hostname": host},
        )
        with self._lock:
            pool = self._pools.get(host)
            if pool is None:  # built once per host: each builds a TLS context (20 ms)
                pool = self._pools[host] = httpx.HTTPTransport()
        return pool.handle_request(pinned)

    def close(self) -> None:
        with self._lock:
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.close()


def client(timeout: float = 10.0) -> httpx.Client:
    """The HTTP client the outbox sends webhooks with: every connection goes through
    `check_target`, redirects are not followed, proxies from the environment are not used."""
    return httpx.Client(transport=_CheckedTransport(), timeout=timeout, follow_redirects=False)
