"""`parcours init`, `parcours demo`, `parcours plugins`: the installation itself."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from engine.cli.context import run, state

commands = typer.Typer()


@commands.command()
def init() -> None:
    """Créer ou mettre à jour la base : schéma, fichiers de réseau (networks/), parcours."""
    from engine.services.bootstrap import initialise
    from engine.store.database import database_url

    def body() -> None:
        report = initialise(state.runtime(migrate=False))
        typer.echo(f"Base prête : {database_url(state.db)}")
        typer.echo(f"Réseaux : {', '.join(report.networks) or 'aucun'}")
        typer.echo(f"{report.badge_classes} badges au catalogue")
        for label in report.published:
            typer.echo(f"  publié : {label}")
        for label in report.unchanged:
            typer.echo(f"  inchangé : {label}")

    run(body)


@commands.command()
def demo(
    path: Annotated[
        Path, typer.Option("--path", help="Fichier SQLite de démonstration (recréé à chaque fois)")
    ] = Path("parcours-demo.sqlite"),
) -> None:
    """Démonstration : une base SQLite neuve (recréée si c'en est déjà une), les histoires des
    réseaux jouées jusqu'à aujourd'hui, puis les comptes pour explorer l'application web."""
    from engine.cli.demo import run_demo

    run(lambda: typer.echo(run_demo(path)))


@commands.command()
def plugins() -> None:
    """Lister les plugins chargés et les hooks qu'ils fournissent."""
    from engine.plugins import default_plugin_manager, describe

    for name, origin, hooks in describe(default_plugin_manager()):
        typer.echo(f"{name}  ({origin})")
        typer.echo(f"    {', '.join(hooks)}")
