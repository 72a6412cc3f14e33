"""Request authentication for the API and the pages: an API token (`Authorization: Bearer`)
or a session cookie. Cookie-authenticated writes must carry the session's CSRF token, in the
`X-CSRF-Token` header (API) or the `csrf` form field (pages)."""

from __future__ import annotations

import secrets

from fastapi import Request, Response

from engine.errors import Forbidden, Unauthenticated
from engine.services import accounts
from engine.services.access import Actor

COOKIE = "parcours_session"
SAFE = {"GET", "HEAD", "OPTIONS"}


def current(request: Request) -> Actor | None:
    rt = request.app.state.rt
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        principal = accounts.from_api_token(rt, header[7:].strip())
        if principal is None:
            raise Unauthenticated("jeton d'API inconnu ou révoqué")
        return principal
    token = request.cookies.get(COOKIE)
    return accounts.from_session(rt, token) if token else None


def required(request: Request) -> Actor:
    """The caller, or 401. Cookie-authenticated writes are checked against CSRF here for the
    API (header); pages check their form field with `check_form_csrf`."""
    principal = current(request)
    if principal is None:
        raise Unauthenticated("connectez-vous d'abord (session ou jeton d'API)")
    if principal.csrf is not None and request.method not in SAFE:
        sent = request.headers.get("x-csrf-token", "")
        if request.url.path.startswith("/api/") and not secrets.compare_digest(
            sent, principal.csrf
        ):
            raise Forbidden("jeton CSRF manquant ou invalide (en-tête X-CSRF-Token)")
    return principal


def staff(request: Request) -> Actor:
    principal = required(request)
    if principal.kind != "staff":
        raise Forbidden("réservé aux équipes des structures et aux partenaires")
    return principal


def check_form_csrf(principal: Actor, sent: str) -> None:
    if principal.csrf is None or not secrets.compare_digest(sent or "", principal.csrf):
        raise Forbidden("formulaire expiré ou envoyé d'ailleurs : rechargez la page")


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        COOKIE,
        token,
        max_age=accounts.SESSION_DAYS * 86400,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )
