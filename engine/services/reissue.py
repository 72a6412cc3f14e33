"""Badges issued again: re-bound to the e-mail a participant gave after earning them, or renewed
when their validity period ends.

A participant without e-mail (most of the IAE public) gets badges bound to their public profile
URL (or their telephone). Once staff record an address, `rebind` reissues each of their valid
badges to it, so a backpack that knows the address accepts them; `renew` awards a badge with a
validity period again for a new period. Either way the new assertion says which one it
`replaces`, the old one is revoked with the reason and an audit event keeps the history, all in
one transaction, through the one issuing path (`engine.services.issuing.reissue`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlmodel import Session

from engine.errors import Conflict, InvalidInput, NotFound
from engine.openbadges.identity import matches
from engine.services import access, issuing
from engine.services.access import Action, Actor, Target
from engine.services.badges import holder_target, load
from engine.services.runtime import Runtime
from engine.statuses import PersonKind
from engine.store.tables import Assertion, AuditEvent, Person, as_utc, utcnow

REBOUND = "remplacé par un badge lié à l'adresse e-mail"
RENEWED = "renouvelé : remplacé par un badge valable pour une nouvelle période"


def _audit(
    session: Session, kind: str, old: Assertion, new_id: str, badge: str, by: Actor, now: datetime
) -> None:
    """The history of a replaced badge, by ids (no address, no name)."""
    session.add(
        AuditEvent(
            enrollment_id=old.enrollment_id,
            at=now,
            actor_id=by.person_id,
            kind=kind,
            details={"assertion": old.id, "replaced_by": new_id, "badge": badge},
        )
    )


def _bound_to(a: Assertion, email: str) -> bool:
    return (
        a.recipient_type == "email"
        and a.recipient_identity is not None
        and matches(a.recipient_identity, email, a.salt)
    )


def rebind(
    rt: Runtime,
    participant_id: int,
    email: str | None = None,
    *,
    by: Actor,
    now: datetime | None = None,
) -> list[tuple[str, str]]:
    """Record the participant's e-mail (when given) and reissue each of their valid badges not
    bound to it yet; returns (old assertion id, new assertion id) of each. One transaction: if
    one badge cannot be reissued, nothing changes, not even the address."""
    now = now or utcnow()
    with rt.unit_of_work() as session:
        person = session.get(Person, participant_id)
        if person is None or person.kind != PersonKind.PARTICIPANT or person.erased_at:
            raise NotFound(f"participant n° {participant_id} introuvable")
        target = Target(structure_id=person.structure_id, participant_id=person.id)
        access.ensure(session, by, Action.PARTICIPANT_LINK, target)
        if email is not None:
            email = email.strip()
            if "@" not in email or len(email) > 254:
                raise InvalidInput("email : adresse e-mail invalide")
            taken = session.execute(
                select(Person.id).where(
                    Person.kind == PersonKind.PARTICIPANT,
                    Person.structure_id == person.structure_id,
                    func.lower(Person.email) == email.lower(),
                    Person.id != person.id,
                )
            ).first()
            if taken:
                raise Conflict("email : un autre participant de la structure a cette adresse")
            if person.email != email:
                person.email = email
                session.add(
                    AuditEvent(
                        at=now,
                        actor_id=by.person_id,
                        kind="email_set",
                        details={"participant": person.id},
                    )
                )
                session.flush()
        if not person.email:
            raise InvalidInput(
                "email : ce participant n'a pas d'adresse e-mail ; indiquez-la pour y lier "
                "ses badges"
            )
        held = session.execute(
            select(Assertion)
            .where(Assertion.recipient_id == person.id, Assertion.revoked_at.is_(None))
            .order_by(Assertion.issued_on, Assertion.id)
        ).scalars()
        due = [
            a
            for a in held
            if not _bound_to(a, person.email) and (a.expires is None or as_utc(a.expires) > now)
        ]
        done = []
        for old in due:
            new_id, badge = issuing.reissue(
                rt,
                session,
                old.id,
                basis=issuing.Basis.REISSUE,
                reason=REBOUND,
                actor_id=by.person_id,
                now=now,
            )
            _audit(session, "badge_rebound", old, new_id, badge, by, now)
            done.append((old.id, new_id))
        return done


def renew(rt: Runtime, assertion_id: str, *, by: Actor, now: datetime | None = None) -> str:
    """Award a badge with a validity period again, for a new period, by staff the catalogue
    lets award it alone; the old assertion is revoked as renewed. Returns the new id."""
    now = now or utcnow()
    with rt.unit_of_work() as session:
        badge = load(session, assertion_id)
        if badge.holder is None:
            raise InvalidInput("ce badge reconnaît une organisation, pas une personne")
        target = holder_target(session, badge)
        grant = access.ensure(session, by, Action.BADGE_AWARD, target)
        if badge.revoked:
            raise Conflict(
                f"le badge {badge.badge_class.name} est révoqué : il ne se renouvelle pas"
            )
        if badge.holder.erased_at is not None:
            raise NotFound(f"badge « {assertion_id} » introuvable")
        issuing.ensure_direct(session, badge.badge_class, target.structure_id, grant.roles)
        new_id, slug = issuing.reissue(
            rt,
            session,
            assertion_id,
            basis=issuing.Basis.RENEWAL,
            reason=RENEWED,
            actor_id=by.person_id,
            now=now,
        )
        _audit(session, "badge_renewed", badge.assertion, new_id, slug, by, now)
        return new_id
