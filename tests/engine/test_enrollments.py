"""SIAE staff enroll participants and advance them; gates explain, in French, what is missing."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from engine.errors import Conflict, Forbidden, GateRefused, InvalidInput
from engine.exits import Exit
from engine.pathways import load_pathway_text
from engine.services import committees, issuing
from engine.services import enrollment_views as ev
from engine.services import enrollments as e
from engine.services.organisations import add_staff, upsert_organisation
from engine.services.pathways import publish
from engine.services.runtime import Runtime
from engine.store.tables import Assertion, AuditEvent, BadgeClass, Enrollment
from tests.conftest import CIP, DIRECTRICE, ENCADRANT, NETWORK_ADMIN, OTHER_CIP, T0, actor

PATHWAY = "sato-femmes-metallurgie"


def start(rt: Runtime) -> int:
    return e.enroll(
        rt, PATHWAY, "sato-interim", e.Participant("Awa", "Diallo"), by=actor(rt, CIP), now=T0
    )


def count(rt: Runtime, model, **where) -> int:
    with rt.unit_of_work() as s:
        query = select(func.count()).select_from(model)
        for key, value in where.items():
            query = query.where(getattr(model, key) == value)
        return s.execute(query).scalar_one()


def test_enroll_starts_at_the_initial_stage_with_an_audit_event(sato: Runtime) -> None:
    eid = start(sato)
    cip = actor(sato, CIP)
    st = ev.status(sato, eid, by=cip, now=T0)
    assert (st.stage, st.status, st.participant) == ("decouverte", "active", "Awa Diallo")
    assert st.deadline == T0 + timedelta(days=30)
    [event] = ev.history(sato, eid, by=cip)
    assert (event.kind, event.to_stage, event.actor) == ("enrolled", "decouverte", "Claire Martin")


def test_enrolling_twice_on_the_same_pathway_is_refused(sato: Runtime) -> None:
    start(sato)
    with pytest.raises(Conflict, match="suit déjà ce parcours"):
        start(sato)


def test_gate_refusal_lists_every_unmet_condition_and_changes_nothing(sato: Runtime) -> None:
    eid = start(sato)
    cip, encadrant = actor(sato, CIP), actor(sato, ENCADRANT)
    e.award(sato, eid, "sato.jeu-de-piste", by=encadrant, now=T0)
    e.award(sato, eid, "sato.securite-atelier", by=encadrant, now=T0)
    e.advance(sato, eid, "commencer-immersion", by=cip, now=T0 + timedelta(days=1))
    events_before = count(sato, AuditEvent)
    with pytest.raises(GateRefused) as refused:
        e.advance(sato, eid, "valider-projet", by=cip, now=T0 + timedelta(days=6))
    assert refused.value.unmet == [
        "pour le badge J'ai validé mon projet dans l'industrie et je poursuis l'aventure : "
        "manque le badge Immersion en entreprise réussie ; "
        "manque le badge Projet professionnel formalisé",
        "pièce justificative manquante : convention-pmsmp",
        "pièce justificative manquante : bilan-immersion",
        "durée minimale en Stage d'immersion (PMSMP) : 10 jours, 5 écoulés",
    ]
    assert ev.status(sato, eid, by=cip).stage == "immersion"
    assert count(sato, AuditEvent) == events_before


def test_advance_moves_the_stage_issues_badges_and_records_the_gate(sato: Runtime) -> None:
    eid = start(sato)
    cip, encadrant = actor(sato, CIP), actor(sato, ENCADRANT)
    e.award(sato, eid, "sato.jeu-de-piste", by=encadrant, now=T0)
    e.award(sato, eid, "sato.metiers-industrie", by=encadrant, now=T0)
    result = e.advance(
        sato,
        eid,
        "commencer-immersion",
        by=cip,
        note="PMSMP chaudronnerie",
        now=T0 + timedelta(days=3),
    )
    assert (result.from_stage, result.to_stage) == ("decouverte", "immersion")
    assert result.awarded == ["sato.decouvert-industrie"]
    st = ev.status(sato, eid, by=cip, now=T0 + timedelta(days=3))
    assert "J'ai découvert l'industrie" in st.badges
    assert st.stage_entered_at == T0 + timedelta(days=3)
    last = ev.history(sato, eid, by=cip)[-1]
    assert (last.kind, last.trigger, last.note) == (
        "transition",
        "commencer-immersion",
        "PMSMP chaudronnerie",
    )
    assert last.details["awarded"] == ["sato.decouvert-industrie"]
    assert {c["kind"] for c in last.details["gate"]} == {"sub_badges", "roles"}


def test_status_says_what_each_next_step_needs(sato: Runtime) -> None:
    eid = start(sato)
    encadrant = actor(sato, ENCADRANT)
    e.award(sato, eid, "sato.jeu-de-piste", by=encadrant, now=T0)
    steps = {s.trigger: s for s in ev.status(sato, eid, by=encadrant, now=T0).next_steps}
    assert set(steps) == {"commencer-immersion", "sortir"}
    immersion = steps["commencer-immersion"]
    assert not immersion.ready
    assert [c.text for c in immersion.conditions if not c.met] == [
        "pour le badge J'ai découvert l'industrie : il faut 2 badges parmi Jeu de piste en "
        "entreprises, Règles de sécurité en atelier, Métiers de l'industrie (1 obtenu)"
    ]
    assert steps["sortir"].ready


def test_early_exit_withdraws_without_the_completion_badge(sato: Runtime) -> None:
    eid = start(sato)
    cip = actor(sato, CIP)
    result = e.advance(sato, eid, "sortir", by=cip, note="Déménagement", now=T0)
    assert result.awarded == []
    st = ev.status(sato, eid, by=cip)
    assert (st.stage, st.status, st.next_steps) == ("sortie-anticipee", "withdrawn", [])
    with pytest.raises(InvalidInput, match="terminé"):
        e.advance(sato, eid, "commencer-immersion", by=cip)


def test_unknown_trigger_lists_the_possible_ones(sato: Runtime) -> None:
    eid = start(sato)
    with pytest.raises(InvalidInput, match="possibles : commencer-immersion, sortir"):
        e.advance(sato, eid, "signer-contrat-pro", by=actor(sato, CIP))


def test_staff_of_another_siae_can_neither_see_nor_change(sato: Runtime) -> None:
    eid = start(sato)
    other = actor(sato, OTHER_CIP)
    with pytest.raises(Forbidden, match="vous ne pouvez pas faire passer une étape ici"):
        e.advance(sato, eid, "sortir", by=other)
    with pytest.raises(Forbidden, match="consulter un parcours"):
        ev.status(sato, eid, by=other)
    with pytest.raises(Forbidden, match="consulter un parcours"):
        ev.history(sato, eid, by=other)
    with pytest.raises(Forbidden, match="joindre une pièce"):
        e.add_evidence(sato, eid, "convention-pmsmp", by=other)
    with pytest.raises(Forbidden, match="inscrire un participant"):
        e.enroll(sato, PATHWAY, "sato-interim", e.Participant("X", "Y"), by=other)
    with pytest.raises(Forbidden, match="délivrer un badge"):
        e.award(sato, eid, "sato.jeu-de-piste", by=other)
    assert ev.status(sato, eid, by=actor(sato, CIP)).stage == "decouverte"
    assert count(sato, Assertion) == 0


def test_gate_roles_refuse_the_wrong_role_but_network_admin_may(sato: Runtime) -> None:
    eid = start(sato)
    with pytest.raises(GateRefused, match="réservé à : CIP ou directeur"):
        e.advance(sato, eid, "sortir", by=actor(sato, ENCADRANT))
    admin = actor(sato, NETWORK_ADMIN)
    assert e.advance(sato, eid, "sortir", by=admin).to_stage == "sortie-anticipee"


def _to_interim(rt: Runtime) -> int:
    """An enrollment in its interim mission with every badge the contract gate needs."""
    eid = start(rt)
    cip, encadrant = actor(rt, CIP), actor(rt, ENCADRANT)
    for badge in ("sato.jeu-de-piste", "sato.securite-atelier"):
        e.award(rt, eid, badge, by=encadrant, now=T0)
    e.advance(rt, eid, "commencer-immersion", by=cip, now=T0)
    for kind in ("convention-pmsmp", "bilan-immersion"):
        e.add_evidence(rt, eid, kind, by=cip, now=T0 + timedelta(days=1), context="PMSMP")
    for badge in ("sato.immersion-reussie", "sato.projet-professionnel"):
        e.award(rt, eid, badge, by=cip, now=T0)
    e.advance(rt, eid, "valider-projet", by=cip, now=T0 + timedelta(days=12))
    for badge in ("sato.ponctualite", "sato.travail-equipe", "sato.consignes"):
        e.award(rt, eid, badge, by=encadrant, now=T0 + timedelta(days=20))
    return eid


COMMITTEE = "Commission de validation SATO Intérim"


def _validation_committee(rt: Runtime) -> int:
    """SATO Intérim's internal committee under SATO's rule (sato.validation: two votes of its
    CIP, encadrant technique and director), set up by the director."""
    director = actor(rt, DIRECTRICE)
    cid = committees.create(
        rt, COMMITTEE, "sato.validation", by=director, structure="sato-interim", now=T0
    )
    for member in (CIP, ENCADRANT, DIRECTRICE):
        committees.add_member(rt, cid, member, by=director)
    return cid


def test_committee_decision_is_required_and_a_rejection_blocks(sato: Runtime) -> None:
    eid = _to_interim(sato)
    director, cip = actor(sato, DIRECTRICE), actor(sato, CIP)
    later = T0 + timedelta(days=50)
    with pytest.raises(GateRefused, match="aucun comité d'attribution n'est encore constitué"):
        e.advance(sato, eid, "signer-contrat-pro", by=director, now=later)
    with pytest.raises(InvalidInput, match="aucun comité d'attribution ne décide encore"):
        e.record_decision(
            sato, eid, "signer-contrat-pro", False, "Projet à consolider", by=director, now=later
        )
    _validation_committee(sato)
    with pytest.raises(GateRefused, match=f"décision du comité « {COMMITTEE} » attendue"):
        e.advance(sato, eid, "signer-contrat-pro", by=director, now=later)
    e.record_decision(
        sato, eid, "signer-contrat-pro", False, "Projet à consolider", by=director, now=later
    )
    # One member's vote is not the committee's decision: the rule asks for two.
    with pytest.raises(GateRefused, match=r"attendue \(0 pour, 1 contre ; quorum : 2 votes"):
        e.advance(sato, eid, "signer-contrat-pro", by=director, now=later)
    with pytest.raises(Conflict, match="déjà voté"):
        e.record_decision(
            sato, eid, "signer-contrat-pro", True, "Finalement oui", by=director, now=later
        )
    e.record_decision(
        sato, eid, "signer-contrat-pro", False, "Mission trop courte", by=cip, now=later
    )
    with pytest.raises(GateRefused) as refused:
        e.advance(sato, eid, "signer-contrat-pro", by=director, now=later + timedelta(days=7))
    assert refused.value.unmet == [
        f"avis défavorable du comité « {COMMITTEE} » (0 pour, 2 contre) : "
        "Projet à consolider ; Mission trop courte"
    ]
    assert ev.status(sato, eid, by=director).stage == "interim"


def test_the_committee_members_votes_open_the_gate_once_its_rule_is_met(sato: Runtime) -> None:
    _validation_committee(sato)
    eid = _to_interim(sato)
    director, encadrant = actor(sato, DIRECTRICE), actor(sato, ENCADRANT)
    later = T0 + timedelta(days=50)
    e.record_decision(
        sato, eid, "signer-contrat-pro", True, "Projet confirmé", by=director, now=later
    )
    # The director's vote alone no longer decides the gate.
    with pytest.raises(GateRefused, match=r"attendue \(1 pour, 0 contre"):
        e.advance(sato, eid, "signer-contrat-pro", by=director, now=later)
    # Only the committee's members vote: not a network admin, not another SIAE's CIP.
    for outsider in (NETWORK_ADMIN, OTHER_CIP):
        with pytest.raises(Forbidden, match="voter en comité"):
            e.record_decision(
                sato, eid, "signer-contrat-pro", True, "Oui", by=actor(sato, outsider), now=later
            )
    e.record_decision(
        sato, eid, "signer-contrat-pro", True, "Gestes sûrs en mission", by=encadrant, now=later
    )
    result = e.advance(
        sato, eid, "signer-contrat-pro", by=director, now=later, exit=Exit("cdd_6_mois_plus")
    )
    assert result.awarded == ["sato.competences-entreprise", "sato.contrat-pro-geiq"]
    assert ev.status(sato, eid, by=director).status == "completed"
    [gate] = [
        c
        for c in ev.history(sato, eid, by=director)[-1].details["gate"]
        if c["kind"] == "committee"
    ]
    assert gate["met"] and gate["text"].startswith(f"avis favorable du comité « {COMMITTEE} »")


def test_decision_needs_a_reason_and_a_committee_gate(sato: Runtime) -> None:
    eid = start(sato)
    director = actor(sato, DIRECTRICE)
    with pytest.raises(InvalidInput, match="motivée"):
        e.record_decision(sato, eid, "commencer-immersion", True, " ", by=director)
    with pytest.raises(InvalidInput, match="ne demande pas de décision de comité"):
        e.record_decision(sato, eid, "commencer-immersion", True, "ok", by=director)


def test_evidence_counts_only_for_the_current_stage_visit(sato: Runtime) -> None:
    eid = start(sato)
    cip, encadrant = actor(sato, CIP), actor(sato, ENCADRANT)
    e.add_evidence(sato, eid, "convention-pmsmp", by=cip, now=T0)  # attached in decouverte
    for badge in ("sato.jeu-de-piste", "sato.securite-atelier"):
        e.award(sato, eid, badge, by=encadrant, now=T0)
    e.advance(sato, eid, "commencer-immersion", by=cip, now=T0)
    step = next(
        s
        for s in ev.status(sato, eid, by=cip, now=T0 + timedelta(days=11)).next_steps
        if s.trigger == "valider-projet"
    )
    assert "pièce justificative manquante : Convention PMSMP" in [
        c.text for c in step.conditions if not c.met
    ]


def test_award_refuses_a_key_badge_without_its_sub_badges_and_duplicates(sato: Runtime) -> None:
    eid = start(sato)
    cip = actor(sato, CIP)
    with pytest.raises(GateRefused, match="il manque : Immersion en entreprise réussie"):
        e.award(sato, eid, "sato.projet-industrie-valide", by=cip)
    e.award(sato, eid, "sato.jeu-de-piste", by=cip)
    with pytest.raises(Conflict, match="déjà détenu"):
        e.award(sato, eid, "sato.jeu-de-piste", by=cip)
    assert count(sato, Assertion) == 1


def test_a_badge_is_awarded_alone_only_where_its_catalogue_allows_it(sato: Runtime) -> None:
    eid = start(sato)
    encadrant, cip = actor(sato, ENCADRANT), actor(sato, CIP)
    # A skill badge: the encadrant technique who saw it at work awards it alone.
    e.award(sato, eid, "sato.securite-atelier", by=encadrant)
    # A badge evaluated by the CIP's signature: the encadrant asks for it instead.
    with pytest.raises(Forbidden, match="demande les signatures : CIP"):
        e.award(sato, eid, "sato.immersion-reussie", by=encadrant)
    # A badge of another network: SATO Intérim does not issue it.
    with pytest.raises(Forbidden):
        e.award(sato, eid, "inae.ponctualite", by=cip)
    assert count(sato, Assertion) == 1


def test_expected_revision_detects_a_stale_screen(sato: Runtime) -> None:
    eid = start(sato)
    cip = actor(sato, CIP)
    revision = ev.status(sato, eid, by=cip).revision
    e.advance(sato, eid, "sortir", by=cip, expected_revision=revision)
    eid2 = e.enroll(sato, PATHWAY, "sato-interim", e.Participant("Léa", "Morin"), by=cip)
    with pytest.raises(Conflict, match="a changé entre-temps"):
        e.advance(sato, eid2, "sortir", by=cip, expected_revision=revision + 5)
    assert count(sato, Enrollment, status="active") == 1


def test_plugin_gate_check_explains_itself(sato: Runtime) -> None:
    cip = actor(sato, CIP)
    eid = e.enroll(
        sato, "sato-eiti", "sato-eiti", e.Participant("Yannick", "Le Bihan"), by=cip, now=T0
    )
    e.add_evidence(sato, eid, "diagnostic-activite", by=cip, now=T0)
    e.advance(sato, eid, "valider-diagnostic", by=cip, now=T0)
    for badge in ("sato.eiti-gestion", "sato.eiti-tarification"):
        e.award(sato, eid, badge, by=cip, now=T0)
    later = T0 + timedelta(days=31)
    with pytest.raises(GateRefused) as refused:
        e.advance(sato, eid, "valider-structuration", by=cip, now=later)
    assert refused.value.unmet == [
        "au moins un rendez-vous de suivi avec l'ADIE ou la BGE (pièce rdv-adie ou rdv-bge)"
    ]
    e.add_evidence(sato, eid, "rdv-adie", by=cip, now=later)
    assert e.advance(sato, eid, "valider-structuration", by=cip, now=later).awarded == [
        "sato.eiti-structuration"
    ]


INAE_PATHWAY = """\
id: inae-accueil
version: 1
network: inae
title: Accueil INAÉ
initial: accueil
stages:
  - {id: accueil, title: Accueil, awards: {on_complete: [inae.ponctualite]}}
  - {id: suite, title: Suite, final: true}
