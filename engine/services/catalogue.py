"""Synchronise plugin-provided networks and badge catalogues into the database."""

from __future__ import annotations

from sqlalchemy import select

from engine.plugins import badge_catalogue, networks
from engine.services.organisations import upsert_organisation
from engine.services.runtime import Runtime
from engine.store.tables import BadgeClass


def sync_plugins(rt: Runtime) -> tuple[int, int]:
    """Create or update the plugins' organisations and badge classes; returns their counts."""
    specs = badge_catalogue(rt.pm)
    orgs = networks(rt.pm)
    with rt.unit_of_work() as session:
        for org in orgs:
            upsert_organisation(session, org.slug, org.name, org.kind, url=org.url, email=org.email)
        existing = {b.slug: b for b in session.execute(select(BadgeClass)).scalars()}
        for spec in specs.values():
            row = existing.get(spec.id) or BadgeClass(slug=spec.id)
            row.network, row.name = spec.network, spec.name
            row.description, row.criteria, row.tags = spec.description, spec.criteria, spec.tags
            row.requires = spec.requires.model_dump() if spec.requires else None
            session.add(row)
    rt.forget_catalogue()
    return len(orgs), len(specs)
