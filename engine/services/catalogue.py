"""Synchronise plugin-provided networks and badge catalogues into the database."""

from __future__ import annotations

from sqlalchemy import select

from engine.errors import InvalidInput
from engine.openbadges.baking import check_picture
from engine.openbadges.images import default_picture
from engine.plugins import badge_catalogue, networks
from engine.services.organisations import upsert_organisation
from engine.services.runtime import Runtime
from engine.store.tables import BadgeClass


def sync_plugins(rt: Runtime) -> tuple[int, int]:
    """Create or update the plugins' organisations and badge classes, with their pictures (the
    plugin's own, else one drawn in the network's colours); returns their counts."""
    specs = badge_catalogue(rt.pm)
    orgs = networks(rt.pm)
    for spec in specs.values():
        for kind in spec.evaluation.committees:
            if kind not in rt.committee_rules:
                known = ", ".join(sorted(rt.committee_rules)) or "aucune"
                raise InvalidInput(
                    f"badge {spec.id} : evaluation.committees « {kind} » ne correspond à aucune "
                    f"règle de comité des plugins ({known})"
                )
    colours = {org.slug: org.colours for org in orgs}
    with rt.unit_of_work() as session:
        for org in orgs:
            row = upsert_organisation(
                session, org.slug, org.name, org.kind, url=org.url, email=org.email
            )
            row.colours, row.description = list(org.colours), org.description
        existing = {b.slug: b for b in session.execute(select(BadgeClass)).scalars()}
        for spec in specs.values():
            row = existing.get(spec.id) or BadgeClass(slug=spec.id)
            changed = (row.name, row.network) != (spec.name, spec.network)
            row.network, row.name = spec.network, spec.name
            row.description, row.criteria, row.tags = spec.description, spec.criteria, spec.tags
            row.requires = spec.requires.model_dump() if spec.requires else None
            row.alignments = [a.model_dump(exclude_none=True) for a in spec.alignments]
            row.evaluation = spec.evaluation.model_dump(mode="json")
            row.group = spec.group
            row.recipient_kind = spec.recipient
            if spec.image is not None:
                picture = spec.image.read_bytes()
                try:
                    check_picture(picture, str(spec.image))
                except InvalidInput as exc:
                    raise InvalidInput(f"badge {spec.id} : {exc}") from None
                row.image = picture
            elif row.image is None or changed:
                row.image = default_picture(
                    spec.name,
                    spec.network,
                    tuple(colours.get(spec.network, ("#1d4e89", "#f2a900"))),
                )
            session.add(row)
    rt.forget_catalogue()
    return len(orgs), len(specs)
