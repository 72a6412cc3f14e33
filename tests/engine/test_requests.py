"""Badge requests and attribution committees: INAÉ's crossed committee and its evaluation by the
network, Centre-Val de Loire's per-badge signatures, the public support badge."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from sqlalchemy import select

from engine.badges.assertions import held_badges
from engine.errors import Conflict, Forbidden, GateRefused, InvalidInput
from engine.services import committees, people, request_views, requests
from engine.services.organisations import add_staff, upsert_organisation
from engine.services.runtime import Runtime
from engine.store.tables import Assertion, AuditEvent
from engine.uploads import check
from tests.conftest import CIP, actor

PESSAC_CIP = "cip@regie-pessac.example"
PESSAC_DIR = "direction@regie-pessac.example"
LIMOGES_CIP = "cip@envie-limoges.example"
POITIERS_ET = "encadrant@tremplin-poitiers.example"
INAE = "badges@inae.example"
CVL_ET = "encadrant@chantier-blois.example"
CVL_CIP = "cip@chantier-blois.example"
CVL_DIR = "direction@chantier-blois.example"


@pytest.fixture
def inae(rt: Runtime) -> Runtime:
    with rt.unit_of_work() as s:
        for slug, name, kind in (
            ("regie-pessac", "Régie de quartier de Pessac", "ACI"),
            ("envie-limoges", "Envie Limoges", "EI"),
            ("tremplin-poitiers", "Tremplin Poitiers", "AI"),
        ):
            upsert_organisation(s, slug, name, "structure", structure_kind=kind, networks=["inae"])
        upsert_organisation(
            s,
            "chantier-blois",
            "Chantier d'insertion de Blois",
            "structure",
            structure_kind="ACI",
            networks=["centre_val_de_loire"],
        )
        add_staff(s, PESSAC_CIP, "Nadia", "Benali", [("regie-pessac", "cip")])
        add_staff(s, PESSAC_DIR, "Paul", "Dupuy", [("regie-pessac", "directeur")])
        add_staff(s, LIMOGES_CIP, "Léa", "Roux", [("envie-limoges", "cip")])
        add_staff(s, POITIERS_ET, "Yann", "Morel", [("tremplin-poitiers", "encadrant_technique")])
        add_staff(s, INAE, "Fanny", "Alexandre", [("inae", "network_admin")])
        add_staff(s, CVL_ET, "Rémi", "Petit", [("chantier-blois", "encadrant_technique")])
        add_staff(s, CVL_CIP, "Sophie", "Blanc", [("chantier-blois", "cip")])
        add_staff(s, CVL_DIR, "Marie", "Lefort", [("chantier-blois", "directeur")])
    return rt


def _lina(rt: Runtime) -> int:
    return people.add_participant(
        rt, "regie-pessac", "Lina", "Haddad", "lina@example.org", by=actor(rt, PESSAC_CIP)
    )


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), "green").save(out, "PNG")
    return out.getvalue()


def _crossed(rt: Runtime) -> int:
    admin = actor(rt, INAE)
    cid = committees.create(rt, "Comité croisé Nouvelle-Aquitaine", "inae.croise", by=admin)
    for member in (PESSAC_CIP, LIMOGES_CIP, POITIERS_ET, INAE):
        committees.add_member(rt, cid, member, by=admin)
    return cid


def test_a_crossed_committee_decides_with_quorum_and_no_member_of_the_participants_siae(
    inae: Runtime,
) -> None:
    cid = _crossed(inae)
    lina = _lina(inae)
    cip = actor(inae, PESSAC_CIP)
    rid = requests.submit(
        inae,
        "inae.ponctualite",
        by=cip,
        participant_id=lina,
        origin="collectif",
        narrative="Toujours à l'heure sur le chantier depuis six semaines.",
    )
    requests.add_evidence(
        inae,
        rid,
        "fiche-presence",
        by=cip,
        context="poste",
        file=check("presence.png", _png()),
    )
    view = request_views.get(inae, rid, by=cip)
    assert (view.mode, view.committee_id, view.status) == ("committee", cid, "pending")
    assert view.evidence[0]["file"] and view.evidence[0]["context"] == "poste"

    with pytest.raises(Forbidden, match="conflit d'intérêts"):
        requests.review(inae, rid, by=cip, approve=True, reason="Je la connais bien")
    requests.review(
        inae, rid, by=actor(inae, LIMOGES_CIP), approve=True, reason="Fiche de présence nette"
    )
    after_two = requests.review(
        inae, rid, by=actor(inae, POITIERS_ET), approve=True, reason="Critères remplis"
    )
    assert after_two.status == "pending" and "quorum : 3 votes" in after_two.waiting_for[0]
    assert "ponctualite" not in " ".join(held_badges_of(inae, lina))

    done = requests.review(
        inae, rid, by=actor(inae, INAE), approve=False, reason="Durée un peu courte"
    )
    assert done.status == "approved" and done.assertion_id
    assert done.decision_reason.startswith("2 avis favorables, 1 défavorable")
    assert "Durée un peu courte" in done.decision_reason
    assert "inae.ponctualite" in held_badges_of(inae, lina)
    with inae.unit_of_work() as s:
        assertion = s.get(Assertion, done.assertion_id)
        assert {"narrative": "Toujours à l'heure sur le chantier depuis six semaines."} in (
            assertion.evidence
        )
        kinds = [
            e.kind
            for e in s.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars()
            if e.details and e.details.get("request") == rid
        ]
    assert kinds == ["badge_requested"] + ["badge_review"] * 3 + ["badge_request_decided"]
    with pytest.raises(Conflict, match="déjà badge délivré"):
        requests.review(inae, rid, by=actor(inae, PESSAC_DIR), approve=True, reason="Oui")


def held_badges_of(rt: Runtime, person_id: int) -> frozenset[str]:
    with rt.unit_of_work() as s:
        return held_badges(s, person_id)


def test_committee_members_of_other_siae_see_the_agenda_other_staff_do_not(
    inae: Runtime,
) -> None:
    cid = _crossed(inae)
    rid = requests.submit(
        inae, "inae.engagement", by=actor(inae, PESSAC_CIP), participant_id=_lina(inae)
    )
    member = actor(inae, LIMOGES_CIP)
    agenda = request_views.listing(inae, member, committee_id=cid)
    assert [r.id for r in agenda.items] == [rid]
    assert committees.view(inae, cid, by=member).pending == 1
    with inae.unit_of_work() as s:
        add_staff(s, "autre@envie-limoges.example", "Tom", "Vidal", [("envie-limoges", "cip")])
    outsider = actor(inae, "autre@envie-limoges.example")
    assert request_views.listing(inae, outsider).total == 0
    with pytest.raises(Forbidden):
        request_views.get(inae, rid, by=outsider)
    with pytest.raises(Forbidden):
        requests.review(inae, rid, by=outsider, approve=True, reason="…")


def test_a_structure_chooses_evaluation_by_the_network_within_its_frame(inae: Runtime) -> None:
    director, cip = actor(inae, PESSAC_DIR), actor(inae, PESSAC_CIP)
    with pytest.raises(Forbidden, match="directeur"):
        requests.configure(inae, "regie-pessac", "inae.travail-equipe", mode="network", by=cip)
    with pytest.raises(InvalidInput, match="hors du cadre du réseau"):
        requests.configure(inae, "regie-pessac", "inae.travail-equipe", mode="auto", by=director)
    requests.configure(
        inae,
        "regie-pessac",
        "inae.travail-equipe",
        mode="network",
        by=director,
        criteria_note="Observé sur le chantier d'entretien des espaces verts.",
    )
    lina = _lina(inae)
    rid = requests.submit(inae, "inae.travail-equipe", by=cip, participant_id=lina)
    view = request_views.get(inae, rid, by=cip)
    assert view.mode == "network"
    assert "Adaptation de la structure : Observé sur le chantier" in view.criteria
    with pytest.raises(Forbidden, match="évaluée par le réseau"):
        requests.review(inae, rid, by=director, approve=True, reason="Très bien")
    done = requests.review(inae, rid, by=actor(inae, INAE), approve=True, reason="Conforme")
    assert done.status == "approved"
    assert "inae.travail-equipe" in held_badges_of(inae, lina)


def test_centre_val_de_loire_badges_need_each_configured_signature(inae: Runtime) -> None:
    et, cip, director = (actor(inae, x) for x in (CVL_ET, CVL_CIP, CVL_DIR))
    sam = people.add_participant(inae, "chantier-blois", "Sam", "Girard", by=cip)
    rid = requests.submit(
        inae, "centre_val_de_loire.entretien-espaces-verts", by=et, participant_id=sam
    )
    requests.add_evidence(inae, rid, "observation", by=et, context="AFEST", narrative="Taille")
    view = requests.review(inae, rid, by=et, approve=True, reason="Gestes sûrs, EPI portés")
    assert view.waiting_for == ["signature : CIP", "signature : directeur"]
    with pytest.raises(Forbidden, match="vous ne pouvez pas évaluer une demande de badge ici"):
        requests.review(inae, rid, by=actor(inae, PESSAC_CIP), approve=True, reason="x")
    with inae.unit_of_work() as s:
        add_staff(
            s,
            "atelier@chantier-blois.example",
            "Luc",
            "Faure",
            [("chantier-blois", "encadrant_technique")],
        )
    with pytest.raises(Forbidden, match="signatures encore attendues : CIP, directeur"):
        requests.review(
            inae, rid, by=actor(inae, "atelier@chantier-blois.example"), approve=True, reason="x"
        )
    requests.review(inae, rid, by=cip, approve=True, reason="Projet espaces verts confirmé")
    assert "centre_val_de_loire.entretien-espaces-verts" not in held_badges_of(inae, sam)
    done = requests.review(inae, rid, by=director, approve=True, reason="Validé")
    assert done.status == "approved"
    assert [r["role"] for r in done.reviews] == ["encadrant_technique", "cip", "directeur"]
    assert done.evidence[0]["context"] == "AFEST"

    second = requests.submit(inae, "centre_val_de_loire.ponctualite", by=cip, participant_id=sam)
    refused = requests.review(inae, second, by=et, approve=False, reason="Trois retards ce mois")
    assert (refused.status, refused.assertion_id) == ("rejected", None)
    assert "centre_val_de_loire.ponctualite" not in held_badges_of(inae, sam)


def test_a_request_is_refused_when_unfit(inae: Runtime, sato: Runtime) -> None:
    cip = actor(inae, PESSAC_CIP)
    lina = _lina(inae)
    _crossed(inae)
    requests.submit(inae, "inae.autonomie", by=cip, participant_id=lina)
    with pytest.raises(Conflict, match="déjà en attente"):
        requests.submit(inae, "inae.autonomie", by=cip, participant_id=lina)
    with pytest.raises(Forbidden, match="vous ne pouvez pas demander un badge ici"):
        requests.submit(inae, "inae.autonomie", by=actor(inae, LIMOGES_CIP), participant_id=lina)
    # A badge of another network: not for an INAÉ SIAE to issue, even if Lina asks herself.
    with pytest.raises(Forbidden, match="vous ne pouvez pas demander un badge ici"):
        requests.submit(inae, "sato.decouvert-industrie", by=cip, participant_id=lina)
    with pytest.raises(Forbidden, match="au nom du réseau « sato »"):
        requests.submit(inae, "sato.decouvert-industrie", by=actor(inae, lina))
    sato_cip = actor(sato, CIP)
    awa = people.add_participant(sato, "sato-interim", "Awa", "Diallo", by=sato_cip)
    with pytest.raises(GateRefused, match="il manque"):
        requests.submit(sato, "sato.decouvert-industrie", by=sato_cip, participant_id=awa)
    with pytest.raises(InvalidInput, match="évaluation doit être motivée"):
        requests.review(inae, 1, by=actor(inae, LIMOGES_CIP), approve=True, reason="  ")


def test_the_support_badge_is_given_at_once_to_anyone_who_asks(inae: Runtime) -> None:
    first = requests.public_request(
        inae, "inae.badgeons-iae", given_name="Camille", family_name="Roy", email="c@roy.example"
    )
    # asking again with the same address reveals nothing: the badge page leaves by e-mail
    with pytest.raises(Conflict, match="déjà été délivré à cette adresse"):
        requests.public_request(
            inae,
            "inae.badgeons-iae",
            given_name="Camille",
            family_name="Roy",
            email="c@roy.example",
        )
    with inae.unit_of_work() as s:
        assert s.get(Assertion, first).revoked_at is None
    with pytest.raises(Forbidden, match="formulaire public"):
        requests.public_request(
            inae, "inae.ponctualite", given_name="A", family_name="B", email="a@b.example"
        )


def test_erasure_reaches_requests_their_evidence_and_reviews(inae: Runtime) -> None:
    from engine.services import privacy
    from engine.store.tables import BadgeRequest, EvidenceFile, Review

    _crossed(inae)
    cip = actor(inae, PESSAC_CIP)
    lina = _lina(inae)
    done = requests.submit(
        inae, "inae.autonomie", by=cip, participant_id=lina, narrative="Lina a mené seule..."
    )
    requests.add_evidence(inae, done, "photo", by=cip, file=check("chantier.png", _png()))
    requests.review(inae, done, by=actor(inae, LIMOGES_CIP), approve=True, reason="Lina ok")
    pending = requests.submit(inae, "inae.adaptation", by=cip, participant_id=lina)
    exported = privacy.export(inae, lina, by=cip)
    assert [d["badge"] for d in exported["demandes_de_badge"]] == [
        "inae.autonomie",
        "inae.adaptation",
    ]
    assert exported["pieces"][0]["demande"] == done

    privacy.erase(inae, lina, by=cip)
    with inae.unit_of_work() as s:
        assert s.execute(select(EvidenceFile)).first() is None
        rows = {r.id: r for r in s.execute(select(BadgeRequest)).scalars()}
        assert rows[done].narrative is None and rows[pending].status == "withdrawn"
        assert [r.reason for r in s.execute(select(Review)).scalars()] == [
            "(effacé à la demande de la personne)"
        ]
        notes = [e.note for e in s.execute(select(AuditEvent)).scalars()]
    assert not any(n and "Lina" in n for n in notes)


def test_committee_sessions_and_reminders_reach_the_members_once(inae: Runtime) -> None:
    from datetime import timedelta

    from engine.services import scheduler
    from engine.store.tables import Delivery
    from tests.conftest import T0

    _crossed(inae)
    requests.submit(
        inae, "inae.engagement", by=actor(inae, PESSAC_CIP), participant_id=_lina(inae), now=T0
    )
    assert scheduler.committee_sessions(inae, now=T0) == 4
    scheduler.committee_sessions(inae, now=T0)  # same session: nothing new
    assert scheduler.request_reminders(inae, now=T0 + timedelta(days=3)) == 0
    assert scheduler.request_reminders(inae, now=T0 + timedelta(days=15)) == 4
    with inae.unit_of_work() as s:
        rows = list(s.execute(select(Delivery).order_by(Delivery.id)).scalars())
    assert len(rows) == 8
    agenda = rows[0].payload
    assert agenda["subject"].startswith("Comité croisé Nouvelle-Aquitaine : ordre du jour")
    assert "Engagement dans son parcours — Lina Haddad" in agenda["body"]
    assert "aucun membre de la structure du participant ne vote" in agenda["body"]
    assert rows[4].payload["subject"] == (
        "Demande de badge en attente depuis 15 jours : Engagement dans son parcours"
    )


def test_a_network_adds_a_conflict_of_interest_rule_by_publishing_its_file(inae: Runtime) -> None:
    """INAÉ publishes a new version of its network file: in internal committees, whoever submitted
    a request no longer votes on it. The running runtime applies it at once."""
    from pathlib import Path

    from engine.networks import load_network_text
    from engine.services import networks

    text = (Path(__file__).parents[2] / "networks" / "inae.yaml").read_text(encoding="utf-8")
    text = text.replace("version: 1\n", "version: 2\n", 1).replace(
        "    title: Comité d'attribution interne\n    quorum: 2\n",
        "    title: Comité d'attribution interne\n    quorum: 2\n"
        "    conflicts_of_interest: [requester]\n",
    )
    with pytest.raises(Forbidden):
        networks.publish(inae, load_network_text(text), by=actor(inae, PESSAC_CIP))
    networks.publish(inae, load_network_text(text), by=actor(inae, INAE))
    with inae.unit_of_work() as s:
        add_staff(
            s,
            "encadrant@regie-pessac.example",
            "Ali",
            "Ben",
            [("regie-pessac", "encadrant_technique")],
        )
    director = actor(inae, PESSAC_DIR)
    cid = committees.create(
        inae, "Comité interne de Pessac", "inae.interne", by=director, structure="regie-pessac"
    )
    for member in (PESSAC_CIP, PESSAC_DIR, "encadrant@regie-pessac.example"):
        committees.add_member(inae, cid, member, by=director)
    lina = _lina(inae)
    cip = actor(inae, PESSAC_CIP)
    rid = requests.submit(
        inae, "inae.engagement", by=cip, participant_id=lina, origin="suivi", narrative="Présente."
    )
    assert request_views.get(inae, rid, by=cip).committee_id == cid
    with pytest.raises(Forbidden, match="l'auteur de la demande ne vote pas"):
        requests.review(inae, rid, by=cip, approve=True, reason="Je la suis depuis trois mois")
    requests.review(inae, rid, by=director, approve=True, reason="Objectifs tenus")
    done = requests.review(
        inae, rid, by=actor(inae, "encadrant@regie-pessac.example"), approve=True, reason="Oui"
    )
    assert done.status == "approved"


def test_a_participant_asks_with_a_photo_that_their_structure_sees_and_no_other(inae) -> None:
    """The participant's own form sends the request and its photo together (one
    transaction); the photo is shown to their structure's staff and to the committee that
    evaluates it, to no other structure's staff."""
    from engine.services.evidence import open_file

    _crossed(inae)  # the committee that evaluates the badge
    lina = _lina(inae)
    photo = _png()
    rid = requests.submit(
        inae,
        "inae.ponctualite",
        by=actor(inae, lina),
        narrative="À l'heure tous les jours",
        file=check("pointage.png", photo),
    )
    cip = actor(inae, PESSAC_CIP)
    (evidence,) = request_views.get(inae, rid, by=cip).evidence
    assert evidence["filename"] == "pointage.png" and evidence["file"]
    assert open_file(inae, evidence["file"], cip).content == photo
    assert open_file(inae, evidence["file"], actor(inae, lina)).content == photo
    assert open_file(inae, evidence["file"], actor(inae, LIMOGES_CIP)).content == photo  # juror
    with pytest.raises(Forbidden):
        open_file(inae, evidence["file"], actor(inae, CVL_DIR))
