"""The FastAPI application `parcours serve` runs."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from engine.api import public
from engine.errors import Conflict, Forbidden, InvalidInput, NotFound, ParcoursError
from engine.services.badges import urls
from engine.services.runtime import Runtime

_STATUS = {NotFound: 404, Forbidden: 403, Conflict: 409, InvalidInput: 422}


def create_app(rt: Runtime | None = None, public_url: str | None = None) -> FastAPI:
    app = FastAPI(
        title="Parcours",
        description="Parcours d'Open Badges pour l'insertion par l'activité économique.",
        version="0.1.0",
    )
    app.state.rt = rt or Runtime()
    app.state.urls = urls(public_url)

    @app.exception_handler(ParcoursError)
    async def _problem(request: Request, exc: ParcoursError) -> JSONResponse:
        status = next((code for cls, code in _STATUS.items() if isinstance(exc, cls)), 400)
        return JSONResponse(
            {"type": "about:blank", "title": str(exc), "status": status},
            status_code=status,
            media_type="application/problem+json",
        )

    app.include_router(public.router)
    return app