transitions:
  - {trigger: continuer, source: accueil, dest: suite, title: Continuer, gate: {roles: [cip]}}
"""


def test_staff_advance_on_a_pathway_of_any_network(sato: Runtime) -> None:
    """The workflows/ pathways are all SATO's; a CIP of an INAÉ SIAE advances on INAÉ's (the
    reach rule's network lookup once took the first pathway's network in `advance`)."""
    publish(sato, load_pathway_text(INAE_PATHWAY), INAE_PATHWAY)
    with sato.unit_of_work() as s:
        upsert_organisation(
            s, "regie-pessac", "Régie Pessac", "structure", structure_kind="ACI", networks=["inae"]
        )
        add_staff(s, "cip@regie-pessac.example", "Nadia", "Benali", [("regie-pessac", "cip")])
    cip = actor(sato, "cip@regie-pessac.example")
    eid = e.enroll(
        sato, "inae-accueil", "regie-pessac", e.Participant("Lina", "Haddad"), by=cip, now=T0
    )
    assert e.advance(sato, eid, "continuer", by=cip, now=T0).awarded == ["inae.ponctualite"]


def test_badges_earned_at_the_same_moment_each_take_their_own_status_place(
    sato: Runtime,
) -> None:
    """Staff advancing several participants at once, each transition issuing a badge of the
    same issuer: every badge gets its own place in the issuer's status list, the places stay
    dense, and each participant gets the badge once (its place is taken by the badge's own
    insert, under the issuer's lock on PostgreSQL, under the single writer on SQLite)."""
    cip, encadrant = actor(sato, CIP), actor(sato, ENCADRANT)
    eids = [
        e.enroll(sato, PATHWAY, "sato-interim", e.Participant(f"P{i}", "Diallo"), by=cip, now=T0)
        for i in range(6)
    ]
    for eid in eids:
        e.award(sato, eid, "sato.jeu-de-piste", by=encadrant, now=T0)
        e.award(sato, eid, "sato.metiers-industrie", by=encadrant, now=T0)

    def advance(eid: int) -> list[str]:
        return e.advance(sato, eid, "commencer-immersion", by=cip, now=T0).awarded

    with ThreadPoolExecutor(len(eids)) as pool:
        awarded = list(pool.map(advance, eids))
    assert awarded == [["sato.decouvert-industrie"]] * len(eids)
    with sato.reading() as c:
        places = c.execute(select(Assertion.status_index)).scalars().all()
        earned = c.execute(
            select(func.count()).where(
                Assertion.badge_class_id.in_(
                    select(BadgeClass.id).where(BadgeClass.slug == "sato.decouvert-industrie")
                )
            )
        ).scalar_one()
    assert sorted(places) == list(range(len(places)))  # one issuer: dense, never twice
    assert earned == len(eids)


def test_a_badge_held_since_the_read_is_not_issued_twice(sato: Runtime) -> None:
    """`advance` reads the badges held with the enrollment, then inserts: a badge awarded by
    hand in between (another person's transaction) is seen by the insert itself."""
    eid = start(sato)
    e.award(sato, eid, "sato.jeu-de-piste", by=actor(sato, ENCADRANT), now=T0)
    with sato.reading() as conn:
        pid, sid = conn.execute(
            select(Enrollment.participant_id, Enrollment.structure_id).where(Enrollment.id == eid)
        ).one()
    with sato.transaction() as conn:
        again = issuing.issue(
            sato,
            conn,
            ["sato.jeu-de-piste"],
            basis=issuing.Basis.PATHWAY,
            recipient_id=pid,
            structure_id=sid,
            enrollment_id=eid,
            actor_id=None,
            now=T0,
            held=frozenset(),  # as read before the award committed
        )
    assert again == [] and count(sato, Assertion) == 1
