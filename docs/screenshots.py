"""The README's tour: screenshots of the main pages over the demo's living structure.

    .venv/bin/python docs/screenshots.py [--out docs/screenshots]

Plays `parcours demo` into a temporary SQLite file, serves the app on a free local port,
signs in as the people who use each page (the demo's logins, its password, a participant's
link) in Debian's Chromium driven by Playwright, and saves each page at a desktop width
(`<name>.png`) and a phone's (`<name>-telephone.png`). Another Chromium binary:
PARCOURS_CHROMIUM.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn
from playwright.sync_api import Browser, Page, sync_playwright
from sqlalchemy import select

from engine.api.app import create_app
from engine.cli.demo import DEMO_PASSWORD, run_demo
from engine.services import accounts
from engine.services.access import Actor
from engine.services.runtime import Runtime
from engine.store.database import make_engine
from engine.store.tables import (
    Assertion,
    BadgeClass,
    BadgeRequest,
    Enrollment,
    Person,
)

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("PARCOURS_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
WIDTHS = {"": (1280, 900), "-telephone": (390, 844)}
CIP = "claire.martin@sato-interim.example"
SATO_ADMIN = "gaelle.lefloch@sato.example"
INAE_MEMBER = "yann.morel@tremplin-poitiers.example"


def main() -> None:
    parser = argparse.ArgumentParser(description="Captures d'écran des pages principales")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    out: Path = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "demo.sqlite"
        run_demo(db)
        rt = Runtime(make_engine(f"sqlite:///{db}"))
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        ids = _ids(rt)
        shots: list[tuple[str, str | None, Callable[[], str]]] = [
            ("tableau-de-bord", CIP, lambda: "/tableau-de-bord"),
            ("parcours", CIP, lambda: f"/parcours/{ids['sarah']}"),
            ("parcours-type", CIP, lambda: "/parcours-types/sato-femmes-metallurgie"),
            ("demande-de-badge", INAE_MEMBER, lambda: f"/demandes/{ids['mehdi']}"),
            ("reseau", SATO_ADMIN, lambda: "/reseau"),
            ("envois", SATO_ADMIN, lambda: "/envois"),
            ("participant", "participant", lambda: "/moi"),
            ("badge-public", None, lambda: f"/badges/{ids['badge']}"),
        ]
        with _serving(create_app(rt, base), port), sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True)
            for name, who, url in shots:
                for suffix, (width, height) in WIDTHS.items():
                    _shoot(
                        browser,
                        base,
                        rt,
                        ids,
                        who,
                        url(),
                        out / f"{name}{suffix}.png",
                        width,
                        height,
                    )
            browser.close()
        rt.engine.dispose()
    print(f"Captures enregistrées dans {out}")


def _shoot(
    browser: Browser,
    base: str,
    rt: Runtime,
    ids: dict[str, int | str],
    who: str | None,
    url: str,
    path: Path,
    width: int,
    height: int,
) -> None:
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    _sign_in(page, base, rt, ids, who)
    page.goto(base + url)
    page.wait_for_load_state("networkidle")
    page.screenshot(path=path, full_page=True)
    context.close()
    print(f"  {path.name}  ({url})")


def _sign_in(
    page: Page, base: str, rt: Runtime, ids: dict[str, int | str], who: str | None
) -> None:
    if who is None:
        return
    if who == "participant":
        token = accounts.magic_link(rt, int(ids["sarah_person"]), by=Actor.system())
        page.goto(f"{base}/lien/{token}")
        page.locator(f"form[action='/lien/{token}'] button[type=submit]").click()
        page.wait_for_load_state()
        return
    page.goto(f"{base}/connexion")
    page.get_by_label("Adresse e-mail").fill(who)
    page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_load_state()


def _ids(rt: Runtime) -> dict[str, int | str]:
    """The demo's participants, request and badge the tour shows, found by name."""
    with rt.reading() as c:

        def person(given: str, family: str) -> int:
            query = select(Person.id).where(
                Person.given_name == given, Person.family_name == family
            )
            return c.execute(query).scalar_one()

        sarah, mehdi, awa = (
            person("Sarah", "Bellec"),
            person("Mehdi", "Bensaïd"),
            person("Awa", "Diallo"),
        )
        return {
            "sarah_person": sarah,
            "sarah": c.execute(
                select(Enrollment.id).where(Enrollment.participant_id == sarah)
            ).scalar_one(),
            "mehdi": c.execute(
                select(BadgeRequest.id).where(BadgeRequest.participant_id == mehdi)
            ).scalar_one(),
            "badge": c.execute(
                select(Assertion.id)
                .join(BadgeClass, BadgeClass.id == Assertion.badge_class_id)
                .where(Assertion.recipient_id == awa, BadgeClass.slug == "sato.contrat-pro-geiq")
            ).scalar_one(),
        }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def _serving(app, port: int) -> Iterator[None]:
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError(f"le serveur n'a pas démarré sur le port {port}")
        time.sleep(0.05)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=10)


if __name__ == "__main__":
    main()
