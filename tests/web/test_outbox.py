"""The outbox, end to end over real sockets: a partner's signed webhook (a receiver that
checks signatures and takes each idempotency key once), Open Badge Factory's API (a fake
server with its token and issue endpoints), e-mail (aiosmtpd on 127.0.0.1)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from fastapi import FastAPI, Form, Request, Response
from fastapi.testclient import TestClient
from sqlalchemy import select

from engine import webhooks
from engine.api.app import create_app
from engine.errors import Forbidden
from engine.services import accounts, outbox, people, requests, shares
from engine.services import enrollments as e
from engine.services.access import Actor
from engine.services.accounts import set_password
from engine.services.organisations import add_staff, upsert_organisation
from engine.store.tables import Delivery, as_utc
from tests.conftest import CIP, NETWORK_ADMIN, T0, actor
from tests.third_party import free_port, serving
from tests.web.conftest import BASE, PASSWORD, WORKFLOWS, login

INAE_ADMIN = "badges@inae.example"


@pytest.fixture(autouse=True)
def _partners_on_loopback(monkeypatch) -> None:
    """These partners listen on 127.0.0.1 over plain http: allowed here as an administrator
    allows a host (see `engine.webhooks`); production webhooks are https and public."""
    monkeypatch.setenv("PARCOURS_ALLOW_HTTP_WEBHOOKS", "1")
    monkeypatch.setenv("PARCOURS_WEBHOOK_ALLOWED_HOSTS", "127.0.0.1")


class Receiver:
    """A partner's webhook endpoint: refuses bad signatures and replays, takes a key once."""

    def __init__(self, secret: str = "") -> None:
        self.secret = secret
        self.seen: list[str] = []
        self.taken: dict[str, dict] = {}
        self.down = False
        self.hold = threading.Event()  # set: the next request waits until released
        self.holding = threading.Event()
        self.release = threading.Event()
        self.lock = threading.Lock()
        self.app = FastAPI()

        @self.app.post("/hook")
        async def hook(request: Request) -> Response:
            body = await request.body()
            if self.down:
                return Response(status_code=503)
            refused = webhooks.verify(self.secret, request.headers, body, time.time())
            if refused:
                return Response(refused, status_code=401)
            key = request.headers["idempotency-key"]
            if self.hold.is_set():
                self.hold.clear()
                self.holding.set()
                while not self.release.is_set():  # the worker gets killed meanwhile
                    await _sleep(0.05)
            with self.lock:
                self.seen.append(key)
                if key in self.taken:
                    return Response(status_code=409)
                import json

                self.taken[key] = json.loads(body)
            return Response(status_code=204)


async def _sleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)


def _geiq_with_webhook(web, url: str) -> str:
    with web.unit_of_work() as s:
        add_staff(s, "gwen@geiq.example", "Gwen", "Le Bris", [("geiq-industrie", "partner")])
    return shares.set_webhook(web, "geiq-industrie", url, by=actor(web, "gwen@geiq.example"))


def _complete_atelier(web, name: str = "Diallo", now=T0) -> int:
    cip = actor(web, CIP)
    eid = e.enroll(web, "atelier-decouverte", "sato-interim", e.Participant("Awa", name), by=cip)
    e.advance(web, eid, "demarrer", by=cip, now=now)
    e.add_evidence(web, eid, "fiche-atelier", by=cip, now=now)
    e.advance(web, eid, "valider-atelier", by=cip, now=now)  # shares with the GEIQ
    return eid


def _rows(web) -> list[Delivery]:
    with web.unit_of_work() as s:
        return list(s.execute(select(Delivery).order_by(Delivery.id)).scalars())


