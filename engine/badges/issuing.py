"""Issuing badges to participants: one Assertion row per badge, written in the caller's
transaction so a badge exists exactly when the stage change that earned it does."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select
from sqlmodel import Session

from engine.store.tables import Assertion, BadgeClass

_HELD = (
    select(BadgeClass.slug)
    .join(Assertion, Assertion.badge_class_id == BadgeClass.id)
    .where(Assertion.recipient_id == bindparam("pid"), Assertion.revoked_at.is_(None))
)
_ISSUE = insert(Assertion)


def held_badges(db: Connection | Session, person_id: int) -> frozenset[str]:
    """Badge class ids the person holds and that are not revoked."""
    return frozenset(db.execute(_HELD, {"pid": person_id}).scalars())


def issue_badges(
    db: Connection | Session,
    catalogue: Mapping[str, Any],
    badges: Iterable[str],
    recipient_id: int,
    enrollment_id: int | None,
    issued_by: int | None,
    now: datetime,
    *,
    held: frozenset[str],
    evidence: list[dict[str, Any]] | None = None,
) -> list[tuple[str, str, int]]:
    """Issue each badge the recipient does not already hold; returns (assertion id, badge,
    recipient) for each issued."""
    rows = []
    for badge in dict.fromkeys(badges):
        if badge in held:
            continue
        entry = catalogue[badge]
        rows.append(
            {
                "id": str(uuid.uuid4()),
                "badge_class_id": entry.id,
                "recipient_id": recipient_id,
                "enrollment_id": enrollment_id,
                "issued_by": issued_by,
                "issuer_id": entry.issuer_id,
                "issued_on": now,
                "salt": secrets.token_hex(16),
                "evidence": evidence or [],
            }
        )
    if rows:
        db.execute(_ISSUE, rows)
    return [
        (r["id"], slug, recipient_id)
        for r, slug in zip(rows, [b for b in dict.fromkeys(badges) if b not in held], strict=True)
    ]
