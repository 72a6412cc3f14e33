"""Evidence that arrives by itself (issue 20): the PMSMP platform signs its immersion
conventions and end-of-immersion assessments; Parcours turns them into the evidence the
« Femmes et métallurgie » immersion stage asks for, so the CIP does not retype them. A replay
changes nothing; a bad or stale signature, or another network's secret, is refused; an event
that matches nobody waits for the network's admins; no personal data of the payload is kept."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from engine.errors import Forbidden, GateRefused, InvalidInput
from engine.inbound import signature
from engine.services import enrollment_views as ev
from engine.services import enrollments as e
from engine.services import inbound, inbound_views
from engine.services.inbound import SignatureRefused
from engine.services.networks import check_text, publish
from engine.services.runtime import Runtime
from engine.store.tables import AuditEvent, Evidence, InboundEvent
from tests.conftest import CIP, ENCADRANT, NETWORK_ADMIN, SYSTEM, T0, actor

METALLURGY = "sato-femmes-metallurgie"
CONVENTION_ID = "2b7e3c1a-5d0f-4c49-9c7e-0a1f2e3d4c5b"
EMAIL = "awa.diallo@exemple.fr"
PHONE = "06 12 34 56 78"
INAE_FILE = Path(__file__).parents[2] / "networks" / "inae.yaml"


def convention(status: str = "ACCEPTED_BY_VALIDATOR", **beneficiary: Any) -> dict[str, Any]:
    """The platform's `convention.updated` webhook body, trimmed to what a real one carries
    around what Parcours reads (shared/src/convention/convention.dto.ts)."""
    return {
        "subscribedEvent": "convention.updated",
        "payload": {
            "convention": {
                "id": CONVENTION_ID,
                "status": status,
                "agencyId": "a0b1c2d3-0000-4000-8000-000000000001",
                "agencyName": "France Travail Brest",
                "dateSubmission": "2026-03-01T10:00:00.000Z",
                "dateStart": "2026-03-09T00:00:00.000Z",
                "dateEnd": "2026-03-13T00:00:00.000Z",
                "dateValidation": "2026-03-02T15:00:00.000Z",
                "updatedAt": "2026-03-02T15:00:00.000Z",
                "siret": "12345678901234",
                "businessName": "Chaudronnerie de l'Élorn",
                "immersionObjective": "Confirmer un projet professionnel",
                "immersionAppellation": {
                    "romeCode": "H2902",
                    "romeLabel": "Chaudronnerie - tôlerie",
                    "appellationCode": "11570",
                    "appellationLabel": "Chaudronnier / Chaudronnière",
                },
                "immersionAddress": "3 rue du Port 29200 Brest",
                "internshipKind": "immersion",
                "signatories": {
                    "beneficiary": {
                        "role": "beneficiary",
                        "firstName": "Awa",
                        "lastName": "Diallo",
                        "email": beneficiary.get("email", EMAIL),
                        "phone": beneficiary.get("phone", "+33612345678"),
                        "birthdate": "1994-05-17T00:00:00.000Z",
                        "isRqth": False,
                    },
                    "establishmentRepresentative": {
                        "role": "establishment-representative",
                        "firstName": "Yves",
                        "lastName": "Quéré",
                        "email": "yves.quere@chaudronnerie.example",
                        "phone": "+33298000000",
                    },
                },
            }
        },
    }


def assessment(status: str = "COMPLETED", **extra: Any) -> dict[str, Any]:
    """An end-of-immersion assessment, shaped as the platform's AssessmentDto."""
    body: dict[str, Any] = {
        "conventionId": CONVENTION_ID,
        "status": status,
        "endedWithAJob": False,
        "establishmentFeedback": "Awa Diallo a été ponctuelle et motivée.",
        "establishmentAdvices": "Passer le CACES.",
        "beneficiaryAgreement": True,
        "beneficiaryFeedback": None,
        "signedAt": None,
        "createdAt": "2026-03-14T09:00:00.000Z",
        **extra,
    }
    return {"subscribedEvent": "assessment.created", "payload": {"assessment": body}}


