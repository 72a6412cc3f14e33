"""Click's usage errors (exit code 2) are English; staff read French."""

from __future__ import annotations

import re
from typing import Any

import typer

_USAGE_FR = [
    (r"Missing option '(.+?)'\.?", r"option obligatoire manquante : \1"),
    (r"Missing argument '(.+?)'\.?", r"argument obligatoire manquant : \1"),
    (r"Option '(.+?)' requires an argument\.?", r"l'option \1 attend une valeur"),
    (r"No such option: (\S+).*", r"option inconnue : \1"),
    (r"No such command '(.+?)'\.?", r"commande inconnue « \1 »"),
    (r"Got unexpected extra arguments? \((.+)\)", r"argument(s) en trop : \1"),
    (
        r"Invalid value for '(.+?)': '(.*?)' is not a valid integer\.?",
        r"valeur invalide pour \1 : « \2 » n'est pas un nombre entier",
    ),
    (
        r"Invalid value for '(.+?)': Input should be a valid integer.*",
        r"valeur invalide pour \1 : nombre entier attendu",
    ),
    (r"Invalid value for '(.+?)': (.*)", r"valeur invalide pour \1 : \2"),
]


def french_usage_error(message: str) -> str:
    """Click's usage errors are English; staff read French."""
    for pattern, replacement in _USAGE_FR:
        if re.fullmatch(pattern, message.strip(), flags=re.S):
            return re.sub(pattern, replacement, message.strip(), flags=re.S)
    return message


def is_usage_error(exc: BaseException) -> bool:
    """Click's UsageError (vendored by recent Typer, so matched by shape): exit code 2."""
    return getattr(exc, "exit_code", None) == 2 and hasattr(exc, "format_message")


def report_usage_error(exc: Any) -> None:
    """The usage line, the French message and where to find help, on stderr."""
    ctx = getattr(exc, "ctx", None)
    message = exc.format_message()
    if message.lstrip().startswith("Usage"):  # a group called without a command
        typer.echo(message, err=True)
        return
    if ctx is not None:
        typer.echo(ctx.get_usage(), err=True)
    typer.echo(f"Erreur : {french_usage_error(message)}", err=True)
    path = ctx.command_path if ctx is not None else "parcours"
    typer.echo(f"Aide : {path} --help", err=True)
