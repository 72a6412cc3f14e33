"""The dashboard in a real headless Chromium, on a phone (390 px): a CIP finds a participant
whose stage deadline has passed by typing part of their name with « Échéance dépassée » ticked,
and opens their parcours; a refused enrollment shows why beside what was typed; a network
admin reads their network's structures and not another network's. Every page visited passes
axe-core and never scrolls sideways."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine

from engine.api.app import create_app
from engine.pathways.model import Pathway
from engine.services import dashboard
from engine.services import enrollments as e
from engine.services.accounts import set_password
from engine.services.organisations import add_staff, upsert_organisation
from engine.services.pathways import publish
from engine.services.runtime import Runtime
from engine.store.tables import utcnow
from tests.conftest import CIP, NETWORK_ADMIN, SYSTEM, actor, initialised, templated
from tests.third_party import free_port, serving
from tests.web.conftest import PASSWORD
from tests.web.phone import PHONE, assert_checked
from tests.web.test_browser import _shot, browser  # noqa: F401  (the Chromium fixture)

METAL = "sato-femmes-metallurgie"
INAE_ADMIN = "fanny.alexandre@inae.example"
PESSAC_CIP = "nadia.benali@regie-pessac.example"


@pytest.fixture
@templated
def rt(db_engine: Engine) -> Runtime:
    """The shipped SATO pathways: their stages have deadlines (the web tests' short pathway
    has none)."""
    runtime = initialised(Runtime(db_engine))
    return runtime


def _login(page: Page, base: str, email: str) -> None:
    page.goto(base + "/connexion")
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("heading", name="Mes participants")).to_be_visible()


@pytest.fixture
def people(web: Runtime) -> dict[str, int]:
    """At SATO Intérim, Élodie's discovery stage ended 10 days ago, Awa's is running, and Élise
    Lefort's too; at an INAÉ structure, on an INAÉ pathway, another Élodie is late."""
    rt = web
    with rt.unit_of_work() as s:
        upsert_organisation(
            s,
            "regie-pessac",
            "Régie de Pessac",
            "structure",
            structure_kind="ACI",
            networks=["inae"],
        )
        add_staff(s, PESSAC_CIP, "Nadia", "Benali", [("regie-pessac", "cip")])
        add_staff(s, INAE_ADMIN, "Fanny", "Alexandre", [("inae", "network_admin")])
    for email in (NETWORK_ADMIN, INAE_ADMIN):
        set_password(rt, email, PASSWORD)
    inae = {
        "id": "inae-accueil",
        "version": 1,
        "network": "inae",
        "title": "Accueil INAÉ",
        "initial": "accueil",
        "stages": [
            {"id": "accueil", "title": "Accueil", "deadline_days": 10},
            {"id": "fin", "title": "Fin", "final": True},
        ],
        "transitions": [{"trigger": "finir", "source": "accueil", "dest": "fin", "title": "Finir"}],
    }
    publish(rt, Pathway.model_validate(inae), "test", by=SYSTEM)
    now = utcnow()
    cip = actor(rt, CIP)

    def enroll(given, family, days_ago, *, pathway=METAL, where="sato-interim", by=cip):
        at = now - timedelta(days=days_ago)
        return e.enroll(rt, pathway, where, e.Participant(given, family), by=by, now=at)

    return {
        "elodie": enroll("Élodie", "Lefèvre", 40),
        "awa": enroll("Awa", "Diallo", 5),
        "elise": enroll("Élise", "Lefort", 3),
        "pessac": enroll(
            "Élodie",
            "Pessac",
            20,
            pathway="inae-accueil",
            where="regie-pessac",
            by=actor(rt, PESSAC_CIP),
        ),
    }


def test_a_cip_finds_a_late_participant_by_part_of_their_name_and_opens_their_parcours(
    web: Runtime,
    people: dict[str, int],
    browser,  # noqa: F811
    db_url: str,
) -> None:
    backend = db_url.split(":")[0]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with serving(create_app(web, base), port):
        page = browser.new_context(viewport=PHONE).new_page()
        _login(page, base, CIP)
        late = page.locator("section", has=page.get_by_role("heading", name="Échéances dépassées"))
        expect(late.get_by_role("heading")).to_have_text("Échéances dépassées (1)")
        expect(late).to_contain_text("Jeu de piste en entreprises")
        expect(late.get_by_role("link", name="Élodie Lefèvre")).to_be_visible()
        expect(page.get_by_role("heading", name="Où en est chacun (3)")).to_be_visible()
        expect(page.get_by_text("Élodie Pessac")).to_have_count(0)  # INAÉ's, not Claire's
        assert_checked(page)
        _shot(page, "tableau-1-liste", backend)

        search = page.get_by_role("search", name="Rechercher des participants")
        search.get_by_label("Participant").fill("lefe")  # no accent, part of the name
        search.get_by_label("Échéance dépassée").check()
        search.get_by_role("button", name="Rechercher").click()
        asked = parse_qs(urlparse(page.url).query)
        assert asked["nom"] == ["lefe"] and asked["echeance"] == ["1"]  # an address to share
        expect(page.get_by_role("status")).to_have_text("1 participant correspond à ces critères.")
        rows = page.locator("table.cartes tbody tr")
        expect(rows).to_have_count(1)  # Élise Lefort's deadline is still ahead
        expect(rows.first).to_contain_text("échéance dépassée le")
        expect(search.get_by_label("Participant")).to_have_value("lefe")
        expect(search.get_by_label("Échéance dépassée")).to_be_checked()
        assert_checked(page)
        _shot(page, "tableau-2-recherche", backend)

        rows.first.get_by_role("link", name="Élodie Lefèvre").click()
        expect(page).to_have_url(f"{base}/parcours/{people['elodie']}")
        expect(page.get_by_role("heading", name="Élodie Lefèvre", level=1)).to_be_visible()
        assert_checked(page)


