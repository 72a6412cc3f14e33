"""`parcours network ...`: check, publish and show network files (networks/*.yaml)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from engine.cli.context import By, actor, fail, run, state
from engine.errors import NetworkInvalid

commands = typer.Typer(
    help="Vérifier, publier et consulter les fichiers de réseau (networks/*.yaml).",
    no_args_is_help=True,
)


@commands.command("check")
def network_check(files: Annotated[list[Path], typer.Argument(help="Fichiers YAML")]) -> None:
    """Vérifier des fichiers de réseau : schéma, badges et sous-badges, comités, images."""
    from engine.services.networks import check_file
    from engine.services.runtime import Runtime
    from engine.store.database import make_engine

    rt = Runtime(make_engine("sqlite://"))
    failed = False
    for path in files:
        try:
            d = check_file(rt, path).definition
        except NetworkInvalid as exc:
            failed = True
            fail(exc)
            continue
        typer.echo(
            f"{path} : réseau « {d.id} » version {d.version} valide ({len(d.badges)} badges, "
            f"{len(d.partners)} partenaires, {len(d.committees)} règles de comité)"
        )
    if failed:
        raise typer.Exit(1)


@commands.command("publish")
def network_publish(
    files: Annotated[
        list[Path] | None,
        typer.Argument(help="Fichiers YAML (défaut : tous ceux de networks/)"),
    ] = None,
    by: By = None,
) -> None:
    """Publier des fichiers de réseau ; tout ou rien : un fichier invalide ne publie rien."""
    from engine.services.networks import publish_all

    def body() -> None:
        results = publish_all(state.runtime(), files, by=actor(by))
        for r in results:
            if not r.new:
                typer.echo(f"inchangé : {r.network} v{r.version}")
                continue
            typer.echo(f"publié : {r.network} v{r.version}")
            for label, slugs in (
                ("nouveaux badges", r.badges_created),
                ("nouvelle version", r.badges_versioned),
                ("retirés", r.badges_retired),
            ):
                if slugs:
                    typer.echo(f"  {label} : {', '.join(slugs)}")

    run(body)


@commands.command("list")
def network_list() -> None:
    """Lister les versions de réseau publiées."""
    from engine.services.networks import versions

    def body() -> None:
        for row in versions(state.runtime()):
            typer.echo(f"{row.network}  v{row.version}  {row.name}  ({row.published_at:%d/%m/%Y})")

    run(body)


@commands.command("show")
def network_show(network: Annotated[str, typer.Argument(help="Identifiant du réseau")]) -> None:
    """Afficher la définition publiée d'un réseau : partenaires, comités, badges."""
    from engine.badges.catalogue import MODE_LABELS
    from engine.services.networks import definition

    def body() -> None:
        d = definition(state.runtime(), network)
        typer.echo(f"{d.name} — {d.id} version {d.version}")
        if d.partners:
            typer.echo("Partenaires : " + ", ".join(f"{p.name} ({p.id})" for p in d.partners))
        for kind, rule in d.committee_rules.items():
            typer.echo(f"Comité {kind} : {rule.title} — {rule.explain()}")
        for spec in d.inbound:
            kinds = f"{spec.evidence.convention}, {spec.evidence.assessment}"
            typer.echo(
                f"Événements entrants : {spec.source} ({spec.title or spec.mapping}) → {kinds}"
            )
        typer.echo(f"Badges ({len(d.badges)}) :")
        for b in d.badges:
            modes = ", ".join(MODE_LABELS[m] for m in b.evaluation.modes)
            subs = ""
            if b.requires:
                n = "tous" if b.requires.at_least is None else f"{b.requires.at_least} sur"
                subs = f" ; sous-badges ({n}) : {', '.join(b.requires.of)}"
            validity = f" ; valable {b.validity_days} j" if b.validity_days else ""
            typer.echo(f"  {b.id} : {b.name} ({modes}{subs}{validity})")

    run(body)


@commands.command("inbound-secret")
def network_inbound_secret(
    network: Annotated[str, typer.Argument(help="Identifiant du réseau")],
    source: Annotated[str, typer.Argument(help="Source déclarée dans « inbound » (ex. pmsmp)")],
    by: By = None,
) -> None:
    """Créer ou renouveler le secret d'une plateforme partenaire ; affiché une seule fois,
    l'ancien cesse aussitôt de fonctionner."""
    from engine.inbound.signature import HEADER
    from engine.services.inbound import issue_secret

    def body() -> None:
        secret = issue_secret(state.runtime(), network, source, by=actor(by))
        typer.echo(f"Secret de la source « {source} » du réseau « {network} » (affiché une fois) :")
        typer.echo(f"  {secret}")
        typer.echo(
            f"La plateforme signe chaque envoi à POST /api/v1/inbound/{source} avec l'en-tête "
            f"{HEADER}: reseau={network},t=<secondes Unix>,v1=<HMAC-SHA256 de « <t>.<corps> »>"
        )

    run(body)


@commands.command("inbound-events")
def network_inbound_events(
    network: Annotated[str, typer.Argument(help="Identifiant du réseau")],
    statut: Annotated[
        str | None,
        typer.Option("--statut", help="applied, noted, ignored ou unmatched (à rattacher)"),
    ] = None,
    by: By = None,
) -> None:
    """Lister les plateformes partenaires du réseau et les événements reçus, récents d'abord."""
    from engine.services.inbound_views import events, sources

    def body() -> None:
        rt, who = state.runtime(), actor(by)
        for s in sources(rt, network, by=who):
            since = f"secret du {s.secret_since:%d/%m/%Y}" if s.secret_since else "aucun secret"
            waiting = f"{s.unmatched} à rattacher"
            typer.echo(f"Source {s.source} ({s.title or s.mapping}) : {since}, {waiting}")
        for e in events(rt, network, by=who, status=statut):
            where = f"parcours n° {e.enrollment_id}" if e.enrollment_id else "sans parcours"
            typer.echo(
                f"  {e.received_at:%d/%m/%Y %H:%M}  {e.source}  {e.kind}  {e.label}  ({where})  "
                f"[{e.event_id}]"
            )

    run(body)
