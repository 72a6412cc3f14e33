"""Assertion rows for badges issued to participants: one per badge, written in the caller's
transaction so a badge exists exactly when the stage change that earned it does."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update
from sqlmodel import Session

from engine.badges import sensitive
from engine.openbadges.identity import recipient_for
from engine.openbadges.urls import PublicUrls, public_base_url
from engine.store.tables import Assertion, BadgeClass, Person

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
    "recipient_type",
    "recipient_identity",
    "expires",
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
                # any version of the badge class counts as held
                _already.c.badge_class_id.in_(
                    select(BadgeClass.id).where(BadgeClass.slug == bindparam("slug"))
                ),
                _already.c.revoked_at.is_(None),
            )
            .exists()
        ),
    )
    .returning(_table.c.id)
)


_EMAIL = select(Person.email).where(Person.id == bindparam("pid"))
_CONTACT = select(Person.email, Person.phone, Person.subject).where(Person.id == bindparam("pid"))
_GIVE_SUBJECT = (
    update(Person)
    .where(Person.id == bindparam("pid"), Person.subject.is_(None))
    .values(subject=bindparam("new_subject"))
)


def recipient_email(db: Connection | Session, person_id: int) -> str | None:
    return db.execute(_EMAIL, {"pid": person_id}).scalar_one_or_none()


@dataclass(frozen=True)
class Contact:
    """What a badge is bound to when issued: the e-mail, else the telephone, else the profile
    URL (see `engine.openbadges.identity.recipient_for`)."""

    email: str | None
    phone: str | None
    profile: str | None

    def recipient(self, salt: str) -> tuple[str, str]:
        return recipient_for(salt, email=self.email, phone=self.phone, profile=self.profile)


def recipient_contact(db: Connection | Session, person_id: int, urls: PublicUrls) -> Contact:
    """The person's contact as of now, in the caller's transaction. A person without a subject
    (a row written around the ORM's default) gets one here."""
    email, phone, subject = db.execute(_CONTACT, {"pid": person_id}).one()
    if subject is None:
        subject = str(uuid.uuid4())
        db.execute(_GIVE_SUBJECT, {"pid": person_id, "new_subject": subject})
        subject = db.execute(select(Person.subject).where(Person.id == person_id)).scalar_one()
    return Contact(email or None, phone or None, urls.profile_page(subject))


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
    email: str | bool | None = False,
    urls: PublicUrls | None = None,
) -> list[tuple[str, str, int]]:
    """Issue each badge the recipient does not already hold; returns (assertion id, badge,
    recipient) for each issued. `held=None` when the caller has not read the badges held: the
    insert itself then skips a badge already held. The recipient identity is hashed now and
    fixed for the badge's life: from `email` when the caller passes one, else from the
    person's row (e-mail, telephone, profile URL under `urls`), read once a badge is due.
    Evidence carrying a NIR or a PASS IAE number is refused (InvalidInput), nothing issued."""
    badges = list(dict.fromkeys(badges))
    if not badges:
        return []
    # a NIR or PASS IAE number typed in a narrative would be published with the badge
    sensitive.refuse_identifiers(sensitive.evidence_texts(evidence or []))
    contact = Contact(email, None, None) if isinstance(email, str) and email else None
    issued = []
    for badge in badges:
        if held is not None and badge in held:
            continue
        if contact is None:
            contact = recipient_contact(db, recipient_id, urls or PublicUrls(public_base_url()))
        entry = catalogue[badge]
        assertion_id = str(uuid.uuid4())
        salt = secrets.token_hex(16)
        kind, identity = contact.recipient(salt)
        row = {
            "id": assertion_id,
            "badge_class_id": entry.id,
            "recipient_id": recipient_id,
            "enrollment_id": enrollment_id,
            "issued_by": issued_by,
            "issuer_id": entry.issuer_id,
            "issued_on": now,
            "salt": salt,
            "evidence": evidence or [],
            "recipient_type": kind,
            "recipient_identity": identity,
            "expires": now + timedelta(days=entry.validity_days) if entry.validity_days else None,
        }
        if held is not None:
            db.execute(_ISSUE, row)
        elif db.execute(_ISSUE_UNLESS_HELD, {**row, "slug": badge}).first() is None:
            continue  # already held
        issued.append((row["id"], badge, recipient_id))
    return issued


def reissue_row(
    db: Connection | Session,
    old: Assertion,
    *,
    badge_class_id: int,
    issuer_id: int | None,
    contact: Contact,
    issued_by: int | None,
    now: datetime,
    expires: datetime | None,
) -> str:
    """The assertion that replaces `old` (re-bound to an e-mail given since, or renewed): the
    same holder, parcours and evidence, a new salt and recipient identity, `replaces` = old.
    The caller revokes the old one in the same transaction."""
    assertion_id, salt = str(uuid.uuid4()), secrets.token_hex(16)
    kind, identity = contact.recipient(salt)
    db.execute(
        _ISSUE,
        {
            "id": assertion_id,
            "badge_class_id": badge_class_id,
            "recipient_id": old.recipient_id,
            "enrollment_id": old.enrollment_id,
            "issued_by": issued_by,
            "issuer_id": issuer_id,
            "issued_on": now,
            "salt": salt,
            "evidence": list(old.evidence or []),
            "recipient_type": kind,
            "recipient_identity": identity,
            "expires": expires,
            "replaces": old.id,
        },
    )
    return assertion_id
