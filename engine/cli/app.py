"""`parcours`: the command line for networks (pathways) and SIAE staff (enrollments).

Every command reports a ParcoursError as a French message on stderr with exit code 1, and
bad arguments with exit code 2 (Typer's usage errors).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Annotated

import typer

from engine.errors import ParcoursError, PathwayInvalid
from engine.services import enrollments as svc
from engine.services.runtime import Runtime
from engine.store.database import database_url, make_engine, upgrade

app = typer.Typer(
    help="Parcours : parcours d'Open Badges pour l'insertion par l'activité économique.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
pathway_app = typer.Typer(
    help="Écrire, vérifier, publier et migrer des parcours.", no_args_is_help=True
)
org_app = typer.Typer(help="Réseaux, structures (SIAE) et partenaires.", no_args_is_help=True)
staff_app = typer.Typer(help="Membres des équipes et leurs rôles.", no_args_is_help=True)
evidence_app = typer.Typer(help="Pièces justificatives.", no_args_is_help=True)
app.add_typer(pathway_app, name="pathway")
app.add_typer(org_app, name="org")
app.add_typer(staff_app, name="staff")
app.add_typer(evidence_app, name="evidence")

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Base : chemin SQLite ou URL (postgresql://...). Défaut : "
        "$PARCOURS_DATABASE_URL, sinon parcours.sqlite",
    ),
]
By = Annotated[str, typer.Option("--by", help="Membre de l'équipe qui agit (e-mail ou n°)")]
Note = Annotated[str | None, typer.Option("--note", help="Commentaire consigné dans l'historique")]


class _State:
    db: str | None = None
    _rt: Runtime | None = None

    def runtime(self, *, migrate: bool = True) -> Runtime:
        if self._rt is None:
            engine = make_engine(self.db)
            if migrate:
                upgrade(engine)
            self._rt = Runtime(engine)
        return self._rt


state = _State()


@app.callback()
def _main(db: DbOption = None) -> None:
    state.db = db
    state._rt = None


def _fail(exc: ParcoursError) -> typer.Exit:
    if isinstance(exc, PathwayInvalid):
        typer.echo(f"Erreur : {exc.title} ({len(exc.problems)} problème(s))", err=True)
        for problem in exc.problems:
            typer.echo(f"  {problem}", err=True)
    else:
        typer.echo(f"Erreur : {exc}", err=True)
    return typer.Exit(1)


_USAGE_FR = [
    (r"Missing option '(.+?)'\.?", r"option obligatoire manquante : \1"),
    (r"Missing argument '(.+?)'\.?", r"argument obligatoire manquant : \1"),
    (r"Option '(.+?)' requires an argument\.?", r"l'option \1 attend une valeur"),
    (r"No such option: (\S+).*", r"option inconnue : \1"),
    (r"No such command '(.+?)'\.?", r"commande inconnue « \1 »"),
    (r"Got unexpected extra arguments? \((.+)\)", r"argument(s) en trop : \1"),
    (
        r"Invalid value for '(.+?)': '(.*?)' is not a valid integer\.?",
        r"valeur invalide pour \1 : « \2 » n'est pas un nombre entier",
    ),
    (
        r"Invalid value for '(.+?)': Input should be a valid integer.*",
        r"valeur invalide pour \1 : nombre entier attendu",
    ),
    (r"Invalid value for '(.+?)': (.*)", r"valeur invalide pour \1 : \2"),
]


def french_usage_error(message: str) -> str:
    """Click's usage errors are English; staff read French."""
    for pattern, replacement in _USAGE_FR:
        if re.fullmatch(pattern, message.strip(), flags=re.S):
            return re.sub(pattern, replacement, message.strip(), flags=re.S)
    return message


