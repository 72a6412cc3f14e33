"""Centre-Val de Loire's demo story: a savoir-faire badge signed by the encadrant technique,
the CIP and the director, from an AFEST observation; then two savoir-être requests waiting for
their signatures."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine import DemoContext

TEAM = (
    ("remi.petit@chantier-blois.example", "Rémi", "Petit", "encadrant_technique"),
    ("sophie.blanc@chantier-blois.example", "Sophie", "Blanc", "cip"),
    ("marie.lefort@chantier-blois.example", "Marie", "Lefort", "directeur"),
)
ADMIN = "julien.moreau@fei-centre-val-de-loire.example"


def play(demo: DemoContext) -> list[int]:
    demo.add_structure(
        "chantier-blois", "Chantier d'insertion de Blois", "ACI", networks=["centre_val_de_loire"]
    )
    for email, given, family, role in TEAM:
        demo.add_staff(email, given, family, [("chantier-blois", role)])
    encadrant, cip, director = (email for email, *_ in TEAM)
    demo.add_staff(ADMIN, "Julien", "Moreau", [("centre_val_de_loire", "network_admin")])
    for login in (ADMIN, cip, encadrant, director):
        demo.offer_login(login)
    demo.days_ago(30)
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
    demo.days_ago(6)
    lucas = demo.add_participant("chantier-blois", "Lucas", "Bernard", by=cip)
    rid = demo.submit_request(
        "centre_val_de_loire.ponctualite",
        by=encadrant,
        participant_id=lucas,
        narrative="Un mois complet sans retard sur le chantier du parc.",
    )
    demo.review_request(rid, by=encadrant, approve=True, reason="Toujours à l'heure")
    demo.wait(2)
    emma = demo.add_participant("chantier-blois", "Emma", "Laurent", by=cip)
    demo.submit_request(
        "centre_val_de_loire.travail-equipe",
        by=encadrant,
        participant_id=emma,
        narrative="A encadré deux nouveaux salariés pendant la taille des haies.",
    )
    demo.say("Centre-Val de Loire : deux demandes de badge attendent leurs signatures.")
    return []
