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
_COLUMNS = [
    "id",
    "badge_class_id",
    "recipient_id",
    "enrollment_id",
    "issued_by",
    "issuer_id",
    "issued_on",
    "salt",
    "evidence",
]
_table = Assertion.__table__
_ISSUE = insert(_table)
_already = _table.alias("already")
# Insert unless the recipient already holds the badge: the duplicate check costs no extra read.
_ISSUE_UNLESS_HELD = (
    insert(_table)
    .from_select(
        _COLUMNS,
        select(*(bindparam(c, type_=_table.c[c].type) for c in _COLUMNS)).where(
            ~select(_already.c.id)
            .where(
                _already.c.recipient_id == bindparam("recipient_id"),
                _already.c.badge_class_id == bindparam("badge_class_id"),
                _already.c.revoked_at.is_(None),
            )
            .exists()
        ),
    )
    .returning(_table.c.id)
)


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
    held: frozenset[str] | None,
    evidence: list[dict[str, Any]] | None = None,
) -> list[tuple[str, str, int]]:
    """Issue each badge the recipient does not already hold; returns (assertion id, badge,
    recipient) for each issued. `held=None` when the caller has not read the badges held: the
    insert itself then skips a badge already held."""
    issued = []
    for badge in dict.fromkeys(badges):
        if held is not None and badge in held:
            continue
        entry = catalogue[badge]
        row = {
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
        if held is not None:
            db.execute(_ISSUE, row)
        elif db.execute(_ISSUE_UNLESS_HELD, row).first() is None:
            continue  # already held
        issued.append((row["id"], badge, recipient_id))
    return issued
