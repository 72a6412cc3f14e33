"""axe-core in the browser tests (axe-playwright-python ships axe-core; nothing is fetched):
a page passes when axe finds no violation, and a failure names each rule and element."""

from __future__ import annotations

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

_AXE = Axe()


def assert_accessible(page: Page) -> None:
    page.wait_for_load_state("load")  # contrast and sizes are the stylesheet's, not the defaults
    violations = _AXE.run(page).response["violations"]
    found = []
    for v in violations:
        where = ", ".join(str(node["target"]) for node in v["nodes"])
        found.append(f"{v['id']} ({v['impact']}): {v['help']} — {where}")
    assert found == [], "\n".join(found)
