"""`parcours privacy ...`: personal data and how long it is kept."""

from __future__ import annotations

import typer

from engine.cli.context import run, state

commands = typer.Typer(help="Données personnelles : durées de conservation.", no_args_is_help=True)


@commands.command("purge")
def purge() -> None:
    """Appliquer les durées de conservation (le planificateur le fait chaque nuit) : contenu des
    envois remis ou abandonnés après PARCOURS_RETENTION_DELIVERIES_DAYS jours (90), notes et
    textes libres du journal d'audit après PARCOURS_RETENTION_AUDIT_DAYS jours (730)."""
    from engine.dates import day
    from engine.services import privacy
    from engine.services.access import Actor

    def body() -> None:
        report = privacy.purge(state.runtime(), by=Actor.system())
        typer.echo(
            f"{report.deliveries} envoi(s) vidé(s) (remis ou abandonnés avant le "
            f"{day(report.deliveries_before)})"
        )
        typer.echo(
            f"{report.audit_events} événement(s) du journal réduit(s) (avant le "
            f"{day(report.audit_before)})"
        )

    run(body)
