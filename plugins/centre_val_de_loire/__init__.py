"""Fédération des entreprises d'insertion Centre-Val de Loire (« Badgeons l'IAE »). The network
is data (`networks/centre_val_de_loire.yaml`); this plugin only plays its demo story."""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine import hookimpl

if TYPE_CHECKING:
    from engine import DemoContext


@hookimpl
def parcours_demo(demo: DemoContext) -> list[int]:
    from plugins.centre_val_de_loire.demo import play

    return play(demo)
