"""After a collective action, one badge for the whole group: each participant gets a badge of
their own with the shared evidence and a decided request of origin « collectif »; thirty
participants are one transaction (all or nothing); the badge's evaluation rule and the
structure's walls hold."""

from __future__ import annotations

from datetime import date
from io import BytesIO

import pytest
from PIL import Image
from sqlalchemy import func, select

from engine.errors import Forbidden, GateRefused, InvalidInput
from engine.services import dashboard, issuing, people
from engine.services import group_award as ga
from engine.services.runtime import Runtime
from engine.store.tables import (
    Assertion,
    AuditEvent,
    BadgeRequest,
    Delivery,
    Evidence,
    EvidenceFile,
    Review,
)
from engine.uploads import check
from tests.conftest import CIP, ENCADRANT, OTHER_CIP, T0, actor

WORKSHOP = ga.SharedEvidence(
    title="Jeu de piste à la zone de Kergaradec",
    on=date(2026, 3, 2),
    narrative="Visite de quatre entreprises industrielles et échanges avec leurs salariés.",
    context="PMSMP",
)
TABLES = (Assertion, AuditEvent, BadgeRequest, Delivery, Evidence, EvidenceFile, Review)


def _group(rt: Runtime, n: int, structure: str = "sato-interim") -> list[int]:
    cip = actor(rt, CIP)
    return [
        people.add_participant(rt, structure, f"Personne{i}", f"Groupe{i}", f"p{i}@ex.org", by=cip)
        for i in range(n)
    ]


def _counts(rt: Runtime) -> dict[str, int]:
    with rt.reading() as c:
        return {
            t.__name__: c.execute(select(func.count()).select_from(t)).scalar_one() for t in TABLES
        }


def test_thirty_participants_each_get_their_own_badge_in_one_go(sato: Runtime) -> None:
    group = _group(sato, 30)
    out = BytesIO()
    Image.new("RGB", (30, 20), "blue").save(out, "PNG")
    shared = ga.SharedEvidence(**{**WORKSHOP.__dict__, "file": check("groupe.png", out.getvalue())})
    done = ga.award_group(
        sato, "sato.jeu-de-piste", "sato-interim", group, shared, by=actor(sato, ENCADRANT), now=T0
    )
    assert [p for p, _, _ in done.awarded] == group and done.skipped == []
    assert len({a for _, a, _ in done.awarded}) == 30
    with sato.unit_of_work() as s:
        requests = s.execute(select(BadgeRequest).order_by(BadgeRequest.id)).scalars().all()
        assert {(r.origin, r.status) for r in requests} == {("collectif", "approved")}
        assert [r.participant_id for r in requests] == group
        assertions = {
            a.id: a for a in s.execute(select(Assertion)).scalars() if a.recipient_id in group
        }
        assert {r.assertion_id for r in requests} == set(assertions)
        for a in assertions.values():
            assert a.evidence[0]["narrative"].startswith("Action collective « Jeu de piste")
        reviews = s.execute(select(Review)).scalars().all()
        assert len(reviews) == 30 and {r.role for r in reviews} == {"encadrant_technique"}
        # one file, stored once; every other evidence points to it
        assert s.execute(select(func.count()).select_from(EvidenceFile)).scalar_one() == 1
        urls = {e.url for e in s.execute(select(Evidence)).scalars()}
        assert len(urls) == 2 and None in urls
        group_events = (
            s.execute(select(AuditEvent.details).where(AuditEvent.kind == "group_award"))
            .scalars()
            .all()
        )
    assert len(group_events) == 1 and len(group_events[0]["requests"]) == 30
    assert "Personne" not in str(group_events)

    # again, with two newcomers: the thirty holders are listed and left out
    newcomers = _group(sato, 32)[30:]
    again = ga.award_group(
        sato,
        "sato.jeu-de-piste",
        "sato-interim",
        group + newcomers,
        WORKSHOP,
        by=actor(sato, CIP),
    )
    assert [p for p, _, _ in again.awarded] == newcomers
    assert len(again.skipped) == 30 and again.skipped[0][2] == "détient déjà ce badge"


def test_when_the_thirtieth_badge_fails_nothing_is_written(sato: Runtime, monkeypatch) -> None:
    group = _group(sato, 30)
    before = _counts(sato)
    real, calls = issuing.issue, []

    def failing(*args, **kwargs):
        calls.append(kwargs["recipient_id"])
        if len(calls) == 30:
            raise InvalidInput("panne au trentième badge")
        return real(*args, **kwargs)

    monkeypatch.setattr(issuing, "issue", failing)
    with pytest.raises(InvalidInput, match="trentième"):
        ga.award_group(
            sato, "sato.jeu-de-piste", "sato-interim", group, WORKSHOP, by=actor(sato, ENCADRANT)
        )
    assert calls == group
    assert _counts(sato) == before


