"""`parcours`: the command line for networks (pathways) and SIAE staff (enrollments).

This module only composes: each command group lives in its own module (as FastAPI's routers
do), shares what it needs through `engine.cli.context`, and is added here. The order below is
the order of `parcours --help`.

Every command reports a ParcoursError as a French message on stderr with exit code 1, and
bad arguments with exit code 2 (Typer's usage errors).
"""

from __future__ import annotations

from typing import Annotated

import typer

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

app = typer.Typer(
    help="Parcours : parcours d'Open Badges pour l'insertion par l'activité économique.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
# Top-level commands: init, demo, plugins; enroll ... decide; serve, scheduler.
app.add_typer(installation.commands)
app.add_typer(enrollments.commands)
app.add_typer(server.commands)
# Command groups.
app.add_typer(networks.commands, name="network")
app.add_typer(pathways.commands, name="pathway")
app.add_typer(organisations.commands, name="org")
app.add_typer(staff.commands, name="staff")
app.add_typer(enrollments.evidence_commands, name="evidence")
app.add_typer(badges.commands, name="badge")
app.add_typer(keys.commands, name="key")
app.add_typer(recommendations.commands, name="recommend")
app.add_typer(delivery.outbox_commands, name="outbox")
app.add_typer(delivery.partner_commands, name="partner")
app.add_typer(privacy.commands, name="privacy")
app.add_typer(participants.commands, name="participants")
app.add_typer(indicators.commands, name="indicators")

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Base : chemin SQLite ou URL (postgresql://...). Défaut : "
        "$PARCOURS_DATABASE_URL, sinon parcours.sqlite",
    ),
]


@app.callback()
def _main(db: DbOption = None) -> None:
    state.use(db)


def main(argv: list[str] | None = None) -> None:
    """Console entry point: usage errors in French (exit 2), domain errors exit 1."""
    try:
        code = app(args=argv, prog_name="parcours", standalone_mode=False)
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
