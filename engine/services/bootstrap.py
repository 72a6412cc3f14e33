"""Bringing a database to a usable state: schema, plugin organisations and badges, pathways."""

from __future__ import annotations

from dataclasses import dataclass

from engine.services.catalogue import sync_plugins
from engine.services.pathways import publish_all
from engine.services.runtime import Runtime
from engine.store.database import upgrade


@dataclass(frozen=True)
class InitReport:
    organisations: int
    badge_classes: int
    published: list[str]
    unchanged: list[str]


def initialise(rt: Runtime) -> InitReport:
    """Idempotent: safe to run at every deploy. Pathway files are all checked before any is
    published, so one broken file publishes nothing."""
    upgrade(rt.engine)
    orgs, badges = sync_plugins(rt)
    results = publish_all(rt)
    label = "{0.pathway_id} v{0.version}".format
    return InitReport(
        orgs,
        badges,
        [label(r) for r, new in results if new],
        [label(r) for r, new in results if not new],
    )
