"""A CIP's daily work on one enrollment (issue 19), at the service layer: an evidence kind the
pathway's gates do not name is refused, with the kinds it expects; evidence shows in the
person's data export; badge lists offer the pathway's own badges first, never one already held;
history and status speak in titles and French words, not ids."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from PIL import Image

from engine.errors import InvalidInput
from engine.services import committees, privacy, request_views
from engine.services import enrollment_views as ev
from engine.services import enrollments as e
from engine.services.access import enrollment_target
from engine.services.evidence import expected_kinds, kind_title
from engine.services.pathways import latest_version
from engine.services.runtime import Runtime
from engine.uploads import check
from tests.conftest import CIP, DIRECTRICE, ENCADRANT, T0, actor

METALLURGY = "sato-femmes-metallurgie"


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 4), "white").save(out, "PNG")
    return out.getvalue()


def _awa(rt: Runtime) -> int:
    return e.enroll(
        rt, METALLURGY, "sato-interim", e.Participant("Awa", "Diallo"), by=actor(rt, CIP), now=T0
    )


def _participant(rt: Runtime, eid: int) -> int:
    with rt.reading() as conn:
        return enrollment_target(conn, eid).participant_id


def test_a_kind_spelled_like_an_expected_one_is_refused_with_the_one_meant(sato: Runtime) -> None:
    eid = _awa(sato)
    cip = actor(sato, CIP)
    with pytest.raises(InvalidInput) as refused:
        e.add_evidence(sato, eid, "bilan immersion", by=cip, now=T0)
    message = str(refused.value)
    assert "vouliez-vous dire « bilan-immersion »" in message
    assert "« Convention PMSMP » (convention-pmsmp)" in message
    assert "« Bilan immersion » (bilan-immersion)" in message
    assert ev.pieces(sato, eid, by=cip) == []


def test_a_kind_the_pathway_does_not_name_is_refused_listing_its_kinds(sato: Runtime) -> None:
    eid = _awa(sato)
    with pytest.raises(InvalidInput, match="types attendus : « Convention PMSMP »"):
        e.add_evidence(sato, eid, "photo-chantier", by=actor(sato, CIP), now=T0)


def test_an_expected_kind_is_stored_and_listed_with_its_title(sato: Runtime) -> None:
    eid = _awa(sato)
    cip = actor(sato, CIP)
    e.add_evidence(
        sato,
        eid,
        "convention-pmsmp",
        by=cip,
        context="pmsmp",
        narrative="Convention signée",
        file=check("convention.png", _png()),
        now=T0,
    )
    [piece] = ev.pieces(sato, eid, by=cip)
    assert (piece.kind, piece.title, piece.context) == (
        "convention-pmsmp",
        "Convention PMSMP",
        "PMSMP",
    )
    assert piece.added_by == "Claire Martin" and piece.filename == "convention.png"
    assert piece.stage == "Jeu de piste en entreprises" and piece.file_id


def test_a_pathway_whose_plugin_check_reads_other_kinds_accepts_them(sato: Runtime) -> None:
    """The EiTi's check wants a meeting with ADIE or BGE (`rdv-adie`), a kind its YAML does not
    list: other kinds stay allowed there, a misspelt listed one is still refused."""
    cip = actor(sato, CIP)
    eid = e.enroll(sato, "sato-eiti", "sato-eiti", e.Participant("Yannick", "Le Bihan"), by=cip)
    e.add_evidence(sato, eid, "rdv-adie", by=cip)
    with pytest.raises(InvalidInput, match="vouliez-vous dire « diagnostic-activite »"):
        e.add_evidence(sato, eid, "Diagnostic activité", by=cip)
    assert [p.kind for p in ev.pieces(sato, eid, by=cip)] == ["rdv-adie"]


def test_expected_kinds_come_from_the_gates_in_order(sato: Runtime) -> None:
    with sato.reading() as conn:
        pathway = sato.pathway(conn, latest_version(sato, METALLURGY).id)
    assert expected_kinds(pathway) == {
        "convention-pmsmp": "Convention PMSMP",
        "bilan-immersion": "Bilan immersion",
    }
    assert kind_title("rdv-bge") == "Rendez-vous BGE"


def test_the_export_lists_each_piece_with_its_file_and_who_added_it(sato: Runtime) -> None:
    eid = _awa(sato)
    cip = actor(sato, CIP)
    e.add_evidence(
        sato,
        eid,
        "bilan-immersion",
        by=cip,
        context="AFEST",
        narrative="Bilan du tuteur",
        file=check("bilan.png", _png()),
        now=T0,
    )
    [piece] = privacy.export(sato, _participant(sato, eid), by=cip)["pieces"]
    assert piece["parcours"] == eid
    assert piece["type"] == "bilan-immersion" and piece["titre"] == "Bilan immersion"
    assert piece["contexte_titre"].startswith("AFEST (action de formation")
    assert piece["texte"] == "Bilan du tuteur" and piece["ajoutee_par"] == "Claire Martin"
    assert piece["fichier"] == "bilan.png"
    assert piece["telechargement"].startswith(f"{sato.urls.base}/pieces/")


def test_award_offers_the_pathways_badges_first_and_none_held(sato: Runtime) -> None:
    eid = _awa(sato)
    e.award(sato, eid, "sato.jeu-de-piste", by=actor(sato, ENCADRANT), now=T0)
    choices = ev.award_choices(sato, eid, by=actor(sato, CIP))
    own = [slug for slug, _ in choices.pathway]
    others = [slug for slug, _ in choices.others]
    assert "sato.jeu-de-piste" not in own + others  # already held
    assert own[0] == "sato.securite-atelier"  # the first stage's sub-badge still to earn
    # the key badge of the interim mission and the sub-badges it requires
    assert {"sato.competences-entreprise", "sato.ponctualite", "sato.travail-equipe"} <= set(own)
    assert not [b for b in own if b.startswith("sato.eiti-")]
    assert "sato.eiti-gestion" in others  # same network, after the pathway's own
    assert not [b for b in own + others if not b.startswith("sato.")]


def test_a_participant_asks_first_for_the_badges_of_their_pathway(sato: Runtime) -> None:
    eid = _awa(sato)
    e.award(sato, eid, "sato.jeu-de-piste", by=actor(sato, ENCADRANT), now=T0)
    cip = actor(sato, CIP)
    pid = _participant(sato, eid)
    offered = [slug for slug, _, _ in request_views.requestable(sato, pid, by=cip)]
    assert "sato.jeu-de-piste" not in offered
    assert offered[0] == "sato.securite-atelier"
    first_eiti = min(i for i, b in enumerate(offered) if b.startswith("sato.eiti-"))
    assert "sato.competences-entreprise" in offered[:first_eiti]


def _to_interim(rt: Runtime) -> int:
    eid = _awa(rt)
    cip, encadrant = actor(rt, CIP), actor(rt, ENCADRANT)
    for badge in ("sato.jeu-de-piste", "sato.securite-atelier"):
        e.award(rt, eid, badge, by=encadrant, now=T0)
    e.advance(rt, eid, "commencer-immersion", by=cip, now=T0)
    for kind in ("convention-pmsmp", "bilan-immersion"):
        e.add_evidence(rt, eid, kind, by=cip, now=T0 + timedelta(days=1))
    for badge in ("sato.immersion-reussie", "sato.projet-professionnel"):
        e.award(rt, eid, badge, by=cip, now=T0)
    e.advance(rt, eid, "valider-projet", by=cip, now=T0 + timedelta(days=12))
    for badge in ("sato.ponctualite", "sato.travail-equipe", "sato.consignes"):
        e.award(rt, eid, badge, by=encadrant, now=T0 + timedelta(days=20))
    return eid


def test_the_committee_gate_shows_its_votes_and_what_it_still_needs(sato: Runtime) -> None:
    eid = _to_interim(sato)
    director, encadrant, cip = actor(sato, DIRECTRICE), actor(sato, ENCADRANT), actor(sato, CIP)
    cid = committees.create(
        sato, "Commission SATO Intérim", "sato.validation", by=director, structure="sato-interim"
    )
    for member in (DIRECTRICE, ENCADRANT):
        committees.add_member(sato, cid, member, by=director)
    [gate] = committees.gate_votes(sato, eid, by=director)
    assert gate.trigger == "signer-contrat-pro" and gate.committee == "Commission SATO Intérim"
    assert gate.votes == [] and gate.needs.startswith("encore 2 votes")
    assert gate.may_vote
    assert not committees.gate_votes(sato, eid, by=cip)[0].may_vote  # not a member
    later, step = T0 + timedelta(days=50), "signer-contrat-pro"
    e.record_decision(sato, eid, step, True, "Projet solide", by=director, now=later)
    [gate] = committees.gate_votes(sato, eid, by=director)
    assert [(v.voter, v.approved, v.reason) for v in gate.votes] == [
        ("Hélène Kerbrat", True, "Projet solide")
    ]
    assert not gate.may_vote and gate.why_not == "vous avez déjà voté sur ce passage"
    assert gate.needs.startswith("encore 1 vote ")
    e.record_decision(sato, eid, step, True, "Gestes sûrs", by=encadrant, now=later)
    [gate] = committees.gate_votes(sato, eid, by=cip)
    assert gate.verdict is True and gate.needs == "décision prise : avis favorable"
    [step] = [s for s in ev.status(sato, eid, by=cip, now=later).next_steps if s.committee]
    assert [c.met for c in step.conditions if c.kind == "committee"] == [True]


def test_history_and_status_speak_in_titles_not_ids(sato: Runtime) -> None:
    eid = _awa(sato)
    cip = actor(sato, CIP)
    for badge in ("sato.jeu-de-piste", "sato.securite-atelier"):
        e.award(sato, eid, badge, by=actor(sato, ENCADRANT), now=T0)
    e.advance(sato, eid, "commencer-immersion", by=cip, now=T0)
    e.add_evidence(sato, eid, "convention-pmsmp", by=cip, now=T0)
    e.advance(sato, eid, "sortir", by=cip, now=T0 + timedelta(days=3))
    lines = [(h.kind, h.what, h.awarded) for h in ev.history(sato, eid, by=cip)]
    assert lines == [
        ("enrolled", "étape « Jeu de piste en entreprises »", []),
        ("badge_issued", "", ["Jeu de piste en entreprises"]),
        ("badge_issued", "", ["Règles de sécurité en atelier"]),
        (
            "transition",
            "« Commencer le stage d'immersion » : Jeu de piste en entreprises → "
            "Stage d'immersion (PMSMP)",
            ["J'ai découvert l'industrie"],
        ),
        ("evidence", "« Convention PMSMP »", []),
        (
            "transition",
            "« Mettre fin au parcours » : Stage d'immersion (PMSMP) → Sortie anticipée du parcours",
            [],
        ),
    ]
    st = ev.status(sato, eid, by=cip)
    assert (st.status_label, st.stage_title) == ("sorti", "Sortie anticipée du parcours")
    assert st.completed_at == T0 + timedelta(days=3)
