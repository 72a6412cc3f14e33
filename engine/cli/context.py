"""What every command shares, as FastAPI's `dependencies.py` does for routers: the database
chosen with `--db`, the acting member given with `--by`, the common options, and domain errors
reported as French messages on stderr with exit code 1.

Command modules import this one and `render`, never each other. Nothing here loads the
services or the database driver until a command runs, so `parcours --help` stays quick.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from engine.errors import DefinitionInvalid, ParcoursError

if TYPE_CHECKING:
    from engine.services.access import Actor
    from engine.services.runtime import Runtime

T = TypeVar("T")

By = Annotated[str, typer.Option("--by", help="Membre de l'équipe qui agit (e-mail ou n°)")]
Note = Annotated[str | None, typer.Option("--note", help="Commentaire consigné dans l'historique")]
PublicUrl = Annotated[
    str | None,
    typer.Option(
        "--public-url",
        help="Adresse publique du serveur. Défaut : $PARCOURS_PUBLIC_URL, "
        "sinon http://127.0.0.1:8000",
    ),
]


class _State:
    """The database of this invocation (`parcours --db ...`), opened on first use."""

    db: str | None = None
    _rt: Runtime | None = None

    def use(self, db: str | None) -> None:
        """The database of `--db` (None: $PARCOURS_DATABASE_URL, else parcours.sqlite)."""
        self.db, self._rt = db, None

    def runtime(self, *, migrate: bool = True) -> Runtime:
        if self._rt is None:
            from engine.services.runtime import Runtime
            from engine.store.database import make_engine, upgrade

            engine = make_engine(self.db)
            if migrate:
                upgrade(engine)
            self._rt = Runtime(engine)
        return self._rt


state = _State()


def actor(by: str | None) -> Actor:
    """The Actor a `--by` value names (staff e-mail or person number). Without `--by` the
    command is the server operator's own: the system. Call it inside `run`, so an unknown
    member is reported like any other domain error."""
    from engine.services import access

    if by is None:
        return access.Actor.system()
    with state.runtime().reading() as conn:
        return access.actor_for(conn, by)


def fail(exc: ParcoursError) -> typer.Exit:
    """Print a domain error in French; the caller raises the returned Exit (code 1)."""
    if isinstance(exc, DefinitionInvalid):
        typer.echo(f"Erreur : {exc.title} ({len(exc.problems)} problème(s))", err=True)
        for problem in exc.problems:
            typer.echo(f"  {problem}", err=True)
    else:
        typer.echo(f"Erreur : {exc}", err=True)
    return typer.Exit(1)


def run(fn: Callable[[], T]) -> T:
    """Run a command body so domain errors become clean French messages."""
    try:
        return fn()
    except ParcoursError as exc:
        raise fail(exc) from None
