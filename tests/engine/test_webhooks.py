"""A partner chooses where its badges are sent, so the worker must not become a way into our own
network (SSRF): a webhook URL is https and public when it is registered, and again at every
connection the worker makes, on the very addresses it connects to (DNS rebinding). A receiver
checking our signatures answers « signature invalide » to any malformed header, never a crash."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI, Request
from sqlalchemy import Engine, select
from starlette.datastructures import Headers

from engine import webhooks
from engine.connectors import DeliveryFailed
from engine.errors import InvalidInput
from engine.services import shares
from engine.services.organisations import add_staff
from engine.services.runtime import Runtime
from engine.store.tables import Organisation, PartnerWebhook
from tests.conftest import actor, initialised, templated
from tests.third_party import free_port, serving
from tests.web.conftest import WORKFLOWS

GEIQ = "rh@geiq.example"
PUBLIC = "93.184.216.34"
PARTNER_HOST = "hooks.partenaire.test"


# --- verify: what a receiver does with headers anyone can send ----------------------------


def _signed(body: bytes = b"{}", secret: str = "whsec_x") -> dict[str, str]:
    return webhooks.headers(secret, int(time.time()), body, "cle")


def test_a_good_signature_is_taken() -> None:
    assert webhooks.verify("whsec_x", _signed(), b"{}", time.time()) is None


@pytest.mark.parametrize(
    "signature",
    ["v1=é", "v1=" + "€" * 64, "\udcff", "", "v1=" + "0" * 64, "v2=abc"],
    ids=["accent", "euro", "surrogate", "empty", "wrong", "other-version"],
)
def test_a_malformed_signature_is_refused_not_a_crash(signature: str) -> None:
    """A non-ASCII header made hmac.compare_digest raise TypeError: a 500 at the receiver."""
    received = {**_signed(), "Parcours-Signature": signature}
    assert webhooks.verify("whsec_x", received, b"{}", time.time()) == "signature invalide"


def test_a_header_decoded_by_starlette_is_refused_too() -> None:
    """Starlette decodes raw header bytes as latin-1: a UTF-8 é arrives as two characters."""
    raw = [(k.lower().encode(), v.encode()) for k, v in _signed().items()]
    raw = [(k, "v1=é".encode() if k == b"parcours-signature" else v) for k, v in raw]
    assert webhooks.verify("whsec_x", Headers(raw=raw), b"{}", time.time()) == (
        "signature invalide"
    )


@pytest.mark.parametrize("timestamp", ["", "abc", "١٢٣", "9" * 400, "-5", " 12", "1e9"], ids=repr)
def test_a_malformed_timestamp_is_refused_not_a_crash(timestamp: str) -> None:
    received = {**_signed(), "Parcours-Timestamp": timestamp}
    assert webhooks.verify("whsec_x", received, b"{}", time.time()) == (
        "horodatage absent ou illisible"
    )


# --- registration: set_webhook --------------------------------------------------------------


@pytest.fixture
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """Names the tests make resolve; answers can change between calls (DNS rebinding)."""
    answers: dict[str, list[str]] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):  # type: ignore[no-untyped-def]
        if isinstance(host, str) and host in answers:
            address = answers[host].pop(0) if len(answers[host]) > 1 else answers[host][0]
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            return [(family, socket.SOCK_STREAM, 6, "", (address, port or 0))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.delenv(webhooks.ALLOW_HTTP, raising=False)
    monkeypatch.delenv(webhooks.ALLOWED_HOSTS, raising=False)
    return answers


@pytest.fixture
@templated
def rt(db_engine: Engine) -> Runtime:
    runtime = initialised(Runtime(db_engine, workflows=WORKFLOWS))
    with runtime.unit_of_work() as s:
        add_staff(s, GEIQ, "Gwen", "Le Bris", [("geiq-industrie", "partner")])
    return runtime


def _hook_url(rt: Runtime) -> str | None:
    with rt.unit_of_work() as s:
        return s.execute(
            select(PartnerWebhook.url)
            .join(Organisation, Organisation.id == PartnerWebhook.organisation_id)
            .where(Organisation.slug == "geiq-industrie")
        ).scalar_one_or_none()


def _set(rt: Runtime, url: str) -> str:
    return shares.set_webhook(rt, "geiq-industrie", url, by=actor(rt, GEIQ))


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://localhost:8443/hook",
        "https://10.1.2.3/hook",
        "https://192.168.1.10/hook",
        "https://172.16.0.1/hook",
        "https://169.254.169.254/latest/meta-data/",  # a cloud's metadata service
        "https://100.64.0.1/hook",
        "https://0.0.0.0/hook",
        "https://224.0.0.1/hook",
        "https://240.0.0.1/hook",
        "https://[::1]/hook",
        "https://[fe80::1]/hook",
        "https://[fd00::1]/hook",
        "https://[ff02::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://[2002:7f00:1::]/hook",  # 127.0.0.1 inside a 6to4 address
        f"https://{PARTNER_HOST}/hook",  # a name that resolves to a private address
    ],
)
def test_a_webhook_to_a_non_public_address_is_refused(rt, fake_dns, url: str) -> None:
    fake_dns[PARTNER_HOST] = ["10.0.0.7"]
    with pytest.raises(InvalidInput, match=r"^url : « .+ » mène à une adresse non publique"):
        _set(rt, url)
    assert _hook_url(rt) is None


@pytest.mark.parametrize(
    "url", ["http://geiq.example/hook", "ftp://geiq.example/", "https:///hook", "geiq.example"]
)
def test_a_webhook_must_be_https(rt, fake_dns, url: str) -> None:
    with pytest.raises(InvalidInput, match="^url : adresse https attendue"):
        _set(rt, url)
    assert _hook_url(rt) is None


def test_no_credentials_in_a_webhook_url(rt, fake_dns) -> None:
    with pytest.raises(InvalidInput, match="^url : pas d'identifiant"):
        _set(rt, "https://geiq:secret@geiq.example/hook")


def test_a_public_or_not_yet_resolvable_https_url_is_taken(rt, fake_dns) -> None:
    fake_dns[PARTNER_HOST] = [PUBLIC]
    assert _set(rt, f"https://{PARTNER_HOST}/parcours").startswith("whsec_")
    assert _hook_url(rt) == f"https://{PARTNER_HOST}/parcours"
    _set(rt, "https://geiq.example/hook")  # .example never resolves: checked again at send
    assert _hook_url(rt) == "https://geiq.example/hook"


def test_an_administrator_may_allow_an_internal_receiver(rt, fake_dns, monkeypatch) -> None:
    fake_dns["hooks.intranet"] = ["10.20.0.5"]
    monkeypatch.setenv(webhooks.ALLOWED_HOSTS, "hooks.intranet, 192.168.0.0/16")
    _set(rt, "https://hooks.intranet/parcours")
    _set(rt, "https://192.168.4.4/parcours")
    with pytest.raises(InvalidInput, match="non publique"):
        _set(rt, "https://10.20.0.5/parcours")  # the name is allowed, not its address
    monkeypatch.setenv(webhooks.ALLOW_HTTP, "1")
    with pytest.raises(InvalidInput, match="non publique"):
        _set(rt, "http://127.0.0.1:9000/hook")  # http allowed does not mean loopback allowed
    monkeypatch.setenv(webhooks.ALLOWED_HOSTS, "127.0.0.1")
    _set(rt, "http://127.0.0.1:9000/hook")
    assert _hook_url(rt) == "http://127.0.0.1:9000/hook"


# --- sending: the worker's client checks where it connects ----------------------------------


class Receiver:
    """A local endpoint standing for whatever lives on our own network."""

    def __init__(self) -> None:
        self.hosts: list[str] = []
        self.app = FastAPI()

        @self.app.post("/hook")
        async def hook(request: Request) -> dict[str, str]:
            self.hosts.append(request.headers["host"])
            return {"ok": "oui"}


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, int]]:
    got, port = Receiver(), free_port()
    with serving(got.app, port):
        yield got, port


def test_the_worker_does_not_reach_loopback_even_with_http_allowed(
    receiver, fake_dns, monkeypatch
) -> None:
    got, port = receiver
    monkeypatch.setenv(webhooks.ALLOW_HTTP, "1")
    with webhooks.client() as http, pytest.raises(webhooks.UnsafeTarget, match="non publique"):
        http.post(f"http://127.0.0.1:{port}/hook", content=b"{}")
    assert got.hosts == []


def test_a_name_that_turns_private_after_registration_is_not_reached(
    rt, receiver, fake_dns, monkeypatch
) -> None:
    """DNS rebinding: public when registered, loopback when the worker sends."""
    got, port = receiver
    monkeypatch.setenv(webhooks.ALLOW_HTTP, "1")
    fake_dns[PARTNER_HOST] = [PUBLIC, "127.0.0.1"]
    url = f"http://{PARTNER_HOST}:{port}/hook"
    _set(rt, url)
    with webhooks.client() as http, pytest.raises(DeliveryFailed, match="non publique"):
        http.post(url, content=b"{}")  # DeliveryFailed: the outbox retries, then gives up
    with pytest.raises(webhooks.UnsafeTarget):
        webhooks.check_target(url)
    assert got.hosts == []


def test_the_worker_connects_to_the_address_it_checked(receiver, fake_dns, monkeypatch) -> None:
    """The client resolves once and connects to that address; the HTTP library never asks
    DNS again (it would get another answer), and the partner still sees its own host name."""
    got, port = receiver
    monkeypatch.setenv(webhooks.ALLOW_HTTP, "1")
    monkeypatch.setenv(webhooks.ALLOWED_HOSTS, "127.0.0.1")
    fake_dns[PARTNER_HOST] = ["127.0.0.1", "127.0.0.1", PUBLIC]  # a third lookup goes astray
    with webhooks.client() as http:
        for _ in range(2):
            resp = http.post(f"http://{PARTNER_HOST}:{port}/hook", content=b"{}")
            assert resp.status_code == 200
    assert got.hosts == [f"{PARTNER_HOST}:{port}"] * 2
    assert fake_dns[PARTNER_HOST] == [PUBLIC]  # exactly one lookup per request


def test_a_partner_s_pool_and_its_tls_context_are_built_once(
    receiver, fake_dns, monkeypatch
) -> None:
    """Each delivery to a partner reuses its connection pool: building one loads the system's
    certificates (20 ms, most of a delivery's cost when it was built for every request)."""
    got, port = receiver
    monkeypatch.setenv(webhooks.ALLOW_HTTP, "1")
    monkeypatch.setenv(webhooks.ALLOWED_HOSTS, "127.0.0.1")
    fake_dns[PARTNER_HOST] = ["127.0.0.1"] * 3
    built = []

    class Counted(httpx.HTTPTransport):
        def __init__(self, *args, **kwargs) -> None:
            built.append(1)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(webhooks.httpx, "HTTPTransport", Counted)
    with webhooks.client() as http:
        for _ in range(3):
            assert http.post(f"http://{PARTNER_HOST}:{port}/hook", content=b"{}").status_code == 200
    assert len(got.hosts) == 3
    assert len(built) == 1
