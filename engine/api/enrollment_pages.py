"""One enrollment, as staff work on it: advance, award, evidence, the participant's link;
the pathway's diagram; erasing a participant's data."""

from __future__ import annotations

import inspect
from typing import Annotated, Any

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from engine import uploads
from engine.api import auth
from engine.api.pages import Csrf, ShortForm, Text, _go, _page, _rt, _staff_form, _who
from engine.api.params import (
    RowId,
    SlugPath,
    performs,
)
from engine.errors import ParcoursError
from engine.pathways import diagram
from engine.services import (
    access,
    accounts,
    badges,
    privacy,
)
from engine.services import enrollment_views as ev
from engine.services import enrollments as e
from engine.services.access import Action, Actor
from engine.services.pathways import latest_version

router = APIRouter(include_in_schema=False)


def _participant_of(rt, eid: int) -> int:
    with rt.reading() as conn:
        return access.enrollment_target(conn, eid).participant_id  # NotFound, not a 500


def _enrollment_page(request: Request, who: Actor, eid: int, **extra: Any) -> HTMLResponse:
    rt = _rt(request)
    st = ev.status(rt, eid, by=who)
    network = latest_version(rt, st.pathway_id).network
    with rt.unit_of_work() as s:
        catalogue = sorted(
            (entry.name, slug)
            for slug, entry in rt.catalogue(s).items()
            if entry.network == network
        )
    extra.setdefault("error", None)
    extra.setdefault("link", None)
    return _page(
        request,
        "enrollment.html",
        who,
        st=st,
        history=ev.history(rt, eid, by=who),
        badges=badges.badges_of(rt, eid, by=who),
        participant_id=_participant_of(rt, eid),
        catalogue=catalogue,
        **extra,
    )


async def _act(request: Request, who: Actor, eid: int, action) -> Response:
    """Run a staff action on an enrollment: back to its page, or the page with the error."""
    try:
        result = action()
        if inspect.isawaitable(result):
            await result
    except ParcoursError as exc:
        return _enrollment_page(request, who, eid, error=str(exc))
    return _go(f"/parcours/{eid}")


@router.get(
    "/parcours/{eid}", response_class=HTMLResponse, openapi_extra=performs(Action.ENROLLMENT_READ)
)
def enrollment(request: Request, eid: RowId) -> HTMLResponse:
    return _enrollment_page(request, _who(request, "staff"), eid)


@router.post(
    "/parcours/{eid}/avancer", response_class=HTMLResponse, openapi_extra=performs(Action.ADVANCE)
)
async def advance(
    request: Request,
    eid: RowId,
    csrf: Csrf = "",
    trigger: ShortForm = "",
    note: Text = "",
) -> Response:
    who = _staff_form(request, csrf)
    return await _act(
        request,
        who,
        eid,
        lambda: e.advance(_rt(request), eid, trigger, by=who, note=note or None),
    )


@router.post(
    "/parcours/{eid}/badges",
    response_class=HTMLResponse,
    openapi_extra=performs(Action.BADGE_AWARD),
)
async def award(
    request: Request,
    eid: RowId,
    csrf: Csrf = "",
    badge: ShortForm = "",
    narrative: Text = "",
) -> Response:
    who = _staff_form(request, csrf)
    return await _act(
        request,
        who,
        eid,
        lambda: e.award(_rt(request), eid, badge, by=who, narrative=narrative or None),
    )


@router.post(
    "/parcours/{eid}/pieces",
    response_class=HTMLResponse,
    openapi_extra=performs(Action.EVIDENCE_ADD),
)
async def add_evidence(
    request: Request,
    eid: RowId,
    csrf: Csrf = "",
    kind: ShortForm = "",
    narrative: Text = "",
    context: ShortForm = "",
    fichier: Annotated[UploadFile | None, File()] = None,
) -> Response:
    who = _staff_form(request, csrf)

    async def attach() -> None:
        e.add_evidence(
            _rt(request),
            eid,
            kind,
            by=who,
            narrative=narrative or None,
            context=context or None,
            file=await uploads.from_form(fichier),
        )

    return await _act(request, who, eid, attach)


@router.post(
    "/parcours/{eid}/lien",
    response_class=HTMLResponse,
    openapi_extra=performs(Action.PARTICIPANT_LINK),
)
def participant_link(request: Request, eid: RowId, csrf: Csrf = "") -> Response:
    who = _staff_form(request, csrf)
    rt = _rt(request)
    token = accounts.magic_link(rt, _participant_of(rt, eid), by=who, send=True)
    link = f"{request.app.state.urls.base}/lien/{token}"
    return _enrollment_page(request, who, eid, link=link)


@router.get(
    "/parcours-types/{pathway_id}",
    response_class=HTMLResponse,
    openapi_extra=performs(Action.PATHWAY_READ),
)
def pathway_page(request: Request, pathway_id: SlugPath) -> HTMLResponse:
    who = _who(request, "staff")
    rt = _rt(request)
    pv = latest_version(rt, pathway_id)
    with rt.unit_of_work() as s:
        model = rt.pathway(s, pv.id)
    return _page(request, "pathway.html", who, p=model, svg=diagram.svg(model))


@router.post(
    "/donnees/{participant_id}/effacer",
    response_class=HTMLResponse,
    openapi_extra=performs(Action.PERSONAL_DATA_ERASE),
)
def erase(request: Request, participant_id: RowId, csrf: Csrf = "") -> Response:
    who = _who(request)
    auth.check_form_csrf(who, csrf)
    privacy.erase(_rt(request), participant_id, by=who)
    if who.is_participant or who.is_supporter:
        response = _go("/connexion")
        response.delete_cookie(auth.COOKIE, path="/")
        return response
    return _page(
        request,
        "message.html",
        who,
        title="Données effacées",
        text="Les données personnelles ont été effacées et les badges révoqués.",
        link="/tableau-de-bord",
    )
