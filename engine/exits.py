"""How a person leaves an integration parcours, in the IAE's own categories (the ones the
DGEFP's « sorties dynamiques » indicators and the structures' funders count): each outcome
belongs to one category. Pathways say which outcomes their final stages accept
(`Stage.outcomes`); an enrollment records one (`Enrollment.exit_outcome`)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


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
