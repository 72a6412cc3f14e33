"""What each kind of event in an enrollment's history is called, in French. The pages, the
participant's space, the command line and the demo read this one list, so a kind added once is
named everywhere instead of showing its code (`badge_requested`) to a CIP."""

from __future__ import annotations

LABELS: dict[str, str] = {
    "enrolled": "Entrée dans le parcours",
    "transition": "Passage d'étape",
    "exit": "Sortie",
    "evidence": "Pièce justificative",
    "badge_issued": "Badge délivré",
    "badge_revoked": "Badge révoqué",
    "badge_requested": "Demande de badge",
    "badge_review": "Avis sur une demande de badge",
    "badge_request_decided": "Décision sur une demande de badge",
    "badge_request_withdrawn": "Demande de badge retirée",
    "committee_decision": "Décision de comité",
    "migration": "Changement de version",
    "erased": "Données effacées",
    "link_requested": "Demande d'un nouveau lien par le participant",
    "inbound_event": "Événement d'une plateforme partenaire",
    "participants_imported": "Import de participants",
    "group_award": "Badge d'une action collective",
}


def label(kind: str) -> str:
    """The French name of `kind`; « Événement » for a kind this version does not know."""
    return LABELS.get(kind, "Événement")
