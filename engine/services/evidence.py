"""Evidence rows and their files, shared by enrollments (a stage's proofs) and badge requests."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlmodel import Session

from engine.errors import InvalidInput, NotFound
from engine.store.tables import Evidence, EvidenceFile
from engine.uploads import Upload

if TYPE_CHECKING:
    from engine.services.access import Actor
    from engine.services.runtime import Runtime

CONTEXTS = {
    "AFEST": "AFEST (action de formation en situation de travail)",
    "PMSMP": "PMSMP (période de mise en situation en milieu professionnel)",
    "mission": "mission (chantier, mise à disposition, intérim)",
    "poste": "sur le poste de travail",
    "formation": "formation",
    "benevolat": "bénévolat, vie quotidienne",
}
"""Learning contexts an evidence may record (the seeds name AFEST and PMSMP)."""


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


def open_file(rt: Runtime, file_id: str, who: Actor) -> Upload:
    """An evidence file, for whoever may see the enrollment or the request it proves."""
    from engine.services import access

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
