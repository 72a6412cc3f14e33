"""Personal data: erasure leaves a person's name and address nowhere in the database (every text
and JSON column of every table, read from the metadata, so a new table is covered), supporters
of the public form are exported and erased like participants, sign-in links are never stored
or logged in clear, and old data is minimised after its retention period."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select, update
from sqlmodel import SQLModel

from engine.api.app import create_app
from engine.errors import Conflict, Forbidden, InvalidInput
from engine.exits import Exit
from engine.services import (
    accounts,
    badges,
    committees,
    endorsements,
    outbox,
    privacy,
    requests,
    scheduler,
    shares,
)
from engine.services import enrollments as e
from engine.services.access import Actor, ActorKind
from engine.services.organisations import add_staff
from engine.services.runtime import Runtime
from engine.store.tables import AuditEvent, Delivery, Person, utcnow
from engine.uploads import check
from tests.conftest import CIP, DIRECTRICE, ENCADRANT, NETWORK_ADMIN, T0, actor
from tests.third_party import free_port

GIVEN, FAMILY, EMAIL = "Zéphyrine", "Quillardet-Ngoma", "zephyrine.qn@exemple.org"
FULL = f"{GIVEN} {FAMILY}"
BASE = "http://parcours.test"
INAE_ADMIN = "badges@inae.example"


class Mailbox:
    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope) -> str:
        from email import message_from_bytes, policy

        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


@pytest.fixture
def smtp(monkeypatch) -> Iterator[Mailbox]:
    """A real SMTP server on 127.0.0.1 that keeps what it receives."""
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("PARCOURS_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("PARCOURS_SMTP_PORT", str(port))
    try:
        yield box
    finally:
        controller.stop()


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), "green").save(out, "PNG")
    return out.getvalue()


def mentions(rt: Runtime, *needles: str) -> list[str]:
    """Every text or JSON value of every table that contains one of `needles`, ignoring case:
    `table.column: value`. Every column of every table of the metadata is read, and each value
    that is text or JSON (decoded) is searched."""
    found = []
    wanted = [n.lower() for n in needles]
    with rt.engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            for row in conn.execute(select(table)):
                for column, value in zip(table.columns, row, strict=True):
                    if isinstance(value, str):
                        text = value
                    elif isinstance(value, dict | list):
                        text = json.dumps(value, ensure_ascii=False)
                    else:
                        continue
                    if any(n in text.lower() for n in wanted):
                        found.append(f"{table.name}.{column.name}: {text[:300]}")
    return found


def _link_token(message) -> str:
    [line] = [x for x in message.get_content().splitlines() if "/lien/" in x]
    return line.strip().rsplit("/lien/", 1)[1]


# --- erasure ---------------------------------------------------------------------------------


def _her_story(rt: Runtime, smtp: Mailbox, monkeypatch) -> tuple[int, int, list[str]]:
    """Zéphyrine's parcours at SATO Intérim, as it leaves traces everywhere: (person, enrollment,
    her badges)."""
    cip, encadrant, director = actor(rt, CIP), actor(rt, ENCADRANT), actor(rt, DIRECTRICE)
    eid = e.enroll(
        rt,
        "sato-femmes-metallurgie",
        "sato-interim",
        e.Participant(GIVEN, FAMILY, EMAIL),
        by=cip,
        note=f"{GIVEN} orientée par France Travail",
        now=T0,
    )
    with rt.unit_of_work() as s:
        pid = s.execute(select(Person.id).where(Person.email == EMAIL)).scalar_one()
    her = actor(rt, pid)
    # a link e-mailed, sent, and used
    accounts.magic_link(rt, pid, by=cip, send=True)
    assert outbox.work(rt) == (1, 0)
    accounts.use_magic_link(rt, _link_token(smtp.messages[-1]))
    # her CIP is reminded of a passed deadline, by name
    assert scheduler.deadlines(rt, now=T0 + timedelta(days=31)) == 1
    # her badges go to Open Badge Passport / OBF with her address
    monkeypatch.setenv("PARCOURS_OBF_SATO_CLIENT_ID", "SATO1")
    monkeypatch.setenv("PARCOURS_OBF_SATO_CLIENT_SECRET", "s3cr3t")
    for badge in ("sato.jeu-de-piste", "sato.securite-atelier"):
        e.award(rt, eid, badge, by=encadrant, narrative=f"{GIVEN} a tout trouvé", now=T0)
    e.advance(rt, eid, "commencer-immersion", by=cip, note=f"PMSMP pour {FULL}", now=T0)
    e.add_evidence(
        rt,
        eid,
        "convention-pmsmp",
        by=cip,
        narrative=f"Convention signée par {FULL}",
        url=f"https://drive.exemple.org/{FAMILY}/convention.png",
        file=check(f"convention-{GIVEN}-{FAMILY}.png", _png()),
        now=T0 + timedelta(days=1),
    )
    e.add_evidence(rt, eid, "bilan-immersion", by=cip, now=T0 + timedelta(days=1))
    for badge in ("sato.immersion-reussie", "sato.projet-professionnel"):
        e.award(rt, eid, badge, by=cip, now=T0)
    e.advance(rt, eid, "valider-projet", by=cip, now=T0 + timedelta(days=12))
    for badge in ("sato.ponctualite", "sato.travail-equipe", "sato.consignes"):
        e.award(rt, eid, badge, by=encadrant, now=T0 + timedelta(days=20))
    # the validation committee's reasons name her
    cid = committees.create(
        rt, "Commission de validation", "sato.validation", by=director, structure="sato-interim"
    )
    for member in (CIP, ENCADRANT, DIRECTRICE):
        committees.add_member(rt, cid, member, by=director)
    later = T0 + timedelta(days=50)
    for who in (director, cip):
        e.record_decision(
            rt, eid, "signer-contrat-pro", True, f"{FULL} est prête", by=who, now=later
        )
    e.advance(rt, eid, "signer-contrat-pro", by=director, now=later, exit=Exit("cdi"))
    # she asks for a badge in her words; her CIP signs with a reason naming her
    rid = requests.submit(
        rt, "sato.geste-professionnel", by=her, narrative=f"Moi, {GIVEN}, je soude", now=later
    )
    requests.add_evidence(
        rt,
        rid,
        "photo",
        by=her,
        narrative=f"Photo de {GIVEN} au poste",
        file=check(f"{FAMILY}.png", _png()),
        now=later,
    )
    requests.review(rt, rid, by=cip, approve=True, reason=f"Vu {GIVEN} à l'œuvre", now=later)
    waiting = requests.submit(
        rt, "sato.metiers-industrie", by=her, narrative=f"{GIVEN} connaît trois métiers", now=later
    )
    scheduler.request_reminders(rt, now=later + timedelta(days=15))
    assert waiting
    # shared with the GEIQ, which has a webhook; recommended by it through her link
    with rt.unit_of_work() as s:
        add_staff(s, "gwen@geiq.example", "Gwen", "Le Bris", [("geiq-industrie", "partner")])
    shares.set_webhook(
        rt, "geiq-industrie", "https://geiq.example/hook", by=actor(rt, "gwen@geiq.example")
    )
    mine = [a for a, _, _ in badges.badges_of(rt, eid, by=cip)]
    shares.share(rt, mine[0], "geiq-industrie", by=her)
    url = endorsements.request_recommendation(
        rt, mine[0], "geiq-industrie", "rh@geiq.example", rt.urls, by=her
    )
    endorsements.answer_recommendation(
        rt, url.rsplit("/", 1)[1], f"{FULL} a été remarquable chez nous"
    )
    endorsements.request_recommendation(
        rt, mine[1], "adie", "contact@adie.example", rt.urls, by=her
    )
    # a badge revoked with a reason naming her
    with rt.unit_of_work() as s:
        from engine.store.tables import BadgeRequest

        granted = s.get(BadgeRequest, rid).assertion_id
    badges.revoke(rt, granted, f"Délivré deux fois à {FULL}", by=director, now=later)
    return pid, eid, [*mine, granted]


def test_erasure_leaves_her_name_and_address_nowhere(sato: Runtime, smtp, monkeypatch) -> None:
    pid, eid, hers = _her_story(sato, smtp, monkeypatch)
    before = mentions(sato, GIVEN, FAMILY, EMAIL)
    tables = {m.split(".")[0] for m in before}
    # the story did reach the places erasure must reach
    assert {"person", "evidence", "evidencefile", "committeedecision", "delivery"} <= tables
    assert {"auditevent", "badgerequest", "review", "endorsement", "assertion"} <= tables
    with sato.unit_of_work() as s:
        rows = list(s.execute(select(Delivery)).scalars())
    assert {r.status for r in rows} >= {"sent", "pending"}
    assert {r.channel for r in rows} == {"email", "webhook", "connector"}

    privacy.erase(sato, pid, by=actor(sato, CIP))

    assert mentions(sato, GIVEN, FAMILY, EMAIL) == []
    # the public pages of her badges and the issuer's revocation list name no one
    client = TestClient(create_app(sato, BASE), base_url=BASE)
    for aid in hers:
        page = client.get(f"/badges/{aid}")
        assert page.status_code == 200 and "Personne anonymisée" in page.text
        assert GIVEN not in page.text and FAMILY not in page.text
    revoked = client.get("/ob/v2/issuers/sato-interim/revocations").text
    assert GIVEN not in revoked and FAMILY not in revoked
    # what stays is a pseudonymous trace
    with sato.unit_of_work() as s:
        kinds = [
            k
            for k in s.execute(
                select(AuditEvent.kind).where(AuditEvent.enrollment_id == eid)
            ).scalars()
        ]
    assert kinds[0] == "enrolled" and kinds[-1] == "erased"


def test_audit_rows_copy_no_free_text_about_the_person(sato: Runtime) -> None:
    """Minimisation at the source: an evidence's narrative, URL and file name, a badge's
    narrative and a committee's reasons stay in their own rows, not in the audit log."""
    cip = actor(sato, CIP)
    eid = e.enroll(
        sato, "sato-femmes-metallurgie", "sato-interim", e.Participant(GIVEN, FAMILY), by=cip
    )
    e.award(sato, eid, "sato.jeu-de-piste", by=actor(sato, ENCADRANT), narrative=f"{GIVEN} !")
    e.add_evidence(
        sato,
        eid,
        "convention-pmsmp",
        by=cip,
        narrative=f"Signée par {GIVEN}",
        url=f"https://exemple.org/{FAMILY}",
        file=check(f"{FAMILY}.png", _png()),
    )
    with sato.unit_of_work() as s:
        audit = [(a.note, a.details) for a in s.execute(select(AuditEvent)).scalars()]
    stored = json.dumps(audit, ensure_ascii=False)
    assert GIVEN not in stored and FAMILY not in stored
    assert audit[-1][1]["kind"] == "convention-pmsmp" and audit[-1][1]["with_file"]


