"""Badges to print: one badge as a PDF (public, like its page) and the « livret » of a whole
parcours (for the participant and the staff who may read the enrollment). What is printed is
gathered here, in one session, after the access check; `engine.openbadges.printing` draws it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from engine.dates import day
from engine.openbadges.printing import Livret, PrintedBadge, badge_pdf, livret_pdf
from engine.openbadges.urls import PublicUrls
from engine.services import access
from engine.services.access import Action, Actor
from engine.services.badges import IssuedBadge, load, public_name
from engine.services.runtime import Runtime
from engine.statuses import EnrollmentStatus
from engine.store.tables import (
    Assertion,
    AuditEvent,
    BadgeClass,
    Enrollment,
    Organisation,
    Person,
    as_utc,
    full_name,
    utcnow,
)

ERASED_NAME = "Personne anonymisée"


def _status(badge: IssuedBadge, now: datetime) -> str:
    a = badge.assertion
    if badge.revoked:
        reason = f" : {a.revocation_reason}" if a.revocation_reason else ""
        return f"Badge révoqué le {day(a.revoked_at)}{reason}"
    if badge.expired(now):
        return f"Badge expiré le {day(a.expires)}"
    return ""


def _printed(badge: IssuedBadge, holder: str, u: PublicUrls, now: datetime) -> PrintedBadge:
    a, bc = badge.assertion, badge.badge_class
    return PrintedBadge(
        name=bc.name,
        holder=holder,
        issuer=badge.issuer.name,
        issued_on=as_utc(a.issued_on),
        description=bc.description,
        criteria=bc.criteria,
        page_url=u.page(a.id),
        image=bc.image,
        expires=as_utc(a.expires) if a.expires else None,
        evidence=[
            (str(e.get("name") or ""), str(e.get("narrative") or ""))
            for e in a.evidence or []
            if e.get("name") or e.get("narrative")
        ],
        status=_status(badge, now),
    )


def badge(rt: Runtime, assertion_id: str, u: PublicUrls) -> bytes:
    """One badge on paper: what its public page shows (the holder's given name and initial),
    with a QR code to that page. Public, like the page."""
    with rt.unit_of_work() as session:
        issued = load(session, assertion_id)
    holder = public_name(issued.holder, issued.holder_org)
    return badge_pdf(_printed(issued, holder, u, utcnow()))


def _person_name(person: Person | None) -> str:
    if person is None or person.erased_at is not None:
        return ERASED_NAME
    return full_name(person.given_name, person.family_name) or ERASED_NAME


def livret(rt: Runtime, enrollment_id: int, u: PublicUrls, *, by: Actor) -> bytes:
    """The livret of a parcours: cover, stages reached, and each badge it earned that still
    holds (revoked and replaced ones are left out), for an interview or a CV."""
    now = utcnow()
    with rt.unit_of_work() as session:
        target = access.enrollment_target(session, enrollment_id)
        access.ensure(session, by, Action.ENROLLMENT_READ, target)
        enrollment = session.get(Enrollment, enrollment_id)
        assert enrollment is not None  # enrollment_target found it
        person = session.get(Person, enrollment.participant_id)
        structure = session.get(Organisation, enrollment.structure_id)
        pathway = rt.pathway(session, enrollment.pathway_version_id)
        network = session.execute(
            select(Organisation.name).where(Organisation.slug == pathway.network)
        ).scalar_one_or_none()
        titles = {s.id: s.title for s in pathway.stages}
        stages = [
            (titles.get(stage, stage), as_utc(at))
            for stage, at in session.execute(
                select(AuditEvent.to_stage, AuditEvent.at)
                .where(
                    AuditEvent.enrollment_id == enrollment_id,
                    AuditEvent.kind.in_(("enrolled", "transition")),
                    AuditEvent.to_stage.is_not(None),
                )
                .order_by(AuditEvent.id)
            ).all()
        ]
        rows = session.execute(
            select(Assertion, BadgeClass, Organisation)
            .join(BadgeClass, BadgeClass.id == Assertion.badge_class_id)
            .join(Organisation, Organisation.id == Assertion.issuer_id)
            .where(Assertion.enrollment_id == enrollment_id, Assertion.revoked_at.is_(None))
            .order_by(Assertion.issued_on, Assertion.id)
        ).all()
        name = _person_name(person)
        earned = [
            _printed(IssuedBadge(a, bc, org, person, []), name, u, now) for a, bc, org in rows
        ]
        document = Livret(
            participant=name,
            pathway=pathway.title,
            structure=structure.name if structure else "",
            network=network or pathway.network,
            started_at=as_utc(enrollment.started_at),
            ended_at=as_utc(enrollment.completed_at) if enrollment.completed_at else None,
            status=EnrollmentStatus(enrollment.status).label,
            stage=titles.get(enrollment.stage, enrollment.stage),
            stages=stages,
            badges=earned,
        )
    return livret_pdf(document)
