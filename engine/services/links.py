"""Participants' and supporters' sign-in links: single-use, expiring, stored only as a hash.
A link is minted where it is needed: for the screen when staff ask for one, and by the outbox
worker at the moment it sends the e-mail that carries one, so no usable link is ever stored."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlmodel import Session

from engine.errors import NotFound
from engine.services import access
from engine.services.access import Action, Actor, Target
from engine.services.runtime import Runtime
from engine.statuses import PersonKind
from engine.store.tables import MagicLink, Person, WebSession, as_utc, utcnow

LINK_DAYS = 7
LONG_SESSION_DAYS = 90
"""« Rester connecté sur ce téléphone »: the session lasts this long after the last visit."""
_REMEMBERED = timedelta(days=30)
"""A session made to last longer than this is a remembered one (the short one lasts a week):
the rows need no flag of their own."""
_SLIDE_EVERY = timedelta(days=1)
"""A remembered session's end moves at most once a day: one write a day, not one per page."""


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def mint(session: Session, person_id: int, *, by: Actor, now: datetime) -> tuple[str, Person]:
    """A new link token for the person, if `by` may give them one, and the person."""
    person = session.get(Person, person_id)
    kinds = (PersonKind.PARTICIPANT, PersonKind.SUPPORTER)
    if person is None or person.kind not in kinds or person.erased_at:
        raise NotFound(f"participant n° {person_id} introuvable")
    access.ensure(
        session,
        by,
        Action.PARTICIPANT_LINK,
        Target(structure_id=person.structure_id, participant_id=person.id),
    )
    token = secrets.token_urlsafe(32)
    session.add(
        MagicLink(
            token_hash=digest(token),
            person_id=person.id,
            created_by=by.person_id,
            created_at=now,
            expires_at=now + timedelta(days=LINK_DAYS),
        )
    )
    return token, person


def keep_alive(rt: Runtime, token: str, now: datetime | None = None) -> int | None:
    """Slide a remembered session: its end moves to `LONG_SESSION_DAYS` from now. Returns the
    days its cookie should now last, or None for a short session (its cookie ends with the
    browser) or an unknown one."""
    now = now or utcnow()
    with rt.transaction() as conn:
        row = conn.execute(
            select(WebSession.created_at, WebSession.expires_at).where(
                WebSession.token_hash == digest(token)
            )
        ).first()
        if row is None or as_utc(row.expires_at) <= now:
            return None
        if as_utc(row.expires_at) - as_utc(row.created_at) <= _REMEMBERED:
            return None
        end = now + timedelta(days=LONG_SESSION_DAYS)
        if end - as_utc(row.expires_at) >= _SLIDE_EVERY:
            conn.execute(
                update(WebSession)
                .where(WebSession.token_hash == digest(token))
                .values(expires_at=end)
            )
    return LONG_SESSION_DAYS
