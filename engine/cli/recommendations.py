"""`parcours recommend request`: ask a company that hosted a participant to recommend a badge."""

from __future__ import annotations

from typing import Annotated

import typer

from engine.cli.context import PublicUrl, run, state

commands = typer.Typer(help="Recommandations d'entreprises.", no_args_is_help=True)


@commands.command("request")
def recommend_request(
    assertion: Annotated[str, typer.Argument(help="Badge délivré à faire recommander")],
    company: Annotated[str, typer.Option("--company", help="Entreprise (slug)")],
    email: Annotated[str, typer.Option("--email", help="Contact dans l'entreprise")],
    public_url: PublicUrl = None,
) -> None:
    """Demander à une entreprise de recommander un badge : affiche le lien à lui envoyer."""
    from engine.services import badges, endorsements
    from engine.services.access import Actor

    def body() -> None:
        u = badges.urls(public_url)
        link = endorsements.request_recommendation(
            state.runtime(), assertion, company, email, u, by=Actor.system()
        )
        typer.echo(f"Lien à envoyer à {email} : {link}")

    run(body)
