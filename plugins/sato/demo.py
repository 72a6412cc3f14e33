"""SATO's demo story: one participant through « Femmes et métallurgie », one through the EiTi,
both told in full, each with how they left (a CDI, a business of his own); then the structure
as a visitor finds it today: women half-way through the metallurgy pathway (two of them past a
stage's deadline, one waiting for the commission's second vote), two who left early (one for a
short contract; one whose qualifying training was known weeks later), an independent worker at
the EiTi's second phase, and the badges shared with the GEIQ (received) and ADIE (whose system
does not answer)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine import GateRefused

if TYPE_CHECKING:
    from engine import DemoContext

CIP = "claire.martin@sato-interim.example"
ENCADRANT = "marc.legall@sato-interim.example"
DIRECTRICE = "helene.kerbrat@sato.example"
CIP_EITI = "yann.morvan@sato-eiti.example"
ADMIN = "gaelle.lefloch@sato.example"
GEIQ = "sylvie.leroux@geiq-industrie-bretagne.example"
ADIE = "karim.saidi@adie.example"


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
    demo.add_staff(ADMIN, "Gaëlle", "Le Floch", [("sato", "network_admin")])
    demo.add_staff(GEIQ, "Sylvie", "Le Roux", [("geiq-industrie", "partner")])
    demo.add_staff(ADIE, "Karim", "Saïdi", [("adie", "partner")])
    for login in (ADMIN, CIP, ENCADRANT, DIRECTRICE, GEIQ, ADIE):
        demo.offer_login(login)
    demo.connect_partner(
        "geiq-industrie", by=GEIQ, url="https://geiq-industrie-bretagne.example/parcours/badges"
    )
    # Each structure's validation commission (SATO's rule: two votes) decides the committee
    # gates: the contract with the GEIQ, the EiTi's autonomy.
    for structure, name, members in (
        ("sato-interim", "Commission de validation SATO Intérim", (CIP, ENCADRANT, DIRECTRICE)),
        ("sato-eiti", "Commission de validation SATO EiTi", (CIP_EITI, DIRECTRICE)),
    ):
        cid = demo.create_committee(name, "sato.validation", by=DIRECTRICE, structure=structure)
        for member in members:
            demo.add_committee_member(cid, member, by=DIRECTRICE)
    told = [_femmes_metallurgie(demo), _eiti(demo)]
    _half_way(demo)
    return told


def _femmes_metallurgie(demo: DemoContext) -> int:
    demo.days_ago(230)
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
        note="Contrat de professionnalisation en CDI, soudeuse",
        outcome="cdi",
        employer="Chaudronnerie de l'Iroise",
    )
    demo.deliver()
    return eid


def _eiti(demo: DemoContext) -> int:
    demo.days_ago(200)
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
    demo.advance(
        eid,
        "valider-autonomie",
        by=DIRECTRICE,
        outcome="creation_entreprise",
        employer="Cycles du Ponant",
    )
    return eid


def _half_way(demo: DemoContext) -> None:
    """Where SATO's participants stand today."""
    demo.days_ago(150)
    julie = demo.enroll("sato-femmes-metallurgie", "sato-interim", "Julie", "Kerjean", by=CIP)
    demo.wait(18)
    demo.advance(julie, "sortir", by=CIP, note="Déménagement hors du Finistère")
    demo.wait(25)  # her CIP learns weeks later where she went
    demo.record_exit(
        julie,
        "formation_qualifiante",
        by=CIP,
        days_ago=10,
        employer="AFPA de Rennes",
        note="Titre professionnel de soudeur, appris par téléphone",
    )

    demo.days_ago(95)
    morgane = demo.enroll("sato-femmes-metallurgie", "sato-interim", "Morgane", "Le Goff", by=CIP)
    demo.wait(6)
    demo.award(morgane, "sato.jeu-de-piste", by=ENCADRANT, narrative="Deux ateliers visités")
    demo.wait(9)
    demo.advance(
        morgane,
        "sortir",
        by=CIP,
        note="Embauchée avant la fin de la découverte",
        outcome="cdd_moins_6_mois",
        employer="Soudure brestoise",
    )

    demo.days_ago(110)
    sarah = demo.enroll(
        "sato-femmes-metallurgie",
        "sato-interim",
        "Sarah",
        "Bellec",
        by=CIP,
        email="sarah.bellec@example.org",
        note="Orientée par France Travail",
    )
    demo.wait(8)
    demo.award(sarah, "sato.jeu-de-piste", by=ENCADRANT, narrative="Trois ateliers visités")
    demo.award(sarah, "sato.securite-atelier", by=ENCADRANT)
    demo.advance(sarah, "commencer-immersion", by=CIP, note="PMSMP en tôlerie à Landerneau")
    demo.add_evidence(sarah, "convention-pmsmp", by=CIP, context="PMSMP")
    demo.wait(12)
    demo.add_evidence(
        sarah, "bilan-immersion", by=CIP, narrative="Tutrice très satisfaite", context="PMSMP"
    )
    demo.award(sarah, "sato.immersion-reussie", by=CIP)
    demo.award(sarah, "sato.projet-professionnel", by=CIP)
    demo.advance(sarah, "valider-projet", by=CIP, note="Mission de soudage chez un client")
    demo.wait(45)
    for badge in ("sato.ponctualite", "sato.travail-equipe", "sato.geste-professionnel"):
        demo.award(sarah, badge, by=ENCADRANT)
    demo.wait(30)
    demo.record_decision(
        sarah, "signer-contrat-pro", True, "Projet solide, le GEIQ a une place", by=CIP
    )
    demo.say("Sarah Bellec : un vote de la commission sur deux pour le contrat de pro.")
    demo.deliver()

    demo.days_ago(80)
    nathalie = demo.enroll("sato-femmes-metallurgie", "sato-interim", "Nathalie", "Guen", by=CIP)
    demo.wait(5)
    demo.award(nathalie, "sato.jeu-de-piste", by=ENCADRANT)
    demo.award(nathalie, "sato.securite-atelier", by=ENCADRANT)
    demo.wait(3)
    demo.advance(nathalie, "commencer-immersion", by=CIP, note="PMSMP en chaudronnerie")
    demo.add_evidence(nathalie, "convention-pmsmp", by=CIP, context="PMSMP")
    demo.deliver()
    demo.days_ago(4)
    demo.submit_request(
        "sato.metiers-industrie",
        by=CIP,
        enrollment_id=nathalie,
        origin="suivi",
        narrative="Sait présenter trois métiers de la chaudronnerie après ses visites.",
    )

    demo.days_ago(48)
    ines = demo.enroll("sato-femmes-metallurgie", "sato-interim", "Inès", "Moreau", by=CIP)
    demo.wait(6)
    demo.award(ines, "sato.jeu-de-piste", by=ENCADRANT, narrative="Deux entreprises visitées")
    demo.deliver()

    demo.connect_partner(
        "adie", by=ADIE, url="https://webhooks.adie.example/parcours", answers=False
    )
    demo.days_ago(45)
    mickael = demo.enroll(
        "sato-eiti", "sato-eiti", "Mickaël", "Tanguy", by=CIP_EITI, note="Atelier de couture"
    )
    demo.wait(12)
    demo.add_evidence(
        mickael, "diagnostic-activite", by=CIP_EITI, narrative="Diagnostic partagé avec l'ADIE"
    )
    demo.advance(mickael, "valider-diagnostic", by=CIP_EITI)
    _, abandoned = demo.deliver()
    demo.say(
        f"Envois aux partenaires : le GEIQ a reçu {demo.received('geiq-industrie')} badge(s) ; "
        f"le système de l'ADIE ne répond pas, {abandoned} envoi abandonné à relancer (page "
        "Envois)."
    )
    demo.participant_link(sarah, by=CIP)
