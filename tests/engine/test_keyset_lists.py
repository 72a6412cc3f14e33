"""Lists that cost the same at any size: a page after the first resumes from the cursor of the
one before (`after`), so rows inserted between two pages never make a row appear twice or
go missing; counts stop at a cap and say so; the board's page costs a fixed number of queries
however it was reached."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, select

from engine.errors import InvalidInput
from engine.services import dashboard, keyset
from engine.services import enrollments as e
from engine.services.dashboard import Filters
from engine.store.tables import Enrollment
from tests.conftest import CIP, NETWORK_ADMIN, T0, actor

METAL = "sato-femmes-metallurgie"
NOW = T0 + timedelta(days=30)


def _enroll(rt, names: list[str]) -> list[int]:
    cip = actor(rt, CIP)
    return [
        e.enroll(rt, METAL, "sato-interim", e.Participant("Test", name), by=cip, now=T0)
        for name in names
    ]


def test_enrollments_pages_neither_skip_nor_repeat_rows_inserted_between_them(sato) -> None:
    before = _enroll(sato, [f"Avant{i}" for i in range(7)])
    admin = actor(sato, NETWORK_ADMIN)
    seen: list[int] = []
    page = dashboard.enrollments(sato, admin, per_page=3)
    while True:
        seen += [r.id for r in page.items]
        _enroll(sato, [f"Pendant{len(seen)}"])  # newer than every row listed: before the cursor
        if page.next is None:
            break
        page = dashboard.enrollments(sato, admin, per_page=3, after=page.next)
    assert seen == sorted(before, reverse=True)


def test_board_pages_by_name_neither_skip_nor_repeat_while_names_arrive(sato) -> None:
    _enroll(sato, ["Bernard", "Dupont", "Fabre", "Henry", "Jacob", "Lemoine", "Noël"])
    cip = actor(sato, CIP)
    by_name = Filters(sort="nom")
    first = dashboard.board(sato, cip, by_name, per_page=3, now=NOW)
    names = [r.participant for r in first.items]
    assert names == ["Test Bernard", "Test Dupont", "Test Fabre"]
    # one lands before the cursor (never shown now), one after it (shown once, in order)
    _enroll(sato, ["Arnaud", "Ibrahim"])
    cursor = first.next
    while cursor:
        page = dashboard.board(sato, cip, by_name, per_page=3, now=NOW, after=cursor)
        names += [r.participant for r in page.items]
        cursor = page.next
    assert names == [
        "Test Bernard",
        "Test Dupont",
        "Test Fabre",
        "Test Henry",
        "Test Ibrahim",
        "Test Jacob",
        "Test Lemoine",
        "Test Noël",
    ]


@pytest.mark.parametrize("sort", ["entree", "echeance"])
def test_every_order_of_the_board_pages_through_each_row_once(sato, sort) -> None:
    ids = _enroll(sato, [f"P{i}" for i in range(8)])
    cip = actor(sato, CIP)
    with sato.unit_of_work() as s:  # ties on the entry time are broken by the id
        for i, eid in enumerate(ids):
            s.get(Enrollment, eid).stage_entered_at = T0 - timedelta(days=i % 3)
    whole = dashboard.board(sato, cip, Filters(sort=sort), per_page=100, now=NOW)
    walked, cursor = [], None
    while True:
        page = dashboard.board(sato, cip, Filters(sort=sort), per_page=3, now=NOW, after=cursor)
        walked += [r.id for r in page.items]
        if not (cursor := page.next):
            break
    assert walked == [r.id for r in whole.items] and len(walked) == 8


def test_a_page_reached_by_cursor_costs_the_queries_of_the_first(sato) -> None:
    _enroll(sato, [f"N{i:02d}" for i in range(25)])
    cip = actor(sato, CIP)
    first = dashboard.board(sato, cip, Filters(), per_page=5, now=NOW)  # warms the caches

    def statements(**kw) -> int:
        seen: list[str] = []

        def count(conn, cursor, statement, *args) -> None:
            seen.append(statement)

        event.listen(sato.engine, "before_cursor_execute", count)
        try:
            page = dashboard.board(sato, cip, Filters(), now=NOW, **kw)
        finally:
            event.remove(sato.engine, "before_cursor_execute", count)
        assert page.items
        return len(seen)

    assert (
        statements(per_page=5)
        == statements(per_page=20)
        == statements(per_page=5, after=first.next)
    )


def test_counts_stop_at_the_cap_and_say_so(sato, monkeypatch) -> None:
    _enroll(sato, [f"C{i}" for i in range(5)])
    admin = actor(sato, NETWORK_ADMIN)
    assert dashboard.enrollments(sato, admin).total == 5
    monkeypatch.setattr(keyset, "CAP", 3)
    page = dashboard.enrollments(sato, admin, per_page=2)
    assert (page.total, page.total_exact) == (3, False)
    board = dashboard.board(sato, actor(sato, CIP), Filters(), per_page=2, now=NOW)
    assert board.counted == "plus de 3" and board.more
    with sato.reading() as conn:
        exact = keyset.count(conn, select(Enrollment.id), cap=10)
    assert (int(exact), exact.exact, str(exact)) == (5, True, "5")


def test_a_cursor_the_list_did_not_give_is_refused_in_french(sato) -> None:
    admin = actor(sato, NETWORK_ADMIN)
    for bad in ["nope", keyset.encode([1, 2]), "A" * 500]:
        with pytest.raises(InvalidInput, match="curseur"):
            dashboard.enrollments(sato, admin, after=bad)


def test_numbered_pages_stop_where_offset_gets_dear_and_cursors_go_on(sato, monkeypatch) -> None:
    made = _enroll(sato, [f"P{i}" for i in range(7)])
    admin = actor(sato, NETWORK_ADMIN)
    monkeypatch.setattr(keyset, "MAX_SKIP", 4)
    assert [r.id for r in dashboard.enrollments(sato, admin, page=3, per_page=2).items] == sorted(
        made, reverse=True
    )[4:6]
    with pytest.raises(InvalidInput, match="la page 4 commence après les 4 premiers.*`after`"):
        dashboard.enrollments(sato, admin, page=4, per_page=2)
    with pytest.raises(InvalidInput, match="la page 4"):
        dashboard.board(sato, actor(sato, CIP), Filters(), page=4, per_page=2, now=NOW)
    page, seen = dashboard.enrollments(sato, admin, per_page=2), []
    while True:
        seen += [r.id for r in page.items]
        if page.next is None:
            break
        page = dashboard.enrollments(sato, admin, per_page=2, after=page.next)
    assert seen == sorted(made, reverse=True)