def main(argv: list[str] | None = None) -> None:
    """Console entry point: usage errors in French (exit 2), domain errors exit 1."""
    try:
        code = app(args=argv, prog_name="parcours", standalone_mode=False)
    except typer.Abort:
        typer.echo("Interrompu.", err=True)
        raise SystemExit(1) from None
    except Exception as exc:
        # Usage errors (Click's UsageError, vendored by recent Typer) exit with code 2.
        if getattr(exc, "exit_code", None) != 2 or not hasattr(exc, "format_message"):
            raise
        ctx = getattr(exc, "ctx", None)
        message = exc.format_message()
        if message.lstrip().startswith("Usage"):  # a group called without a command
            typer.echo(message, err=True)
        else:
            if ctx is not None:
                typer.echo(ctx.get_usage(), err=True)
            typer.echo(f"Erreur : {french_usage_error(message)}", err=True)
            path = ctx.command_path if ctx is not None else "parcours"
            typer.echo(f"Aide : {path} --help", err=True)
        raise SystemExit(2) from None
    if isinstance(code, int) and code:
        raise SystemExit(code)


def _run(fn):  # type: ignore[no-untyped-def]
    """Wrap a command body so domain errors become clean French messages."""
    try:
        return fn()
    except ParcoursError as exc:
        raise _fail(exc) from None


# ---------------------------------------------------------------- setup and demo


@app.command()
def init() -> None:
    """Créer ou mettre à jour la base : schéma, réseaux et badges des plugins, parcours."""
    from engine.services.bootstrap import initialise

    def body() -> None:
        report = initialise(state.runtime(migrate=False))
        typer.echo(f"Base prête : {database_url(state.db)}")
        typer.echo(f"{report.organisations} organisations, {report.badge_classes} badges")
        for label in report.published:
            typer.echo(f"  publié : {label}")
        for label in report.unchanged:
            typer.echo(f"  inchangé : {label}")

    _run(body)


@app.command()
def demo(
    path: Annotated[
        Path, typer.Option("--path", help="Fichier SQLite de démonstration (recréé à chaque fois)")
    ] = Path("parcours-demo.sqlite"),
) -> None:
    """Démonstration : une base SQLite neuve et les parcours SATO joués de bout en bout."""
    from engine.cli.demo import run_demo

    _run(lambda: typer.echo(run_demo(path)))


@app.command()
def plugins() -> None:
    """Lister les plugins chargés et les hooks qu'ils fournissent."""
    from engine.plugins import default_plugin_manager, describe

    for name, origin, hooks in describe(default_plugin_manager()):
        typer.echo(f"{name}  ({origin})")
        typer.echo(f"    {', '.join(hooks)}")


# ---------------------------------------------------------------- pathways


@pathway_app.command("check")
def pathway_check(files: Annotated[list[Path], typer.Argument(help="Fichiers YAML")]) -> None:
    """Vérifier des fichiers de parcours (schéma, graphe, badges et vérifications connus)."""
    from engine.services.pathways import check_file

    rt = Runtime(make_engine("sqlite://"))
    failed = False
    for path in files:
        try:
            pathway = check_file(rt, path)
        except PathwayInvalid as exc:
            failed = True
            _fail(exc)
            continue
        typer.echo(
            f"{path} : parcours « {pathway.id} » version {pathway.version} valide "
            f"({len(pathway.stages)} étapes, {len(pathway.transitions)} transitions)"
        )
    if failed:
        raise typer.Exit(1)


@pathway_app.command("list")
def pathway_list() -> None:
    """Lister les versions de parcours publiées."""
    from engine.services.pathways import list_versions

    def body() -> None:
        for row in list_versions(state.runtime()):
            typer.echo(f"{row.pathway_id}  v{row.version}  {row.title}  ({row.network})")

    _run(body)


@pathway_app.command("publish")
def pathway_publish() -> None:
    """Publier les parcours de workflows/ (et des plugins) ; tout ou rien."""
    from engine.services.pathways import publish_all

    def body() -> None:
        for row, new in publish_all(state.runtime()):
            typer.echo(f"{'publié' if new else 'inchangé'} : {row.pathway_id} v{row.version}")

    _run(body)


def _find_pathway(rt: Runtime, pathway_id: str, version: int | None):  # type: ignore[no-untyped-def]
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


@pathway_app.command("show")
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

    _run(body)


@pathway_app.command("diagram")
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

    _run(body)