def test_the_badges_evaluation_rule_and_the_structures_walls_hold(sato: Runtime) -> None:
    group = _group(sato, 3)
    before = _counts(sato)
    # decided by the CIP's signature: an encadrant alone may not award it to a group
    with pytest.raises(Forbidden, match="signatures"):
        ga.award_group(
            sato,
            "sato.immersion-reussie",
            "sato-interim",
            group,
            WORKSHOP,
            by=actor(sato, ENCADRANT),
        )
    # another SIAE's CIP may not award at SATO Intérim
    with pytest.raises(Forbidden):
        ga.award_group(
            sato, "sato.jeu-de-piste", "sato-interim", group, WORKSHOP, by=actor(sato, OTHER_CIP)
        )
    # a participant of SATO EiTi in SATO Intérim's group refuses the whole group, named
    [elsewhere] = _group(sato, 1, "sato-eiti")
    with pytest.raises(Forbidden, match=f"participant n° {elsewhere}"):
        ga.award_group(
            sato,
            "sato.jeu-de-piste",
            "sato-interim",
            [*group, elsewhere],
            WORKSHOP,
            by=actor(sato, CIP),
        )
    # a key badge needs its sub-badges: who lacks them is named
    with pytest.raises(GateRefused, match="Personne0 Groupe0"):
        ga.award_group(
            sato, "sato.decouvert-industrie", "sato-interim", group, WORKSHOP, by=actor(sato, CIP)
        )
    # only those following the pathway named
    with pytest.raises(InvalidInput, match="ne suivent pas le parcours"):
        ga.award_group(
            sato,
            "sato.jeu-de-piste",
            "sato-interim",
            group,
            WORKSHOP,
            by=actor(sato, CIP),
            pathway="sato-femmes-metallurgie",
        )
    with pytest.raises(InvalidInput, match="titre"):
        ga.award_group(
            sato,
            "sato.jeu-de-piste",
            "sato-interim",
            group,
            ga.SharedEvidence("", date(2026, 3, 2), "x"),
            by=actor(sato, CIP),
        )
    assert _counts(sato) == before


def test_the_form_offers_only_what_the_member_may_award_alone(sato: Runtime) -> None:
    _group(sato, 2)
    offered = ga.choices(sato, by=actor(sato, ENCADRANT))
    assert offered.structure == "sato-interim"
    slugs = {b for b, _ in offered.badges}
    assert "sato.jeu-de-piste" in slugs and "sato.immersion-reussie" not in slugs
    assert len(offered.participants) == 2 and offered.total == 2
    cip = ga.choices(sato, by=actor(sato, CIP), structure="sato-interim")
    assert "sato.immersion-reussie" in {b for b, _ in cip.badges}
    assert not any(b.startswith("inae.") for b, _ in cip.badges)


def test_the_form_finds_participants_by_name_and_structures_by_name_past_a_list(
    sato: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A structure of thousands: the form lists MAX_GROUP and finds the others by part of
    their name; an actor of more structures than a list shows names the structure."""
    _group(sato, 12)
    cip = actor(sato, CIP)
    found = ga.choices(sato, by=cip, structure="sato-interim", name="groupe1")
    assert sorted(n for _, n, _ in found.participants) == [
        "Personne1 Groupe1",
        "Personne10 Groupe10",
        "Personne11 Groupe11",
    ]
    assert found.total == 3
    assert ga.choices(sato, by=cip, structure="sato-interim", name="GROUPÉ11").total == 1
    monkeypatch.setattr(ga, "MAX_GROUP", 5)
    some = ga.choices(sato, by=cip, structure="sato-interim")
    assert len(some.participants) == 5 and some.total == 12
    monkeypatch.setattr(dashboard, "LISTED_STRUCTURES", 1)  # Claire reaches two
    asked = ga.choices(sato, by=cip)
    assert asked.many and asked.structure == "" and asked.structures == []
    assert asked.participants == [] and asked.badges == []
    named = ga.choices(sato, by=cip, structure="intérim")
    assert named.structure == "sato-interim" and named.total == 12
    with pytest.raises(InvalidInput, match="plusieurs structures"):
        ga.choices(sato, by=cip, structure="sato")
