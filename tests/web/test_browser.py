"""The web app in a real headless Chromium (Debian's package, driven by Playwright; no browser
download): a CIP logs in, enrolls a participant, advances them through two stages, and the
participant then opens their link and sees the badge. A screenshot of each page is saved in
test-artifacts/screenshots (or $PARCOURS_TEST_ARTIFACTS)."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, expect

from engine.api.app import create_app
from tests.conftest import CIP, actor
from tests.third_party import free_port, serving
from tests.web.accessibility import assert_accessible
from tests.web.chromium import CHROMIUM, FLAGS, WatchedBrowser
from tests.web.conftest import PASSWORD
from tests.web.phone import PHONE, assert_fits

__all__ = ["CHROMIUM", "FLAGS", "WatchedBrowser", "browser"]

ARTIFACTS = Path(os.environ.get("PARCOURS_TEST_ARTIFACTS", "test-artifacts")) / "screenshots"


@pytest.fixture
def browser(chromium_process: Browser):
    """The module's Chromium (tests/web/conftest.py), through contexts of the test's own."""
    watched = WatchedBrowser(chromium_process)
    yield watched
    watched.close()
    assert not watched.violations, "\n".join(watched.violations)


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
        staff = browser.new_context(viewport=PHONE)  # a phone
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
        expect(page.get_by_text("pièce justificative manquante : Fiche atelier")).to_be_visible()
        # the last step is confirmed on a page of its own first
        page.get_by_role("button", name="Valider l'atelier…").click()
        page.get_by_role("button", name="Confirmer : Valider l'atelier").click()
        expect(page.get_by_role("alert")).to_contain_text(
            "Passage « Valider l'atelier » refusé : pièce justificative manquante : Fiche atelier"
        )
        _shot(page, "4-passage-refuse", backend)

        page.get_by_label("Type de pièce").select_option(label="Fiche atelier")
        page.get_by_label("Contexte d'apprentissage").select_option("AFEST")
        page.get_by_label("Fichier").set_input_files(str(proof))
        page.get_by_role("button", name="Ajouter la pièce").click()
        page.get_by_role("button", name="Valider l'atelier…").click()
        page.get_by_role("button", name="Confirmer : Valider l'atelier").click()
        expect(page.locator("main")).to_contain_text("Dernière étape : Mise en emploi")
        expect(page.locator("main")).to_contain_text("Parcours terminé le ")
        expect(page.get_by_role("link", name="Jeu de piste en entreprises")).to_be_visible()
        expect(page.get_by_role("link", name="Règles de sécurité en atelier")).to_be_visible()
        _shot(page, "5-parcours-termine", backend)

        page.get_by_role("button", name="Créer un lien d'accès pour le participant").click()
        link = page.locator("#lien-participant").inner_text().strip()
        assert link.startswith(base + "/lien/")

        page.goto(base + "/tableau-de-bord")  # the board lists the parcours in progress
        expect(page.get_by_role("status")).to_contain_text("Aucun participant en cours")
        page.get_by_role("link", name="tous les parcours, terminés compris").click()
        expect(page.get_by_role("link", name="Awa Diallo")).to_be_visible()
        page.get_by_role("link", name="Atelier découverte (parcours de test)").first.click()
        expect(page.locator("figure .schema-etroit svg")).to_be_visible()
        _shot(page, "6-schema-du-parcours", backend)

        participant = browser.new_context(viewport=PHONE).new_page()
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
        anon.keyboard.press("Tab")  # the skip link comes first, then the form
        assert anon.evaluate("document.activeElement.textContent") == "Aller au contenu"
        anon.keyboard.press("Tab")
        focused = anon.evaluate("document.activeElement.id")
        assert focused == "email"


def _login(page: Page, base: str, email: str) -> None:
    page.goto(base + "/connexion")
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()


def test_requests_committees_partners_and_the_support_form_in_the_browser(
    web, browser, tmp_path, db_url
) -> None:
    """A participant asks for a badge with a photo and her CIP grants it from the dashboard; a
    member of INAÉ's crossed committee opens its agenda; the GEIQ sees the badge its stage
    shared; a supporter gets the « Badgeons l'IAE » badge from the public form."""
    from engine.services import accounts, committees, people, requests
    from engine.services import enrollments as e
    from engine.services.accounts import set_password
    from engine.services.organisations import add_staff, upsert_organisation

    backend = db_url.split(":")[0]
    photo = tmp_path / "planning.jpg"
    Image.new("RGB", (200, 120), "orange").save(photo, "JPEG")
    claire = actor(web, CIP)
    eid = e.enroll(
        web, "atelier-decouverte", "sato-interim", e.Participant("Awa", "Diallo"), by=claire
    )
    e.advance(web, eid, "demarrer", by=claire)
    e.add_evidence(web, eid, "fiche-atelier", by=claire)
    e.advance(web, eid, "valider-atelier", by=claire)
    awa = people.participants(web, claire)[0][0]
    link_token = accounts.magic_link(web, awa.id, by=claire)
    with web.unit_of_work() as s:
        for slug, name in (("envie-limoges", "Envie Limoges"), ("regie-pessac", "Régie Pessac")):
            upsert_organisation(s, slug, name, "structure", structure_kind="EI", networks=["inae"])
        add_staff(s, "badges@inae.example", "Fanny", "Alexandre", [("inae", "network_admin")])
        add_staff(s, "cip@envie-limoges.example", "Léa", "Roux", [("envie-limoges", "cip")])
        add_staff(s, "cip@regie-pessac.example", "Nadia", "Benali", [("regie-pessac", "cip")])
        add_staff(s, "gwen@geiq.example", "Gwen", "Le Bris", [("geiq-industrie", "partner")])
    for email in ("badges@inae.example", "gwen@geiq.example"):
        set_password(web, email, PASSWORD)
    admin = actor(web, "badges@inae.example")
    cid = committees.create(web, "Comité croisé Nouvelle-Aquitaine", "inae.croise", by=admin)
    for member in ("badges@inae.example", "cip@envie-limoges.example", "cip@regie-pessac.example"):
        committees.add_member(web, cid, member, by=admin)
    pessac = actor(web, "cip@regie-pessac.example")
    lina = people.add_participant(web, "regie-pessac", "Lina", "Haddad", by=pessac)
    requests.submit(web, "inae.ponctualite", by=pessac, participant_id=lina, narrative="À l'heure")

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with serving(create_app(web, base), port):
        me = browser.new_context(viewport=PHONE).new_page()
        me.goto(f"{base}/lien/{link_token}")
        me.get_by_role("button", name="Ouvrir mon espace").click()
        me.get_by_label("Badge", exact=True).select_option("sato.ponctualite")
        me.get_by_label("Racontez ce que vous avez fait").fill("Aucun retard en un mois d'atelier.")
        me.get_by_label("Une photo ou un document").set_input_files(str(photo))
        _shot(me, "10-demande-de-badge", backend)
        me.get_by_role("button", name="Envoyer ma demande").click()
        expect(me.get_by_text("État : en attente d'évaluation")).to_be_visible()
        expect(me.get_by_role("link", name="planning.jpg")).to_be_visible()
        request_url = me.url

        cip = browser.new_context(viewport=PHONE).new_page()
        _login(cip, base, CIP)
        cip.get_by_role("link", name="Ponctualité — Awa Diallo").click()
        cip.get_by_role("button", name="Enregistrer mon avis").click()  # no reason: refused
        expect(cip.get_by_label("Motif (obligatoire)")).to_be_visible()
        cip.get_by_label("Motif (obligatoire)").fill("Quatre semaines sans retard, vérifié.")
        cip.get_by_role("button", name="Enregistrer mon avis").click()
        expect(cip.get_by_text("État : badge délivré")).to_be_visible()
        _shot(cip, "11-demande-evaluee", backend)
        photo_seen = cip.request.get(
            base + cip.get_by_role("link", name="planning.jpg").get_attribute("href")
        )
        assert photo_seen.headers["content-type"] == "image/jpeg"
        assert photo_seen.body() == photo.read_bytes()

        me.goto(request_url)
        expect(me.get_by_text("État : badge délivré")).to_be_visible()
        me.get_by_role("link", name="Voir le badge délivré").click()
        expect(me.get_by_role("status")).to_contain_text("Badge authentique")

        member = browser.new_context(viewport=PHONE).new_page()
        _login(member, base, "badges@inae.example")
        member.get_by_role("link", name="Comité croisé Nouvelle-Aquitaine").click()
        assert member.request.get(cip.url).status == 403  # Awa's request is not on its agenda
        expect(
            member.get_by_text("aucun membre de la structure du participant ne vote")
        ).to_be_visible()
        expect(member.get_by_role("link", name="Ponctualité et assiduité")).to_be_visible()
        _shot(member, "12-comite", backend)

        geiq = browser.new_context(viewport=PHONE).new_page()
        _login(geiq, base, "gwen@geiq.example")
        expect(
            geiq.get_by_role("heading", name="Badges partagés avec mon organisation")
        ).to_be_visible()
        expect(geiq.get_by_role("cell", name="Règles de sécurité en atelier")).to_be_visible()
        _shot(geiq, "13-partenaire", backend)

        anon = browser.new_context(viewport=PHONE).new_page()
        anon.goto(base + "/soutenir/inae.badgeons-iae")
        anon.get_by_label("Prénom").fill("Camille")
        anon.get_by_label("Nom", exact=True).fill("Roy")
        anon.get_by_label("E-mail").fill("camille@roy.example")
        anon.get_by_label("Je demande ce badge pour moi-même").check()
        _shot(anon, "14-formulaire-de-soutien", backend)
        anon.get_by_role("button", name="Recevoir le badge").click()
        expect(anon.get_by_role("heading", name="Merci pour votre soutien !")).to_be_visible()

        # the supporter's link (e-mailed to her) opens her own page, which fits a phone
        from sqlalchemy import select

        from engine.services import links
        from engine.services.access import Actor
        from engine.store.tables import Person, utcnow

        with web.unit_of_work() as s:
            camille = s.execute(
                select(Person.id).where(Person.email == "camille@roy.example")
            ).scalar_one()
            token, _ = links.mint(s, camille, by=Actor.system(), now=utcnow())
        anon.goto(f"{base}/lien/{token}")
        anon.get_by_role("button", name="Ouvrir mon espace").click()
        expect(anon.get_by_role("heading", name="Vos données personnelles")).to_be_visible()
        expect(anon.get_by_role("link", name="Badgeons l'IAE", exact=False)).to_be_visible()
        assert_fits(anon)
        _shot(anon, "15-mes-donnees", backend)


