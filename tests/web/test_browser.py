"""The web app in a real headless Chromium (Debian's package, driven by Playwright; no browser
download): a CIP logs in, enrolls a participant, advances them through two stages, and the
participant then opens their link and sees the badge. A screenshot of each page is saved in
test-artifacts/screenshots (or $PARCOURS_TEST_ARTIFACTS)."""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Page, expect, sync_playwright

from engine.api.app import create_app
from tests.conftest import CIP
from tests.third_party import free_port, serving
from tests.web.conftest import PASSWORD

CHROMIUM = os.environ.get("PARCOURS_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(os.environ.get("PARCOURS_TEST_ARTIFACTS", "test-artifacts")) / "screenshots"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium introuvable ({CHROMIUM}) : apt-get install chromium")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield b
        b.close()


def _shot(page: Page, name: str, backend: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"{backend}-{name}.png", full_page=True)


def test_cip_walks_a_participant_through_two_stages_and_the_participant_sees_the_badge(
    web, browser, tmp_path, db_url
) -> None:
    backend = db_url.split(":")[0]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proof = tmp_path / "fiche-atelier.png"
    buffer = io.BytesIO()
    Image.new("RGB", (120, 80), "steelblue").save(buffer, "PNG")
    proof.write_bytes(buffer.getvalue())

    with serving(create_app(web, base), port):
        staff = browser.new_context(viewport={"width": 390, "height": 844})  # a phone
        page = staff.new_page()
        page.goto(base + "/")
        expect(page).to_have_url(base + "/connexion")
        _shot(page, "1-connexion", backend)
        page.get_by_label("Adresse e-mail").fill(CIP)
        page.get_by_label("Mot de passe").fill(PASSWORD)
        page.get_by_role("button", name="Se connecter").click()
        expect(page.get_by_role("heading", name="Mes participants")).to_be_visible()

        page.get_by_label("Parcours").select_option("atelier-decouverte")
        page.get_by_label("Structure").select_option("sato-interim")
        page.get_by_label("Prénom").fill("Awa")
        page.get_by_label("Nom", exact=True).fill("Diallo")
        _shot(page, "2-tableau-de-bord", backend)
        page.get_by_role("button", name="Inscrire").click()
        expect(page.get_by_role("heading", name="Awa Diallo")).to_be_visible()
        _shot(page, "3-parcours-accueil", backend)

        page.get_by_role("button", name="Valider le passage « Démarrer l'atelier »").click()
        expect(page.get_by_text("Étape : Atelier en entreprise")).to_be_visible()
        # the gate says what is missing before the CIP tries
        expect(page.get_by_text("pièce justificative manquante : fiche-atelier")).to_be_visible()
        page.get_by_role("button", name="Valider le passage « Valider l'atelier »").click()
        expect(page.get_by_role("alert")).to_contain_text("fiche-atelier")
        _shot(page, "4-passage-refuse", backend)

        page.get_by_label("Type de pièce").fill("fiche-atelier")
        page.get_by_label("Contexte d'apprentissage").select_option("AFEST")
        page.get_by_label("Fichier").set_input_files(str(proof))
        page.get_by_role("button", name="Ajouter la pièce").click()
        page.get_by_role("button", name="Valider le passage « Valider l'atelier »").click()
        expect(page.get_by_text("Étape : Mise en emploi")).to_be_visible()
        expect(page.get_by_role("link", name="Jeu de piste en entreprises")).to_be_visible()
        expect(page.get_by_role("link", name="Règles de sécurité en atelier")).to_be_visible()
        _shot(page, "5-parcours-termine", backend)

        page.get_by_role("button", name="Créer un lien d'accès pour le participant").click()
        link = page.locator("#lien-participant").inner_text().strip()
        assert link.startswith(base + "/lien/")

        page.goto(base + "/tableau-de-bord")
        expect(page.get_by_role("link", name="Awa Diallo")).to_be_visible()
        page.get_by_role("link", name="Atelier découverte (parcours de test)").first.click()
        expect(page.locator("figure svg")).to_be_visible()
        _shot(page, "6-schema-du-parcours", backend)

        participant = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
        participant.goto(link)
        _shot(participant, "7-lien", backend)
        participant.get_by_role("button", name="Ouvrir mon espace").click()
        expect(participant.get_by_role("heading", name="Bonjour Awa")).to_be_visible()
        expect(participant.get_by_text("Jeu de piste en entreprises")).to_be_visible()
        expect(participant.get_by_text("Mise en emploi").first).to_be_visible()
        _shot(participant, "8-espace-participant", backend)

        participant.get_by_role("link", name="voir la page publique").first.click()
        expect(participant.get_by_role("status")).to_contain_text("Badge authentique")
        _shot(participant, "9-page-publique-du-badge", backend)

        # keyboard only: the login form is reachable and usable without a mouse
        anon = browser.new_context().new_page()
        anon.goto(base + "/connexion")
        anon.keyboard.press("Tab")
        focused = anon.evaluate("document.activeElement.id")
        assert focused == "email"
