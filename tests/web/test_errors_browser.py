"""Mistakes in a real Chromium on a phone (390 px): a mistyped address or a wrong number in
it gives a French page with the site's menu and a way back, never raw JSON; a refused form
shows what was typed; the site has its icon; a keyboard user skips the menu and always sees
where the focus is. The deliveries (/envois) and the partner's page (/partenaire), with
data, fit the phone. Every page passes axe-core."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from engine.api import request_pages
from engine.api.app import create_app
from engine.services import enrollments as e
from engine.services import outbox, shares
from engine.services.accounts import set_password
from engine.services.organisations import add_staff
from engine.services.runtime import Runtime
from tests.conftest import CIP, NETWORK_ADMIN, T0, actor
from tests.third_party import free_port, serving
from tests.web.conftest import PASSWORD
from tests.web.phone import PHONE, assert_checked
from tests.web.test_browser import _login, _shot, browser  # noqa: F401  (the Chromium fixture)

GEIQ = "gwen@geiq.example"


def _luminance(rgb: tuple[int, int, int]) -> float:
    def channel(c: int) -> float:
        c = c / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _contrast(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _rgb(css: str) -> tuple[int, int, int]:
    r, g, b = (int(x) for x in re.findall(r"\d+", css)[:3])
    return r, g, b


def test_a_mistyped_address_and_a_wrong_number_give_french_pages_with_a_way_back(
    web: Runtime,
    browser,  # noqa: F811
    db_url: str,
) -> None:
    backend = db_url.split(":")[0]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with serving(create_app(web, base), port):
        anon = browser.new_context(viewport=PHONE).new_page()
        answer = anon.goto(base + "/page-inconnue")
        assert answer.status == 404 and answer.headers["content-type"].startswith("text/html")
        expect(anon.get_by_role("heading", name="Page introuvable", level=1)).to_be_visible()
        expect(anon.locator("main")).to_contain_text("Adresse demandée : /page-inconnue")
        expect(anon.get_by_role("link", name="Revenir à la page précédente")).to_have_attribute(
            "href", "/"
        )
        assert_checked(anon)
        _shot(anon, "erreur-1-page-inconnue", backend)

        # the site's icon, linked from every page
        icon = anon.request.get(base + "/favicon.ico")
        assert icon.status == 200 and icon.headers["content-type"] == "image/x-icon"
        assert icon.body()[:4] == b"\x00\x00\x01\x00"  # an ICO file
        anon.goto(base + "/connexion")
        expect(anon.locator("link[rel=icon]")).to_have_attribute("href", "/favicon.ico")

        # signed in, a wrong number in the address: the menu stays, "back" is where one was
        cip = browser.new_context(viewport=PHONE).new_page()
        _login(cip, base, CIP)
        expect(cip).to_have_url(base + "/tableau-de-bord")
        answer = cip.goto(base + "/parcours/abc", referer=base + "/tableau-de-bord")
        assert answer.status == 404 and "json" not in answer.headers["content-type"]
        expect(cip.get_by_role("heading", name="Page introuvable", level=1)).to_be_visible()
        expect(cip.get_by_role("button", name="Se déconnecter")).to_be_visible()
        expect(cip.get_by_role("link", name="Tableau de bord")).to_be_visible()
        expect(cip.locator("main")).to_contain_text("/parcours/abc")
        back = cip.get_by_role("link", name="Revenir à la page précédente")
        expect(back).to_have_attribute("href", "/tableau-de-bord")
        assert_checked(cip)
        _shot(cip, "erreur-2-numero-invalide", backend)
        back.click()
        expect(cip).to_have_url(base + "/tableau-de-bord")

        # the API and the Open Badges documents keep answering problem details
        api = cip.request.get(base + "/api/v1/enrollments/abc")
        assert api.headers["content-type"] == "application/problem+json"


def test_a_refused_form_shows_what_was_typed(
    web: Runtime,
    browser,  # noqa: F811
    db_url: str,
) -> None:
    """The support form sent with a value the server refuses (an old copy of the form, a
    tampered field): the page says which field and shows everything that was typed, and the
    way back leads to the form."""
    backend = db_url.split(":")[0]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with serving(create_app(web, base), port):
        page = browser.new_context(viewport=PHONE).new_page()
        page.goto(base + "/soutenir/inae.badgeons-iae")
        page.get_by_label("Prénom").fill("Camille")
        page.get_by_label("Nom", exact=True).fill("Roy")
        page.get_by_label("E-mail").fill("camille@roy.example")
        box = page.get_by_label("Je demande ce badge pour moi-même")
        box.check()
        box.evaluate("box => box.value = 'oui, bien sûr'")  # longer than the server allows
        with page.expect_response(lambda r: r.request.method == "POST") as sent:
            page.get_by_role("button", name="Recevoir le badge").click()
        assert sent.value.status == 422
        expect(page.get_by_role("heading", name="Formulaire à corriger")).to_be_visible()
        typed = page.locator("dl.saisie")
        for value in ("Camille", "Roy", "camille@roy.example", "oui, bien sûr"):
            expect(typed).to_contain_text(value)
        expect(typed).to_contain_text("trop long (3 caractères au plus)")
        back = page.get_by_role("link", name="Revenir au formulaire")
        expect(back).to_have_attribute("href", "/soutenir/inae.badgeons-iae")
        assert_checked(page)
        _shot(page, "erreur-3-formulaire", backend)


def test_a_keyboard_user_skips_to_the_content_and_sees_the_focus(
    web: Runtime,
    browser,  # noqa: F811
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with serving(create_app(web, base), port):
        page = browser.new_context(viewport=PHONE).new_page()
        _login(page, base, CIP)
        expect(page).to_have_url(base + "/tableau-de-bord")
        page.goto(base + "/badges-projet")
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        page.keyboard.press("Tab")
        skip = page.get_by_role("link", name="Aller au contenu")
        expect(skip).to_be_focused()
        expect(skip).to_be_visible()
        box = skip.bounding_box()
        assert box is not None and box["y"] >= 0  # on screen, not parked above it
        ring = skip.evaluate(
            "a => { const s = getComputedStyle(a);"
            " return [s.outlineStyle, s.outlineWidth, s.outlineColor]; }"
        )
        assert ring[0] == "solid" and float(ring[1].removesuffix("px")) >= 2, ring
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        page_colour = (255, 255, 255) if "0, 0, 0, 0" in background else _rgb(background)
        assert _contrast(_rgb(ring[2]), page_colour) >= 3, ring
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.id") == "contenu"
        assert page.evaluate("document.activeElement.tagName") == "MAIN"
        # the next Tab goes on inside the page's content, past the menu
        page.keyboard.press("Tab")
        inside = page.evaluate("document.activeElement.closest('main') !== null")
        assert inside
        focused = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
        assert focused == "solid"
        assert_checked(page)


@pytest.fixture
def _partners_on_loopback(monkeypatch) -> None:
    """The GEIQ's webhook listens on 127.0.0.1 over plain http (allowed here as an
    administrator allows a host): nobody answers it, so its deliveries die."""
    monkeypatch.setenv("PARCOURS_ALLOW_HTTP_WEBHOOKS", "1")
    monkeypatch.setenv("PARCOURS_WEBHOOK_ALLOWED_HOSTS", "127.0.0.1")


def test_deliveries_and_the_partner_page_fit_a_phone_with_data(
    web: Runtime,
    browser,  # noqa: F811
    db_url: str,
    _partners_on_loopback: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    backend = db_url.split(":")[0]
    with web.unit_of_work() as s:
        add_staff(s, GEIQ, "Gwen", "Le Bris", [("geiq-industrie", "partner")])
    set_password(web, GEIQ, PASSWORD)
    set_password(web, NETWORK_ADMIN, PASSWORD)
    closed = free_port()  # nobody listens: every attempt fails
    shares.set_webhook(
        web, "geiq-industrie", f"http://127.0.0.1:{closed}/hook", by=actor(web, GEIQ)
    )
    cip = actor(web, CIP)
    for family in ("Diallo", "Le Bihan-Kerhervé de la Villemarqué"):
        eid = e.enroll(
            web, "atelier-decouverte", "sato-interim", e.Participant("Awa", family), by=cip
        )
        e.advance(web, eid, "demarrer", by=cip, now=T0)
        e.add_evidence(web, eid, "fiche-atelier", by=cip, now=T0)
        e.advance(web, eid, "valider-atelier", by=cip, now=T0)  # shares with the GEIQ
    now = T0
    for _ in range(outbox.MAX_ATTEMPTS):
        outbox.work(web, now=now)
        now += outbox.MAX_BACKOFF
    dead, total = outbox.listing(web, actor(web, NETWORK_ADMIN), status="dead")
    assert total == 2

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with serving(create_app(web, base), port):
        admin = browser.new_context(viewport=PHONE).new_page()
        _login(admin, base, NETWORK_ADMIN)
        admin.goto(base + "/envois")
        expect(admin.get_by_role("heading", name=f"Envoi n° {dead[0].id}")).to_be_visible()
        expect(admin.locator("main")).to_contain_text("Dernière erreur")
        assert_checked(admin)
        _shot(admin, "envois-telephone", backend)
        # retrying is a post/redirect/get: a reload sends nothing again
        admin.get_by_role("button", name=f"Relancer l'envoi n° {dead[0].id}").click()
        expect(admin).to_have_url(base + "/envois")
        expect(admin.get_by_role("heading", name=f"Envoi n° {dead[0].id}")).to_have_count(0)

        partner = browser.new_context(viewport=PHONE).new_page()
        _login(partner, base, GEIQ)
        expect(
            partner.get_by_role("heading", name="Badges partagés avec mon organisation")
        ).to_be_visible()
        table = partner.get_by_role("region", name=re.compile("Badges partagés"))
        expect(
            table.get_by_role("cell", name="Règles de sécurité en atelier").first
        ).to_be_visible()
        assert_checked(partner)
        _shot(partner, "partenaire-telephone", backend)
        # one badge a page: « Suivant » shows the next, then « Début de la liste » goes back
        monkeypatch.setattr(request_pages, "PARTNER_PAGE", 1)
        partner.reload()
        first = partner.locator("main tbody tr").first.inner_text()
        expect(partner.locator("main tbody tr")).to_have_count(1)
        partner.get_by_role("link", name="Suivant").click()
        expect(partner).to_have_url(re.compile(r"/partenaire\?apres="))
        expect(partner.locator("main tbody tr")).to_have_count(1)
        assert partner.locator("main tbody tr").first.inner_text() != first
        assert_checked(partner)
        partner.get_by_role("link", name="Début de la liste").click()
        expect(partner).to_have_url(base + "/partenaire")
        assert partner.locator("main tbody tr").first.inner_text() == first
