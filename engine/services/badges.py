"""An issued badge and who holds it: loading one with its class, issuer and holder, the
badges an enrollment earned, and revocation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import aliased
from sqlmodel import Session

from engine.errors import Conflict, InvalidInput, NotFound
from engine.openbadges.urls import PublicUrls, public_base_url
from engine.services import access
from engine.services.access import Action, Actor, Target
from engine.services.runtime import Runtime
from engine.statuses import BadgeClassStatus
from engine.store.tables import (
    Assertion,
    AuditEvent,
    BadgeClass,
    Enrollment,
    Organisation,
    Person,
    as_utc,
    utcnow,
)


def urls(public_url: str | None = None) -> PublicUrls:
    return PublicUrls(public_base_url(public_url))


@dataclass(frozen=True)
class IssuedBadge:
    """An assertion with its badge class, issuer and holder, loaded together."""

    assertion: Assertion
    badge_class: BadgeClass
    issuer: Organisation
    holder: Person | None
    sub_badges: list[str]
    """The badges this one is made of (`sub_badges`)."""
    holder_org: Organisation | None = None
    """Set instead of `holder` for a badge recognising an organisation."""

    @property
    def revoked(self) -> bool:
        return self.assertion.revoked_at is not None

    def expired(self, now: datetime) -> bool:
        expires = self.assertion.expires
        return expires is not None and as_utc(expires) <= now


def sub_badges(bc: BadgeClass) -> list[str]:
    """The badges a badge is made of: its `requires` (a `BadgeRequirement`: `of`). OB 2.0 names
    them in the criteria narrative, CLR 2.0 links them with `isChildOf` associations; they are
    not OB 3.0 `related` achievements (that means another language or edition of the same)."""
    return list((bc.requires or {}).get("of", []))


_HOLDER_ORG = aliased(Organisation)


# Statements built once: building them per call cost more than running them.


_LOAD = (
    select(Assertion, BadgeClass, Organisation, Person, _HOLDER_ORG)
    .join(BadgeClass, BadgeClass.id == Assertion.badge_class_id)
    .join(Organisation, Organisation.id == Assertion.issuer_id)
    .outerjoin(Person, Person.id == Assertion.recipient_id)
    .outerjoin(_HOLDER_ORG, _HOLDER_ORG.id == Assertion.recipient_org_id)
    .where(Assertion.id == bindparam("aid"))
)


def holder_target(session: Session, badge: IssuedBadge) -> Target:
    """Whose badge it is, for the access rule: the holder's structure (the enrollment's when
    it was earned on a parcours), the holder, and the badge's network."""
    structure_id = None
    if badge.assertion.enrollment_id is not None:
        structure_id = session.get(Enrollment, badge.assertion.enrollment_id).structure_id  # type: ignore[union-attr]
    elif badge.holder is not None:
        structure_id = badge.holder.structure_id
    return Target(
        structure_id=structure_id,
        network=badge.badge_class.network,
        participant_id=badge.assertion.recipient_id,
    )


def load(session: Session, assertion_id: str) -> IssuedBadge:
    row = session.execute(_LOAD, {"aid": assertion_id}).one_or_none()
    if row is None:
        raise NotFound(f"badge « {assertion_id} » introuvable")
    a, bc, org, person, holder_org = row
    return IssuedBadge(a, bc, org, person, sub_badges(bc), holder_org)


def person_held(badge: IssuedBadge) -> Person:
    """The holder of a person's badge; recommendations and links concern people only."""
    if badge.holder is None:
        raise InvalidInput("ce badge reconnaît une organisation, pas une personne")
    return badge.holder


MAX_VERSION = 100_000
"""Far more versions than a badge class will ever have; a bound for the number in public URLs."""

_CURRENT_FIRST = (BadgeClass.status != BadgeClassStatus.ACTIVE, BadgeClass.version.desc())
"""A slug's current row first: its active version, else (a badge retired from its
catalogue) its latest."""


def badge_class(session: Session, slug: str, version: int | None = None) -> BadgeClass:
    """One version of a badge class (public documents name it), or with no version its
    current row: the active version, else the latest (a badge retired from the catalogue)."""
    query = select(BadgeClass).where(BadgeClass.slug == slug)
    if version is not None:
        bc = session.execute(query.where(BadgeClass.version == version)).scalar_one_or_none()
        if bc is None:
            raise NotFound(f"badge « {slug} » version {version} introuvable")
        return bc
    bc = session.execute(query.order_by(*_CURRENT_FIRST).limit(1)).scalar_one_or_none()
    if bc is None:
        raise NotFound(f"badge « {slug} » introuvable")
    return bc