def test_a_stage_badge_reaches_the_partner_signed_once(web) -> None:
    receiver = Receiver()
    port = free_port()
    with serving(receiver.app, port):
        receiver.secret = _geiq_with_webhook(web, f"http://127.0.0.1:{port}/hook")
        _complete_atelier(web)
        [row] = _rows(web)
        assert (row.channel, row.target, row.status) == ("webhook", "geiq-industrie", "pending")
        assert outbox.work(web) == (1, 0)
        assert outbox.work(web) == (0, 0)
    [payload] = receiver.taken.values()
    assert payload["type"] == "badge.shared" and payload["partner"] == "geiq-industrie"
    assert payload["badge"]["badge_class"] == "sato.securite-atelier"
    assert payload["recipient"] == {"name": "Awa Diallo"}
    assert _rows(web)[0].status == "sent"
    body = webhooks.body_of(payload)
    assert webhooks.verify("autre", webhooks.headers("x", int(time.time()), body, "k"), body, 0)


def test_a_partner_down_for_hours_gets_the_badge_after_with_backoff(web) -> None:
    receiver = Receiver()
    port = free_port()
    with serving(receiver.app, port):
        receiver.secret = _geiq_with_webhook(web, f"http://127.0.0.1:{port}/hook")
        _complete_atelier(web)
        receiver.down = True
        now = T0
        waits = []
        for _ in range(8):  # about two hours of simulated retries
            assert outbox.work(web, now=now) == (0, 1)
            [row] = _rows(web)
            waits.append(row.next_attempt_at.replace(tzinfo=None) - now.replace(tzinfo=None))
            assert outbox.work(web, now=now + waits[-1] - timedelta(seconds=1)) == (0, 0)
            now += waits[-1]
        assert waits[:4] == [timedelta(seconds=s) for s in (30, 60, 120, 240)]
        assert row.status == "pending" and "503" in row.last_error
        receiver.down = False
        assert outbox.work(web, now=now) == (1, 0)
    assert len(receiver.taken) == 1 and _rows(web)[0].attempts == 9


def test_a_dead_delivery_is_shown_and_retried_by_an_admin(web) -> None:
    receiver = Receiver()
    port = free_port()
    with serving(receiver.app, port):
        receiver.secret = _geiq_with_webhook(web, f"http://127.0.0.1:{port}/hook")
        _complete_atelier(web)
        receiver.down = True
        now = T0
        for _ in range(outbox.MAX_ATTEMPTS):
            outbox.work(web, now=now)
            now += outbox.MAX_BACKOFF
        admin = actor(web, NETWORK_ADMIN)
        [dead], total = outbox.listing(web, admin, status="dead")
        assert total == 1 and dead.attempts == outbox.MAX_ATTEMPTS and dead.network == "sato"
        with pytest.raises(Forbidden, match="consulter les envois ici"):
            outbox.listing(web, actor(web, CIP))
        receiver.down = False
        # the network admin sees it in the web app and sends it again
        set_password(web, NETWORK_ADMIN, PASSWORD)
        page = TestClient(create_app(web, BASE), base_url=BASE)
        csrf = login(page, NETWORK_ADMIN)
        listed = page.get("/envois")
        assert listed.status_code == 200 and "503" in listed.text
        assert f"Relancer l'envoi n° {dead.id}" in listed.text
        cip = TestClient(create_app(web, BASE), base_url=BASE)
        login(cip)
        assert cip.get("/envois").status_code == 403
        sent = page.post(f"/envois/{dead.id}/relancer", data={"csrf": csrf}, follow_redirects=False)
        assert sent.status_code == 303
        assert outbox.work(web) == (1, 0)
    assert list(receiver.taken) == [dead.key]


