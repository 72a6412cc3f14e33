"""`parcours indicators ...`: a structure's, a pathway's or a network's figures, and their
exports (issue 20)."""

from __future__ import annotations

import typer

commands = typer.Typer(
    help="Indicateurs d'une structure, d'un parcours ou d'un réseau, et leurs exports.",
    no_args_is_help=True,
)
