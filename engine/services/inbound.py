"""Evidence that arrives by itself: signed events from a partner platform (the PMSMP's
immersion conventions and assessments) turned into evidence on the right enrollment.

A network declares the platforms it accepts in its file (`inbound:`, `engine.networks.model`);
the secret each one signs with lives in the `InboundSource` table, made by
`issue_secret` (never in the YAML). `receive` checks the signature (`engine.inbound.signature`),
reads the payload with the source's mapping (`engine.inbound.pmsmp`), finds the enrollment and
adds the evidence as the system, with its audit event and the `InboundEvent` row, in one
transaction. The sender's event id makes it idempotent: a replay answers with the first
result and writes nothing. The payload is never stored; only the sender's reference of the
thing (the convention's id) is kept, so a later event about it finds the same enrollment.
An event that matched no enrollment has had no effect: sent again (once the CIP has enrolled
the person, or corrected their e-mail) it is matched again.

How an event finds its enrollment:
- a convention: an earlier event about the same convention, else the one active enrollment,
  on a pathway of the network that expects the evidence, of a participant whose e-mail (or
  telephone) is the beneficiary's. None, or several: `unmatched`, listed for the network's
  admins (`engine.services.inbound_views`), answered 202.
- an assessment: the enrollment its convention was matched to.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from engine.errors import Forbidden, InvalidInput, NotFound, Unauthenticated
from engine.inbound import pmsmp, signature
from engine.networks.model import InboundSpec
from engine.openbadges.identity import normalise_phone
from engine.pathways.model import Pathway
from engine.services import access
from engine.services.access import Action, Actor, Target
from engine.services.evidence import add_to_stage, expected_kinds, free_kinds_allowed
from engine.services.runtime import Runtime
from engine.statuses import EnrollmentStatus
from engine.store.tables import (
    AuditEvent,
    Enrollment,
    Evidence,
    InboundEvent,
    InboundSource,
    PathwayVersion,
    Person,
    as_utc,
    utcnow,
)

MAX_BODY = 256 * 1024
"""The largest event accepted (a convention is a few kilobytes): larger is a 413."""
EVENT_ID_HEADER = "X-Parcours-Event-Id"
"""The sender's own id of the event, when it has one; else the mapping derives one from the
payload (the convention's id, status and last update)."""
CONTEXT = "PMSMP"

APPLIED, NOTED, IGNORED, UNMATCHED = "applied", "noted", "ignored", "unmatched"
STATUS_LABELS = {
    APPLIED: "pièce ajoutée au parcours",
    NOTED: "consigné dans l'historique du parcours, sans pièce",
    IGNORED: "reçu, sans effet",
    UNMATCHED: "aucun parcours trouvé",
}


class SignatureRefused(Unauthenticated):
    """The request is not signed by a secret of the network it names (401)."""

    title = "Signature refusée"


@dataclass(frozen=True)
class Outcome:
    """What became of one event; a replay gets the first one's, with `replayed` set."""

    event_id: str
    network: str
    source: str
    kind: str
    status: str
    enrollment_id: int | None
    evidence_id: int | None
    replayed: bool = False
    detail: str = ""

    @property
    def label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)


# --- secrets ----------------------------------------------------------------------------


def _declared(rt: Runtime, network: str, source: str) -> InboundSpec:
    definition = rt.network_definitions().get(network)
    if definition is None:
        raise NotFound(f"réseau « {network} » introuvable (son fichier est-il publié ?)")
    spec = definition.inbound_source(source)
    if spec is None:
        declared = ", ".join(s.source for s in definition.inbound) or "aucune"
        raise InvalidInput(
            f"source « {source} » : le fichier du réseau « {network} » ne la déclare pas dans "
            f"« inbound » (sources déclarées : {declared})"
        )
    return spec


