"""A pathway's titles are text a network wrote, never markup: a title that tries to close an
SVG attribute (`" onload="…`) or a text element stays text in the pathway diagram, served on
its own and inlined in the pathway page, and no script runs in Chromium."""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
import yaml
from playwright.sync_api import Browser, Dialog, Page, expect
from sqlalchemy import Engine

from engine.api.app import create_app
from engine.pathways.diagram import svg
from engine.pathways.loader import load_pathway_text
from engine.services.bootstrap import initialise
from engine.services.runtime import Runtime
from tests.conftest import CIP
from tests.third_party import free_port, serving
from tests.web.conftest import PASSWORD, WORKFLOWS
from tests.web.test_browser import browser  # noqa: F401  (the Chromium fixture)

ATTRIBUTE = '" onload="window.__pwned=1;alert(1)'
MARKUP = "</text><script>window.__pwned=2;alert(2)</script><text>"
HOSTILE_TITLE = f"Atelier{ATTRIBUTE}"
HOSTILE_STAGE = f"Accueil{ATTRIBUTE} {MARKUP}"
HOSTILE_TRANSITION = f"Démarrer{ATTRIBUTE}"


def _hostile_pathway() -> str:
    data = yaml.safe_load((WORKFLOWS / "atelier-decouverte.yaml").read_text(encoding="utf-8"))
    data["title"] = HOSTILE_TITLE
    data["stages"][0]["title"] = HOSTILE_STAGE
    data["stages"][1]["title"] = f"Atelier {MARKUP}"
    data["transitions"][0]["title"] = HOSTILE_TRANSITION
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


@pytest.fixture
def rt(db_engine: Engine, tmp_path: Path) -> Runtime:
    """The web tests' pathway, its titles written by an attacker."""
    workflows = tmp_path / "workflows"
    workflows.mkdir()
    (workflows / "atelier-decouverte.yaml").write_text(_hostile_pathway(), encoding="utf-8")
    runtime = Runtime(db_engine, workflows=workflows)
    initialise(runtime)
    return runtime


def test_every_title_is_text_in_the_svg() -> None:
    picture = svg(load_pathway_text(_hostile_pathway()))
    root = ET.fromstring(picture)
    attributes = {name for el in root.iter() for name in el.attrib}
    assert not {name for name in attributes if name.lower().startswith("on")}
    assert not list(root.iter("{http://www.w3.org/2000/svg}script"))
    assert root.get("aria-label") == HOSTILE_TITLE
    texts = "".join(t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text"))
    assert f"{HOSTILE_TITLE} — version 1" in texts
    assert MARKUP.replace(" ", "") in texts.replace(" ", "")
    titles = {t.text for t in root.iter("{http://www.w3.org/2000/svg}title")}
    assert HOSTILE_TRANSITION in titles


def test_a_control_character_in_a_title_leaves_the_svg_readable() -> None:
    pathway = load_pathway_text(_hostile_pathway())
    root = ET.fromstring(svg(pathway.model_copy(update={"title": "Atelier\x07\x00"})))
    assert root.get("aria-label") == "Atelier\ufffd\ufffd"


def _no_script_ran(page: Page, dialogs: list[str]) -> None:
    assert dialogs == [], f"un titre a lancé un script : {dialogs}"
    assert page.evaluate("window.__pwned") is None


def test_no_script_runs_from_a_title_in_chromium(web: Runtime, browser: Browser) -> None:  # noqa: F811
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with serving(create_app(web, base), port):
        page = browser.new_context().new_page()
        dialogs: list[str] = []

        def refuse(dialog: Dialog) -> None:
            dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("dialog", refuse)
        page.goto(base + "/connexion")
        page.get_by_label("Adresse e-mail").fill(CIP)
        page.get_by_label("Mot de passe").fill(PASSWORD)
        page.get_by_role("button", name="Se connecter").click()
        expect(page.get_by_role("heading", name="Mes participants")).to_be_visible()

        page.goto(base + "/parcours-types/atelier-decouverte")
        figure = page.locator("figure .schema-large svg")
        expect(figure).to_be_visible()
        page.wait_for_load_state("load")
        _no_script_ran(page, dialogs)
        expect(figure).to_have_attribute("aria-label", HOSTILE_TITLE)
        expect(figure.locator("text").first).to_have_text(f"{HOSTILE_TITLE} — version 1")

        page.goto(base + "/api/v1/pathways/atelier-decouverte/diagram?format=svg")
        page.wait_for_load_state("load")
        _no_script_ran(page, dialogs)
        assert page.evaluate("document.documentElement.getAttribute('aria-label')") == (
            HOSTILE_TITLE
        )
        assert page.evaluate("document.querySelectorAll('script').length") == 0
