"""Request authentication for the API and the pages: an API token (`Authorization: Bearer`)
or a session cookie. Cookie-authenticated writes must carry the session's CSRF token, in the
`X-CSRF-Token` header (API) or the `csrf` form field (pages)."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

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


def client_address(request: Request) -> str | None:
    """The caller's address, as counted for login attempts. Behind a reverse proxy on the same
    machine, uvicorn takes it from `X-Forwarded-For` (its default trusts 127.0.0.1; set
    `FORWARDED_ALLOW_IPS` for another proxy): otherwise every user would share the proxy's."""
    return request.client.host if request.client else None


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower() if parts.scheme and parts.netloc else ""


def check_same_origin(request: Request) -> None:
    """Login CSRF: a form that opens a session (login, a participant's link) must come from
    Parcours' own pages, or another site could sign the visitor in to an account of its
    choosing. Browsers say where a form comes from in `Sec-Fetch-Site` (recent ones), else
    `Origin`, else `Referer`; a request that says none of them (a script, a privacy setting)
    is let through, as it cannot be a browser's cross-site form. `Origin: null` (a sandboxed
    frame, a `data:` page) is another site."""
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        allowed = site in ("same-origin", "none")  # « none »: typed in, or a bookmark
    else:
        own = {origin_of(str(request.base_url)), origin_of(request.app.state.urls.base)}
        sent = request.headers.get("origin")
        if sent is None and request.headers.get("referer"):
            sent = origin_of(request.headers["referer"]) or "null"
        allowed = sent is None or sent.lower() in own
    if not allowed:
        raise Forbidden(
            "formulaire envoyé depuis un autre site : ouvrez la page de Parcours elle-même "
            "et recommencez"
        )


def set_session_cookie(
    request: Request, response: Response, token: str, days: int | None = accounts.SESSION_DAYS
) -> None:
    """`days=None`: a cookie that ends with the browser (a participant on a shared computer
    who did not tick « rester connecté »)."""
    response.set_cookie(
        COOKIE,
        token,
        max_age=days * 86400 if days is not None else None,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )
