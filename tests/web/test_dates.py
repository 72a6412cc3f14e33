"""Times on the pages are the reader's local time, not the UTC the database keeps."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from engine import dates
from engine.services import badges
from engine.services import enrollments as e
from tests.conftest import CIP, actor
from tests.web.conftest import login


@pytest.fixture(autouse=True)
def _fresh_zone():
    dates.zone.cache_clear()
    yield
    dates.zone.cache_clear()


@pytest.mark.parametrize(
    ("zone", "at", "shown", "issued"),
    [
        # winter: Paris is UTC+1, and 23:30 UTC is already the next day there
        (None, datetime(2026, 3, 2, 23, 30, tzinfo=UTC), "03/03/2026 00:30", "03/03/2026"),
        # summer: UTC+2
        (None, datetime(2026, 7, 1, 12, 5, tzinfo=UTC), "01/07/2026 14:05", "01/07/2026"),
        # a network in La Réunion: UTC+4
        (
            "Indian/Reunion",
            datetime(2026, 7, 1, 21, 0, tzinfo=UTC),
            "02/07/2026 01:00",
            "02/07/2026",
        ),
    ],
)
def test_pages_show_local_time(client, web, monkeypatch, zone, at, shown, issued) -> None:
    if zone:
        monkeypatch.setenv("PARCOURS_TIMEZONE", zone)
    cip = actor(web, CIP)
    eid = e.enroll(
        web, "atelier-decouverte", "sato-interim", e.Participant("Awa", "Diallo"), by=cip, now=at
    )
    e.advance(web, eid, "demarrer", by=cip, now=at)
    login(client)
    page = client.get(f"/parcours/{eid}").text
    assert f">{shown}</time>" in page
    [(assertion, _, _)] = badges.badges_of(web, eid, by=cip)
    assert f"<dd>{issued}</dd>" in client.get(f"/badges/{assertion}").text


def test_an_unknown_time_zone_is_named(monkeypatch) -> None:
    monkeypatch.setenv("PARCOURS_TIMEZONE", "Europe/Brest")
    with pytest.raises(
        Exception, match="PARCOURS_TIMEZONE : fuseau horaire inconnu « Europe/Brest »"
    ):
        dates.zone()
