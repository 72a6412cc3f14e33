"""Read-only views of the networks' published definitions: the public list and detail the API
serves, and what a network's admins see on their page (/reseau): the catalogue grouped by
parcours, the committee rules, the partners, the published pathways and the versions."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import aliased

from engine.badges.catalogue import MODE_LABELS, BadgeEntry
from engine.errors import Forbidden, NotFound
from engine.networks.model import NetworkDefinition, PartnerSpec
from engine.pathways import diagram
from engine.roles import Role
from engine.services import access
from engine.services.access import Action, Actor, Target
from engine.services.networks import Published
from engine.services.runtime import Runtime
from engine.store.tables import NetworkVersion, Organisation, PathwayVersion

OTHER_GROUP = "Autres badges"
"""The heading of the badges a network file puts in no `group`."""


# --- the public list and detail (API) -------------------------------------------------------


def published(rt: Runtime) -> list[dict[str, Any]]:
    """Each published network: id, name (of its latest version) and latest version number."""
    newer = aliased(NetworkVersion)
    latest = (
        select(NetworkVersion.network, NetworkVersion.name, NetworkVersion.version)
        .where(
            ~exists().where(
                newer.network == NetworkVersion.network, newer.version > NetworkVersion.version
            )
        )
        .order_by(NetworkVersion.network)
    )
    with rt.reading() as conn:
        return [{"id": n, "name": name, "version": v} for n, name, v in conn.execute(latest)]


def _versions(session: Any, network: str) -> list[NetworkVersion]:
    """The network's published versions, newest first (read fresh, not from a cache another
    process may have left behind)."""
    return list(
        session.execute(
            select(NetworkVersion)
            .where(NetworkVersion.network == network)
            .order_by(NetworkVersion.version.desc())
        ).scalars()
    )


def detail(rt: Runtime, network: str) -> dict[str, Any]:
    """The latest published definition, as the network wrote it, with the list of versions."""
    with rt.unit_of_work() as session:
        rows = _versions(session, network)
    if not rows:
        raise NotFound(f"réseau « {network} » introuvable (aucune version publiée)")
    return {
        "id": network,
        "name": rows[0].name,
        "version": rows[0].version,
        "definition": rows[0].definition,
        "versions": [
            {"version": r.version, "name": r.name, "published_at": r.published_at} for r in rows
        ],
    }


# --- the admins' page -----------------------------------------------------------------------


def administered(rt: Runtime, who: Actor) -> list[tuple[str, str]]:
    """(slug, name) of the networks `who` administers, by name."""
    if not who.is_staff or who.person_id is None:
        return []
    with rt.reading() as conn:
        slugs = access.networks_administered(who.person_id)
        rows = conn.execute(
            select(Organisation.slug, Organisation.name)
            .where(Organisation.slug.in_(slugs))
            .order_by(Organisation.name)
        ).all()
    return [(slug, name) for slug, name in rows]


@dataclass(frozen=True)
class BadgeView:
    id: str
    name: str
    description: str
    criteria: str
    image_url: str
    sub_badges: list[str]
    """Names of the sub-badges, in the file's order."""
    sub_rule: str | None
    """« tous » or « au moins N sur M », when the badge has sub-badges."""
    modes: list[str]
    signatures: list[str]
    direct: list[str]
    committees: list[str]
    validity: str
    recipient: str
    public: bool


@dataclass(frozen=True)
class CommitteeView:
    kind: str
    title: str
    explain: str
    crossed: bool


@dataclass(frozen=True)
class PathwayView:
    id: str
    version: int
    title: str
    published_at: datetime
    svg: str


@dataclass(frozen=True)
class VersionView:
    version: int
    name: str
    published_at: datetime


@dataclass(frozen=True)
class NetworkPage:
    slug: str
    name: str
    definition: NetworkDefinition | None
    """None while no version of the network is published."""
    logo: str | None
    """The logo as a data: address (the pages' CSP allows them for images)."""
    colours: tuple[str, str] | None
    partners: list[PartnerSpec] = field(default_factory=list)
    committees: list[CommitteeView] = field(default_factory=list)
    groups: list[tuple[str, list[BadgeView]]] = field(default_factory=list)
    pathways: list[PathwayView] = field(default_factory=list)
    versions: list[VersionView] = field(default_factory=list)


def _validity(days: int | None) -> str:
    if days is None:
        return "sans limite de durée"
    if days % 365 == 0:
        years = days // 365
        return f"{years} an{'s' if years > 1 else ''}"
    return f"{days} jour{'s' if days > 1 else ''}"


