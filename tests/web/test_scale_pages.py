"""Lists through the API and the board page at any depth: each answer gives the cursor of the
next page (`next`; « Suivant » on the page), following it lists every row once even when rows
arrive in between, and totals say when they stopped counting."""

from __future__ import annotations

import re
from html import unescape

from sqlalchemy import select

from engine.services import dashboard, keyset
from engine.services import enrollments as e
from engine.store.tables import Enrollment, Organisation
from tests.conftest import CIP, T0, actor
from tests.web.conftest import login

PATHWAY = "atelier-decouverte"


def _enroll(web, names) -> list[int]:
    cip = actor(web, CIP)
    return [
        e.enroll(web, PATHWAY, "sato-interim", e.Participant("Test", n), by=cip, now=T0)
        for n in names
    ]


def test_the_api_lists_follow_their_cursors_without_repeats(web, client) -> None:
    ids = _enroll(web, [f"Api{i}" for i in range(7)])
    login(client)
    seen: list[int] = []
    answer = client.get("/api/v1/enrollments?per_page=3").json()
    assert answer["total"] == 7 and answer["total_exact"] is True
    while True:
        seen += [item["id"] for item in answer["items"]]
        _enroll(web, [f"Entre{len(seen)}"])  # arrives between two pages
        if answer["next"] is None:
            break
        answer = client.get(f"/api/v1/enrollments?per_page=3&after={answer['next']}").json()
    assert seen == sorted(ids, reverse=True)
    refused = client.get("/api/v1/enrollments?after=" + keyset.encode(["x", "y"]))
    assert refused.status_code == 422 and "curseur" in refused.text
    assert client.get("/api/v1/enrollments?after=%00").status_code == 422


def test_a_numbered_page_past_the_offset_limit_is_refused_in_french(
    web, client, monkeypatch
) -> None:
    _enroll(web, [f"Loin{i}" for i in range(5)])
    login(client)
    monkeypatch.setattr(keyset, "MAX_SKIP", 2)
    assert len(client.get("/api/v1/enrollments?per_page=2&page=2").json()["items"]) == 2
    deep = client.get("/api/v1/enrollments?per_page=2&page=3")
    assert deep.status_code == 422
    assert "la page 3 commence après les 2 premiers éléments" in deep.text
    assert "`after`" in deep.text


def test_the_board_pages_on_with_suivant_and_says_when_it_stopped_counting(
    web, client, monkeypatch
) -> None:
    _enroll(web, [f"Tableau{i:02d}" for i in range(23)])
    login(client)
    first = client.get("/tableau-de-bord")
    assert first.status_code == 200
    link = re.search(r'<a href="([^"]+)#liste" rel="next">Suivant</a>', first.text)
    assert link and "apres=" in link.group(1)
    second = client.get(unescape(link.group(1)))
    assert second.status_code == 200 and "Début de la liste" in second.text
    assert "Test Tableau22" in second.text and "Test Tableau22" not in first.text
    assert 'rel="next"' not in second.text
    # a cursor the board did not give starts the list again
    stale = client.get("/tableau-de-bord?apres=bm9wZQ", follow_redirects=False)
    assert stale.status_code in (302, 303) and "apres" not in stale.headers["location"]
    monkeypatch.setattr(keyset, "CAP", 10)
    assert "Où en est chacun (plus de 10)" in client.get("/tableau-de-bord").text


def test_past_a_hundred_structures_the_board_asks_for_a_structure_by_name(
    web, client, monkeypatch
) -> None:
    """A network admin reaching 3,000 structures is not sent two lists of 3,000 options: the
    search and the enrolment form ask for the structure's name, or a part of it."""
    _enroll(web, ["Listee"])
    csrf = login(client)
    assert '<select id="f-structure"' in client.get("/tableau-de-bord").text
    monkeypatch.setattr(dashboard, "LISTED_STRUCTURES", 1)  # Claire reaches two
    page = client.get("/tableau-de-bord").text
    assert '<input id="f-structure"' in page and '<select id="f-structure"' not in page
    assert '<input id="structure"' in page and '<option value="sato-eiti"' not in page
    # part of the name, accents and case aside
    found = client.get("/tableau-de-bord?structure=interim").text
    assert "Test Listee" in found
    assert "Test Listee" not in client.get("/tableau-de-bord?structure=eiti").text
    form = {"csrf": csrf, "pathway": PATHWAY, "prenom": "Nommée", "nom": "Parnom"}
    made = client.post(
        "/inscriptions", data={**form, "structure": "sato intérim"}, follow_redirects=False
    )
    assert made.status_code == 303 and made.headers["location"].startswith("/parcours/")
    eid = int(made.headers["location"].rsplit("/", 1)[1])
    with web.reading() as conn:
        slug = conn.execute(
            select(Organisation.slug)
            .join(Enrollment, Enrollment.structure_id == Organisation.id)
            .where(Enrollment.id == eid)
        ).scalar_one()
    assert slug == "sato-interim"
    both = client.post("/inscriptions", data={**form, "structure": "SATO"})
    assert both.status_code == 400
    assert "« SATO » désigne plusieurs structures" in unescape(both.text)
    assert "« SATO EiTi »" in unescape(both.text) and "« SATO Intérim »" in unescape(both.text)


def test_past_a_hundred_structures_the_group_award_page_asks_for_the_structure_by_name(
    web, client, monkeypatch
) -> None:
    _enroll(web, ["Groupee"])
    login(client)
    monkeypatch.setattr(dashboard, "LISTED_STRUCTURES", 1)  # Claire reaches two
    asked = client.get("/action-collective")
    assert asked.status_code == 200
    assert (
        '<input id="choix-structure"' in asked.text
        and '<select id="choix-structure"' not in asked.text
    )
    assert "Indiquez la structure où l'action a eu lieu." in unescape(asked.text)
    named = client.get("/action-collective?structure=interim&nom=groupee").text
    assert 'value="sato-interim"' in named and "Test Groupee" in named
    assert "Test Groupee" not in client.get("/action-collective?structure=interim&nom=zzz").text
