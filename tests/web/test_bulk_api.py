"""/api/v1 « Travail groupé »: a CIP tries a file (essai), reads every problem by line and
column, imports the corrected file, and awards a badge to the group after a workshop."""

from __future__ import annotations

from fastapi.testclient import TestClient

from engine.services.accounts import set_password
from tests.conftest import ENCADRANT
from tests.web.conftest import PASSWORD, login

URL = "/api/v1/structures/sato-interim/participants/import"
BAD = (
    "prenom;nom;email;pass_iae\r\n"
    "Awa;Diallo;awa@exemple.org;99999 23 12345\r\n"
    "Yannick;;;\r\n"
    "Inès;Moreau;ines@;\r\n"
    "Lucas;Martin;;1234\r\n"
).encode()


def test_a_file_tried_then_imported_then_a_group_award(client: TestClient, web) -> None:
    csrf = login(client)
    headers = {"X-CSRF-Token": csrf}
    files = {"file": ("liste.csv", BAD, "text/csv")}
    tried = client.post(URL, params={"essai": "true"}, files=files, headers=headers)
    assert tried.status_code == 200, tried.text
    body = tried.json()
    assert body["dry_run"] and body["created"] == 1
    assert [(p["line"], p["column"]) for p in body["problems"]] == [
        (3, "nom"),
        (4, "e-mail"),
        (5, "PASS IAE"),
    ]
    refused = client.post(URL, files=files, headers=headers)
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert [p["line"] for p in refused.json()["problems"]] == [3, 4, 5]
    good = b"\r\n".join(BAD.split(b"\r\n")[:2]) + b"\r\nInes;Moreau;ines@exemple.org;\r\n"
    done = client.post(URL, files={"file": ("liste.csv", good, "text/csv")}, headers=headers)
    assert done.status_code == 200 and done.json()["created"] == 2
    ids = [line["person_id"] for line in done.json()["lines"]]
    again = client.post(URL, files={"file": ("liste.csv", good, "text/csv")}, headers=headers)
    assert again.json()["created"] == 0 and again.json()["present"] == 2
    # not a table
    pdf = client.post(
        URL, files={"file": ("cv.pdf", b"%PDF-1.4 ...", "application/pdf")}, headers=headers
    )
    assert pdf.status_code == 422 and "ni un fichier CSV" in pdf.json()["detail"]

    # the workshop: the encadrant awards the badge to both
    set_password(web, ENCADRANT, PASSWORD)
    other = TestClient(client.app, base_url=str(client.base_url))
    csrf = login(other, ENCADRANT)
    form = {
        "badge": "sato.jeu-de-piste",
        "participants": [str(i) for i in ids],
        "title": "Jeu de piste",
        "on": "2026-03-02",
        "narrative": "Quatre entreprises visitées",
    }
    awarded = other.post(
        "/api/v1/structures/sato-interim/group-awards", data=form, headers={"X-CSRF-Token": csrf}
    )
    assert awarded.status_code == 201, awarded.text
    assert [a["participant"] for a in awarded.json()["awarded"]] == ids
    form["badge"] = "sato.immersion-reussie"  # decided by the CIP's signature
    refused = other.post(
        "/api/v1/structures/sato-interim/group-awards", data=form, headers={"X-CSRF-Token": csrf}
    )
    assert refused.status_code == 403 and "signatures" in refused.json()["detail"]
