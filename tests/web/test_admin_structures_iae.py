"""The administration page's IAE identifiers (issue 20), in a real headless Chromium on a
phone (390 px): SATO's network admin adds a structure with its SIRET and département (a wrong
SIRET comes back in French with what was typed), then imports the Finistère's SIAE from « les
emplois de l'inclusion » (a local server answering as the platform does): a dry run first,
then the import; the token is typed in a password field and never shown back. Every state:
axe-core clean, never wider than the phone."""

from __future__ import annotations

from playwright.sync_api import expect

from engine.api.app import create_app
from engine.services.accounts import set_password
from engine.services.runtime import Runtime
from tests.conftest import NETWORK_ADMIN
from tests.engine.test_siae_import import TOKEN, FakePlatform, _server, _structures, platform  # noqa: F401  (the fake platform)
from tests.third_party import free_port, serving
from tests.web.conftest import PASSWORD
from tests.web.phone import assert_checked
from tests.web.test_admin_browser import _login, _phone
from tests.web.test_browser import _shot, browser  # noqa: F401  (the Chromium fixture)


def test_a_network_admin_records_siret_and_imports_from_les_emplois(
    web: Runtime,
    browser,  # noqa: F811
    platform: FakePlatform,  # noqa: F811
    db_url: str,
) -> None:
    backend = db_url.split(":")[0]
    set_password(web, NETWORK_ADMIN, PASSWORD)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with serving(create_app(web, base), port):
        admin = _phone(browser)
        _login(admin, base, NETWORK_ADMIN)
        admin.goto(base + "/administration")

        form = admin.locator("form", has=admin.get_by_role("heading", name="Ajouter une structure"))
        form.get_by_label("Nom de la structure").fill("Atelier du Port")
        form.get_by_label("Type de structure").select_option("ACI")
        form.get_by_label("SIRET (facultatif)").fill("732 829 320 00075")
        form.get_by_label("Département (facultatif)").fill("29")
        form.get_by_role("button", name="Ajouter la structure").click()
        expect(form.get_by_role("alert")).to_contain_text("clé de contrôle fausse")
        expect(form.get_by_label("SIRET (facultatif)")).to_have_value("732 829 320 00075")
        expect(form.get_by_label("Département (facultatif)")).to_have_value("29")
        assert_checked(admin)
        form.get_by_label("SIRET (facultatif)").fill("732 829 320 00074")
        form.get_by_role("button", name="Ajouter la structure").click()
        expect(admin.get_by_role("status")).to_have_text("Structure ajoutée au réseau.")
        card = admin.locator(
            "#structures li", has=admin.get_by_role("heading", name="Atelier du Port")
        )
        expect(card).to_contain_text("73282932000074")
        expect(card).to_contain_text("29")
        assert_checked(admin)

        # the import: a dry run (checked by default), then the real one
        section = admin.locator("#emplois-inclusion")
        section.get_by_label("Département", exact=True).fill("29")
        token = section.get_by_label("Jeton d'API des emplois de l'inclusion")
        expect(token).to_have_attribute("type", "password")
        token.fill(TOKEN)
        expect(section.get_by_label("Essai")).to_be_checked()
        section.get_by_role("button", name="Importer").click()
        status = admin.locator("#emplois-inclusion [role=status]")
        expect(status).to_contain_text("Essai, rien n'est enregistré")
        expect(status).to_contain_text("3 structure(s) seraient créée(s), 1 mise(s) à jour")
        expect(section).to_contain_text("entreprise adaptée : pas une SIAE")
        expect(section).to_contain_text("à créer")
        assert TOKEN not in admin.content()  # never sent back
        assert_checked(admin)
        _shot(admin, "admin-iae-1-essai", backend)
        assert set(_structures(web)) == {"73282932000074"}

        section.get_by_label("Jeton d'API des emplois de l'inclusion").fill(TOKEN)
        section.get_by_label("Essai").uncheck()
        section.get_by_role("button", name="Importer").click()
        expect(status).to_contain_text("3 structure(s) ont été créée(s), 1 mise(s) à jour")
        expect(
            admin.locator("#structures").get_by_role("heading", name="Recyclerie de Morlaix")
        ).to_be_visible()
        assert_checked(admin)
        _shot(admin, "admin-iae-2-import", backend)
        assert len(_structures(web)) == 4

        # a refused token: said in French, the département typed kept
        section.get_by_label("Département", exact=True).fill("29")
        section.get_by_label("Jeton d'API des emplois de l'inclusion").fill("faux-jeton")
        section.get_by_role("button", name="Importer").click()
        expect(section.get_by_role("alert")).to_contain_text("jeton refusé")
        expect(section.get_by_label("Département", exact=True)).to_have_value("29")
        assert_checked(admin)
