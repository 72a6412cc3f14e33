"""How a person leaves, on the web (issue 20), in Debian's Chromium on a phone (390 px): the
director ends a parcours with the GEIQ contract choosing its outcome among the stage's, grouped
by the IAE's categories, with the date and the employer; the enrollment page shows the exit and
corrects it weeks later with a reason; a CIP ends another parcours early, where the employer's
field goes away for an outcome without one (and stays, explained, without a script). Every page
passes axe-core and never scrolls sideways. Over HTTP, a refused exit writes nothing and comes
back on the confirmation page with what was typed."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Page, expect
from sqlalchemy import Engine, func, select

from engine.api.app import create_app
from engine.dates import local
from engine.services import enrollments as e
from engine.services.accounts import set_password
from engine.services.runtime import Runtime
from engine.store.tables import AuditEvent, Enrollment, utcnow
from tests.conftest import CIP, DIRECTRICE, ENCADRANT, actor, initialised, templated
from tests.third_party import free_port, serving
from tests.web.conftest import BASE, PASSWORD
from tests.web.phone import PHONE, assert_checked
from tests.web.test_browser import _shot, browser  # noqa: F401  (the Chromium fixture)
from tests.web.test_enrollment_day import _committee, _enrolled, _in_interim, _login


@pytest.fixture
@templated
def rt(db_engine: Engine) -> Runtime:
    """The shipped pathways (workflows/): the GEIQ contract's stage declares its outcomes."""
    return initialised(Runtime(db_engine))


def _contract_ready(rt: Runtime, given: str) -> int:
    """On the interim mission for 45 days, its badges earned, the commission's two votes in:
    only the last step remains."""
    eid = _in_interim(rt, given)
    _committee(rt)
    for who in (DIRECTRICE, ENCADRANT):
        e.record_decision(rt, eid, "signer-contrat-pro", True, "Projet confirmé", by=actor(rt, who))
    return eid


def _checked(page: Page, name: str, backend: str) -> None:
    assert_checked(page)
    _shot(page, f"sorties-{name}", backend)


def _exit_of(rt: Runtime, eid: int) -> tuple:
    with rt.reading() as conn:
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


def test_the_last_step_records_the_exit_and_the_page_corrects_it_later(
    sato: Runtime,
    browser,  # noqa: F811
    db_url: str,
) -> None:
    backend = db_url.split(":")[0]
    for email in (CIP, DIRECTRICE):
        set_password(sato, email, PASSWORD)
    awa = _contract_ready(sato, "Awa")
    julie, ines = _enrolled(sato, "Julie", 20), _enrolled(sato, "Inès", 5)
    today = local(utcnow()).date()
    port = free_port()
    base = f"http://127.0.0.1:{port}"

    with serving(create_app(sato, base), port):
        page = browser.new_context(viewport=PHONE).new_page()
        _login(page, base, DIRECTRICE)
        page.goto(f"{base}/parcours/{awa}")
        page.get_by_role(
            "button", name="Entrer en contrat de professionnalisation avec le GEIQ…"
        ).click()

        # the confirmation asks how she leaves, among the stage's outcomes only
        outcome = page.get_by_label("Sortie (obligatoire)")
        expect(outcome.locator("optgroup")).to_have_count(1)
        expect(outcome.locator("optgroup")).to_have_attribute("label", "Emploi durable")
        expect(outcome.locator("option")).to_have_text(
            ["— Choisir la sortie —", "CDI", "CDD de 6 mois ou plus"]
        )
        expect(page.get_by_label("Date de la sortie")).to_have_value(today.isoformat())
        _checked(page, "1-confirmer-avec-la-sortie", backend)
        outcome.select_option(label="CDI")
        page.get_by_label("Date de la sortie").fill((today - timedelta(days=2)).isoformat())
        page.get_by_label("Employeur ou organisme de formation").fill("Chaudronnerie de l'Iroise")
        page.get_by_role("button", name="Confirmer : Entrer en contrat").click()

        # the enrollment page shows the exit
        expect(page.locator("main")).to_contain_text("Parcours terminé le ")
        shown = page.locator("#sortie dl.sortie")
        expect(shown).to_contain_text("CDI")
        expect(shown).to_contain_text("Emploi durable")
        expect(shown).to_contain_text((today - timedelta(days=2)).strftime("%d/%m/%Y"))
        expect(shown).to_contain_text("Chaudronnerie de l'Iroise")
        _checked(page, "2-sortie-enregistree", backend)
        assert _exit_of(sato, awa) == (
            "completed",
            "cdi",
            today - timedelta(days=2),
            "Chaudronnerie de l'Iroise",
        )

        # weeks later, the contract turns out to be a CDD: corrected, with a reason
        page.get_by_text("Corriger la sortie", exact=True).first.click()
        form = page.locator("#sortie form")
        expect(form.get_by_label("Sortie (obligatoire)")).to_have_value("cdi")
        form.get_by_label("Sortie (obligatoire)").select_option(label="CDD de 6 mois ou plus")
        form.get_by_label("Motif (obligatoire pour une correction)").fill("Contrat relu : CDD")
        _checked(page, "3-corriger", backend)
        form.get_by_role("button", name="Corriger la sortie").click()
        expect(page.locator("#sortie dl.sortie")).to_contain_text("CDD de 6 mois ou plus")
        expect(page.locator("ol.timeline")).to_contain_text(
            "Sortie corrigée : CDD de 6 mois ou plus (Emploi durable)"
        )
        expect(page.locator("ol.timeline")).to_contain_text("« Contrat relu : CDD »")
        assert _exit_of(sato, awa)[1] == "cdd_6_mois_plus"

        # a CIP ends another parcours early: any outcome, none required; no employer for
        # an outcome without one
        _login(page, base, CIP)
        page.goto(f"{base}/parcours/{julie}")
        page.get_by_role("button", name="Mettre fin au parcours…").click()
        outcome = page.get_by_label("Sortie (si elle est connue)")
        expect(outcome.locator("optgroup")).to_have_count(4)
        employer = page.get_by_label("Employeur ou organisme de formation")
        outcome.select_option(label="Embauche dans une autre SIAE")
        expect(employer).to_be_visible()
        outcome.select_option(label="Sans nouvelles")
        expect(employer).to_be_hidden()
        _checked(page, "4-sortie-anticipee", backend)
        page.get_by_role("button", name="Confirmer : Mettre fin au parcours").click()
        expect(page.locator("#sortie dl.sortie")).to_contain_text("Sans nouvelles")
        expect(page.locator("#sortie dl.sortie")).to_contain_text("Autre sortie")
        assert _exit_of(sato, julie) == ("withdrawn", "sans_nouvelles", today, None)

        # without a script, the employer's field stays, its hint saying when it applies
        bare = browser.new_context(viewport=PHONE, java_script_enabled=False).new_page()
        _login(bare, base, CIP)
        bare.goto(f"{base}/parcours/{ines}")
        bare.get_by_role("button", name="Mettre fin au parcours…").click()
        bare.get_by_label("Sortie (si elle est connue)").select_option(label="Sans nouvelles")
        expect(bare.get_by_label("Employeur ou organisme de formation")).to_be_visible()
        expect(bare.locator("main")).to_contain_text("Pour une sortie en emploi ou en formation")
        _shot(bare, "sorties-5-sans-script", backend)  # axe needs a script: checked above