def test_a_network_admin_sees_and_retries_only_their_networks_deliveries(web) -> None:
    """The tester's story: INAÉ's admin listed every network's deliveries (participants'
    addresses among them) and retried SATO's. Each delivery now belongs to a network; rows of no
    known network stay with the server's operator (the system)."""
    _geiq_with_webhook(web, "https://geiq.example/hook")  # nothing is sent in this test
    _complete_atelier(web)
    mail = {"channel": "email", "payload": {"subject": "s", "body": "b"}, "now": T0}
    with web.unit_of_work() as s:
        add_staff(s, INAE_ADMIN, "Fanny", "Alexandre", [("inae", "network_admin")])
        outbox.enqueue(s, key="sans-reseau", target="awa@example.org", **mail)
    sato, inae = actor(web, NETWORK_ADMIN), actor(web, INAE_ADMIN)

    def keys(who) -> tuple[set[str], int]:
        listed, total = outbox.listing(web, who)
        return {r.key for r in listed}, total

    rows = {r.key: r for r in _rows(web)}
    [webhook] = [k for k in rows if k.startswith("webhook:")]
    assert keys(inae) == (set(), 0)
    assert keys(sato) == ({webhook}, 1)
    later = T0 + timedelta(days=1)
    for who, key in ((inae, webhook), (sato, "sans-reseau")):
        with pytest.raises(Forbidden, match="relancer un envoi ici"):
            outbox.retry(web, rows[key].id, who, now=later)
    assert [(r.key, r.next_attempt_at) for r in _rows(web)] == [
        (k, r.next_attempt_at) for k, r in rows.items()
    ]

    with web.unit_of_work() as s:
        outbox.enqueue(s, key="inae-mail", target="lina@example.org", network="inae", **mail)
    assert keys(inae) == ({"inae-mail"}, 1)
    assert keys(Actor.system()) == ({webhook, "sans-reseau", "inae-mail"}, 3)
    assert {r.key: r.network for r in _rows(web)} == {
        webhook: "sato",
        "sans-reseau": None,
        "inae-mail": "inae",
    }
    participant = people.participants(web, actor(web, CIP))[0][0].id
    for who in (actor(web, CIP), actor(web, participant), Actor.anonymous()):
        with pytest.raises(Forbidden, match="consulter les envois"):
            outbox.listing(web, who)

    outbox.retry(web, rows[webhook].id, sato, now=later)
    outbox.retry(web, rows["sans-reseau"].id, Actor.system(), now=later)
    retried = {r.key for r in _rows(web) if as_utc(r.next_attempt_at) == later}
    assert retried == {webhook, "sans-reseau"}


