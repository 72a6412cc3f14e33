"""`parcours serve` and `parcours scheduler`: the processes that keep running. The web app and
uvicorn load only when `serve` starts."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from engine.cli.context import PublicUrl, run, state

commands = typer.Typer()
"""Top-level commands: `parcours serve`, `parcours scheduler`."""


@commands.command()
def serve(
    host: Annotated[str, typer.Option(help="Adresse d'écoute")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port d'écoute", min=1, max=65535)] = 8000,
    public_url: PublicUrl = None,
    workers: Annotated[
        int, typer.Option(help="Processus servant les requêtes (sans état : ajoutez-en)", min=1)
    ] = 1,
    threads: Annotated[
        int | None,
        typer.Option(
            help="Requêtes traitées à la fois par processus (défaut 8, au plus "
            "PARCOURS_DB_POOL_SIZE)",
            min=1,
        ),
    ] = None,
) -> None:
    """Servir l'application web, l'API (/api/v1, documentée sur /docs) et les badges publics."""
    import uvicorn

    from engine.api.app import create_app, serve_threads
    from engine.dates import zone
    from engine.store.database import database_url

    if threads is not None:
        os.environ["PARCOURS_SERVE_THREADS"] = str(threads)  # read by every worker's app
    run(serve_threads)  # a bad PARCOURS_* number stops here, named, not in each worker
    run(zone)  # and so does an unknown PARCOURS_TIMEZONE
    run(state.runtime)  # migrates the database once, before any worker starts
    public = public_url or os.environ.get("PARCOURS_PUBLIC_URL") or f"http://{host}:{port}"
    if workers == 1:
        app_ = create_app(state.runtime(), public)
        uvicorn.run(app_, host=host, port=port, log_level="info")
        return
    # Each worker process builds its own app from the environment.
    os.environ["PARCOURS_DATABASE_URL"] = database_url(state.db)
    os.environ["PARCOURS_PUBLIC_URL"] = public
    uvicorn.run(
        "engine.api.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
    )


@commands.command()
def scheduler(
    tick: Annotated[float, typer.Option(help="Secondes entre deux passes de l'outbox")] = 5.0,
) -> None:
    """Lancer le planificateur (un seul par base) : échéances, relances, comités, expirations,
    envois."""
    from engine.services import scheduler as sched

    def body() -> None:
        sched.run(state.runtime(), tick=tick)

    run(body)
