"""`parcours participants ...`: participants imported from a CSV or XLSX file (issue 20)."""

from __future__ import annotations

import typer

commands = typer.Typer(
    help="Participants : import depuis un fichier CSV ou XLSX.", no_args_is_help=True
)
