"""A participant (or a supporter) asks for a new sign-in link themselves, with the e-mail
address or mobile number their structure has for them. The answer never says whether anything
matched, and asking is throttled like a login, so the form tells nothing about who is known and
cannot flood a mailbox."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select

from engine.errors import InvalidInput
from engine.openbadges.identity import normalise_phone
from engine.services import access, accounts, outbox
from engine.services.access import Action, Actor, Target
from engine.services.links import LINK_DAYS
from engine.services.runtime import Runtime
from engine.statuses import EnrollmentStatus, PersonKind
from engine.store.tables import AuditEvent, Enrollment, Organisation, Person, utcnow

TEMPLATE = "lien_demande"
EVENT = "link_requested"
"""The audit event of a request, on the person's enrollment: their CIP sees it there."""
MAX_MATCHES = 5
"""The same address may be on a few rows (a person enrolled at two structures): each gets one."""
MAIL_EVERY_MINUTES = 15
"""At most one e-mail per person per quarter hour, however often the form is sent."""


def contact_of(typed: str) -> tuple[str, str]:
    """("email" or "phone", the value as stored) of what the person typed; InvalidInput in
    French when it is neither."""
    typed = typed.strip()
    if "@" in typed:
        if len(typed) > 254 or typed.startswith("@") or typed.endswith("@"):
            raise InvalidInput(f"« {typed} » n'est pas une adresse e-mail")
        return "email", typed
    try:
        return "phone", normalise_phone(typed)
    except ValueError:
        raise InvalidInput(
            "saisissez l'adresse e-mail ou le numéro de téléphone portable que votre structure "
            "connaît (par exemple 06 12 34 56 78)"
        ) from None


def request_link(
    rt: Runtime,
    typed: str,
    *,
    by: Actor,
    address: str | None,
    now: datetime | None = None,
) -> None:
    """Send a new single-use link to each person (participant or supporter, not erased) whose
    e-mail or mobile number is `typed`. With an e-mail on record the link leaves by e-mail
    (minted by the outbox worker when it sends, so no usable link is stored). There is no SMS
    gateway: a person known only by phone gets an event on their enrollment, which their CIP
    reads on the enrollment's page, and gives them a link. Every request counts against the
    contact and the client's `address` (`accounts.TooManyAttempts` past a few), matched or
    not; nothing returned says whether it matched."""
    now = now or utcnow()
    kind, value = contact_of(typed)
    keys = [("account", f"nouveau-lien:{value.lower()}")]
    if address:
        keys.append(("address", f"nouveau-lien:{address}"))
    accounts._begin_attempt(rt, keys, now)  # a request always counts: never taken back
    with rt.unit_of_work() as session:
        # anyone may ask; the link goes only to what the structure has on record
        access.ensure(session, by, Action.PUBLIC_READ, Target())
        matches = (
            Person.email.in_({value, value.lower()}) if kind == "email" else Person.phone == value
        )
        people = (
            session.execute(
                select(Person.id, Person.email, Person.structure_id)
                .where(
                    matches,
                    or_(Person.kind == PersonKind.PARTICIPANT, Person.kind == PersonKind.SUPPORTER),
                    Person.erased_at.is_(None),
                )
                .order_by(Person.id)
                .limit(MAX_MATCHES)
            )
        ).all()
        bucket = f"{now:%Y-%m-%dT%H}:{now.minute // MAIL_EVERY_MINUTES}"
        for person_id, email, structure_id in people:
            structure = session.get(Organisation, structure_id) if structure_id else None
            if email:
                outbox.queue_link_email(
                    session,
                    key=f"nouveau-lien:{person_id}:{bucket}",
                    to=email,
                    template=TEMPLATE,
                    person_id=person_id,
                    created_by=None,
                    now=now,
                    given_name=outbox.name_of(person_id, "given"),
                    structure=structure.name if structure else None,
                    days=LINK_DAYS,
                )
            enrollment = session.execute(
                select(Enrollment.id)
                .where(Enrollment.participant_id == person_id)
                .order_by(
                    (Enrollment.status == EnrollmentStatus.ACTIVE).desc(), Enrollment.id.desc()
                )
                .limit(1)
            ).scalar()
            session.add(
                AuditEvent(
                    enrollment_id=enrollment,
                    at=now,
                    actor_id=None,
                    kind=EVENT,
                    # ids only: the audit log keeps no address or number
                    details={"person_id": person_id, "by": kind, "sent": bool(email)},
                )
            )
