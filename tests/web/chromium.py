"""Debian's Chromium for the browser tests, driven by Playwright (no browser download).

One Chromium runs per test module (see `chromium_process` in tests/web/conftest.py): starting
Playwright's driver and the browser costs about a second of CPU, which each browser test used
to pay. Each test still gets contexts of its own (cookies, storage), closed after it, through
`WatchedBrowser`."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, sync_playwright

CHROMIUM = os.environ.get("PARCOURS_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class WatchedBrowser:
    """Chromium, whose every page reports what the Content-Security-Policy blocked (an inline
    script, style or handler left in a template): the test fails on any. `close` closes the
    contexts opened through it, leaving the browser to the next test."""

    def __init__(self, browser: Browser) -> None:
        self._browser = browser
        self._contexts: list[BrowserContext] = []
        self.violations: list[str] = []

    def new_context(self, **options) -> BrowserContext:
        context = self._browser.new_context(**options)
        context.on("console", self._console)
        self._contexts.append(context)
        return context

    def _console(self, message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            self.violations.append(f"{message.location.get('url')}: {message.text}")

    def close(self) -> None:
        while self._contexts:
            self._contexts.pop().close()


@contextmanager
def launched() -> Iterator[Browser]:
    """Chromium, headless, for the length of the block."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium introuvable ({CHROMIUM}) : apt-get install chromium")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        try:
            yield browser
        finally:
            browser.close()
