"""The FastAPI application `parcours serve` runs: public Open Badges routes, the REST API
(/api/v1) and the French web app. Errors are RFC 9457 problem details for machines, pages for
people; every response carries the security headers a public service needs, and no request
body larger than `MAX_BODY` is read."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import anyio.to_thread
import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
)
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from engine import uploads
from engine.api import (
    auth,
    board_pages,
    enrollment_pages,
    network_pages,
    participant_pages,
    public,
    request_pages,
    requests,
    team_pages,
    v1,
    wallet,
    web,
)
from engine.api.auth import origin_of
from engine.api.params import CONTROL_CHARACTERS, performs, single_line
from engine.api.templating import templates
from engine.errors import (
    Conflict,
    DefinitionInvalid,
    Forbidden,
    GateRefused,
    InvalidInput,
    NotFound,
    ParcoursError,
    Unauthenticated,
)
from engine.services import access
from engine.services.access import Action, Actor
from engine.services.accounts import TooManyAttempts
from engine.services.badges import urls
from engine.services.runtime import Runtime
from engine.store.database import env_count, pool_size

_STATUS = {
    TooManyAttempts: 429,
    Unauthenticated: 401,
    NotFound: 404,
    Forbidden: 403,
    Conflict: 409,
    GateRefused: 422,
    InvalidInput: 422,
    DefinitionInvalid: 422,
}
PROBLEM = "application/problem+json"
STATIC = Path(__file__).parent / "static"

MAX_BODY = uploads.MAX_BYTES + 2 * 1024 * 1024
"""The largest request body the server reads: an evidence file (`uploads.MAX_BYTES`) with the
form around it. A larger one is a 413 before it is read: from `Content-Length` when the client
sends one, else as soon as the streamed bytes pass it."""


def _wants_page(request: Request) -> bool:
    """People get pages; the API, the Open Badges documents and a client that asks for JSON
    alone get problem details."""
    path = request.url.path
    if path.startswith("/api/") or path.startswith("/ob/"):
        return False
    accept = request.headers.get("accept", "")
    return "html" in accept or "json" not in accept


SERVE_THREADS = 8
"""Handlers a worker process runs at once (`parcours serve --threads`, at most the pool's
connections). anyio's default is 40: under load, threads beyond what waits on the database
only fight over the GIL; more throughput comes from more worker processes."""


def serve_threads() -> int:
    return min(env_count("PARCOURS_SERVE_THREADS", SERVE_THREADS), pool_size())


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    anyio.to_thread.current_default_thread_limiter().total_tokens = serve_threads()
    yield


def _refusal(
    request: Request,
    status: int,
    title: str,
    detail: str,
    headers: dict[str, str] | None = None,
    *,
    page: ErrorPage | None = None,
    **extra: Any,
) -> Response:
    """A French refusal: a page for people (with the menu and what they typed when the
    handler could tell, see `_error_page`), a problem detail for machines."""
    if _wants_page(request):
        page = page or ErrorPage(back=_back_link(request, None), home="/")
        context = {"title": title, "text": detail, **vars(page)}
        return templates.TemplateResponse(request, "error.html", context, status, headers=headers)
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


@dataclass
class ErrorPage:
    """What an error page shows beyond its title: the way back, the menu of whoever is signed
    in, and the fields of a refused form with what was typed in them."""

    back: str
    home: str
    back_label: str = "Revenir à la page précédente"
    fields: list[dict[str, str]] = field(default_factory=list)
    address: str = ""
    who: Actor | None = None
    can: frozenset[str] = frozenset()


_FIELD_LABELS = {
    "narrative": "Récit",
    "email": "Adresse e-mail",
    "decision": "Décision",
    "badge": "Badge",
    "structure": "Structure",
    "prenom": "Prénom",
    "nom": "Nom",
    "motif": "Motif",
    "kind": "Type de pièce",
    "context": "Contexte",
    "trigger": "Passage",
    "role": "Rôle",
    "personne": "Personne physique",
    "pathway": "Parcours",
    "organisation": "Organisation",
    "note": "Note",
    "name": "Nom",
    "entreprise": "Entreprise",
    "description": "Description",
    "criteria": "Critères",
    "commentaire": "Commentaire",
    "given_name": "Prénom",
    "family_name": "Nom",
    "page": "Page",
    "etat": "État",
}
"""The French label of a form field or query parameter, as the pages' forms name them."""
_SECRET_FIELDS = ("csrf", "password", "token", "jeton")
"""Fields never shown back on an error page."""
_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


