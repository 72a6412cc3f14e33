"""`parcours outbox ...` and `parcours partner webhook`: what leaves Parcours (webhooks,
connectors, e-mails) and where it goes."""

from __future__ import annotations

from typing import Annotated

import typer

from engine.cli.context import By, actor, run, state

outbox_commands = typer.Typer(
    help="Envois en attente (webhooks, connecteurs, e-mails) : voir, relancer, envoyer.",
    no_args_is_help=True,
)
partner_commands = typer.Typer(help="Partenaires : webhook signé.", no_args_is_help=True)


@outbox_commands.command("work")
def work(
    once: Annotated[bool, typer.Option("--once", help="Une seule passe, puis s'arrêter")] = False,
    interval: Annotated[float, typer.Option(help="Pause (s) quand rien n'est à envoyer")] = 2.0,
) -> None:
    """Envoyer ce qui est dû, en boucle (plusieurs processus peuvent tourner en parallèle)."""
    from engine.services import outbox

    def body() -> None:
        rt = state.runtime()
        if once:
            sent, failed = outbox.work(rt)
            typer.echo(f"{sent} envoyé(s), {failed} en échec (nouvel essai plus tard)")
            return
        outbox.run(rt, interval=interval)

    run(body)


@outbox_commands.command("list")
def list_deliveries(
    status: Annotated[
        str | None, typer.Option(help="pending, sending, sent ou dead (abandonnés)")
    ] = None,
) -> None:
    """Lister les envois, les plus récents d'abord."""
    from engine.services import outbox
    from engine.services.access import Actor

    def body() -> None:
        rows, total = outbox.listing(state.runtime(), Actor.system(), status=status)
        typer.echo(f"{total} envoi(s)")
        for r in rows:
            error = f" — {r.last_error}" if r.last_error else ""
            typer.echo(
                f"{r.id:>6}  {r.status:<8} {r.channel:<9} {r.target:<24} essais {r.attempts}{error}"
            )

    run(body)


@outbox_commands.command("retry")
def retry(delivery: Annotated[int, typer.Argument(help="N° de l'envoi")]) -> None:
    """Relancer un envoi abandonné, avec la même clé d'idempotence."""
    from engine.services import outbox
    from engine.services.access import Actor

    def body() -> None:
        outbox.retry(state.runtime(), delivery, Actor.system())
        typer.echo(f"envoi n° {delivery} relancé")

    run(body)


@partner_commands.command("webhook")
def webhook(
    organisation: Annotated[str, typer.Argument(help="Partenaire (identifiant)")],
    url: Annotated[str, typer.Argument(help="Adresse https du webhook")],
    by: By,
) -> None:
    """Faire recevoir au partenaire ses badges par webhook signé ; affiche le secret."""
    from engine.services import shares

    def body() -> None:
        secret = shares.set_webhook(state.runtime(), organisation, url, by=actor(by))
        typer.echo(f"Secret de signature (à donner au partenaire, une seule fois) : {secret}")

    run(body)
