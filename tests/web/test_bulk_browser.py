"""The import and group award pages in a real headless Chromium on a phone (390 px): Claire,
CIP at SATO Intérim, tries a spreadsheet, reads its problems line by line, tries the corrected
file and confirms it; Marc, encadrant technique, awards the « Jeu de piste » badge to the group
after the visit. Every page: axe-core clean, never wider than the phone."""

from __future__ import annotations

from playwright.sync_api import expect

from engine.api.app import create_app
from engine.services.accounts import set_password
from engine.services.runtime import Runtime
from tests.conftest import CIP, ENCADRANT
from tests.third_party import free_port, serving
from tests.web.conftest import PASSWORD
from tests.web.phone import assert_checked
from tests.web.test_admin_browser import _login, _phone
from tests.web.test_browser import _shot, browser  # noqa: F401  (the Chromium fixture)

BAD = "prénom;nom;e-mail;année de naissance\nAwa;Diallo;awa@exemple.org;1994\nYannick;;;1788\n"
GOOD = BAD.replace("Yannick;;;1788", "Yannick;Le Bihan;;1988")


def test_a_cip_imports_a_list_and_the_encadrant_awards_the_group(
    web: Runtime,
    browser,  # noqa: F811
    db_url: str,
    tmp_path,
) -> None:
    backend = db_url.split(":")[0]
    set_password(web, ENCADRANT, PASSWORD)
    bad, good = tmp_path / "liste.csv", tmp_path / "liste-corrigee.csv"
    bad.write_text(BAD, encoding="utf-8")
    good.write_text(GOOD, encoding="utf-8")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with serving(create_app(web, base), port):
        claire = _phone(browser)
        _login(claire, base, CIP)
        claire.goto(base + "/participants/import")
        expect(claire.get_by_role("heading", name="Importer des participants")).to_be_visible()
        assert_checked(claire)
        claire.get_by_label("Structure").select_option(label="SATO Intérim")
        claire.get_by_label("Fichier CSV ou XLSX").set_input_files(str(bad))
        claire.get_by_role("button", name="Essayer sans rien écrire").click()
        expect(claire.get_by_role("alert")).to_contain_text("Rien n'a été importé")
        problems = claire.get_by_role("region", name="Problèmes ligne par ligne")
        expect(problems.get_by_role("row")).to_have_count(3)
        expect(problems).to_contain_text("obligatoire")
        expect(problems).to_contain_text("« 1788 »")
        assert_checked(claire)
        _shot(claire, "import-1-problemes", backend)

        claire.get_by_label("Structure").select_option(label="SATO Intérim")
        claire.get_by_label("Fichier CSV ou XLSX").set_input_files(str(good))
        claire.get_by_role("button", name="Essayer sans rien écrire").click()
        expect(claire.get_by_role("status")).to_contain_text("2 participant(s) à créer")
        assert_checked(claire)
        _shot(claire, "import-2-essai", backend)
        claire.get_by_role("button", name="Importer ces 2 ligne(s)").click()
        expect(claire.get_by_role("status")).to_contain_text("2 participant(s) créé(s)")
        assert_checked(claire)

        marc = _phone(browser)
        _login(marc, base, ENCADRANT)
        marc.goto(base + "/action-collective")
        expect(marc.get_by_role("heading", name="Badge d'une action collective")).to_be_visible()
        assert_checked(marc)
        marc.get_by_label("Badge", exact=True).select_option(label="Jeu de piste en entreprises")
        marc.get_by_label("Titre de l'action").fill("Jeu de piste à Kergaradec")
        marc.get_by_label("Ce que le groupe a fait").fill("Quatre entreprises visitées.")
        marc.get_by_label("Awa Diallo").check()
        marc.get_by_label("Yannick Le Bihan").check()
        _shot(marc, "action-collective-1", backend)
        marc.get_by_role("button", name="Délivrer le badge aux participants cochés").click()
        expect(marc.get_by_role("status")).to_contain_text(
            "Badge « Jeu de piste en entreprises » délivré à 2 participant(s)."
        )
        assert_checked(marc)
        _shot(marc, "action-collective-2", backend)
