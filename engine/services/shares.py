"""Badges shared with partner organisations, and the partner feed.

A pathway stage names the partners that receive its badges (`awards.share_with`: the GEIQ for a
metallurgy stage, ADIE and BGE for EiTi phases); a participant or their CIP may share one more
badge with a company. A partner's staff see exactly these badges, nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, insert, select
from sqlmodel import Session

from engine.errors import Conflict, Forbidden, InvalidInput, NotFound
from engine.roles import Role
from engine.services import access, keyset
from engine.services.access import Action, Actor, Target
from engine.services.outbox import queue_shares
from engine.services.runtime import Runtime
from engine.store.tables import (
    Assertion,
    BadgeClass,
    Enrollment,
    Organisation,
    Person,
    Share,
    utcnow,
)


def share_issued(
    db: Connection | Session,
    shares: Mapping[str, list[str]],
    issued: list[tuple[str, str, int]],
    actor: int | None,
    now: datetime,
) -> int:
    """Inside the transaction that issued the badges: one Share row per (badge, partner)."""
    wanted = [(aid, slug) for aid, badge, _ in issued for slug in shares.get(badge, [])]
    if not wanted:
        return 0
    slugs = {slug for _, slug in wanted}
    ids = dict(
        db.execute(
            select(Organisation.slug, Organisation.id).where(Organisation.slug.in_(slugs))
        ).all()
    )
    missing = slugs - set(ids)
    if missing:
        raise NotFound(f"partenaire(s) introuvable(s) : {', '.join(sorted(missing))}")
    rows = [
        {
            "assertion_id": aid,
            "organisation_id": ids[slug],
            "reason": "stage",
            "shared_by": actor,
            "shared_at": now,
        }
        for aid, slug in wanted
    ]
    db.execute(insert(Share), rows)
    queue_shares(db, [(r["assertion_id"], r["organisation_id"]) for r in rows], now)
    return len(rows)


def share(
    rt: Runtime, assertion_id: str, organisation: str, *, by: Actor, now: datetime | None = None
) -> None:
    """The participant, or the team of their structure in the badge's network (or that
    network's admins), show one badge to a partner."""
    now = now or utcnow()
    with rt.unit_of_work() as session:
        row = session.execute(
            select(
                Assertion.recipient_id,
                Assertion.revoked_at,
                BadgeClass.network,
                func.coalesce(Person.structure_id, Enrollment.structure_id),
            )
            .join(BadgeClass, BadgeClass.id == Assertion.badge_class_id)
            .outerjoin(Person, Person.id == Assertion.recipient_id)
            .outerjoin(Enrollment, Enrollment.id == Assertion.enrollment_id)
            .where(Assertion.id == assertion_id)
        ).first()
        if row is None:
            raise NotFound(f"badge {assertion_id} introuvable")
        recipient, revoked, network, structure = row
        grant = access.ensure(
            session,
            by,
            Action.BADGE_SHARE,
            Target(structure_id=structure, participant_id=recipient, network=network),
        )
        if revoked is not None:
            raise Conflict("un badge révoqué ne se partage pas")
        if recipient is None:  # the feed is of people's badges: a company's has no reader
            raise InvalidInput("le badge d'une organisation ne se partage pas avec un partenaire")
        org = _partner(session, organisation)
        exists = session.execute(
            select(Share.id).where(
                Share.assertion_id == assertion_id, Share.organisation_id == org.id
            )
        ).first()
        if exists is None:
            session.add(
                Share(
                    assertion_id=assertion_id,
                    organisation_id=org.id,
                    reason="participant" if grant.own else "staff",
                    shared_by=by.person_id,
                    shared_at=now,
                )
            )
            session.flush()
            queue_shares(session, [(assertion_id, org.id)], now)


@dataclass(frozen=True)
class FeedItem:
    assertion_id: str
    badge: str
    badge_name: str
    recipient: str
    partner: str
    shared_at: datetime
    issued_on: datetime
    revoked: bool


@dataclass(frozen=True)
class Feed:
    items: list[FeedItem]
    page: int
    per_page: int
    total: int
    total_exact: bool = True
    """False when there are more than `total` (counted up to `keyset.CAP`)."""
    next: str | None = None
    """The cursor of the next page (`after=`), None on the last."""


_NEWEST = [(Share.shared_at, True), (Share.id, True)]
"""The feed's order, newest first, as keyset keys (index `ix_share_org_shared`)."""


def partner_organisations(session: Session, person_id: int | None) -> list[int]:
    """The partner organisations this person works for (none for anyone else)."""
    return list(session.execute(access.partner_organisations(person_id)).scalars())


