"""`parcours indicators ...`: a structure's, a pathway's or a network's figures, and their
exports (issue 20)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from engine.cli.context import actor, run

if TYPE_CHECKING:
    from engine.services.indicators import Indicators

commands = typer.Typer(
    help="Indicateurs d'une structure, d'un parcours ou d'un réseau, et leurs exports.",
    no_args_is_help=True,
)

KINDS = {"structure": "structure", "reseau": "network", "parcours": "pathway"}
Kind = Annotated[str, typer.Argument(help="structure, reseau ou parcours")]
Ref = Annotated[str, typer.Argument(help="Identifiant de la structure, du réseau ou du parcours")]
Start = Annotated[str | None, typer.Option("--du", help="Premier jour (AAAA-MM-JJ)")]
End = Annotated[str | None, typer.Option("--au", help="Dernier jour (AAAA-MM-JJ)")]
ByOpt = Annotated[
    str | None,
    typer.Option(
        "--by",
        help="Membre de l'équipe qui consulte (e-mail ou n°) ; sans lui, l'opérateur du "
        "serveur voit les chiffres exacts",
    ),
]
Hide = Annotated[
    bool,
    typer.Option("--masquer", help="Masquer les effectifs de moins de 5 (document qui circule)"),
]


def _compute(kind: str, ref: str, du: str | None, au: str | None, by: str | None, hide: bool):
    from engine.cli.context import state
    from engine.services import indicators

    if kind not in KINDS:
        raise typer.BadParameter(
            f"« {kind} » : structure, reseau ou parcours attendu", param_hint="KIND"
        )
    period = indicators.Period.parse(du, au)
    subject = indicators.Subject(KINDS[kind], ref)  # type: ignore[arg-type]
    return indicators.compute(state.runtime(), actor(by), subject, period, hide_small=hide)


@commands.command("show")
def show(
    kind: Kind, ref: Ref, du: Start = None, au: End = None, by: ByOpt = None, masquer: Hide = False
) -> None:
    """Afficher les indicateurs sur une période (par défaut les douze derniers mois)."""
    run(lambda: typer.echo(text(_compute(kind, ref, du, au, by, masquer))))


@commands.command("export")
def export(
    kind: Kind,
    ref: Ref,
    output: Annotated[Path, typer.Option("--vers", "-o", help="Fichier .csv ou .xlsx à écrire")],
    du: Start = None,
    au: End = None,
    by: ByOpt = None,
    masquer: Hide = False,
) -> None:
    """Exporter les indicateurs en CSV (séparateur « ; », UTF-8) ou en XLSX."""
    from engine.services import indicator_exports

    suffix = output.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise typer.BadParameter("le fichier doit finir par .csv ou .xlsx", param_hint="'--vers'")

    def body() -> None:
        found = _compute(kind, ref, du, au, by, masquer)
        data = (
            indicator_exports.to_csv(found)
            if suffix == ".csv"
            else indicator_exports.to_xlsx(found)
        )
        output.write_bytes(data)
        typer.echo(f"{found.title}, {found.period.label} : écrit dans {output}")

    run(body)


def text(ind: Indicators) -> str:
    lines = [f"{ind.title} — {ind.period.label} ({ind.scope_note})"]
    if ind.masked:
        lines.append("Effectifs de moins de 5 masqués (« < 5 », « masqué »).")
    lines += [f"  {label} : {value}" for label, value in ind.headline]
    for t in ind.tables:
        lines += ["", t.title, "  " + " | ".join(t.columns)]
        lines += ["  " + " | ".join([r.label, *(str(v) for v in r.values)]) for r in t.rows]
    return "\n".join(lines)
