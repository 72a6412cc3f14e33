"""INAÉ's demo story: a badge request decided by a committee crossed between three SIAE, and
the support badge asked for through the public form."""

from __future__ import annotations

from typing import Any

from engine.errors import Forbidden
from engine.services import committees, people, requests
from engine.services.accounts import principal
from engine.services.organisations import add_staff, upsert_organisation
from engine.services.runtime import Runtime

SIAE = (
    ("regie-pessac", "Régie de quartier de Pessac", "ACI", "nadia.benali", "Nadia", "Benali"),
    ("envie-limoges", "Envie Limoges", "EI", "lea.roux", "Léa", "Roux"),
    ("tremplin-poitiers", "Tremplin Poitiers", "AI", "yann.morel", "Yann", "Morel"),
)
INAE = "fanny.alexandre@inae.example"


def play(rt: Runtime, demo: Any) -> list[int]:
    with rt.unit_of_work() as s:
        for slug, name, kind, login, given, family in SIAE:
            upsert_organisation(s, slug, name, "structure", structure_kind=kind, networks=["inae"])
            add_staff(s, f"{login}@{slug}.example", given, family, [(slug, "cip")])
        add_staff(s, INAE, "Fanny", "Alexandre", [("inae", "network_admin")])
    admin = principal(rt, INAE)
    cid = committees.create(rt, "Comité croisé de Nouvelle-Aquitaine", "inae.croise", by=admin)
    members = [f"{login}@{slug}.example" for slug, _, _, login, _, _ in SIAE]
    for member in [*members, INAE]:
        committees.add_member(rt, cid, member, by=admin)
    pessac = principal(rt, members[0])
    lina = people.add_participant(
        rt, "regie-pessac", "Lina", "Haddad", "lina.haddad@example.org", by=pessac
    )
    rid = requests.submit(
        rt,
        "inae.travail-equipe",
        by=pessac,
        participant_id=lina,
        origin="collectif",
        narrative="A organisé avec deux collègues le chantier de nettoyage du parc.",
        now=demo.now,
    )
    demo.say(f"INAÉ : Lina Haddad demande le badge « Travail en équipe » (demande n° {rid}).")
    try:
        requests.review(rt, rid, by=pessac, approve=True, reason="Je la suis au quotidien")
    except Forbidden as exc:
        demo.say(f"INAÉ : la CIP de Pessac ne peut pas voter — {exc}.")
    demo.wait(6)
    reasons = ["Récit précis, rôle moteur", "Attestation du chef de chantier", "Conforme"]
    for voter, reason in zip([members[1], members[2], INAE], reasons, strict=True):
        view = requests.review(
            rt, rid, by=principal(rt, voter), approve=True, reason=reason, now=demo.now
        )
    demo.say(f"INAÉ : comité croisé — {view.status_label} ({view.decision_reason}).")
    supporter = requests.public_request(
        rt,
        "inae.badgeons-iae",
        given_name="Camille",
        family_name="Roy",
        email="camille.roy@example.org",
        now=demo.now,
    )
    demo.say(
        "INAÉ : Camille Roy reçoit aussitôt le badge de soutien « Badgeons l'IAE en "
        f"Nouvelle-Aquitaine » par le formulaire public ({supporter[:8]}…)."
    )
    return []
