"""The dashboard page reads what it shows in a fixed number of statements: its five lists
(who is where, passed deadlines, the network overview, requests to evaluate, committees)
share one reading of who is asking, and none asks again per row."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from engine.pathways.model import Pathway
from engine.services import access, dashboard
from engine.services import enrollments as e
from engine.services.accounts import set_password
from engine.services.organisations import add_staff, upsert_organisation
from engine.services.pathways import publish
from engine.services.runtime import Runtime
from engine.store.database import make_engine
from engine.store.tables import utcnow
from tests.conftest import CIP, NETWORK_ADMIN, SYSTEM, actor, initialised
from tests.web.conftest import PASSWORD, WORKFLOWS, login

DEADLINED = {
    "id": "sato-accueil",
    "version": 1,
    "network": "sato",
    "title": "Accueil SATO",
    "initial": "accueil",
    "stages": [
        {"id": "accueil", "title": "Accueil", "deadline_days": 10},
        {"id": "fin", "title": "Fin", "final": True},
    ],
    "transitions": [{"trigger": "finir", "source": "accueil", "dest": "fin", "title": "Finir"}],
}


def _statements(client: TestClient) -> int:
    seen: list[str] = []

    def count(conn, cursor, statement, *args) -> None:
        seen.append(statement)

    engine = client.app.state.rt.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        resp = client.get("/tableau-de-bord")
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert resp.status_code == 200, resp.text
    return len(seen)


@pytest.mark.parametrize("who", [CIP, NETWORK_ADMIN])
def test_the_dashboard_costs_the_same_statements_with_3_or_30_participants(
    web, client: TestClient, who: str
) -> None:
    set_password(web, NETWORK_ADMIN, PASSWORD)
    publish(web, Pathway.model_validate(DEADLINED), "test", by=SYSTEM)
    cip = actor(web, CIP)

    def enroll(names: range) -> None:
        at = utcnow() - timedelta(days=40)
        for i in names:
            who = e.Participant("Test", f"N{i}")
            e.enroll(web, "sato-accueil", "sato-interim", who, by=cip, now=at)

    enroll(range(3))  # past their first stage's deadline: the overdue list shows them
    login(client, who)
    client.get("/tableau-de-bord")  # the pathways parsed, the pools filled
    few = _statements(client)
    enroll(range(3, 30))
    many = _statements(client)
    page = client.get("/tableau-de-bord").text
    assert "Où en est chacun (30)" in page and "Échéances dépassées (30)" in page
    assert many == few


def test_the_board_lists_the_parcours_in_progress_unless_asked_for_all(
    web, client: TestClient
) -> None:
    publish(web, Pathway.model_validate(DEADLINED), "test", by=SYSTEM)
    cip = actor(web, CIP)
    ids = [
        e.enroll(web, "sato-accueil", "sato-interim", e.Participant(given, "Test"), by=cip)
        for given in ("Amina", "Bruno")
    ]
    e.advance(web, ids[1], "finir", by=cip)  # Bruno's parcours is over
    login(client)
    default = client.get("/tableau-de-bord").text
    assert "1 participant en cours" in default
    assert "Amina Test" in default and "Bruno Test" not in default
    every = client.get("/tableau-de-bord?statut=tous").text
    assert "Amina Test" in every and "Bruno Test" in every
    assert '<option value="tous" selected>Tous</option>' in every
    done = client.get("/tableau-de-bord?statut=completed").text
    assert "Bruno Test" in done and "Amina Test" not in done


@pytest.mark.parametrize("who", [CIP, NETWORK_ADMIN])
def test_the_dashboards_menu_offers_what_access_says_without_reading_again(web, who) -> None:
    someone = actor(web, who)
    with web.reading() as conn:
        assert dashboard.reach(conn, someone).capabilities(someone) == access.capabilities(
            conn, someone
        )


def test_statements_kept_between_visits_follow_each_databases_pathways(web, tmp_path) -> None:
    """The overdue and overview statements are kept per reader and pathways: two databases
    whose pathway versions share ids but not deadlines get each their own."""
    other = initialised(
        Runtime(make_engine(f"sqlite:///{tmp_path / 'autre.sqlite'}"), workflows=WORKFLOWS)
    )
    with other.unit_of_work() as s:  # the same team as `web`'s, so the same ids
        for slug, name, kind in [
            ("sato-interim", "SATO Intérim", "ETTI"),
            ("sato-eiti", "EiTi", "EiTi"),
        ]:
            upsert_organisation(s, slug, name, "structure", structure_kind=kind, networks=["sato"])
        add_staff(s, CIP, "Claire", "Martin", [("sato-interim", "cip"), ("sato-eiti", "cip")])
    later = {**DEADLINED, "stages": [{**DEADLINED["stages"][0], "deadline_days": 60}]}
    later["stages"].append(DEADLINED["stages"][1])
    for rt, pathway, days_ago in [(web, DEADLINED, 20), (other, later, 90)]:
        publish(rt, Pathway.model_validate(pathway), "test", by=SYSTEM)
        at = utcnow() - timedelta(days=days_ago)
        who = e.Participant("Test", "Tard")
        e.enroll(rt, "sato-accueil", "sato-interim", who, by=actor(rt, CIP), now=at)
    try:
        for rt in (web, other):
            late, total = dashboard.overdue(rt, actor(rt, CIP))
            assert total == 1 and [o.participant for o in late] == ["Test Tard"]
    finally:
        other.engine.dispose()
