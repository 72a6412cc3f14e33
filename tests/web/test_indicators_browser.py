"""A network admin reads SATO's indicators on a phone (390 px) in a real headless Chromium:
from the menu to the network's page, sets the period, reads the key figures, a chart drawn
on the server (its picture loads under the pages' Content-Security-Policy, no console
error) and the same figures in its table, with small counts shown « < 5 ». The page passes
axe-core and never scrolls sideways; screenshots go with the others."""

from __future__ import annotations

from playwright.sync_api import expect

from engine.api.app import create_app
from engine.services.runtime import Runtime
from tests.conftest import NETWORK_ADMIN
from tests.engine import indicator_data as data
from tests.third_party import free_port, serving
from tests.web.accessibility import assert_accessible
from tests.web.phone import PHONE, assert_fits
from tests.web.test_browser import _shot, browser  # noqa: F401  (the Chromium fixture)


def test_the_network_admin_reads_the_indicators_on_a_phone(
    web: Runtime,
    browser,  # noqa: F811
    db_url: str,
) -> None:
    backend = db_url.split(":")[0]
    data.populate(web)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with serving(create_app(web, base), port):
        page = browser.new_context(viewport=PHONE).new_page()
        page.goto(base + "/connexion")
        page.get_by_label("Adresse e-mail").fill(NETWORK_ADMIN)
        page.get_by_label("Mot de passe").fill(data.PASSWORD)
        page.get_by_role("button", name="Se connecter").click()
        page.get_by_role("link", name="Indicateurs", exact=True).click()
        expect(page).to_have_url(base + "/indicateurs")
        page.get_by_role("link", name="SATO Brest").click()
        expect(page.get_by_role("heading", name="Réseau SATO Brest", level=1)).to_be_visible()

        page.get_by_label("Du", exact=True).fill("2026-01-01")
        page.get_by_label("Au", exact=True).fill("2026-06-30")
        page.get_by_role("button", name="Afficher").click()
        expect(page).to_have_url(base + "/indicateurs/reseau/sato?du=2026-01-01&au=2026-06-30")
        assert_fits(page)  # the stylesheet loaded: the sizes below are the page's
        expect(page.locator("dl.chiffres")).to_contain_text("Entrées")
        expect(page.locator("dl.chiffres div", has_text="Entrées").locator("dd")).to_have_text("11")

        entries = page.get_by_role("table", name="Entrées dans la période")
        row = entries.get_by_role("row", name="SATO EiTi")
        expect(row.get_by_role("cell")).to_have_text(["< 5"])
        funnel = page.locator("#entonnoir")
        picture = funnel.get_by_role("img", name="Graphique en barres : Entonnoir")
        picture.scroll_into_view_if_needed()
        drawn = "img => img.complete && img.naturalWidth > 0"
        page.wait_for_function(drawn, arg=picture.element_handle(), timeout=5000)
        box = picture.bounding_box()
        assert box and box["width"] <= 390 and box["height"] > 100
        expect(funnel.get_by_role("table")).to_contain_text("Mise en emploi")

        assert_accessible(page)
        _shot(page, "indicateurs-reseau", backend)

        # a structure's row leads to its own page, same period
        entries.get_by_role("link", name="SATO Intérim").click()
        expect(page.get_by_role("heading", name="Structure SATO Intérim", level=1)).to_be_visible()
        expect(page).to_have_url(
            base + "/indicateurs/structure/sato-interim?du=2026-01-01&au=2026-06-30"
        )
        assert_fits(page)
        assert_accessible(page)
