"""Links to choose a password (an invitation, « mot de passe oublié »): minted when their
e-mail leaves, kept only as a hash. Apart from `accounts` so that the outbox, which mints
them, needs nothing else of it."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete

from engine.services.access import Actor
from engine.services.links import digest
from engine.store.tables import PasswordLink

RESET_MINUTES = 60
"""A « mot de passe oublié » link lives an hour: it opens an account."""
INVITATION_DAYS = 3
"""A new member's invitation waits a few days for them to read their mail."""
PASSWORD_PATH = "/mot-de-passe/"


def mint(session: Any, person_id: int, purpose: str, by: Actor, now: datetime) -> str:
    """A new single-use link for `person_id` to choose a password (the outbox calls this when
    the mail leaves); the unused links they had are void from now on. Only its hash is kept."""
    session.execute(
        delete(PasswordLink).where(
            PasswordLink.person_id == person_id, PasswordLink.used_at.is_(None)
        )
    )
    token = secrets.token_urlsafe(32)
    life = timedelta(minutes=RESET_MINUTES if purpose == "reset" else INVITATION_DAYS * 24 * 60)
    session.add(
        PasswordLink(
            token_hash=digest(token),
            person_id=person_id,
            purpose=purpose,
            created_by=by.person_id,
            created_at=now,
            expires_at=now + life,
        )
    )
    return token
