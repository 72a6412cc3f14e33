"""What the web app takes from outside and refuses in French: a decompression bomb sent as
evidence is a 422 naming the field, and nothing is written."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine.store.tables import Evidence
from tests.engine.test_uploads import MPX_225, TEN_BILLION, bomb_jpeg, bomb_png
from tests.web.conftest import login
from tests.web.test_api import NEW


@pytest.mark.parametrize(
    ("name", "bomb"),
    [
        ("dix-milliards.png", bomb_png(*TEN_BILLION)),
        ("225-mpx.png", bomb_png(*MPX_225)),
        ("photo.jpg", bomb_jpeg(65_535, 65_535)),
    ],
    ids=["10^10", "225Mpx", "jpeg"],
)
def test_a_decompression_bomb_sent_as_evidence_is_a_french_422(
    client, web, name: str, bomb: bytes
) -> None:
    csrf = login(client)
    headers = {"X-CSRF-Token": csrf}
    eid = client.post("/api/v1/enrollments", json=NEW, headers=headers).json()["id"]
    client.post(f"/api/v1/enrollments/{eid}/advance", json={"trigger": "demarrer"}, headers=headers)

    resp = client.post(
        f"/api/v1/enrollments/{eid}/evidence",
        data={"kind": "fiche-atelier"},
        files={"file": (name, bomb, "image/png")},
        headers=headers,
    )

    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.json()["detail"].startswith(f"fichier : l'image « {name} » est trop grande")
    with web.unit_of_work() as s:
        assert s.execute(select(func.count(Evidence.id))).scalar_one() == 0
