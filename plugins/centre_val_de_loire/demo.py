"""Centre-Val de Loire's demo story: a savoir-faire badge signed by the encadrant technique,
the CIP and the director, from an AFEST observation."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine import DemoContext

TEAM = (
    ("remi.petit@chantier-blois.example", "Rémi", "Petit", "encadrant_technique"),
    ("sophie.blanc@chantier-blois.example", "Sophie", "Blanc", "cip"),
    ("marie.lefort@chantier-blois.example", "Marie", "Lefort", "directeur"),
)


def play(demo: DemoContext) -> list[int]:
    demo.add_structure(
        "chantier-blois", "Chantier d'insertion de Blois", "ACI", networks=["centre_val_de_loire"]
    )
    for email, given, family, role in TEAM:
        demo.add_staff(email, given, family, [("chantier-blois", role)])
    encadrant, cip, director = (email for email, *_ in TEAM)
    sam = demo.add_participant("chantier-blois", "Sam", "Girard", by=cip)
    rid = demo.submit_request(
        "centre_val_de_loire.entretien-espaces-verts",
        by=encadrant,
        participant_id=sam,
        narrative="Taille de haies et tonte du parc municipal, EPI portés.",
    )
    demo.add_request_evidence(
        rid, "observation", by=encadrant, context="AFEST", narrative="Grille AFEST remplie"
    )
    reasons = ("Gestes sûrs, travail soigné", "Projet espaces verts confirmé", "Validé")
    for who, reason in zip((encadrant, cip, director), reasons, strict=True):
        outcome = demo.review_request(rid, by=who, approve=True, reason=reason)
    demo.say(
        "Centre-Val de Loire : Sam Girard obtient « Entretien des espaces verts », signé par "
        "l'encadrant technique, la CIP et la directrice (observation AFEST) — "
        f"{outcome.status_label}."
    )
    return []
