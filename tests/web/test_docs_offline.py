"""The API's documentation on a machine without internet: /docs (Swagger UI) loads every
script, style and icon from the server itself, shows the operations, and speaks French
(title, description, the tags' descriptions)."""

from __future__ import annotations

from urllib.parse import urlsplit

from axe_playwright_python.sync_playwright import Axe
from fastapi.testclient import TestClient
from playwright.sync_api import Page, Route, expect

from engine.api.app import create_app
from engine.services.runtime import Runtime
from tests.third_party import free_port, serving
from tests.web.test_browser import _shot, browser  # noqa: F401  (the Chromium fixture)

SWAGGER_S_OWN = {
    "nested-interactive": "a copy button inside each operation's button",
    "heading-order": "its headings skip a level",
}
"""What axe-core finds in Swagger UI's own markup, which no stylesheet of ours can change;
every other rule (contrast, landmarks, language, names) passes."""


def _accessible_but_swagger_s_own_markup(page: Page) -> None:
    rules = {rule: {"enabled": False} for rule in SWAGGER_S_OWN}
    # resultTypes as axe-playwright-python's default: passes are not collected node by node
    # (about 10 s over Swagger UI's page); violations still are, every node of each
    options = {"rules": rules, "resultTypes": ["violations"]}
    found = Axe().run(page, options=options).response["violations"]
    assert [f"{v['id']}: {v['help']}" for v in found] == []


def test_the_openapi_document_is_french(client: TestClient) -> None:
    info = client.get("/openapi.json").json()
    assert info["info"]["title"] == "Parcours — API"
    assert "insertion par l'activité économique" in info["info"]["description"]
    described = {t["name"]: t["description"] for t in info["tags"]}
    used = {tag for path in info["paths"].values() for op in path.values() for tag in op["tags"]}
    assert used <= set(described), used - set(described)
    assert described["Demandes de badge"] == "Demander un badge, l'évaluer, décider."


def test_the_docs_pages_name_no_outside_host(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assert '<html lang="fr">' in page.text
    assert "https://" not in page.text and "http://" not in page.text
    policy = page.headers["content-security-policy"]
    assert "https:" not in policy and "frame-ancestors 'none'" in policy
    assert client.get("/static-docs/swagger-ui-bundle.js").status_code == 200
    assert client.get("/redoc").status_code == 404  # ReDoc would fetch its logo outside


def test_docs_render_offline_in_the_browser(
    web: Runtime,
    browser,  # noqa: F811
    db_url: str,
) -> None:
    backend = db_url.split(":")[0]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    outside: list[str] = []

    def offline(route: Route) -> None:
        """What leaves this machine is counted and refused, as with no network."""
        if urlsplit(route.request.url).hostname in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    with serving(create_app(web, base), port):
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.route("**/*", offline)
        page = context.new_page()
        page.goto(base + "/docs")
        expect(page).to_have_title("Parcours — documentation de l'API")
        # the OpenAPI document is built on the first request: slow on a busy machine
        expect(page.get_by_role("heading", name="Parcours — API")).to_be_visible(timeout=30000)
        expect(
            page.get_by_text("Se connecter, se déconnecter, savoir qui est connecté.")
        ).to_be_visible()
        expect(page.locator(".opblock").first).to_be_visible()
        expect(page.get_by_text("/api/v1/session", exact=True).first).to_be_visible()
        assert page.locator(".opblock").count() > 20
        _shot(page, "docs-hors-ligne", backend)
        _accessible_but_swagger_s_own_markup(page)
    assert outside == []
