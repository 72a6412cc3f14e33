"""INAÉ's demo story: a badge request decided by a committee crossed between three SIAE, and
the support badge asked for through the public form."""

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


def play(demo: DemoContext) -> list[int]:
    for slug, name, kind, login, given, family in SIAE:
        demo.add_structure(slug, name, kind, networks=["inae"])
        demo.add_staff(f"{login}@{slug}.example", given, family, [(slug, "cip")])
    demo.add_staff(INAE, "Fanny", "Alexandre", [("inae", "network_admin")])
    cid = demo.create_committee("Comité croisé de Nouvelle-Aquitaine", "inae.croise", by=INAE)
    members = [f"{login}@{slug}.example" for slug, _, _, login, _, _ in SIAE]
    for member in [*members, INAE]:
        demo.add_committee_member(cid, member, by=INAE)
    pessac = members[0]
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
    return []