def _back_link(request: Request, who: Actor | None) -> str:
    """Where "back" goes: the page the person came from when it is on this site (and is not
    the failing address itself), else their home."""
    referer = request.headers.get("referer", "")
    own = origin_of(str(request.base_url))
    if referer and origin_of(referer) == own:
        parts = urlsplit(referer)
        back = parts.path + (f"?{parts.query}" if parts.query else "")
        if (
            back.startswith("/")
            and not back.startswith("//")
            and (request.method != "GET" or parts.path != request.url.path)
        ):
            return back
    return _home(who)


def _home(who: Actor | None) -> str:
    if who is None:
        return "/"
    if who.is_participant:
        return "/moi"
    if who.is_supporter:
        return "/mes-donnees"
    return "/tableau-de-bord"


def _label(name: str) -> str:
    return _FIELD_LABELS.get(name, name.replace("_", " ").capitalize())


async def _error_page(request: Request, errors: list[dict[str, str]] | None = None) -> ErrorPage:
    """The error page's context: who is signed in (for the menu; nobody when the session
    cannot be read), the way back, and for a refused form every field with its typed value
    and its error, so nothing typed is lost silently."""
    who: Actor | None = None
    can: frozenset[str] = frozenset()
    try:
        who = auth.current(request)
        if who is not None:
            with request.app.state.rt.reading() as conn:
                can = frozenset(a.value for a in access.capabilities(conn, who))
    except Exception:  # an error page must not fail on the session
        who, can = None, frozenset()
    page = ErrorPage(back=_back_link(request, who), home=_home(who), who=who, can=can)
    if request.method == "POST":
        page.back_label = "Revenir au formulaire"
    else:  # what was typed in the address bar, shown back
        query = request.url.query
        page.address = request.url.path + (f"?{query}" if query else "")
    messages = {e["field"]: e["message"] for e in errors or []}
    typed: dict[str, str] = {}
    content_type = request.headers.get("content-type", "")
    if request.method == "POST" and content_type.startswith(_FORMS):
        try:
            form = await request.form()
            for name, value in form.multi_items():
                if isinstance(value, str) and not name.startswith(_SECRET_FIELDS):
                    typed[name] = value if name not in typed else f"{typed[name]}, {value}"
        except Exception:  # an unreadable body: there is nothing to give back
            typed = {}
    for name in dict.fromkeys([*typed, *messages]):
        if name.startswith(_SECRET_FIELDS) or name == "corps":
            continue
        page.fields.append(
            {"label": _label(name), "value": typed.get(name, ""), "message": messages.get(name, "")}
        )
    return page


