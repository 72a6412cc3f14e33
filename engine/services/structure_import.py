"""A network admin brings in their structures from « les emplois de l'inclusion »: each SIAE
the platform lists for a département is created, or updated when its SIRET is already known,
and made a member of the network, in one transaction with its audit event. Running it twice
creates nothing new; a dry run (`essai`) says what would be created, updated or skipped, and
why, and writes nothing.

The token is used for the call and never stored: the admin types it (or the CLI reads
PARCOURS_EMPLOIS_TOKEN) each time."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

import httpx
from sqlalchemy import select
from sqlmodel import Session

from engine.errors import InvalidInput, NotFound, ParcoursError
from engine.roles import OrganisationKind
from engine.services import access, siae_directory
from engine.services.organisations import (
    normalise_departement,
    normalise_siret,
    slug_of,
)
from engine.services.runtime import Runtime
from engine.slugs import SLUG_MAX
from engine.store.tables import AuditEvent, Membership, Organisation, utcnow

Action = Literal["created", "updated", "unchanged", "skipped"]
ACTION_LABELS: dict[str, str] = {
    "created": "créée",
    "updated": "mise à jour",
    "unchanged": "inchangée",
    "skipped": "ignorée",
}
DRY_RUN_LABELS: dict[str, str] = {
    "created": "à créer",
    "updated": "à mettre à jour",
    "unchanged": "inchangée",
    "skipped": "ignorée",
}


@dataclass(frozen=True)
class Line:
    """What the import does (or would do) with one structure of the listing."""

    siret: str
    name: str
    kind: str
    action: Action
    slug: str | None = None
    reason: str | None = None
    """Why a structure is skipped, or what an update changes, in French."""

    @property
    def label(self) -> str:
        return ACTION_LABELS[self.action]


@dataclass
class Report:
    network: str
    departement: str
    dry_run: bool
    lines: list[Line] = field(default_factory=list)

    def label(self, line: Line) -> str:
        """What happened to the line, or in a dry run what would."""
        return (DRY_RUN_LABELS if self.dry_run else ACTION_LABELS)[line.action]

    def having(self, action: Action) -> list[Line]:
        return [line for line in self.lines if line.action == action]

    @property
    def summary(self) -> str:
        counts = {a: len(self.having(a)) for a in ACTION_LABELS}  # type: ignore[arg-type]
        verb = "seraient" if self.dry_run else "ont été"
        return (
            f"{counts['created']} structure(s) {verb} créée(s), {counts['updated']} mise(s) à "
            f"jour, {counts['unchanged']} inchangée(s), {counts['skipped']} ignorée(s)"
        )


def import_structures(
    rt: Runtime,
    network: str,
    *,
    by: access.Actor,
    token: str,
    departement: str,
    dry_run: bool = False,
    now: datetime | None = None,
    url: str | None = None,
    client: httpx.Client | None = None,
) -> Report:
    """Import the SIAE the platform lists in `departement` into `network`, by an admin of that
    network (`ORGANISATION_CREATE`). The permission is checked before the platform is called
    and again in the transaction that writes."""
    code = normalise_departement(departement)
    if code is None:
        raise InvalidInput("département : obligatoire (ex. 29, 2A, 974)")
    with rt.reading() as conn:
        known = conn.execute(
            select(Organisation.id).where(
                Organisation.slug == network, Organisation.kind == OrganisationKind.NETWORK.value
            )
        ).first()
        if known is None:
            raise NotFound(f"réseau « {network} » introuvable")
        access.ensure(conn, by, access.Action.ORGANISATION_CREATE, access.Target(network=network))
    listed = list(siae_directory.list_siaes(token, departement=code, url=url, client=client))
    report = Report(network, code, dry_run)
    with rt.unit_of_work() as session:
        home = _network_row(session, network)
        access.ensure(
            session, by, access.Action.ORGANISATION_CREATE, access.Target(network=network)
        )
        report.lines = _plan_and_apply(session, listed, home, code, write=not dry_run)
        done = [ln for ln in report.lines if ln.action in ("created", "updated")]
        if not dry_run and done:
            session.add(
                AuditEvent(
                    at=now or utcnow(),
                    actor_id=by.person_id,
                    kind="structures_imported",
                    details={
                        "network": network,
                        "departement": code,
                        "source": "emplois-inclusion",
                        "created": [ln.slug for ln in done if ln.action == "created"],
                        "updated": [ln.slug for ln in done if ln.action == "updated"],
                    },
                )
            )
    return report


def _network_row(session: Session, slug: str) -> Organisation:
    row = session.execute(
        select(Organisation).where(
            Organisation.slug == slug, Organisation.kind == OrganisationKind.NETWORK.value
        )
    ).scalar_one_or_none()
    if row is None:
        raise NotFound(f"réseau « {slug} » introuvable")
    return row


def _web_address(value: str | None) -> str | None:
    if value and value.startswith(("http://", "https://")) and len(value) <= 500:
        return value
    return None


def _free_slug(session: Session, name: str, siret: str, taken: set[str], checked: set[str]) -> str:
    """An identifier from the name; a name already used gets the SIRET's last digits.
    `taken`: identifiers known to exist or given by this import; `checked`: those whose
    existence was read up front (no need to ask again)."""
    base = slug_of(name) or f"siae-{siret}"
    for candidate in (base, f"{base[: SLUG_MAX - 6]}-{siret[-5:]}", f"siae-{siret}"):
        if candidate in taken:
            continue
        if candidate in checked:
            return candidate
        exists = session.execute(select(Organisation.id).where(Organisation.slug == candidate))
        if exists.first() is None:
            return candidate
    raise InvalidInput(f"identifiant : aucun identifiant libre pour « {name} » ({siret})")


def _plan_and_apply(
    session: Session,
    listed: Iterable[siae_directory.ListedSiae],
    home: Organisation,
    departement: str,
    *,
    write: bool,
) -> list[Line]:
    listed = list(listed)
    # what is already known, read up front: a fixed number of queries, whatever the listing
    wanted = {"".join(e.siret.split()) for e in listed}
    known = {
        org.siret: org
        for org in session.execute(select(Organisation).where(Organisation.siret.in_(wanted)))
        .scalars()
        .all()
    }
    members = set(
        session.execute(
            select(Membership.structure_id).where(Membership.network_id == home.id)
        ).scalars()
    )
    candidates = {slug_of(e.name or e.legal_name) for e in listed} - {""}
    new_slugs = set(
        session.execute(
            select(Organisation.slug).where(Organisation.slug.in_(candidates))
        ).scalars()
    )
    lines: list[Line] = []
    seen: set[str] = set()
    joining: list[Organisation] = []
    for entry in listed:
        name = entry.name or entry.legal_name or entry.siret

        def skip(reason: str, entry: siae_directory.ListedSiae = entry, name: str = name) -> None:
            lines.append(Line(entry.siret, name, entry.kind, "skipped", reason=reason))

        if entry.skip_reason:
            skip(entry.skip_reason)
            continue
        try:
            siret = normalise_siret(entry.siret)
            place = normalise_departement(entry.departement) or departement
        except ParcoursError as exc:
            skip(str(exc))
            continue
        if siret is None:
            skip("SIRET absent")
            continue
        if siret in seen:
            skip("SIRET listé deux fois par la plateforme")
            continue
        seen.add(siret)
        kind = entry.structure_kind
        assert kind is not None  # skip_reason is None
        org = known.get(siret)
        if org is not None and org.kind != OrganisationKind.STRUCTURE.value:
            skip(f"SIRET déjà porté par « {org.name} », qui n'est pas une structure")
            continue
        if org is None:
            slug = _free_slug(session, name, siret, new_slugs, candidates)
            new_slugs.add(slug)
            if write:
                org = Organisation(
                    slug=slug,
                    name=name[:200],
                    kind=OrganisationKind.STRUCTURE.value,
                    structure_kind=kind.value,
                    siret=siret,
                    departement=place,
                    url=_web_address(entry.url),
                    description=entry.description,
                )
                session.add(org)
                joining.append(org)
            lines.append(Line(siret, name, entry.kind, "created", slug=slug))
            continue
        changes = []
        if org.structure_kind != kind.value:
            changes.append(f"type {org.structure_kind or '—'} → {kind.value}")
        if org.departement != place:
            changes.append(f"département {org.departement or '—'} → {place}")
        url = _web_address(entry.url)
        if not org.url and url:
            changes.append("site web ajouté")
        if not org.description and entry.description:
            changes.append("description ajoutée")
        member = org.id in members
        if not member:
            changes.append(f"ajoutée au réseau {home.name}")
        if write and changes:
            org.structure_kind, org.departement = kind.value, place
            org.url = org.url or url
            org.description = org.description or entry.description
            if not member:
                joining.append(org)
        action: Action = "updated" if changes else "unchanged"
        lines.append(
            Line(siret, org.name, entry.kind, action, slug=org.slug, reason=", ".join(changes))
        )
    if joining:
        session.flush()  # once: the new structures get their ids together
        session.add_all(Membership(structure_id=o.id, network_id=home.id) for o in joining)
        session.flush()
    return lines
