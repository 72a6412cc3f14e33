"""Administration without a shell, in a real headless Chromium on a phone (390 px): SATO's
network admin adds a structure, a CIP account for it and a committee with the CIP on it; the
CIP opens the invitation from her mailbox (aiosmtpd), chooses her password and signs in;
« mot de passe oublié » works end to end and answers the same for an unknown address; a
director is refused a structure (403, in French); a member creates and revokes an API token
on « Mon compte ». Every page: axe-core clean, never wider than the phone."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller
from playwright.sync_api import Page, expect

from engine.api.app import create_app
from engine.services import accounts, outbox, password_links
from engine.services.accounts import set_password
from engine.services.runtime import Runtime
from tests.conftest import CIP, DIRECTRICE, NETWORK_ADMIN
from tests.third_party import free_port, serving
from tests.web.conftest import PASSWORD
from tests.web.phone import PHONE, assert_checked
from tests.web.test_browser import _shot, browser  # noqa: F401  (the Chromium fixture)
from tests.web.test_outbox import Mailbox

NINA = "nina.le-goff@atelier-du-port.example"
NINAS_PASSWORD = "cormorans sur la digue du port"


@pytest.fixture
def mailbox(monkeypatch) -> Iterator[Mailbox]:
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("PARCOURS_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("PARCOURS_SMTP_PORT", str(port))
    yield box
    controller.stop()


def _phone(browser) -> Page:  # noqa: F811
    return browser.new_context(viewport=PHONE).new_page()


def _login(page: Page, base: str, email: str, password: str = PASSWORD) -> None:
    page.goto(base + "/connexion")
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe", exact=True).fill(password)
    page.get_by_role("button", name="Se connecter").click()


def _link_in(message, path: str = password_links.PASSWORD_PATH) -> str:
    [line] = [x for x in message.get_content().splitlines() if path in x]
    return line.strip()


def test_a_network_admin_sets_up_a_structure_its_cip_and_a_committee(
    web: Runtime,
    browser,  # noqa: F811
    mailbox: Mailbox,
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
        expect(admin.get_by_role("heading", name="Administration", level=1)).to_be_visible()
        assert_checked(admin)

        # an identifier already taken: refused, what was typed is still there
        form = admin.locator("form", has=admin.get_by_role("heading", name="Ajouter une structure"))
        form.get_by_label("Nom de la structure").fill("Atelier du Port")
        form.get_by_label("Type de structure").select_option("ACI")
        form.get_by_label("Identifiant (facultatif)").fill("sato-interim")
        form.get_by_role("button", name="Ajouter la structure").click()
        expect(form.get_by_role("alert")).to_contain_text("« sato-interim » est déjà pris")
        expect(form.get_by_label("Nom de la structure")).to_have_value("Atelier du Port")
        expect(form.get_by_label("Type de structure")).to_have_value("ACI")
        assert_checked(admin)
        form.get_by_label("Identifiant (facultatif)").fill("")
        form.get_by_role("button", name="Ajouter la structure").click()
        expect(admin.get_by_role("status")).to_have_text("Structure ajoutée au réseau.")
        structures = admin.locator("#structures")
        expect(structures.get_by_role("heading", name="Atelier du Port")).to_be_visible()
        admin.reload()  # a reload sends nothing again
        expect(structures.get_by_role("heading", name="Atelier du Port")).to_have_count(1)
        assert_checked(admin)
        _shot(admin, "admin-1-structure", backend)

        # her account: she will choose her password herself
        admin.goto(base + "/equipe")
        admin.get_by_label("Adresse e-mail").fill(NINA)
        admin.get_by_label("Prénom").fill("Nina")
        admin.get_by_label("Nom", exact=True).fill("Le Goff")
        admin.get_by_label("Rôle").select_option(label="CIP — Atelier du Port")
        admin.get_by_role("button", name="Ajouter", exact=True).click()
        expect(admin.get_by_role("status")).to_contain_text("une invitation")
        expect(admin.get_by_role("heading", name="Nina Le Goff")).to_be_visible()
        assert_checked(admin)
        _shot(admin, "admin-2-equipe", backend)

        # a committee of the new structure, with Nina on it
        admin.goto(base + "/administration")
        admin.get_by_label("Nom du comité").fill("Commission de l'Atelier")
        admin.get_by_label("Règle et structure").select_option(
            label="Commission de validation de la structure — Atelier du Port"
        )
        admin.get_by_role("button", name="Créer le comité").click()
        expect(admin.get_by_role("status")).to_contain_text("Comité créé")
        committee = admin.locator(
            "li", has=admin.get_by_role("heading", name="Commission de l'Atelier")
        )
        committee.get_by_label("Ajouter au comité Commission de l'Atelier").select_option(
            label="Nina Le Goff (Atelier du Port)"
        )
        committee.get_by_role("button", name="Ajouter au comité Commission de l'Atelier").click()
        expect(admin.get_by_role("status")).to_have_text("Membre ajouté au comité.")
        expect(committee.get_by_role("listitem").filter(has_text="Nina Le Goff")).to_be_visible()
        assert_checked(admin)
        _shot(admin, "admin-3-comite", backend)

        # Nina's mailbox: the invitation; she chooses a password and signs in
        assert outbox.work(web) == (1, 0)
        [invitation] = mailbox.messages
        assert invitation["To"] == NINA
        assert invitation["Subject"] == "Parcours : votre compte à Atelier du Port"
        nina = _phone(browser)
        nina.goto(_link_in(invitation))
        expect(nina.get_by_text("Bonjour Nina")).to_be_visible()
        assert_checked(nina)
        nina.get_by_label("Nouveau mot de passe").fill(NINAS_PASSWORD)
        nina.get_by_label("Le même, encore une fois").fill("autre chose encore")
        nina.get_by_role("button", name="Enregistrer le mot de passe").click()
        expect(nina.get_by_role("alert")).to_contain_text("les deux saisies diffèrent")
        assert_checked(nina)
        nina.get_by_label("Nouveau mot de passe").fill(NINAS_PASSWORD)
        nina.get_by_label("Le même, encore une fois").fill(NINAS_PASSWORD)
        nina.get_by_role("button", name="Enregistrer le mot de passe").click()
        expect(nina.get_by_role("status")).to_contain_text("Mot de passe enregistré")
        assert_checked(nina)
        _login(nina, base, NINA, NINAS_PASSWORD)
        expect(nina).to_have_url(base + "/tableau-de-bord")
        nina.goto(_link_in(invitation))  # used: it opens nothing any more
        expect(nina.get_by_role("alert")).to_contain_text("n'est plus valable")
        assert_checked(nina)


def test_a_forgotten_password_and_a_directors_refusal(
    web: Runtime,
    browser,  # noqa: F811
    mailbox: Mailbox,
    db_url: str,
) -> None:
    backend = db_url.split(":")[0]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with serving(create_app(web, base), port):
        page = _phone(browser)
        page.goto(base + "/connexion")
        page.get_by_role("link", name="Mot de passe oublié ?").click()
        assert_checked(page)
        answers = []
        for email in ("personne@example.org", CIP):
            page.goto(base + "/mot-de-passe-oublie")
            page.get_by_label("Adresse e-mail").fill(email)
            page.get_by_role("button", name="Recevoir un lien").click()
            answers.append(page.get_by_role("status").inner_text())
        assert answers[0] == answers[1]  # nothing tells whether the address has an account
        assert_checked(page)
        _shot(page, "admin-4-oubli", backend)
        assert outbox.work(web) == (1, 0)
        [reset] = mailbox.messages
        assert reset["To"] == CIP
        page.goto(_link_in(reset))
        expect(page.get_by_text("Bonjour Claire")).to_be_visible()
        new = "marée basse à l'aber wrac'h"
        page.get_by_label("Nouveau mot de passe").fill(new)
        page.get_by_label("Le même, encore une fois").fill(new)
        page.get_by_role("button", name="Enregistrer le mot de passe").click()
        _login(page, base, CIP, new)
        expect(page).to_have_url(base + "/tableau-de-bord")

        # « Mon compte »: a token shown once, then revoked
        page.goto(base + "/mon-compte")
        assert_checked(page)
        page.get_by_label("Nom du jeton").fill("Tableur de suivi")
        page.get_by_role("button", name="Créer le jeton").click()
        token = page.locator("#nouveau-jeton").inner_text().strip()
        assert accounts.from_api_token(web, token) is not None
        assert_checked(page)
        _shot(page, "admin-5-jeton", backend)
        page.reload()
        expect(page.locator("#nouveau-jeton")).to_have_count(0)  # shown once
        page.once("dialog", lambda dialog: dialog.accept())
        page.get_by_role("button", name="Révoquer le jeton Tableur de suivi").click()
        expect(page.get_by_role("status")).to_contain_text("Jeton révoqué")
        assert accounts.from_api_token(web, token) is None
        assert_checked(page)

        # a director has no structure form, and a forged one is refused
        set_password(web, DIRECTRICE, PASSWORD)
        director = _phone(browser)
        _login(director, base, DIRECTRICE)
        director.goto(base + "/administration")
        expect(director.get_by_role("button", name="Ajouter la structure")).to_have_count(0)
        assert_checked(director)
        director.evaluate(
            """() => {
                const form = document.createElement("form");
                form.method = "post";
                form.action = "/administration/structures";
                const csrf = document.querySelector("input[name=csrf]").value;
                const fields = {csrf, name: "SIAE pirate", structure_kind: "EI", network: "sato"};
                for (const [name, value] of Object.entries(fields)) {
                    const input = document.createElement("input");
                    input.type = "hidden"; input.name = name; input.value = value;
                    form.append(input);
                }
                document.body.append(form);
                form.submit();
            }"""
        )
        expect(director.get_by_text("vous ne pouvez pas ajouter une structure")).to_be_visible()
        assert_checked(director)
