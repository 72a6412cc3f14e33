"""Issue 19, the participant's side, on a 390 px phone in Chromium: Awa's link has expired; she
asks for a new one with her e-mail, receives it, opens it with « Rester connecté sur ce
téléphone » ticked, sees her badges with their pictures, prints one, asks a company found by
its name for a recommendation, and signs out of every device. Every page: axe-core clean, no
sideways scrolling."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from engine.api import auth
from engine.api.app import create_app
from engine.services import accounts, links, outbox
from engine.services import enrollments as e
from engine.store.tables import utcnow
from tests.conftest import CIP, actor
from tests.engine.test_privacy import Mailbox, smtp  # noqa: F401  (the SMTP fixture)
from tests.third_party import free_port, serving
from tests.web.phone import PHONE, assert_checked
from tests.web.test_browser import _shot, browser  # noqa: F401  (the Chromium fixture)

AWA = "awa.diallo@exemple.org"


@pytest.fixture
def awa(web) -> int:
    """Awa, at SATO Intérim, with the test pathway's two badges."""
    cip = actor(web, CIP)
    eid = e.enroll(
        web, "atelier-decouverte", "sato-interim", e.Participant("Awa", "Diallo", AWA), by=cip
    )
    e.advance(web, eid, "demarrer", by=cip)
    e.add_evidence(web, eid, "fiche-atelier", by=cip)
    e.advance(web, eid, "valider-atelier", by=cip)
    with web.reading() as conn:
        from sqlalchemy import select

        from engine.store.tables import Enrollment

        return conn.execute(
            select(Enrollment.participant_id).where(Enrollment.id == eid)
        ).scalar_one()


def _session_cookie(page: Page) -> dict:
    [cookie] = [c for c in page.context.cookies() if c["name"] == auth.COOKIE]
    return cookie


def test_an_expired_link_a_new_one_by_email_and_the_badges_on_a_phone(
    web,
    awa: int,
    smtp: Mailbox,  # noqa: F811
    browser,  # noqa: F811
    db_url: str,
) -> None:
    backend = db_url.split(":")[0]
    cip = actor(web, CIP)
    old = accounts.magic_link(web, awa, by=cip, now=utcnow() - timedelta(days=links.LINK_DAYS + 1))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with serving(create_app(web, base), port):
        page = browser.new_context(viewport=PHONE).new_page()
        # the old link: the page says so and offers a new one at once
        page.goto(f"{base}/lien/{old}")
        page.get_by_role("button", name="Ouvrir mon espace").click()
        expect(page.get_by_role("heading", name="Lien expiré")).to_be_visible()
        assert_checked(page)
        page.get_by_label("Adresse e-mail ou téléphone portable").fill(AWA)
        page.get_by_role("button", name="Recevoir un nouveau lien").click()
        expect(page.get_by_role("status")).to_contain_text("Demande reçue")
        assert_checked(page)
        _shot(page, "30-nouveau-lien", backend)

        # the e-mail leaves through the outbox, with a link minted as it is sent
        assert outbox.work(web) == (1, 0)
        [mail] = smtp.messages
        assert mail["To"] == AWA
        [line] = [x for x in mail.get_content().splitlines() if "/lien/" in x]
        token = line.strip().rsplit("/lien/", 1)[1]

        # her own phone: she stays signed in; the cookie outlives the browser, for 90 days
        page.goto(f"{base}/lien/{token}")
        assert_checked(page)
        page.get_by_label("Rester connecté sur ce téléphone").check()
        page.get_by_role("button", name="Ouvrir mon espace").click()
        expect(page.get_by_role("heading", name="Bonjour Awa")).to_be_visible()
        lasts = _session_cookie(page)["expires"] - time.time()
        assert abs(lasts - links.LONG_SESSION_DAYS * 86400) < 3600

        # her page speaks to her, and shows each badge with its picture
        for heading in ("Votre prochaine étape", "Vos badges", "Ce que vous avez fait"):
            expect(page.get_by_role("heading", name=heading)).to_be_visible()
        expect(page.get_by_text("Passage d'étape : Mise en emploi")).to_be_visible()
        pictures = page.locator("li.mon-badge img")
        expect(pictures).to_have_count(2)
        for i in range(2):
            expect(pictures.nth(i)).to_be_visible()
            assert pictures.nth(i).evaluate("img => img.complete && img.naturalWidth > 0")
        expect(page.get_by_role("link", name="Règles de sécurité en atelier")).to_be_visible()
        assert_checked(page)
        _shot(page, "31-mon-espace", backend)

        # each badge prints: its PDF, an A4 page with its QR code
        printable = page.get_by_role("link", name="Imprimer (PDF)").first.get_attribute("href")
        pdf = page.request.get(printable)
        assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
        assert pdf.body().startswith(b"%PDF")

        # a recommendation: the company is found by its name, not by an identifier
        page.get_by_role("link", name="Demander une recommandation à une entreprise").first.click()
        expect(page.get_by_role("heading", name="Demander une recommandation")).to_be_visible()
        assert_checked(page)
        page.get_by_label("Nom de l'entreprise", exact=True).fill("geiq")
        page.get_by_role("button", name="Chercher").click()
        expect(page.get_by_label("GEIQ industrie Bretagne")).to_be_checked()
        assert_checked(page)
        page.get_by_label("E-mail de votre contact dans l'entreprise", exact=True).fill(
            "rh@geiq.example"
        )
        page.get_by_role("button", name="Envoyer la demande").click()
        expect(page.get_by_role("heading", name="Demande envoyée")).to_be_visible()
        assert_checked(page)

        # on a shared computer, without the box: the cookie ends with the browser
        shared = browser.new_context(viewport=PHONE).new_page()
        shared.goto(f"{base}/lien/{accounts.magic_link(web, awa, by=cip)}")
        shared.get_by_role("button", name="Ouvrir mon espace").click()
        expect(shared.get_by_role("heading", name="Bonjour Awa")).to_be_visible()
        assert _session_cookie(shared)["expires"] == -1

        # signing out of every device from the phone closes the shared computer's session too
        page.goto(f"{base}/moi")
        page.get_by_role("button", name="Se déconnecter de tous les appareils").click()
        expect(
            page.get_by_role("heading", name="Vous êtes déconnecté de tous les appareils")
        ).to_be_visible()
        assert_checked(page)
        assert [c for c in page.context.cookies() if c["name"] == auth.COOKIE] == []
        shared.goto(f"{base}/moi")
        expect(shared.get_by_role("heading", name="Bonjour Awa")).to_have_count(0)
