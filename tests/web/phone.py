"""A phone in the browser tests (390 × 844 px): a page fits when, its stylesheet loaded,
nothing scrolls sideways. Measured before the load event, a page is laid out without its
stylesheet and a wide table reads as overflow (CI saw 483 px once): hence the wait."""

from __future__ import annotations

from playwright.sync_api import Page

from tests.web.accessibility import assert_accessible

PHONE = {"width": 390, "height": 844}

_WIDEST = """() => [...document.querySelectorAll("body *")]
    .filter(e => e.getBoundingClientRect().right > innerWidth)
    .map(e => e.tagName + "." + e.className + " " + Math.round(e.getBoundingClientRect().right))
    .slice(0, 5)"""


def overflow(page: Page) -> str | None:
    """What sideways scrolling the page has once loaded, in words; None when it fits."""
    page.wait_for_load_state("load")
    width = page.evaluate("document.documentElement.scrollWidth")
    if width <= PHONE["width"]:
        return None
    return f"{page.url} défile de côté : {width} px de large pour 390 px ({page.evaluate(_WIDEST)})"


def assert_fits(page: Page) -> None:
    found = overflow(page)
    assert found is None, found


def assert_checked(page: Page) -> None:
    """On a phone: nothing scrolls sideways and axe-core finds nothing."""
    assert_fits(page)
    assert_accessible(page)