def test_a_director_disables_a_leavers_account_after_confirming(web, browser, db_url) -> None:
    """The confirmation comes from /static/parcours.js: the page's policy allows no inline
    handler, and the browser must still ask before an account is disabled."""
    from engine.services.accounts import set_password
    from tests.conftest import DIRECTRICE

    backend = db_url.split(":")[0]
    set_password(web, DIRECTRICE, PASSWORD)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with serving(create_app(web, base), port):
        claire = browser.new_context().new_page()
        _login(claire, base, CIP)
        expect(claire.get_by_role("heading", name="Mes participants")).to_be_visible()

        page = browser.new_context(viewport=PHONE).new_page()
        _login(page, base, DIRECTRICE)
        page.get_by_role("link", name="Équipe").click()
        disable = page.get_by_role("button", name="Désactiver le compte de Claire Martin")
        disable.click()  # a page asks first, without a script
        expect(
            page.get_by_role("heading", name="Désactiver le compte de Claire Martin ?")
        ).to_be_visible()
        assert_accessible(page)
        page.get_by_role("link", name="Annuler").click()
        expect(disable).to_be_visible()  # not sent
        _shot(page, "15-equipe", backend)
        disable.click()
        page.get_by_role("button", name="Désactiver le compte").click()
        expect(page.get_by_text("Claire Martin")).to_have_count(0)

        claire.reload()  # her session ended at once
        expect(claire).to_have_url(base + "/connexion")
