"""The team: a director or network admin creates accounts and gives roles (the new member
chooses their password from an e-mailed invitation), removes roles and disables accounts."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from engine.api.pages import Csrf, ShortForm, _go, _page, _rt, _staff_form, _who
from engine.api.params import Email, Name, RowId, Title, performs
from engine.errors import Forbidden, NotFound, ParcoursError
from engine.services import accounts
from engine.services.access import Action, Actor

router = APIRouter(include_in_schema=False)

DONE = {
    "invitation": "Compte créé : une invitation à choisir son mot de passe part par e-mail.",
    "role": "Rôle donné.",
}


def _team_page(
    request: Request,
    who: Actor,
    status: int = 200,
    error: str | None = None,
    values: dict[str, Any] | None = None,
) -> HTMLResponse:
    rt = _rt(request)
    return _page(
        request,
        "team.html",
        who,
        status,
        members=accounts.team(rt, by=who),
        choices=accounts.role_choices(rt, by=who),
        error=error,
        values=values or {},
        done=None if error else DONE.get(request.query_params.get("fait", "")),
    )


@router.get("/equipe", response_class=HTMLResponse, openapi_extra=performs(Action.STAFF_MANAGE))
def team_page(request: Request) -> HTMLResponse:
    """A director sees their structure's team, a network admin the teams of the network's
    structures and partners: add someone, remove a role, or disable an account when someone
    leaves."""
    who = _who(request, "staff")
    return _team_page(request, who)


@router.post(
    "/equipe/ajouter", response_class=HTMLResponse, openapi_extra=performs(Action.STAFF_GRANT)
)
def team_add(
    request: Request,
    csrf: Csrf = "",
    email: Annotated[Email, Form()] = "",
    given_name: Annotated[Name, Form()] = "",
    family_name: Annotated[Name, Form()] = "",
    role: Annotated[Title, Form()] = "",
) -> Response:
    """`role` is « role@organisation »: one choice among what the page offers."""
    who = _staff_form(request, csrf)
    name, _, organisation = role.partition("@")
    try:
        granted = accounts.grant_role(
            _rt(request),
            email,
            organisation,
            name,
            by=who,
            given_name=given_name,
            family_name=family_name,
        )
    except Forbidden:
        raise
    except ParcoursError as exc:
        values = {"email": email, "given_name": given_name, "family_name": family_name}
        return _team_page(request, who, 422, str(exc), {**values, "role": role})
    return _go("/equipe?fait=" + ("invitation" if granted.invited else "role"))


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
def team_disable(
    request: Request, person_id: RowId, csrf: Csrf = "", confirmer: ShortForm = ""
) -> Response:
    """Disables only when the confirmation page's form says so (`confirmer=oui`): the first
    press shows what will end, and no script is needed to ask."""
    who = _staff_form(request, csrf)
    if confirmer != "oui":
        members = {m.id: m for m in accounts.team(_rt(request), by=who)}
        member = members.get(person_id)
        if member is None:
            raise NotFound("membre d'équipe introuvable parmi les équipes que vous gérez")
        return _page(request, "team_confirm.html", who, member=member)
    accounts.disable(_rt(request), person_id, by=who)
    return _go("/equipe")
