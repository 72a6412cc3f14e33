"""Plugins are found through the `parcours` entry-point group, built-in or third-party alike."""

from __future__ import annotations

import sys
import textwrap
from importlib.metadata import entry_points

import pytest

from engine.badges.catalogue import BadgeClassSpec
from engine.errors import GateRefused, InvalidInput
from engine.hookspecs import hookimpl
from engine.pathways import load_pathway_text
from engine.plugins import badge_catalogue, make_plugin_manager
from engine.services import enrollments as e
from engine.services.catalogue import sync_plugins
from engine.services.pathways import publish
from engine.services.runtime import Runtime
from tests.conftest import CIP


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
        from engine.badges.catalogue import BadgeClassSpec, NetworkSpec
        from engine.hookspecs import hookimpl

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
    eid = e.enroll(rt, "essai-accueil", "sato-interim", e.Participant("Awa", "Diallo"), by=CIP)
    with pytest.raises(GateRefused, match="jamais avant la fin du monde"):
        e.advance(rt, eid, "bloque", by=CIP)
    assert e.advance(rt, eid, "terminer", by=CIP).awarded == ["essai.accueil"]


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
