"""The command line's framework words in French: usage line, help panels, `--help`, the
completion options and every usage error.

Typer has no French of its own. It marks its own strings (`typer.core`, and the rich help
panels' constants in `typer.rich_utils`) for gettext, so those are translated the way Typer
documents: a translation function for `typer.core` and the `rich_utils` constants set once.
The click code Typer vendors (`typer._click`) has its words hard-coded: its usage prefix, its
help option and its error messages are translated here too, each at the one place it is
made. `speak_french()` is idempotent; `engine.cli.app` calls it before building the commands.
"""

from __future__ import annotations

import functools
import importlib.abc
import importlib.util
import re
import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any

import typer
import typer.completion
import typer.core
import typer.exceptions as typer_errors
from typer import _click
from typer._click import exceptions as click_errors
from typer._click import formatting as click_formatting

USAGE = "Utilisation : "
HELP = "Afficher cette aide et quitter."

_GETTEXT = {
    "(dynamic)": "(dynamique)",
    "Aborted!": "Interrompu.",
    "default: {default}": "défaut : {default}",
    "required": "obligatoire",
    "env var: {var}": "variable d'environnement : {var}",
    "Arguments": "Arguments",
    "Options": "Options",
    "Commands": "Commandes",
    "Missing command.": "Commande manquante.",
    "No such command {name!r}.": "Commande inconnue : {name!r}.",
}
"""Typer's gettext-marked strings (typer.core) and their French."""

_RICH = {
    "DEPRECATED_STRING": "(obsolète) ",
    "DEFAULT_STRING": "[défaut : {}]",
    "ENVVAR_STRING": "[variable d'environnement : {}]",
    "REQUIRED_LONG_STRING": "[obligatoire]",
    "ARGUMENTS_PANEL_TITLE": "Arguments",
    "OPTIONS_PANEL_TITLE": "Options",
    "COMMANDS_PANEL_TITLE": "Commandes",
    "ERRORS_PANEL_TITLE": "Erreur",
    "ABORTED_TEXT": "Interrompu.",
    "RICH_HELP": "Aide : [blue]{command_path} {help_option}[/]",
}
"""The constants of Typer's rich help and error panels."""

_COMPLETION = {
    "Install completion for the current shell.": "Installer l'autocomplétion pour ce shell.",
    "Show completion for the current shell, to copy it or customize the installation.": (
        "Afficher le script d'autocomplétion de ce shell, pour le copier ou adapter l'installation."
    ),
    "Install completion for the specified shell.": "Installer l'autocomplétion pour ce shell.",
    "Show completion for the specified shell, to copy it or customize the installation.": (
        "Afficher le script d'autocomplétion du shell indiqué, pour le copier ou adapter "
        "l'installation."
    ),
}
"""The help of Typer's `--install-completion` and `--show-completion`."""

_ERRORS: list[tuple[str, str]] = [
    (r"Missing argument '?(.+?)'?\.?", r"argument obligatoire manquant : \1"),
    (r"Missing option '?(.+?)'?\.?", r"option obligatoire manquante : \1"),
    (r"Missing parameter:? '?(.+?)'?\.?", r"paramètre obligatoire manquant : \1"),
    (r"Missing command\.?", r"commande manquante"),
    (r"Commande manquante\.", r"commande manquante"),
    (r"(?:No such command|Commande inconnue :) '(.+?)'\.?", r"commande inconnue « \1 »"),
    (r"No such option: (\S+?)\.?", r"option inconnue : \1"),
    (r"Option '(.+?)' requires an argument\.?", r"l'option \1 attend une valeur"),
    (r"Option '(.+?)' requires (\d+) arguments\.?", r"l'option \1 attend \2 valeurs"),
    (r"Option '(.+?)' does not take a value\.?", r"l'option \1 ne prend pas de valeur"),
    (r"Argument '(.+?)' takes (\d+) values\.?", r"l'argument \1 attend \2 valeurs"),
    (r"Got unexpected extra arguments? ?\(?s?\)? \((.+)\)", r"argument(s) en trop : \1"),
    (r"Invalid value: (.*)", r"valeur invalide : {detail}"),
    (r"Invalid value for '?(.+?)'?: (.*)", r"valeur invalide pour \1 : {detail}"),
]
"""Usage errors, English as the vendored click writes them, and their French. `{detail}` is
the value's own complaint, translated by `_DETAILS`."""

_DETAILS: list[tuple[str, str]] = [
    (r"'?(.*?)'? is not a valid integer\.?", r"« \1 » n'est pas un nombre entier"),
    (r"'?(.*?)'? is not a valid float\.?", r"« \1 » n'est pas un nombre"),
    (r"'?(.*?)'? is not a valid boolean\.?", r"« \1 » n'est ni oui ni non"),
    (r"Value '?(.*?)'? is not a valid (\w+)\.?", r"« \1 » n'est pas une valeur valide (\2)"),
    (r"'?(.*?)'? is not one of (.+?)\.?", r"« \1 » ne fait pas partie des choix : \2"),
    (r"Input should be a valid integer.*", r"nombre entier attendu"),
    (r"Input should be a valid number.*", r"nombre attendu"),
    (r"Input should be a valid boolean.*", r"oui ou non attendu"),
    (r"Input should be (.*)", r"valeur attendue : \1"),
    (r"(?:File|Path|Directory) '(.+?)' does not exist\.?", r"« \1 » n'existe pas"),
    (r"(?:File|Path) '(.+?)' is a directory\.?", r"« \1 » est un dossier"),
    (r"Directory '(.+?)' is a file\.?", r"« \1 » est un fichier"),
]

