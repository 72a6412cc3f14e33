"""SATO's demo story: one participant through « Femmes et métallurgie », one through the EiTi."""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine import GateRefused

if TYPE_CHECKING:
    from engine import DemoContext

CIP = "claire.martin@sato-interim.example"
ENCADRANT = "marc.legall@sato-interim.example"
DIRECTRICE = "helene.kerbrat@sato.example"
CIP_EITI = "yann.morvan@sato-eiti.example"


def play(demo: DemoContext) -> list[int]:
    demo.add_structure("sato-interim", "SATO Intérim", "ETTI", networks=["sato"])
    demo.add_structure("sato-eiti", "SATO EiTi", "EiTi", networks=["sato"])
    demo.add_staff(CIP, "Claire", "Martin", [("sato-interim", "cip")])
    demo.add_staff(ENCADRANT, "Marc", "Le Gall", [("sato-interim", "encadrant_technique")])
    demo.add_staff(
        DIRECTRICE,
        "Hélène",
        "Kerbrat",
        [("sato-interim", "directeur"), ("sato-eiti", "directeur")],
    )
    demo.add_staff(CIP_EITI, "Yann", "Morvan", [("sato-eiti", "cip")])
    # Each structure's validation commission (SATO's rule: two votes) decides the committee
    # gates: the contract with the GEIQ, the EiTi's autonomy.
    for structure, name, members in (
        ("sato-interim", "Commission de validation SATO Intérim", (CIP, ENCADRANT, DIRECTRICE)),
        ("sato-eiti", "Commission de validation SATO EiTi", (CIP_EITI, DIRECTRICE)),
    ):
        cid = demo.create_committee(name, "sato.validation", by=DIRECTRICE, structure=structure)
        for member in members:
            demo.add_committee_member(cid, member, by=DIRECTRICE)
    return [_femmes_metallurgie(demo), _eiti(demo)]


def _femmes_metallurgie(demo: DemoContext) -> int:
    eid = demo.enroll(
        "sato-femmes-metallurgie",
        "sato-interim",
        "Awa",
        "Diallo",
        by=CIP,
        note="Mobilisée lors de la réunion d'information du GEIQ",
    )
    demo.wait(7)
    demo.award(
        eid,
        "sato.jeu-de-piste",
        by=ENCADRANT,
        narrative="Quatre entreprises visitées à Brest et Landerneau",
    )
    demo.award(eid, "sato.securite-atelier", by=ENCADRANT)
    demo.wait(3)
    demo.advance(eid, "commencer-immersion", by=CIP, note="PMSMP chez un chaudronnier partenaire")
    demo.wait(5)
    try:  # too early, and the papers are missing: the gate says everything that is unmet
        demo.advance(eid, "valider-projet", by=CIP)
    except GateRefused as refused:
        demo.say(f"Awa Diallo, tentative trop tôt : {refused}")
    demo.add_evidence(eid, "convention-pmsmp", by=CIP, context="PMSMP")
    demo.wait(9)
    demo.add_evidence(
        eid, "bilan-immersion", by=CIP, narrative="Bilan favorable du tuteur", context="PMSMP"
    )
    demo.award(eid, "sato.immersion-reussie", by=CIP)
    demo.award(eid, "sato.projet-professionnel", by=CIP)
    demo.advance(eid, "valider-projet", by=CIP)
    demo.wait(40)
    for badge in ("sato.ponctualite", "sato.travail-equipe", "sato.geste-professionnel"):
        demo.award(eid, badge, by=ENCADRANT)
    demo.record_decision(
        eid,
        "signer-contrat-pro",
        True,
        "Commission d'entrée du GEIQ : projet confirmé, tutrice désignée",
        by=DIRECTRICE,
    )
    demo.record_decision(
        eid, "signer-contrat-pro", True, "Gestes sûrs et ponctualité en mission", by=ENCADRANT
    )
    demo.wait(2)
    demo.advance(
        eid,
        "signer-contrat-pro",
        by=DIRECTRICE,
        note="Contrat de professionnalisation de 12 mois, soudeuse",
    )
    return eid


def _eiti(demo: DemoContext) -> int:
    eid = demo.enroll(
        "sato-eiti",
        "sato-eiti",
        "Yannick",
        "Le Bihan",
        by=CIP_EITI,
        note="Activité de réparation de vélos",
    )
    demo.wait(20)
    demo.add_evidence(
        eid, "diagnostic-activite", by=CIP_EITI, narrative="Diagnostic partagé avec l'ADIE"
    )
    demo.advance(eid, "valider-diagnostic", by=CIP_EITI)
    demo.wait(35)
    demo.award(eid, "sato.eiti-gestion", by=CIP_EITI)
    demo.award(eid, "sato.eiti-tarification", by=CIP_EITI)
    demo.add_evidence(eid, "rdv-bge", by=CIP_EITI, narrative="Rendez-vous de suivi avec la BGE")
    demo.advance(eid, "valider-structuration", by=CIP_EITI)
    demo.wait(70)
    demo.award(eid, "sato.eiti-prospection", by=CIP_EITI)
    demo.record_decision(
        eid,
        "valider-autonomie",
        True,
        "Comité de suivi SATO–ADIE–BGE : chiffre d'affaires stable sur 3 mois",
        by=DIRECTRICE,
    )
    demo.record_decision(
        eid, "valider-autonomie", True, "Trésorerie tenue, clientèle régulière", by=CIP_EITI
    )
    demo.advance(eid, "valider-autonomie", by=DIRECTRICE)
    return eid
