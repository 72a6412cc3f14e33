"""The axe-core check the browser tests use can fail: a picture without text is reported."""

from __future__ import annotations

import pytest

from tests.web.accessibility import assert_accessible
from tests.web.test_browser import browser  # noqa: F401  (the Chromium fixture)


def test_axe_reports_a_violation(browser) -> None:  # noqa: F811
    page = browser.new_context().new_page()
    page.set_content('<html lang="fr"><title>Essai</title><main><img src="x.png"></main></html>')
    with pytest.raises(AssertionError, match="image-alt"):
        assert_accessible(page)
    page.set_content(
        '<html lang="fr"><title>Essai</title><main><h1>Essai</h1>'
        '<img src="x.png" alt="Un badge"></main></html>'
    )
    assert_accessible(page)
