"""Staff roles and organisation kinds, with the French labels users see."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """What a staff member may do at one organisation."""

    CIP = "cip"
    ENCADRANT = "encadrant_technique"
    DIRECTEUR = "directeur"
    NETWORK_ADMIN = "network_admin"
    PARTNER = "partner"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS = {
    Role.CIP: "CIP",
    Role.ENCADRANT: "encadrant technique",
    Role.DIRECTEUR: "directeur",
    Role.NETWORK_ADMIN: "administrateur du réseau",
    Role.PARTNER: "partenaire",
}


class OrganisationKind(StrEnum):
    NETWORK = "network"
    STRUCTURE = "structure"
    PARTNER = "partner"


class StructureKind(StrEnum):
    """The legal forms of an SIAE (the five kinds the national IAE platform counts as SIAE).
    An entreprise adaptée (EA) is not an SIAE: it is a partner, often an employer at exit."""

    AI = "AI"
    ACI = "ACI"
    EI = "EI"
    ETTI = "ETTI"
    EITI = "EiTi"
