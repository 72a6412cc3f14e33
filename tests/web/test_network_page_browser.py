"""The network admins' page in a real headless Chromium, on a phone (390 px): SATO's admin
opens it from the menu, reads the catalogue and the committee rules, sends a broken network
file and reads its problems line by line (nothing is published), then sends a valid one and
reads the confirmation. The page never scrolls sideways; screenshots go with the others."""

from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import select

from engine.api.app import create_app
from engine.services.accounts import set_password
from engine.services.runtime import Runtime
from engine.store.tables import NetworkVersion
from tests.conftest import NETWORK_ADMIN
from tests.third_party import free_port, serving
from tests.web.accessibility import assert_accessible
from tests.web.conftest import PASSWORD
from tests.web.phone import PHONE, assert_fits
from tests.web.test_browser import _shot, browser  # noqa: F401  (the Chromium fixture)
from tests.web.test_networks_api import sato_text


def _versions(rt: Runtime) -> list[int]:
    with rt.reading() as c:
        query = select(NetworkVersion.version).where(NetworkVersion.network == "sato")
        return sorted(c.execute(query).scalars())


def test_the_network_admin_reads_the_page_and_publishes_on_a_phone(
    web: Runtime,
    browser,  # noqa: F811
    db_url: str,
) -> None:
    backend = db_url.split(":")[0]
    set_password(web, NETWORK_ADMIN, PASSWORD)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    broken = sato_text(2).replace("id: sato.ponctualite\n", "id: ponctualite\n")
    broken = broken.replace("quorum: 2\n", "quorum: deux\n")
    lines = broken.splitlines()
    valid = sato_text(2, **{"sato.ponctualite": "Ponctualité au travail"})

    with serving(create_app(web, base), port):
        page = browser.new_context(viewport=PHONE).new_page()
        page.goto(base + "/connexion")
        page.get_by_label("Adresse e-mail").fill(NETWORK_ADMIN)
        page.get_by_label("Mot de passe").fill(PASSWORD)
        page.get_by_role("button", name="Se connecter").click()
        page.get_by_role("link", name="Réseau", exact=True).click()
        expect(page).to_have_url(base + "/reseau")
        expect(page.get_by_role("heading", name="SATO Brest", level=1)).to_be_visible()

        catalogue = page.locator("#catalogue")
        expect(catalogue.get_by_role("heading", name="Catalogue des badges")).to_be_visible()
        ponctualite = catalogue.locator("article", has_text="sato.ponctualite")
        expect(ponctualite.get_by_role("heading", name="Ponctualité")).to_be_visible()
        expect(ponctualite).to_contain_text("Aucun retard non justifié")
        key = catalogue.locator("article", has_text="sato.competences-entreprise")
        expect(key).to_contain_text("Sous-badges (au moins 3 sur 4)")
        expect(key).to_contain_text("Travail en équipe")
        # each badge's picture is served and drawn
        picture = ponctualite.locator("img")
        expect(picture).to_have_attribute("src", "/ob/v2/badges/sato.ponctualite/image.png")
        picture.scroll_into_view_if_needed()  # pictures load as they come into view
        drawn = "img => img.complete && img.naturalWidth > 0"
        page.wait_for_function(drawn, arg=picture.element_handle(), timeout=5000)

        rules = page.locator("#comites")
        expect(rules.get_by_role("heading", name="Commission de validation")).to_be_visible()
        expect(rules).to_contain_text("quorum : 2 votes")
        expect(page.locator("#parcours figure svg").first).to_be_visible()
        assert_fits(page)
        assert_accessible(page)
        _shot(page, "reseau-1-page", backend)

        page.get_by_label("Fichier du réseau (YAML)").set_input_files(
            {"name": "sato.yaml", "mimeType": "application/yaml", "buffer": broken.encode()}
        )
        page.get_by_role("button", name="Publier le fichier du réseau").click()
        alert = page.get_by_role("alert")
        expect(alert).to_contain_text("Le fichier du réseau n'a pas été publié")
        items = alert.get_by_role("listitem")
        expect(items).to_have_count(2)
        quorum = lines.index("    quorum: deux") + 1
        badge = lines.index("  - id: ponctualite") + 1
        expect(items.filter(has_text=f"Ligne {quorum}")).to_contain_text(
            "committees.validation.quorum"
        )
        expect(items.filter(has_text=f"Ligne {badge}")).to_contain_text("ponctualite")
        assert _versions(web) == [1]
        assert_fits(page)
        assert_accessible(page)
        _shot(page, "reseau-2-erreurs", backend)

        page.get_by_label("Fichier du réseau (YAML)").set_input_files(
            {"name": "sato.yaml", "mimeType": "application/yaml", "buffer": valid.encode()}
        )
        page.get_by_role("button", name="Publier le fichier du réseau").click()
        expect(page.get_by_role("status")).to_contain_text(
            "Version 2 du réseau « sato » publiée : 0 badge créé, 1 badge modifié"
        )
        expect(page.get_by_role("alert")).to_have_count(0)
        expect(page.locator("#catalogue")).to_contain_text("Ponctualité au travail")
        expect(page.locator("#versions tbody tr")).to_have_count(2)
        assert _versions(web) == [1, 2]
        assert_fits(page)
        assert_accessible(page)
        _shot(page, "reseau-3-publie", backend)
