"""SATO's demo story: one participant through « Femmes et métallurgie », one through the EiTi."""

from __future__ import annotations

from typing import Any

from engine.errors import GateRefused
from engine.services import enrollments as e
from engine.services.organisations import add_staff, upsert_organisation
from engine.services.runtime import Runtime

CIP = "claire.martin@sato-interim.example"
ENCADRANT = "marc.legall@sato-interim.example"
DIRECTRICE = "helene.kerbrat@sato.example"
CIP_EITI = "yann.morvan@sato-eiti.example"


def play(rt: Runtime, demo: Any) -> list[int]:
    with rt.unit_of_work() as s:
        upsert_organisation(
            s, "sato-interim", "SATO Intérim", "structure", structure_kind="ETTI", networks=["sato"]
        )
        upsert_organisation(
            s, "sato-eiti", "SATO EiTi", "structure", structure_kind="EiTi", networks=["sato"]
        )
        add_staff(s, CIP, "Claire", "Martin", [("sato-interim", "cip")])
        add_staff(s, ENCADRANT, "Marc", "Le Gall", [("sato-interim", "encadrant_technique")])
        add_staff(
            s,
            DIRECTRICE,
            "Hélène",
            "Kerbrat",
            [("sato-interim", "directeur"), ("sato-eiti", "directeur")],
        )
        add_staff(s, CIP_EITI, "Yann", "Morvan", [("sato-eiti", "cip")])
    return [_femmes_metallurgie(rt, demo), _eiti(rt, demo)]


def _femmes_metallurgie(rt: Runtime, demo: Any) -> int:
    eid = e.enroll(
        rt,
        "sato-femmes-metallurgie",
        "sato-interim",
        e.Participant("Awa", "Diallo"),
        by=CIP,
        now=demo.now,
        note="Mobilisée lors de la réunion d'information du GEIQ",
    )
    demo.wait(7)
    e.award(
        rt,
        eid,
        "sato.jeu-de-piste",
        by=ENCADRANT,
        now=demo.now,
        narrative="Quatre entreprises visitées à Brest et Landerneau",
    )
    e.award(rt, eid, "sato.securite-atelier", by=ENCADRANT, now=demo.now)
    demo.wait(3)
    e.advance(
        rt,
        eid,
        "commencer-immersion",
        by=CIP,
        now=demo.now,
        note="PMSMP chez un chaudronnier partenaire",
    )
    demo.wait(5)
    try:  # too early, and the papers are missing: the gate says everything that is unmet
        e.advance(rt, eid, "valider-projet", by=CIP, now=demo.now)
    except GateRefused as refused:
        demo.say(f"Awa Diallo, tentative trop tôt : {refused}")
    e.add_evidence(rt, eid, "convention-pmsmp", by=CIP, now=demo.now, context="PMSMP")
    demo.wait(9)
    e.add_evidence(
        rt,
        eid,
        "bilan-immersion",
        by=CIP,
        now=demo.now,
        narrative="Bilan favorable du tuteur",
        context="PMSMP",
    )
    e.award(rt, eid, "sato.immersion-reussie", by=CIP, now=demo.now)
    e.award(rt, eid, "sato.projet-professionnel", by=CIP, now=demo.now)
    e.advance(rt, eid, "valider-projet", by=CIP, now=demo.now)
    demo.wait(40)
    for badge in ("sato.ponctualite", "sato.travail-equipe", "sato.geste-professionnel"):
        e.award(rt, eid, badge, by=ENCADRANT, now=demo.now)
    e.record_decision(
        rt,
        eid,
        "signer-contrat-pro",
        True,
        "Commission d'entrée du GEIQ : projet confirmé, tutrice désignée",
        by=DIRECTRICE,
        now=demo.now,
    )
    demo.wait(2)
    e.advance(
        rt,
        eid,
        "signer-contrat-pro",
        by=DIRECTRICE,
        now=demo.now,
        note="Contrat de professionnalisation de 12 mois, soudeuse",
    )
    return eid


def _eiti(rt: Runtime, demo: Any) -> int:
    eid = e.enroll(
        rt,
        "sato-eiti",
        "sato-eiti",
        e.Participant("Yannick", "Le Bihan"),
        by=CIP_EITI,
        now=demo.now,
        note="Activité de réparation de vélos",
    )
    demo.wait(20)
    e.add_evidence(
        rt,
        eid,
        "diagnostic-activite",
        by=CIP_EITI,
        now=demo.now,
        narrative="Diagnostic partagé avec l'ADIE",
    )
    e.advance(rt, eid, "valider-diagnostic", by=CIP_EITI, now=demo.now)
    demo.wait(35)
    e.award(rt, eid, "sato.eiti-gestion", by=CIP_EITI, now=demo.now)
    e.award(rt, eid, "sato.eiti-tarification", by=CIP_EITI, now=demo.now)
    e.add_evidence(
        rt, eid, "rdv-bge", by=CIP_EITI, now=demo.now, narrative="Rendez-vous de suivi avec la BGE"
    )
    e.advance(rt, eid, "valider-structuration", by=CIP_EITI, now=demo.now)
    demo.wait(70)
    e.award(rt, eid, "sato.eiti-prospection", by=CIP_EITI, now=demo.now)
    e.record_decision(
        rt,
        eid,
        "valider-autonomie",
        True,
        "Comité de suivi SATO–ADIE–BGE : chiffre d'affaires stable sur 3 mois",
        by=DIRECTRICE,
        now=demo.now,
    )
    e.advance(rt, eid, "valider-autonomie", by=DIRECTRICE, now=demo.now)
    return eid
