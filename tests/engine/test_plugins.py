"""Plugins are found through the `parcours` entry-point group, built-in or third-party alike,
and import from one door, `engine`."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from importlib.metadata import entry_points
from pathlib import Path

import pytest

import engine
from engine import GateRefused
from engine.cli.demo import run_demo
from engine.errors import PathwayInvalid
from engine.networks import load_network_text
from engine.plugins import make_plugin_manager
from engine.services import enrollments as e
from engine.services import networks, pathways
from engine.services.access import Actor, actor_for
from engine.services.organisations import add_staff, upsert_organisation
from engine.services.pathways import publish
from engine.services.runtime import Runtime


def test_builtin_plugins_are_entry_points() -> None:
    names = {ep.name: ep.value for ep in entry_points(group="parcours")}
    assert names["sato"] == "plugins.sato"
    assert names["inae"] == "plugins.inae"
    assert names["centre_val_de_loire"] == "plugins.centre_val_de_loire"


@pytest.fixture
def fourth_network(tmp_path, monkeypatch):
    """A network written as a file, with a tiny plugin for what needs code (a gate check),
    installed in a temporary folder as pip would install it."""
    package = tmp_path / "reseau_essai"
    package.mkdir()
    (package / "__init__.py").write_text(
        textwrap.dedent("""
        from engine import hookimpl

        @hookimpl
        def parcours_gate_checks():
            return {"essai.jamais": lambda ctx: "jamais avant la fin du monde"}
    """),
        encoding="utf-8",
    )
    dist = tmp_path / "reseau_essai-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: reseau-essai\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[parcours]\nessai = reseau_essai\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield
    sys.modules.pop("reseau_essai", None)


NETWORK = """\
id: essai
version: 1
name: Réseau d'essai
url: https://essai.example
email: contact@essai.example
badges:
  - id: essai.accueil
    name: Accueil
    description: A été accueilli.
    criteria: Être venu.
"""

PATHWAY = """\
id: essai-accueil
version: 1
network: essai
title: Accueil
initial: arrivee
stages:
  - {id: arrivee, title: Arrivée, awards: {on_complete: [essai.accueil]}}
  - {id: fin, title: Fin, final: true}
  - {id: jamais, title: Jamais, final: true}
transitions:
  - {trigger: terminer, source: arrivee, dest: fin, title: Terminer}
  - {trigger: bloque, source: arrivee, dest: jamais, title: Bloqué, gate: {checks: [essai.jamais]}}
"""


def test_a_plugin_adds_code_to_a_network_written_as_a_file(fourth_network, sato: Runtime) -> None:
    pm = make_plugin_manager()
    assert "essai" in dict(pm.list_name_plugin())
    rt = Runtime(sato.engine, pm)
    networks.publish(rt, load_network_text(NETWORK, "essai.yaml"), by=Actor.system())
    publish(rt, pathways.check_text(rt, PATHWAY, "essai-accueil.yaml"), PATHWAY)
    with rt.unit_of_work() as session:
        upsert_organisation(
            session,
            "essai-siae",
            "SIAE d'essai",
            "structure",
            structure_kind="EI",
            networks=["essai"],
        )
        add_staff(session, "ines@essai.example", "Inès", "Essai", [("essai-siae", "cip")])
    with rt.reading() as conn:
        cip = actor_for(conn, "ines@essai.example")
    eid = e.enroll(rt, "essai-accueil", "essai-siae", e.Participant("Awa", "Diallo"), by=cip)
    with pytest.raises(GateRefused, match="jamais avant la fin du monde"):
        e.advance(rt, eid, "bloque", by=cip)
    assert e.advance(rt, eid, "terminer", by=cip).awarded == ["essai.accueil"]


def test_a_pathway_naming_a_check_no_plugin_provides_is_refused(sato: Runtime) -> None:
    bare = Runtime(sato.engine, make_plugin_manager(load_entry_points=False))
    with pytest.raises(PathwayInvalid, match="vérification « essai.jamais » fournie par aucun"):
        pathways.check_text(bare, PATHWAY.replace("network: essai", "network: sato"), "p.yaml")


PLUGINS = Path(__file__).resolve().parents[2] / "plugins"


def imports_behind_the_door(source: str, filename: str) -> list[str]:
    """Each import in `source` that reaches past `engine`'s public names, as `file:line name`."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names if a.name.startswith("engine.")]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.startswith("engine."):
                names = [node.module]
            elif node.module == "engine":
                names = [f"engine.{a.name}" for a in node.names if a.name not in engine.__all__]
            else:
                names = []
        else:
            names = []
        found += [f"{filename}:{node.lineno} {name}" for name in names]
    return found


def test_plugins_import_only_from_the_engine_door() -> None:
    files = sorted(PLUGINS.rglob("*.py"))
    assert len(files) >= 7  # plugins/__init__.py and each plugin's __init__.py and demo.py
    behind = [
        found
        for path in files
        for found in imports_behind_the_door(
            path.read_text(encoding="utf-8"), str(path.relative_to(PLUGINS.parent))
        )
    ]
    assert behind == []


@pytest.mark.parametrize(
    ("line", "caught"),
    [
        ("from engine.hookspecs import hookimpl", "engine.hookspecs"),
        ("from engine.services import enrollments", "engine.services"),
        ("import engine.services.runtime", "engine.services.runtime"),
        ("from engine import dates", "engine.dates"),
    ],
)
def test_an_import_past_the_door_is_caught(line: str, caught: str) -> None:
    source = f"from engine import hookimpl\nif True:\n    {line}\n"
    assert imports_behind_the_door(source, "plugin.py") == [f"plugin.py:3 {caught}"]


def test_the_door_offers_every_name_it_lists() -> None:
    for name in engine.__all__:
        assert getattr(engine, name) is not None, name


def test_the_door_stays_light() -> None:
    """Every module imports `engine` first: it must not pull in pydantic, the web stack or the
    services until a plugin asks for one of their names."""
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, engine; print(' '.join(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    heavy = {"pydantic", "httpx", "fastapi", "sqlalchemy", "engine.services", "engine.gates"}
    assert heavy.isdisjoint(loaded)


def test_each_network_plays_its_demo_story_through_the_demo_context(tmp_path) -> None:
    """`parcours demo`: the stories get a DemoContext, not the Runtime, and act as the staff
    they name by e-mail."""
    summary = run_demo(tmp_path / "demo.sqlite")
    assert "Awa Diallo — Femmes et métallurgie" in summary
    assert "Yannick Le Bihan" in summary
    assert "la CIP de Pessac ne peut pas voter" in summary
    assert "Sam Girard obtient « Entretien des espaces verts »" in summary