def test_a_committee_gate_keeps_its_count_but_not_the_reasons() -> None:
    from engine.gates import Condition

    [kept] = privacy.gate_for_audit(
        [
            Condition(
                "committee", True, f"avis favorable du comité « C » (2 pour, 0 contre) : {FULL}"
            )
        ]
    )
    assert kept == {
        "kind": "committee",
        "met": True,
        "text": "avis favorable du comité « C » (2 pour, 0 contre)",
    }
    [unknown] = privacy.gate_for_audit([Condition("committee", True, f"{FULL} : oui")])
    assert FULL not in unknown["text"]


# --- supporters ------------------------------------------------------------------------------


def _inae_admin(rt: Runtime) -> Actor:
    with rt.unit_of_work() as s:
        add_staff(s, INAE_ADMIN, "Fanny", "Alexandre", [("inae", "network_admin")])
    return actor(rt, INAE_ADMIN)


def _ask(rt: Runtime, email: str = EMAIL, now=T0, name: tuple[str, str] = (GIVEN, FAMILY)) -> str:
    return requests.public_request(
        rt, "inae.badgeons-iae", given_name=name[0], family_name=name[1], email=email, now=now
    )


def test_asking_again_with_her_address_sends_her_badge_to_her_not_to_the_asker(
    sato: Runtime, smtp
) -> None:
    aid = _ask(sato)
    with pytest.raises(Conflict, match="a déjà été délivré à cette adresse") as again:
        _ask(sato, now=T0 + timedelta(days=1))
    assert aid not in str(again.value)
    with sato.unit_of_work() as s:
        mails = list(s.execute(select(Delivery).order_by(Delivery.id)).scalars())
    assert [m.target for m in mails] == [EMAIL, EMAIL]
    assert [m.payload["context"]["again"] for m in mails] == [False, True]
    # the rows hold no link and no name: the worker builds each e-mail when it sends
    assert not any(
        "/lien/" in json.dumps(m.payload) or GIVEN in json.dumps(m.payload, ensure_ascii=False)
        for m in mails
    )
    # twice the same day: one e-mail, not a flood
    with pytest.raises(Conflict):
        _ask(sato, now=T0 + timedelta(days=1, hours=2))
    with sato.unit_of_work() as s:
        assert s.execute(select(sa.func.count()).select_from(Delivery)).scalar_one() == 2
    assert outbox.work(sato) == (2, 0)
    first, second = smtp.messages
    assert first["To"] == EMAIL and "est délivré" in first["Subject"]
    assert "son lien" in second["Subject"] and sato.urls.page(aid) in second.get_content()
    assert _link_token(first) != _link_token(second)