def send(
    rt: Runtime,
    secret: str,
    payload: Any,
    at: datetime,
    *,
    network: str = "sato",
    signed_at: datetime | None = None,
    event_id: str | None = None,
) -> inbound.Outcome:
    body = json.dumps(payload).encode()
    header = signature.header(secret, network, body, signed_at or at)
    return inbound.receive(rt, "pmsmp", body, header, event_id=event_id, now=at)


@pytest.fixture
def secret(sato: Runtime) -> str:
    return inbound.issue_secret(sato, "sato", "pmsmp", by=actor(sato, NETWORK_ADMIN), now=T0)


def _awa(rt: Runtime, email: str | None = EMAIL, phone: str | None = None) -> int:
    person = e.Participant("Awa", "Diallo", email=email, phone=phone)
    return e.enroll(rt, METALLURGY, "sato-interim", person, by=actor(rt, CIP), now=T0)


def _to_immersion(rt: Runtime, eid: int, at: datetime) -> None:
    """Two discovery badges (the stage's completion badge needs them), then the immersion."""
    for badge in ("sato.jeu-de-piste", "sato.securite-atelier"):
        e.award(rt, eid, badge, by=actor(rt, ENCADRANT), now=at)
    e.advance(rt, eid, "commencer-immersion", by=actor(rt, CIP), now=at)


def _evidence_conditions(rt: Runtime, eid: int, at: datetime) -> dict[str, bool]:
    [step] = [
        s for s in ev.status(rt, eid, by=SYSTEM, now=at).next_steps if s.trigger == "valider-projet"
    ]
    return {c.text.rsplit(" : ", 1)[1]: c.met for c in step.conditions if c.kind == "evidence"}


def _counts(rt: Runtime) -> tuple[int, int, int]:
    with rt.reading() as conn:
        return (
            conn.execute(select(func.count()).select_from(Evidence)).scalar_one(),
            conn.execute(select(func.count()).select_from(AuditEvent)).scalar_one(),
            conn.execute(select(func.count()).select_from(InboundEvent)).scalar_one(),
        )


def test_a_convention_then_an_assessment_meet_the_immersion_gate(
    sato: Runtime, secret: str
) -> None:
    eid = _awa(sato)
    cip = actor(sato, CIP)
    # the convention is validated while Awa is still discovering the companies
    got = send(sato, secret, convention(), T0 + timedelta(days=1))
    assert (got.status, got.enrollment_id, got.replayed) == ("applied", eid, False)
    _to_immersion(sato, eid, T0 + timedelta(days=2))
    assert _evidence_conditions(sato, eid, T0 + timedelta(days=13)) == {
        "Convention PMSMP": False,
        "Bilan immersion": False,
    }
    done = send(sato, secret, assessment(), T0 + timedelta(days=13))
    assert (done.status, done.enrollment_id) == ("applied", eid)
    # the convention received before the stage began is carried into it with the assessment
    assert _evidence_conditions(sato, eid, T0 + timedelta(days=13)) == {
        "Convention PMSMP": True,
        "Bilan immersion": True,
    }
    pieces = {
        p.kind: p for p in ev.pieces(sato, eid, by=cip) if p.stage == "Stage d'immersion (PMSMP)"
    }
    assert "Chaudronnerie de l'Élorn" in pieces["convention-pmsmp"].narrative
    assert "ROME H2902" in pieces["convention-pmsmp"].narrative
    assert "immersion réalisée en entier" in pieces["bilan-immersion"].narrative
    assert "Débouche sur un emploi : non" in pieces["bilan-immersion"].narrative
    assert pieces["bilan-immersion"].context == "PMSMP"
    assert pieces["bilan-immersion"].added_by == "système"
    # the gate that the CIP then passes needs nothing typed about the immersion
    for badge in ("sato.immersion-reussie", "sato.projet-professionnel"):
        e.award(sato, eid, badge, by=cip, now=T0 + timedelta(days=13))
    moved = e.advance(sato, eid, "valider-projet", by=cip, now=T0 + timedelta(days=13))
    assert moved.to_stage == "interim"


