"""The FastAPI application `parcours serve` runs: public Open Badges routes, the REST API
(/api/v1) and the French web app. Errors are RFC 9457 problem details for machines, pages for
people."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response

from engine.api import public, request_pages, requests, v1, web
from engine.errors import (
    Conflict,
    Forbidden,
    GateRefused,
    InvalidInput,
    NotFound,
    ParcoursError,
    Unauthenticated,
)
from engine.services.badges import urls
from engine.services.runtime import Runtime
from engine.store.database import env_count, pool_size

_STATUS = {
    Unauthenticated: 401,
    NotFound: 404,
    Forbidden: 403,
    Conflict: 409,
    GateRefused: 422,
    InvalidInput: 422,
}
PROBLEM = "application/problem+json"


def _wants_page(request: Request) -> bool:
    path = request.url.path
    return not (path.startswith("/api/") or path.startswith("/ob/"))


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


def create_app(rt: Runtime | None = None, public_url: str | None = None) -> FastAPI:
    app = FastAPI(
        lifespan=_lifespan,
        title="Parcours",
        description="Parcours d'Open Badges pour l'insertion par l'activité économique. "
        "Erreurs au format RFC 9457 (application/problem+json), en français.",
        version="0.1.0",
    )
    app.state.rt = rt or Runtime()
    app.state.urls = urls(public_url)
    app.state.rt.urls = app.state.urls  # what the outbox sends points at this server

    @app.exception_handler(ParcoursError)
    async def _problem(request: Request, exc: ParcoursError) -> Response:
        status = next((code for cls, code in _STATUS.items() if isinstance(exc, cls)), 400)
        if _wants_page(request):
            if status == 401:
                return RedirectResponse("/connexion", status_code=303)
            return web._page(request, "message.html", None, status, title=exc.title, text=str(exc))
        body = {"type": "about:blank", "title": exc.title, "status": status, "detail": str(exc)}
        if isinstance(exc, GateRefused):
            body["unmet"] = exc.unmet
        return JSONResponse(body, status_code=status, media_type=PROBLEM)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "field": ".".join(str(p) for p in err["loc"] if p != "body"),
                "message": _french(err),
            }
            for err in exc.errors()
        ]
        detail = " ; ".join(f"{e['field']} : {e['message']}" for e in errors)
        return JSONResponse(
            {
                "type": "about:blank",
                "title": "Donnée invalide",
                "status": 422,
                "detail": detail,
                "errors": errors,
            },
            status_code=422,
            media_type=PROBLEM,
        )

    app.include_router(public.router)
    app.include_router(v1.router)
    app.include_router(requests.router)
    app.include_router(web.router)
    app.include_router(request_pages.router)
    return app


_MESSAGES = {
    "missing": "champ obligatoire",
    "string_too_short": "trop court",
    "string_too_long": "trop long",
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
}


def _french(err: dict) -> str:
    message = _MESSAGES.get(err.get("type", ""), "valeur invalide")
    if err.get("type") == "value_error" and "email" in str(err.get("msg", "")).lower():
        return "adresse e-mail invalide"
    return message
