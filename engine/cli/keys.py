"""`parcours key rotate`: issuers' signing keys."""

from __future__ import annotations

from typing import Annotated

import typer

from engine.cli.context import run, state

commands = typer.Typer(help="Clés de signature des émetteurs.", no_args_is_help=True)


@commands.command("rotate")
def key_rotate(org: Annotated[str, typer.Argument(help="Émetteur (slug)")]) -> None:
    """Remplacer la clé de signature d'un émetteur (l'ancienne reste publiée pour vérifier)."""
    from engine.services import issuer_keys

    run(lambda: typer.echo(f"Nouvelle clé : {issuer_keys.rotate_key(state.runtime(), org)}"))
