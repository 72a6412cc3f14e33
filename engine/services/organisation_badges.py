"""Badges held by organisations: SATO recognises a company's capacity to host fragile publics
(internships, missions, interim). The OB recipient is the company's e-mail, else its web
address, hashed like a person's."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from engine.errors import Conflict, InvalidInput, NotFound
from engine.services import access, issuing
from engine.services.access import Action, Actor, Target
from engine.services.runtime import Runtime
from engine.statuses import BadgeClassStatus
from engine.store.tables import (
    Assertion,
    AuditEvent,
    BadgeClass,
    Organisation,
    utcnow,
)


def award(
    rt: Runtime,
    badge: str,
    organisation: str,
    *,
    by: Actor,
    narrative: str | None = None,
    now: datetime | None = None,
) -> str:
    """Issue an organisation badge, by staff of a structure of the badge's network (the SIAE
    that placed people there) or by the network; returns the assertion id."""
    now = now or utcnow()
    with rt.unit_of_work() as s:
        bc = s.execute(
            select(BadgeClass).where(
                BadgeClass.slug == badge, BadgeClass.status == BadgeClassStatus.ACTIVE
            )
        ).scalar_one_or_none()
        if bc is None:
            raise NotFound(f"badge « {badge} » introuvable")
        if bc.recipient_kind != "organisation":
            raise InvalidInput(
                f"le badge {bc.name} se délivre à une personne, pas à une organisation"
            )
        org = s.execute(
            select(Organisation).where(Organisation.slug == organisation)
        ).scalar_one_or_none()
        if org is None or org.kind not in ("partner", "structure"):
            raise NotFound(f"organisation « {organisation} » introuvable")
        network = s.execute(
            select(Organisation).where(Organisation.slug == bc.network)
        ).scalar_one()
        access.ensure(s, by, Action.ORGANISATION_BADGE_AWARD, Target(network=bc.network))
        held = s.execute(
            select(Assertion.id).where(
                Assertion.recipient_org_id == org.id,
                # any version of the badge counts as held
                Assertion.badge_class_id.in_(select(BadgeClass.id).where(BadgeClass.slug == badge)),
                Assertion.revoked_at.is_(None),
            )
        ).first()
        if held is not None:
            raise Conflict(f"{org.name} détient déjà le badge {bc.name}")
        contact = org.email or org.url
        if not contact:
            raise InvalidInput(
                f"{org.name} n'a ni e-mail ni site web : il faut l'un des deux pour l'identifier "
                "dans le badge"
            )
        assertion_id = issuing.issue_to_organisation(
            rt,
            s,
            bc,
            org,
            issuer_id=network.id,  # type: ignore[arg-type]
            contact=contact,
            actor_id=by.person_id,
            now=now,
            evidence=[{"narrative": narrative}] if narrative else [],
        )
        s.add(
            AuditEvent(
                at=now,
                actor_id=by.person_id,
                kind="badge_issued",
                note=narrative,
                details={"badge": badge, "organisation": organisation, "assertion": assertion_id},
            )
        )
    return assertion_id
