"""Project badges: a structure proposes a badge class of its own (SATO's ICEO projects, where
inhabitants co-define each project's badges); its network reviews it before it can be issued."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select

from engine.badges import sensitive
from engine.errors import Conflict, InvalidInput, NotFound
from engine.openbadges.images import default_picture
from engine.services import access
from engine.services.access import Action, Actor, Target
from engine.services.runtime import Runtime
from engine.statuses import BadgeClassStatus
from engine.store.tables import AuditEvent, BadgeClass, Membership, Organisation, utcnow


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:60] or "badge"


@dataclass(frozen=True)
class Proposal:
    slug: str
    name: str
    description: str
    criteria: str
    network: str
    structure: str | None
    status: str


def propose(
    rt: Runtime,
    structure: str,
    network: str,
    name: str,
    description: str,
    criteria: str,
    *,
    by: Actor,
    tags: list[str] | None = None,
    now: datetime | None = None,
) -> str:
    """Staff of a member structure propose a badge class; it waits for the network's review."""
    for field, value in (("name", name), ("description", description), ("criteria", criteria)):
        if not value.strip():
            raise InvalidInput(f"{field} : obligatoire")
        found = [*sensitive.criteria_named(value), *sensitive.identifiers_in(value)]
        if found:
            raise InvalidInput(f"{field} : {found[0].message}")
    with rt.unit_of_work() as session:
        org = session.execute(
            select(Organisation).where(Organisation.slug == structure)
        ).scalar_one_or_none()
        net = session.execute(
            select(Organisation).where(Organisation.slug == network, Organisation.kind == "network")
        ).scalar_one_or_none()
        if org is None or net is None:
            raise NotFound(f"structure « {structure} » ou réseau « {network} » introuvable")
        if session.get(Membership, (org.id, net.id)) is None:
            raise InvalidInput(f"network : {org.name} n'est pas membre du réseau {net.name}")
        access.ensure(
            session, by, Action.BADGE_PROPOSE, Target(structure_id=org.id, network=network)
        )
        base = f"{network}.projet-{_slug(name)}"
        # slugs, not rows: a badge class may have several versions
        taken = session.execute(
            select(func.count(func.distinct(BadgeClass.slug))).where(
                BadgeClass.slug.like(f"{base}%")
            )
        ).scalar_one()
        slug = base if not taken else f"{base}-{taken + 1}"
        colours = tuple(net.colours or ("#1d4e89", "#f2a900"))
        session.add(
            BadgeClass(
                slug=slug,
                version=1,
                network=network,
                name=name.strip(),
                description=description.strip(),
                criteria=criteria.strip(),
                tags=[*(tags or []), "projet"],
                status=BadgeClassStatus.PROPOSED,
                proposed_by=org.id,
                group="Projets des structures",
                image=default_picture(name, network, colours),  # type: ignore[arg-type]
            )
        )
        session.add(
            AuditEvent(
                at=now or utcnow(),
                actor_id=by.person_id,
                kind="badge_class_proposed",
                details={"badge": slug, "structure": structure},
            )
        )
    return slug


def review(
    rt: Runtime,
    slug: str,
    *,
    approve: bool,
    reason: str,
    by: Actor,
    now: datetime | None = None,
) -> None:
    """The network accepts a proposed badge class (it can then be issued) or refuses it."""
    if not reason.strip():
        raise InvalidInput("reason : motivez la décision")
    with rt.unit_of_work() as session:
        # a project badge has one version (1); a network badge's latest answers "already reviewed"
        bc = session.execute(
            select(BadgeClass)
            .where(BadgeClass.slug == slug)
            .order_by(BadgeClass.version.desc())
            .limit(1)
            .with_for_update()
        ).scalar_one_or_none()
        if bc is None:
            raise NotFound(f"badge « {slug} » introuvable")
        access.ensure(session, by, Action.BADGE_PROPOSAL_REVIEW, Target(network=bc.network))
        if bc.status != BadgeClassStatus.PROPOSED:
            raise Conflict(f"le badge {bc.name} a déjà été examiné ({bc.status})")
        bc.status = BadgeClassStatus.ACTIVE if approve else BadgeClassStatus.REFUSED
        session.add(bc)
        session.add(
            AuditEvent(
                at=now or utcnow(),
                actor_id=by.person_id,
                kind="badge_class_reviewed",
                note=reason.strip(),
                details={"badge": slug, "approved": approve},
            )
        )
    rt.forget_catalogue()


def proposals(rt: Runtime, who: Actor, status: str = BadgeClassStatus.PROPOSED) -> list[Proposal]:
    """Proposals the caller's structures made, and those their networks must review."""
    query = (
        select(BadgeClass, Organisation.slug)
        .join(Organisation, Organisation.id == BadgeClass.proposed_by)
        .where(BadgeClass.status == status)
        .order_by(BadgeClass.id)
    )
    if who.is_staff:
        query = query.where(
            or_(
                BadgeClass.proposed_by.in_(access.structures_staffed(who.person_id)),
                BadgeClass.network.in_(access.networks_administered(who.person_id)),
            )
        )
    elif not who.is_system:
        return []
    with rt.unit_of_work() as session:
        rows = session.execute(query).all()
    return [
        Proposal(bc.slug, bc.name, bc.description, bc.criteria, bc.network, s, bc.status)
        for bc, s in rows
    ]
