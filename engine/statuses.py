"""The states Parcours' records go through, with the French words users see. The values are
what the database stores."""

from __future__ import annotations

from enum import StrEnum


class EnrollmentStatus(StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"
    WITHDRAWN = "withdrawn"
    """Left the pathway before its end (an early exit)."""

    @property
    def label(self) -> str:
        return {"active": "en cours", "completed": "terminé", "withdrawn": "sorti"}[self.value]


class RequestStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"

    @property
    def label(self) -> str:
        return {
            "pending": "en attente d'évaluation",
            "approved": "badge délivré",
            "rejected": "refusée",
            "withdrawn": "retirée",
        }[self.value]


class Origin(StrEnum):
    """Where a badge request comes from."""

    PARTICIPANT = "participant"
    SUIVI = "suivi"
    COLLECTIF = "collectif"
    PUBLIC = "public"

    @property
    def label(self) -> str:
        return {
            "participant": "à la demande du participant",
            "suivi": "en rendez-vous individuel de suivi",
            "collectif": "lors d'une action collective",
            "public": "par le formulaire public",
        }[self.value]


class BadgeClassStatus(StrEnum):
    ACTIVE = "active"
    PROPOSED = "proposed"
    """A structure's project badge waiting for its network's review."""
    REFUSED = "refused"
    SUPERSEDED = "superseded"
    """An earlier version of a badge class: badges issued under it keep it, none is issued."""


class PersonKind(StrEnum):
    STAFF = "staff"
    PARTICIPANT = "participant"
    SUPPORTER = "supporter"
    """Someone who took a support badge through a network's public form."""


LEARNING_CONTEXTS = {
    "AFEST": "AFEST (action de formation en situation de travail)",
    "PMSMP": "PMSMP (période de mise en situation en milieu professionnel)",
    "mission": "mission (chantier, mise à disposition, intérim)",
    "poste": "sur le poste de travail",
    "formation": "formation",
    "benevolat": "bénévolat, vie quotidienne",
}
"""Learning contexts an evidence may record (the seeds name AFEST and PMSMP): the one list the
service checks and the CLI, the API and the pages offer. Kept here, away from the database
code, so the CLI's help reads it without loading the services."""