def test_a_worker_killed_mid_delivery_delivers_exactly_once_after_restart(web, db_url) -> None:
    receiver = Receiver()
    port = free_port()
    with serving(receiver.app, port):
        receiver.secret = _geiq_with_webhook(web, f"http://127.0.0.1:{port}/hook")
        _complete_atelier(web)
        receiver.hold.set()
        worker = subprocess.Popen(
            [sys.executable, "-m", "engine.cli", "--db", db_url, "outbox", "work", "--once"],
            env={**os.environ, "PARCOURS_WORKFLOWS": str(WORKFLOWS)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        assert receiver.holding.wait(30), "the worker never called the partner"
        worker.kill()  # mid-delivery: the partner has the request, the worker never hears back
        worker.wait()
        receiver.release.set()
        time.sleep(0.3)
        [row] = _rows(web)
        assert row.status == "sending"
        later = row.claimed_at + outbox.LEASE + timedelta(seconds=1)
        assert outbox.work(web, now=later) == (1, 0)  # the claim expired: sent again
    assert receiver.seen == [row.key, row.key]  # the partner saw it twice...
    assert list(receiver.taken) == [row.key]  # ...and took it once
    assert _rows(web)[0].status == "sent"


def test_two_workers_never_deliver_the_same_row_twice(web) -> None:
    receiver = Receiver()
    port = free_port()
    with serving(receiver.app, port):
        receiver.secret = _geiq_with_webhook(web, f"http://127.0.0.1:{port}/hook")
        for i in range(30):
            _complete_atelier(web, name=f"N{i}")
        results: list[tuple[int, int]] = []

        def drain(name: str) -> None:
            while True:
                sent, failed = outbox.work(web, worker=name, limit=3)
                results.append((sent, failed))
                if not sent and not failed:
                    return

        threads = [threading.Thread(target=drain, args=(f"w{i}",)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sum(s for s, _ in results) == 30 and sum(f for _, f in results) == 0
    assert len(receiver.seen) == 30 == len(set(receiver.seen))
    assert {r.status for r in _rows(web)} == {"sent"}


class Mailbox:
    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope) -> str:
        from email import message_from_bytes, policy

        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


def test_links_and_recommendation_requests_leave_by_smtp_in_french(web, monkeypatch) -> None:
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        monkeypatch.setenv("PARCOURS_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("PARCOURS_SMTP_PORT", str(port))
        cip = actor(web, CIP)
        eid = e.enroll(
            web,
            "atelier-decouverte",
            "sato-interim",
            e.Participant("Awa", "Diallo", "awa@example.org"),
            by=cip,
        )
        participant = people.participants(web, cip)[0][0].id
        token = accounts.magic_link(web, participant, by=cip, send=True)
        e.advance(web, eid, "demarrer", by=cip)
        from engine.services import badges, endorsements

        [(assertion, _, _)] = badges.badges_of(web, eid, by=cip)
        endorsements.request_recommendation(
            web, assertion, "adie", "rh@adie.example", web.urls, by=actor(web, participant)
        )
        assert outbox.work(web) == (2, 0)
    finally:
        controller.stop()
    link, recommendation = box.messages
    assert link["To"] == "awa@example.org"
    assert link["Subject"] == "Votre espace Parcours : SATO Intérim vous envoie votre lien"
    assert "Bonjour Awa," in link.get_content()
    # the mailed link was minted when sent: not the one shown on screen, and stored nowhere
    [line] = [x for x in link.get_content().splitlines() if "/lien/" in x]
    mailed = line.strip().rsplit("/lien/", 1)[1]
    assert mailed != token
    assert _stored_anywhere(web, mailed) == _stored_anywhere(web, token) == []
    assert accounts.use_magic_link(web, mailed)
    with pytest.raises(Forbidden, match="a déjà servi|n'est plus valable"):
        accounts.use_magic_link(web, mailed)
    assert accounts.use_magic_link(web, token)  # the one on screen works too, once
    assert recommendation["To"] == "rh@adie.example"
    assert "recommandation" in recommendation["Subject"]
    assert "/recommandations/" in recommendation.get_content()


def _stored_anywhere(web, secret: str) -> list[str]:
    """Every text or JSON value of every table that holds `secret`."""
    import json

    from sqlmodel import SQLModel

    found = []
    with web.engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            for row in conn.execute(select(table)):
                for column, value in zip(table.columns, row, strict=True):
                    text = json.dumps(value) if isinstance(value, dict | list) else value
                    if isinstance(text, str) and secret in text:
                        found.append(f"{table.name}.{column.name}")
    return found


def test_a_link_email_holds_no_token_until_the_worker_sends_it(web) -> None:
    cip = actor(web, CIP)
    e.enroll(
        web,
        "atelier-decouverte",
        "sato-interim",
        e.Participant("Awa", "Diallo", "awa@example.org"),
        by=cip,
    )
    participant = people.participants(web, cip)[0][0].id
    token = accounts.magic_link(web, participant, by=cip, send=True)
    [row] = _rows(web)
    assert "/lien/" not in str(row.payload) and "Awa" not in str(row.payload)
    assert row.payload["link"] == {"person": participant, "by": cip.person_id}
    assert _stored_anywhere(web, token) == []


def test_one_bad_row_never_blocks_the_outbox(web, monkeypatch) -> None:
    """A `\r` in a name made the mail header builder raise on every pass, and the worker with
    it: now a row that cannot be built or sent is retried then dead-lettered like a failed
    send, and the rows after it go out."""
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("PARCOURS_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("PARCOURS_SMTP_PORT", str(port))
    _geiq_with_webhook(web, "http://127.0.0.1:9/hook")  # never reached: its row is broken
    mail = {"channel": "email", "now": T0}
    with web.unit_of_work() as s:
        # queued before subjects were made one line: the header builder refuses it
        outbox.enqueue(
            s,
            key="a-entete",
            target="a@example.org",
            payload={"subject": "A\rB", "body": "b"},
            **mail,
        )
        outbox.enqueue(
            s, key="b-gabarit", target="b@example.org", payload={"template": "x"}, **mail
        )
        outbox.enqueue(
            s, key="c-webhook", channel="webhook", target="geiq-industrie", payload={}, now=T0
        )
        outbox.queue_email(
            s,
            key="d-bon",
            to="d@example.org",
            now=T0,
            template="expiration",
            badge="Soudure",
            given_name="Awa\rBcc: intrus@example.org",
            expires="01/04/2026",
            url="https://parcours.test/badges/x",
        )
    try:
        now = T0
        assert outbox.work(web, now=now) == (1, 3)
        for _ in range(outbox.MAX_ATTEMPTS - 1):
            now += outbox.MAX_BACKOFF
            assert outbox.work(web, now=now) == (0, 3)
    finally:
        controller.stop()
    rows = {r.key: r for r in _rows(web)}
    assert rows["d-bon"].status == "sent"
    assert {k: r.status for k, r in rows.items() if k != "d-bon"} == dict.fromkeys(
        ("a-entete", "b-gabarit", "c-webhook"), "dead"
    )
    assert "ValueError" in rows["a-entete"].last_error
    assert "TemplateNotFound" in rows["b-gabarit"].last_error
    assert "KeyError" in rows["c-webhook"].last_error
    [sent] = box.messages
    assert sent["To"] == "d@example.org" and sent["Bcc"] is None
    assert sent["Subject"] == "Votre badge « Soudure » expire le 01/04/2026"


def test_an_inae_badge_goes_to_open_badge_passport_through_obf(web, monkeypatch) -> None:
    """INAÉ's connector speaks Open Badge Factory's API: OAuth2 client credentials, then
    POST /v1/badge/{client_id}/{badge_id} for the participant's e-mail."""
    calls: list[tuple[str, dict]] = []
    obf = FastAPI()

    @obf.post("/v1/client/oauth2/token")
    def token(
        grant_type: str = Form(), client_id: str = Form(), client_secret: str = Form()
    ) -> dict:
        assert (grant_type, client_id, client_secret) == ("client_credentials", "INAE1", "s3cr3t")
        return {"access_token": "tok-1", "token_type": "bearer", "expires_in": 36000}

    @obf.post("/v1/badge/{client_id}/{badge_id}", status_code=201)
    async def issue(client_id: str, badge_id: str, request: Request) -> Response:
        assert request.headers["authorization"] == "Bearer tok-1"
        calls.append((f"{client_id}/{badge_id}", await request.json()))
        return Response(
            status_code=201, headers={"Location": f"/v1/event/{client_id}/EV{len(calls)}"}
        )

    port = free_port()
    monkeypatch.setenv("PARCOURS_OBF_INAE_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("PARCOURS_OBF_INAE_CLIENT_ID", "INAE1")
    monkeypatch.setenv("PARCOURS_OBF_INAE_CLIENT_SECRET", "s3cr3t")
    with web.unit_of_work() as s:
        upsert_organisation(
            s, "envie", "Envie", "structure", structure_kind="EI", networks=["inae"]
        )
        add_staff(s, "cip@envie.example", "Léa", "Roux", [("envie", "cip")])
    cip = actor(web, "cip@envie.example")
    lina = people.add_participant(web, "envie", "Lina", "Haddad", "lina@example.org", by=cip)
    with web.unit_of_work() as s:
        add_staff(s, INAE_ADMIN, "Fanny", "Alexandre", [("inae", "network_admin")])
    inae = actor(web, INAE_ADMIN)
    requests.configure(web, "envie", "inae.ponctualite", mode="network", by=inae)
    rid = requests.submit(web, "inae.ponctualite", by=cip, participant_id=lina)
    done = requests.review(web, rid, by=inae, approve=True, reason="Conforme")
    with serving(obf, port):
        assert outbox.work(web) == (1, 0)
    [(path, body)] = calls
    assert path == "INAE1/EXD6748B4A7C3A11"
    assert body["recipient"] == ["lina@example.org"]
    assert "Open Badge Passport" in body["email_subject"]
    assert body["log_entry"]["parcours_assertion"].endswith(done.assertion_id)
    assert _rows(web)[0].key == f"inae.open_badge_passport:{done.assertion_id}"
