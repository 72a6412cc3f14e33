"""Bringing a database to a usable state: schema, the networks' files, pathways."""

from __future__ import annotations

from dataclasses import dataclass

from engine.services.networks import publish_all as publish_networks
from engine.services.pathways import publish_all
from engine.services.runtime import Runtime
from engine.store.database import upgrade


@dataclass(frozen=True)
class InitReport:
    networks: list[str]
    badge_classes: int
    published: list[str]
    unchanged: list[str]


def initialise(rt: Runtime) -> InitReport:
    """Idempotent: safe to run at every deploy. Network files are all checked before any is
    published, then pathway files likewise: one broken file publishes nothing of its kind."""
    upgrade(rt.engine)
    networks = publish_networks(rt)
    results = publish_all(rt)
    label = "{0.pathway_id} v{0.version}".format
    with rt.reading() as conn:
        badges = len(rt.catalogue(conn))
    return InitReport(
        [f"{n.network} v{n.version}" for n in networks],
        badges,
        [label(r) for r, new in results if new],
        [label(r) for r, new in results if not new],
    )