def current_versions(session: Session, slugs: list[str]) -> dict[str, tuple[int, str]]:
    """(version, name) of each slug's current row, in one query; unknown slugs are left out."""
    if not slugs:
        return {}
    rows = session.execute(
        select(BadgeClass.slug, BadgeClass.version, BadgeClass.name)
        .where(BadgeClass.slug.in_(slugs))
        .order_by(BadgeClass.slug, *_CURRENT_FIRST)
    ).all()
    found: dict[str, tuple[int, str]] = {}
    for slug, version, name in rows:
        found.setdefault(slug, (version, name))
    return found


REASON_MAX = 500
"""Characters a revocation's reason may hold: it is published in the issuer's revocation list
and held in the index of revoked badges (an entry of PostgreSQL's is 2,704 bytes at most)."""


def revoke(
    rt: Runtime, assertion_id: str, reason: str, *, by: Actor, now: datetime | None = None
) -> None:
    """Withdraw a badge, with its reason, audited; its pages, lists and status bits say so."""
    now, reason = now or utcnow(), reason.strip()
    if not reason:
        raise InvalidInput("motif : une raison de révocation est obligatoire")
    if len(reason) > REASON_MAX:
        raise InvalidInput(f"motif : {REASON_MAX} caractères au plus ({len(reason)} donnés)")
    with rt.unit_of_work() as session:
        badge = load(session, assertion_id)
        if badge.revoked:
            raise Conflict(f"le badge {badge.badge_class.name} est déjà révoqué")
        access.ensure(session, by, Action.BADGE_REVOKE, holder_target(session, badge))
        actor_id = by.person_id
        changed = session.execute(
            update(Assertion)
            .where(Assertion.id == assertion_id, Assertion.revoked_at.is_(None))
            .values(revoked_at=now, revocation_reason=reason)
        ).rowcount
        if changed != 1:
            raise Conflict("le badge vient d'être révoqué par quelqu'un d'autre")
        session.add(
            AuditEvent(
                enrollment_id=badge.assertion.enrollment_id,
                at=now,
                actor_id=actor_id,
                kind="badge_revoked",
                note=reason,
                details={"assertion": assertion_id, "badge": badge.badge_class.slug},
            )
        )


def badges_of(rt: Runtime, enrollment_id: int, *, by: Actor) -> list[tuple[str, str, bool]]:
    """(assertion id, badge name, revoked) of the badges an enrollment earned."""
    with rt.unit_of_work() as session:
        target = access.enrollment_target(session, enrollment_id)
        access.ensure(session, by, Action.ENROLLMENT_READ, target)
        rows = session.execute(
            select(Assertion.id, BadgeClass.name, Assertion.revoked_at)
            .join(BadgeClass, BadgeClass.id == Assertion.badge_class_id)
            .where(Assertion.enrollment_id == enrollment_id)
            .order_by(Assertion.issued_on)
        ).all()
    return [(i, n, r is not None) for i, n, r in rows]


def public_name(person: Person | None, org: Organisation | None = None) -> str:
    """Minimal personal data on public pages: given name and initial (an organisation's name)."""
    if person is None:
        return org.name if org else ""
    if person.erased_at is not None:
        return "Personne anonymisée"
    initial = f" {person.family_name[:1]}." if person.family_name else ""
    return f"{person.given_name}{initial}"


def own_badges(rt: Runtime, *, by: Actor) -> list[tuple[str, str, bool]]:
    """(assertion id, badge name, revoked) of the badges the actor holds: a participant's or a
    supporter's own page."""
    if by.person_id is None or not (by.is_participant or by.is_supporter):
        return []
    with rt.unit_of_work() as session:
        rows = session.execute(
            select(Assertion.id, BadgeClass.name, Assertion.revoked_at)
            .join(BadgeClass, BadgeClass.id == Assertion.badge_class_id)
            .where(Assertion.recipient_id == by.person_id)
            .order_by(Assertion.issued_on)
        ).all()
    return [(i, n, r is not None) for i, n, r in rows]
