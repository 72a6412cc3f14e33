"""GDPR: a person's data, all of it, as JSON; erasure; and how long the rest is kept.

Personal data lives in `person` (names, e-mail, telephone, and from an import a birth year and
a PASS IAE number, which no badge ever carries) and in the rows that belong to the person
(evidence and its files, requests and their reviews, committee decisions on their parcours,
recommendations of their badges, e-mails to them). Audit rows and outbox payloads keep ids and
kinds, not free text, so erasure reaches everything: it blanks those rows, revokes the badges
(a public page must not keep pointing at a person) and leaves the audit log a pseudonymous
trace: ids, dates and stages, no names.

Who: a participant's CIP or director, their network's admins, the participant (export); a
supporter (a support badge from the public form, no structure) is exported and erased by the
admins of the badge's network or by the supporter, through a link sent to their address.

Retention (`purge`, daily from the scheduler, `parcours privacy purge`): delivered outbox rows
lose their payload after PARCOURS_RETENTION_DELIVERIES_DAYS (90), audit rows their note and
any free text in their details after PARCOURS_RETENTION_AUDIT_DAYS (730). The audit log is
append-only (`engine.store.tables` refuses ORM updates); erasure and the purge minimise it
through Core UPDATEs, by design the only writers allowed to.
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Text, bindparam, cast, delete, func, or_, select, update
from sqlmodel import Session

from engine import exits
from engine.errors import Forbidden, InvalidInput, NotFound
from engine.gates import Condition
from engine.services import access, outbox
from engine.services.access import Action, Actor, Target
from engine.services.runtime import Runtime
from engine.statuses import EnrollmentStatus, PersonKind, RequestStatus
from engine.store.tables import (
    Assertion,
    AuditEvent,
    BadgeClass,
    BadgeRequest,
    CommitteeDecision,
    CredentialOffer,
    Delivery,
    Endorsement,
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
ERASED_TEXT = "(effacé à la demande de la personne)"
REVOKED_FOR_ERASURE = "Effacement à la demande de la personne"
ERASED_ADDRESS = "(adresse effacée)"

DELIVERIES_DAYS = ("PARCOURS_RETENTION_DELIVERIES_DAYS", 90)
AUDIT_DAYS = ("PARCOURS_RETENTION_AUDIT_DAYS", 730)


# --- what audit rows keep ----------------------------------------------------------------

_FREE_TEXT = frozenset({"url", "file", "filename", "narrative", "reason", "comment", "note"})
_COMMITTEE_COUNT = re.compile(r"^(.* \(\d+ pour, \d+ contre\)) : .*\Z", re.S)


def gate_for_audit(conditions: list[Condition]) -> list[dict[str, Any]]:
    """A transition's gate as its audit row keeps it: each condition's kind, verdict and text,
    but a committee's text without its members' reasons (they live in `committeedecision`,
    where erasure reaches them)."""
    out = []
    for c in conditions:
        text = c.text
        if c.kind == "committee":
            counted = _COMMITTEE_COUNT.match(text)
            text = counted.group(1) if counted else "décision du comité d'attribution"
        out.append({"kind": c.kind, "met": c.met, "text": text})
    return out


def minimal_details(details: dict[str, Any] | None) -> dict[str, Any] | None:
    """What an audit row's details keep once minimised (erasure, retention): ids, kinds, stages
    and verdicts; no URL, file name, narrative or gate text."""
    if not details:
        return details
    out: dict[str, Any] = {}
    for key, value in details.items():
        if key in _FREE_TEXT:
            continue
        if key == "gate" and isinstance(value, list):
            value = [
                {"kind": c.get("kind"), "met": c.get("met")} for c in value if isinstance(c, dict)
            ]
        out[key] = value
    return out


_MINIMISE = (
    update(AuditEvent)
    .where(AuditEvent.id == bindparam("row"))
    .values(note=None, details=bindparam("minimal"))
)


def _minimise_audit(db: Any, rows: list[Any]) -> int:
    """The Core UPDATE the append-only guard allows by design: notes go, details shrink."""
    changed = [
        {"row": r.id, "minimal": minimal_details(r.details)}
        for r in rows
        if r.note is not None or minimal_details(r.details) != r.details
    ]
    if changed:
        db.execute(_MINIMISE, changed)
    return len(changed)


# --- who may see and erase whom ------------------------------------------------------------


def _person(session: Session, person_id: int, who: Actor, action: Action) -> Person:
    """The participant or supporter, if `who` may perform `action` on their data."""
    person = session.get(Person, person_id)
    if person is None or person.kind not in (PersonKind.PARTICIPANT, PersonKind.SUPPORTER):
        raise NotFound(f"participant n° {person_id} introuvable")
    if person.kind == PersonKind.PARTICIPANT:
        target = Target(structure_id=person.structure_id, participant_id=person.id)
        access.ensure(session, who, action, target)
        return person
    # A supporter belongs to no structure: their badges' networks decide.
    networks = session.execute(
        select(BadgeClass.network)
        .join(Assertion, Assertion.badge_class_id == BadgeClass.id)
        .where(Assertion.recipient_id == person.id)
        .distinct()
    ).scalars()
    targets = [Target(network=n, participant_id=person.id) for n in networks]
    if not any(
        access.check(session, who, action, t) for t in targets or [Target(participant_id=person.id)]
    ):
        raise Forbidden(access.refusal(action, who))
    return person


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def export(rt: Runtime, participant_id: int, *, by: Actor) -> dict[str, Any]:
    """Everything Parcours holds on one participant or supporter (GDPR art. 15 and 20)."""
    with rt.unit_of_work() as session:
        person = _person(session, participant_id, by, Action.PERSONAL_DATA_EXPORT)
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
        from engine.services.evidence import context_title, pieces

        evidence = pieces(session, enrollment_ids=ids, request_ids=request_ids)
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
                "telephone": person.phone,
                "annee_naissance": person.birth_year,
                "pass_iae": person.pass_iae,
                "profil": rt.urls.profile_page(person.subject) if person.subject else None,
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
                    "sortie": _exit(e),
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
                    "titre": ev.title,
                    "texte": ev.narrative,
                    "url": ev.url,
                    "contexte": ev.context,
                    "contexte_titre": context_title(ev.context),
                    "ajoutee_le": _iso(ev.added_at),
                    "ajoutee_par": ev.added_by,
                    "fichier": ev.filename,
                    "telechargement": (
                        f"{rt.urls.base}/pieces/{ev.file_id}" if ev.file_id else None
                    ),
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
                    "remplace": a.replaces,
                }
                for a, slug, name in badges
            ],
        }


# --- erasure ------------------------------------------------------------------------------


def erase(rt: Runtime, participant_id: int, *, by: Actor, now: datetime | None = None) -> None:
    """Right to erasure (art. 17), in one transaction: names, e-mail, notes, evidence, reasons
    and comments about the person go; badges are revoked; e-mails to them or naming them are
    dropped or blanked; the audit log keeps a pseudonymous `erased` event."""
    now = now or utcnow()
    with rt.unit_of_work() as session:
        person = _person(session, participant_id, by, Action.PERSONAL_DATA_ERASE)
        if person.erased_at is not None:
            return
        ids = list(
            session.execute(
                select(Enrollment.id).where(Enrollment.participant_id == person.id)
            ).scalars()
        )
        request_ids = list(
            session.execute(
                select(BadgeRequest.id).where(BadgeRequest.participant_id == person.id)
            ).scalars()
        )
        badge_ids = list(
            session.execute(select(Assertion.id).where(Assertion.recipient_id == person.id))
            .scalars()
            .all()
        )
        theirs = or_(Evidence.enrollment_id.in_(ids), Evidence.request_id.in_(request_ids))
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
            update(Review).where(Review.request_id.in_(request_ids)).values(reason=ERASED_TEXT)
        )
        session.execute(
            update(CommitteeDecision)
            .where(CommitteeDecision.enrollment_id.in_(ids))
            .values(reason=ERASED_TEXT)
        )
        session.execute(
            update(Assertion)
            .where(Assertion.recipient_id == person.id, Assertion.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        # an earlier revocation's reason may name the person: every one is replaced
        session.execute(
            update(Assertion)
            .where(Assertion.recipient_id == person.id)
            .values(evidence=[], recipient_identity=None, revocation_reason=REVOKED_FOR_ERASURE)
        )
        session.execute(
            update(Endorsement)
            .where(Endorsement.subject_kind == "assertion", Endorsement.subject_ref.in_(badge_ids))
            .values(comment=ERASED_TEXT, withdrawn_at=func.coalesce(Endorsement.withdrawn_at, now))
        )
        recommendation_keys = [
            f"recommandation:{h}"
            for h in session.execute(
                select(RecommendationRequest.token_hash).where(
                    RecommendationRequest.assertion_id.in_(badge_ids)
                )
            ).scalars()
        ]
        session.execute(
            delete(RecommendationRequest).where(RecommendationRequest.assertion_id.in_(badge_ids))
        )
        _forget_deliveries(rt, session, person, badge_ids, recommendation_keys)
        session.execute(
            update(Enrollment)
            .where(Enrollment.id.in_(ids), Enrollment.status == EnrollmentStatus.ACTIVE)
            .values(status=EnrollmentStatus.WITHDRAWN, completed_at=now)
        )
        # how they left stays, for the anonymous figures; where, with the name gone, does not
        session.execute(
            update(Enrollment)
            .where(Enrollment.id.in_(ids), Enrollment.exit_employer.is_not(None))
            .values(exit_employer=None)
        )
        about = [AuditEvent.enrollment_id.in_(ids)]
        if request_ids or badge_ids:
            # rows about a request or a badge of no parcours (a supporter's, a revocation)
            about.append(
                AuditEvent.enrollment_id.is_(None)
                & or_(
                    AuditEvent.details["request"].as_integer().in_(request_ids),
                    AuditEvent.details["assertion"].as_string().in_(badge_ids),
                )
            )
        rows = session.execute(
            select(AuditEvent.id, AuditEvent.note, AuditEvent.details).where(or_(*about))
        ).all()
        _minimise_audit(session.connection(), rows)
        session.execute(delete(WebSession).where(WebSession.person_id == person.id))
        session.execute(delete(MagicLink).where(MagicLink.person_id == person.id))
        session.execute(delete(CredentialOffer).where(CredentialOffer.person_id == person.id))
        person.given_name, person.family_name, person.email = ERASED, "", None
        person.phone = None  # the subject stays: its profile page answers 404 once erased
        person.birth_year, person.pass_iae = None, None  # as an import gave them
        person.erased_at = now
        session.add(
            AuditEvent(
                enrollment_id=ids[0] if ids else None,
                at=now,
                actor_id=by.person_id,
                kind="erased",
                details={"participant": person.id, "enrollments": ids},
            )
        )


def _forget_deliveries(
    rt: Runtime, session: Session, person: Person, badge_ids: list[str], keys: list[str]
) -> None:
    """Outbox rows to the person or about their badges are dropped (not yet sent) or emptied
    (sent); rows that only name them (a reminder to their CIP, a committee's agenda) keep their
    text with the name replaced. One scan of the outbox: erasure is rare."""
    email = (person.email or "").strip().lower()
    name = person.display_name.strip().lower()
    text = func.lower(cast(Delivery.payload, Text))

    def mentions(value: str) -> list[Any]:
        # JSON keeps non-ASCII letters escaped (\u00e9): look for both spellings
        spellings = {value, json.dumps(value)[1:-1].lower()}
        return [text.contains(s, autoescape=True) for s in spellings]

    own: list[Any] = [Delivery.key.in_(keys)] if keys else []
    for badge in badge_ids:
        own += mentions(badge)
    if email:
        own += [func.lower(Delivery.target) == email, *mentions(email)]
    named = mentions(name) if len(name) > 2 else []
    if not own and not named:
        return
    rows = session.execute(
        select(Delivery.id, Delivery.key, Delivery.target, Delivery.status, Delivery.payload)
        .where(or_(*own, *named))
        .with_for_update()
    ).all()
    for row in rows:
        blob = json.dumps(row.payload, ensure_ascii=False).lower()
        if (
            row.key in keys
            or (email and (row.target.lower() == email or email in blob))
            or any(b.lower() in blob for b in badge_ids)
        ):
            if row.status == "sent":
                target = ERASED_ADDRESS if "@" in row.target else row.target
                session.execute(
                    update(Delivery)
                    .where(Delivery.id == row.id)
                    .values(payload={}, target=target, last_error=None)
                )
            else:
                session.execute(delete(Delivery).where(Delivery.id == row.id))
            continue
        scrubbed = _without(row.payload, person.display_name, ERASED)
        if scrubbed != row.payload:
            session.execute(update(Delivery).where(Delivery.id == row.id).values(payload=scrubbed))


def _without(value: Any, name: str, replacement: str) -> Any:
    """`value` (JSON) with every mention of `name` replaced, whatever its case."""
    if isinstance(value, str):
        return re.sub(re.escape(name), replacement, value, flags=re.IGNORECASE)
    if isinstance(value, dict):
        return {k: _without(v, name, replacement) for k, v in value.items()}
    if isinstance(value, list):
        return [_without(v, name, replacement) for v in value]
    return value


# --- supporters -----------------------------------------------------------------------------


def queue_supporter_email(
    db: Session,
    person: Person,
    badge: BadgeClass,
    page_url: str,
    *,
    again: bool,
    now: datetime,
) -> None:
    """A support badge's holder hears of it at their address, with the badge's page and a
    single-use link to export or erase their data: the badge page is shown to whoever asks only
    the first time; asking again with the same address sends it there instead. At most one such
    e-mail a day per person (the key), so the form cannot be used to flood an address."""
    from engine.services.accounts import LINK_DAYS

    if not person.email:
        return
    outbox.queue_link_email(
        db,
        key=f"soutien:{person.id}:{now.date().isoformat()}",
        to=person.email,
        template="soutien",
        person_id=person.id,  # type: ignore[arg-type]
        created_by=None,
        now=now,
        network=badge.network,
        given_name=outbox.name_of(person.id, "given"),  # type: ignore[arg-type]
        badge=badge.name,
        page=page_url,
        again=again,
        days=LINK_DAYS,
    )


# --- retention -----------------------------------------------------------------------------


def retention_days(variable: tuple[str, int]) -> int:
    """Days a kind of data is kept, from its environment variable (or the default)."""
    name, default = variable
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise InvalidInput(f"{name} : un nombre de jours (1 ou plus) est attendu, pas « {raw} »")
    return int(raw)


@dataclass(frozen=True)
class PurgeReport:
    deliveries: int
    """Outbox rows whose payload (and e-mail address) went."""
    audit_events: int
    """Audit rows whose note and free-text details went."""
    deliveries_before: datetime
    audit_before: datetime


# Only rows with something left to minimise: a note, or details holding a key of free text.
_AUDIT_TEXT = or_(
    AuditEvent.note.is_not(None),
    *[
        cast(AuditEvent.details, Text).contains(f'"{key}"', autoescape=True)
        for key in (*sorted(_FREE_TEXT), "text")
    ],
)


def purge(rt: Runtime, *, by: Actor, now: datetime | None = None, batch: int = 1000) -> PurgeReport:
    """Apply the retention periods: delivered or abandoned outbox rows lose their payload, old
    audit rows their note and free text (see the module's docstring). Each batch is its own
    transaction, so a purge of years of history never holds a long lock."""
    now = now or utcnow()
    with rt.reading() as conn:
        access.ensure(conn, by, Action.PRIVACY_PURGE, Target())
    deliveries_before = now - timedelta(days=retention_days(DELIVERIES_DAYS))
    audit_before = now - timedelta(days=retention_days(AUDIT_DAYS))
    with rt.transaction() as conn:
        deliveries = outbox.purge(conn, deliveries_before)
    audit, last = 0, 0
    while True:
        with rt.transaction() as conn:
            rows = conn.execute(
                select(AuditEvent.id, AuditEvent.note, AuditEvent.details)
                .where(AuditEvent.id > last, AuditEvent.at < audit_before, _AUDIT_TEXT)
                .order_by(AuditEvent.id)
                .limit(batch)
            ).all()
            if not rows:
                break
            audit += _minimise_audit(conn, rows)
            last = rows[-1].id
    return PurgeReport(deliveries, audit, deliveries_before, audit_before)


# --- access logs -----------------------------------------------------------------------------

_SECRET_PATHS = re.compile(r"/(lien|recommandations)/[^/?#\s\"]+")


class HideLinkTokens(logging.Filter):
    """uvicorn's access log prints each request's path: a sign-in or recommendation link's
    token is written `/lien/…` instead, so log files hold no usable link."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _SECRET_PATHS.sub(r"/\1/…", a) if isinstance(a, str) else a for a in record.args
            )
        elif isinstance(record.msg, str):
            record.msg = _SECRET_PATHS.sub(r"/\1/…", record.msg)
        return True


_HIDE_LINK_TOKENS = HideLinkTokens()
# Installed when the app's routes import this module, after uvicorn set up its loggers (a
# filter on a logger survives uvicorn's logging configuration, which replaces handlers only).
logging.getLogger("uvicorn.access").addFilter(_HIDE_LINK_TOKENS)


def _exit(enrollment: Enrollment) -> dict[str, Any] | None:
    """How the person left a parcours, as their export says it (None: not recorded)."""
    if enrollment.exit_outcome is None:
        return None
    known = exits.OUTCOMES.get(enrollment.exit_outcome)
    return {
        "code": enrollment.exit_outcome,
        "libelle": known.label if known else enrollment.exit_outcome,
        "categorie": known.category.label if known else None,
        "date": enrollment.exit_on.isoformat() if enrollment.exit_on else None,
        "employeur": enrollment.exit_employer,
    }