def test_replaying_an_assessment_changes_nothing(sato: Runtime, secret: str) -> None:
    eid = _awa(sato)
    _to_immersion(sato, eid, T0)
    send(sato, secret, convention(), T0 + timedelta(hours=1))
    first = send(sato, secret, assessment(), T0 + timedelta(days=11))
    before = _counts(sato)
    again = send(sato, secret, assessment(), T0 + timedelta(days=11, minutes=2))
    assert again.replayed and (again.status, again.enrollment_id, again.evidence_id) == (
        first.status,
        first.enrollment_id,
        first.evidence_id,
    )
    assert _counts(sato) == before
    # the sender's own event id, when it gives one, is what makes a replay
    send(sato, secret, assessment(), T0 + timedelta(days=12), event_id="if-evt-1")
    after = _counts(sato)
    assert send(sato, secret, assessment(), T0 + timedelta(days=12), event_id="if-evt-1").replayed
    assert _counts(sato) == after


def test_an_assessment_with_a_job_says_which(sato: Runtime, secret: str) -> None:
    eid = _awa(sato)
    _to_immersion(sato, eid, T0)
    send(sato, secret, convention(), T0 + timedelta(hours=1))
    send(
        sato,
        secret,
        assessment(
            "PARTIALLY_COMPLETED",
            endedWithAJob=True,
            typeOfContract="CDD > ou = 6 mois",
            contractStartDate="2026-04-01",
            numberOfMissedHours=7,
            lastDayOfPresence="2026-03-12",
        ),
        T0 + timedelta(days=11),
    )
    [bilan] = [p for p in ev.pieces(sato, eid, by=SYSTEM) if p.kind == "bilan-immersion"]
    partly = "immersion réalisée en partie (7 heure(s) manquée(s), dernier jour de présence le"
    assert f"{partly} 12/03/2026)" in bilan.narrative
    assert "Débouche sur un emploi : oui (CDD > ou = 6 mois, à partir du 01/04/2026)" in (
        bilan.narrative
    )
    assert _evidence_conditions(sato, eid, T0 + timedelta(days=11))["Bilan immersion"]


def test_did_not_show_is_told_to_the_cip_but_meets_no_gate(sato: Runtime, secret: str) -> None:
    eid = _awa(sato)
    cip = actor(sato, CIP)
    _to_immersion(sato, eid, T0)
    send(sato, secret, convention(), T0 + timedelta(hours=1))
    got = send(sato, secret, assessment("DID_NOT_SHOW"), T0 + timedelta(days=11))
    assert (got.status, got.evidence_id, got.enrollment_id) == ("noted", None, eid)
    assert not _evidence_conditions(sato, eid, T0 + timedelta(days=11))["Bilan immersion"]
    [noted] = [h for h in ev.history(sato, eid, by=cip) if h.kind == "inbound_event"]
    assert "ne s'est pas présenté·e à l'immersion" in (noted.note or "")
    with pytest.raises(GateRefused, match="Bilan immersion|bilan-immersion"):
        e.advance(sato, eid, "valider-projet", by=cip, now=T0 + timedelta(days=11))


def test_a_convention_not_yet_validated_adds_nothing(sato: Runtime, secret: str) -> None:
    eid = _awa(sato)
    got = send(sato, secret, convention("READY_TO_SIGN"), T0 + timedelta(hours=1))
    assert got.status == "ignored"
    assert ev.pieces(sato, eid, by=SYSTEM) == []


def test_the_beneficiary_is_found_by_telephone_without_e_mail(sato: Runtime, secret: str) -> None:
    eid = _awa(sato, email=None, phone=PHONE)
    got = send(sato, secret, convention(email="autre.adresse@exemple.fr"), T0 + timedelta(hours=1))
    assert (got.status, got.enrollment_id) == ("applied", eid)