def test_a_refused_enrollment_shows_why_beside_what_was_typed(
    web: Runtime,
    people: dict[str, int],
    browser,  # noqa: F811
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with serving(create_app(web, base), port):
        page = browser.new_context(viewport=PHONE).new_page()
        _login(page, base, CIP)
        form = page.locator("form[action='/inscriptions']")
        form.get_by_label("Parcours").select_option(METAL)
        form.get_by_label("Structure").select_option("sato-interim")
        form.get_by_label("Prénom").fill("Awa")
        form.get_by_label("Nom", exact=True).fill("Diallo")
        form.get_by_role("button", name="Inscrire").click()
        expect(page.get_by_role("alert")).to_contain_text("suit déjà ce parcours")
        form = page.locator("form[action='/inscriptions']")
        expect(form.get_by_label("Prénom")).to_have_value("Awa")
        expect(form.get_by_label("Nom", exact=True)).to_have_value("Diallo")
        expect(form.get_by_label("Structure")).to_have_value("sato-interim")
        expect(form.get_by_label("Parcours")).to_have_value(METAL)
        assert_checked(page)
        # corrected, it goes through and lands on the new parcours (a reload sends nothing)
        form.get_by_label("Prénom").fill("Aminata")
        form.get_by_role("button", name="Inscrire").click()
        expect(page.get_by_role("heading", name="Aminata Diallo", level=1)).to_be_visible()
        assert "/parcours/" in page.url


@pytest.mark.parametrize(
    ("admin", "network", "theirs", "not_theirs"),
    [
        (NETWORK_ADMIN, "SATO Brest", "SATO Intérim", "Régie de Pessac"),
        (INAE_ADMIN, "INAÉ Nouvelle-Aquitaine", "Régie de Pessac", "SATO Intérim"),
    ],
)
def test_a_network_admin_sees_their_structures_not_another_networks(
    web: Runtime,
    people: dict[str, int],
    browser,  # noqa: F811
    db_url: str,
    admin: str,
    network: str,
    theirs: str,
    not_theirs: str,
) -> None:
    backend = db_url.split(":")[0]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with serving(create_app(web, base), port):
        page = browser.new_context(viewport=PHONE).new_page()
        _login(page, base, admin)
        overview = page.locator(
            "section", has=page.get_by_role("heading", name=f"Réseau {network}")
        )
        expect(overview.get_by_role("heading", name=theirs, level=3)).to_be_visible()
        expect(page.get_by_role("heading", name=not_theirs)).to_have_count(0)
        card = overview.locator("li", has=page.get_by_role("heading", name=theirs))
        expect(card).to_contain_text("1 échéance dépassée")
        assert_checked(page)
        _shot(page, f"tableau-reseau-{network.split()[0].lower()}", backend)
        card.get_by_role("link", name="1 échéance dépassée").click()
        asked = parse_qs(urlparse(page.url).query)
        assert asked["echeance"] == ["1"] and asked["structure"]
        rows = page.locator("table.cartes tbody tr")
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text(theirs)
        expect(page.get_by_role("search").get_by_label("Échéance dépassée")).to_be_checked()
        assert_checked(page)


def test_past_a_list_s_length_a_structure_is_typed_by_name_on_a_phone(
    web: Runtime,
    people: dict[str, int],
    browser,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A network admin of thousands of structures: the search and the enrolment form ask for
    a structure's name; both pages stay axe-clean at 390 px."""
    monkeypatch.setattr(dashboard, "LISTED_STRUCTURES", 1)  # Claire reaches two
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with serving(create_app(web, base), port):
        page = browser.new_context(viewport=PHONE).new_page()
        _login(page, base, CIP)
        search = page.get_by_role("search", name="Rechercher des participants")
        search.get_by_label("SIAE").fill("interim")
        search.get_by_role("button").first.click()
        expect(page.locator("#liste")).to_be_visible()
        assert parse_qs(urlparse(page.url).query)["structure"] == ["interim"]
        assert_checked(page)
        form = page.locator("form[action='/inscriptions']")
        form.get_by_label("Parcours").select_option(METAL)
        form.get_by_label("Structure").fill("SATO")
        form.get_by_label("Prénom").fill("Nina")
        form.get_by_label("Nom", exact=True).fill("Le Goff")
        form.get_by_role("button", name="Inscrire").click()
        expect(page.get_by_role("alert")).to_contain_text("désigne plusieurs structures")
        assert_checked(page)
        page.locator("form[action='/inscriptions']").get_by_label("Structure").fill("intérim")
        page.locator("form[action='/inscriptions']").get_by_role("button", name="Inscrire").click()
        expect(page.get_by_role("heading", name="Nina Le Goff", level=1)).to_be_visible()
        # the group award page asks for the structure too, then finds people by name
        page.goto(base + "/action-collective")
        expect(page.get_by_text("Indiquez la structure où l'action a eu lieu.")).to_be_visible()
        assert_checked(page)
        page.get_by_label("Structure").fill("intérim")
        page.get_by_role("button", name="Afficher").click()
        page.get_by_label("Nom du participant (facultatif)").fill("goff")
        page.get_by_role("button", name="Afficher").click()
        expect(page.get_by_role("checkbox", name="Nina Le Goff")).to_be_visible()
        assert_checked(page)
