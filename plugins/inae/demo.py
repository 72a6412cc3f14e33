"""INAÉ's demo story: a badge request decided by a committee crossed between three SIAE, and
the support badge asked for through the public form; then the requests a visitor finds waiting
today: one with a first vote of the crossed committee, one not yet examined."""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine import Forbidden

if TYPE_CHECKING:
    from engine import DemoContext

SIAE = (
    ("regie-pessac", "Régie de quartier de Pessac", "ACI", "nadia.benali", "Nadia", "Benali"),
    ("envie-limoges", "Envie Limoges", "EI", "lea.roux", "Léa", "Roux"),
    ("tremplin-poitiers", "Tremplin Poitiers", "AI", "yann.morel", "Yann", "Morel"),
)
INAE = "fanny.alexandre@inae.example"
PESSAC_TEAM = (
    ("thomas.lacoste@regie-pessac.example", "Thomas", "Lacoste", "encadrant_technique"),
    ("isabelle.dupuy@regie-pessac.example", "Isabelle", "Dupuy", "directeur"),
)


def play(demo: DemoContext) -> list[int]:
    for slug, name, kind, login, given, family in SIAE:
        demo.add_structure(slug, name, kind, networks=["inae"])
        demo.add_staff(f"{login}@{slug}.example", given, family, [(slug, "cip")])
    demo.add_staff(INAE, "Fanny", "Alexandre", [("inae", "network_admin")])
    for email, given, family, role in PESSAC_TEAM:
        demo.add_staff(email, given, family, [("regie-pessac", role)])
    cid = demo.create_committee("Comité croisé de Nouvelle-Aquitaine", "inae.croise", by=INAE)
    members = [f"{login}@{slug}.example" for slug, _, _, login, _, _ in SIAE]
    for member in [*members, INAE]:
        demo.add_committee_member(cid, member, by=INAE)
    pessac = members[0]
    for login in (INAE, pessac, *(email for email, *_ in PESSAC_TEAM)):
        demo.offer_login(login)
    demo.days_ago(40)
    lina = demo.add_participant(
        "regie-pessac", "Lina", "Haddad", "lina.haddad@example.org", by=pessac
    )
    rid = demo.submit_request(
        "inae.travail-equipe",
        by=pessac,
        participant_id=lina,
        origin="collectif",
        narrative="A organisé avec deux collègues le chantier de nettoyage du parc.",
    )
    demo.say(f"INAÉ : Lina Haddad demande le badge « Travail en équipe » (demande n° {rid}).")
    try:
        demo.review_request(rid, by=pessac, approve=True, reason="Je la suis au quotidien")
    except Forbidden as exc:
        demo.say(f"INAÉ : la CIP de Pessac ne peut pas voter — {exc}.")
    demo.wait(6)
    reasons = ["Récit précis, rôle moteur", "Attestation du chef de chantier", "Conforme"]
    for voter, reason in zip([members[1], members[2], INAE], reasons, strict=True):
        outcome = demo.review_request(rid, by=voter, approve=True, reason=reason)
    demo.say(f"INAÉ : comité croisé — {outcome.status_label} ({outcome.decision_reason}).")
    supporter = demo.public_request(
        "inae.badgeons-iae",
        given_name="Camille",
        family_name="Roy",
        email="camille.roy@example.org",
    )
    demo.say(
        "INAÉ : Camille Roy reçoit aussitôt le badge de soutien « Badgeons l'IAE en "
        f"Nouvelle-Aquitaine » par le formulaire public ({supporter[:8]}…)."
    )
    _waiting(demo, members)
    return []


def _waiting(demo: DemoContext, members: list[str]) -> None:
    """Requests the committee has on its agenda today."""
    pessac, limoges, _poitiers = members
    demo.days_ago(9)
    mehdi = demo.add_participant("envie-limoges", "Mehdi", "Bensaïd", by=limoges)
    rid = demo.submit_request(
        "inae.ponctualite",
        by=limoges,
        participant_id=mehdi,
        origin="suivi",
        narrative="Aucun retard depuis trois mois sur l'atelier de réparation.",
    )
    demo.wait(2)
    demo.review_request(rid, by=pessac, approve=True, reason="Relevé des horaires probant")
    demo.days_ago(3)
    aicha = demo.add_participant("regie-pessac", "Aïcha", "Traoré", by=pessac)
    demo.submit_request(
        "inae.communication",
        by=pessac,
        participant_id=aicha,
        origin="suivi",
        narrative="Accueille les habitants à la régie et explique les services.",
    )
    demo.say("INAÉ : deux demandes attendent le comité croisé, l'une avec un premier avis.")