def test_an_event_matching_nobody_waits_for_the_network_admins(sato: Runtime, secret: str) -> None:
    _awa(sato)
    stranger = convention(email="inconnue@exemple.fr", phone="+33700000000")
    got = send(sato, secret, stranger, T0 + timedelta(hours=1))
    assert (got.status, got.enrollment_id, got.evidence_id) == ("unmatched", None, None)
    orphan = send(sato, secret, assessment(), T0 + timedelta(days=11))
    assert orphan.status == "unmatched"
    admin = actor(sato, NETWORK_ADMIN)
    listed = inbound_views.events(sato, "sato", by=admin, status="unmatched")
    assert [(r.kind, r.external_ref) for r in listed] == [
        ("assessment", CONVENTION_ID),
        ("convention", CONVENTION_ID),
    ]
    [source] = inbound_views.sources(sato, "sato", by=admin)
    assert (source.source, source.unmatched, source.secret_since is not None) == ("pmsmp", 2, True)
    with pytest.raises(Forbidden):
        inbound_views.events(sato, "sato", by=actor(sato, CIP))


def test_bad_signatures_are_refused_and_write_nothing(sato: Runtime, secret: str) -> None:
    _awa(sato)
    body = json.dumps(convention()).encode()
    at = T0 + timedelta(hours=1)
    before = _counts(sato)
    wrong = signature.header("pas-le-bon-secret", "sato", body, at)
    stale = signature.header(secret, "sato", body, at - timedelta(minutes=6))
    tampered = signature.header(secret, "sato", body, at)
    cases = {
        "absent": (None, body),
        "illisible": ("n'importe quoi", body),
        "invalide": (wrong, body),
        "trop éloigné": (stale, body),
        "invalide pour ce réseau": (tampered, body.replace(b"Chaudronnerie", b"Boulangerie")),
    }
    for expected, (header, sent) in cases.items():
        with pytest.raises(SignatureRefused, match=expected):
            inbound.receive(sato, "pmsmp", sent, header, now=at)
    with pytest.raises(SignatureRefused, match="pas de secret pour la source « autre »"):
        inbound.receive(sato, "autre", body, signature.header(secret, "sato", body, at), now=at)
    assert _counts(sato) == before


def test_unreadable_events_name_the_field(sato: Runtime, secret: str) -> None:
    at = T0 + timedelta(hours=1)
    broken = convention()
    del broken["payload"]["convention"]["dateStart"]
    broken["payload"]["convention"]["status"] = "SIGNED"
    with pytest.raises(InvalidInput) as refused:
        send(sato, secret, broken, at)
    assert "payload.convention.dateStart : champ obligatoire" in str(refused.value)
    assert "payload.convention.status : valeur « SIGNED » inconnue" in str(refused.value)
    with pytest.raises(InvalidInput, match="subscribedEvent : événement « establishment.updated »"):
        send(sato, secret, {"subscribedEvent": "establishment.updated"}, at)
    body = b"{pas du json"
    with pytest.raises(InvalidInput, match="JSON illisible"):
        inbound.receive(sato, "pmsmp", body, signature.header(secret, "sato", body, at), now=at)


