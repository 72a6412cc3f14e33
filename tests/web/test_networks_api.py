"""Networks over the API: their published definitions are public; a network's admin publishes
a new version of its file (with the images it names) and its pathway files; anyone else is
refused in French and nothing is written; a file that does not check is a 422 whose problems
name their lines."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import func, select

from engine.api.app import PROBLEM, create_app
from engine.services.accounts import set_password
from engine.services.organisations import add_staff
from engine.services.runtime import Runtime
from engine.store.tables import BadgeClass, NetworkVersion, Organisation, PathwayVersion
from tests.conftest import CIP, NETWORK_ADMIN
from tests.web.conftest import BASE, PASSWORD, WORKFLOWS, login

SATO_FILE = Path(__file__).parents[2] / "networks" / "sato.yaml"
INAE_ADMIN = "fanny.alexandre@inae.example"


def sato_text(version: int = 2, **changes: str) -> str:
    """SATO's network file at `version`, with badge names changed ({badge id: new name})."""
    text = SATO_FILE.read_text(encoding="utf-8")
    assert text.count("\nversion: 1\n") == 1
    text = text.replace("\nversion: 1\n", f"\nversion: {version}\n")
    for badge, name in changes.items():
        data = yaml.safe_load(text)
        old = next(b["name"] for b in data["badges"] if b["id"] == badge)
        assert text.count(f"name: {old}\n") == 1
        text = text.replace(f"name: {old}\n", f"name: {name}\n")
    return text


def png(colour: str = "teal") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), colour).save(buffer, "PNG")
    return buffer.getvalue()


def pathway_text(**changes: object) -> str:
    data = yaml.safe_load((WORKFLOWS / "atelier-decouverte.yaml").read_text(encoding="utf-8"))
    data.update(changes)
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


@pytest.fixture
def app(web: Runtime):
    set_password(web, NETWORK_ADMIN, PASSWORD)
    with web.unit_of_work() as s:
        add_staff(s, INAE_ADMIN, "Fanny", "Alexandre", [("inae", "network_admin")])
    set_password(web, INAE_ADMIN, PASSWORD)
    return create_app(web, BASE)


def session(app, email: str) -> TestClient:
    client = TestClient(app, base_url=BASE)
    client.headers["X-CSRF-Token"] = login(client, email)
    return client


def written(rt: Runtime) -> dict[str, int]:
    with rt.reading() as c:
        return {
            t.__tablename__: c.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (NetworkVersion, BadgeClass, PathwayVersion)
        }


def test_published_networks_are_public(app) -> None:
    anyone = TestClient(app, base_url=BASE)
    listed = anyone.get("/api/v1/networks")
    assert listed.status_code == 200, listed.text
    items = {i["id"]: i for i in listed.json()["items"]}
    assert items["sato"] == {"id": "sato", "name": "SATO Brest", "version": 1}
    assert {"inae", "centre_val_de_loire"} <= set(items)
    one = anyone.get("/api/v1/networks/sato")
    assert one.status_code == 200
    body = one.json()
    assert body["version"] == 1 and [v["version"] for v in body["versions"]] == [1]
    assert body["definition"]["committees"]["validation"]["quorum"] == 2
    assert "sato.ponctualite" in {b["id"] for b in body["definition"]["badges"]}
    missing = anyone.get("/api/v1/networks/nulle-part")
    assert missing.status_code == 404 and missing.headers["content-type"] == PROBLEM


def test_the_network_admin_publishes_a_new_version_with_an_image(app, web: Runtime) -> None:
    admin = session(app, NETWORK_ADMIN)
    text = sato_text(2, **{"sato.ponctualite": "Ponctualité au travail"})
    text = text.replace("name: SATO Brest\n", "name: SATO Brest\nlogo: logo-sato.png\n")
    resp = admin.post(
        "/api/v1/networks",
        files=[
            ("file", ("sato.yaml", text.encode(), "application/yaml")),
            ("images", ("logo-sato.png", png(), "image/png")),
        ],
    )
    assert resp.status_code == 201, resp.text
    assert resp.json() == {
        "network": "sato",
        "version": 2,
        "new": True,
        "badges_created": [],
        "badges_versioned": ["sato.ponctualite"],
        "badges_retired": [],
    }
    with web.reading() as c:
        logo = c.execute(select(Organisation.logo).where(Organisation.slug == "sato")).scalar()
    assert logo == png()
    detail = TestClient(app, base_url=BASE).get("/api/v1/networks/sato").json()
    assert [v["version"] for v in detail["versions"]] == [2, 1]
    names = {b["id"]: b["name"] for b in detail["definition"]["badges"]}
    assert names["sato.ponctualite"] == "Ponctualité au travail"

    again = admin.post(
        "/api/v1/networks",
        files=[
            ("file", ("sato.yaml", text.encode())),
            ("images", ("logo-sato.png", png())),
        ],
    )
    assert again.status_code == 200, again.text
    assert again.json()["new"] is False