@pathway_app.command("migrate")
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
        report = migrate(state.runtime(), pathway_id, to, pairs, by=by, note=note)
        typer.echo(f"{report.moved} parcours migrés vers {pathway_id} v{to}")
        for old, new in sorted(report.by_stage.items()):
            typer.echo(f"  {old} → {new}")

    _run(body)


# ---------------------------------------------------------------- organisations and staff


@org_app.command("add")
def org_add(
    slug: str,
    name: Annotated[str, typer.Option(help="Nom")],
    kind: Annotated[str, typer.Option(help="network, structure ou partner")] = "structure",
    structure_kind: Annotated[
        str | None, typer.Option(help="Pour une structure : AI, ACI, EI, ETTI, EiTi ou EA")
    ] = None,
    network: Annotated[list[str] | None, typer.Option(help="Réseau d'appartenance")] = None,
) -> None:
    """Créer ou mettre à jour une organisation."""
    from engine.services.organisations import upsert_organisation

    def body() -> None:
        with state.runtime().unit_of_work() as s:
            org = upsert_organisation(
                s, slug, name, kind, structure_kind=structure_kind, networks=network
            )
            typer.echo(f"organisation « {org.slug} » ({org.kind}) enregistrée")

    _run(body)


@staff_app.command("add")
def staff_add(
    email: str,
    given_name: Annotated[str, typer.Option("--given-name", help="Prénom")],
    family_name: Annotated[str, typer.Option("--family-name", help="Nom")],
    role: Annotated[
        list[str], typer.Option(help="rôle@organisation, ex. cip@sato-interim (répétable)")
    ],
) -> None:
    """Créer un membre d'équipe et lui donner des rôles."""
    from engine.services.organisations import add_staff

    roles = []
    for item in role:
        name, sep, org = item.partition("@")
        if not sep:
            raise typer.BadParameter(f"« {item} » : attendu rôle@organisation", param_hint="--role")
        roles.append((org, name))

    def body() -> None:
        with state.runtime().unit_of_work() as s:
            person = add_staff(s, email, given_name, family_name, roles)
            typer.echo(f"{person.display_name} (n° {person.id}) : {', '.join(r for r in role)}")

    _run(body)


@staff_app.command("password")
def staff_password(
    email: str,
    password: Annotated[
        str,
        typer.Option(
            prompt="Mot de passe",
            hide_input=True,
            confirmation_prompt=True,
            help="Au moins 12 caractères (demandé s'il n'est pas donné)",
        ),
    ],
) -> None:
    """Donner (ou changer) le mot de passe de connexion d'un membre d'équipe ou partenaire."""
    from engine.services.accounts import set_password

    _run(lambda: set_password(state.runtime(), email, password))
    typer.echo(f"Mot de passe enregistré pour {email} ; ses sessions ouvertes sont fermées.")


@staff_app.command("token")
def staff_token(
    email: str,
    name: Annotated[str, typer.Option("--name", help="Le système qui utilisera le jeton")],
) -> None:
    """Créer un jeton d'API (Authorization: Bearer) qui agit au nom de ce membre d'équipe."""
    from engine.services.accounts import create_api_token

    token = _run(lambda: create_api_token(state.runtime(), email, name))
    typer.echo(token)
    typer.echo(
        "Conservez-le : il ne sera plus affiché. Pour le révoquer : "
        f"parcours staff revoke-token N (N donné par parcours staff tokens {email}).",
        err=True,
    )


@staff_app.command("tokens")
def staff_tokens(email: str) -> None:
    """Lister les jetons d'API d'un membre d'équipe (numéro, nom, création, révocation)."""
    from engine.dates import day_time
    from engine.services.accounts import api_tokens

    def body() -> None:
        tokens = api_tokens(state.runtime(), email)
        if not tokens:
            typer.echo(f"Aucun jeton d'API pour {email}.")
        for t in tokens:
            state_ = f"révoqué le {day_time(t.revoked_at)}" if t.revoked_at else "actif"
            typer.echo(f"{t.id}  {t.name}  créé le {day_time(t.created_at)}  {state_}")

    _run(body)


