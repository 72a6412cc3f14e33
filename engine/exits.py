"""How a person leaves an integration parcours, in the IAE's own categories (the ones the
DGEFP's « sorties dynamiques » indicators and the structures' funders count): each outcome
belongs to one category. Pathways say which outcomes their final stages accept
(`Stage.outcomes`); an enrollment records one (`Enrollment.exit_outcome`)."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from engine.errors import InvalidInput


class ExitCategory(StrEnum):
    DURABLE = "emploi_durable"
    TRANSITION = "emploi_transition"
    POSITIVE = "sortie_positive"
    OTHER = "autre_sortie"

    @property
    def label(self) -> str:
        return CATEGORY_LABELS[self]

    @property
    def dynamic(self) -> bool:
        """Counted in the « sorties dynamiques » rate (durable + transition + positive)."""
        return self is not ExitCategory.OTHER


CATEGORY_LABELS = {
    ExitCategory.DURABLE: "Emploi durable",
    ExitCategory.TRANSITION: "Emploi de transition",
    ExitCategory.POSITIVE: "Sortie positive",
    ExitCategory.OTHER: "Autre sortie",
}


@dataclass(frozen=True)
class ExitOutcome:
    code: str
    label: str
    category: ExitCategory
    employer: bool
    """Whether asking for the employer (or training body) makes sense."""


EVENT = "exit"
"""The audit kind of an exit recorded or corrected after the last step (one recorded with the
last step is in that step's `transition` event, `details.exit`)."""

CATEGORY_CODES = frozenset(c.value for c in ExitCategory)


def _o(code: str, label: str, category: ExitCategory, employer: bool = True) -> ExitOutcome:
    return ExitOutcome(code, label, category, employer)


D, T, P, OTHER = (
    ExitCategory.DURABLE,
    ExitCategory.TRANSITION,
    ExitCategory.POSITIVE,
    ExitCategory.OTHER,
)

OUTCOMES: dict[str, ExitOutcome] = {
    o.code: o
    for o in (
        _o("cdi", "CDI", D),
        _o("cdd_6_mois_plus", "CDD de 6 mois ou plus", D),
        _o("interim_6_mois_plus", "Missions d'intérim de 6 mois ou plus", D),
        _o("creation_entreprise", "Création ou reprise d'entreprise", D),
        _o("titularisation", "Titularisation dans la fonction publique", D),
        _o("cdd_moins_6_mois", "CDD de moins de 6 mois", T),
        _o("interim_moins_6_mois", "Missions d'intérim de moins de 6 mois", T),
        _o("contrat_aide", "Contrat aidé chez un employeur ordinaire", T),
        _o("formation_qualifiante", "Formation qualifiante ou pré-qualifiante", P),
        _o("autre_siae", "Embauche dans une autre SIAE", P),
        _o("entreprise_adaptee", "Embauche en entreprise adaptée", P),
        _o("recherche_emploi", "En recherche d'emploi", OTHER, employer=False),
        _o("inactivite", "Inactivité (santé, famille…)", OTHER, employer=False),
        _o("sans_nouvelles", "Sans nouvelles", OTHER, employer=False),
        _o("autre", "Autre sortie", OTHER, employer=False),
    )
}
"""Every outcome Parcours knows, in the order forms and figures list them."""


def outcome(code: str) -> ExitOutcome:
    """The outcome for `code`; KeyError names the unknown code."""
    return OUTCOMES[code]


def by_category() -> dict[ExitCategory, list[ExitOutcome]]:
    """Outcomes grouped by category, for a form's option groups and a funder's table."""
    groups: dict[ExitCategory, list[ExitOutcome]] = {c: [] for c in ExitCategory}
    for o in OUTCOMES.values():
        groups[o.category].append(o)
    return groups


def codes_for(ref: str) -> list[str]:
    """The outcome codes a pathway's `outcomes:` entry names: one code, or every outcome of a
    category (`emploi_durable`); ValueError, in French with the nearest name, otherwise."""
    if ref in OUTCOMES:
        return [ref]
    if ref in CATEGORY_CODES:
        return [o.code for o in by_category()[ExitCategory(ref)]]
    known = [*OUTCOMES, *(c.value for c in ExitCategory)]
    close = difflib.get_close_matches(ref, known, n=1)
    if close:
        raise ValueError(f"sortie inconnue « {ref} » ; vouliez-vous dire « {close[0]} » ?")
    raise ValueError(
        f"sortie inconnue « {ref} » (les sorties : {', '.join(OUTCOMES)} ; ou une catégorie : "
        f"{', '.join(c.value for c in ExitCategory)})"
    )


def expand(refs: list[str]) -> list[str]:
    """Codes and category names as the codes they stand for, each once, in `OUTCOMES`' order:
    what a published pathway stores, so its meaning never follows a later vocabulary."""
    wanted = {code for ref in refs for code in codes_for(ref)}
    return [code for code in OUTCOMES if code in wanted]


def grouped(codes: list[str] | None) -> list[tuple[ExitCategory, list[ExitOutcome]]]:
    """The outcomes a final stage accepts (None: all of them), by category, empty categories
    left out: a form's option groups."""
    accepted = set(OUTCOMES if codes is None else codes)
    return [
        (category, [o for o in outcomes if o.code in accepted])
        for category, outcomes in by_category().items()
        if any(o.code in accepted for o in outcomes)
    ]


@dataclass(frozen=True)
class Exit:
    """How one person left, as staff record it: the outcome, the day (default: today) and,
    for an outcome that has one, the employer or training body."""

    outcome: str
    on: date | None = None
    employer: str | None = None


_PERSONAL = re.compile(r"@|\d(?:[\s.-]?\d){5,}")
"""An e-mail address or a phone number: the employer field names an organisation."""


def check(
    exit: Exit | None,
    accepted: list[str] | None,
    *,
    started_on: date,
    today: date,
    stage_title: str,
) -> Exit | None:
    """The exit to store on entering (or after) a final stage whose `outcomes` are `accepted`
    (None: any outcome, none required; []: none recorded). InvalidInput in French naming the
    field (« sortie », « date de sortie », « employeur »)."""
    if exit is None or not exit.outcome.strip():
        if accepted:
            listed = ", ".join(OUTCOMES[c].label for c in accepted)
            raise InvalidInput(
                f"sortie : indiquez comment la personne quitte le parcours (étape « "
                f"{stage_title} » : {listed})"
            )
        return None
    code = exit.outcome.strip()
    if accepted is not None and not accepted:
        raise InvalidInput(f"sortie : l'étape « {stage_title} » n'enregistre pas de sortie")
    if code not in OUTCOMES:
        try:
            codes_for(code)
        except ValueError as exc:
            raise InvalidInput(str(exc)) from None
        raise InvalidInput(
            f"sortie : « {code} » est une catégorie ; choisissez l'une de ses sorties "
            f"({', '.join(o.code for o in by_category()[ExitCategory(code)])})"
        )
    found = OUTCOMES[code]
    if accepted is not None and code not in accepted:
        listed = ", ".join(OUTCOMES[c].label for c in accepted)
        raise InvalidInput(
            f"sortie : « {found.label} » n'est pas une sortie prévue à l'étape « {stage_title} » "
            f"(sorties prévues : {listed})"
        )
    on = exit.on or today
    if on > today:
        raise InvalidInput(
            f"date de sortie : le {on:%d/%m/%Y} est dans le futur ; "
            "enregistrez la sortie une fois qu'elle a eu lieu"
        )
    if on < started_on:
        raise InvalidInput(
            f"date de sortie : le {on:%d/%m/%Y} précède l'entrée dans le parcours "
            f"(le {started_on:%d/%m/%Y})"
        )
    employer = " ".join((exit.employer or "").split()) or None
    if employer is not None:
        if not found.employer:
            raise InvalidInput(
                f"employeur : sans objet pour la sortie « {found.label} » ; laissez-le vide"
            )
        if len(employer) > 200:
            raise InvalidInput("employeur : 200 caractères au plus")
        if _PERSONAL.search(employer):
            raise InvalidInput(
                "employeur : le nom de l'entreprise ou de l'organisme seulement, sans adresse "
                "e-mail ni numéro de téléphone"
            )
    return Exit(code, on, employer)


@dataclass(frozen=True)
class RecordedExit:
    """An exit as pages and the API show it."""

    outcome: str
    label: str
    category: str
    category_label: str
    on: date | None
    employer: str | None

    @property
    def said(self) -> str:
        """« CDI (Emploi durable), le 12/03/2026, Chaudronnerie de l'Iroise »."""
        text = f"{self.label} ({self.category_label})"
        if self.on:
            text += f", le {self.on:%d/%m/%Y}"
        return f"{text}, {self.employer}" if self.employer else text


def recorded(code: str | None, on: date | None, employer: str | None) -> RecordedExit | None:
    """The stored columns, said in words; None when no exit is recorded. A code this version
    no longer knows is shown as it is, in « Autre sortie »."""
    if not code:
        return None
    found = OUTCOMES.get(code)
    if found is None:
        return RecordedExit(code, code, OTHER.value, OTHER.label, on, employer)
    return RecordedExit(code, found.label, found.category.value, found.category.label, on, employer)
