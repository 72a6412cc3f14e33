"""`parcours`: the command line for networks (pathways) and SIAE staff (enrollments).

This module only composes: each command group lives in its own module (as FastAPI's routers
do), shares what it needs through `engine.cli.context`, and is added here. The order below is
the order of `parcours --help`.

Every command reports a ParcoursError as a French message on stderr with exit code 1, and
bad arguments with exit code 2 (Typer's usage errors).
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
import typer.main

from engine.cli import (
    badges,
    delivery,
    enrollments,
    indicators,
    installation,
    keys,
    networks,
    organisations,
    participants,
    pathways,
    privacy,
    recommendations,
    server,
    staff,
)
from engine.cli.context import state
from engine.cli.french import speak_french
from engine.cli.usage import is_usage_error, report_usage_error

speak_french()  # the framework's own words (usage, --help, errors) in French

COMMANDS: list[tuple[str | None, typer.Typer]] = [
    # Top-level commands: init, demo, plugins; enroll ... decide; serve, scheduler.
    (None, installation.commands),
    (None, enrollments.commands),
    (None, server.commands),
    # Command groups.
    ("network", networks.commands),
    ("pathway", pathways.commands),
    ("org", organisations.commands),
    ("staff", staff.commands),
    ("evidence", enrollments.evidence_commands),
    ("badge", badges.commands),
    ("key", keys.commands),
    ("recommend", recommendations.commands),
    ("outbox", delivery.outbox_commands),
    ("partner", delivery.partner_commands),
    ("privacy", privacy.commands),
    ("participants", participants.commands),
    ("indicators", indicators.commands),
]
"""Each command group with its name (None: its commands are top-level ones)."""

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Base : chemin SQLite ou URL (postgresql://...). Défaut : "
        "$PARCOURS_DATABASE_URL, sinon parcours.sqlite",
    ),
]


def _main(db: DbOption = None) -> None:
    state.use(db)


def _command_names(commands: typer.Typer) -> set[str]:
    return {
        info.name or typer.main.get_command_name(info.callback.__name__)
        for info in commands.registered_commands
        if info.callback is not None
    }


def _holds(name: str | None, commands: typer.Typer, word: str) -> bool:
    """Whether this group is the one `parcours WORD ...` runs."""
    return word == name if name else word in _command_names(commands)


def application(only: str | None = None) -> typer.Typer:
    """The `parcours` application; with `only`, just the group holding that command word.

    Typer turns every command's signature into Click objects each time the application runs
    (52 commands: 5% of a read command's start): `main` builds only the group the command
    line names. That command's help, options and errors are the same, since a Click command
    knows nothing of its siblings.
    """
    cli = typer.Typer(
        help="Parcours : parcours d'Open Badges pour l'insertion par l'activité économique.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
    )
    cli.callback()(_main)
    for name, commands in COMMANDS:
        if only is not None and not _holds(name, commands, only):
            continue
        if name is None:
            cli.add_typer(commands)
        else:
            cli.add_typer(commands, name=name)
    return cli


app = application()
"""The whole application, as `parcours --help` shows it (the order above is its order)."""


def _command_word(argv: list[str]) -> str | None:
    """The command or group `argv` names after `--db`; None when the whole application is
    needed: no command, another global option (`--help`), a word that names nothing."""
    words = iter(argv)
    for word in words:
        if word == "--db":
            next(words, None)
        elif not word.startswith("--db="):
            known = any(_holds(name, commands, word) for name, commands in COMMANDS)
            return word if known else None
    return None


def main(argv: list[str] | None = None) -> None:
    """Console entry point: usage errors in French (exit 2), domain errors exit 1."""
    if argv is None:
        argv = sys.argv[1:]
    word = _command_word(argv)
    cli = app if word is None else application(word)
    try:
        code = cli(args=argv, prog_name="parcours", standalone_mode=False)
    except typer.Abort:
        typer.echo("Interrompu.", err=True)
        raise SystemExit(1) from None
    except Exception as exc:
        if not is_usage_error(exc):
            raise
        if type(exc).__name__ == "NoArgsIsHelpError":  # the help is shown: nothing to add
            raise SystemExit(2) from None
        report_usage_error(exc)
        raise SystemExit(2) from None
    if isinstance(code, int) and code:
        raise SystemExit(code)
