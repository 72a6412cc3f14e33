"""What every page module shares: who is asking, the page with its menu, redirects and the
form fields' types."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import RedirectResponse

from engine.api import auth
from engine.api.params import (
    BadgeId,
    Note,
    Token,
)
from engine.api.templating import templates
from engine.errors import Forbidden, Unauthenticated
from engine.services import (
    access,
)
from engine.services.access import Action, Actor

Text = Annotated[Note, Form()]
Csrf = Annotated[Token, Form()]
ShortForm = Annotated[BadgeId, Form()]
"""An identifier in a form: a badge, a pathway, a structure, a trigger, a role."""


def _rt(request: Request):
    return request.app.state.rt


def _who(request: Request, kind: str | None = None) -> Actor:
    principal = auth.current(request)
    if principal is None:
        raise Unauthenticated("connectez-vous pour continuer")
    if kind and principal.kind != kind:
        raise Forbidden("cette page n'est pas pour votre profil")
    return principal


def _page(
    request: Request,
    name: str,
    who: Actor | None,
    status: int = 200,
    *,
    actions: frozenset[Action] | None = None,
    **ctx: Any,
):
    """Render page `name` with its menu: what `who` may do (`actions` when the route has it
    already, else `access.capabilities`)."""
    can: frozenset[str] = frozenset()
    if actions is not None:
        can = frozenset(a.value for a in actions)
    elif who is not None:
        with _rt(request).reading() as conn:
            can = frozenset(a.value for a in access.capabilities(conn, who))
    ctx.update(who=who, u=request.app.state.urls, can=can)
    return templates.TemplateResponse(request, name, ctx, status_code=status)


def _go(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _staff_form(request: Request, csrf: str) -> Actor:
    who = _who(request, "staff")
    auth.check_form_csrf(who, csrf)
    return who


def _home_of(who: Actor) -> str:
    """Where each kind of person lands: their own page, or the staff dashboard."""
    if who.is_participant:
        return "/moi"
    if who.is_supporter:
        return "/mes-donnees"
    return "/tableau-de-bord"
