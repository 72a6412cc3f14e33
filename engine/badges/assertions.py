"""Assertion rows for badges issued to participants: one per badge, written in the caller's
transaction so a badge exists exactly when the stage change that earned it does."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    bindparam,
    func,
    insert,
    literal_column,
    select,
    update,
)
from sqlmodel import Session

from engine.badges import sensitive
from engine.openbadges.identity import recipient_for
from engine.openbadges.urls import PublicUrls, public_base_url
from engine.store.prepared import Prepared
from engine.store.tables import Assertion, BadgeClass, Person

_HELD = (
    select(BadgeClass.slug)
    .join(Assertion, Assertion.badge_class_id == BadgeClass.id)
    .where(Assertion.recipient_id == bindparam("pid"), Assertion.revoked_at.is_(None))
)
_HELD_SEPARATOR = ","  # never in a slug (`network.badge`)
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
_placed = _table.alias("placed")
# The issuer's next status-list place, computed by the statement that writes the badge: one
# more than the highest, read under the write lock (SQLite) or the issuer's advisory lock the
# caller took in an earlier statement (PostgreSQL, `issuing.lock_places`).
_NEXT_PLACE = (
    select(func.coalesce(func.max(_placed.c.status_index), -1) + 1)
    .where(_placed.c.issuer_id == bindparam("place_of"))
    .scalar_subquery()
)


def _issue(placed: bool, every_column: bool) -> Any:
    """The insert of one badge unless the recipient holds it already (any version of its
    class, not revoked), checked by the insert itself, with its status-list place when
    `placed` (an issuer that has a list); no row back: the badge was held. A caller that read
    the badges held still needs the check: a badge committed since its read (a direct award
    racing a transition) is seen by the insert, which runs under the write lock (SQLite) or
    after the issuer's lock (PostgreSQL), never twice."""
    columns = [*_COLUMNS, "status_index"] if placed else _COLUMNS
    values = [bindparam(c, type_=_table.c[c].type) for c in _COLUMNS]
    if placed:
        values.append(_NEXT_PLACE)
    held = (
        select(_already.c.id)
        .where(
            _already.c.recipient_id == bindparam("recipient_id"),
            # any version of the badge class counts as held
            _already.c.badge_class_id.in_(
                select(BadgeClass.id).where(BadgeClass.slug == bindparam("slug"))
            ),
            _already.c.revoked_at.is_(None),
        )
        .exists()
    )
    statement = insert(_table).from_select(columns, select(*values).where(~held))
    return statement.returning(*(_table.c if every_column else [_table.c.id]))


_FLAGS = (False, True)
_ISSUING = {(p, e): _issue(p, e) for p in _FLAGS for e in _FLAGS}
"""By (with a status-list place, returning every column): built once."""
_ISSUING_PREPARED = {p: Prepared(_ISSUING[p, False]) for p in _FLAGS}
"""The same, for a transaction on a bare Connection (`advance`): compiled once per dialect."""


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


def contact_of(
    email: str | None, phone: str | None, subject: str | None, urls: PublicUrls
) -> Contact | None:
    """The contact from a person's columns the caller read with its own query (`advance` reads
    them with the enrollment): `recipient_contact` without its query. None for a person
    without a subject yet, whom `recipient_contact` gives one."""
    if subject is None:
        return None
    return Contact(email or None, phone or None, urls.profile_page(subject))


def held_badges(db: Connection | Session, person_id: int) -> frozenset[str]:
    """Badge class slugs the person holds and that are not revoked."""
    return frozenset(db.execute(_HELD, {"pid": person_id}).scalars())


def held_column(person_id: ColumnElement[int]) -> Any:
    """The badges `held_badges` reads, as one column of the caller's query (`parse_held` reads
    its value): a transition reads them with its enrollment, in the same round trip."""
    return (
        # the separator as SQL text: a bound one is rendered anew at each execution
        select(func.aggregate_strings(BadgeClass.slug, literal_column(f"'{_HELD_SEPARATOR}'")))
        .join(Assertion, Assertion.badge_class_id == BadgeClass.id)
        .where(Assertion.recipient_id == person_id, Assertion.revoked_at.is_(None))
        .scalar_subquery()
    )


def parse_held(value: str | None) -> frozenset[str]:
    """The slugs in a `held_column` value."""
    return frozenset(value.split(_HELD_SEPARATOR)) if value else frozenset()


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
    contact: Contact | None = None,
    written: list[Any] | None = None,
) -> list[tuple[str, str, int]]:
    """Issue each badge the recipient does not already hold; returns (assertion id, badge,
    recipient) for each issued. `held`: the badges the caller read as held, skipped without a
    statement; the insert itself skips any other held since. The recipient identity is hashed
    now and fixed for the badge's life: from `contact` or `email` when the caller passes
    them, else from the person's row (e-mail, telephone, profile URL under `urls`), read once
    a badge is due. Each badge takes its issuer's next status-list place in its own insert:
    on PostgreSQL the caller holds the issuer's lock (`issuing.lock_places`). `written`, when
    given, receives each new row as written (every column).
    Evidence carrying a NIR or a PASS IAE number is refused (InvalidInput), nothing issued."""
    badges = list(dict.fromkeys(badges))
    if not badges:
        return []
    # a NIR or PASS IAE number typed in a narrative would be published with the badge
    sensitive.refuse_identifiers(sensitive.evidence_texts(evidence or []))
    if contact is None and isinstance(email, str) and email:
        contact = Contact(email, None, None)
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
            "slug": badge,
            "place_of": entry.issuer_id,
        }
        placed = entry.issuer_id is not None
        if written is not None:
            new = db.execute(_ISSUING[placed, True], row).first()
            if new is None:
                continue  # already held
            written.append(new)
        elif isinstance(db, Connection):
            if not _ISSUING_PREPARED[placed].all(db, row):
                continue  # already held
        else:  # a Session: flushed first, as its statements are
            if db.execute(_ISSUING[placed, False], row).first() is None:
                continue  # already held
        issued.append((assertion_id, badge, recipient_id))
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
