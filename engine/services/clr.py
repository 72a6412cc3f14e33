"""A participant's parcours as a CLR 2.0 `ClrCredential`, issued and signed (VC-JWT) by the
network of the pathway: the OB 3.0 credentials they earned on it, the pathway's key badges
and their sub-badges as achievements, and how these relate (`isChildOf`, `precedes`).

Shared by the enrollment's random `public_id` (`/ob/v3/clr/{public_id}`, `.jwt` signed); the
participant and the staff who may read the enrollment download it from the API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from engine.errors import NotFound
from engine.openbadges import clr, ob3
from engine.openbadges.urls import PublicUrls
from engine.pathways.model import Pathway
from engine.services import access, badge_documents
from engine.services.access import Action, Actor
from engine.services.badges import badge_class, public_name, sub_badges
from engine.services.issuer_keys import active_key
from engine.services.organisations import get_organisation
from engine.services.runtime import Runtime
from engine.store.tables import (
    Assertion,
    BadgeClass,
    Enrollment,
    Organisation,
    PathwayVersion,
    Person,
    utcnow,
)

MAX_DEPTH = 10
"""How deep sub-badges of sub-badges are followed: catalogues nest one level; a bound."""


def stage_order(p: Pathway) -> list[str]:
    """The stages as a participant meets them: breadth first from the initial stage, following
    the transitions in the order the file lists them; unreachable stages last."""
    seen, queue = [p.initial], [p.initial]
    while queue:
        current = queue.pop(0)
        for t in p.transitions_from(current):
            if t.dest not in seen:
                seen.append(t.dest)
                queue.append(t.dest)
    return seen + [s for s in p.stage_ids if s not in seen]


def plan(p: Pathway) -> tuple[list[str], list[tuple[str, str]]]:
    """(badge ids the pathway awards or asks for, in stage order; (earlier, later) pairs of
    them). A stage's badges (awarded on entering then on completing it) precede those of the
    stages a completing transition leads to, and a gate's badges those of the stage it opens;
    a stage with no badge passes on the badges before it."""
    own: dict[str, list[str]] = {}
    for stage in p.stages:
        own[stage.id] = [*stage.awards.on_enter, *stage.awards.on_complete]
    last: dict[str, set[str]] = {s: set(own[s]) for s in own}
    changed = True
    while changed:  # sets only grow, within a finite set: this ends, loops in the pathway too
        changed = False
        for t in p.transitions:
            if not t.completes:
                continue
            for source in t.source:
                if own[t.dest]:
                    continue
                before = last[t.dest] | last[source]
                if before != last[t.dest]:
                    last[t.dest], changed = before, True
    ids: list[str] = []
    pairs: list[tuple[str, str]] = []
    for stage_id in stage_order(p):
        ids.extend(b for b in own[stage_id] if b not in ids)
        for t in p.transitions_from(stage_id):
            gate = [b for req in t.gate.badges for b in req.of]
            ids.extend(b for b in gate if b not in ids)
            later = own[t.dest]
            pairs.extend((g, b) for g in gate for b in later)
            if t.completes:
                pairs.extend((a, b) for a in sorted(last[stage_id]) for b in later)
    return ids, pairs


@dataclass(frozen=True)
class _Earned:
    assertion_id: str
    slug: str
    version: int


def _enrollment(session: Session, public_id: str) -> Enrollment:
    row = session.execute(
        select(Enrollment).where(Enrollment.public_id == public_id)
    ).scalar_one_or_none()
    if row is None:
        raise NotFound("parcours introuvable")
    return row


def _earned(session: Session, e: Enrollment) -> list[_Earned]:
    """The participant's badges of this enrollment that still hold (not revoked)."""
    rows = session.execute(
        select(Assertion.id, BadgeClass.slug, BadgeClass.version)
        .join(BadgeClass, BadgeClass.id == Assertion.badge_class_id)
        .where(
            Assertion.enrollment_id == e.id,
            Assertion.recipient_id == e.participant_id,
            Assertion.revoked_at.is_(None),
        )
        .order_by(Assertion.issued_on, Assertion.id)
    ).all()
    return [_Earned(*row) for row in rows]


def _public_id(rt: Runtime, enrollment_id: int, by: Actor) -> str:
    with rt.unit_of_work() as session:
        target = access.enrollment_target(session, enrollment_id)
        access.ensure(session, by, Action.ENROLLMENT_READ, target)
        public_id = session.get(Enrollment, enrollment_id).public_id  # type: ignore[union-attr]
    if public_id is None:
        raise NotFound(f"parcours n° {enrollment_id} sans identifiant public")
    return public_id


