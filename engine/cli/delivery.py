"""`parcours outbox`, `parcours partner` and `parcours scheduler`: deliveries and time."""

from __future__ import annotations

from typing import Annotated

import typer

from engine.cli import app as cli

outbox_app = typer.Typer(
    help="Envois en attente (webhooks, connecteurs, e-mails) : voir, relancer, envoyer.",
    no_args_is_help=True,
)
partner_app = typer.Typer(help="Partenaires : webhook signé.", no_args_is_help=True)


@outbox_app.command("work")
def work(
    once: Annotated[bool, typer.Option("--once", help="Une seule passe, puis s'arrêter")] = False,
    interval: Annotated[float, typer.Option(help="Pause (s) quand rien n'est à envoyer")] = 2.0,
) -> None:
    """Envoyer ce qui est dû, en boucle (plusieurs processus peuvent tourner en parallèle)."""
    from engine.services import outbox

    def body() -> None:
        rt = cli.state.runtime()
        if once:
            sent, failed = outbox.work(rt)
            typer.echo(f"{sent} envoyé(s), {failed} en échec (nouvel essai plus tard)")
            return
        outbox.run(rt, interval=interval)

    cli._run(body)


@outbox_app.command("list")
def list_deliveries(
    status: Annotated[
        str | None, typer.Option(help="pending, sending, sent ou dead (abandonnés)")
    ] = None,
) -> None:
    """Lister les envois, les plus récents d'abord."""
    from engine.services import outbox

    def body() -> None:
        rows, total = outbox.listing(cli.state.runtime(), None, status=status)
        typer.echo(f"{total} envoi(s)")
        for r in rows:
            error = f" — {r.last_error}" if r.last_error else ""
            typer.echo(
                f"{r.id:>6}  {r.status:<8} {r.channel:<9} {r.target:<24} essais {r.attempts}{error}"
            )

    cli._run(body)


@outbox_app.command("retry")
def retry(delivery: Annotated[int, typer.Argument(help="N° de l'envoi")]) -> None:
    """Relancer un envoi abandonné, avec la même clé d'idempotence."""
    from engine.services import outbox

    def body() -> None:
        outbox.retry(cli.state.runtime(), delivery, None)
        typer.echo(f"envoi n° {delivery} relancé")

    cli._run(body)


@partner_app.command("webhook")
def webhook(
    organisation: Annotated[str, typer.Argument(help="Partenaire (identifiant)")],
    url: Annotated[str, typer.Argument(help="Adresse https du webhook")],
    by: cli.By,
) -> None:
    """Faire recevoir au partenaire ses badges par webhook signé ; affiche le secret."""
    from engine.services import shares
    from engine.services.accounts import principal

    def body() -> None:
        rt = cli.state.runtime()
        secret = shares.set_webhook(rt, organisation, url, by=principal(rt, by))
        typer.echo(f"Secret de signature (à donner au partenaire, une seule fois) : {secret}")

    cli._run(body)


def scheduler(
    tick: Annotated[float, typer.Option(help="Secondes entre deux passes de l'outbox")] = 5.0,
) -> None:
    """Lancer le planificateur (un seul par base) : échéances, relances, comités, expirations,
    envois."""
    from engine.services import scheduler as sched

    def body() -> None:
        sched.run(cli.state.runtime(), tick=tick)

    cli._run(body)
