"""`parcours demo` leaves a structure a visitor can explore: every login it prints signs in
with the password it prints and lands on a page with something in it, the participant's link
opens their page, the command it prints runs, and the story is dated around the day it runs
(deadlines passed, requests waiting, a delivery to retry). On SQLite and PostgreSQL."""

from __future__ import annotations

import re
import shlex
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from engine.api.app import create_app
from engine.cli.demo import SERVE_ADDRESS, run_demo
from engine.errors import InvalidInput
from engine.services import accounts
from engine.services.runtime import Runtime
from engine.store.database import make_engine
from engine.store.tables import AuditEvent, BadgeRequest, Delivery, Person, as_utc

PARCOURS = str(Path(sys.executable).parent / "parcours")


def _logins(summary: str) -> list[tuple[str, str]]:
    """(e-mail, roles) of each row of the printed table."""
    table = summary.split("Connexion (e-mail)", 1)[1].split("\n\n", 1)[0]
    return [tuple(line.split(None, 1)) for line in table.splitlines()[1:]]  # type: ignore[misc]


def test_every_printed_login_and_link_opens_a_page_with_something_in_it(db_url: str) -> None:
    summary = run_demo(db_url, command=PARCOURS)

    password = re.search(r"Mot de passe de chacun : (\S+)", summary)[1]  # type: ignore[index]
    address = re.search(r"puis ouvrez (\S+) ", summary)[1]  # type: ignore[index]
    assert address == SERVE_ADDRESS
    assert f"  {PARCOURS} --db {shlex.quote(db_url)} serve\n" in summary
    logins = _logins(summary)
    roles = " ".join(r for _, r in logins)
    for network in ("SATO Brest", "INAÉ", "Fédération des entreprises d'insertion"):
        assert f"administrateur du réseau — {network}" in roles
    for structure in ("SATO Intérim", "Régie de quartier de Pessac", "Chantier d'insertion"):
        for role in ("CIP", "encadrant technique", "directeur"):
            assert f"{role} — {structure}" in roles, (role, structure)
    assert "partenaire — GEIQ industrie Bretagne" in roles and "partenaire — ADIE" in roles

    engine = make_engine(db_url)
    rt = Runtime(engine)
    try:
        with rt.reading() as conn:
            names = set(
                conn.execute(
                    select(Person.given_name + " " + Person.family_name).where(
                        Person.kind == "participant"
                    )
                ).scalars()
            )
        for email, role in logins:
            assert accounts.login(rt, email, password)  # the service itself takes them
            client = TestClient(create_app(rt, address), base_url=address)
            form = {"email": email, "password": password}
            page = client.post("/connexion", data=form, follow_redirects=True)
            assert page.status_code == 200, (email, page.text[:300])
            assert "Se connecter" not in page.text, email
            seen = [name for name in names if name in page.text]
            assert seen, f"{email} ({role}) ne voit personne sur {page.url.path}"

        link = re.search(r"Espace participant de (.+) \(lien.*\n  (\S+)", summary)
        assert link is not None
        participant, url = link[1], link[2]
        assert url.startswith(f"{address}/lien/")
        visitor = TestClient(create_app(rt, address), base_url=address)
        landing = visitor.get(url)
        assert landing.status_code == 200
        mine = visitor.post(url, follow_redirects=True)
        assert mine.status_code == 200 and mine.url.path == "/moi"
        assert participant in mine.text and "Jeu de piste en entreprises" in mine.text

        # dated around today: deadlines already passed, nothing in the future
        now = datetime.now(UTC)
        assert summary.count("échéance dépassée depuis le") >= 2
        with rt.reading() as conn:
            latest = conn.execute(select(func.max(AuditEvent.at))).scalar_one()
            waiting = conn.execute(
                select(func.count()).where(BadgeRequest.status == "pending")
            ).scalar_one()
            deliveries = dict(
                conn.execute(
                    select(Delivery.status, func.count())
                    .where(Delivery.channel == "webhook")
                    .group_by(Delivery.status)
                ).all()
            )
        assert as_utc(latest) <= now
        assert waiting >= 3
        assert deliveries.get("sent", 0) >= 3 and deliveries.get("dead") == 1

        # the command line it prints runs as printed
        line = next(x for x in summary.splitlines() if x.startswith("En ligne de commande : "))
        done = subprocess.run(
            shlex.split(line.split(" : ", 1)[1]), capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        assert "Awa Diallo" in done.stdout
    finally:
        engine.dispose()

    # a database that holds something is never overwritten
    with pytest.raises(InvalidInput, match="contient déjà des tables"):
        run_demo(db_url, command=PARCOURS)


def test_the_demo_never_overwrites_a_file_that_is_not_a_demo(tmp_path) -> None:
    real = tmp_path / "parcours.sqlite"
    with sqlite3.connect(real) as conn:
        conn.execute("CREATE TABLE person (id INTEGER PRIMARY KEY)")
    conn.close()
    with pytest.raises(InvalidInput, match="n'est pas une base de démonstration"):
        run_demo(real)
    with sqlite3.connect(real) as conn:
        assert conn.execute("SELECT name FROM sqlite_master").fetchall() == [("person",)]
    conn.close()
