"""Fédération des entreprises d'insertion Centre-Val de Loire (« Badgeons l'IAE »)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from engine import BadgeClassSpec, NetworkSpec, hookimpl, load_catalogue

if TYPE_CHECKING:
    from engine import DemoContext


@hookimpl
def parcours_networks() -> list[NetworkSpec]:
    return [
        NetworkSpec(
            slug="centre_val_de_loire",
            name="Fédération des entreprises d'insertion Centre-Val de Loire",
            email="contact.centre@lesentreprisesdinsertion.org",
            colours=("#004b87", "#e4032e"),
        )
    ]


@hookimpl
def parcours_badge_catalogue() -> list[BadgeClassSpec]:
    return load_catalogue(Path(__file__).parent / "catalogue.yaml")


@hookimpl
def parcours_demo(demo: DemoContext) -> list[int]:
    from plugins.centre_val_de_loire.demo import play

    return play(demo)
