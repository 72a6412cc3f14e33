"""`parcours org ...`: networks, structures (SIAE) and partners."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from engine.cli.context import actor, run, state

commands = typer.Typer(help="Réseaux, structures (SIAE) et partenaires.", no_args_is_help=True)


@commands.command("add")
def org_add(
    slug: str,
    name: Annotated[str, typer.Option(help="Nom")],
    kind: Annotated[
        str, typer.Option(help="structure ou partner (un réseau se déclare par son fichier)")
    ] = "structure",
    structure_kind: Annotated[
        str | None,
        typer.Option(
            help="Pour une structure : AI, ACI, EI, ETTI ou EiTi (une entreprise adaptée est "
            "un partenaire)"
        ),
    ] = None,
    network: Annotated[list[str] | None, typer.Option(help="Réseau d'appartenance")] = None,
    siret: Annotated[str | None, typer.Option(help="SIRET (14 chiffres)")] = None,
    departement: Annotated[str | None, typer.Option(help="Département (29, 2A, 974...)")] = None,
) -> None:
    """Créer ou mettre à jour une organisation."""
    from engine.services.organisations import upsert_organisation

    if kind == "network":
        raise typer.BadParameter(
            "un réseau se déclare dans son fichier de réseau (networks/<id>.yaml), "
            "publié avec « parcours network publish »",
            param_hint="'--kind'",
        )

    def body() -> None:
        with state.runtime().unit_of_work() as s:
            org = upsert_organisation(
                s,
                slug,
                name,
                kind,
                structure_kind=structure_kind,
                networks=network,
                siret=siret,
                departement=departement,
            )
            typer.echo(f"organisation « {org.slug} » ({org.kind}) enregistrée")

    run(body)


@commands.command("import-emplois")
def org_import_emplois(
    network: Annotated[str, typer.Option(help="Réseau qui reçoit les structures")],
    departement: Annotated[str, typer.Option(help="Département (29, 2A, 974...)")],
    token: Annotated[
        str | None,
        typer.Option(
            help="Jeton d'API des emplois de l'inclusion (sinon $PARCOURS_EMPLOIS_TOKEN)",
            show_default=False,
        ),
    ] = None,
    essai: Annotated[
        bool, typer.Option("--essai", help="Dire ce qui serait fait, sans rien enregistrer")
    ] = False,
    by: Annotated[
        str | None, typer.Option("--by", help="Administrateur du réseau qui importe")
    ] = None,
) -> None:
    """Importer les SIAE d'un département depuis les emplois de l'inclusion (par SIRET : un
    second import ne crée rien de plus)."""
    from engine.services.structure_import import import_structures

    key = token or os.environ.get("PARCOURS_EMPLOIS_TOKEN", "")
    if not key.strip():
        raise typer.BadParameter(
            "jeton d'API manquant : --token ou la variable PARCOURS_EMPLOIS_TOKEN",
            param_hint="'--token'",
        )

    def body() -> None:
        report = import_structures(
            state.runtime(),
            network,
            by=actor(by),
            token=key,
            departement=departement,
            dry_run=essai,
        )
        if essai:
            typer.echo("Essai : rien n'est enregistré.")
        for line in report.lines:
            what = f" ({line.reason})" if line.reason else ""
            slug = f" → {line.slug}" if line.slug else ""
            typer.echo(
                f"{report.label(line):>15}  {line.siret}  {line.kind:<4} {line.name}{slug}{what}"
            )
        typer.echo(report.summary)

    run(body)
