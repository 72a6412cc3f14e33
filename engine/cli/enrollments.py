"""`parcours enroll`, `advance`, `record-exit`, `status`, `history`, `award`, `decide` and
`parcours evidence add`: what a structure's team does along one person's pathway."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer

from engine.cli.context import By, Note, actor, run, state
from engine.exits import OUTCOMES
from engine.statuses import LEARNING_CONTEXTS

if TYPE_CHECKING:
    from engine.exits import Exit

commands = typer.Typer()
"""Top-level commands: `parcours enroll`, not `parcours enrollment enroll`."""
evidence_commands = typer.Typer(help="Pièces justificatives.", no_args_is_help=True)

CheckedBy = Annotated[
    str | None,
    typer.Option("--by", help="Vérifie que ce membre d'équipe a accès à ce parcours"),
]


@commands.command()
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
    from engine.services import enrollments as svc

    def body() -> None:
        eid = svc.enroll(
            state.runtime(),
            pathway,
            structure,
            svc.Participant(given_name, family_name, email),
            by=actor(by),
            version=version,
            note=note,
        )
        typer.echo(f"parcours n° {eid} créé pour {given_name} {family_name}")

    run(body)


Outcome = Annotated[
    str | None,
    typer.Option(
        "--sortie",
        help="Comment la personne quitte le parcours, en entrant dans une étape finale : "
        + ", ".join(OUTCOMES),
    ),
]
ExitDate = Annotated[
    datetime | None,
    typer.Option(
        "--date-sortie",
        formats=["%Y-%m-%d", "%d/%m/%Y"],
        metavar="<date>",
        help="Date de la sortie (AAAA-MM-JJ ou JJ/MM/AAAA) ; défaut : aujourd'hui",
    ),
]
Employer = Annotated[
    str | None,
    typer.Option(
        "--employeur",
        help="Employeur ou organisme de formation, pour une sortie en emploi ou en formation "
        "(le nom d'une organisation, jamais d'une personne)",
    ),
]


def _exit(outcome: str | None, on: datetime | None, employer: str | None) -> Exit | None:
    from engine.exits import Exit

    if outcome is None and on is None and employer is None:
        return None
    return Exit(outcome or "", on.date() if on else None, employer)


@commands.command()
def advance(
    enrollment: int,
    trigger: str,
    by: By,
    note: Note = None,
    sortie: Outcome = None,
    date_sortie: ExitDate = None,
    employeur: Employer = None,
) -> None:
    """Faire passer une personne à l'étape suivante ; explique toute condition non remplie.
    Vers une étape finale, --sortie dit comment la personne quitte le parcours."""
    from engine.services import enrollments as svc

    def body() -> None:
        rt = state.runtime()
        result = svc.advance(
            rt,
            enrollment,
            trigger,
            by=actor(by),
            note=note,
            exit=_exit(sortie, date_sortie, employeur),
        )
        typer.echo(f"parcours n° {enrollment} : {result.from_stage} → {result.to_stage}")
        if result.awarded:
            with rt.unit_of_work() as s:
                names = rt.catalogue(s)
            for badge in result.awarded:
                typer.echo(f"  badge délivré : {names[badge].name}")

    run(body)


@commands.command("record-exit")
def record_exit(
    enrollment: int,
    by: By,
    sortie: Annotated[
        str,
        typer.Option(
            "--sortie", help="Comment la personne a quitté le parcours : " + ", ".join(OUTCOMES)
        ),
    ],
    date_sortie: ExitDate = None,
    employeur: Employer = None,
    note: Note = None,
) -> None:
    """Enregistrer ou corriger la sortie d'un parcours terminé (une correction est motivée
    avec --note)."""
    from engine import exits
    from engine.services import enrollments as svc

    def body() -> None:
        stored = svc.record_exit(
            state.runtime(),
            enrollment,
            exits.Exit(sortie, date_sortie.date() if date_sortie else None, employeur),
            by=actor(by),
            note=note,
        )
        shown = exits.recorded(stored.outcome, stored.on, stored.employer)
        assert shown is not None
        typer.echo(f"parcours n° {enrollment} : sortie {shown.said}")

    run(body)


@commands.command()
def status(enrollment: int, by: CheckedBy = None) -> None:
    """Où en est la personne, et ce qu'il lui faut pour chaque étape suivante."""
    from engine.cli.render import status_text
    from engine.services import enrollment_views as svc

    def body() -> None:
        st = svc.status(state.runtime(), enrollment, by=actor(by))
        typer.echo(status_text(st))
        if st.exit:
            typer.echo(f"  Sortie : {st.exit.said}")
        elif st.exit_recordable:
            typer.echo("  Sortie : non renseignée (parcours record-exit)")

    run(body)


@commands.command()
def history(enrollment: int, by: CheckedBy = None) -> None:
    """Historique complet : qui a fait quoi, quand, et pourquoi."""
    from engine.cli.render import history_text
    from engine.services import enrollment_views as svc

    def body() -> None:
        typer.echo(history_text(svc.history(state.runtime(), enrollment, by=actor(by))))

    run(body)


@evidence_commands.command("add")
def evidence_add(
    enrollment: int,
    kind: str,
    by: By,
    narrative: Annotated[str | None, typer.Option(help="Description")] = None,
    url: Annotated[str | None, typer.Option(help="Lien vers le document")] = None,
    context: Annotated[
        str | None, typer.Option(help=f"Contexte d'apprentissage ({', '.join(LEARNING_CONTEXTS)})")
    ] = None,
) -> None:
    """Joindre une pièce justificative à l'étape en cours."""
    from engine.services import enrollments as svc

    def body() -> None:
        svc.add_evidence(
            state.runtime(),
            enrollment,
            kind,
            by=actor(by),
            narrative=narrative,
            url=url,
            context=context,
        )
        typer.echo(f"pièce « {kind} » jointe au parcours n° {enrollment}")

    run(body)


@commands.command()
def award(
    enrollment: int,
    badge: str,
    by: By,
    narrative: Annotated[str | None, typer.Option(help="Preuve ou commentaire")] = None,
) -> None:
    """Délivrer un badge (par exemple un sous-badge évalué par l'encadrant technique)."""
    from engine.services import enrollments as svc

    def body() -> None:
        svc.award(state.runtime(), enrollment, badge, by=actor(by), narrative=narrative)
        typer.echo(f"badge « {badge} » délivré (parcours n° {enrollment})")

    run(body)


@commands.command()
def decide(
    enrollment: int,
    trigger: str,
    by: By,
    reason: Annotated[str, typer.Option(help="Motifs de la décision")],
    approve: Annotated[bool, typer.Option("--approve/--reject", help="Avis du comité")] = True,
) -> None:
    """Enregistrer la décision du comité d'attribution sur un passage."""
    from engine.services import enrollments as svc

    def body() -> None:
        svc.record_decision(state.runtime(), enrollment, trigger, approve, reason, by=actor(by))
        typer.echo(
            f"décision {'favorable' if approve else 'défavorable'} enregistrée "
            f"pour « {trigger} » (parcours n° {enrollment})"
        )

    run(body)
