"""Evidence rows and their files, shared by enrollments (a stage's proofs) and badge requests;
the evidence kinds a pathway expects, with the titles people read."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select
from sqlmodel import Session

from engine.errors import InvalidInput, NotFound
from engine.pathways.model import Pathway
from engine.statuses import LEARNING_CONTEXTS
from engine.store.tables import AuditEvent, Evidence, EvidenceFile, Person, as_utc

if TYPE_CHECKING:
    from engine.services.access import Actor
    from engine.services.runtime import Runtime
    from engine.uploads import Upload

CONTEXTS = LEARNING_CONTEXTS
"""Learning contexts an evidence may record (one list: `engine.statuses.LEARNING_CONTEXTS`)."""

_ACRONYMS = frozenset({"pmsmp", "afest", "adie", "bge", "geiq", "cip", "siae", "iae", "cv"})
_ABBREVIATIONS = {"rdv": "rendez-vous"}


def kind_title(kind: str) -> str:
    """A readable title for an evidence kind: pathways name kinds by slug (`bilan-immersion`)
    and give no title, so the slug is spelled out (« Bilan immersion », « Convention PMSMP »)."""
    words = kind.replace("_", "-").split("-")
    spelled = [
        w.upper() if w.lower() in _ACRONYMS else _ABBREVIATIONS.get(w.lower(), w)
        for w in words
        if w
    ]
    text = " ".join(spelled)
    return text[:1].upper() + text[1:] if text else kind


def context_title(context: str | None) -> str | None:
    return CONTEXTS.get(context, context) if context else None


def expected_kinds(pathway: Pathway) -> dict[str, str]:
    """Kind -> title of every evidence the pathway's gates name, in the order they come."""
    kinds: dict[str, str] = {}
    for transition in pathway.transitions:
        for kind in transition.gate.evidence:
            kinds.setdefault(kind, kind_title(kind))
    return kinds


def free_kinds_allowed(pathway: Pathway) -> bool:
    """Other kinds than the gates name are accepted when the pathway names none, or when a
    plugin check reads evidence the YAML does not list (the EiTi's `rdv-adie` / `rdv-bge`)."""
    return not expected_kinds(pathway) or any(t.gate.checks for t in pathway.transitions)