def create_app(rt: Runtime | None = None, public_url: str | None = None) -> FastAPI:
    app = FastAPI(
        lifespan=_lifespan,
        title="Parcours — API",
        description=_API_DESCRIPTION,
        version="0.1.0",
        openapi_tags=_API_TAGS,
        docs_url=None,  # served below from local files: no CDN, so /docs works offline
        redoc_url=None,
    )
    app.state.rt = rt or Runtime()
    app.state.urls = urls(public_url)
    app.state.rt.urls = app.state.urls  # what the outbox sends points at this server

    @app.exception_handler(ParcoursError)
    async def _problem(request: Request, exc: ParcoursError) -> Response:
        status = next((code for cls, code in _STATUS.items() if isinstance(exc, cls)), 400)
        headers = None
        if isinstance(exc, TooManyAttempts):
            headers = {"Retry-After": str(exc.retry_after)}
        if status == 401 and _wants_page(request):
            return RedirectResponse("/connexion", status_code=303)
        extra: dict[str, Any] = {"unmet": exc.unmet} if isinstance(exc, GateRefused) else {}
        if isinstance(exc, DefinitionInvalid):
            extra["problems"] = [
                {"file": p.file, "line": p.line, "field": p.field, "message": p.message}
                for p in exc.problems
            ]
        page = await _error_page(request) if _wants_page(request) else None
        return _refusal(request, status, exc.title, str(exc), headers, page=page, **extra)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        errors = [
            {
                "field": ".".join(str(p) for p in err["loc"] if p != "body") or "corps",
                "message": _french(err),
            }
            for err in exc.errors()
        ]
        detail = " ; ".join(f"{e['field']} : {e['message']}" for e in errors)
        if _wants_page(request):
            return await _invalid_page(request, exc, errors)
        return _refusal(request, 422, "Donnée invalide", detail, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        """The framework's own refusals (unknown address, wrong method, unreadable body), in
        French like every other."""
        status, detail = _http_french(exc)
        headers = dict(exc.headers or {})
        if status == 422:  # a JSON body that is not UTF-8 is an invalid body like any other
            errors = [{"field": "corps", "message": detail}]
            return _refusal(request, 422, "Donnée invalide", f"corps : {detail}", errors=errors)
        title = _HTTP_TITLES.get(status, "Erreur")
        page = await _error_page(request) if _wants_page(request) else None
        if status == 404 and page is not None:
            title, detail = "Page introuvable", _NOT_FOUND_PAGE
        return _refusal(request, status, title, detail, headers or None, page=page)

    _serve_docs(app)

    @app.get("/favicon.ico", include_in_schema=False, openapi_extra=performs(Action.PUBLIC_READ))
    def _favicon() -> FileResponse:
        headers = {"Cache-Control": "public, max-age=86400"}
        return FileResponse(STATIC / "favicon.ico", media_type="image/x-icon", headers=headers)

    app.include_router(public.router)
    app.include_router(v1.router)
    app.include_router(requests.router)
    app.include_router(web.router)
    app.include_router(board_pages.router)
    app.include_router(enrollment_pages.router)
    app.include_router(participant_pages.router)
    app.include_router(team_pages.router)
    app.include_router(request_pages.router)
    app.include_router(network_pages.router)
    app.include_router(wallet.router)
    from engine.api import (  # administration (issue 19), figures and bulk work (issue 20)
        account_pages,
        admin_pages,
        bulk,
        bulk_pages,
        inbound,
        inbound_pages,
        indicator_pages,
        indicators,
    )

    app.include_router(admin_pages.router)
    app.include_router(account_pages.router)
    app.include_router(indicators.router)
    app.include_router(indicator_pages.router)
    app.include_router(bulk.router)
    app.include_router(bulk_pages.router)
    app.include_router(inbound.router)
    app.include_router(inbound_pages.router)
    app.mount(DOCS_ASSETS_URL, StaticFiles(directory=DOCS_ASSETS), name="docs-assets")
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(RequestLimits, max_body=MAX_BODY)
    docs = {DOCS_URL}
    app.add_middleware(SecurityHeaders, public_url=app.state.urls.base, docs=docs)
    return app


_NOT_FOUND_PAGE = (
    "Il n'y a aucune page ni ressource à cette adresse : vérifiez ce qui a été tapé, ou "
    "repartez du menu."
)


async def _invalid_page(
    request: Request, exc: RequestValidationError, errors: list[dict[str, str]]
) -> Response:
    """A page whose address holds a wrong identifier (`/parcours/abc`) does not exist: a 404
    page. A refused form is a 422 page listing each field with what was typed and why it was
    refused."""
    if any(err["loc"][:1] == ("path",) for err in exc.errors()):
        page = await _error_page(request)
        return _refusal(request, 404, "Page introuvable", _NOT_FOUND_PAGE, page=page)
    fields = [
        {"field": ".".join(str(p) for p in err["loc"][1:]) or "corps", "message": e["message"]}
        for err, e in zip(exc.errors(), errors, strict=True)
    ]
    page = await _error_page(request, fields)
    named = [(_label(f["field"]).lower(), f["message"]) for f in fields]
    detail = "À corriger : " + " ; ".join(f"{name} : {message}" for name, message in named) + "."
    return _refusal(request, 422, "Formulaire à corriger", detail, page=page)


# --- API documentation ----------------------------------------------------------------------

DOCS_URL = "/docs"
DOCS_ASSETS = Path(fastapi_offline.__file__).parent / "static"
"""Swagger UI's script and style, as the fastapi-offline package ships them. No /redoc:
ReDoc draws its logo from its vendor's server, which a machine offline cannot reach."""
DOCS_ASSETS_URL = "/static-docs"

_API_DESCRIPTION = """Parcours d'Open Badges pour l'insertion par l'activité économique (IAE) :
inscriptions sur des parcours, demandes de badge, comités d'attribution, badges Open Badges
2.0 et 3.0 vérifiables, envois vers les partenaires.

**Accès.** Une session (`POST /api/v1/session`, puis le jeton CSRF dans l'en-tête
`X-CSRF-Token` pour les écritures) ou un jeton d'accès (`Authorization: Bearer …`, créé par
`parcours staff token`). Les adresses publiques (`/ob/…`) se lisent sans connexion.

**Erreurs.** Au format RFC 9457 (`application/problem+json`), en français : `title`,
`detail`, et selon le cas `errors` (champ par champ), `unmet` (conditions non remplies) ou
`problems` (ligne par ligne d'un fichier de définition)."""

_API_TAGS = [
    {"name": "Session", "description": "Se connecter, se déconnecter, savoir qui est connecté."},
    {"name": "Inscriptions", "description": "Les personnes sur un parcours et leurs étapes."},
    {"name": "Participants", "description": "Les personnes accompagnées et leurs données."},
    {"name": "Demandes de badge", "description": "Demander un badge, l'évaluer, décider."},
    {"name": "Comités", "description": "Les comités d'attribution et leurs décisions."},
    {"name": "Badges", "description": "Les badges délivrés : délivrer, révoquer, consulter."},
    {"name": "Badges de projet", "description": "Proposer et examiner un badge de structure."},
    {"name": "Parcours", "description": "Les définitions de parcours et leurs versions."},
    {"name": "Réseaux", "description": "Les réseaux, leurs catalogues et leurs publications."},
    {"name": "Organisations", "description": "Réseaux, structures (SIAE) et partenaires."},
    {"name": "Équipe", "description": "Les membres des équipes et leurs rôles."},
    {"name": "Partenaires", "description": "Ce que voient les partenaires (GEIQ, ADIE…)."},
    {"name": "Envois", "description": "Les envois en attente ou en échec, et leur relance."},
    {"name": "Soutiens", "description": "Les soutiens (endorsements) d'une organisation."},
    {"name": "Open Badges 2.0", "description": "Documents publics hébergés, vérifiables."},
    {"name": "Open Badges 3.0", "description": "Attestations vérifiables signées (OB 3.0)."},
    {"name": "CLR 2.0", "description": "Le parcours d'une personne comme relevé CLR 2.0."},
    {
        "name": "Portefeuilles (OpenID4VCI)",
        "description": "Remise d'un badge à un portefeuille numérique (OpenID4VCI).",
    },
    {"name": "Pages", "description": "Pages publiques d'un badge et de son titulaire."},
    {
        "name": "Indicateurs",
        "description": "Les chiffres d'une structure, d'un parcours ou d'un réseau, et leurs "
        "exports pour les financeurs.",
    },
    {
        "name": "Travail groupé",
        "description": "Importer des participants d'un fichier, délivrer un badge à tout un "
        "groupe après une action collective.",
    },
    {
        "name": "Événements entrants",
        "description": "Ce que les plateformes partenaires (immersions PMSMP) envoient, signé.",
    },
]
"""Every tag the routes use, in the order of /docs, each with its French description."""

_SWAGGER_SETTINGS = {
    "validatorUrl": None,  # the default sends the document to an outside validator
    "defaultModelsExpandDepth": -1,  # the schemas section's headings are English
    "docExpansion": "list",
    "filter": True,
    "tryItOutEnabled": False,
    "displayRequestDuration": True,
}


def _serve_docs(app: FastAPI) -> None:
    """/docs (Swagger UI) from the assets fastapi-offline ships, so the API's documentation
    shows on a machine without internet; the page says it is French."""

    def _french(html: HTMLResponse) -> HTMLResponse:
        """Swagger UI's page, marked French, drawn inside a landmark, with our stylesheet
        after Swagger UI's for the contrasts it lacks."""
        body = bytes(html.body).decode().replace("<html>", '<html lang="fr">', 1)
        body = body.replace("</title>", '</title>\n<link rel="stylesheet" href="/static/docs.css">')
        body = body.replace('<div id="swagger-ui">\n    </div>', '<main id="swagger-ui"></main>')
        return HTMLResponse(body)

    @app.get(DOCS_URL, include_in_schema=False, openapi_extra=performs(Action.PUBLIC_READ))
    def _swagger() -> HTMLResponse:
        return _french(
            get_swagger_ui_html(
                openapi_url=app.openapi_url or "/openapi.json",
                title="Parcours — documentation de l'API",
                swagger_js_url=f"{DOCS_ASSETS_URL}/swagger-ui-bundle.js",
                swagger_css_url=f"{DOCS_ASSETS_URL}/swagger-ui.css",
                swagger_favicon_url="/favicon.ico",
                swagger_ui_parameters=_SWAGGER_SETTINGS,
            )
        )


_MESSAGES = {
    "missing": "champ obligatoire",
    "string_too_short": "trop court",
    "string_too_long": "trop long",
    "too_long": "trop long",
    "int_parsing": "nombre entier attendu",
    "greater_than_equal": "valeur trop petite",
    "less_than_equal": "valeur trop grande",
    "string_pattern_mismatch": "valeur non reconnue",
    "value_error": "valeur invalide",
    "json_invalid": "JSON invalide",
    "model_attributes_type": "objet JSON attendu",
    "dict_type": "objet JSON attendu",
    "string_type": "texte attendu",
    "bool_parsing": "booléen attendu",
    "string_unicode": "texte attendu (UTF-8)",
}


def _french(err: dict) -> str:
    kind, ctx = err.get("type", ""), err.get("ctx") or {}
    message = _MESSAGES.get(kind, "valeur invalide")
    if kind == "value_error" and "email" in str(err.get("msg", "")).lower():
        return "adresse e-mail invalide"
    if kind == CONTROL_CHARACTERS:
        return f"caractère de contrôle interdit ({ctx.get('code', '?')})"
    if kind in ("string_too_long", "too_long") and "max_length" in ctx:
        return f"{message} ({ctx['max_length']} caractères au plus)"
    if kind == "less_than_equal" and "le" in ctx:
        return f"{message} ({ctx['le']} au plus)"
    return message


_HTTP_TITLES = {
    400: "Requête invalide",
    401: "Connexion requise",
    403: "Action non autorisée",
    404: "Introuvable",
    405: "Méthode non autorisée",
    406: "Format non disponible",
    413: "Requête trop volumineuse",
    415: "Type de contenu non pris en charge",
    429: "Trop de requêtes",
}


def _http_french(exc: StarletteHTTPException) -> tuple[int, str]:
    """(status, French detail) for an error the framework raised in English."""
    said = str(exc.detail or "")
    if isinstance(exc.__cause__, UnicodeDecodeError):
        return 422, "JSON invalide : le texte doit être encodé en UTF-8"
    if exc.status_code == 400 and "maximum size" in said:
        return 413, "un champ du formulaire dépasse la taille permise"
    if exc.status_code == 400 and said.startswith("Too many"):
        return 413, "trop de champs ou de fichiers dans le formulaire"
    details = {
        400: "requête illisible (corps mal formé)",
        401: "connectez-vous d'abord",
        403: "accès refusé",
        404: "aucune page ni ressource à cette adresse",
        405: "cette adresse n'accepte pas cette méthode",
        413: "requête trop volumineuse",
    }
    return exc.status_code, details.get(exc.status_code, "la requête n'a pas pu aboutir")


# --- middleware ------------------------------------------------------------------------------


class RequestLimits:
    """What a request may be before anything reads it: a path without control characters (a
    NUL in a badge's address made PostgreSQL answer with a 500), a body of at most `max_body`
    bytes (a 150 MB body was read into memory). Pure ASGI: it watches the bytes as they come,
    so a body without `Content-Length` (chunked) is cut off too."""

    def __init__(self, app: ASGIApp, max_body: int) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            single_line(scope["path"])
        except ValueError as exc:  # pydantic's error is a ValueError
            code = (getattr(exc, "context", None) or {}).get("code", "?")
            detail = f"adresse : caractère de contrôle interdit ({code})"
            await _refusal(Request(scope), 422, "Donnée invalide", detail)(scope, receive, send)
            return
        length = Headers(scope=scope).get("content-length", "")
        if length.isdigit() and int(length) > self.max_body:
            await self._too_large(scope, receive, send)
            return
        received, answered, started = 0, False, False

        async def counting() -> Message:
            nonlocal received, answered
            if answered:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    answered = True
                    if not started:
                        await self._too_large(scope, receive, send)
                    # the application stops reading as if the client had gone
                    return {"type": "http.disconnect"}
            return message

        async def watching(message: Message) -> None:
            nonlocal started
            if answered:
                return  # the 413 is already sent; what the application says is dropped
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting, watching)
        except Exception:
            if not answered:
                raise

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        mb = self.max_body // (1024 * 1024)
        detail = f"requête trop volumineuse : {mb} Mo au plus (un fichier : 10 Mo au plus)"
        response = _refusal(
            Request(scope), 413, "Requête trop volumineuse", detail, {"Connection": "close"}
        )
        await response(scope, receive, send)