def _badge(entry: BadgeEntry, names: dict[str, str], rules: dict[str, str]) -> BadgeView:
    subs, rule = [], None
    if entry.requires is not None:
        subs = [names.get(b, b) for b in entry.requires.of]
        n = entry.requires.at_least
        rule = f"au moins {n} sur {len(subs)}" if n and n < len(subs) else "tous"
    ev = entry.evaluation
    return BadgeView(
        id=entry.id,
        name=entry.name,
        description=entry.description,
        criteria=entry.criteria,
        image_url=f"/ob/v2/badges/{entry.id}/image.png",
        sub_badges=subs,
        sub_rule=rule,
        modes=[MODE_LABELS.get(m, m) for m in ev.modes],
        signatures=[Role(r).label for r in ev.signatures] if "signatures" in ev.modes else [],
        direct=[Role(r).label for r in ev.direct],
        committees=[rules.get(k, k) for k in ev.committees],
        validity=_validity(entry.validity_days),
        recipient="une entreprise" if entry.recipient == "organisation" else "une personne",
        public=ev.public,
    )


def _groups(d: NetworkDefinition) -> list[tuple[str, list[BadgeView]]]:
    """The catalogue by `group`, in the order groups first appear; ungrouped badges last."""
    names = {b.id: b.name for b in d.badges}
    rules = {kind: rule.title for kind, rule in d.committee_rules.items()}
    groups: dict[str, list[BadgeView]] = {}
    for entry in d.badges:
        groups.setdefault(entry.group or "", []).append(_badge(entry, names, rules))
    ungrouped = groups.pop("", None)
    ordered = list(groups.items())
    if ungrouped:
        ordered.append((OTHER_GROUP, ungrouped))
    return ordered


def _pathways(rt: Runtime, session: Any, network: str) -> list[PathwayView]:
    newer = aliased(PathwayVersion)
    rows = session.execute(
        select(PathwayVersion)
        .where(
            PathwayVersion.network == network,
            ~exists().where(
                newer.pathway_id == PathwayVersion.pathway_id,
                newer.version > PathwayVersion.version,
            ),
        )
        .order_by(PathwayVersion.title)
    ).scalars()
    views = []
    for row in rows:
        model = rt.pathway(session, row.id)
        picture = diagram.svg(model)
        views.append(PathwayView(row.pathway_id, row.version, row.title, row.published_at, picture))
    return views


def page(rt: Runtime, network: str, *, by: Actor) -> NetworkPage:
    """What the network's admins see: refused (Forbidden) to anyone who may not publish the
    network's files."""
    with rt.unit_of_work() as session:
        access.ensure(session, by, Action.NETWORK_PUBLISH, Target(network=network))
        org = session.execute(
            select(Organisation.name, Organisation.logo).where(Organisation.slug == network)
        ).first()
        rows = _versions(session, network)
        pathways = _pathways(rt, session, network)
    if org is None and not rows:
        raise NotFound(f"réseau « {network} » introuvable")
    versions = [VersionView(r.version, r.name, r.published_at) for r in rows]
    logo = None
    if org is not None and org.logo:
        logo = "data:image/png;base64," + base64.b64encode(org.logo).decode("ascii")
    if not rows:
        return NetworkPage(network, org.name, None, logo, None, pathways=pathways)  # type: ignore[union-attr]
    d = NetworkDefinition.model_validate(rows[0].definition)
    committees = [
        CommitteeView(kind, rule.title, rule.explain(), rule.crossed)
        for kind, rule in d.committee_rules.items()
    ]
    return NetworkPage(
        slug=network,
        name=d.name,
        definition=d,
        logo=logo,
        colours=d.colours,
        partners=list(d.partners),
        committees=committees,
        groups=_groups(d),
        pathways=pathways,
        versions=versions,
    )


def ensure_publisher(rt: Runtime, who: Actor, action: Action) -> None:
    """Forbidden unless `who` may perform `action` (publish a network's or a pathway's file)
    for some network: checked before an uploaded file is read. Whether they may for the
    network the file names is `publish`'s to say."""
    with rt.reading() as conn:
        if action not in access.capabilities(conn, who):
            raise Forbidden(access.refusal(action, who))


def _count(n: int, word: str, verb: str) -> str:
    plural = "s" if n > 1 else ""
    return f"{n} {word}{plural} {verb}{plural}"


def published_text(result: Published) -> str:
    """What publishing a network file did, in French."""
    if not result.new:
        return (
            f"La version {result.version} du réseau « {result.network} » était déjà publiée à "
            "l'identique : rien n'a changé."
        )
    changes = [
        _count(len(result.badges_created), "badge", "créé"),
        _count(len(result.badges_versioned), "badge", "modifié"),
        _count(len(result.badges_retired), "badge", "retiré"),
    ]
    return (
        f"Version {result.version} du réseau « {result.network} » publiée : "
        + ", ".join(changes)
        + "."
    )