def test_a_network_secret_never_posts_for_another_network(sato: Runtime, secret: str) -> None:
    """INAÉ also takes PMSMP events (a version 2 of its file): its secret authenticates
    INAÉ's events only, and SATO's participant is out of its reach."""
    text_ = INAE_FILE.read_text().replace("version: 1", "version: 2", 1)
    text_ += "\ninbound:\n  - source: pmsmp\n    mapping: pmsmp\n"
    publish(sato, check_text(sato, text_, "inae.yaml", _beside), by=SYSTEM)
    inae_secret = inbound.issue_secret(sato, "inae", "pmsmp", by=SYSTEM, now=T0)
    _awa(sato)
    at = T0 + timedelta(hours=1)
    body = json.dumps(convention()).encode()
    # INAÉ's secret with SATO named: refused
    with pytest.raises(SignatureRefused):
        inbound.receive(
            sato, "pmsmp", body, signature.header(inae_secret, "sato", body, at), now=at
        )
    # INAÉ's own event: accepted, but SATO's enrollment is not INAÉ's to touch
    got = inbound.receive(
        sato, "pmsmp", body, signature.header(inae_secret, "inae", body, at), now=at
    )
    assert (got.network, got.status, got.enrollment_id) == ("inae", "unmatched", None)
    # and SATO's secret for SATO still works on the same body
    assert send(sato, secret, convention(), at).status == "applied"
    # rotating SATO's secret ends the old one at once
    inbound.issue_secret(sato, "sato", "pmsmp", by=actor(sato, NETWORK_ADMIN), now=at)
    with pytest.raises(SignatureRefused):
        send(sato, secret, assessment(), at)


def test_only_the_network_admins_make_secrets_for_declared_sources(sato: Runtime) -> None:
    with pytest.raises(Forbidden):
        inbound.issue_secret(sato, "sato", "pmsmp", by=actor(sato, CIP))
    with pytest.raises(InvalidInput, match="ne la déclare pas"):
        inbound.issue_secret(sato, "sato", "france-travail", by=actor(sato, NETWORK_ADMIN))


def test_no_personal_data_of_the_payload_is_stored(sato: Runtime, secret: str) -> None:
    eid = _awa(sato, email=None, phone=None)  # the platform's e-mail is not already in Parcours
    with sato.unit_of_work() as s:
        from engine.store.tables import Person

        awa = s.execute(select(Person).where(Person.family_name == "Diallo")).scalar_one()
        awa.phone = "+33612345678"
    _to_immersion(sato, eid, T0)
    send(sato, secret, convention(), T0 + timedelta(hours=1))
    send(sato, secret, assessment(), T0 + timedelta(days=11))
    assert "evidence" in _grep(sato, ["Chaudronnerie de l'Élorn"])["Chaudronnerie de l'Élorn"]
    needles = [EMAIL, "1994-05-17", "Quéré", "yves.quere", "ponctuelle", "CACES", "29200"]
    found = _grep(sato, needles)
    assert found == {}, found


def _beside(name: str) -> bytes | None:
    path = INAE_FILE.parent / name
    return path.read_bytes() if path.is_file() else None


def _grep(rt: Runtime, needles: list[str]) -> dict[str, list[str]]:
    """Every needle found in any text column of any table: the whole database, read back."""
    from sqlmodel import SQLModel

    found: dict[str, list[str]] = {}
    with rt.reading() as conn:
        for table in SQLModel.metadata.sorted_tables:
            for row in conn.execute(select(table)):
                flat = json.dumps([str(v) for v in row], ensure_ascii=False)
                for needle in needles:
                    if needle in flat:
                        found.setdefault(needle, []).append(table.name)
    return found


def test_an_unmatched_event_sent_again_once_the_person_is_enrolled_applies(
    sato: Runtime, secret: str
) -> None:
    first = send(sato, secret, convention(), T0)
    assert first.status == "unmatched"
    still = send(sato, secret, convention(), T0 + timedelta(minutes=1))
    assert (still.status, still.replayed) == ("unmatched", True)
    eid = _awa(sato)  # the CIP enrolls her; the platform sends the convention again
    again = send(sato, secret, convention(), T0 + timedelta(hours=1))
    assert (again.status, again.enrollment_id, again.replayed) == ("applied", eid, False)
    assert _counts(sato)[2] == 1
    assert send(sato, secret, convention(), T0 + timedelta(hours=1)).replayed
    assert [p.kind for p in ev.pieces(sato, eid, by=SYSTEM)] == ["convention-pmsmp"]
