"""Pages: import participants, group award after a collective action (issue 20).

`/participants/import`: choose a file, try it (every problem listed by line and column, and
what the import would do), then confirm: the file tried travels back in the confirmation form,
compressed and sealed with the session's CSRF secret, so what is imported is what was shown
(and the service checks it all again). `/action-collective`: one badge, one shared evidence,
participants ticked. No script needed; the services decide who may."""

from __future__ import annotations

import base64
import hashlib
import hmac
import zlib
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from engine import uploads
from engine.api import flash
from engine.api.pages import Csrf, ShortForm, Text, _page, _rt, _staff_form, _who
from engine.api.params import MAX_ID, BadgeId, Title, Url, line, performs
from engine.errors import Forbidden, InvalidInput, ParcoursError
from engine.services import group_award, participant_import
from engine.services.access import Action, Actor
from engine.statuses import LEARNING_CONTEXTS

router = APIRouter(include_in_schema=False)
OneFile = Annotated[UploadFile | None, File()]
CARRIED = 900_000
"""The largest tried file (compressed, in base64) the confirmation form carries: a form field
is at most 1 MB. A larger one is chosen again to be imported."""


# --- import ---------------------------------------------------------------------------------


def _seal(who: Actor, name: str, carried: str) -> str:
    key = (who.csrf or "").encode()
    return hmac.new(key, f"{name}\n{carried}".encode(), hashlib.sha256).hexdigest()


def _carry(content: bytes) -> str | None:
    carried = base64.b64encode(zlib.compress(content, 6)).decode()
    return carried if len(carried) <= CARRIED else None


def _carried(who: Actor, name: str, carried: str, seal: str) -> bytes:
    if not hmac.compare_digest(seal, _seal(who, name, carried)):
        raise InvalidInput("fichier : l'essai a expiré, choisissez le fichier à nouveau")
    try:
        return zlib.decompress(base64.b64decode(carried), bufsize=uploads.MAX_BYTES + 1)
    except (ValueError, zlib.error):
        raise InvalidInput("fichier : choisissez le fichier à nouveau") from None


def _import_page(
    request: Request,
    who: Actor,
    status: int = 200,
    *,
    structure: str = "",
    report: participant_import.ImportReport | None = None,
    error: str | None = None,
    carried: str | None = None,
) -> HTMLResponse:
    structures = participant_import.structures_for(_rt(request), by=who)
    seal = _seal(who, report.filename, carried) if report and carried else None
    page = _page(
        request,
        "participants_import.html",
        who,
        status,
        structures=structures,
        structure=structure or structures[0][0],
        columns=participant_import.COLUMNS,
        report=report,
        error=error,
        carried=carried,
        seal=seal,
        done=flash.message(request) if status == 200 and report is None else None,
    )
    return flash.shown(request, page)


@router.get(
    "/participants/import",
    response_class=HTMLResponse,
    openapi_extra=performs(Action.PARTICIPANT_CREATE),
)
def import_form(request: Request) -> HTMLResponse:
    return _import_page(request, _who(request, "staff"))