def feed(
    rt: Runtime,
    who: Actor,
    *,
    organisation: str | None = None,
    page: int = 1,
    per_page: int = 20,
    since: datetime | None = None,
    after: str | None = None,
) -> Feed:
    """Badges shared with the caller's partner organisations, newest first; with
    `organisation`, with that partner only (its staff, an admin of one of its networks).
    `after` (a page's `next`) gives the page after it at the same cost however deep; the
    total is counted up to `keyset.CAP`."""
    with rt.unit_of_work() as session:
        if organisation is not None:
            org = _partner(session, organisation)
            grant = access.ensure(session, who, Action.PARTNER_FEED, Target(organisation_id=org.id))
            orgs = [org.id]
            # a network admin reads, of a partner of several networks, their network's badges
            via_admin = Role.PARTNER not in grant.roles and not grant.system
        else:
            orgs = partner_organisations(session, who.person_id) if who.is_staff else []
            via_admin = False
            if not orgs:
                raise Forbidden(access.refusal(Action.PARTNER_FEED, who))
        query = (
            select(
                Share.assertion_id,
                BadgeClass.slug,
                BadgeClass.name,
                Person.given_name,
                Person.family_name,
                Organisation.name,
                Share.shared_at,
                Assertion.issued_on,
                Assertion.revoked_at,
            )
            .join(Assertion, Assertion.id == Share.assertion_id)
            .join(BadgeClass, BadgeClass.id == Assertion.badge_class_id)
            .join(Person, Person.id == Assertion.recipient_id)
            .join(Organisation, Organisation.id == Share.organisation_id)
            .where(Share.organisation_id.in_(orgs))
        )
        # the same rows, counted with no more joins than their filters need: a share is of a
        # person's badge (`share` refuses an organisation's, issuing shares only people's),
        # whose class, holder and partner exist (foreign keys), so a partner's own count is
        # a walk of its index and nothing else
        counting = select(Share.id).where(Share.organisation_id.in_(orgs))
        if via_admin:
            networks = access.networks_administered(who.person_id)
            query = query.where(BadgeClass.network.in_(networks))
            counting = (
                counting.join(Assertion, Assertion.id == Share.assertion_id)
                .join(BadgeClass, BadgeClass.id == Assertion.badge_class_id)
                .where(BadgeClass.network.in_(networks))
            )
        if since is not None:
            query = query.where(Share.shared_at > since)
            counting = counting.where(Share.shared_at > since)
        counted = keyset.count(session, counting)
        if after is not None:
            query = query.where(keyset.after(_NEWEST, keyset.decode(after, 2)))
        rows = session.execute(
            query.add_columns(Share.id)
            .order_by(*keyset.order(_NEWEST))
            .limit(per_page + 1)
            .offset(keyset.skipped(page, per_page, after))
        ).all()
    more = len(rows) > per_page
    rows = rows[:per_page]
    items = [
        FeedItem(a, s, n, f"{g} {f}".strip(), org, at, issued, revoked is not None)
        for a, s, n, g, f, org, at, issued, revoked, _ in rows
    ]
    cursor = keyset.encode([rows[-1][6], rows[-1][9]]) if more and rows else None
    return Feed(items, page, per_page, int(counted), counted.exact, cursor)


def set_webhook(rt: Runtime, organisation: str, url: str, *, by: Actor) -> str:
    """A partner's staff (or an admin of a network the partner belongs to) set where the
    partner receives its badges; returns the new signing secret, shown once. The URL must be
    one the worker may reach (`engine.webhooks.check_url`: https, public addresses), checked
    once the caller is known to have the right, so no one else can probe addresses with it."""
    import secrets

    from engine import webhooks
    from engine.store.tables import PartnerWebhook

    with rt.unit_of_work() as session:
        org = _partner(session, organisation)
        access.ensure(session, by, Action.PARTNER_WEBHOOK, Target(organisation_id=org.id))
        webhooks.check_url(url)
        secret = "whsec_" + secrets.token_urlsafe(32)
        hook = session.get(PartnerWebhook, org.id) or PartnerWebhook(
            organisation_id=org.id, url=url, secret=secret, created_at=utcnow()
        )
        hook.url, hook.secret = url, secret
        session.add(hook)
    return secret


def _partner(session: Session, slug: str) -> Organisation:
    org = session.execute(
        select(Organisation).where(Organisation.slug == slug)
    ).scalar_one_or_none()
    if org is None or org.kind != "partner":
        raise NotFound(f"partenaire « {slug} » introuvable")
    return org
