"""SIAE staff enroll participants and advance them; gates explain, in French, what is missing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from engine.errors import Conflict, Forbidden, GateRefused, InvalidInput
from engine.services import enrollments as e
from engine.services.runtime import Runtime
from engine.store.tables import Assertion, AuditEvent, Enrollment
from tests.conftest import CIP, DIRECTRICE, ENCADRANT, NETWORK_ADMIN, OTHER_CIP, T0

PATHWAY = "sato-femmes-metallurgie"


def start(rt: Runtime) -> int:
    return e.enroll(rt, PATHWAY, "sato-interim", e.Participant("Awa", "Diallo"), by=CIP, now=T0)


def count(rt: Runtime, model, **where) -> int:
    with rt.unit_of_work() as s:
        query = select(func.count()).select_from(model)
        for key, value in where.items():
            query = query.where(getattr(model, key) == value)
        return s.execute(query).scalar_one()


def test_enroll_starts_at_the_initial_stage_with_an_audit_event(sato: Runtime) -> None:
    eid = start(sato)
    st = e.status(sato, eid, now=T0)
    assert (st.stage, st.status, st.participant) == ("decouverte", "active", "Awa Diallo")
    assert st.deadline == T0 + timedelta(days=30)
    [event] = e.history(sato, eid)
    assert (event.kind, event.to_stage, event.actor) == ("enrolled", "decouverte", "Claire Martin")


def test_enrolling_twice_on_the_same_pathway_is_refused(sato: Runtime) -> None:
    start(sato)
    with pytest.raises(Conflict, match="suit déjà ce parcours"):
        start(sato)


def test_gate_refusal_lists_every_unmet_condition_and_changes_nothing(sato: Runtime) -> None:
    eid = start(sato)
    e.award(sato, eid, "sato.jeu-de-piste", by=ENCADRANT, now=T0)
    e.award(sato, eid, "sato.securite-atelier", by=ENCADRANT, now=T0)
    e.advance(sato, eid, "commencer-immersion", by=CIP, now=T0 + timedelta(days=1))
    events_before = count(sato, AuditEvent)
    with pytest.raises(GateRefused) as refused:
        e.advance(sato, eid, "valider-projet", by=CIP, now=T0 + timedelta(days=6))
    assert refused.value.unmet == [
        "pour le badge J'ai validé mon projet dans l'industrie et je poursuis l'aventure : "
        "manque le badge Immersion en entreprise réussie ; "
        "manque le badge Projet professionnel formalisé",
        "pièce justificative manquante : convention-pmsmp",
        "pièce justificative manquante : bilan-immersion",
        "durée minimale en Stage d'immersion (PMSMP) : 10 jours, 5 écoulés",
    ]
    assert e.status(sato, eid).stage == "immersion"
    assert count(sato, AuditEvent) == events_before


def test_advance_moves_the_stage_issues_badges_and_records_the_gate(sato: Runtime) -> None:
    eid = start(sato)
    e.award(sato, eid, "sato.jeu-de-piste", by=ENCADRANT, now=T0)
    e.award(sato, eid, "sato.metiers-industrie", by=ENCADRANT, now=T0)
    result = e.advance(
        sato,
        eid,
        "commencer-immersion",
        by=CIP,
        note="PMSMP chaudronnerie",
        now=T0 + timedelta(days=3),
    )
    assert (result.from_stage, result.to_stage) == ("decouverte", "immersion")
    assert result.awarded == ["sato.decouvert-industrie"]
    st = e.status(sato, eid, now=T0 + timedelta(days=3))
    assert "J'ai découvert l'industrie" in st.badges
    assert st.stage_entered_at == T0 + timedelta(days=3)
    last = e.history(sato, eid)[-1]
    assert (last.kind, last.trigger, last.note) == (
        "transition",
        "commencer-immersion",
        "PMSMP chaudronnerie",
    )
    assert last.details["awarded"] == ["sato.decouvert-industrie"]
    assert {c["kind"] for c in last.details["gate"]} == {"sub_badges", "roles"}


def test_status_says_what_each_next_step_needs(sato: Runtime) -> None:
    eid = start(sato)
    e.award(sato, eid, "sato.jeu-de-piste", by=ENCADRANT, now=T0)
    steps = {s.trigger: s for s in e.status(sato, eid, now=T0).next_steps}
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
    result = e.advance(sato, eid, "sortir", by=CIP, note="Déménagement", now=T0)
    assert result.awarded == []
    st = e.status(sato, eid)
    assert (st.stage, st.status, st.next_steps) == ("sortie-anticipee", "withdrawn", [])
    with pytest.raises(InvalidInput, match="terminé"):
        e.advance(sato, eid, "commencer-immersion", by=CIP)


def test_unknown_trigger_lists_the_possible_ones(sato: Runtime) -> None:
    eid = start(sato)
    with pytest.raises(InvalidInput, match="possibles : commencer-immersion, sortir"):
        e.advance(sato, eid, "signer-contrat-pro", by=CIP)


def test_staff_of_another_siae_can_neither_see_nor_change(sato: Runtime) -> None:
    eid = start(sato)
    with pytest.raises(Forbidden, match="aucun rôle dans la structure « SATO Intérim »"):
        e.advance(sato, eid, "sortir", by=OTHER_CIP)
    with pytest.raises(Forbidden):
        e.status(sato, eid, by=OTHER_CIP)
    with pytest.raises(Forbidden):
        e.history(sato, eid, by=OTHER_CIP)
    with pytest.raises(Forbidden):
        e.add_evidence(sato, eid, "convention-pmsmp", by=OTHER_CIP)
    with pytest.raises(Forbidden):
        e.enroll(sato, PATHWAY, "sato-interim", e.Participant("X", "Y"), by=OTHER_CIP)
    assert e.status(sato, eid).stage == "decouverte"


def test_gate_roles_refuse_the_wrong_role_but_network_admin_may(sato: Runtime) -> None:
    eid = start(sato)
    with pytest.raises(GateRefused, match="réservé à : CIP ou directeur"):
        e.advance(sato, eid, "sortir", by=ENCADRANT)
    assert e.advance(sato, eid, "sortir", by=NETWORK_ADMIN).to_stage == "sortie-anticipee"


def _to_interim(rt: Runtime) -> int:
    eid = start(rt)
    for badge in ("sato.jeu-de-piste", "sato.securite-atelier"):
        e.award(rt, eid, badge, by=ENCADRANT, now=T0)
    e.advance(rt, eid, "commencer-immersion", by=CIP, now=T0)
    for kind in ("convention-pmsmp", "bilan-immersion"):
        e.add_evidence(rt, eid, kind, by=CIP, now=T0 + timedelta(days=1), context="PMSMP")
    for badge in ("sato.immersion-reussie", "sato.projet-professionnel"):
        e.award(rt, eid, badge, by=CIP, now=T0)
    e.advance(rt, eid, "valider-projet", by=CIP, now=T0 + timedelta(days=12))
    return eid


def test_committee_decision_is_required_and_a_rejection_blocks(sato: Runtime) -> None:
    eid = _to_interim(sato)
    for badge in ("sato.ponctualite", "sato.travail-equipe", "sato.consignes"):
        e.award(sato, eid, badge, by=ENCADRANT, now=T0 + timedelta(days=20))
    later = T0 + timedelta(days=50)
    with pytest.raises(GateRefused, match="décision du comité d'attribution attendue"):
        e.advance(sato, eid, "signer-contrat-pro", by=DIRECTRICE, now=later)
    e.record_decision(
        sato, eid, "signer-contrat-pro", False, "Projet à consolider", by=DIRECTRICE, now=later
    )
    with pytest.raises(GateRefused, match="avis défavorable du comité d'attribution : Projet"):
        e.advance(sato, eid, "signer-contrat-pro", by=DIRECTRICE, now=later)
    e.record_decision(
        sato,
        eid,
        "signer-contrat-pro",
        True,
        "Projet confirmé",
        by=DIRECTRICE,
        now=later + timedelta(days=7),
    )
    result = e.advance(
        sato, eid, "signer-contrat-pro", by=DIRECTRICE, now=later + timedelta(days=7)
    )
    assert result.awarded == ["sato.competences-entreprise", "sato.contrat-pro-geiq"]
    assert e.status(sato, eid).status == "completed"


def test_decision_needs_a_reason_and_a_committee_gate(sato: Runtime) -> None:
    eid = start(sato)
    with pytest.raises(InvalidInput, match="motivée"):
        e.record_decision(sato, eid, "commencer-immersion", True, " ", by=DIRECTRICE)
    with pytest.raises(InvalidInput, match="ne demande pas de décision de comité"):
        e.record_decision(sato, eid, "commencer-immersion", True, "ok", by=DIRECTRICE)


def test_evidence_counts_only_for_the_current_stage_visit(sato: Runtime) -> None:
    eid = start(sato)
    e.add_evidence(sato, eid, "convention-pmsmp", by=CIP, now=T0)  # attached in decouverte
    for badge in ("sato.jeu-de-piste", "sato.securite-atelier"):
        e.award(sato, eid, badge, by=ENCADRANT, now=T0)
    e.advance(sato, eid, "commencer-immersion", by=CIP, now=T0)
    step = next(
        s
        for s in e.status(sato, eid, now=T0 + timedelta(days=11)).next_steps
        if s.trigger == "valider-projet"
    )
    assert "pièce justificative manquante : convention-pmsmp" in [
        c.text for c in step.conditions if not c.met
    ]


def test_award_refuses_a_key_badge_without_its_sub_badges_and_duplicates(sato: Runtime) -> None:
    eid = start(sato)
    with pytest.raises(GateRefused, match="il manque : Immersion en entreprise réussie"):
        e.award(sato, eid, "sato.projet-industrie-valide", by=CIP)
    e.award(sato, eid, "sato.jeu-de-piste", by=CIP)
    with pytest.raises(Conflict, match="déjà détenu"):
        e.award(sato, eid, "sato.jeu-de-piste", by=CIP)
    assert count(sato, Assertion) == 1


def test_expected_revision_detects_a_stale_screen(sato: Runtime) -> None:
    eid = start(sato)
    revision = e.status(sato, eid).revision
    e.advance(sato, eid, "sortir", by=CIP, expected_revision=revision)
    eid2 = e.enroll(sato, PATHWAY, "sato-interim", e.Participant("Léa", "Morin"), by=CIP)
    with pytest.raises(Conflict, match="a changé entre-temps"):
        e.advance(sato, eid2, "sortir", by=CIP, expected_revision=revision + 5)
    assert count(sato, Enrollment, status="active") == 1


def test_plugin_gate_check_explains_itself(sato: Runtime) -> None:
    eid = e.enroll(
        sato, "sato-eiti", "sato-eiti", e.Participant("Yannick", "Le Bihan"), by=CIP, now=T0
    )
    e.add_evidence(sato, eid, "diagnostic-activite", by=CIP, now=T0)
    e.advance(sato, eid, "valider-diagnostic", by=CIP, now=T0)
    for badge in ("sato.eiti-gestion", "sato.eiti-tarification"):
        e.award(sato, eid, badge, by=CIP, now=T0)
    later = T0 + timedelta(days=31)
    with pytest.raises(GateRefused) as refused:
        e.advance(sato, eid, "valider-structuration", by=CIP, now=later)
    assert refused.value.unmet == [
        "au moins un rendez-vous de suivi avec l'ADIE ou la BGE (pièce rdv-adie ou rdv-bge)"
    ]
    e.add_evidence(sato, eid, "rdv-adie", by=CIP, now=later)
    assert e.advance(sato, eid, "valider-structuration", by=CIP, now=later).awarded == [
        "sato.eiti-structuration"
    ]
