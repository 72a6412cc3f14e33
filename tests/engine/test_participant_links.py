"""A participant's link expired: they ask for a new one themselves, with the e-mail or mobile
number their structure has for them, and may stay signed in on their own phone. The form must
say nothing about who is known, must not flood a mailbox, and a long session must end when they
sign out everywhere. Asking a company for a recommendation starts from its name, among the
partners of the participant's own networks."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from engine.api import auth
from engine.api.app import create_app
from engine.errors import Forbidden, InvalidInput
from engine.services import accounts, badges, endorsements, links, outbox, participant_links
from engine.services import enrollments as e
from engine.services.access import Actor
from engine.services.organisations import upsert_organisation
from engine.services.runtime import Runtime
from engine.store.tables import (
    AuditEvent,
    Delivery,
    Organisation,
    RecommendationRequest,
    WebSession,
    as_utc,
)
from tests.conftest import CIP, T0, actor, initialised, templated
from tests.engine.test_privacy import Mailbox, smtp  # noqa: F401  (the SMTP fixture)
from tests.web.conftest import BASE, WORKFLOWS

ANON = Actor.anonymous()
AWA = "awa.diallo@exemple.org"


@pytest.fixture
@templated
def rt(db_engine: Engine) -> Runtime:
    """The test pathways (a badge at each step), as the web tests have them."""
    runtime = initialised(Runtime(db_engine, workflows=WORKFLOWS))
    return runtime


def _enroll(rt: Runtime, given: str, email: str | None = None, phone: str | None = None) -> int:
    """A participant of SATO Intérim on the test pathway, past its first step (one badge)."""
    cip = actor(rt, CIP)
    eid = e.enroll(
        rt,
        "atelier-decouverte",
        "sato-interim",
        e.Participant(given, "Diallo", email, phone=phone),
        by=cip,
    )
    e.advance(rt, eid, "demarrer", by=cip)
    return eid


def _person(rt: Runtime, eid: int) -> int:
    with rt.reading() as conn:
        from engine.store.tables import Enrollment

        return conn.execute(
            select(Enrollment.participant_id).where(Enrollment.id == eid)
        ).scalar_one()


def _link_mails(rt: Runtime) -> list[str]:
    """The addresses link e-mails asked for by the form were queued to."""
    with rt.reading() as conn:
        return list(
            conn.execute(
                select(Delivery.target).where(Delivery.key.like("nouveau-lien:%"))
            ).scalars()
        )


def _requests(rt: Runtime) -> list[tuple[int | None, dict]]:
    """(enrollment, details) of each « new link » request the CIPs see."""
    with rt.reading() as conn:
        return [
            tuple(row)
            for row in conn.execute(
                select(AuditEvent.enrollment_id, AuditEvent.details).where(
                    AuditEvent.kind == "link_requested"
                )
            )
        ]


def _link_token(message) -> str:
    [line] = [x for x in message.get_content().splitlines() if "/lien/" in x]
    return line.strip().rsplit("/lien/", 1)[1]


# --- asking for a new link --------------------------------------------------------------------


def test_a_known_address_gets_a_mailed_link_that_works_once(sato, smtp: Mailbox) -> None:  # noqa: F811
    eid = _enroll(sato, "Awa", AWA)
    participant_links.request_link(sato, AWA, by=ANON, address="192.0.2.1", now=T0)
    assert outbox.work(sato, now=T0) == (1, 0)
    [mail] = smtp.messages
    assert mail["To"] == AWA
    assert mail["Subject"] == "Votre nouveau lien pour votre espace Parcours"
    assert "Bonjour Awa," in mail.get_content()
    token = _link_token(mail)
    assert accounts.use_magic_link(sato, token)
    with pytest.raises(Forbidden, match="déjà servi|n'est plus valable"):
        accounts.use_magic_link(sato, token)
    # the CIP sees the request on the enrollment's history, with no address in it
    [event] = _requests(sato)
    assert event[0] == eid
    assert event[1] == {"person_id": _person(sato, eid), "by": "email", "sent": True}
    assert AWA not in str(event[1])


def test_the_answer_is_the_same_for_an_unknown_address(sato) -> None:
    _enroll(sato, "Awa", AWA)
    client = TestClient(create_app(sato, BASE), base_url=BASE)
    known = client.post("/nouveau-lien", data={"contact": AWA}, follow_redirects=False)
    unknown = client.post(
        "/nouveau-lien", data={"contact": "personne@exemple.org"}, follow_redirects=False
    )
    assert known.status_code == unknown.status_code == 303
    assert known.headers["location"] == unknown.headers["location"] == "/nouveau-lien/demande"
    assert _link_mails(sato) == [AWA]  # only the known one got a mail
    page = client.get("/nouveau-lien/demande")
    assert page.status_code == 200 and "Demande reçue" in page.text
    assert "personne@exemple.org" not in page.text and AWA not in page.text
    # neither a phone number nor an address: said next to what was typed
    refused = client.post("/nouveau-lien", data={"contact": "awa"})
    assert refused.status_code == 422
    assert "numéro de téléphone portable" in refused.text and 'value="awa"' in refused.text


def test_a_participant_known_by_phone_only_is_left_to_their_cip(sato) -> None:
    """No SMS gateway: nothing leaves, the request waits on the enrollment for the CIP."""
    eid = _enroll(sato, "Moussa", phone="06 12 34 56 78")
    participant_links.request_link(sato, "+33 6 12 34 56 78", by=ANON, address=None, now=T0)
    assert _link_mails(sato) == []
    [event] = _requests(sato)
    assert event[0] == eid
    assert event[1]["by"] == "phone" and event[1]["sent"] is False


def test_asking_again_and_again_is_throttled_matched_or_not(sato) -> None:
    _enroll(sato, "Awa", AWA)
    for contact in (AWA, "personne@exemple.org"):
        for _ in range(accounts.FREE_FAILURES["account"]):
            participant_links.request_link(sato, contact, by=ANON, address=None, now=T0)
        with pytest.raises(accounts.TooManyAttempts):
            participant_links.request_link(sato, contact, by=ANON, address=None, now=T0)
    # five requests in a quarter hour, one e-mail
    assert len(_link_mails(sato)) == 1
    # an hour later the counter starts again
    later = T0 + accounts.THROTTLE_WINDOW + timedelta(minutes=1)
    participant_links.request_link(sato, AWA, by=ANON, address=None, now=later)
    assert len(_link_mails(sato)) == 2


def test_one_address_asking_for_many_contacts_is_throttled(sato) -> None:
    for i in range(accounts.FREE_FAILURES["address"]):
        participant_links.request_link(
            sato, f"p{i}@exemple.org", by=ANON, address="198.51.100.7", now=T0
        )
    with pytest.raises(accounts.TooManyAttempts):
        participant_links.request_link(
            sato, "encore@exemple.org", by=ANON, address="198.51.100.7", now=T0
        )
    with pytest.raises(InvalidInput):
        participant_links.contact_of("pas un contact")


# --- staying signed in ------------------------------------------------------------------------


def _expires(rt: Runtime, token: str):
    with rt.reading() as conn:
        return as_utc(
            conn.execute(
                select(WebSession.expires_at).where(WebSession.token_hash == links.digest(token))
            ).scalar_one()
        )


def test_a_long_session_slides_and_ends_when_signing_out_everywhere(sato) -> None:
    eid = _enroll(sato, "Awa", AWA)
    pid = _person(sato, eid)
    cip = actor(sato, CIP)
    phone = accounts.open_link(
        sato, accounts.magic_link(sato, pid, by=cip), address=None, now=T0, remember=True
    )
    computer = accounts.use_magic_link(sato, accounts.magic_link(sato, pid, by=cip), now=T0)
    other = accounts.use_magic_link(
        sato, accounts.magic_link(sato, _person(sato, _enroll(sato, "Léo")), by=cip), now=T0
    )
    assert _expires(sato, phone) == T0 + timedelta(days=links.LONG_SESSION_DAYS)
    assert _expires(sato, computer) == T0 + timedelta(days=accounts.SESSION_DAYS)
    # a visit two months later moves the end of the remembered session, not the other one
    later = T0 + timedelta(days=60)
    assert links.keep_alive(sato, phone, now=later) == links.LONG_SESSION_DAYS
    assert _expires(sato, phone) == later + timedelta(days=links.LONG_SESSION_DAYS)
    assert links.keep_alive(sato, computer, now=T0) is None
    assert accounts.from_session(sato, phone, now=T0 + timedelta(days=100)) is not None
    # signing out everywhere from the computer ends the phone's session too, no one else's
    assert accounts.logout(sato, computer, everywhere=True) == 2
    assert accounts.from_session(sato, phone, now=later) is None
    assert accounts.from_session(sato, other, now=T0) is not None


def test_the_cookie_lasts_as_long_as_the_box_says(sato) -> None:
    eid = _enroll(sato, "Awa", AWA)
    pid = _person(sato, eid)
    cip = actor(sato, CIP)
    app = create_app(sato, BASE)

    def opened(form: dict[str, str]) -> str:
        client = TestClient(app, base_url=BASE)
        token = accounts.magic_link(sato, pid, by=cip)
        resp = client.post(f"/lien/{token}", data=form, follow_redirects=False)
        assert resp.status_code == 303 and resp.headers["location"] == "/moi"
        return resp.headers["set-cookie"]

    remembered = opened({"rester": "oui"})
    assert f"Max-Age={links.LONG_SESSION_DAYS * 86400}" in remembered
    assert "HttpOnly" in remembered
    shared = opened({})
    assert "Max-Age" not in shared and "expires" not in shared.lower()
    assert shared.startswith(f"{auth.COOKIE}=")


# --- asking a company for a recommendation -----------------------------------------------------


def test_the_company_search_only_finds_partners_of_the_participants_networks(sato) -> None:
    eid = _enroll(sato, "Awa", AWA)
    pid = _person(sato, eid)
    with sato.unit_of_work() as s:
        upsert_organisation(
            s, "menuiserie-inae", "Menuiserie Bretagne", "partner", networks=["inae"]
        )
        upsert_organisation(s, "geiq-seul", "GEIQ sans réseau", "partner")
    awa = actor(sato, pid)
    found = endorsements.search_companies(sato, pid, "bretagne", by=awa)
    assert [c.name for c in found] == ["BGE Bretagne", "GEIQ industrie Bretagne"]
    assert {c.slug for c in endorsements.search_companies(sato, pid, "", by=awa)} == {
        "adie",
        "bge",
        "geiq-industrie",
    }
    assert endorsements.search_companies(sato, pid, "100%_", by=awa) == []
    # another participant cannot list them for Awa
    leo = _person(sato, _enroll(sato, "Léo"))
    with pytest.raises(Forbidden):
        endorsements.search_companies(sato, pid, "", by=actor(sato, leo))


def test_a_company_not_in_the_list_is_invited_by_name(sato) -> None:
    eid = _enroll(sato, "Awa", AWA)
    pid = _person(sato, eid)
    awa = actor(sato, pid)
    [(aid, _, _)] = badges.badges_of(sato, eid, by=awa)
    for _ in range(2):
        endorsements.request_recommendation(
            sato,
            aid,
            "",
            "rh@boulangerie.example",
            sato.urls,
            by=awa,
            company_name="Boulangerie  du Port",
        )
    with sato.reading() as conn:
        orgs = (
            conn.execute(
                select(Organisation.slug).where(Organisation.name == "Boulangerie du Port")
            )
            .scalars()
            .all()
        )
        asked = conn.execute(select(RecommendationRequest.company_id)).scalars().all()
    assert len(orgs) == 1 and re.fullmatch(r"boulangerie-du-port-[0-9a-f]{6}", orgs[0])
    assert len(asked) == 2 and len(set(asked)) == 1  # the same company, asked twice
    # it is not offered to others as a partner of the network
    assert endorsements.search_companies(sato, pid, "boulangerie", by=awa) == []
    with pytest.raises(InvalidInput, match="entreprise"):
        endorsements.request_recommendation(sato, aid, "", "rh@x.example", sato.urls, by=awa)


def test_the_form_says_when_to_try_again(sato) -> None:
    client = TestClient(create_app(sato, BASE), base_url=BASE)
    for _ in range(accounts.FREE_FAILURES["account"]):
        sent = client.post("/nouveau-lien", data={"contact": "06 11 22 33 44"})
        assert sent.status_code == 200 and "Demande reçue" in sent.text
    refused = client.post("/nouveau-lien", data={"contact": "06 11 22 33 44"})
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
    assert "trop de tentatives" in refused.text and 'value="06 11 22 33 44"' in refused.text
    # the expired-link page and the link page both lead to the form
    assert 'href="/nouveau-lien"' in client.get("/lien/un-jeton").text
    expired = client.post("/lien/un-jeton")
    assert expired.status_code == 410 and 'action="/nouveau-lien"' in expired.text