def _build(
    rt: Runtime, public_id: str, u: PublicUrls, now: datetime | None, signed: bool
) -> dict[str, Any] | str:
    with rt.unit_of_work() as session:
        e = _enrollment(session, public_id)
        participant = session.get(Person, e.participant_id)
        if participant is None or participant.erased_at is not None:
            raise NotFound("parcours introuvable")
        earned = _earned(session, e)
    if not earned:
        raise NotFound("aucun badge n'a encore été obtenu sur ce parcours")
    # Each credential exactly as /ob/v3/credentials/{id} signs it (its status list entry too).
    credentials = [badge_documents.credential_document(rt, b.assertion_id, u) for b in earned]
    with rt.unit_of_work() as session:
        e = _enrollment(session, public_id)
        person = session.get(Person, e.participant_id)
        pv = session.get(PathwayVersion, e.pathway_version_id)
        assert person is not None and pv is not None
        pathway = rt.pathway(session, pv.id)
        issuer = get_organisation(session, pv.network)
        achievements, links = _achievements(session, pathway, earned, u)
        doc = clr.clr_credential(
            credential_id=u.clr(public_id),
            name=f"Parcours « {pathway.title} » de {public_name(person)}",
            description=pathway.description.strip()
            or f"Les badges du parcours « {pathway.title} » ({issuer.name}).",
            issuer=ob3.profile(issuer, u),
            subject_id=u.profile_page(person.subject) if person.subject else None,
            credentials=credentials,
            achievements=achievements,
            links=links,
            valid_from=now or utcnow(),
        )
        if not signed:
            return doc
        return ob3.sign(doc, active_key(session, issuer, u))


def _achievements(
    session: Session, pathway: Pathway, earned: list[_Earned], u: PublicUrls
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The achievements (the version earned, else the current one) of the pathway's badges,
    each followed by its sub-badges, then those earned outside the plan; and the associations
    between them."""
    ids, order = plan(pathway)
    version = {b.slug: b.version for b in earned}
    rows: dict[str, BadgeClass] = {}
    children: list[tuple[str, str]] = []

    def visit(slug: str, depth: int) -> None:
        if slug in rows or depth > MAX_DEPTH:
            return
        try:
            bc = badge_class(session, slug, version.get(slug))
        except NotFound:  # retired from the catalogue: only what was earned is shown
            return
        rows[slug] = bc
        for part in sub_badges(bc):
            children.append((part, slug))
            visit(part, depth + 1)

    for slug in [*ids, *(b.slug for b in earned)]:
        visit(slug, 0)
    creators: dict[str, Organisation] = {}
    achievements = []
    for bc in rows.values():
        if bc.network not in creators:
            creators[bc.network] = get_organisation(session, bc.network)
        achievements.append(ob3.achievement(bc, creators[bc.network], u))

    def aid(slug: str) -> str:
        bc = rows[slug]
        return u.achievement(bc.slug, bc.version)

    links = clr.associations(
        [(aid(c), aid(p)) for c, p in children if c in rows],
        [(aid(a), aid(b)) for a, b in order if a in rows and b in rows],
    )
    return achievements, links


def clr_document(
    rt: Runtime, public_id: str, u: PublicUrls, now: datetime | None = None
) -> dict[str, Any]:
    """The unsigned ClrCredential, for display and schema checks."""
    return _build(rt, public_id, u, now, signed=False)  # type: ignore[return-value]


def clr_jwt(rt: Runtime, public_id: str, u: PublicUrls, now: datetime | None = None) -> str:
    """The ClrCredential signed by the pathway's network (VC-JWT, RS256)."""
    return _build(rt, public_id, u, now, signed=True)  # type: ignore[return-value]


def enrollment_clr(rt: Runtime, enrollment_id: int, u: PublicUrls, *, by: Actor) -> str:
    """The signed CLR of an enrollment, for the participant or the staff who may read it."""
    return clr_jwt(rt, _public_id(rt, enrollment_id, by), u)


def enrollment_public_id(rt: Runtime, enrollment_id: int, *, by: Actor) -> str:
    """The id the participant shares their CLR by (`PublicUrls.clr`)."""
    return _public_id(rt, enrollment_id, by)