def issue_secret(
    rt: Runtime, network: str, source: str, *, by: Actor, now: datetime | None = None
) -> str:
    """A new secret for (network, source), replacing any earlier one at once; returned once,
    to be given to the sender, and never shown again."""
    now = now or utcnow()
    with rt.unit_of_work() as session:
        access.ensure(session, by, Action.INBOUND_MANAGE, Target(network=network))
        _declared(rt, network, source)
        secret = secrets.token_urlsafe(32)
        row = session.get(InboundSource, (network, source))
        rotated = row is not None
        if row is None:
            row = InboundSource(network=network, source=source, secret=secret, created_at=now)
        row.secret, row.created_at = secret, now
        session.add(row)
        session.add(
            AuditEvent(
                at=now,
                actor_id=by.person_id,
                kind="inbound_secret",
                details={"network": network, "source": source, "rotated": rotated},
            )
        )
    return secret


# --- receiving --------------------------------------------------------------------------


def _event_key(raw: str) -> str:
    """The sender's event id as stored: long ones are hashed to fit the column."""
    return raw if len(raw) <= 200 else "sha256:" + hashlib.sha256(raw.encode()).hexdigest()


def _earlier(session: Session, network: str, source: str, event_id: str) -> InboundEvent | None:
    return session.execute(
        select(InboundEvent).where(
            InboundEvent.network == network,
            InboundEvent.source == source,
            InboundEvent.event_id == event_id,
        )
    ).scalar_one_or_none()


def _outcome(row: InboundEvent, *, replayed: bool, detail: str = "") -> Outcome:
    return Outcome(
        row.event_id,
        row.network,
        row.source,
        row.kind,
        row.status,
        row.enrollment_id,
        row.evidence_id,
        replayed,
        detail or STATUS_LABELS.get(row.status, row.status),
    )


def authenticate(rt: Runtime, source: str, body: bytes, header: str | None, now: datetime) -> str:
    """The network whose secret for `source` signed `body`, or SignatureRefused."""
    try:
        signed = signature.parse(header)
    except signature.SignatureError as exc:
        raise SignatureRefused(f"signature refusée : {exc}") from None
    with rt.reading() as conn:
        secret = conn.execute(
            select(InboundSource.secret).where(
                InboundSource.network == signed.network, InboundSource.source == source
            )
        ).scalar_one_or_none()
    if secret is None:
        raise SignatureRefused(
            f"signature refusée : le réseau « {signed.network} » n'a pas de secret pour la "
            f"source « {source} » (parcours network inbound-secret)"
        )
    try:
        signature.verify(signed, secret, body, now)
    except signature.SignatureError as exc:
        raise SignatureRefused(f"signature refusée : {exc}") from None
    return signed.network


def receive(
    rt: Runtime,
    source: str,
    body: bytes,
    header: str | None,
    *,
    event_id: str | None = None,
    now: datetime | None = None,
) -> Outcome:
    """Verify, read and apply one event; see the module's docstring."""
    now = now or utcnow()
    if len(body) > MAX_BODY:
        raise InvalidInput(f"événement trop volumineux ({MAX_BODY // 1024} Kio au plus)")
    network = authenticate(rt, source, body, header, now)
    definition = rt.network_definitions().get(network)
    spec = definition.inbound_source(source) if definition else None
    if spec is None:
        raise Forbidden(
            f"le réseau « {network} » n'accepte plus d'événements de la source « {source} » "
            "(absente de la section « inbound » de son fichier)"
        )
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError) as exc:  # not UTF-8, not JSON, nested beyond reason
        raise InvalidInput(f"corps : JSON illisible ({exc})") from None
    event = pmsmp.read(payload)  # the one mapping so far (`InboundMapping`)
    if event_id is not None and not (0 < len(event_id.strip()) <= 200):
        raise InvalidInput(f"{EVENT_ID_HEADER} : 1 à 200 caractères attendus")
    key = _event_key(event_id.strip() if event_id else event.event_id)
    try:
        with rt.unit_of_work() as session:
            earlier = _earlier(session, network, source, key)
            if earlier is not None and earlier.status != UNMATCHED:
                return _outcome(earlier, replayed=True)
            row, detail = _apply(rt, session, network, spec, event, key, now)
            if earlier is not None:
                # sent again once the participant is known (an e-mail corrected, an enrollment
                # made): an unmatched event is matched again; still unmatched, nothing written
                if row.status == UNMATCHED:
                    return _outcome(earlier, replayed=True)
                earlier.status, earlier.enrollment_id = row.status, row.enrollment_id
                earlier.evidence_id = row.evidence_id
                row = earlier
            session.add(row)
            session.flush()
            return _outcome(row, replayed=False, detail=detail)
    except IntegrityError:
        # the same event sent twice at once: the other request recorded it first
        with rt.unit_of_work() as session:
            earlier = _earlier(session, network, source, key)
            if earlier is None:
                raise
            return _outcome(earlier, replayed=True)