def test_a_refused_exit_comes_back_on_the_confirmation_page_and_writes_nothing(
    sato: Runtime,
) -> None:
    set_password(sato, DIRECTRICE, PASSWORD)
    awa = _contract_ready(sato, "Awa")
    client = TestClient(create_app(sato, BASE), base_url=BASE)
    client.post("/connexion", data={"email": DIRECTRICE, "password": PASSWORD})
    page = client.get(f"/parcours/{awa}").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)

    def events() -> int:
        with sato.reading() as conn:
            return conn.execute(select(func.count()).select_from(AuditEvent)).scalar_one()

    before = events()
    form = {"csrf": csrf, "trigger": "signer-contrat-pro", "confirmer": "oui"}
    for sent, said in (
        ({}, "sortie : indiquez comment la personne quitte le parcours"),
        ({"sortie": "recherche_emploi"}, "« En recherche d'emploi » n'est pas une sortie prévue"),
        ({"sortie": "cdi", "date_sortie": "2020-01-01"}, "précède l'entrée dans le parcours"),
        ({"sortie": "cdi", "date_sortie": "demain"}, "« demain » n'est pas une date"),
        ({"sortie": "cdi", "employeur": "rh@client.example"}, "sans adresse e-mail"),
    ):
        answer = client.post(f"/parcours/{awa}/avancer", data={**form, **sent})
        assert answer.status_code == 200
        assert "Confirmer : Entrer en contrat" in answer.text  # still the confirmation page
        assert said in answer.text.replace("&#39;", "'"), sent
        for field in ("date_sortie", "employeur"):  # what was typed is kept
            if field in sent:
                assert f'name="{field}"' in answer.text and f'value="{sent[field]}"' in answer.text
        if sent.get("sortie") == "cdi":
            assert '<option value="cdi" selected>' in answer.text
    assert _exit_of(sato, awa) == ("active", None, None, None) and events() == before
    done = client.post(
        f"/parcours/{awa}/avancer",
        data={**form, "sortie": "cdd_6_mois_plus", "employeur": "GEIQ industrie Bretagne"},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"].endswith("#sortie")
    assert _exit_of(sato, awa)[:2] == ("completed", "cdd_6_mois_plus")
