"""`parcours participants ...`: participants imported from a CSV or XLSX file (issue 20)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from engine.cli.context import By, actor, run, state

commands = typer.Typer(
    help="Participants : import depuis un fichier CSV ou XLSX.", no_args_is_help=True
)


@commands.command("import")
def participants_import(
    file: Annotated[Path, typer.Argument(help="Fichier CSV (; ou ,) ou XLSX")],
    structure: Annotated[str, typer.Option("--structure", help="Structure (SIAE) qui accueille")],
    by: By,
    essai: Annotated[
        bool, typer.Option("--essai", help="Vérifier et dire ce qui serait fait, sans rien écrire")
    ] = False,
) -> None:
    """Importer des participants : colonnes prenom, nom (obligatoires), email, telephone,
    annee_naissance, pass_iae, parcours. Un fichier qui a le moindre problème n'écrit rien ;
    le même fichier importé deux fois ne crée personne la seconde fois."""
    from engine.errors import InvalidInput
    from engine.services import participant_import as pi
    from engine.uploads import MAX_BYTES

    def body() -> None:
        try:
            with file.open("rb") as handle:
                content = handle.read(MAX_BYTES + 1)
        except OSError as exc:
            raise InvalidInput(f"{file} : lecture impossible ({exc.strerror})") from None
        report = pi.import_participants(
            state.runtime(), file.name, content, structure=structure, by=actor(by), dry_run=essai
        )
        for note in report.notes:
            typer.echo(f"Remarque : {note}")
        for outcome in report.lines:
            where = f" ; parcours {outcome.pathway}" if outcome.pathway else ""
            if outcome.pathway and not outcome.enrolled:
                where += " (déjà inscrit)"
            number = f" (n° {outcome.person_id})" if outcome.person_id else ""
            typer.echo(f"ligne {outcome.line} : {outcome.name}{number} — {outcome.status}{where}")
        for problem in report.problems:
            typer.echo(f"  {problem}", err=True)
        verb = "à créer" if essai else "créé(s)"
        typer.echo(
            f"{'Essai' if essai else 'Import'} : {report.created} participant(s) {verb}, "
            f"{report.present} déjà présent(s), {report.enrolled} inscription(s)"
            + (
                f", {len(report.problems)} problème(s) : rien ne sera écrit"
                if report.problems
                else ""
            )
        )
        if report.problems:
            raise typer.Exit(1)

    run(body)
