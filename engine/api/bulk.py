"""API: participants imported from a file, group awards (issue 20). The services decide who
may; these routes read the request and translate the answer."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.encoders import jsonable_encoder
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from engine import uploads
from engine.api import auth
from engine.api.params import MAX_ID, Note, Slug, SlugPath, Title, Url, line, performs
from engine.errors import InvalidInput
from engine.services import group_award, participant_import
from engine.services.access import Action, Actor

router = APIRouter(prefix="/api/v1", tags=["Travail groupé"])
Staff = Annotated[Actor, Depends(auth.staff)]


async def read_upload(file: UploadFile | None) -> tuple[str, bytes]:
    """(file name, bytes) of an uploaded table, one byte past the upload limit at most: the
    service refuses a larger one without more being read."""
    if file is None or not file.filename:
        raise InvalidInput("fichier : aucun fichier choisi (CSV ou XLSX)")
    return file.filename[-200:], await file.read(uploads.MAX_BYTES + 1)


def report_json(report: participant_import.ImportReport) -> dict[str, Any]:
    return {
        "file": report.filename,
        "structure": report.structure,
        "dry_run": report.dry_run,
        "created": report.created,
        "present": report.present,
        "enrolled": report.enrolled,
        "lines": [asdict(o) for o in report.lines],
        "problems": [
            {"line": p.line, "column": p.field, "message": p.message} for p in report.problems
        ],
        "notes": report.notes,
    }


@router.post(
    "/structures/{structure}/participants/import",
    summary="Importer des participants d'un fichier CSV ou XLSX",
    openapi_extra=performs(Action.PARTICIPANT_CREATE),
)
async def import_participants(
    structure: SlugPath,
    request: Request,
    who: Staff,
    file: Annotated[UploadFile | None, File(description="Fichier CSV (; ou ,) ou XLSX")] = None,
    essai: Annotated[
        bool, Query(description="Essai : vérifier et dire ce qui serait fait, sans rien écrire")
    ] = False,
) -> dict[str, Any]:
    """Colonnes (première ligne) : `prenom`, `nom` (obligatoires), `email`, `telephone`,
    `annee_naissance`, `pass_iae`, `parcours`. Avec `essai=true`, la réponse liste chaque
    problème (ligne, colonne, message) et ce que l'import ferait, sans rien écrire ; sinon
    un fichier qui a le moindre problème n'écrit rien (422, `problems` ligne par ligne)."""
    name, content = await read_upload(file)
    report = await run_in_threadpool(
        participant_import.import_participants,
        request.app.state.rt,
        name,
        content,
        structure=structure,
        by=who,
        dry_run=essai,
    )
    return report_json(report)


@router.post(
    "/structures/{structure}/group-awards",
    status_code=201,
    summary="Délivrer un badge à tout un groupe après une action collective",
    openapi_extra=performs(Action.BADGE_AWARD),
)
async def award_group(
    structure: SlugPath,
    request: Request,
    who: Staff,
    badge: Annotated[Slug, Form(min_length=1, description="Badge (réseau.nom)")],
    participants: Annotated[
        list[Annotated[int, Field(ge=1, le=MAX_ID)]],
        Form(description="N° des participants (répété)"),
    ],
    title: Annotated[Title, Form(min_length=1, description="Titre de l'action collective")],
    on: Annotated[line(10), Form(min_length=1, description="Date de l'action (AAAA-MM-JJ)")],
    narrative: Annotated[Note, Form(min_length=1, description="Ce que le groupe a fait")],
    url: Annotated[Url | None, Form()] = None,
    context: Annotated[line(40) | None, Form(description="AFEST, PMSMP…")] = None,
    pathway: Annotated[
        Slug | None, Form(description="Seulement les inscrits de ce parcours")
    ] = None,
    file: Annotated[UploadFile | None, File(description="Pièce commune (PDF, PNG, JPEG)")] = None,
) -> dict[str, Any]:
    """Chaque participant reçoit son propre badge, avec la pièce commune, et une demande de
    badge d'origine « collectif » décidée ; tout ou rien. Ceux qui détiennent déjà le badge
    (ou en ont une demande en attente) sont listés dans `skipped`."""
    try:
        day = date.fromisoformat(on)
    except ValueError:
        raise InvalidInput(f"on : « {on} » n'est pas une date (AAAA-MM-JJ)") from None
    upload = await uploads.from_form(file)
    evidence = group_award.SharedEvidence(
        title=title,
        on=day,
        narrative=narrative,
        url=url or None,
        context=context or None,
        file=upload,
    )
    done = await run_in_threadpool(
        group_award.award_group,
        request.app.state.rt,
        badge,
        structure,
        participants,
        evidence,
        by=who,
        pathway=pathway or None,
    )
    return jsonable_encoder(
        {
            "badge": done.badge,
            "awarded": [
                {"participant": p, "assertion": a, "request": r} for p, a, r in done.awarded
            ],
            "skipped": [{"participant": p, "name": n, "reason": w} for p, n, w in done.skipped],
        }
    )
