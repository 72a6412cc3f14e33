"""« Mon compte » (one's own password and API tokens) and the password links: « mot de passe
oublié » and the invitation a new staff member receives. The services decide; these pages
keep what was typed when a form is refused, and answer « mot de passe oublié » the same
whether the address has an account or not."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from engine.api import auth
from engine.api.pages import Csrf, _go, _page, _rt, _staff_form, _who
from engine.api.params import Email, Name, RowId, TokenPath, performs
from engine.errors import Forbidden, ParcoursError
from engine.services import accounts
from engine.services.access import Action, Actor

router = APIRouter(include_in_schema=False)

Password = Annotated[str, Form(max_length=accounts.MAX_PASSWORD)]
NEW_TOKEN_COOKIE = "parcours_nouveau_jeton"
"""The API token just created, kept by the browser for the one page that shows it (POST,
redirect, GET): never in an address, read once, then deleted."""
_SECRET_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "strict-origin"}
DONE = {
    "jeton-revoque": "Jeton révoqué : il est refusé dès maintenant.",
}


def _account_page(
    request: Request,
    who: Actor,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    new_token: str | None = None,
) -> HTMLResponse:
    page = _page(
        request,
        "account.html",
        who,
        status,
        tokens=accounts.api_tokens(_rt(request), who.person_id, by=who),  # type: ignore[arg-type]
        errors=errors or {},
        values=values or {},
        new_token=new_token,
        done=None if errors else DONE.get(request.query_params.get("fait", "")),
    )
    page.headers.update(_SECRET_HEADERS)
    return page


@router.get(
    "/mon-compte", response_class=HTMLResponse, openapi_extra=performs(Action.ACCOUNT_MANAGE)
)
def account_page(request: Request) -> HTMLResponse:
    """The signed-in member's API tokens and password; a token just created, shown once."""
    who = _who(request, "staff")
    new_token = request.cookies.get(NEW_TOKEN_COOKIE) or None
    page = _account_page(request, who, new_token=new_token)
    if new_token:
        page.delete_cookie(NEW_TOKEN_COOKIE, path="/mon-compte")
    return page


@router.post(
    "/mon-compte/jetons", response_class=HTMLResponse, openapi_extra=performs(Action.ACCOUNT_MANAGE)
)
def token_create(request: Request, csrf: Csrf = "", name: Annotated[Name, Form()] = "") -> Response:
    who = _staff_form(request, csrf)
    try:
        token = accounts.create_api_token(_rt(request), who.person_id, name, by=who)  # type: ignore[arg-type]
    except Forbidden:
        raise
    except ParcoursError as exc:
        return _account_page(request, who, 422, {"token": str(exc)}, {"name": name})
    response = _go("/mon-compte#jetons")
    response.set_cookie(
        NEW_TOKEN_COOKIE,
        token,
        max_age=300,
        path="/mon-compte",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.post(
    "/mon-compte/jetons/{token_id}/revoquer", openapi_extra=performs(Action.ACCOUNT_MANAGE)
)
def token_revoke(request: Request, token_id: RowId, csrf: Csrf = "") -> Response:
    who = _staff_form(request, csrf)
    accounts.revoke_api_token(_rt(request), token_id, by=who)
    return _go("/mon-compte?fait=jeton-revoque#jetons")


@router.post(
    "/mon-compte/mot-de-passe",
    response_class=HTMLResponse,
    openapi_extra=performs(Action.ACCOUNT_MANAGE),
)
def password_change(
    request: Request,
    csrf: Csrf = "",
    current: Password = "",
    new: Password = "",
    confirm: Password = "",
) -> Response:
    """Every session ends, this one too: the member signs in again with the new password."""
    who = _staff_form(request, csrf)
    if new != confirm:
        errors = {"password": "nouveau mot de passe : les deux saisies diffèrent"}
        return _account_page(request, who, 422, errors)
    try:
        accounts.change_password(_rt(request), current, new, by=who)
    except Forbidden:
        raise
    except ParcoursError as exc:
        return _account_page(request, who, 422, {"password": str(exc)})
    response = _go("/mot-de-passe-enregistre")
    response.delete_cookie(auth.COOKIE, path="/")
    return response


# --- password links: « mot de passe oublié » and invitations -----------------------------


@router.get(
    "/mot-de-passe-oublie",
    response_class=HTMLResponse,
    openapi_extra=performs(Action.PUBLIC_READ),
)
def forgot_form(request: Request) -> HTMLResponse:
    sent = request.query_params.get("envoye") == "1"
    return _page(request, "password_forgot.html", None, sent=sent, error=None, email="")


@router.post(
    "/mot-de-passe-oublie",
    response_class=HTMLResponse,
    openapi_extra=performs(Action.PUBLIC_READ),
)
def forgot(request: Request, email: Annotated[Email, Form()] = "") -> Response:
    """The same answer whether the address has an account or not."""
    auth.check_same_origin(request)
    try:
        accounts.ask_password_reset(_rt(request), email, address=auth.client_address(request))
    except accounts.TooManyAttempts as exc:
        refused = _page(
            request, "password_forgot.html", None, 429, sent=False, error=str(exc), email=email
        )
        refused.headers["Retry-After"] = str(exc.retry_after)
        return refused
    return _go("/mot-de-passe-oublie?envoye=1")


def _link_page(
    request: Request,
    token: str,
    status: int = 200,
    error: str | None = None,
) -> HTMLResponse:
    try:
        link = accounts.password_link(_rt(request), token)
    except ParcoursError as exc:
        page = _page(request, "password_set.html", None, 410, link=None, gone=str(exc), token="")
    else:
        page = _page(
            request,
            "password_set.html",
            None,
            status,
            link=link,
            gone=None,
            token=token,
            error=error,
        )
    page.headers.update(_SECRET_HEADERS)
    return page


@router.get(
    "/mot-de-passe/{token}",
    response_class=HTMLResponse,
    openapi_extra=performs(Action.PUBLIC_READ),
)
def password_link_page(request: Request, token: TokenPath) -> HTMLResponse:
    """A form, never an automatic change: mail scanners that open links must not burn them."""
    return _link_page(request, token)


@router.post(
    "/mot-de-passe/{token}",
    response_class=HTMLResponse,
    openapi_extra=performs(Action.PUBLIC_READ),
)
def password_link_use(
    request: Request, token: TokenPath, password: Password = "", confirm: Password = ""
) -> Response:
    auth.check_same_origin(request)
    if password != confirm:
        return _link_page(request, token, 422, "mot de passe : les deux saisies diffèrent")
    try:
        accounts.use_password_link(
            _rt(request), token, password, address=auth.client_address(request)
        )
    except accounts.TooManyAttempts:
        raise
    except ParcoursError as exc:
        return _link_page(request, token, 422, str(exc))
    response = _go("/mot-de-passe-enregistre")
    response.headers.update(_SECRET_HEADERS)
    return response


@router.get(
    "/mot-de-passe-enregistre",
    response_class=HTMLResponse,
    openapi_extra=performs(Action.PUBLIC_READ),
)
def password_saved(request: Request) -> HTMLResponse:
    notice = (
        "Mot de passe enregistré : connectez-vous avec votre adresse e-mail et ce mot de passe."
    )
    return _page(request, "login.html", None, error=None, email="", notice=notice)
