"""Publishing network definitions: the network, its partners, its badge catalogue (versioned
badge classes), its committee rules and connector settings, from its network file."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import exists, func, select, update
from sqlalchemy.orm import aliased
from sqlmodel import Session

from engine.badges.catalogue import BadgeEntry
from engine.errors import InvalidInput, NetworkInvalid, NotFound, Problem
from engine.networks.loader import LoadedNetwork, ReadFile, load_network_file, load_network_text
from engine.networks.model import NetworkDefinition
from engine.openbadges.images import default_picture
from engine.pathways.model import Pathway
from engine.roles import OrganisationKind
from engine.services import access, issuer_keys
from engine.services.access import Action, Actor, Target
from engine.services.organisations import upsert_organisation
from engine.services.runtime import Runtime
from engine.statuses import BadgeClassStatus, RequestStatus
from engine.store.tables import (
    AuditEvent,
    BadgeClass,
    BadgeRequest,
    BadgeSetting,
    Membership,
    NetworkVersion,
    Organisation,
    PathwayVersion,
    utcnow,
)


def network_files(rt: Runtime) -> list[Path]:
    folder = rt.networks_dir
    files = sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.yml")) if folder.is_dir() else []
    for provided in rt.pm.hook.parcours_network_files():
        files.extend(Path(p) for p in provided)
    return files


def check_file(rt: Runtime, path: Path) -> LoadedNetwork:
    """Validate a network file: schema, references inside it, pictures beside it."""
    return load_network_file(path, plugin_rules=set(rt.plugin_committee_rules))


def check_text(rt: Runtime, text: str, file: str, read: ReadFile) -> LoadedNetwork:
    return load_network_text(text, file, read=read, plugin_rules=set(rt.plugin_committee_rules))


def on_disk(rt: Runtime) -> list[NetworkDefinition]:
    """The network files of this installation that check, for references a pathway file may
    make before anything is published (`pathway check`); a broken one is `network check`'s
    to report."""
    found = []
    for path in network_files(rt):
        try:
            found.append(check_file(rt, path).definition)
        except NetworkInvalid:
            continue
    return found


@dataclass(frozen=True)
class Published:
    network: str
    version: int
    new: bool
    badges_created: list[str]
    badges_versioned: list[str]
    badges_retired: list[str]


def publish(
    rt: Runtime, loaded: LoadedNetwork, *, by: Actor, now: datetime | None = None
) -> Published:
    """Store a version of a network in one transaction, with its organisations and badge
    classes. The same content under a published number is a no-op; other content under a
    published number, or a number below the latest, is refused."""
    d = loaded.definition
    now = now or utcnow()
    with rt.unit_of_work() as session:
        access.ensure(session, by, Action.NETWORK_PUBLISH, Target(network=d.id))
        rows = {
            r.version: r
            for r in session.execute(
                select(NetworkVersion).where(NetworkVersion.network == d.id).with_for_update()
            ).scalars()
        }
        if d.version in rows:
            if rows[d.version].digest != loaded.digest:
                raise InvalidInput(
                    f"version : le réseau « {d.id} » version {d.version} est déjà publié avec un "
                    f"autre contenu ; une version publiée ne change plus : passez à "
                    f"« version: {max(rows) + 1} »"
                )
            issuer_keys.ensure_network_keys(session, d)
            return Published(d.id, d.version, False, [], [], [])
        if rows and d.version < max(rows):
            raise InvalidInput(
                f"version : la version {max(rows)} du réseau « {d.id} » est déjà publiée ; "
                f"numérotez la nouvelle version {max(rows) + 1}"
            )
        network = _organisations(session, d, loaded.pictures)
        issuer_keys.ensure_network_keys(session, d)
        created, versioned, retired = _badge_classes(session, d, loaded.pictures, rt)
        session.add(
            NetworkVersion(
                network=d.id,
                version=d.version,
                name=d.name,
                digest=loaded.digest,
                source=loaded.source,
                definition=d.model_dump(mode="json"),
                published_at=now,
                published_by=by.person_id,
            )
        )
        session.add(
            AuditEvent(
                at=now,
                actor_id=by.person_id,
                kind="network_published",
                details={
                    "network": d.id,
                    "organisation": network.id,
                    "version": d.version,
                    "badges_created": created,
                    "badges_versioned": versioned,
                    "badges_retired": retired,
                },
            )
        )
    rt.forget_networks()
    return Published(d.id, d.version, True, created, versioned, retired)


def publish_all(
    rt: Runtime, files: list[Path] | None = None, *, by: Actor | None = None
) -> list[Published]:
    """Check every network file (by default those of networks/ and the plugins) first, then
    publish; one bad file publishes nothing."""
    problems: list[Problem] = []
    loaded: list[LoadedNetwork] = []
    for path in files or network_files(rt):
        try:
            loaded.append(check_file(rt, path))
        except NetworkInvalid as exc:
            problems += exc.problems
    if problems:
        raise NetworkInvalid(problems)
    return [publish(rt, one, by=by or Actor.system()) for one in loaded]


def _organisations(
    session: Session, d: NetworkDefinition, pictures: dict[str, bytes]
) -> Organisation:
    """The network and its partners, partners members of the network (its admins act for
    them). Memberships added by hand are kept."""
    taken = dict(
        session.execute(
            select(Organisation.slug, Organisation.kind).where(
                Organisation.slug.in_([d.id, *(p.id for p in d.partners)])
            )
        ).all()
    )
    if taken.get(d.id, OrganisationKind.NETWORK) != OrganisationKind.NETWORK:
        raise InvalidInput(
            f"id : « {d.id} » est déjà l'identifiant d'une organisation qui n'est pas un réseau"
        )
    for partner in d.partners:
        if taken.get(partner.id, OrganisationKind.PARTNER) != OrganisationKind.PARTNER:
            raise InvalidInput(
                f"partners : « {partner.id} » est déjà l'identifiant d'une organisation qui "
                "n'est pas un partenaire"
            )
    network = upsert_organisation(
        session, d.id, d.name, OrganisationKind.NETWORK, url=d.url, email=d.email
    )
    network.colours, network.description = list(d.colours), d.description
    network.logo = pictures.get(d.logo) if d.logo else None
    for spec in d.partners:
        partner = upsert_organisation(
            session, spec.id, spec.name, OrganisationKind.PARTNER, url=spec.url, email=spec.email
        )
        partner.description = spec.description
        if session.get(Membership, (partner.id, network.id)) is None:
            session.add(Membership(structure_id=partner.id, network_id=network.id))
    session.flush()
    return network


def _row_values(
    entry: BadgeEntry, d: NetworkDefinition, pictures: dict[str, bytes]
) -> dict[str, Any]:
    return {
        "network": d.id,
        "name": entry.name,
        "description": entry.description,
        "criteria": entry.criteria,
        "tags": list(entry.tags),
        "requires": entry.requires.model_dump() if entry.requires else None,
        "alignments": [a.model_dump(exclude_none=True) for a in entry.alignments],
        "evaluation": entry.evaluation.model_dump(mode="json"),
        "group": entry.group,
        "recipient_kind": entry.recipient,
        "validity_days": entry.validity_days,
        "achievement_type": entry.achievement_type,
        "image": pictures[entry.image] if entry.image else None,
    }


def _badge_classes(
    session: Session, d: NetworkDefinition, pictures: dict[str, bytes], rt: Runtime
) -> tuple[list[str], list[str], list[str]]:
    """A badge new to the catalogue is created (version 1); a changed one gets a new version
    and the previous one is superseded (badges issued under it keep it; the structures'
    settings and pending requests follow the new one); a badge the file no longer lists is
    retired, unless a published pathway still names it."""
    current = {
        row.slug: row
        for row in session.execute(
            select(BadgeClass).where(
                BadgeClass.network == d.id,
                BadgeClass.status == BadgeClassStatus.ACTIVE,
                BadgeClass.proposed_by.is_(None),
            )
        ).scalars()
    }
    latest = dict(
        session.execute(
            select(BadgeClass.slug, func.max(BadgeClass.version))
            .where(BadgeClass.slug.in_([b.id for b in d.badges]))
            .group_by(BadgeClass.slug)
        ).all()
    )
    created: list[str] = []
    versioned: list[str] = []
    replaced: list[tuple[BadgeClass, BadgeClass]] = []
    for entry in d.badges:
        values = _row_values(entry, d, pictures)
        row = current.pop(entry.id, None)
        if row is not None:
            if values["image"] is None:
                values["image"] = row.image if row.name == entry.name else None
            if all(getattr(row, k) == v for k, v in values.items()):
                continue
        if values["image"] is None:
            values["image"] = default_picture(entry.name, d.id, tuple(d.colours))  # type: ignore[arg-type]
        new = BadgeClass(slug=entry.id, version=latest.get(entry.id, 0) + 1, **values)
        session.add(new)
        if row is None:
            created.append(entry.id)
        else:
            replaced.append((row, new))
            versioned.append(entry.id)
    session.flush()  # the new versions' ids, in one flush
    for row, new in replaced:
        row.status = BadgeClassStatus.SUPERSEDED
        session.add(row)
        _follow(session, row.id, new.id)  # type: ignore[arg-type]
    retired = sorted(current)
    if retired:
        _refuse_if_named(session, retired, rt)
        for slug in retired:
            current[slug].status = BadgeClassStatus.SUPERSEDED
            session.add(current[slug])
    return created, versioned, retired


def _follow(session: Session, old: int, new: int) -> None:
    """Structures keep their evaluation choices, and pending requests their place, when a
    badge class gets a new version."""
    settings = session.execute(
        select(BadgeSetting).where(BadgeSetting.badge_class_id == old)
    ).scalars()
    for s in list(settings):
        session.add(
            BadgeSetting(
                structure_id=s.structure_id,
                badge_class_id=new,
                mode=s.mode,
                committee_id=s.committee_id,
                criteria_note=s.criteria_note,
                set_by=s.set_by,
                set_at=s.set_at,
            )
        )
    session.execute(
        update(BadgeRequest)
        .where(BadgeRequest.badge_class_id == old, BadgeRequest.status == RequestStatus.PENDING)
        .values(badge_class_id=new)
    )


def _refuse_if_named(session: Session, retired: list[str], rt: Runtime) -> None:
    """A badge a published pathway awards or asks for cannot leave the catalogue."""
    problems = []
    newer = aliased(PathwayVersion)
    latest = select(PathwayVersion.id, PathwayVersion.pathway_id, PathwayVersion.version).where(
        ~exists().where(
            newer.pathway_id == PathwayVersion.pathway_id, newer.version > PathwayVersion.version
        )
    )
    for version_id, pathway_id, version in session.execute(latest).all():
        pathway: Pathway = rt.pathway(session, version_id)
        named = set(pathway.badge_ids()) & set(retired)
        for badge in sorted(named):
            problems.append(
                f"« {badge} » ne peut pas quitter le catalogue : le parcours « {pathway_id} » "
                f"v{version} le nomme"
            )
    if problems:
        raise InvalidInput("badges : " + " ; ".join(problems))


def versions(rt: Runtime, network: str | None = None) -> list[NetworkVersion]:
    with rt.unit_of_work() as session:
        query = select(NetworkVersion).order_by(NetworkVersion.network, NetworkVersion.version)
        if network is not None:
            query = query.where(NetworkVersion.network == network)
        return list(session.execute(query).scalars())


def definition(rt: Runtime, network: str) -> NetworkDefinition:
    found = rt.network_definitions().get(network)
    if found is None:
        raise NotFound(f"réseau « {network} » introuvable (son fichier est-il publié ?)")
    return found