def _folded(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "-".join(plain.lower().replace("_", " ").replace("-", " ").split())


def check_kind(pathway: Pathway, kind: str) -> str:
    """The kind as stored, or InvalidInput in French listing the kinds the pathway expects.
    A kind spelled like an expected one (« bilan immersion ») is refused with that one named:
    stored as typed, it would never satisfy the gate."""
    kind = kind.strip()
    if not kind:
        raise InvalidInput("le type de pièce justificative est obligatoire")
    expected = expected_kinds(pathway)
    if not expected or kind in expected:
        return kind
    listed = ", ".join(f"« {title} » ({slug})" for slug, title in expected.items())
    near = [slug for slug in expected if _folded(slug) == _folded(kind)]
    if near:
        raise InvalidInput(
            f"type de pièce « {kind} » inconnu : vouliez-vous dire « {near[0]} » "
            f"({expected[near[0]]}) ? Types attendus par ce parcours : {listed}"
        )
    if free_kinds_allowed(pathway):
        return kind
    raise InvalidInput(
        f"type de pièce « {kind} » inconnu pour le parcours « {pathway.title} » : "
        f"types attendus : {listed}"
    )


@dataclass(frozen=True)
class Piece:
    """One evidence as people read it: its kind's title, context, text, who added it, file."""

    id: int
    kind: str
    title: str
    stage: str | None
    context: str | None
    narrative: str | None
    url: str | None
    added_at: datetime
    added_by: str
    file_id: str | None
    filename: str | None
    enrollment_id: int | None = None
    request_id: int | None = None


def pieces(
    session: Session,
    *,
    enrollment_ids: list[int] | None = None,
    request_ids: list[int] | None = None,
) -> list[Piece]:
    """Evidence of these enrollments or requests, oldest first, in one query."""
    clauses = []
    if enrollment_ids:
        clauses.append(Evidence.enrollment_id.in_(enrollment_ids))
    if request_ids:
        clauses.append(Evidence.request_id.in_(request_ids))
    if not clauses:
        return []
    rows = session.execute(
        select(
            Evidence,
            Person.given_name,
            Person.family_name,
            EvidenceFile.id,
            EvidenceFile.filename,
        )
        .outerjoin(Person, Person.id == Evidence.added_by)
        .outerjoin(EvidenceFile, EvidenceFile.evidence_id == Evidence.id)
        .where(or_(*clauses))
        .order_by(Evidence.added_at, Evidence.id)
    ).all()
    return [
        Piece(
            id=ev.id,
            kind=ev.kind,
            title=kind_title(ev.kind),
            stage=ev.stage,
            context=ev.context,
            narrative=ev.narrative,
            url=ev.url,
            added_at=as_utc(ev.added_at),
            # no person: the system added it (a partner platform's event, the operator)
            added_by=f"{given or ''} {family or ''}".strip()
            or ("?" if ev.added_by is not None else "système"),
            file_id=file_id,
            filename=filename,
            enrollment_id=ev.enrollment_id,
            request_id=ev.request_id,
        )
        for ev, given, family, file_id, filename in rows
    ]


def attach(
    session: Session,
    *,
    kind: str,
    added_by: int | None,
    now: datetime,
    enrollment_id: int | None = None,
    stage: str | None = None,
    request_id: int | None = None,
    narrative: str | None = None,
    url: str | None = None,
    context: str | None = None,
    file: Upload | None = None,
) -> Evidence:
    """Add one evidence (and its already-checked file) to the session, flushed for its id."""
    if not kind.strip():
        raise InvalidInput("le type de pièce justificative est obligatoire")
    if context:
        known = {key.lower(): key for key in CONTEXTS}
        if context.lower() not in known:
            raise InvalidInput(
                f"contexte d'apprentissage « {context} » inconnu (attendu : {', '.join(CONTEXTS)})"
            )
        context = known[context.lower()]
    evidence = Evidence(
        enrollment_id=enrollment_id,
        request_id=request_id,
        stage=stage,
        kind=kind,
        narrative=narrative,
        url=url,
        context=context,
        added_by=added_by,
        added_at=now,
    )
    session.add(evidence)
    session.flush()
    if file is not None:
        session.add(
            EvidenceFile(
                evidence_id=evidence.id,
                filename=file.filename,
                media_type=file.media_type,
                content=file.content,
            )
        )
    return evidence


def add_to_stage(
    session: Session,
    pathway: Pathway,
    enrollment: Any,
    kind: str,
    *,
    by: Actor,
    now: datetime,
    narrative: str | None = None,
    url: str | None = None,
    context: str | None = None,
    file: Upload | None = None,
    source: str | None = None,
) -> Evidence:
    """Attach a proof to the enrollment's current stage with its audit event, in the caller's
    transaction; the caller has checked `Action.EVIDENCE_ADD` on the enrollment (its row:
    id, stage). `source` names the partner platform it came from (`engine.services.inbound`)."""
    # a kind no gate names would never unlock a step: refused, the expected ones listed
    kind = check_kind(pathway, kind)
    evidence = attach(
        session,
        kind=kind,
        added_by=by.person_id,
        now=now,
        enrollment_id=enrollment.id,
        stage=enrollment.stage,
        narrative=narrative,
        url=url,
        context=context,
        file=file,
    )
    details: dict[str, Any] = {
        "evidence": evidence.id,
        "kind": kind,
        "context": context,
        "with_file": file is not None,
    }
    if source:
        details["source"] = source
    session.add(
        AuditEvent(
            enrollment_id=enrollment.id,
            at=now,
            actor_id=by.person_id,
            kind="evidence",
            from_stage=enrollment.stage,
            # the narrative, URL and file name stay in the evidence row, where erasure reaches
            # them: the audit row keeps what happened, not what was written
            details=details,
        )
    )
    return evidence


def open_file(rt: Runtime, file_id: str, who: Actor) -> Upload:
    """An evidence file, for whoever may see the enrollment or the request it proves."""
    from engine.services import access
    from engine.uploads import Upload  # Pillow: not for a read that opens no file

    with rt.unit_of_work() as session:
        row = session.execute(
            select(EvidenceFile, Evidence.enrollment_id, Evidence.request_id)
            .join(Evidence, Evidence.id == EvidenceFile.evidence_id)
            .where(EvidenceFile.id == file_id)
        ).first()
        if row is None:
            raise NotFound("pièce introuvable")
        file, enrollment_id, request_id = row
    with rt.reading() as conn:
        if request_id is not None:
            target = access.request_target(conn, request_id)
            access.ensure(conn, who, access.Action.REQUEST_READ, target)
        else:
            target = access.enrollment_target(conn, enrollment_id)
            access.ensure(conn, who, access.Action.ENROLLMENT_READ, target)
    return Upload(file.filename, file.media_type, file.content)