_PAGES_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: {public}; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
_DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
"""/docs starts Swagger UI inline; its assets are local (no CDN)."""
_TOKEN_PAGES = {"/lien/": "strict-origin", "/recommandations/": "no-referrer"}
"""Pages whose address holds a secret: it must not leak through `Referer`, nor stay in a
shared cache. A participant's link page sends its origin alone (never the path, which holds
the token): under `no-referrer` its own form would say `Origin: null`, which the login CSRF
check must refuse, as it refuses a sandboxed frame's."""


class SecurityHeaders:
    """The headers every response carries: a Content-Security-Policy with no inline script
    (the pages' one script is /static/parcours.js), no framing by other sites
    (`frame-ancestors`, `X-Frame-Options`), no MIME sniffing, `Referrer-Policy: same-origin`
    (stricter on link pages, whose address holds a token), and HSTS when the request came
    over HTTPS. A response that sets one of them itself (an evidence file's stricter CSP)
    keeps its own."""

    def __init__(self, app: ASGIApp, public_url: str, docs: set[str]) -> None:
        self.app = app
        self.docs = docs
        self.pages_csp = _PAGES_CSP.format(public=origin_of(public_url))

    def headers(self, path: str, https: bool) -> dict[str, str]:
        token_page = next((p for p in _TOKEN_PAGES if path.startswith(p)), None)
        headers = {
            "Content-Security-Policy": _DOCS_CSP if path in self.docs else self.pages_csp,
            "X-Frame-Options": "DENY",
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": _TOKEN_PAGES[token_page] if token_page else "same-origin",
        }
        if token_page:
            headers["Cache-Control"] = "no-store"
        if https:
            headers["Strict-Transport-Security"] = "max-age=31536000"
        return headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        added = self.headers(scope["path"], scope.get("scheme") == "https")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in added.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, with_headers)