def _apply(
    rt: Runtime,
    session: Session,
    network: str,
    spec: InboundSpec,
    event: pmsmp.Event,
    key: str,
    now: datetime,
) -> tuple[InboundEvent, str]:
    row = InboundEvent(
        network=network,
        source=spec.source,
        event_id=key,
        external_ref=event.convention_id,
        kind="convention" if isinstance(event, pmsmp.Convention) else "assessment",
        status=UNMATCHED,
        received_at=now,
    )
    if isinstance(event, pmsmp.Convention):
        return row, _convention(rt, session, row, spec, event, now)
    return row, _assessment(rt, session, row, spec, event, now)


_ENROLLMENT = select(
    Enrollment.id,
    Enrollment.stage,
    Enrollment.status,
    Enrollment.structure_id,
    Enrollment.participant_id,
    Enrollment.pathway_version_id,
    Enrollment.stage_entered_at,
    PathwayVersion.network,
).join(PathwayVersion, PathwayVersion.id == Enrollment.pathway_version_id)


def _accepts(pathway: Pathway, kind: str) -> bool:
    return kind in expected_kinds(pathway) or free_kinds_allowed(pathway)


def _matched_before(session: Session, row: InboundEvent) -> Any:
    """The enrollment an earlier event about the same thing (convention) was matched to."""
    eid = session.execute(
        select(InboundEvent.enrollment_id)
        .where(
            InboundEvent.network == row.network,
            InboundEvent.source == row.source,
            InboundEvent.external_ref == row.external_ref,
            InboundEvent.enrollment_id.is_not(None),
        )
        .order_by(InboundEvent.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if eid is None:
        return None
    return session.execute(_ENROLLMENT.where(Enrollment.id == eid)).one_or_none()


def _by_contact(
    rt: Runtime, session: Session, network: str, event: pmsmp.Convention, kind: str
) -> list[Any]:
    """Active enrollments of the network, on a pathway that takes `kind`, of the participant
    the beneficiary's e-mail, else telephone, names."""
    base = _ENROLLMENT.join(Person, Person.id == Enrollment.participant_id).where(
        PathwayVersion.network == network, Enrollment.status == EnrollmentStatus.ACTIVE
    )
    found: list[Any] = []
    if event.email and event.email.strip():
        email = event.email.strip()
        found = list(
            session.execute(
                base.where(Person.email.in_(list(dict.fromkeys([email, email.lower()]))))
            )
        )
    if not found and event.phone:
        try:
            phone = normalise_phone(event.phone)
        except ValueError:
            phone = None
        if phone:
            found = list(session.execute(base.where(Person.phone == phone)))
    return [r for r in found if _accepts(rt.pathway(session, r.pathway_version_id), kind)]


def _add(
    rt: Runtime,
    session: Session,
    enrollment: Any,
    kind: str,
    narrative: str,
    row: InboundEvent,
    now: datetime,
) -> Evidence:
    system = Actor.system()
    access.ensure(
        session,
        system,
        Action.EVIDENCE_ADD,
        Target(structure_id=enrollment.structure_id, network=enrollment.network),
    )
    pathway = rt.pathway(session, enrollment.pathway_version_id)
    return add_to_stage(
        session,
        pathway,
        enrollment,
        kind,
        by=system,
        now=now,
        narrative=narrative,
        context=CONTEXT,
        source=row.source,
    )


def _in_stage(session: Session, enrollment: Any, evidence_id: int | None) -> bool:
    """Whether this evidence was added in the enrollment's current stage (the gate sees it)."""
    if evidence_id is None:
        return False
    ev = session.get(Evidence, evidence_id)
    return (
        ev is not None
        and ev.enrollment_id == enrollment.id
        and ev.stage == enrollment.stage
        and as_utc(ev.added_at) >= as_utc(enrollment.stage_entered_at)
    )


def _convention(
    rt: Runtime,
    session: Session,
    row: InboundEvent,
    spec: InboundSpec,
    event: pmsmp.Convention,
    now: datetime,
) -> str:
    kind = spec.evidence.convention
    if not event.validated:
        row.status = IGNORED
        return f"convention au statut {event.status} : seule une convention validée est une pièce"
    enrollment = _matched_before(session, row)
    if enrollment is None:
        candidates = _by_contact(rt, session, row.network, event, kind)
        if len(candidates) != 1:
            many = len(candidates) > 1
            return (
                f"{len(candidates)} parcours actifs correspondent au bénéficiaire : à rattacher"
                if many
                else "aucun parcours actif du réseau ne correspond au bénéficiaire"
            )
        enrollment = candidates[0]
    row.enrollment_id = enrollment.id
    if enrollment.status != EnrollmentStatus.ACTIVE:
        row.status = IGNORED
        return f"le parcours n° {enrollment.id} est terminé"
    if _already(session, row, enrollment):
        row.status = IGNORED
        return "convention déjà jointe à l'étape en cours"
    evidence = _add(rt, session, enrollment, kind, event.narrative(), row, now)
    row.status, row.evidence_id = APPLIED, evidence.id
    return STATUS_LABELS[APPLIED]


def _already(session: Session, row: InboundEvent, enrollment: Any) -> bool:
    """An earlier event already put this convention in the current stage."""
    earlier = session.execute(
        select(InboundEvent.evidence_id).where(
            InboundEvent.network == row.network,
            InboundEvent.source == row.source,
            InboundEvent.external_ref == row.external_ref,
            InboundEvent.kind == row.kind,
            InboundEvent.evidence_id.is_not(None),
        )
    ).scalars()
    return any(_in_stage(session, enrollment, eid) for eid in earlier)


def _carry_convention(
    rt: Runtime, session: Session, row: InboundEvent, spec: InboundSpec, enrollment: Any, now: Any
) -> None:
    """A convention validated before the immersion stage began was joined to the stage the
    person was in then; the stage the assessment closes needs it too: carried over, once."""
    kind = spec.evidence.convention
    pathway = rt.pathway(session, enrollment.pathway_version_id)
    wanted = any(kind in t.gate.evidence for t in pathway.transitions_from(enrollment.stage))
    if not wanted:
        return
    conventions = session.execute(
        select(InboundEvent.evidence_id)
        .where(
            InboundEvent.network == row.network,
            InboundEvent.source == row.source,
            InboundEvent.external_ref == row.external_ref,
            InboundEvent.kind == "convention",
            InboundEvent.evidence_id.is_not(None),
        )
        .order_by(InboundEvent.id)
    ).scalars()
    ids = list(conventions)
    if not ids or any(_in_stage(session, enrollment, eid) for eid in ids):
        return
    first = session.get(Evidence, ids[-1])
    _add(rt, session, enrollment, kind, first.narrative if first else "", row, now)


def _assessment(
    rt: Runtime,
    session: Session,
    row: InboundEvent,
    spec: InboundSpec,
    event: pmsmp.Assessment,
    now: datetime,
) -> str:
    enrollment = _matched_before(session, row)
    if enrollment is None:
        return "aucune convention reçue ne rattache ce bilan à un parcours"
    row.enrollment_id = enrollment.id
    if enrollment.status != EnrollmentStatus.ACTIVE:
        row.status = IGNORED
        return f"le parcours n° {enrollment.id} est terminé"
    if not event.meets_gate:
        # no immersion took place: nothing proves it, the CIP is told through the history
        session.add(
            AuditEvent(
                enrollment_id=enrollment.id,
                at=now,
                actor_id=None,
                kind="inbound_event",
                from_stage=enrollment.stage,
                note=event.narrative(),
                details={"source": row.source, "kind": row.kind, "status": event.status},
            )
        )
        row.status = NOTED
        return "bilan « absent·e à l'immersion » consigné dans l'historique, sans pièce"
    _carry_convention(rt, session, row, spec, enrollment, now)
    evidence = _add(rt, session, enrollment, spec.evidence.assessment, event.narrative(), row, now)
    row.status, row.evidence_id = APPLIED, evidence.id
    return STATUS_LABELS[APPLIED]
