"""`parcours org ...`: networks, structures (SIAE) and partners."""

from __future__ import annotations

from typing import Annotated

import typer

from engine.cli.context import run, state

commands = typer.Typer(help="Réseaux, structures (SIAE) et partenaires.", no_args_is_help=True)


@commands.command("add")
def org_add(
    slug: str,
    name: Annotated[str, typer.Option(help="Nom")],
    kind: Annotated[
        str, typer.Option(help="structure ou partner (un réseau se déclare par son fichier)")
    ] = "structure",
    structure_kind: Annotated[
        str | None, typer.Option(help="Pour une structure : AI, ACI, EI, ETTI, EiTi ou EA")
    ] = None,
    network: Annotated[list[str] | None, typer.Option(help="Réseau d'appartenance")] = None,
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
                s, slug, name, kind, structure_kind=structure_kind, networks=network
            )
            typer.echo(f"organisation « {org.slug} » ({org.kind}) enregistrée")

    run(body)
