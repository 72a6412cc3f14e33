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
from engine import BadgeClassSpec, GateRefused, InvalidInput, hookimpl
from engine.cli.demo import run_demo
from engine.pathways import load_pathway_text
from engine.plugins import badge_catalogue, make_plugin_manager
from engine.services import enrollments as e
from engine.services.access import actor_for
from engine.services.catalogue import sync_plugins
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
    """A tiny network plugin installed in a temporary folder, as pip would install it."""
    package = tmp_path / "reseau_essai"
    package.mkdir()
    (package / "__init__.py").write_text(
        textwrap.dedent("""
        from engine import BadgeClassSpec, NetworkSpec, hookimpl

        @hookimpl
        def parcours_networks():
            return [NetworkSpec(slug="essai", name="Réseau d'essai")]

        @hookimpl
        def parcours_badge_catalogue():
            return [BadgeClassSpec(id="essai.accueil", network="essai", name="Accueil",
                                   description="A été accueilli.", criteria="Être venu.")]

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


def test_a_fourth_network_runs_its_own_pathway_without_touching_the_engine(
    fourth_network, sato: Runtime
) -> None:
    pm = make_plugin_manager()
    assert "essai" in dict(pm.list_name_plugin())
    assert "essai.accueil" in badge_catalogue(pm)
    rt = Runtime(sato.engine, pm)
    sync_plugins(rt)
    publish(
        rt,
        load_pathway_text(
            PATHWAY, known_badges=set(badge_catalogue(pm)), known_checks=set(rt.gate_checks)
        ),
        PATHWAY,
    )
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


class Copycat:
    """A plugin that claims a badge id another plugin already owns."""

    @hookimpl
    def parcours_badge_catalogue(self) -> list[BadgeClassSpec]:
        return [
            BadgeClassSpec(
                id="essai.accueil",
                network="essai",
                name="Copie",
                description="Copie.",
                criteria="Copie.",
            )
        ]


def test_two_plugins_cannot_claim_the_same_badge(fourth_network) -> None:
    pm = make_plugin_manager()
    pm.register(Copycat(), "copycat")
    with pytest.raises(InvalidInput, match="« essai.accueil » déclaré par deux plugins"):
        badge_catalogue(pm)


def test_badge_ids_are_namespaced_by_network() -> None:
    with pytest.raises(ValueError, match="doit commencer par « sato. »"):
        BadgeClassSpec(id="inae.x", network="sato", name="X", description="X", criteria="X")


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
