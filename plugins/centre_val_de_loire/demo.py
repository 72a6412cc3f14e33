"""Centre-Val de Loire's demo story: a savoir-faire badge signed by the encadrant technique,
the CIP and the director, from an AFEST observation."""

from __future__ import annotations

from typing import Any

from engine.services import people, requests
from engine.services.accounts import principal
from engine.services.organisations import add_staff, upsert_organisation
from engine.services.runtime import Runtime

TEAM = (
    ("remi.petit@chantier-blois.example", "Rémi", "Petit", "encadrant_technique"),
    ("sophie.blanc@chantier-blois.example", "Sophie", "Blanc", "cip"),
    ("marie.lefort@chantier-blois.example", "Marie", "Lefort", "directeur"),
)


def play(rt: Runtime, demo: Any) -> list[int]:
    with rt.unit_of_work() as s:
        upsert_organisation(
            s,
            "chantier-blois",
            "Chantier d'insertion de Blois",
            "structure",
            structure_kind="ACI",
            networks=["centre_val_de_loire"],
        )
        for email, given, family, role in TEAM:
            add_staff(s, email, given, family, [("chantier-blois", role)])
    encadrant, cip, director = (principal(rt, email) for email, *_ in TEAM)
    sam = people.add_participant(rt, "chantier-blois", "Sam", "Girard", by=cip)
    rid = requests.submit(
        rt,
        "centre_val_de_loire.entretien-espaces-verts",
        by=encadrant,
        participant_id=sam,
        narrative="Taille de haies et tonte du parc municipal, EPI portés.",
        now=demo.now,
    )
    requests.add_evidence(
        rt, rid, "observation", by=encadrant, context="AFEST", narrative="Grille AFEST remplie"
    )
    reasons = ("Gestes sûrs, travail soigné", "Projet espaces verts confirmé", "Validé")
    for who, reason in zip((encadrant, cip, director), reasons, strict=True):
        view = requests.review(rt, rid, by=who, approve=True, reason=reason, now=demo.now)
    demo.say(
        "Centre-Val de Loire : Sam Girard obtient « Entretien des espaces verts », signé par "
        f"l'encadrant technique, la CIP et la directrice (observation AFEST) — {view.status_label}."
    )
    return []