@router.get("/participants/import/modele.csv", openapi_extra=performs(Action.PARTICIPANT_CREATE))
def import_template(request: Request) -> Response:
    """An empty file with the expected columns, to open in a spreadsheet."""
    participant_import.structures_for(_rt(request), by=_who(request, "staff"))
    return Response(
        "\ufeff" + participant_import.template_csv(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="participants.csv"'},
    )


@router.post(
    "/participants/import",
    response_class=HTMLResponse,
    openapi_extra=performs(Action.PARTICIPANT_CREATE),
)
async def import_file(
    request: Request,
    csrf: Csrf = "",
    structure: ShortForm = "",
    action: Annotated[line(20), Form()] = "essai",
    fichier: OneFile = None,
    nom_fichier: Annotated[line(200), Form()] = "",
    contenu: Annotated[str, Form(max_length=CARRIED)] = "",
    sceau: Annotated[line(64), Form()] = "",
) -> Response:
    who = _staff_form(request, csrf)
    rt = _rt(request)
    try:
        if fichier is not None and fichier.filename:
            name = fichier.filename[-200:]
            content = await fichier.read(uploads.MAX_BYTES + 1)
        elif contenu:
            name, content = nom_fichier or "fichier", _carried(who, nom_fichier, contenu, sceau)
        else:
            raise InvalidInput("fichier : choisissez un fichier CSV ou XLSX")
        dry_run = action != "importer"
        report = await run_in_threadpool(
            participant_import.import_participants,
            rt,
            name,
            content,
            structure=structure,
            by=who,
            dry_run=dry_run,
        )
    except Forbidden:
        raise
    except participant_import.ImportInvalid as exc:
        report = participant_import.ImportReport(name, structure, True, problems=exc.problems)
        return _import_page(request, who, 422, structure=structure, report=report)
    except ParcoursError as exc:
        return _import_page(request, who, 422, structure=structure, error=str(exc))
    if dry_run:
        status = 422 if report.problems else 200
        return _import_page(
            request,
            who,
            status,
            structure=structure,
            report=report,
            carried=None if report.problems else _carry(content),
        )
    message = (
        f"Import de « {report.filename} » terminé : {report.created} participant(s) créé(s), "
        f"{report.present} déjà présent(s), {report.enrolled} inscription(s) sur un parcours."
    )
    return flash.redirect(request, "/participants/import", message)


# --- group award ------------------------------------------------------------------------------


def _group_page(
    request: Request,
    who: Actor,
    status: int = 200,
    *,
    structure: str | None = None,
    pathway: str | None = None,
    name: str = "",
    error: str | None = None,
    values: dict[str, Any] | None = None,
) -> HTMLResponse:
    offered = group_award.choices(
        _rt(request), by=who, structure=structure, pathway=pathway, name=name
    )
    page = _page(
        request,
        "group_award.html",
        who,
        status,
        c=offered,
        pathway=pathway or "",
        searched=name,
        typed_structure=structure or "",
        contexts=LEARNING_CONTEXTS,
        error=error,
        values=values or {},
        ticked=set((values or {}).get("participants", [])),
        today=date.today().isoformat(),
        done=flash.message(request) if status == 200 else None,
        limit=group_award.MAX_GROUP,
    )
    return flash.shown(request, page)


@router.get(
    "/action-collective", response_class=HTMLResponse, openapi_extra=performs(Action.BADGE_AWARD)
)
def group_form(
    request: Request,
    structure: Annotated[line(80) | None, Query()] = None,
    parcours: Annotated[line(80) | None, Query()] = None,
    nom: Annotated[line(100), Query()] = "",
) -> HTMLResponse:
    """`structure`: a slug, or past a list's length a name; `nom`: part of participants'
    names, to find them in a structure of more than the form lists."""
    return _group_page(
        request, _who(request, "staff"), structure=structure, pathway=parcours, name=nom
    )


@router.post(
    "/action-collective", response_class=HTMLResponse, openapi_extra=performs(Action.BADGE_AWARD)
)
async def group_award_form(
    request: Request,
    csrf: Csrf = "",
    structure: ShortForm = "",
    parcours: ShortForm = "",
    nom: Annotated[line(100), Form()] = "",
    badge: Annotated[BadgeId, Form()] = "",
    titre: Annotated[Title, Form()] = "",
    le: Annotated[line(10), Form()] = "",
    recit: Text = "",
    adresse: Annotated[Url, Form()] = "",
    contexte: Annotated[line(40), Form()] = "",
    participants: Annotated[list[Annotated[int, Field(ge=1, le=MAX_ID)]], Form()] = [],  # noqa: B006
    piece: OneFile = None,
) -> Response:
    who = _staff_form(request, csrf)
    values = {
        "badge": badge,
        "titre": titre,
        "le": le,
        "recit": recit,
        "adresse": adresse,
        "contexte": contexte,
        "participants": participants,
    }
    try:
        try:
            on = date.fromisoformat(le)
        except ValueError:
            raise InvalidInput("date de l'action : une date est attendue (JJ/MM/AAAA)") from None
        upload = await uploads.from_form(piece, "pièce commune")
        evidence = group_award.SharedEvidence(
            titre, on, recit, url=adresse or None, context=contexte or None, file=upload
        )
        done = await run_in_threadpool(
            group_award.award_group,
            _rt(request),
            badge,
            structure,
            participants,
            evidence,
            by=who,
            pathway=parcours or None,
        )
    except Forbidden:
        raise
    except ParcoursError as exc:
        return _group_page(
            request,
            who,
            422,
            structure=structure,
            pathway=parcours or None,
            name=nom,
            error=str(exc),
            values=values,
        )
    message = f"Badge « {done.badge_name} » délivré à {len(done.awarded)} participant(s)."
    if done.skipped:
        left = " ; ".join(f"{name} ({why})" for _, name, why in done.skipped)
        message += f" Laissé(s) de côté : {left}."
    query = f"?structure={structure}" + (f"&parcours={parcours}" if parcours else "")
    return flash.redirect(request, "/action-collective" + query, message)
