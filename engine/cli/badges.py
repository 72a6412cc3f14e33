"""`parcours badge ...`: issued badges as Open Badges documents and baked images: show, bake,
unbake, verify, revoke, endorse; a badge for a whole group after a collective action."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from engine.cli.context import By, PublicUrl, actor, run, state

commands = typer.Typer(
    help="Badges délivrés : cuire, extraire, vérifier, révoquer.", no_args_is_help=True
)


@commands.command("list")
def badge_list(enrollment: Annotated[int, typer.Argument(help="N° du parcours")]) -> None:
    """Lister les badges obtenus sur un parcours (identifiants à cuire ou vérifier)."""
    from engine.services import badges
    from engine.services.access import Actor

    def body() -> None:
        rows = badges.badges_of(state.runtime(), enrollment, by=Actor.system())
        for assertion_id, name, revoked in rows:
            typer.echo(f"{assertion_id}  {name}{'  (révoqué)' if revoked else ''}")

    run(body)


@commands.command("show")
def badge_show(
    assertion: Annotated[str, typer.Argument(help="Identifiant du badge délivré")],
    version: Annotated[int, typer.Option("--ob", help="Format : 2 (assertion) ou 3 (VC)")] = 2,
    public_url: PublicUrl = None,
) -> None:
    """Afficher un badge délivré au format Open Badges 2.0 ou 3.0 (JSON)."""
    from engine.services import badge_documents, badges

    def body() -> None:
        rt, u = state.runtime(), badges.urls(public_url)
        if version == 3:
            doc = badge_documents.credential_document(rt, assertion, u)
        else:
            doc = badge_documents.assertion_document(rt, assertion, u)[1]
        typer.echo(json.dumps(doc, ensure_ascii=False, indent=2))

    run(body)


@commands.command("bake")
def badge_bake(
    assertion: Annotated[str, typer.Argument(help="Identifiant du badge délivré")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Fichier image à écrire (.png, .svg)")],
    version: Annotated[int, typer.Option("--ob", help="2 : assertion hébergée ; 3 : VC-JWT")] = 2,
    public_url: PublicUrl = None,
) -> None:
    """Cuire un badge : l'image du badge avec le badge lui-même à l'intérieur."""
    from engine.errors import InvalidInput
    from engine.services import badge_documents, badges

    def body() -> None:
        if version not in (2, 3):
            raise InvalidInput("--ob : 2 ou 3")
        svg = out.suffix.lower() == ".svg"
        data = badge_documents.baked(
            state.runtime(), assertion, badges.urls(public_url), version=version, svg=svg
        )
        _write_whole(out, data)
        typer.echo(f"Badge cuit (Open Badges {version}.0) : {out}")

    run(body)


def _write_whole(path: Path, data: bytes) -> None:
    """Write via a temporary file and rename: never a half-written image."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_bytes(data)
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        from engine.errors import InvalidInput

        raise InvalidInput(f"{path} : écriture impossible ({exc.strerror})") from None


def _read(path: Path) -> bytes:
    from engine.errors import InvalidInput
    from engine.openbadges.baking import MAX_FILE_BYTES

    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise InvalidInput(f"{path} : fichier trop gros (maximum 10 Mo)")
        return path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"{path} : lecture impossible ({exc.strerror})") from None


@commands.command("unbake")
def badge_unbake(file: Annotated[Path, typer.Argument(help="Image PNG ou SVG")]) -> None:
    """Extraire le badge contenu dans une image (JSON ou VC-JWT)."""
    from engine.openbadges.baking import unbake

    def body() -> None:
        baked = unbake(_read(file), str(file))
        text = baked.text
        if text.lstrip().startswith("{"):
            text = json.dumps(json.loads(text), ensure_ascii=False, indent=2)
        typer.echo(text)

    run(body)


@commands.command("verify")
def badge_verify(
    source: Annotated[str, typer.Argument(help="Image PNG/SVG, ou adresse d'un badge")],
) -> None:
    """Vérifier un badge : valide, révoqué, expiré ou altéré, et pourquoi (code 0 si valide)."""
    from engine.openbadges.verification import verify_file, verify_url

    def body() -> None:
        if source.startswith(("http://", "https://")):
            verdict = verify_url(source)
        else:
            verdict = verify_file(_read(Path(source)), source)
        typer.echo(f"Badge {verdict.status.upper()} (Open Badges {verdict.version}.0)")
        if verdict.badge:
            typer.echo(f"  badge : {verdict.badge}")
        if verdict.issuer:
            typer.echo(f"  émetteur : {verdict.issuer}")
        if verdict.issued_on:
            typer.echo(f"  délivré le : {verdict.issued_on[:10]}")
        for reason in verdict.reasons:
            typer.echo(f"  {reason}")
        if not verdict.valid:
            raise typer.Exit(1)

    run(body)