def test_over_the_api_a_second_ask_reveals_no_badge(sato: Runtime) -> None:
    client = TestClient(create_app(sato, BASE), base_url=BASE)
    body = {"given_name": GIVEN, "family_name": FAMILY, "email": EMAIL}
    first = client.post("/api/v1/public/badges/inae.badgeons-iae/requests", json=body)
    assert first.status_code == 201
    other = {"given_name": "Quelqu'un", "family_name": "D'autre", "email": EMAIL}
    again = client.post("/api/v1/public/badges/inae.badgeons-iae/requests", json=other)
    assert again.status_code == 409
    assert first.json()["id"] not in again.text and "/badges/" not in again.text
    assert "envoyée" in again.json()["detail"]


def test_a_supporter_exports_and_erases_her_data_through_the_link_she_got(
    sato: Runtime, smtp
) -> None:
    aid = _ask(sato)
    other = _ask(sato, email="quelquun@exemple.org", name=("Yvon", "Le Du"))
    assert outbox.work(sato) == (2, 0)
    token = _link_token(next(m for m in smtp.messages if m["To"] == EMAIL))
    client = TestClient(create_app(sato, BASE), base_url=BASE)
    landed = client.post(f"/lien/{token}", follow_redirects=False)
    assert landed.status_code == 303 and landed.headers["location"] == "/mes-donnees"
    page = client.get("/mes-donnees")
    assert page.status_code == 200 and sato.urls.page(aid) in page.text
    assert "Effacer mes données" in page.text and "Télécharger mes données" in page.text
    me = client.get("/api/v1/me").json()
    assert me["kind"] == "supporter"
    data = client.get(f"/api/v1/participants/{me['id']}/export")
    assert data.status_code == 200 and data.json()["personne"]["email"] == EMAIL
    assert [b["id"] for b in data.json()["badges"]] == [aid]
    # she reaches no one else's data
    with sato.unit_of_work() as s:
        from engine.store.tables import Assertion

        someone = s.get(Assertion, other).recipient_id
    assert client.get(f"/api/v1/participants/{someone}/export").status_code == 403
    supporter = Actor(me["id"], ActorKind.SUPPORTER, FULL, EMAIL)
    with pytest.raises(Forbidden, match="effacer des données personnelles"):
        privacy.erase(sato, someone, by=supporter)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    # the page's button only asks: the confirmation page's form erases
    asked = client.post(f"/donnees/{me['id']}/effacer", data={"csrf": csrf})
    assert asked.status_code == 200 and "Effacer définitivement" in asked.text
    assert mentions(sato, GIVEN, FAMILY, EMAIL) != []
    erased = client.post(
        f"/donnees/{me['id']}/effacer",
        data={"csrf": csrf, "confirmer": "oui"},
        follow_redirects=False,
    )
    assert erased.status_code == 303 and erased.headers["location"] == "/connexion"
    assert mentions(sato, GIVEN, FAMILY, EMAIL) == []
    assert client.get("/api/v1/me").status_code == 401  # her session ended with her data