_SUGGESTION = re.compile(r"(.*?)\.? Did you mean (.+)\?", re.S)
_POSSIBLE = re.compile(r"(.*?) \(Possible options: (.+)\)", re.S)


def french_error(message: str) -> str:
    """A usage error's message in French; one it does not know is returned as it is."""
    message = message.strip()
    for pattern, suffix in ((_SUGGESTION, ". Vouliez-vous dire {} ?"), (_POSSIBLE, " ({})")):
        found = pattern.fullmatch(message)
        if found:
            hint = found.group(2)
            if suffix == " ({})":
                hint = f"options possibles : {hint}"
            return french_error(found.group(1)) + suffix.format(hint)
    for pattern, replacement in _ERRORS:
        found = re.fullmatch(pattern, message, flags=re.S)
        if found:
            detail = _french_detail(found.group(found.lastindex or 0))
            return found.expand(replacement.replace("{detail}", detail.replace("\\", r"\\")))
    return message


def _french_detail(detail: str) -> str:
    for pattern, replacement in _DETAILS:
        found = re.fullmatch(pattern, detail.strip(), flags=re.S)
        if found:
            return found.expand(replacement)
    return detail


def _translating(format_message: Callable[[Any], str]) -> Callable[[Any], str]:
    @functools.wraps(format_message)
    def french(self: Any) -> str:
        return french_error(format_message(self))

    french.french = True  # type: ignore[attr-defined]
    return french


def _with_french_help(get_help_option: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(get_help_option)
    def french(self: Any, ctx: Any) -> Any:
        option = get_help_option(self, ctx)
        if option is not None:
            option.help = HELP
        return option

    french.french = True  # type: ignore[attr-defined]
    return french


def _with_french_usage(write_usage: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(write_usage)
    def french(self: Any, prog: str, args: str = "", prefix: str | None = None) -> None:
        args = args.replace("COMMAND [ARGS]...", "COMMANDE [ARGUMENTS]...")
        write_usage(self, prog, args, USAGE if prefix is None else prefix)

    french.french = True  # type: ignore[attr-defined]
    return french


_TYPES = {
    "str": "texte",
    "int": "entier",
    "float": "nombre",
    "bool": "oui/non",
    "path": "chemin",
    "datetime": "date",
}
"""The value types the help panels show (`<int>`), named in French."""


def _with_french_types(display_type: Callable[..., str]) -> Callable[..., str]:
    @functools.wraps(display_type)
    def french(self: Any, ctx: Any) -> str:
        shown = display_type(self, ctx)
        return re.sub(r"(?<=[<|,\[])(\w+)(?=[>|,\]])", lambda m: _TYPES.get(m[1], m[1]), shown)

    french.french = True  # type: ignore[attr-defined]
    return french


def _gettext(message: str) -> str:
    return _GETTEXT.get(message, message)


def _french_panels(rich_utils: ModuleType) -> None:
    """The rich help and error panels' constants in French."""
    for name, text in _RICH.items():
        setattr(rich_utils, name, text)
    # the usage line's prefix, which the rich help's highlighter also colours
    rich_utils.highlighter.highlights = [
        h.replace("(?P<usage>Usage: )", f"(?P<usage>{USAGE})")
        for h in rich_utils.highlighter.highlights
    ]


class _WhenPanelsLoad(importlib.abc.MetaPathFinder):
    """Translates `typer.rich_utils` when Typer first imports it: only to show help or an
    error, and it costs half a second of imports (rich's markdown, tracebacks...) that a
    command which does neither, `parcours status 12`, should not pay."""

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        if name != "typer.rich_utils":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None:
            load = spec.loader.exec_module

            def exec_module(module: ModuleType) -> None:
                load(module)
                _french_panels(module)

            spec.loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def speak_french() -> None:
    """Put every framework word of the command line in French (once)."""
    typer.core._ = _gettext  # type: ignore[attr-defined]
    loaded = sys.modules.get("typer.rich_utils")
    if loaded is not None:
        _french_panels(loaded)
    elif not any(isinstance(f, _WhenPanelsLoad) for f in sys.meta_path):
        sys.meta_path.insert(0, _WhenPanelsLoad())
    for placeholder in (
        typer.completion._install_completion_placeholder_function,
        typer.completion._install_completion_no_auto_placeholder_function,
    ):
        for info in placeholder.__defaults__ or ():
            info.help = _COMPLETION.get(info.help, info.help)
    parameter = typer.core._TyperParameter
    if not getattr(parameter.display_type, "french", False):
        parameter.display_type = _with_french_types(parameter.display_type)
    command = _click.core.Command
    if not getattr(command.get_help_option, "french", False):
        command.get_help_option = _with_french_help(command.get_help_option)
    formatter = click_formatting.HelpFormatter
    if not getattr(formatter.write_usage, "french", False):
        formatter.write_usage = _with_french_usage(formatter.write_usage)
    for error in (
        typer_errors.TyperException,
        click_errors.UsageError,
        click_errors.BadParameter,
        click_errors.MissingParameter,
        click_errors.NoSuchOption,
    ):
        own = error.__dict__.get("format_message")
        if own is not None and not getattr(own, "french", False):
            error.format_message = _translating(own)