@staff_app.command("revoke-token")
def staff_revoke_token(
    token_id: Annotated[int, typer.Argument(help="N° du jeton (parcours staff tokens)")],
) -> None:
    """Révoquer un jeton d'API : il est refusé dès l'appel suivant."""
    from engine.services.accounts import revoke_api_token

    token = _run(lambda: revoke_api_token(state.runtime(), token_id))
    typer.echo(f"Jeton n° {token.id} « {token.name} » révoqué.")


# ---------------------------------------------------------------- enrollments


@app.command()
def enroll(
    pathway: Annotated[str, typer.Option(help="Identifiant du parcours")],
    structure: Annotated[str, typer.Option(help="Structure (SIAE) qui accompagne")],
    given_name: Annotated[str, typer.Option("--given-name", help="Prénom")],
    family_name: Annotated[str, typer.Option("--family-name", help="Nom")],
    by: By,
    email: Annotated[str | None, typer.Option(help="E-mail (facultatif)")] = None,
    version: Annotated[int | None, typer.Option(help="Version (défaut : la plus récente)")] = None,
    note: Note = None,
) -> None:
    """Inscrire une personne sur un parcours."""

    def body() -> None:
        eid = svc.enroll(
            state.runtime(),
            pathway,
            structure,
            svc.Participant(given_name, family_name, email),
            by=by,
            version=version,
            note=note,
        )
        typer.echo(f"parcours n° {eid} créé pour {given_name} {family_name}")

    _run(body)


@app.command()
def advance(enrollment: int, trigger: str, by: By, note: Note = None) -> None:
    """Faire passer une personne à l'étape suivante ; explique toute condition non remplie."""

    def body() -> None:
        rt = state.runtime()
        result = svc.advance(rt, enrollment, trigger, by=by, note=note)
        typer.echo(f"parcours n° {enrollment} : {result.from_stage} → {result.to_stage}")
        if result.awarded:
            with rt.unit_of_work() as s:
                names = rt.catalogue(s)
            for badge in result.awarded:
                typer.echo(f"  badge délivré : {names[badge].name}")

    _run(body)


@app.command()
def status(
    enrollment: int,
    by: Annotated[
        str | None,
        typer.Option("--by", help="Vérifie que ce membre d'équipe a accès à ce parcours"),
    ] = None,
) -> None:
    """Où en est la personne, et ce qu'il lui faut pour chaque étape suivante."""
    from engine.cli.render import status_text

    _run(lambda: typer.echo(status_text(svc.status(state.runtime(), enrollment, by=by))))


@app.command()
def history(
    enrollment: int,
    by: Annotated[
        str | None,
        typer.Option("--by", help="Vérifie que ce membre d'équipe a accès à ce parcours"),
    ] = None,
) -> None:
    """Historique complet : qui a fait quoi, quand, et pourquoi."""
    from engine.cli.render import history_text

    def body() -> None:
        rt = state.runtime()
        entries = svc.history(rt, enrollment, by=by)
        with rt.unit_of_work() as s:
            names = {k: v.name for k, v in rt.catalogue(s).items()}
        typer.echo(history_text(entries, names))

    _run(body)


@evidence_app.command("add")
def evidence_add(
    enrollment: int,
    kind: str,
    by: By,
    narrative: Annotated[str | None, typer.Option(help="Description")] = None,
    url: Annotated[str | None, typer.Option(help="Lien vers le document")] = None,
    context: Annotated[
        str | None, typer.Option(help="Contexte d'apprentissage (AFEST, PMSMP, ...)")
    ] = None,
) -> None:
    """Joindre une pièce justificative à l'étape en cours."""

    def body() -> None:
        svc.add_evidence(
            state.runtime(), enrollment, kind, by=by, narrative=narrative, url=url, context=context
        )
        typer.echo(f"pièce « {kind} » jointe au parcours n° {enrollment}")

    _run(body)


@app.command()
def award(
    enrollment: int,
    badge: str,
    by: By,
    narrative: Annotated[str | None, typer.Option(help="Preuve ou commentaire")] = None,
) -> None:
    """Délivrer un badge (par exemple un sous-badge évalué par l'encadrant technique)."""

    def body() -> None:
        svc.award(state.runtime(), enrollment, badge, by=by, narrative=narrative)
        typer.echo(f"badge « {badge} » délivré (parcours n° {enrollment})")

    _run(body)


