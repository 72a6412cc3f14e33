"""Participants' and supporters' sign-in links: single-use, expiring, stored only as a hash.
A link is minted where it is needed: for the screen when staff ask for one, and by the outbox
worker at the moment it sends the e-mail that carries one, so no usable link is ever stored."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlmodel import Session

from engine.errors import NotFound
from engine.services import access
from engine.services.access import Action, Actor, Target
from engine.statuses import PersonKind
from engine.store.tables import MagicLink, Person

LINK_DAYS = 7


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
