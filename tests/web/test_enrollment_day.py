"""A day on the enrollment page without a shell (issue 19), in Debian's Chromium on a phone
(390 px): the committee members vote on the web and the contract step unlocks, the director
confirms that last step; a CIP attaches evidence choosing its kind from the pathway's, reads it
in the list, advances, and ends another parcours after a confirmation page. Every page passes
axe-core and never scrolls sideways; finished parcours show titles and French words, no ids."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from playwright.sync_api import Page, expect
from sqlalchemy import Engine, func, select

from engine.api.app import create_app
from engine.services import committees
from engine.services import enrollments as e
from engine.services.accounts import set_password
from engine.services.runtime import Runtime
from engine.store.tables import Enrollment, Evidence, MagicLink, utcnow
from tests.conftest import CIP, DIRECTRICE, ENCADRANT, actor, initialised, templated
from tests.third_party import free_port, serving
from tests.web.conftest import BASE, PASSWORD
from tests.web.phone import PHONE, assert_checked
from tests.web.test_browser import _shot, browser  # noqa: F401  (the Chromium fixture)

PATHWAY = "sato-femmes-metallurgie"
COMMITTEE = "Commission de validation SATO Intérim"
RAW_IDS = re.compile(
    r"\b(decouverte|interim|sortie-anticipee|commencer-immersion|valider-projet|"
    r"signer-contrat-pro|sortir|active|completed|withdrawn)\b|sato\.|"
    r"professionnalisation /|/ withdrawn|→ decouverte"
)


@pytest.fixture
@templated
def rt(db_engine: Engine) -> Runtime:
    """The shipped pathways (workflows/), with the committee gate of the GEIQ contract."""
    runtime = initialised(Runtime(db_engine))
    return runtime


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (60, 40), "steelblue").save(out, "PNG")
    return out.getvalue()


def _enrolled(rt: Runtime, given: str, days_ago: int) -> int:
    return e.enroll(
        rt,
        PATHWAY,
        "sato-interim",
        e.Participant(given, "Diallo"),
        by=actor(rt, CIP),
        now=utcnow() - timedelta(days=days_ago),
    )


def _in_immersion(rt: Runtime, given: str) -> int:
    """In the PMSMP for 20 days, the badges the next step needs earned: only the papers miss."""
    start = utcnow() - timedelta(days=60)
    eid = _enrolled(rt, given, 60)
    cip, encadrant = actor(rt, CIP), actor(rt, ENCADRANT)
    for badge in ("sato.jeu-de-piste", "sato.securite-atelier"):
        e.award(rt, eid, badge, by=encadrant, now=start)
    e.advance(rt, eid, "commencer-immersion", by=cip, now=start + timedelta(days=40))
    for badge in ("sato.immersion-reussie", "sato.projet-professionnel"):
        e.award(rt, eid, badge, by=cip, now=start + timedelta(days=41))
    return eid


def _in_interim(rt: Runtime, given: str) -> int:
    """On the interim mission for 45 days, its badges earned: only the committee misses."""
    start = utcnow() - timedelta(days=100)
    eid = _enrolled(rt, given, 100)
    cip, encadrant = actor(rt, CIP), actor(rt, ENCADRANT)
    for badge in ("sato.jeu-de-piste", "sato.securite-atelier"):
        e.award(rt, eid, badge, by=encadrant, now=start)
    e.advance(rt, eid, "commencer-immersion", by=cip, now=start)
    for kind in ("convention-pmsmp", "bilan-immersion"):
        e.add_evidence(rt, eid, kind, by=cip, now=start + timedelta(days=1))
    for badge in ("sato.immersion-reussie", "sato.projet-professionnel"):
        e.award(rt, eid, badge, by=cip, now=start)
    e.advance(rt, eid, "valider-projet", by=cip, now=start + timedelta(days=55))
    for badge in ("sato.ponctualite", "sato.travail-equipe", "sato.consignes"):
        e.award(rt, eid, badge, by=encadrant, now=start + timedelta(days=60))
    return eid


def _committee(rt: Runtime) -> None:
    director = actor(rt, DIRECTRICE)
    cid = committees.create(rt, COMMITTEE, "sato.validation", by=director, structure="sato-interim")
    for member in (DIRECTRICE, ENCADRANT):
        committees.add_member(rt, cid, member, by=director)


def _checked(page: Page, name: str, backend: str) -> None:
    assert_checked(page)
    _shot(page, f"parcours-jour-{name}", backend)


def _login(page: Page, base: str, email: str) -> None:
    page.context.clear_cookies()
    page.goto(base + "/connexion")
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("button", name="Se déconnecter")).to_be_visible()


def _no_ids(page: Page) -> None:
    shown = page.locator("main").inner_text()
    assert not RAW_IDS.search(shown), RAW_IDS.search(shown)


def test_committee_votes_on_the_web_unlock_the_step_and_a_cip_works_the_evidence(
    sato: Runtime,
    browser,  # noqa: F811
    tmp_path,
    db_url: str,
) -> None:
    backend = db_url.split(":")[0]
    for email in (CIP, DIRECTRICE, ENCADRANT):
        set_password(sato, email, PASSWORD)
    awa = _in_interim(sato, "Awa")
    lea = _in_immersion(sato, "Léa")
    _committee(sato)
    proof = tmp_path / "convention-lea.png"
    proof.write_bytes(_png())
    port = free_port()
    base = f"http://127.0.0.1:{port}"

    with serving(create_app(sato, base), port):
        page = browser.new_context(viewport=PHONE).new_page()

        # the director reads the committee's gate and votes
        _login(page, base, DIRECTRICE)
        page.goto(f"{base}/parcours/{awa}")
        step = page.locator("#etape-signer-contrat-pro")
        expect(step.get_by_role("heading", name=f"Comité : {COMMITTEE}")).to_be_visible()
        expect(step).to_contain_text("Aucun vote pour l'instant.")
        expect(step).to_contain_text("Il reste : encore 2 votes")
        expect(step.locator("li.manque", has_text="décision du comité")).to_be_visible()
        _checked(page, "1-comite", backend)
        step.get_by_label("Favorable", exact=True).check()
        step.get_by_label("Motif (obligatoire)").fill("Projet confirmé, tutrice désignée")
        step.get_by_role("button", name="Enregistrer mon vote").click()
        step = page.locator("#etape-signer-contrat-pro")
        expect(step.get_by_role("listitem").filter(has_text="Hélène Kerbrat")).to_contain_text(
            "favorable"
        )
        expect(step).to_contain_text("Projet confirmé, tutrice désignée")
        expect(step).to_contain_text("vous avez déjà voté sur ce passage")
        expect(step.get_by_role("button", name="Enregistrer mon vote")).to_have_count(0)
        expect(step).to_contain_text("Il reste : encore 1 vote")
        page.reload()  # POST/redirect/GET: a reload sends nothing again
        expect(step.get_by_role("listitem").filter(has_text="Hélène Kerbrat")).to_have_count(1)
        _checked(page, "2-vote-enregistre", backend)

        # the encadrant, the other member the rule needs
        _login(page, base, ENCADRANT)
        page.goto(f"{base}/parcours/{awa}")
        step = page.locator("#etape-signer-contrat-pro")
        step.get_by_label("Favorable", exact=True).check()
        step.get_by_label("Motif (obligatoire)").fill("Gestes sûrs et ponctualité en mission")
        step.get_by_role("button", name="Enregistrer mon vote").click()
        expect(step).to_contain_text("Il reste : décision prise : avis favorable")
        met = step.locator("li.ok", has_text=f"avis favorable du comité « {COMMITTEE} »")
        expect(met).to_be_visible()
        expect(step.locator("li.manque")).to_have_count(0)

        # the director ends the parcours with the contract: a confirmation page first
        _login(page, base, DIRECTRICE)
        page.goto(f"{base}/parcours/{awa}")
        finale = page.get_by_role(
            "button", name="Entrer en contrat de professionnalisation avec le GEIQ…"
        )
        assert "action-finale" in finale.get_attribute("class")
        finale.click()
        expect(page.get_by_role("heading", level=1)).to_contain_text(
            "Entrer en contrat de professionnalisation avec le GEIQ ?"
        )
        expect(page.get_by_text("C'est la dernière étape")).to_be_visible()
        page.get_by_label("Sortie (obligatoire)").select_option(label="CDI")
        _checked(page, "3-confirmer-la-fin", backend)
        page.get_by_role("button", name="Confirmer : Entrer en contrat").click()
        expect(page).to_have_url(re.compile(rf"/parcours/{awa}"))
        expect(page.locator("main")).to_contain_text("Parcours terminé le ")
        history = page.locator("ol.timeline")
        expect(history).to_contain_text(
            "Passage d'étape « Entrer en contrat de professionnalisation avec le GEIQ » : "
            "Mission d'intérim et préqualification (SATO Intérim) → "
            "Contrat de professionnalisation (GEIQ industrie)"
        )
        expect(history).to_contain_text("Décision de comité avis favorable sur « Entrer en")
        expect(history).to_contain_text("Badge délivré : Ponctualité")
        _no_ids(page)
        _checked(page, "4-parcours-termine", backend)

        # a CIP attaches Léa's papers, choosing each kind among the pathway's
        _login(page, base, CIP)
        page.goto(f"{base}/parcours/{lea}")
        kinds = page.get_by_label("Type de pièce")
        expect(kinds.locator("option")).to_have_text(
            ["— Choisir le type —", "Convention PMSMP", "Bilan immersion"]
        )
        contexts = page.get_by_label("Contexte d'apprentissage").locator("option")
        expect(contexts).to_have_count(7)
        kinds.select_option(label="Convention PMSMP")
        page.get_by_label("Contexte d'apprentissage").select_option("PMSMP")
        page.get_by_label("Description").fill("Convention signée avec le chaudronnier")
        page.get_by_label("Fichier").set_input_files(str(proof))
        page.get_by_role("button", name="Ajouter la pièce").click()
        pieces = page.locator("ul.pieces > li")
        expect(pieces).to_have_count(1)
        expect(pieces.first).to_contain_text("Convention PMSMP")
        expect(pieces.first).to_contain_text("PMSMP (période de mise en situation")
        expect(pieces.first).to_contain_text("par Claire Martin")
        expect(pieces.first).to_contain_text("Convention signée avec le chaudronnier")
        download = pieces.first.get_by_role("link", name="convention-lea.png")
        served = page.request.get(base + download.get_attribute("href"))
        assert served.ok and served.body() == proof.read_bytes()
        joined = page.locator("li.ok", has_text="pièce justificative jointe : Convention PMSMP")
        expect(joined).to_be_visible()
        expect(page.locator("li.manque", has_text="manquante : Bilan immersion")).to_be_visible()
        _checked(page, "5-piece-listee", backend)
        page.get_by_label("Type de pièce").select_option(label="Bilan immersion")
        page.get_by_role("button", name="Ajouter la pièce").click()
        expect(page.locator("ul.pieces > li")).to_have_count(2)
        page.get_by_role("button", name="Valider le passage « Valider le projet").click()
        expect(page.get_by_text("Étape : Mission d'intérim")).to_be_visible()

        # the participant's link: shown once after a redirect, a reload mints no other
        page.get_by_role("button", name="Créer un lien d'accès pour le participant").click()
        link = page.locator("#lien-participant").inner_text().strip()
        assert link.startswith(base + "/lien/") and "/lien/" not in page.url
        page.reload()
        expect(page.locator("#lien-participant")).to_have_count(0)
        with sato.reading() as conn:
            assert conn.execute(select(func.count()).select_from(MagicLink)).scalar_one() == 1

        # ending Léa's parcours early asks first, and looks unlike the main action
        leave = page.get_by_role("button", name="Mettre fin au parcours…")
        assert "action-sortie" in leave.get_attribute("class")
        leave.click()
        expect(
            page.get_by_text("Les badges de l'étape en cours ne seront pas délivrés")
        ).to_be_visible()
        _checked(page, "6-confirmer-la-sortie", backend)
        page.get_by_role("link", name="Annuler et revenir au parcours").click()
        expect(page.get_by_text("Étape : Mission d'intérim")).to_be_visible()
        page.get_by_role("button", name="Mettre fin au parcours…").click()
        page.get_by_role("button", name="Confirmer : Mettre fin au parcours").click()
        expect(page.locator("main")).to_contain_text("Sorti du parcours le ")
        expect(page.locator("ol.timeline")).to_contain_text(
            "« Mettre fin au parcours » : Mission d'intérim et préqualification (SATO Intérim) "
            "→ Sortie anticipée du parcours"
        )
        _no_ids(page)
        _checked(page, "7-parcours-quitte", backend)

        # erasing her data asks on a page of its own
        page.get_by_role("link", name="Effacer ses données personnelles…").click()
        expect(
            page.get_by_role("heading", name="Effacer ses données personnelles ?")
        ).to_be_visible()
        _checked(page, "8-confirmer-effacement", backend)

        # the pathway's diagram fits the phone, its steps' conditions written out
        page.goto(f"{base}/parcours-types/{PATHWAY}")
        narrow = page.locator(".schema-etroit svg")
        expect(narrow).to_be_visible()
        expect(page.locator(".schema-large svg")).to_be_hidden()
        box = narrow.bounding_box()
        assert box is not None and box["width"] >= 340  # drawn at 360: labels keep their size
        expect(page.locator("dl.conditions-etape")).to_contain_text(
            "pièce justificative : Bilan immersion"
        )
        expect(page.locator("dl.conditions-etape")).to_contain_text(
            "décision du comité d'attribution"
        )
        _checked(page, "9-schema", backend)

    with sato.reading() as conn:
        states = dict(conn.execute(select(Enrollment.id, Enrollment.status)).all())
        kinds_stored = sorted(
            conn.execute(select(Evidence.kind).where(Evidence.enrollment_id == lea)).scalars()
        )
    assert states == {awa: "completed", lea: "withdrawn"}
    assert kinds_stored == ["bilan-immersion", "convention-pmsmp"]


def test_an_unknown_kind_typed_by_hand_is_refused_next_to_the_form(sato: Runtime) -> None:
    """A form sent with a kind the pathway does not name (an old page, a hand-made request):
    the page says which kinds it expects, in the evidence section, what was typed kept."""
    set_password(sato, CIP, PASSWORD)
    eid = _in_immersion(sato, "Awa")
    client = TestClient(create_app(sato, BASE), base_url=BASE)
    client.post("/connexion", data={"email": CIP, "password": PASSWORD})
    page = client.get(f"/parcours/{eid}").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    sent = client.post(
        f"/parcours/{eid}/pieces",
        data={"csrf": csrf, "kind": "bilan immersion", "narrative": "Bilan du tuteur"},
    )
    assert sent.status_code == 200
    section = sent.text[sent.text.index('id="pieces"') :]
    assert "vouliez-vous dire « bilan-immersion »" in section
    assert 'value="Bilan du tuteur"' in section
    with sato.reading() as conn:
        assert conn.execute(select(func.count()).select_from(Evidence)).scalar_one() == 0