@app.command()
def decide(
    enrollment: int,
    trigger: str,
    by: By,
    reason: Annotated[str, typer.Option(help="Motifs de la décision")],
    approve: Annotated[bool, typer.Option("--approve/--reject", help="Avis du comité")] = True,
) -> None:
    """Enregistrer la décision du comité d'attribution sur un passage."""

    def body() -> None:
        svc.record_decision(state.runtime(), enrollment, trigger, approve, reason, by=by)
        typer.echo(
            f"décision {'favorable' if approve else 'défavorable'} enregistrée "
            f"pour « {trigger} » (parcours n° {enrollment})"
        )

    _run(body)


# ---------------------------------------------------------------- Open Badges

badge_app = typer.Typer(
    help="Badges délivrés : cuire, extraire, vérifier, révoquer.", no_args_is_help=True
)
key_app = typer.Typer(help="Clés de signature des émetteurs.", no_args_is_help=True)
recommend_app = typer.Typer(help="Recommandations d'entreprises.", no_args_is_help=True)
app.add_typer(badge_app, name="badge")
app.add_typer(key_app, name="key")
app.add_typer(recommend_app, name="recommend")

PublicUrl = Annotated[
    str | None,
    typer.Option(
        "--public-url",
        help="Adresse publique du serveur. Défaut : $PARCOURS_PUBLIC_URL, "
        "sinon http://127.0.0.1:8000",
    ),
]


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Adresse d'écoute")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port d'écoute", min=1, max=65535)] = 8000,
    public_url: PublicUrl = None,
    workers: Annotated[
        int, typer.Option(help="Processus servant les requêtes (sans état : ajoutez-en)", min=1)
    ] = 1,
    threads: Annotated[
        int | None,
        typer.Option(
            help="Requêtes traitées à la fois par processus (défaut 8, au plus "
            "PARCOURS_DB_POOL_SIZE)",
            min=1,
        ),
    ] = None,
) -> None:
    """Servir l'application web, l'API (/api/v1, documentée sur /docs) et les badges publics."""
    import uvicorn

    from engine.api.app import create_app, serve_threads
    from engine.dates import zone

    if threads is not None:
        os.environ["PARCOURS_SERVE_THREADS"] = str(threads)  # read by every worker's app
    _run(serve_threads)  # a bad PARCOURS_* number stops here, named, not in each worker
    _run(zone)  # and so does an unknown PARCOURS_TIMEZONE
    _run(state.runtime)  # migrates the database once, before any worker starts
    public = public_url or os.environ.get("PARCOURS_PUBLIC_URL") or f"http://{host}:{port}"
    if workers == 1:
        app_ = create_app(state.runtime(), public)
        uvicorn.run(app_, host=host, port=port, log_level="info")
        return
    # Each worker process builds its own app from the environment.
    os.environ["PARCOURS_DATABASE_URL"] = database_url(state.db)
    os.environ["PARCOURS_PUBLIC_URL"] = public
    uvicorn.run(
        "engine.api.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
    )


@badge_app.command("list")
def badge_list(enrollment: Annotated[int, typer.Argument(help="N° du parcours")]) -> None:
    """Lister les badges obtenus sur un parcours (identifiants à cuire ou vérifier)."""
    from engine.services import badges

    def body() -> None:
        for assertion_id, name, revoked in badges.badges_of(state.runtime(), enrollment):
            typer.echo(f"{assertion_id}  {name}{'  (révoqué)' if revoked else ''}")

    _run(body)


@badge_app.command("show")
def badge_show(
    assertion: Annotated[str, typer.Argument(help="Identifiant du badge délivré")],
    version: Annotated[int, typer.Option("--ob", help="Format : 2 (assertion) ou 3 (VC)")] = 2,
    public_url: PublicUrl = None,
) -> None:
    """Afficher un badge délivré au format Open Badges 2.0 ou 3.0 (JSON)."""
    from engine.services import badges

    def body() -> None:
        rt, u = state.runtime(), badges.urls(public_url)
        if version == 3:
            doc = badges.credential_document(rt, assertion, u)
        else:
            doc = badges.assertion_document(rt, assertion, u)[1]
        typer.echo(json.dumps(doc, ensure_ascii=False, indent=2))

    _run(body)


