"""The partner feed pages on by cursor, newest first: a badge shared between two pages shows
neither twice nor in place of another, and the total says when it stopped counting."""

from __future__ import annotations

from datetime import timedelta

from engine.services import enrollments as e
from engine.services import keyset, shares
from tests.conftest import ENCADRANT, T0, actor
from tests.engine.openbadges.conftest import GEIQ

BADGES = ["sato.securite-atelier", "sato.metiers-industrie", "sato.ponctualite"]


def test_the_feed_pages_by_cursor_while_badges_are_shared(issued, monkeypatch) -> None:
    rt = issued.rt
    given = [issued.assertion] + [
        e.award(rt, issued.enrollment, slug, by=actor(rt, ENCADRANT), now=T0) for slug in BADGES
    ]
    for i, aid in enumerate(given):  # one a day: the newest is the last
        shares.share(rt, aid, "geiq-industrie", by=issued.holder, now=T0 + timedelta(days=i))
    geiq = actor(rt, GEIQ)
    first = shares.feed(rt, geiq, per_page=2)
    assert (first.total, first.total_exact) == (4, True)
    assert [i.assertion_id for i in first.items] == [given[3], given[2]]
    late = e.award(rt, issued.enrollment, "sato.travail-equipe", by=actor(rt, ENCADRANT), now=T0)
    shares.share(rt, late, "geiq-industrie", by=issued.holder, now=T0 + timedelta(days=9))
    second = shares.feed(rt, geiq, per_page=2, after=first.next)
    assert [i.assertion_id for i in second.items] == [given[1], given[0]]
    assert second.next is None
    since = shares.feed(rt, geiq, since=T0 + timedelta(days=1, hours=1))
    assert [i.assertion_id for i in since.items] == [late, given[3], given[2]]
    monkeypatch.setattr(keyset, "CAP", 2)
    capped = shares.feed(rt, geiq)
    assert (capped.total, capped.total_exact) == (2, False)
