"""The indicators over HTTP: the API under /api/v1 (tag « Indicateurs »), the pages with their
charts and tables, and the downloads, on the generated data set (tests/engine/indicator_data.py);
a CIP is refused everywhere, a bad date is named."""

from __future__ import annotations

import base64
import html
import io
import re

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from engine.services.runtime import Runtime
from tests.conftest import CIP, DIRECTRICE, NETWORK_ADMIN
from tests.engine import indicator_data as data
from tests.web.conftest import login

PERIOD = "du=2026-01-01&au=2026-06-30"


@pytest.fixture
def world(web: Runtime) -> Runtime:
    data.populate(web)
    return web


def test_the_api_answers_the_network_admin_with_hidden_small_counts(
    world: Runtime, client: TestClient
) -> None:
    login(client, NETWORK_ADMIN)
    resp = client.get("/api/v1/indicators/networks/sato?from=2026-01-01&to=2026-06-30")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["masked"] is True and body["period"] == {"from": "2026-01-01", "to": "2026-06-30"}
    entries = next(t for t in body["tables"] if t["key"] == "entrees")
    assert [(r["label"], r["values"]) for r in entries["rows"]] == [
        ("SATO EiTi", ["< 5"]),
        ("SATO Intérim", ["masqué"]),
        ("Total", [11]),
    ]
    bad = client.get("/api/v1/indicators/networks/sato?from=2026-13-01")
    assert bad.status_code == 422 and "« du » n'est pas une date" in bad.json()["detail"]
    pathway = client.get(
        f"/api/v1/indicators/pathways/{data.PATHWAY}?from=2026-01-01&to=2026-06-30"
    )
    assert pathway.status_code == 200


def test_the_director_reads_exact_figures_and_a_cip_is_refused(
    world: Runtime, client: TestClient
) -> None:
    data_url = "/api/v1/indicators/structures/sato-eiti?from=2026-01-01&to=2026-06-30"
    login(client, CIP)
    assert client.get(data_url).status_code == 403
    assert client.get(f"/indicateurs/structure/sato-interim?{PERIOD}").status_code == 403
    assert client.get(f"/indicateurs/reseau/sato/export.csv?{PERIOD}").status_code == 403
    home = client.get("/indicateurs")
    assert "Aucun indicateur ne vous est ouvert" in home.text
    assert 'href="/indicateurs"' not in client.get("/tableau-de-bord").text

    client.cookies.clear()
    login(client, DIRECTRICE)
    body = client.get(data_url).json()
    assert body["masked"] is False
    assert body["headline"][0] == {"label": "Entrées", "value": 3}
    menu = client.get("/tableau-de-bord").text
    assert '<a href="/indicateurs">Indicateurs</a>' in menu
    home = client.get("/indicateurs").text
    assert '/indicateurs/structure/sato-eiti"' in home and "/indicateurs/reseau/" not in home


def test_the_page_shows_charts_tables_and_downloads(world: Runtime, client: TestClient) -> None:
    login(client, NETWORK_ADMIN)
    page = client.get(f"/indicateurs/reseau/sato?{PERIOD}")
    assert page.status_code == 200
    text = page.text
    assert "<h1>Réseau SATO Brest</h1>" in text
    assert 'src="data:image/svg+xml;base64,' in text  # drawn on the server, no script
    assert "Graphique en barres : Entonnoir" in text
    for src in re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', text):
        svg = base64.b64decode(src).decode()
        assert svg.startswith("<svg") and "<script" not in svg
    assert (
        '<th scope="row"><a href="/indicateurs/structure/sato-eiti?du=2026-01-01&amp;'
        'au=2026-06-30">SATO EiTi</a></th><td>&lt; 5</td>' in text
    )
    assert f'href="/indicateurs/reseau/sato/export.xlsx?{PERIOD}"' in text.replace("&amp;", "&")
    xlsx = client.get(f"/indicateurs/reseau/sato/export.xlsx?{PERIOD}")
    assert xlsx.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert (
        'filename="indicateurs-sato-2026-01-01-2026-06-30.xlsx"'
        in xlsx.headers["content-disposition"]
    )
    rows = list(load_workbook(io.BytesIO(xlsx.content))["Entrées"].iter_rows(values_only=True))
    assert rows[-1] == ("Total", 11)
    csv = client.get(f"/indicateurs/reseau/sato/export.csv?{PERIOD}")
    assert csv.content.startswith(b"\xef\xbb\xbf") and "SATO EiTi;< 5" in csv.text
    bad = client.get("/indicateurs/reseau/sato?du=hier")
    assert bad.status_code == 422 and "« du » n'est pas une date" in html.unescape(bad.text)
