"""Bringing a database to a usable state: schema, plugin organisations and badges, pathways."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from engine.roles import OrganisationKind
from engine.services.catalogue import sync_plugins
from engine.services.pathways import publish_all
from engine.services.runtime import Runtime
from engine.store.database import upgrade
from engine.store.tables import Membership, Organisation


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
    _partners_join_their_networks(rt)
    results = publish_all(rt)
    label = "{0.pathway_id} v{0.version}".format
    return InitReport(
        orgs,
        badges,
        [label(r) for r, new in results if new],
        [label(r) for r, new in results if not new],
    )


def _partners_join_their_networks(rt: Runtime) -> None:
    """A partner a network's plugin declares (SATO's GEIQ, ADIE, BGE) is a member of that
    network: its admins may then act for the partner (its webhook, its feed). Memberships
    added by hand are kept."""
    pairs = {
        (partner.slug, network.slug)
        for specs in rt.pm.hook.parcours_networks()
        for network in specs
        if network.kind == OrganisationKind.NETWORK
        for partner in specs
        if partner.kind == OrganisationKind.PARTNER
    }
    if not pairs:
        return
    with rt.unit_of_work() as session:
        ids = dict(
            session.execute(
                select(Organisation.slug, Organisation.id).where(
                    Organisation.slug.in_({slug for pair in pairs for slug in pair})
                )
            ).all()
        )
        for partner, network in sorted(pairs):
            if session.get(Membership, (ids[partner], ids[network])) is None:
                session.add(Membership(structure_id=ids[partner], network_id=ids[network]))
