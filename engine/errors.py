"""Domain errors. Messages are French because they reach staff as they are."""

from __future__ import annotations

from dataclasses import dataclass


class ParcoursError(Exception):
    """Base of every error Parcours reports to a user (CLI exit 1, API problem detail)."""

    title = "Erreur"


class NotFound(ParcoursError):
    title = "Introuvable"


class Unauthenticated(ParcoursError):
    """No valid session, API token or link: the caller must log in first."""

    title = "Connexion requise"


class Forbidden(ParcoursError):
    """The acting staff member has no right on this enrollment or action."""

    title = "Action non autorisée"


class Conflict(ParcoursError):
    """Someone else changed the same record first; the caller should reload and retry."""

    title = "Conflit"


class InvalidInput(ParcoursError):
    title = "Donnée invalide"


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a pathway or network file, located as precisely as we can."""

    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        field = f" [{self.field}]" if self.field else ""
        return f"{where}:{field} {self.message}"


class DefinitionInvalid(ParcoursError):
    """A network's file (pathway or network definition) failed validation; carries every
    problem found, not just the first."""

    title = "Fichier invalide"

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class PathwayInvalid(DefinitionInvalid):
    title = "Parcours invalide"


class NetworkInvalid(DefinitionInvalid):
    title = "Définition de réseau invalide"


class GateRefused(ParcoursError):
    """A transition's gate is not satisfied; `unmet` lists every missing condition in French."""

    title = "Conditions non remplies"

    def __init__(self, trigger: str, unmet: list[str]):
        self.trigger = trigger
        self.unmet = unmet
        super().__init__(f"Passage « {trigger} » refusé : " + " ; ".join(unmet))
