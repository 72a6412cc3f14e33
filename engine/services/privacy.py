"""GDPR: a participant's data, all of it, as JSON; and erasure. Personal data lives in `person`
(and in evidence files and notes a CIP wrote), so erasure blanks those, revokes the badges
(a public page must not keep pointing at a person) and leaves the audit log a pseudonymous
trace: ids, dates and stages, no names."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, select, update

from engine.errors import NotFound
from engine.services import access
from engine.services.access import Action, Actor, Target
from engine.services.runtime import Runtime
from engine.statuses import EnrollmentStatus, PersonKind, RequestStatus
from engine.store.tables import (
    Assertion,
    AuditEvent,
    BadgeClass,
    BadgeRequest,
    Enrollment,
    Evidence,
    EvidenceFile,
    MagicLink,
    PathwayVersion,
    Person,
    RecommendationRequest,
    Review,
    WebSession,
    utcnow,
)

ERASED = "Personne anonymisée"


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _participant(
    session, participant_id: int, who: Actor, action: Action
) -> tuple[Person, int | None]:
    """(the participant, the acting person's id), if `who` may perform `action` on their
    data: the person themself (export), or the CIP, the direction or the network."""
    person = session.get(Person, participant_id)
    if person is None or person.kind != PersonKind.PARTICIPANT:
        raise NotFound(f"participant n° {participant_id} introuvable")
    target = Target(structure_id=person.structure_id, participant_id=person.id)
    access.ensure(session, who, action, target)
    return person, who.person_id


def export(rt: Runtime, participant_id: int, *, by: Actor) -> dict[str, Any]:
    """Everything Parcours holds on one participant (GDPR art. 15 and 20)."""
    with rt.unit_of_work() as session:
        person, _ = _participant(session, participant_id, by, Action.PERSONAL_DATA_EXPORT)
        enrollments = session.execute(
            select(Enrollment, PathwayVersion.pathway_id, PathwayVersion.title)
            .join(PathwayVersion, PathwayVersion.id == Enrollment.pathway_version_id)
            .where(Enrollment.participant_id == person.id)
            .order_by(Enrollment.id)
        ).all()
        ids = [e.id for e, _, _ in enrollments]
        events = session.execute(
            select(AuditEvent).where(AuditEvent.enrollment_id.in_(ids)).order_by(AuditEvent.id)
        ).scalars()
        request_rows = session.execute(
            select(BadgeRequest, BadgeClass.slug)
            .join(BadgeClass, BadgeClass.id == BadgeRequest.badge_class_id)
            .where(BadgeRequest.participant_id == person.id)
            .order_by(BadgeRequest.id)
        ).all()
        request_ids = [r.id for r, _ in request_rows]
        evidence = session.execute(
            select(Evidence)
            .where(or_(Evidence.enrollment_id.in_(ids), Evidence.request_id.in_(request_ids)))
            .order_by(Evidence.id)
        ).scalars()
        badges = session.execute(
            select(Assertion, BadgeClass.slug, BadgeClass.name)
            .join(BadgeClass, BadgeClass.id == Assertion.badge_class_id)
            .where(Assertion.recipient_id == person.id)
            .order_by(Assertion.issued_on)
        ).all()
        return {
            "personne": {
                "id": person.id,
                "prenom": person.given_name,
                "nom": person.family_name,
                "email": person.email,
                "cree_le": _iso(person.created_at),
                "efface_le": _iso(person.erased_at),
            },
            "parcours": [
                {
                    "id": e.id,
                    "parcours": pid,
                    "titre": title,
                    "etape": e.stage,
                    "statut": e.status,
                    "debut": _iso(e.started_at),
                    "fin": _iso(e.completed_at),
                }
                for e, pid, title in enrollments
            ],
            "historique": [
                {
                    "parcours": ev.enrollment_id,
                    "le": _iso(ev.at),
                    "evenement": ev.kind,
                    "declencheur": ev.trigger,
                    "de": ev.from_stage,
                    "vers": ev.to_stage,
                    "note": ev.note,
                }
                for ev in events
            ],
            "demandes_de_badge": [
                {
                    "id": r.id,
                    "badge": slug,
                    "origine": r.origin,
                    "recit": r.narrative,
                    "etat": r.status,
                    "deposee_le": _iso(r.submitted_at),
                    "decidee_le": _iso(r.decided_at),
                    "motif": r.decision_reason,
                }
                for r, slug in request_rows
            ],
            "pieces": [
                {
                    "parcours": ev.enrollment_id,
                    "demande": ev.request_id,
                    "etape": ev.stage,
                    "type": ev.kind,
                    "texte": ev.narrative,
                    "url": ev.url,
                    "contexte": ev.context,
                    "ajoutee_le": _iso(ev.added_at),
                }
                for ev in evidence
            ],
            "badges": [
                {
                    "id": a.id,
                    "badge": slug,
                    "nom": name,
                    "delivre_le": _iso(a.issued_on),
                    "revoque_le": _iso(a.revoked_at),
                    "motif_revocation": a.revocation_reason,
                }
                for a, slug, name in badges
            ],
        }


def erase(rt: Runtime, participant_id: int, *, by: Actor, now: datetime | None = None) -> None:
    """Right to erasure (art. 17), in one transaction: names, e-mail, notes and evidence go;
    badges are revoked; the audit log keeps a pseudonymous `erased` event."""
    now = now or utcnow()
    with rt.unit_of_work() as session:
        person, actor = _participant(session, participant_id, by, Action.PERSONAL_DATA_ERASE)
        if person.erased_at is not None:
            return
        ids = list(
            session.execute(
                select(Enrollment.id).where(Enrollment.participant_id == person.id)
            ).scalars()
        )
        requests = select(BadgeRequest.id).where(BadgeRequest.participant_id == person.id)
        theirs = or_(Evidence.enrollment_id.in_(ids), Evidence.request_id.in_(requests))
        evidence_ids = select(Evidence.id).where(theirs)
        session.execute(delete(EvidenceFile).where(EvidenceFile.evidence_id.in_(evidence_ids)))
        session.execute(update(Evidence).where(theirs).values(narrative=None, url=None))
        session.execute(
            update(BadgeRequest)
            .where(BadgeRequest.participant_id == person.id)
            .values(narrative=None, decision_reason=None)
        )
        session.execute(
            update(BadgeRequest)
            .where(
                BadgeRequest.participant_id == person.id,
                BadgeRequest.status == RequestStatus.PENDING,
            )
            .values(status=RequestStatus.WITHDRAWN, decided_at=now)
        )
        session.execute(
            update(Assertion)
            .where(Assertion.recipient_id == person.id, Assertion.revoked_at.is_(None))
            .values(revoked_at=now, revocation_reason="Effacement à la demande de la personne")
        )
        session.execute(
            update(Assertion)
            .where(Assertion.recipient_id == person.id)
            .values(evidence=[], recipient_identity=None)
        )
        badge_ids = select(Assertion.id).where(Assertion.recipient_id == person.id)
        session.execute(
            delete(RecommendationRequest).where(RecommendationRequest.assertion_id.in_(badge_ids))
        )
        session.execute(
            update(Enrollment)
            .where(Enrollment.id.in_(ids), Enrollment.status == EnrollmentStatus.ACTIVE)
            .values(status=EnrollmentStatus.WITHDRAWN, completed_at=now)
        )
        # the one exception to the append-only log: notes may name the person
        session.execute(
            update(AuditEvent).where(AuditEvent.enrollment_id.in_(ids)).values(note=None)
        )
        session.execute(
            update(Review)
            .where(Review.request_id.in_(requests))
            .values(reason="(effacé à la demande de la personne)")
        )
        session.execute(delete(WebSession).where(WebSession.person_id == person.id))
        session.execute(delete(MagicLink).where(MagicLink.person_id == person.id))
        person.given_name, person.family_name, person.email = ERASED, "", None
        person.erased_at = now
        session.add(
            AuditEvent(
                enrollment_id=ids[0] if ids else None,
                at=now,
                actor_id=actor,
                kind="erased",
                details={"participant": person.id, "enrollments": ids},
            )
        )