def test_the_admins_of_the_badges_network_export_and_erase_a_supporter(sato: Runtime) -> None:
    _ask(sato)
    with sato.unit_of_work() as s:
        pid = s.execute(select(Person.id).where(Person.email == EMAIL)).scalar_one()
    inae = _inae_admin(sato)
    for outsider in (actor(sato, NETWORK_ADMIN), actor(sato, CIP), Actor.anonymous()):
        with pytest.raises(Forbidden):
            privacy.export(sato, pid, by=outsider)
        with pytest.raises(Forbidden):
            privacy.erase(sato, pid, by=outsider)
    assert privacy.export(sato, pid, by=inae)["personne"]["nom"] == FAMILY
    privacy.erase(sato, pid, by=inae)
    assert mentions(sato, GIVEN, FAMILY, EMAIL) == []
    # the same address may ask again: a new badge, for a new person
    assert _ask(sato, now=T0 + timedelta(days=2))


# --- sign-in links ---------------------------------------------------------------------------


def test_the_access_log_never_shows_a_link_token(tmp_path) -> None:
    port = free_port()
    env = {**os.environ, "PARCOURS_PUBLIC_URL": f"http://127.0.0.1:{port}"}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "engine.cli",
            "--db",
            str(tmp_path / "p.sqlite"),
            "serve",
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/connexion", timeout=2)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline and server.poll() is None, "pas de serveur"
                time.sleep(0.2)
        for path in ("/lien/JETON-SECRET-1", "/recommandations/JETON-SECRET-2"):
            httpx.get(f"http://127.0.0.1:{port}{path}", timeout=5)
        httpx.post(f"http://127.0.0.1:{port}/lien/JETON-SECRET-3", timeout=5)
    finally:
        server.terminate()
        out, _ = server.communicate(timeout=30)
    assert '"GET /lien/… HTTP/1.1"' in out and '"POST /lien/… HTTP/1.1"' in out
    assert "/recommandations/…" in out
    assert "JETON-SECRET" not in out


