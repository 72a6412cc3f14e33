"""A generated data set for the indicators, every date set: two structures of SATO's network
walk participants through the short test pathway (accueil → atelier → emploi), with known
stays, exits, badges and requests, so each figure can be counted by hand.

Period: 1 January to 30 June 2026.

SATO Intérim (A): 8 entries from 1 February, one a day; 6 leave « accueil » after 10 days;
4 of them leave « atelier » after 20 more days and exit (2 CDI, 1 formation qualifiante,
1 en recherche d'emploi). One more person entered in November 2025 and is still in
« accueil ».
SATO EiTi (B): 3 entries from 1 March; 2 leave « accueil » after 5 days; 1 leaves « atelier »
after 7 more days and exits (CDD de moins de 6 mois).

Badge requests (A): 3 decided in the period (2 accorded after 2 and 4 days, 1 refused after
6 days) and 1 waiting since 1 June.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from engine.exits import Exit
from engine.services import enrollments as e
from engine.services import requests
from engine.services.accounts import set_password
from engine.services.indicators import Period
from engine.services.runtime import Runtime
from engine.store.tables import Enrollment
from tests.conftest import CIP, DIRECTRICE, ENCADRANT, NETWORK_ADMIN, actor, initialised

WORKFLOWS = Path(__file__).parents[1] / "data" / "workflows"
PATHWAY = "atelier-decouverte"
PERIOD = Period(date(2026, 1, 1), date(2026, 6, 30))
PASSWORD = "une-phrase-de-passe-longue"


def at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


@dataclass(frozen=True)
class Walk:
    structure: str
    first_day: date
    entries: int
    start_after: int
    """How many leave « accueil », after `accueil_days`."""
    accueil_days: int
    finish_after: int
    atelier_days: int
    outcomes: tuple[str, ...]


WALKS = (
    Walk(
        "sato-interim",
        date(2026, 2, 1),
        8,
        6,
        10,
        4,
        20,
        ("cdi", "cdi", "formation_qualifiante", "recherche_emploi"),
    ),
    Walk("sato-eiti", date(2026, 3, 1), 3, 2, 5, 1, 7, ("cdd_moins_6_mois",)),
)


def runtime(db_engine) -> Runtime:
    return initialised(Runtime(db_engine, workflows=WORKFLOWS))


def populate(rt: Runtime) -> dict[str, list[int]]:
    """Play the data set through the services (enroll, evidence, advance, requests); exit
    each exit is recorded with the last step. Returns enrollment ids
    by structure."""
    cip, encadrant = actor(rt, CIP), actor(rt, ENCADRANT)
    ids: dict[str, list[int]] = {}
    number = 0
    for walk in WALKS:
        ids[walk.structure] = []
        for i in range(walk.entries):
            number += 1
            day = walk.first_day + timedelta(days=i)
            eid = e.enroll(
                rt,
                PATHWAY,
                walk.structure,
                e.Participant("Personne", f"N{number:03d}"),
                by=cip,
                now=at(day),
            )
            ids[walk.structure].append(eid)
            if i >= walk.start_after:
                continue
            moved = at(day + timedelta(days=walk.accueil_days))
            e.advance(rt, eid, "demarrer", by=cip, now=moved)
            if i >= walk.finish_after:
                continue
            done = moved + timedelta(days=walk.atelier_days)
            e.add_evidence(rt, eid, "fiche-atelier", by=cip, narrative="Fiche", now=done)
            exit = Exit(walk.outcomes[i], on=done.date())
            e.advance(rt, eid, "valider-atelier", by=cip, now=done, exit=exit)
    old = e.enroll(
        rt,
        PATHWAY,
        "sato-interim",
        e.Participant("Personne", "Ancienne"),
        by=cip,
        now=at(date(2025, 11, 3)),
    )
    ids["sato-interim"].append(old)
    # badge requests at SATO Intérim, decided by the encadrant
    person = _participant(rt, ids["sato-interim"][0])
    decisions = (
        (date(2026, 3, 2), 2, True),
        (date(2026, 3, 10), 4, True),
        (date(2026, 4, 1), 6, False),
    )
    for badge, (day, wait, approve) in zip(
        ("sato.ponctualite", "sato.consignes", "sato.travail-equipe"), decisions, strict=True
    ):
        rid = requests.submit(rt, badge, by=cip, participant_id=person, now=at(day))
        for signer in (cip, encadrant):  # the signatures the network asks for, on one day
            view = requests.review(
                rt,
                rid,
                by=signer,
                approve=approve,
                reason="Vu en atelier",
                now=at(day + timedelta(days=wait)),
            )
            if view.status != "pending":
                break
    requests.submit(
        rt, "sato.geste-professionnel", by=cip, participant_id=person, now=at(date(2026, 6, 1))
    )
    for who in (CIP, DIRECTRICE, NETWORK_ADMIN):
        set_password(rt, who, PASSWORD)
    return ids


def _participant(rt: Runtime, enrollment_id: int) -> int:
    with rt.reading() as conn:
        query = select(Enrollment.participant_id).where(Enrollment.id == enrollment_id)
        return conn.execute(query).scalar_one()
