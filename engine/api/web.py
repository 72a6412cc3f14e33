"""The French web app, server-rendered: staff sign in with a password; the page modules
(board, enrollment, participant, team) share `engine.api.pages`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from engine.api import auth
from engine.api.pages import Csrf, _go, _home_of, _page, _rt, _who
from engine.api.params import (
    Email,
    performs,
)
from engine.errors import ParcoursError
from engine.services import (
    accounts,
)
from engine.services.access import Action

router = APIRouter(include_in_schema=False)


@router.get("/", openapi_extra=performs(Action.PUBLIC_READ))
def home(request: Request) -> Response:
    who = auth.current(request)
    if who is None:
        return _go("/connexion")
    return _go(_home_of(who))


@router.get("/connexion", response_class=HTMLResponse, openapi_extra=performs(Action.PUBLIC_READ))
def login_form(request: Request) -> HTMLResponse:
    return _page(request, "login.html", None, error=None, email="")


@router.post("/connexion", response_class=HTMLResponse, openapi_extra=performs(Action.PUBLIC_READ))
def login(
    request: Request,
    email: Annotated[Email, Form()] = "",
    password: Annotated[str, Form(max_length=accounts.MAX_PASSWORD)] = "",
) -> Response:
    auth.check_same_origin(request)
    address = auth.client_address(request)
    try:
        token = accounts.login(_rt(request), email, password, address=address)
    except accounts.TooManyAttempts as exc:
        refused = _page(request, "login.html", None, 429, error=str(exc), email=email)
        refused.headers["Retry-After"] = str(exc.retry_after)
        return refused
    except ParcoursError as exc:
        return _page(request, "login.html", None, 401, error=str(exc), email=email)
    response = _go("/tableau-de-bord")
    auth.set_session_cookie(request, response, token)
    return response


@router.post("/deconnexion", openapi_extra=performs(Action.PUBLIC_READ))
def logout(request: Request, csrf: Csrf = "") -> Response:
    who = _who(request)
    auth.check_form_csrf(who, csrf)
    accounts.logout(_rt(request), request.cookies.get(auth.COOKIE, ""))
    response = _go("/connexion")
    response.delete_cookie(auth.COOKIE, path="/")
    return response
