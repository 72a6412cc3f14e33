"""A CIP who types `parcours status 12` waits for Python to import what the command needs, and
nothing else: not the web stack, nor the libraries of documents, pictures, YAML files or
network calls that only other commands use. Checked on the whole process, as it is started,
with `python -X importtime`, which names every module it imports."""

from __future__ import annotations

import subprocess
import sys

import pytest

from engine.services import enrollments as e
from engine.services.runtime import Runtime
from tests.conftest import CIP, T0, actor

NEVER_READ = (
    "fastapi",
    "starlette",
    "uvicorn",
    "jinja2",
    "pygal",
    "openpyxl",
    "PIL",
    "httpx",
    "yaml",
    "alembic",
    "apscheduler",
    "cryptography",
)
"""Libraries a read command never needs: the web server and its templates, charts and
spreadsheets, pictures, HTTP calls, YAML files, schema upgrades, the scheduler, signing."""


def imported(db_url: str, *argv: str) -> set[str]:
    """The top-level packages a whole `parcours --db URL ARGV...` process imports."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "engine.cli", "--db", db_url, *argv],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return {
        line.rsplit("|", 1)[1].strip().split(".")[0]
        for line in done.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }


def test_the_read_commands_load_neither_the_web_stack_nor_what_other_commands_use(
    sato: Runtime, db_url: str
) -> None:
    eid = e.enroll(
        sato,
        "sato-femmes-metallurgie",
        "sato-interim",
        e.Participant("Awa", "Diallo"),
        by=actor(sato, CIP),
        now=T0,
    )
    for argv in (
        ["status", str(eid), "--by", CIP],
        ["history", str(eid), "--by", CIP],
        ["pathway", "list"],
    ):
        loaded = imported(db_url, *argv)
        assert "sqlalchemy" in loaded  # the probe sees the imports the command made
        assert sorted(loaded.intersection(NEVER_READ)) == [], argv


@pytest.mark.parametrize("argv", [["--help"], ["status", "--help"], ["pathway", "--help"]])
def test_the_help_loads_no_database_library(argv: list[str], tmp_path) -> None:
    loaded = imported(str(tmp_path / "jamais-ouverte.sqlite"), *argv)
    assert "typer" in loaded
    assert sorted(loaded.intersection({"sqlalchemy", "sqlmodel", *NEVER_READ})) == []
    assert not (tmp_path / "jamais-ouverte.sqlite").exists()
