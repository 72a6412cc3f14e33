"""A badge holder's public profile (`/profils/<subject>`): the subject their badges name (OB 3.0
`credentialSubject.id`; hashed, the OB 2.0 `url` identity of a person without e-mail), and a
page listing their valid badges. The subject is random: the address says nothing about the
person and cannot be guessed from their name or their badges' ids."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from engine.errors import NotFound
from engine.services.badges import public_name
from engine.services.runtime import Runtime
from engine.store.tables import Assertion, BadgeClass, Organisation, Person, as_utc, utcnow

SUBJECT_LENGTH = 36
"""A subject is a random UUID."""


@dataclass(frozen=True)
class ProfileBadge:
    id: str
    name: str
    issuer: str
    issued_on: datetime
    expires: datetime | None
    expired: bool


@dataclass(frozen=True)
class Profile:
    holder: str
    """Given name and initial, as on each badge's page."""
    badges: list[ProfileBadge]


def profile(rt: Runtime, subject: str) -> Profile:
    """The holder's non-revoked badges, oldest first. Unknown, erased, or holding no badge at
    all (a staff member, say): 404, so a profile URL tells nothing about who is registered."""
    if len(subject) != SUBJECT_LENGTH:
        raise NotFound("profil introuvable")
    with rt.reading() as conn:
        person = conn.execute(
            select(Person.id, Person.given_name, Person.family_name, Person.erased_at).where(
                Person.subject == subject
            )
        ).first()
        if person is None or person.erased_at is not None:
            raise NotFound("profil introuvable")
        rows = conn.execute(
            select(
                Assertion.id,
                BadgeClass.name,
                Organisation.name,
                Assertion.issued_on,
                Assertion.expires,
                Assertion.revoked_at,
            )
            .join(BadgeClass, BadgeClass.id == Assertion.badge_class_id)
            .join(Organisation, Organisation.id == Assertion.issuer_id)
            .where(Assertion.recipient_id == person.id)
            .order_by(Assertion.issued_on, Assertion.id)
        ).all()
    if not rows:
        raise NotFound("profil introuvable")
    now = utcnow()
    holder = Person(given_name=person.given_name, family_name=person.family_name, kind="")
    return Profile(
        public_name(holder),
        [
            ProfileBadge(i, n, o, on, exp, exp is not None and as_utc(exp) <= now)
            for i, n, o, on, exp, revoked in rows
            if revoked is None
        ],
    )