@commands.command("revoke")
def badge_revoke(
    assertion: Annotated[str, typer.Argument(help="Identifiant du badge délivré")],
    by: By,
    reason: Annotated[str, typer.Option("--reason", help="Motif, publié avec la révocation")],
) -> None:
    """Révoquer un badge délivré (le motif est public)."""
    from engine.services import badges

    def body() -> None:
        badges.revoke(state.runtime(), assertion, reason, by=actor(by))
        typer.echo(f"Badge {assertion} révoqué : {reason}")

    run(body)


@commands.command("endorse")
def badge_endorse(
    endorser: Annotated[str, typer.Option("--by-org", help="Organisation qui soutient (slug)")],
    comment: Annotated[str, typer.Option("--comment", help="Pourquoi elle soutient")],
    issuer: Annotated[str | None, typer.Option("--issuer", help="Émetteur soutenu")] = None,
    badge: Annotated[str | None, typer.Option("--badge", help="Badge soutenu (id)")] = None,
    assertion: Annotated[
        str | None, typer.Option("--assertion", help="Badge délivré recommandé")
    ] = None,
) -> None:
    """Une organisation soutient un émetteur ou un badge, ou recommande un badge délivré."""
    from engine.errors import InvalidInput
    from engine.services import endorsements
    from engine.services.access import Actor

    def body() -> None:
        chosen = [
            (k, v)
            for k, v in (("issuer", issuer), ("badge_class", badge), ("assertion", assertion))
            if v
        ]
        if len(chosen) != 1:
            raise InvalidInput("indiquez exactement un de --issuer, --badge, --assertion")
        kind, ref = chosen[0]
        eid = endorsements.endorse(state.runtime(), endorser, kind, ref, comment, by=Actor.system())
        typer.echo(f"Soutien enregistré : {eid}")

    run(body)


@commands.command("award-group")
def badge_award_group(
    badge: Annotated[str, typer.Option("--badge", help="Badge délivré (réseau.nom)")],
    structure: Annotated[str, typer.Option("--structure", help="Structure (SIAE) qui délivre")],
    participants: Annotated[
        list[int], typer.Option("--participant", "-p", help="N° d'un participant (à répéter)")
    ],
    title: Annotated[str, typer.Option("--title", help="Titre de l'action collective")],
    on: Annotated[
        datetime, typer.Option("--date", formats=["%Y-%m-%d", "%d/%m/%Y"], help="Date de l'action")
    ],
    narrative: Annotated[str, typer.Option("--narrative", help="Ce que le groupe a fait")],
    by: By,
    url: Annotated[str | None, typer.Option("--url", help="Adresse d'une pièce en ligne")] = None,
    context: Annotated[
        str | None, typer.Option("--context", help="Contexte : AFEST, PMSMP, formation…")
    ] = None,
    file: Annotated[
        Path | None, typer.Option("--file", help="Pièce commune (PDF, PNG, JPEG)")
    ] = None,
    pathway: Annotated[
        str | None, typer.Option("--pathway", help="Seulement les inscrits de ce parcours")
    ] = None,
) -> None:
    """Délivrer un badge à tout un groupe après une action collective : chacun reçoit son
    propre badge avec la pièce commune ; tout ou rien. Ceux qui le détiennent déjà sont
    listés et laissés de côté."""
    from engine import uploads
    from engine.services import group_award

    def body() -> None:
        upload = uploads.check(file.name, _read(file), "--file") if file else None
        evidence = group_award.SharedEvidence(
            title, on.date(), narrative, url=url, context=context, file=upload
        )
        done = group_award.award_group(
            state.runtime(), badge, structure, participants, evidence, by=actor(by), pathway=pathway
        )
        for participant, assertion, _ in done.awarded:
            typer.echo(f"participant n° {participant} : badge {assertion}")
        for participant, name, why in done.skipped:
            typer.echo(f"participant n° {participant} ({name}) laissé de côté : {why}")
        typer.echo(f"{done.badge_name} : {len(done.awarded)} badge(s) délivré(s)")

    run(body)
