"""Identifiers: one rule for networks, partners, structures, pathways, stages, triggers and
badges, so what a network may name one thing it may name them all, and a refusal says exactly
what is wrong with which value."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field

RULE = (
    "lettres minuscules sans accent, chiffres, « - » et « _ », en commençant par une lettre "
    "ou un chiffre"
)
_SLUG = r"[a-z0-9][a-z0-9_-]*"
_SLUG_RE = re.compile(rf"^{_SLUG}$")
_BADGE_RE = re.compile(rf"^{_SLUG}\.{_SLUG}$")
SLUG_MAX = 80
BADGE_ID_MAX = 120


def slug_problem(value: str) -> str | None:
    """None for a valid identifier, else the French sentence that says why not."""
    if not _SLUG_RE.fullmatch(value):
        return f"« {value} » n'est pas un identifiant valide : {RULE} (ex. « centre-val-de-loire »)"
    if len(value) > SLUG_MAX:
        return f"« {value[:20]}… » : un identifiant a {SLUG_MAX} caractères au plus"
    return None


def badge_id_problem(value: str) -> str | None:
    """None for a valid badge id (`réseau.nom`), else the French sentence that says why not."""
    if not _BADGE_RE.fullmatch(value):
        network, dot, name = value.partition(".")
        if not dot:
            return (
                f"« {value} » n'est pas un identifiant de badge : il s'écrit « réseau.nom » "
                "(ex. « sato.ponctualite »)"
            )
        wrong = network if not _SLUG_RE.fullmatch(network) else name
        return (
            f"« {value} » n'est pas un identifiant de badge valide : « réseau.nom », et "
            f"« {wrong} » doit s'écrire en {RULE}"
        )
    if len(value) > BADGE_ID_MAX:
        return f"« {value[:20]}… » : un identifiant de badge a {BADGE_ID_MAX} caractères au plus"
    return None


def _check(problem_of):
    def check(value: str) -> str:
        problem = problem_of(value)
        if problem:
            raise ValueError(problem)
        return value

    return check


Slug = Annotated[str, Field(min_length=1), AfterValidator(_check(slug_problem))]
BadgeId = Annotated[str, Field(min_length=1), AfterValidator(_check(badge_id_problem))]
