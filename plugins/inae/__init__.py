"""INAÉ Nouvelle-Aquitaine (PEPITES). The network (its catalogue of transversal-skill badges,
its internal and crossed attribution committees, its Open Badge Passport connector) is data:
`networks/inae.yaml`. This plugin only plays its demo story."""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine import hookimpl

if TYPE_CHECKING:
    from engine import DemoContext


@hookimpl
def parcours_demo(demo: DemoContext) -> list[int]:
    from plugins.inae.demo import play

    return play(demo)
