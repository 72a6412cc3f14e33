"""Exit outcomes over the API (issue 20): the advance body's `exit`, and
`PUT /api/v1/enrollments/{id}/exit` to record or correct one later; French problem details,
nothing written when refused."""

from __future__ import annotations

from sqlalchemy import func, select

from engine.dates import local
from engine.services import accounts
from engine.store.tables import AuditEvent, Enrollment, utcnow
from tests.conftest import OTHER_CIP
from tests.web.conftest import login


def _finishable(client, csrf: str) -> int:
    """An enrollment on the test pathway one step from its final stage (which declares no
    outcomes: any may be recorded, none is required)."""
    h = {"X-CSRF-Token": csrf}
    created = client.post(
        "/api/v1/enrollments",
        json={
            "pathway": "atelier-decouverte",
            "structure": "sato-interim",
            "given_name": "Awa",
            "family_name": "Diallo",
        },
        headers=h,
    )
    eid = created.json()["id"]
    assert client.post(
        f"/api/v1/enrollments/{eid}/advance", json={"trigger": "demarrer"}, headers=h
    ).is_success
    assert client.post(
        f"/api/v1/enrollments/{eid}/evidence", data={"kind": "fiche-atelier"}, headers=h
    ).is_success
    return eid


def _stored(web, eid: int) -> tuple:
    with web.reading() as conn:
        return tuple(
            conn.execute(
                select(
                    Enrollment.status,
                    Enrollment.exit_outcome,
                    Enrollment.exit_on,
                    Enrollment.exit_employer,
                ).where(Enrollment.id == eid)
            ).one()
        )


def _events(web) -> int:
    with web.reading() as conn:
        return conn.execute(select(func.count()).select_from(AuditEvent)).scalar_one()


def test_the_last_step_carries_the_exit_and_the_status_shows_it(client, web) -> None:
    csrf = login(client)
    h = {"X-CSRF-Token": csrf}
    eid = _finishable(client, csrf)
    today = local(utcnow()).date()
    before = _events(web)
    refused = client.post(
        f"/api/v1/enrollments/{eid}/advance",
        json={"trigger": "valider-atelier", "exit": {"outcome": "recherche_emploi",
                                                     "employer": "Garage"}},
        headers=h,
    )  # fmt: skip
    assert refused.status_code == 422
    assert "employeur : sans objet pour la sortie « En recherche d'emploi »" in refused.text
    assert _stored(web, eid) == ("active", None, None, None) and _events(web) == before
    done = client.post(
        f"/api/v1/enrollments/{eid}/advance",
        json={"trigger": "valider-atelier", "exit": {"outcome": "interim_moins_6_mois",
                                                     "employer": "SATO Intérim clients"}},
        headers=h,
    )  # fmt: skip
    assert done.status_code == 200, done.text
    assert _stored(web, eid) == ("completed", "interim_moins_6_mois", today, "SATO Intérim clients")
    status = client.get(f"/api/v1/enrollments/{eid}").json()
    assert status["exit"] == {
        "outcome": "interim_moins_6_mois",
        "label": "Missions d'intérim de moins de 6 mois",
        "category": "emploi_transition",
        "category_label": "Emploi de transition",
        "on": today.isoformat(),
        "employer": "SATO Intérim clients",
    }
    assert status["exit_recordable"] is True


def test_an_exit_is_recorded_and_corrected_later_through_the_api(client, web) -> None:
    csrf = login(client)
    h = {"X-CSRF-Token": csrf}
    eid = _finishable(client, csrf)
    client.post(
        f"/api/v1/enrollments/{eid}/advance", json={"trigger": "valider-atelier"}, headers=h
    )
    assert _stored(web, eid)[:2] == ("completed", None)
    url = f"/api/v1/enrollments/{eid}/exit"
    recorded = client.put(
        url, json={"outcome": "autre_siae", "on": "2026-01-02", "employer": "Régie"}, headers=h
    )
    assert recorded.status_code == 422
    assert "précède l'entrée dans le parcours" in recorded.text
    first_day = local(utcnow()).date()
    recorded = client.put(url, json={"outcome": "autre_siae", "employer": "Régie"}, headers=h)
    assert recorded.status_code == 200, recorded.text
    assert recorded.json()["category"] == "sortie_positive"
    uncorrected = client.put(url, json={"outcome": "cdi"}, headers=h)
    assert uncorrected.status_code == 422 and "motif" in uncorrected.text
    corrected = client.put(url, json={"outcome": "cdi", "note": "CDI signé"}, headers=h)
    assert corrected.status_code == 200 and corrected.json()["label"] == "CDI"
    assert _stored(web, eid) == ("completed", "cdi", first_day, None)
    history = client.get(f"/api/v1/enrollments/{eid}/history").json()["items"]
    assert [h["kind"] for h in history][-2:] == ["exit", "exit"]
    assert history[-1]["details"]["before"] == {
        "outcome": "autre_siae",
        "on": first_day.isoformat(),
    }


def test_staff_of_another_structure_records_no_exit(client, web) -> None:
    csrf = login(client)
    eid = _finishable(client, csrf)
    client.post(
        f"/api/v1/enrollments/{eid}/advance",
        json={"trigger": "valider-atelier"},
        headers={"X-CSRF-Token": csrf},
    )
    token = accounts.create_api_token(web, OTHER_CIP, "Autre SIAE")
    refused = client.put(
        f"/api/v1/enrollments/{eid}/exit",
        json={"outcome": "cdi"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert refused.status_code == 403
    assert _stored(web, eid)[1] is None


def test_the_participant_reads_how_they_left_on_their_page(client, web) -> None:
    """« Votre sortie » on /moi for work or training; nothing for the « autres sorties »."""
    from fastapi.testclient import TestClient

    from engine.services.access import actor_for
    from tests.web.conftest import BASE

    csrf = login(client)
    h = {"X-CSRF-Token": csrf}
    eid = _finishable(client, csrf)
    done = client.post(
        f"/api/v1/enrollments/{eid}/advance",
        json={"trigger": "valider-atelier", "exit": {"outcome": "cdi", "employer": "Naval Group"}},
        headers=h,
    )
    assert done.status_code == 200, done.text
    with web.reading() as conn:
        person = conn.execute(select(Enrollment.participant_id).where(Enrollment.id == eid))
        person_id = person.scalar_one()
    with web.reading() as conn:
        cip = actor_for(conn, "claire.martin@sato-interim.example")
    token = accounts.magic_link(web, person_id, by=cip)
    awa = TestClient(client.app, base_url=BASE)
    opened = awa.post(f"/lien/{token}", headers={"Origin": BASE}, follow_redirects=False)
    assert opened.status_code == 303, opened.text
    page = awa.get("/moi")
    assert page.status_code == 200
    assert "Votre sortie : CDI — Naval Group, le " in page.text

    client.put(
        f"/api/v1/enrollments/{eid}/exit",
        json={"outcome": "recherche_emploi", "note": "Contrat rompu pendant l'essai"},
        headers=h,
    )
    assert "Votre sortie" not in awa.get("/moi").text
