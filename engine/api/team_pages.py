"""The team: a director or network admin removes roles and disables accounts."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from engine.api.pages import Csrf, ShortForm, _go, _page, _rt, _staff_form, _who
from engine.api.params import (
    RowId,
    performs,
)
from engine.services import (
    accounts,
)
from engine.services.access import Action

router = APIRouter(include_in_schema=False)


@router.get("/equipe", response_class=HTMLResponse, openapi_extra=performs(Action.STAFF_MANAGE))
def team_page(request: Request) -> HTMLResponse:
    """A director sees their structure's team, a network admin the teams of the network's
    structures and partners: remove a role, or disable an account when someone leaves."""
    who = _who(request, "staff")
    return _page(request, "team.html", who, members=accounts.team(_rt(request), by=who))


@router.post("/equipe/{person_id}/roles/retirer", openapi_extra=performs(Action.STAFF_MANAGE))
def team_remove_role(
    request: Request,
    person_id: RowId,
    csrf: Csrf = "",
    organisation: ShortForm = "",
    role: ShortForm = "",
) -> Response:
    who = _staff_form(request, csrf)
    accounts.remove_role(_rt(request), person_id, organisation, role, by=who)
    return _go("/equipe")


@router.post("/equipe/{person_id}/desactiver", openapi_extra=performs(Action.STAFF_MANAGE))
def team_disable(request: Request, person_id: RowId, csrf: Csrf = "") -> Response:
    who = _staff_form(request, csrf)
    accounts.disable(_rt(request), person_id, by=who)
    return _go("/equipe")
