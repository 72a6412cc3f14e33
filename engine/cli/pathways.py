"""`parcours pathway ...`: write, check, publish, show, draw and migrate pathways."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from engine.cli.context import By, Note, actor, fail, run, state
from engine.errors import PathwayInvalid

if TYPE_CHECKING:
    from engine.pathways.model import Pathway
    from engine.services.runtime import Runtime

commands = typer.Typer(
    help="Écrire, vérifier, publier et migrer des parcours.", no_args_is_help=True
)


@commands.command("check")
def pathway_check(
    files: Annotated[list[Path], typer.Argument(help="Fichiers YAML")],
    networks: Annotated[
        list[Path] | None,
        typer.Option("--network", help="Fichier de réseau pas encore publié que le parcours nomme"),
    ] = None,
) -> None:
    """Vérifier des fichiers de parcours (schéma, graphe, réseau, badges, partenaires,
    vérifications)."""
    from engine.errors import NetworkInvalid
    from engine.services import networks as network_files
    from engine.services.pathways import check_file, known_references
    from engine.services.runtime import Runtime
    from engine.store.database import make_engine

    rt = Runtime(make_engine("sqlite://"))
    failed = False
    extra = []
    for path in networks or []:
        try:
            extra.append(network_files.check_file(rt, path).definition)
        except NetworkInvalid as exc:
            failed = True
            fail(exc)
    known = known_references(rt, extra)
    for path in files:
        try:
            pathway = check_file(rt, path, known)
        except PathwayInvalid as exc:
            failed = True
            fail(exc)
            continue
        typer.echo(
            f"{path} : parcours « {pathway.id} » version {pathway.version} valide "
            f"({len(pathway.stages)} étapes, {len(pathway.transitions)} transitions)"
        )
    if failed:
        raise typer.Exit(1)


@commands.command("list")
def pathway_list() -> None:
    """Lister les versions de parcours publiées."""
    from engine.services.pathways import list_versions

    def body() -> None:
        for row in list_versions(state.runtime()):
            typer.echo(f"{row.pathway_id}  v{row.version}  {row.title}  ({row.network})")

    run(body)


@commands.command("publish")
def pathway_publish(
    files: Annotated[
        list[Path] | None,
        typer.Argument(help="Fichiers YAML (défaut : ceux de workflows/ et des plugins)"),
    ] = None,
    by: By = None,
) -> None:
    """Publier des parcours ; tout ou rien : un fichier invalide ne publie rien."""
    from engine.services.pathways import publish_all

    def body() -> None:
        results = publish_all(state.runtime(), files, by=actor(by))
        for row, new in results:
            typer.echo(f"{'publié' if new else 'inchangé'} : {row.pathway_id} v{row.version}")

    run(body)


def _find_pathway(rt: Runtime, pathway_id: str, version: int | None) -> Pathway:
    """A published version if the database has one, else the file in workflows/."""
    from engine.errors import NotFound
    from engine.services.pathways import check_file, latest_version, pathway_files

    try:
        row = latest_version(rt, pathway_id, version)
        with rt.unit_of_work() as session:
            return rt.pathway(session, row.id)
    except NotFound:
        for path in pathway_files(rt):
            pathway = check_file(rt, path)
            if pathway.id == pathway_id and version in (None, pathway.version):
                return pathway
        raise


@commands.command("show")
def pathway_show(
    pathway_id: str,
    version: Annotated[int | None, typer.Option(help="Version (défaut : la plus récente)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Sortie JSON")] = False,
) -> None:
    """Afficher un parcours : étapes, badges, transitions et leurs conditions."""

    def body() -> None:
        p = _find_pathway(state.runtime(), pathway_id, version)
        if as_json:
            typer.echo(json.dumps(p.model_dump(mode="json"), ensure_ascii=False, indent=2))
            return
        typer.echo(f"{p.title} — {p.id} version {p.version} (réseau {p.network})")
        if p.description:
            typer.echo(p.description.strip())
        typer.echo("Étapes :")
        for s in p.stages:
            flags = [f for f, on in (("initiale", s.id == p.initial), ("finale", s.final)) if on]
            extra = f" ({', '.join(flags)})" if flags else ""
            deadline = f", échéance {s.deadline_days} j" if s.deadline_days else ""
            typer.echo(f"  {s.id} : {s.title}{extra}{deadline}")
            for when, label in (("on_enter", "à l'entrée"), ("on_complete", "à la sortie")):
                badges = getattr(s.awards, when)
                if badges:
                    typer.echo(f"      badges {label} : {', '.join(badges)}")
        typer.echo("Transitions :")
        for t in p.transitions:
            typer.echo(f"  {t.trigger} : {', '.join(t.source)} → {t.dest} — {t.title}")
            g = t.gate
            for req in g.badges:
                n = "tous" if req.at_least is None else f"au moins {req.at_least}"
                typer.echo(f"      badges ({n}) : {', '.join(req.of)}")
            if g.evidence:
                typer.echo(f"      pièces : {', '.join(g.evidence)}")
            if g.min_days is not None or g.max_days is not None:
                typer.echo(f"      durée : min {g.min_days or 0} j, max {g.max_days or '—'} j")
            if g.committee:
                typer.echo("      décision du comité d'attribution")
            if g.roles:
                typer.echo(f"      rôles : {', '.join(r.value for r in g.roles)}")
            if g.checks:
                typer.echo(f"      vérifications : {', '.join(g.checks)}")

    run(body)


@commands.command("diagram")
def pathway_diagram(
    pathway_id: str,
    out: Annotated[Path, typer.Option(help="Dossier de sortie")] = Path("."),
    version: Annotated[int | None, typer.Option(help="Version")] = None,
) -> None:
    """Dessiner un parcours : .mmd (Mermaid), .svg et .png."""
    from engine.pathways.diagram import mermaid, png, svg

    def body() -> None:
        p = _find_pathway(state.runtime(), pathway_id, version)
        out.mkdir(parents=True, exist_ok=True)
        stem = out / f"{p.id}-v{p.version}"
        for suffix, content in ((".mmd", mermaid(p)), (".svg", svg(p))):
            stem.with_suffix(suffix).write_text(content, encoding="utf-8")
        stem.with_suffix(".png").write_bytes(png(p))
        for suffix in (".mmd", ".svg", ".png"):
            typer.echo(f"écrit : {stem.with_suffix(suffix)}")

    run(body)


@commands.command("migrate")
def pathway_migrate(
    pathway_id: str,
    to: Annotated[int, typer.Option("--to", help="Version cible")],
    by: By,
    mapping: Annotated[
        list[str] | None,
        typer.Option("--map", help="Correspondance d'étape ancienne=nouvelle (répétable)"),
    ] = None,
    note: Note = None,
) -> None:
    """Migrer les parcours en cours vers une nouvelle version (tout ou rien, audité)."""
    from engine.services.pathways import migrate

    pairs: dict[str, str] = {}
    for item in mapping or []:
        old, sep, new = item.partition("=")
        if not sep or not old or not new:
            raise typer.BadParameter(f"« {item} » : attendu ancienne=nouvelle", param_hint="--map")
        pairs[old.strip()] = new.strip()

    def body() -> None:
        report = migrate(state.runtime(), pathway_id, to, pairs, by=actor(by), note=note)
        typer.echo(f"{report.moved} parcours migrés vers {pathway_id} v{to}")
        for old, new in sorted(report.by_stage.items()):
            typer.echo(f"  {old} → {new}")

    run(body)
