"""A CIP who reads no English uses the command line: every word the framework writes (the
usage line, the help panels, `--help` itself, the completion options, every usage error)
is French, through Typer's own runner as through the `parcours` entry point."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from engine.cli.app import app, main

ENGLISH = [
    "Usage",
    "Show this message",
    "and exit",
    "[required]",
    "[default:",
    "default:",
    "required",
    "env var",
    "Commands",
    "COMMAND",
    "[ARGS]",
    "No such command",
    "No such option",
    "Invalid value",
    "Missing argument",
    "Missing option",
    "Missing command",
    "Missing parameter",
    "Got unexpected",
    "requires an argument",
    "is not a valid",
    "Input should be",
    "Did you mean",
    "Possible options",
    "Try ",
    "for help",
    "Error",
    "Aborted",
    "Install completion",
    "Show completion",
    "for the current shell",
    "(dynamic)",
    "(deprecated)",
    "<str>",
    "<int>",
    "<bool>",
    "<path>",
]
"""What Typer and click write in English when nobody translates them."""

runner = CliRunner()


def _english_in(text: str) -> list[str]:
    """The English words in `text`, whole words only (COMMANDE is French)."""
    return [w for w in ENGLISH if re.search(rf"(?<!\w){re.escape(w)}(?!\w)", text)]


def _invoke(*argv: str):
    return runner.invoke(app, list(argv), prog_name="parcours", terminal_width=100)


def _commands(group, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command path of the command line, groups included."""
    import typer.main

    click_group = typer.main.get_command(group)
    found: list[tuple[str, ...]] = []

    def walk(command, path: tuple[str, ...]) -> None:
        found.append(path)
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, (*path, name))

    walk(click_group, path)
    return found


def test_the_main_help_is_french() -> None:
    result = _invoke("--help")
    assert result.exit_code == 0
    assert "Utilisation : parcours [OPTIONS] COMMANDE [ARGUMENTS]..." in result.output
    assert "Commandes" in result.output and "Afficher cette aide et quitter." in result.output
    assert "Installer l'autocomplétion" in result.output
    assert "<texte>" in result.output and "<oui/non>" in result.output
    assert _english_in(result.output) == []


def test_every_command_s_help_is_french() -> None:
    """Each of the command line's commands and groups: the framework's words, and the
    panels' markers of required options and defaults."""
    paths = _commands(app)
    assert ("enroll",) in paths and ("badge", "show") in paths
    english = {}
    for path in paths:
        result = _invoke(*path, "--help")
        assert result.exit_code == 0, (path, result.output)
        assert "Utilisation : parcours" in result.output, path
        if _english_in(result.output):
            english[" ".join(path)] = _english_in(result.output)
    assert english == {}
    enroll = _invoke("enroll", "--help").output
    assert "[obligatoire]" in enroll


@pytest.mark.parametrize(
    ("argv", "french"),
    [
        (["nulle-part"], "commande inconnue « nulle-part »"),
        (["statu"], "Vouliez-vous dire 'status'"),
        (["badge", "show"], "argument obligatoire manquant : assertion"),
        (["enroll", "--pathway", "x"], "option obligatoire manquante"),
        (["badge", "list", "abc"], "valeur invalide pour enrollment : nombre entier attendu"),
        (["badge", "show", "x", "--ob"], "l'option --ob attend une valeur"),
        (["badge", "show", "x", "--zz"], "option inconnue : --zz"),
        (["badge", "list", "1", "2"], "argument(s) en trop : 2"),
    ],
)
def test_usage_errors_are_french_in_typer_s_runner(argv: list[str], french: str) -> None:
    result = _invoke(*argv)
    assert result.exit_code == 2
    said = re.sub(r"[│╭╮╰╯─\s]+", " ", result.output)
    assert french in said
    assert "Erreur" in said
    if argv == ["nulle-part"]:
        assert "Aide : parcours --help" in said
    assert _english_in(result.output) == []


@pytest.mark.parametrize(
    "argv",
    [["nulle-part"], ["badge", "show"], ["badge", "list", "abc"], ["badge", "list", "1", "2"]],
)
def test_usage_errors_are_french_from_the_entry_point(capsys, argv: list[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("Utilisation : parcours") and "Erreur : " in err
    assert _english_in(err) == []


def test_a_group_without_its_command_shows_its_help_and_nothing_else(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["badge"])
    out = capsys.readouterr()
    assert "Utilisation : parcours badge" in out.out + out.err
    assert "Erreur" not in out.err