@badge_app.command("bake")
def badge_bake(
    assertion: Annotated[str, typer.Argument(help="Identifiant du badge délivré")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Fichier image à écrire (.png, .svg)")],
    version: Annotated[int, typer.Option("--ob", help="2 : assertion hébergée ; 3 : VC-JWT")] = 2,
    public_url: PublicUrl = None,
) -> None:
    """Cuire un badge : l'image du badge avec le badge lui-même à l'intérieur."""
    from engine.errors import InvalidInput
    from engine.services import badges

    def body() -> None:
        if version not in (2, 3):
            raise InvalidInput("--ob : 2 ou 3")
        svg = out.suffix.lower() == ".svg"
        data = badges.baked(
            state.runtime(), assertion, badges.urls(public_url), version=version, svg=svg
        )
        _write_whole(out, data)
        typer.echo(f"Badge cuit (Open Badges {version}.0) : {out}")

    _run(body)


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


@badge_app.command("unbake")
def badge_unbake(file: Annotated[Path, typer.Argument(help="Image PNG ou SVG")]) -> None:
    """Extraire le badge contenu dans une image (JSON ou VC-JWT)."""
    from engine.openbadges.baking import unbake

    def body() -> None:
        baked = unbake(_read(file), str(file))
        text = baked.text
        if text.lstrip().startswith("{"):
            text = json.dumps(json.loads(text), ensure_ascii=False, indent=2)
        typer.echo(text)

    _run(body)


@badge_app.command("verify")
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

    _run(body)


@badge_app.command("revoke")
def badge_revoke(
    assertion: Annotated[str, typer.Argument(help="Identifiant du badge délivré")],
    by: By,
    reason: Annotated[str, typer.Option("--reason", help="Motif, publié avec la révocation")],
) -> None:
    """Révoquer un badge délivré (le motif est public)."""
    from engine.services import badges

    def body() -> None:
        badges.revoke(state.runtime(), assertion, reason, by=by)
        typer.echo(f"Badge {assertion} révoqué : {reason}")

    _run(body)


@badge_app.command("endorse")
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
    from engine.services import badges

    def body() -> None:
        chosen = [
            (k, v)
            for k, v in (("issuer", issuer), ("badge_class", badge), ("assertion", assertion))
            if v
        ]
        if len(chosen) != 1:
            raise InvalidInput("indiquez exactement un de --issuer, --badge, --assertion")
        kind, ref = chosen[0]
        eid = badges.endorse(state.runtime(), endorser, kind, ref, comment)
        typer.echo(f"Soutien enregistré : {eid}")

    _run(body)


@key_app.command("rotate")
def key_rotate(org: Annotated[str, typer.Argument(help="Émetteur (slug)")]) -> None:
    """Remplacer la clé de signature d'un émetteur (l'ancienne reste publiée pour vérifier)."""
    from engine.services import badges

    _run(lambda: typer.echo(f"Nouvelle clé : {badges.rotate_key(state.runtime(), org)}"))


@recommend_app.command("request")
def recommend_request(
    assertion: Annotated[str, typer.Argument(help="Badge délivré à faire recommander")],
    company: Annotated[str, typer.Option("--company", help="Entreprise (slug)")],
    email: Annotated[str, typer.Option("--email", help="Contact dans l'entreprise")],
    public_url: PublicUrl = None,
) -> None:
    """Demander à une entreprise de recommander un badge : affiche le lien à lui envoyer."""
    from engine.services import badges

    def body() -> None:
        link = badges.request_recommendation(
            state.runtime(), assertion, company, email, badges.urls(public_url)
        )
        typer.echo(f"Lien à envoyer à {email} : {link}")

    _run(body)


from engine.cli import delivery  # noqa: E402  (registers `parcours outbox`, `partner`, `scheduler`)

app.add_typer(delivery.outbox_app, name="outbox")
app.add_typer(delivery.partner_app, name="partner")
app.command("scheduler")(delivery.scheduler)