def test_an_image_the_file_names_must_be_sent(app, web: Runtime) -> None:
    before = written(web)
    text = sato_text(2).replace("name: SATO Brest\n", "name: SATO Brest\nlogo: logo-sato.png\n")
    resp = session(app, NETWORK_ADMIN).post(
        "/api/v1/networks", files={"file": ("sato.yaml", text.encode())}
    )
    assert resp.status_code == 422, resp.text
    [problem] = resp.json()["problems"]
    assert problem["field"] == "logo" and "logo-sato.png" in problem["message"]
    assert problem["line"] == text.splitlines().index("logo: logo-sato.png") + 1
    assert written(web) == before


def test_a_cip_is_refused_and_nothing_is_written(app, web: Runtime) -> None:
    before = written(web)
    cip = session(app, CIP)
    resp = cip.post("/api/v1/networks", files={"file": ("sato.yaml", sato_text(2).encode())})
    assert resp.status_code == 403, resp.text
    assert resp.headers["content-type"] == PROBLEM
    assert "vous ne pouvez pas publier une version du fichier du réseau" in resp.json()["detail"]
    pathway = pathway_text(version=2)
    resp = cip.post("/api/v1/pathways", files={"file": ("atelier.yaml", pathway.encode())})
    assert resp.status_code == 403, resp.text
    assert "publier une version d'un parcours" in resp.json()["detail"]
    assert written(web) == before


def test_another_networks_admin_is_refused(app, web: Runtime) -> None:
    before = written(web)
    inae = session(app, INAE_ADMIN)
    resp = inae.post("/api/v1/networks", files={"file": ("sato.yaml", sato_text(2).encode())})
    assert resp.status_code == 403, resp.text
    assert "administrateur du réseau concerné" in resp.json()["detail"]
    pathway = pathway_text(version=2)
    resp = inae.post("/api/v1/pathways", files={"file": ("atelier.yaml", pathway.encode())})
    assert resp.status_code == 403, resp.text
    assert written(web) == before


def test_a_bad_network_file_is_a_422_naming_its_lines(app, web: Runtime) -> None:
    before = written(web)
    text = sato_text(2).replace("id: sato.ponctualite\n", "id: ponctualite\n")
    text = text.replace("quorum: 2\n", "quorum: deux\n")
    resp = session(app, NETWORK_ADMIN).post(
        "/api/v1/networks", files={"file": ("sato.yaml", text.encode())}
    )
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"] == PROBLEM
    problems = resp.json()["problems"]
    lines = text.splitlines()
    by_field = {p["field"]: p for p in problems}
    assert by_field["committees.validation.quorum"]["line"] == lines.index("    quorum: deux") + 1
    badge = next(p for f, p in by_field.items() if f.startswith("badges["))
    assert badge["line"] == lines.index("  - id: ponctualite") + 1
    assert all(p["file"] == "sato.yaml" for p in problems)
    assert written(web) == before


def test_a_file_that_is_not_yaml_text_is_a_422(app, web: Runtime) -> None:
    admin = session(app, NETWORK_ADMIN)
    resp = admin.post("/api/v1/networks", files={"file": ("sato.yaml", b"\xff\xfe\x00")})
    assert resp.status_code == 422 and "UTF-8" in resp.json()["problems"][0]["message"]
    pairs = zip("abcdef", "bcdefg", strict=True)
    laughs = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{n}: &{n} [{', '.join([f'*{p}'] * 10)}]\n" for p, n in pairs
    )
    resp = admin.post("/api/v1/networks", files={"file": ("rires.yaml", laughs.encode())})
    assert resp.status_code == 422, resp.text
    assert "alias" in resp.json()["problems"][0]["message"]


def test_a_pathway_is_published_and_one_naming_an_unknown_badge_is_refused(
    app, web: Runtime
) -> None:
    admin = session(app, NETWORK_ADMIN)
    text = pathway_text(version=2, title="Atelier découverte, version 2")
    resp = admin.post("/api/v1/pathways", files={"file": ("atelier.yaml", text.encode())})
    assert resp.status_code == 201, resp.text
    assert resp.json() == {"pathway_id": "atelier-decouverte", "version": 2, "new": True}
    again = admin.post("/api/v1/pathways", files={"file": ("atelier.yaml", text.encode())})
    assert again.status_code == 200 and again.json()["new"] is False

    before = written(web)
    unknown = pathway_text(version=3).replace("sato.jeu-de-piste", "sato.jeu-de-pist")
    resp = admin.post("/api/v1/pathways", files={"file": ("atelier.yaml", unknown.encode())})
    assert resp.status_code == 422, resp.text
    [problem] = resp.json()["problems"]
    assert "sato.jeu-de-pist" in problem["message"]
    assert problem["line"] == next(
        n for n, line in enumerate(unknown.splitlines(), 1) if "sato.jeu-de-pist" in line
    )
    assert written(web) == before