# --- retention -------------------------------------------------------------------------------


def test_purge_minimises_old_deliveries_and_old_audit_details(sato: Runtime, monkeypatch) -> None:
    cip = actor(sato, CIP)
    eid = e.enroll(
        sato,
        "sato-femmes-metallurgie",
        "sato-interim",
        e.Participant(GIVEN, FAMILY),
        by=cip,
        note=f"Note sur {GIVEN}",
        now=T0,
    )
    long_ago, recently = T0 - timedelta(days=800), T0 - timedelta(days=10)
    mail = {"channel": "email", "payload": {"subject": f"À propos de {GIVEN}", "body": "b"}}
    with sato.unit_of_work() as s:
        for key, at in (
            ("vieux", long_ago),
            ("recent", recently),
            ("en-attente", long_ago),
            ("mort", long_ago),
        ):
            outbox.enqueue(s, key=key, target=EMAIL, now=at, **mail)
        s.execute(
            update(Delivery)
            .where(Delivery.key.in_(["vieux", "recent"]))
            .values(status="sent", sent_at=Delivery.created_at)
        )
        s.execute(update(Delivery).where(Delivery.key == "mort").values(status="dead"))
        old = AuditEvent(
            enrollment_id=eid,
            at=long_ago,
            kind="transition",
            note=f"Ancienne note sur {GIVEN}",
            details={"gate": [{"kind": "check:x", "met": True, "text": GIVEN}], "awarded": ["b"]},
        )
        s.add(old)
    with pytest.raises(Forbidden, match="purger les données anciennes"):
        privacy.purge(sato, by=cip, now=T0)
    report = privacy.purge(sato, by=Actor.system(), now=T0)
    assert (report.deliveries, report.audit_events) == (2, 1)
    with sato.unit_of_work() as s:
        rows = {d.key: d for d in s.execute(select(Delivery)).scalars()}
        events = list(
            s.execute(
                select(AuditEvent).where(AuditEvent.enrollment_id == eid).order_by(AuditEvent.id)
            ).scalars()
        )
    assert (rows["vieux"].payload, rows["vieux"].target) == ({}, outbox.PURGED_TARGET)
    assert rows["recent"].payload == mail["payload"] and rows["en-attente"].payload
    assert events[-1].note is None
    assert events[-1].details == {"gate": [{"kind": "check:x", "met": True}], "awarded": ["b"]}
    assert events[0].note == f"Note sur {GIVEN}"  # within the period: kept
    assert rows["mort"].payload == {} and rows["mort"].status == "dead"
    with pytest.raises(Forbidden, match="purgé"):
        outbox.retry(sato, rows["mort"].id, Actor.system())
    assert privacy.purge(sato, by=Actor.system(), now=T0).audit_events == 0  # nothing left
    # the periods are settings
    monkeypatch.setenv("PARCOURS_RETENTION_DELIVERIES_DAYS", "5")
    monkeypatch.setenv("PARCOURS_RETENTION_AUDIT_DAYS", "1")
    report = privacy.purge(sato, by=Actor.system(), now=T0 + timedelta(days=2))
    assert (report.deliveries, report.audit_events) == (1, 1)
    monkeypatch.setenv("PARCOURS_RETENTION_AUDIT_DAYS", "deux ans")
    with pytest.raises(InvalidInput, match="PARCOURS_RETENTION_AUDIT_DAYS"):
        privacy.purge(sato, by=Actor.system())


def test_the_scheduler_purges_daily_and_the_operator_from_the_command_line(
    sato: Runtime, db_url: str, capsys
) -> None:
    from engine.cli.app import main

    assert scheduler.JOBS["retention"]["trigger"] == "cron"
    assert isinstance(scheduler.retention(sato, now=utcnow()), privacy.PurgeReport)
    main(["--db", db_url, "privacy", "purge"])
    out = capsys.readouterr().out
    assert "envoi(s) vidé(s)" in out and "événement(s) du journal réduit(s)" in out
