"""The staff board's search: a CIP finds a participant by part of their name (accents and
capitals or not), narrows by structure, pathway, stage, status, passed deadline or readiness,
sorts, and pages through with the filters kept; nobody ever sees another structure's or
another network's enrollments; a page of rows costs the same number of queries whatever its
size; network admins get their structures' overview."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, select

from engine.pathways.model import Pathway
from engine.services import dashboard, keyset
from engine.services import enrollment_views as ev
from engine.services import enrollments as e
from engine.services.dashboard import Filters
from engine.services.organisations import add_staff, upsert_organisation
from engine.services.pathways import publish
from engine.store.tables import Committee, CommitteeMember, Organisation
from tests.conftest import CIP, DIRECTRICE, ENCADRANT, NETWORK_ADMIN, OTHER_CIP, SYSTEM, T0, actor

METAL = "sato-femmes-metallurgie"
EITI = "sato-eiti"
NOW = T0 + timedelta(days=100)
PESSAC_CIP = "nadia.benali@regie-pessac.example"
INAE_ADMIN = "fanny.alexandre@inae.example"
NEIGHBOUR_CIP = "paul.voisin@sato-voisin.example"


def _inae_pathway() -> Pathway:
    return Pathway.model_validate(
        {
            "id": "inae-accueil",
            "version": 1,
            "network": "inae",
            "title": "Accueil INAÉ",
            "initial": "accueil",
            "stages": [
                {"id": "accueil", "title": "Accueil", "deadline_days": 10},
                {"id": "fin", "title": "Fin", "final": True},
            ],
            "transitions": [
                {"trigger": "finir", "source": "accueil", "dest": "fin", "title": "Finir"}
            ],
        }
    )


@pytest.fixture
def board(sato):
    """SATO Intérim and SATO EiTi (Claire's), a neighbouring SATO structure (not Claire's) and
    an INAÉ structure on an INAÉ pathway, with people at various points of their parcours."""
    rt = sato
    with rt.unit_of_work() as s:
        upsert_organisation(
            s, "sato-voisin", "SATO Voisin", "structure", structure_kind="ACI", networks=["sato"]
        )
        upsert_organisation(
            s,
            "regie-pessac",
            "Régie de Pessac",
            "structure",
            structure_kind="ACI",
            networks=["inae"],
        )
        add_staff(s, NEIGHBOUR_CIP, "Paul", "Voisin", [("sato-voisin", "cip")])
        add_staff(s, PESSAC_CIP, "Nadia", "Benali", [("regie-pessac", "cip")])
        add_staff(s, INAE_ADMIN, "Fanny", "Alexandre", [("inae", "network_admin")])
    publish(rt, _inae_pathway(), "test", by=SYSTEM)
    cip = actor(rt, CIP)

    def enroll(given, family, *, pathway=METAL, where="sato-interim", by=cip, days_ago=0):
        participant = e.Participant(given, family)
        at = NOW - timedelta(days=days_ago)
        return e.enroll(rt, pathway, where, participant, by=by, now=at)

    ids = {
        # découverte: 30-day deadline, passed 10 days ago
        "elodie": enroll("Élodie", "Lefèvre", days_ago=40),
        "awa": enroll("Awa", "Diallo", days_ago=5),
        # diagnostic: 60-day deadline, passed 40 days ago (the oldest)
        "noe": enroll("Noé", "Garçon", pathway=EITI, where="sato-eiti", days_ago=100),
        "jules": enroll("Jules", "Martin", days_ago=20),
        "lucie": enroll("Lucie", "Hélin", days_ago=50),
        "voisin": enroll(
            "Élodie", "Voisine", where="sato-voisin", by=actor(rt, NEIGHBOUR_CIP), days_ago=60
        ),
        "pessac": enroll(
            "Élodie",
            "Pessac",
            pathway="inae-accueil",
            where="regie-pessac",
            by=actor(rt, PESSAC_CIP),
            days_ago=30,
        ),
    }
    # the découverte's key badge asks for two of its sub-badges: Awa, Élodie and Jules have them
    encadrant = actor(rt, ENCADRANT)
    for who in ("awa", "elodie", "jules"):
        for badge in ("sato.jeu-de-piste", "sato.securite-atelier"):
            e.award(rt, ids[who], badge, by=encadrant, now=NOW - timedelta(days=4))
    # Jules moved on to the immersion three days ago (45-day deadline: not passed)
    e.advance(rt, ids["jules"], "commencer-immersion", by=cip, now=NOW - timedelta(days=3))
    # Lucie left the pathway
    e.advance(rt, ids["lucie"], "sortir", by=cip, now=NOW - timedelta(days=1))
    return rt, ids


def _ids(page: dashboard.BoardPage) -> list[int]:
    return [row.id for row in page.items]


def _find(rt, who, **filters) -> list[int]:
    return _ids(dashboard.board(rt, actor(rt, who), Filters(**filters), per_page=100, now=NOW))


def test_a_cip_finds_a_participant_by_part_of_their_name_accents_or_not(board) -> None:
    rt, ids = board
    for typed in ("élodie", "ELODIE", "lodi", "Lefevre", "lefèvre", "elo lef", "LEFÈ"):
        assert _find(rt, CIP, name=typed) == [ids["elodie"]], typed
    assert _find(rt, CIP, name="garcon") == [ids["noe"]]
    assert _find(rt, CIP, name="NOE") == [ids["noe"]]
    assert _find(rt, CIP, name="%") == []  # a wildcard is a character like any other
    assert _find(rt, CIP, name="zzz") == []


def test_each_filter_narrows_the_list(board) -> None:
    rt, ids = board
    mine = {ids[k] for k in ("elodie", "awa", "noe", "jules", "lucie")}
    assert set(_find(rt, CIP)) == mine
    assert set(_find(rt, CIP, structure="sato-eiti")) == {ids["noe"]}
    assert set(_find(rt, CIP, pathway=EITI)) == {ids["noe"]}
    assert set(_find(rt, CIP, pathway=METAL)) == mine - {ids["noe"]}
    assert set(_find(rt, CIP, stage=(METAL, "decouverte"))) == {ids["elodie"], ids["awa"]}
    assert set(_find(rt, CIP, stage=(METAL, "immersion"))) == {ids["jules"]}
    assert set(_find(rt, CIP, status="withdrawn")) == {ids["lucie"]}
    assert set(_find(rt, CIP, status="active")) == mine - {ids["lucie"]}
    assert set(_find(rt, CIP, overdue=True)) == {ids["elodie"], ids["noe"]}
    assert _find(rt, CIP, overdue=True, name="elodie") == [ids["elodie"]]
    assert _find(rt, CIP, overdue=True, structure="sato-eiti") == [ids["noe"]]
    # a step whose conditions are all met: découverte → immersion, badges in hand
    assert set(_find(rt, CIP, ready=True)) == {ids["elodie"], ids["awa"]}
    assert _find(rt, CIP, ready=True, name="awa") == [ids["awa"]]
    with pytest.raises(Exception, match="tri inconnu"):
        _find(rt, CIP, sort="id")


def test_the_list_sorts_by_name_stage_entry_or_deadline(board) -> None:
    rt, ids = board
    active = {"status": "active"}
    assert _find(rt, CIP, sort="nom", **active) == [
        ids["awa"],
        ids["noe"],
        ids["elodie"],
        ids["jules"],
    ]
    # the longest in their stage first
    assert _find(rt, CIP, sort="entree", **active) == [
        ids["noe"],
        ids["elodie"],
        ids["awa"],
        ids["jules"],
    ]
    # Noé's deadline (day 60 of 100 ago) before Élodie's (30 of 40), Awa's (30 of 5), Jules'
    assert _find(rt, CIP, sort="echeance", **active) == [
        ids["noe"],
        ids["elodie"],
        ids["awa"],
        ids["jules"],
    ]
    # no deadline (Lucie left) comes last
    assert _find(rt, CIP, sort="echeance")[-1] == ids["lucie"]


def test_rows_say_where_each_one_stands_in_words(board) -> None:
    rt, _ = board
    row = dashboard.board(rt, actor(rt, CIP), Filters(name="jules"), now=NOW).items[0]
    assert row.stage_title == "Stage d'immersion (PMSMP)"
    assert row.status_label == "en cours" and not row.overdue
    assert row.deadline == NOW - timedelta(days=3) + timedelta(days=45)
    assert row.days_in_stage == 3
    assert "durée minimale en Stage d'immersion (PMSMP) : 10 jours, 3 écoulés" in row.blocking
    lucie = dashboard.board(rt, actor(rt, CIP), Filters(name="lucie"), now=NOW).items[0]
    assert lucie.status_label == "sorti" and lucie.stage_title == "Sortie anticipée du parcours"
    assert lucie.deadline is None and lucie.next_steps == []
    elodie = dashboard.board(rt, actor(rt, CIP), Filters(name="lefevre"), now=NOW).items[0]
    assert elodie.overdue and elodie.ready


def test_nobody_sees_another_structures_or_networks_enrollments(board) -> None:
    rt, ids = board
    everyone = set(ids.values())
    sato = everyone - {ids["pessac"]}
    assert set(_find(rt, NETWORK_ADMIN)) == sato
    assert set(_find(rt, NETWORK_ADMIN, name="elodie")) == {ids["elodie"], ids["voisin"]}
    assert set(_find(rt, NETWORK_ADMIN, overdue=True)) == {ids["elodie"], ids["noe"], ids["voisin"]}
    assert set(_find(rt, INAE_ADMIN)) == {ids["pessac"]}
    assert set(_find(rt, INAE_ADMIN, name="elodie", overdue=True)) == {ids["pessac"]}
    assert set(_find(rt, PESSAC_CIP)) == {ids["pessac"]}
    assert set(_find(rt, NEIGHBOUR_CIP, name="elodie")) == {ids["voisin"]}
    assert _find(rt, OTHER_CIP) == [] and _find(rt, OTHER_CIP, overdue=True) == []
    # a structure one does not reach, asked for by name, gives nothing
    assert _find(rt, CIP, structure="sato-voisin") == []
    assert _find(rt, CIP, structure="regie-pessac", name="elodie") == []
    late, total = dashboard.overdue(rt, actor(rt, CIP), now=NOW)
    assert total == 2 and ids["voisin"] not in [o.enrollment_id for o in late]


def test_pages_keep_the_filters_and_the_count(board) -> None:
    rt, ids = board
    cip = actor(rt, CIP)
    by_name = Filters(status="active", sort="nom")
    first = dashboard.board(rt, cip, by_name, page=1, per_page=3, now=NOW)
    second = dashboard.board(rt, cip, by_name, page=2, per_page=3, now=NOW)
    assert first.total == second.total == 4 and first.pages == 2
    assert _ids(first) + _ids(second) == [ids["awa"], ids["noe"], ids["elodie"], ids["jules"]]
    ready = Filters(ready=True, sort="nom")
    one = dashboard.board(rt, cip, ready, page=1, per_page=1, now=NOW)
    two = dashboard.board(rt, cip, ready, page=2, per_page=1, now=NOW)
    assert one.total == two.total == 2
    assert _ids(one) + _ids(two) == [ids["awa"], ids["elodie"]]


def test_the_overdue_list_starts_with_the_oldest(board) -> None:
    rt, ids = board
    late, total = dashboard.overdue(rt, actor(rt, NETWORK_ADMIN), now=NOW)
    assert total == 3
    assert [o.enrollment_id for o in late] == [ids["noe"], ids["voisin"], ids["elodie"]]
    noe = late[0]
    assert noe.participant == "Noé Garçon" and noe.structure == "SATO EiTi"
    assert noe.stage_title == "Accueil et diagnostic de l'activité"
    assert noe.deadline == NOW - timedelta(days=40)
    # moving on clears the deadline
    e.advance(
        rt, ids["elodie"], "commencer-immersion", by=actor(rt, CIP), now=NOW - timedelta(days=1)
    )
    assert dashboard.overdue(rt, actor(rt, CIP), now=NOW)[1] == 1


def test_the_overdue_count_stops_at_the_cap_across_stages_and_says_so(board, monkeypatch) -> None:
    rt, _ = board
    admin = actor(rt, NETWORK_ADMIN)
    monkeypatch.setattr(keyset, "CAP", 3)
    total = dashboard.overdue(rt, admin, now=NOW)[1]
    assert (int(total), total.exact) == (3, True)
    monkeypatch.setattr(keyset, "CAP", 2)  # counted stage by stage, stopped past the cap
    total = dashboard.overdue(rt, admin, now=NOW)[1]
    assert (int(total), total.exact, str(total)) == (2, False, "plus de 2")


def test_the_board_reads_what_the_enrollment_page_reads(board) -> None:
    """Each row's next steps, read for the whole page at once, are those the enrollment page
    shows one by one: same conditions, same sentences, committee included."""
    rt, ids = board
    director = actor(rt, DIRECTRICE)
    cip = actor(rt, CIP)
    # Noé reaches the interim stage, where SATO Intérim's commission decides the next step
    noe = e.enroll(rt, METAL, "sato-interim", e.Participant("Noé", "Garçon"), by=cip, now=T0)
    for badge in ("sato.jeu-de-piste", "sato.securite-atelier"):
        e.award(rt, noe, badge, by=actor(rt, ENCADRANT), now=T0)
    e.advance(rt, noe, "commencer-immersion", by=cip, now=T0)
    for badge in ("sato.immersion-reussie", "sato.projet-professionnel"):
        e.award(rt, noe, badge, by=cip, now=T0)
    for kind in ("convention-pmsmp", "bilan-immersion"):
        e.add_evidence(rt, noe, kind, by=cip, now=T0 + timedelta(days=1))
    e.advance(rt, noe, "valider-projet", by=cip, now=T0 + timedelta(days=11))
    with rt.unit_of_work() as s:  # the commission, as its director sets it up
        interim_id = s.execute(
            select(Organisation.id).where(Organisation.slug == "sato-interim")
        ).scalar_one()
        commission = Committee(
            name="Commission",
            kind="sato.validation",
            network="sato",
            structure_id=interim_id,
            created_at=T0,
        )
        s.add(commission)
        s.flush()
        for member in (cip, director):
            s.add(CommitteeMember(committee_id=commission.id, person_id=member.person_id))
    e.record_decision(rt, noe, "signer-contrat-pro", True, "Projet solide", by=cip, now=NOW)
    e.add_evidence(rt, ids["jules"], "convention-pmsmp", by=cip, now=NOW - timedelta(days=2))
    rows = dashboard.board(rt, director, Filters(), per_page=100, now=NOW).items
    interim = next(r for r in rows if r.id == noe)
    assert "1 pour, 0 contre" in " ".join(interim.blocking)
    for row in rows:
        st = ev.status(rt, row.id, by=director, now=NOW)
        forward = [s for s in st.next_steps if not s.early_exit]
        assert row.next_steps == forward, row.participant
        assert (row.stage_title, row.deadline) == (st.stage_title, st.deadline)


def test_a_page_costs_the_same_number_of_queries_whatever_its_size(board) -> None:
    rt, _ = board
    cip = actor(rt, CIP)
    for i in range(20):
        e.enroll(rt, METAL, "sato-interim", e.Participant("Test", f"N{i:02d}"), by=cip, now=NOW)
    dashboard.board(rt, cip, Filters(), per_page=5, now=NOW)  # warm the pathway caches

    def statements(per_page: int) -> int:
        seen: list[str] = []

        def count(conn, cursor, statement, *args) -> None:
            seen.append(statement)

        event.listen(rt.engine, "before_cursor_execute", count)
        try:
            page = dashboard.board(rt, cip, Filters(), per_page=per_page, now=NOW)
        finally:
            event.remove(rt.engine, "before_cursor_execute", count)
        assert len(page.items) == per_page
        return len(seen)

    assert statements(5) == statements(20)


def test_a_network_admin_sees_their_structures_overview_not_another_networks(board) -> None:
    rt, _ = board
    (sato,) = dashboard.network_overview(rt, actor(rt, NETWORK_ADMIN), now=NOW)
    assert sato.slug == "sato"
    names = [s.name for s in sato.structures]
    assert names == ["SATO EiTi", "SATO Intérim", "SATO Voisin"]
    interim = sato.structures[1]
    assert interim.active == 3 and interim.overdue == 1
    counts = {(c.pathway_id, c.stage_title): c.count for c in interim.stages}
    assert counts == {
        (METAL, "Jeu de piste en entreprises"): 2,
        (METAL, "Stage d'immersion (PMSMP)"): 1,
    }
    (inae,) = dashboard.network_overview(rt, actor(rt, INAE_ADMIN), now=NOW)
    assert [s.name for s in inae.structures] == ["Régie de Pessac"]
    assert inae.structures[0].active == 1 and inae.structures[0].overdue == 1
    assert dashboard.network_overview(rt, actor(rt, CIP), now=NOW) == []
