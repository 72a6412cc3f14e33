"""SATO's administrator on the page of partner platforms (/reseau/sato/evenements-entrants):
makes the PMSMP platform's secret (shown once, never cached), reads that an event matched no
enrollment, on a 390 px phone, axe-core clean and never scrolling sideways; a CIP is refused."""

from __future__ import annotations

import json
import re

from fastapi import FastAPI
from fastapi.testclient import TestClient
from playwright.sync_api import expect
from starlette.routing import NoMatchFound

from engine.api import inbound_pages
from engine.api.app import create_app
from engine.inbound import signature
from engine.services import inbound
from engine.services.accounts import set_password
from engine.services.runtime import Runtime
from engine.store.tables import utcnow
from tests.conftest import CIP, NETWORK_ADMIN
from tests.engine.test_inbound import convention
from tests.third_party import free_port, serving
from tests.web.conftest import BASE, PASSWORD, login
from tests.web.phone import PHONE, assert_checked
from tests.web.test_browser import _shot, browser  # noqa: F401  (the Chromium fixture)

PAGE = "/reseau/sato/evenements-entrants"


def app_of(rt: Runtime, base: str) -> FastAPI:
    """The app, with this page's router until `engine.api.app` includes it."""
    app = create_app(rt, base)
    try:
        app.url_path_for("inbound_page", network="sato")
    except NoMatchFound:
        app.include_router(inbound_pages.router)
    return app


def _unmatched_event(rt: Runtime, secret: str) -> None:
    body = json.dumps(convention(email="inconnue@exemple.fr", phone="+33700000000")).encode()
    header = signature.header(secret, "sato", body, utcnow())
    assert inbound.receive(rt, "pmsmp", body, header).status == "unmatched"


def test_the_admin_makes_the_secret_once_and_sees_what_waits(web: Runtime) -> None:
    set_password(web, NETWORK_ADMIN, PASSWORD)
    client = TestClient(app_of(web, BASE), base_url=BASE)
    login(client, NETWORK_ADMIN)
    page = client.get(PAGE, headers={"Accept": "text/html"})
    assert page.status_code == 200, page.text
    assert "Immersion Facilitée (PMSMP)" in page.text
    assert "aucun : rien n'est accepté" in page.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)

    made = client.post(f"{PAGE}/pmsmp/secret", data={"csrf": csrf})
    assert made.status_code == 200, made.text
    assert made.headers["cache-control"] == "no-store"
    secret = re.search(r'<code class="secret">([^<]+)</code>', made.text).group(1)
    _unmatched_event(web, secret)  # the secret shown is the one that works

    listed = client.get(PAGE, headers={"Accept": "text/html"})
    assert secret not in listed.text
    assert "Convention reçue le" in listed.text and "aucun parcours trouvé" in listed.text
    assert "1 événement(s)" in listed.text


def test_a_cip_is_refused(web: Runtime) -> None:
    client = TestClient(app_of(web, BASE), base_url=BASE)
    login(client, CIP)
    refused = client.get(PAGE, headers={"Accept": "text/html"})
    assert refused.status_code == 403


def test_the_page_on_a_phone(web: Runtime, browser, db_url: str) -> None:  # noqa: F811
    backend = db_url.split(":")[0]
    set_password(web, NETWORK_ADMIN, PASSWORD)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with serving(app_of(web, base), port):
        page = browser.new_context(viewport=PHONE).new_page()
        page.goto(base + "/connexion")
        page.get_by_label("Adresse e-mail").fill(NETWORK_ADMIN)
        page.get_by_label("Mot de passe").fill(PASSWORD)
        page.get_by_role("button", name="Se connecter").click()
        page.goto(base + PAGE)
        page.get_by_role("button", name="Créer le secret de « pmsmp »").click()
        shown = page.locator("code.secret")
        expect(shown).to_be_visible()
        _unmatched_event(web, shown.inner_text().strip())
        page.goto(base + PAGE)
        expect(page.get_by_role("heading", name=re.compile("Convention reçue le"))).to_be_visible()
        assert_checked(page)
        _shot(page, "evenements-entrants", backend)
