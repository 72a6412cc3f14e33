"""The import and group award pages without a browser: a tried file lists its problems by
line and column and writes nothing; the confirmation imports exactly the file tried (a forged
one is refused); the group award form gives the ticked participants their badge."""

from __future__ import annotations

import html
import re

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from engine.services.accounts import set_password
from engine.store.tables import Assertion, Person
from tests.conftest import ENCADRANT
from tests.web.conftest import PASSWORD, login

GOOD = "prenom;nom;email\r\nAwa;Diallo;awa@exemple.org\r\nYannick;Le Bihan;\r\n"


def _people(web) -> int:
    with web.reading() as c:
        return c.execute(
            select(func.count()).select_from(Person).where(Person.kind == "participant")
        ).scalar_one()


def _hidden(page: str, name: str) -> str:
    return html.unescape(re.search(rf'name="{name}" value="([^"]*)"', page).group(1))


def test_try_then_confirm_an_import_on_the_page(client: TestClient, web) -> None:
    csrf = login(client)
    assert client.get("/participants/import").status_code == 200
    bad = GOOD + "Inès;;ines@\r\n"
    form = {"csrf": csrf, "structure": "sato-interim", "action": "essai"}
    tried = client.post(
        "/participants/import", data=form, files={"fichier": ("l.csv", bad.encode())}
    )
    assert tried.status_code == 422
    assert "2 problème(s)" in tried.text
    assert "Rien n'a été importé" in html.unescape(tried.text)
    assert "<td>4</td><td>nom</td><td>obligatoire</td>" in tried.text
    assert 'name="contenu"' not in tried.text and _people(web) == 0

    tried = client.post(
        "/participants/import", data=form, files={"fichier": ("l.csv", GOOD.encode())}
    )
    assert tried.status_code == 200 and "2 participant(s) à créer" in tried.text
    confirm = {
        k: _hidden(tried.text, k) for k in ("csrf", "structure", "nom_fichier", "contenu", "sceau")
    }
    forged = client.post(
        "/participants/import", data={**confirm, "action": "importer", "sceau": "0" * 64}
    )
    assert forged.status_code == 422 and "choisissez le fichier" in forged.text
    assert _people(web) == 0
    done = client.post("/participants/import", data={**confirm, "action": "importer"})
    assert done.status_code == 200 and "2 participant(s) créé(s)" in done.text
    assert _people(web) == 2
    again = client.post("/participants/import", data={**confirm, "action": "importer"})
    assert "0 participant(s) créé(s), 2 déjà présent(s)" in again.text and _people(web) == 2
    template = client.get("/participants/import/modele.csv")
    assert template.text.lstrip("\ufeff").startswith("prenom;nom;email")


def test_the_group_award_page_gives_the_ticked_their_badge(client: TestClient, web) -> None:
    csrf = login(client)
    form = {"csrf": csrf, "structure": "sato-interim", "action": "importer"}
    client.post("/participants/import", data=form, files={"fichier": ("l.csv", GOOD.encode())})
    set_password(web, ENCADRANT, PASSWORD)
    csrf = login(client, ENCADRANT)
    page = client.get("/action-collective")
    assert page.status_code == 200 and "Jeu de piste en entreprises" in page.text
    ids = re.findall(r'name="participants" value="(\d+)"', page.text)
    assert len(ids) == 2
    data = {
        "csrf": csrf,
        "structure": "sato-interim",
        "badge": "sato.jeu-de-piste",
        "titre": "",
        "le": "2026-03-02",
        "recit": "Quatre entreprises",
        "participants": ids,
    }
    refused = client.post("/action-collective", data=data)
    assert refused.status_code == 422
    assert "titre de l'action : obligatoire" in html.unescape(refused.text)
    assert 'value="Quatre entreprises"' not in refused.text  # a textarea keeps it as its text
    assert "Quatre entreprises</textarea>" in refused.text
    done = client.post("/action-collective", data={**data, "titre": "Jeu de piste"})
    assert done.status_code == 200
    assert "Badge « Jeu de piste en entreprises » délivré à 2 participant(s)." in done.text
    with web.reading() as c:
        assert c.execute(select(func.count()).select_from(Assertion)).scalar_one() == 2
