"""INAÉ Nouvelle-Aquitaine (PEPITES). The full catalogue and committee rules come with issue 5."""

from __future__ import annotations

from pathlib import Path

from engine.badges.catalogue import BadgeClassSpec, NetworkSpec, load_catalogue
from engine.hookspecs import hookimpl


@hookimpl
def parcours_networks() -> list[NetworkSpec]:
    return [
        NetworkSpec(
            slug="inae",
            name="INAÉ Nouvelle-Aquitaine",
            url="https://www.inae-nouvelleaquitaine.org",
            email="contact@inae-nouvelleaquitaine.org",
            colours=("#6a2c70", "#f9a825"),
        )
    ]


@hookimpl
def parcours_badge_catalogue() -> list[BadgeClassSpec]:
    return load_catalogue(Path(__file__).parent / "catalogue.yaml")
