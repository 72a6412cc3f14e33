"""Every page of the web app, as the people who use it reach it, on a phone (390 px) in a real
Chromium, over the demo's living structure (`parcours demo`: participants half-way and late,
requests waiting, a committee vote pending, deliveries sent and one abandoned): each page
passes axe-core and never scrolls sideways. Chromium walks it on one database (BROWSER_BACKENDS,
tests/conftest.py); every database answers each visit over HTTP, each page rendered over the
demo's data.

The list of pages is the app's: every GET route answering HTML outside /api and /ob must be
walked by a visit below, or listed in SKIPPED with the reason; a new page fails
`test_every_page_route_is_walked` until it is."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from playwright.sync_api import Browser, Page
from sqlalchemy import create_engine, select, text
from starlette.routing import compile_path

from engine.api.app import create_app
from engine.cli.demo import DEMO_PASSWORD, run_demo
from engine.services import accounts, endorsements
from engine.services.access import Actor, actor_for
from engine.services.runtime import Runtime
from engine.store.database import database_url, make_engine
from engine.store.tables import (
    Assertion,
    BadgeClass,
    BadgeRequest,
    Committee,
    Enrollment,
    Person,
)
from tests.conftest import BACKENDS, BROWSER_BACKENDS, PG_URL
from tests.third_party import free_port, serving
from tests.web.accessibility import assert_accessible
from tests.web.chromium import WatchedBrowser
from tests.web.phone import PHONE, overflow
from tests.web.test_browser import _shot
from tests.web.test_route_actions import routes

XFAIL: dict[str, str] = {}
"""Pages (route paths) that fail because of work in progress elsewhere, with the reason: each
is expected to fail until that work lands, then removed from here."""

SKIPPED: dict[str, str] = {}
"""Page routes the walk does not visit, with the reason."""

# --- who signs in --------------------------------------------------------------------------

CIP = "claire.martin@sato-interim.example"
ENCADRANT = "marc.legall@sato-interim.example"
DIRECTRICE = "helene.kerbrat@sato.example"
SATO_ADMIN = "gaelle.lefloch@sato.example"
INAE_ADMIN = "fanny.alexandre@inae.example"
INAE_MEMBER = "yann.morel@tremplin-poitiers.example"
CVL_CIP = "sophie.blanc@chantier-blois.example"
CVL_ENCADRANT = "remi.petit@chantier-blois.example"
GEIQ = "sylvie.leroux@geiq-industrie-bretagne.example"
ADIE = "karim.saidi@adie.example"
PARTICIPANT = "participant"
SUPPORTER = "supporter"


@dataclass
class Site:
    """The demo served on a real port, and the ids the visits need."""

    base: str
    rt: Runtime
    backend: str
    ids: dict[str, Any]


@dataclass(frozen=True)
class Visit:
    name: str
    route: str
    who: str | None
    """A staff e-mail, PARTICIPANT, SUPPORTER, or None (nobody signed in)."""
    url: Callable[[Site], str]
    status: int = 200
    """What the page answers: 410 for a link that no longer works."""


VISITS = [
    Visit("connexion", "/connexion", None, lambda s: "/connexion"),
    Visit("bord-cip", "/tableau-de-bord", CIP, lambda s: "/tableau-de-bord"),
    Visit("bord-directrice", "/tableau-de-bord", DIRECTRICE, lambda s: "/tableau-de-bord"),
    Visit("bord-admin-inae", "/tableau-de-bord", INAE_ADMIN, lambda s: "/tableau-de-bord"),
    Visit("bord-encadrant-cvl", "/tableau-de-bord", CVL_ENCADRANT, lambda s: "/tableau-de-bord"),
    Visit(
        "parcours-vote-en-attente",
        "/parcours/{eid}",
        CIP,
        lambda s: f"/parcours/{s.ids['sarah']}",
    ),
    Visit(
        "parcours-en-retard", "/parcours/{eid}", ENCADRANT, lambda s: f"/parcours/{s.ids['ines']}"
    ),
    Visit("parcours-termine", "/parcours/{eid}", DIRECTRICE, lambda s: f"/parcours/{s.ids['awa']}"),
    Visit(
        "parcours-type-metallurgie",
        "/parcours-types/{pathway_id}",
        CIP,
        lambda s: "/parcours-types/sato-femmes-metallurgie",
    ),
    Visit(
        "parcours-type-eiti",
        "/parcours-types/{pathway_id}",
        DIRECTRICE,
        lambda s: "/parcours-types/sato-eiti",
    ),
    Visit(
        "demande-signatures", "/demandes/{rid}", CVL_CIP, lambda s: f"/demandes/{s.ids['lucas']}"
    ),
    Visit(
        "demande-comite", "/demandes/{rid}", INAE_MEMBER, lambda s: f"/demandes/{s.ids['mehdi']}"
    ),
    Visit("comite-croise", "/comites/{cid}", INAE_MEMBER, lambda s: f"/comites/{s.ids['croise']}"),
    Visit("badges-projet", "/badges-projet", SATO_ADMIN, lambda s: "/badges-projet"),
    Visit("envois-abandonnes", "/envois", SATO_ADMIN, lambda s: "/envois"),
    Visit("envois-envoyes", "/envois", SATO_ADMIN, lambda s: "/envois?etat=sent"),
    Visit("partenaire-geiq", "/partenaire", GEIQ, lambda s: "/partenaire"),
    Visit("partenaire-adie", "/partenaire", ADIE, lambda s: "/partenaire"),
    Visit("reseau", "/reseau", SATO_ADMIN, lambda s: "/reseau"),
    Visit("reseau-inae", "/reseau/{network}", INAE_ADMIN, lambda s: "/reseau/inae"),
    Visit("equipe", "/equipe", DIRECTRICE, lambda s: "/equipe"),
    Visit("lien", "/lien/{token}", None, lambda s: f"/lien/{s.ids['link']()}"),
    Visit("moi", "/moi", PARTICIPANT, lambda s: "/moi"),
    Visit("mes-donnees", "/mes-donnees", SUPPORTER, lambda s: "/mes-donnees"),
    Visit("badge-public", "/badges/{assertion_id}", None, lambda s: f"/badges/{s.ids['badge']}"),
    Visit("profil-public", "/profils/{subject}", None, lambda s: f"/profils/{s.ids['subject']}"),
    Visit(
        "recommandation",
        "/recommandations/{token}",
        None,
        lambda s: f"/recommandations/{s.ids['recommendation']()}",
    ),
    Visit("soutenir", "/soutenir/{slug}", None, lambda s: "/soutenir/inae.badgeons-iae"),
    Visit("administration-admin", "/administration", SATO_ADMIN, lambda s: "/administration"),
    Visit("administration-directrice", "/administration", DIRECTRICE, lambda s: "/administration"),
    Visit("mon-compte", "/mon-compte", CIP, lambda s: "/mon-compte"),
    Visit("mot-de-passe-oublie", "/mot-de-passe-oublie", None, lambda s: "/mot-de-passe-oublie"),
    Visit(
        "mot-de-passe-enregistre",
        "/mot-de-passe-enregistre",
        None,
        lambda s: "/mot-de-passe-enregistre",
    ),
    # a link the outbox mails (never shown): a stale one shows the page's « expired » state
    Visit(
        "mot-de-passe-lien-perime",
        "/mot-de-passe/{token}",
        None,
        lambda s: "/mot-de-passe/" + "A" * 43,
        status=410,
    ),
    Visit("nouveau-lien", "/nouveau-lien", None, lambda s: "/nouveau-lien"),
    Visit("nouveau-lien-demande", "/nouveau-lien/demande", None, lambda s: "/nouveau-lien/demande"),
    Visit("au-revoir", "/au-revoir", None, lambda s: "/au-revoir"),
    Visit(
        "effacer-confirmation",
        "/donnees/{participant_id}/effacer",
        CIP,
        lambda s: f"/donnees/{s.ids['sarah_person']}/effacer",
    ),
    Visit(
        "recommandation-demande",
        "/moi/badges/{assertion_id}/recommandation",
        PARTICIPANT,
        lambda s: f"/moi/badges/{s.ids['sarah_badge']}/recommandation",
    ),
    Visit(
        "recommandation-envoyee",
        "/moi/recommandations/envoyee",
        PARTICIPANT,
        lambda s: "/moi/recommandations/envoyee",
    ),
    # --- issue 20: exit outcomes (enrollment pages) ---
    # --- issue 20: indicators ---
    Visit("indicateurs", "/indicateurs", SATO_ADMIN, lambda s: "/indicateurs"),
    Visit(
        "indicateurs-reseau",
        "/indicateurs/reseau/{network}",
        SATO_ADMIN,
        lambda s: "/indicateurs/reseau/sato",
    ),
    Visit(
        "indicateurs-structure",
        "/indicateurs/structure/{slug}",
        DIRECTRICE,
        lambda s: "/indicateurs/structure/sato-interim",
    ),
    Visit(
        "indicateurs-parcours",
        "/indicateurs/parcours/{pathway_id}",
        DIRECTRICE,
        lambda s: "/indicateurs/parcours/sato-femmes-metallurgie",
    ),
    # --- issue 20: import and group award ---
    Visit("import-participants", "/participants/import", CIP, lambda s: "/participants/import"),
    Visit("action-collective", "/action-collective", ENCADRANT, lambda s: "/action-collective"),
    Visit(
        "action-collective-parcours",
        "/action-collective",
        DIRECTRICE,
        lambda s: "/action-collective?structure=sato-interim&parcours=sato-femmes-metallurgie",
    ),
    # --- issue 20: structures (SIRET, emplois de l'inclusion) ---
    # --- issue 20: inbound events ---
    Visit(
        "evenements-entrants",
        "/reseau/{network}/evenements-entrants",
        SATO_ADMIN,
        lambda s: "/reseau/sato/evenements-entrants",
    ),
    # --- issue 21 ---
]


def page_routes() -> dict[str, Any]:
    """Path -> route of every GET page the app serves (HTML, outside /api and /ob)."""
    app = create_app(Runtime(make_engine("sqlite://")), "http://parcours.test")
    found = {}
    for path, route in routes(app):
        if not isinstance(route, APIRoute) or "GET" not in (route.methods or ()):
            continue
        if path.startswith(("/api/", "/ob/")) or route.response_class is not HTMLResponse:
            continue
        found[path] = route
    return found


def test_every_page_route_is_walked() -> None:
    walked = {v.route for v in VISITS}
    pages = set(page_routes())
    missing = sorted(pages - walked - set(SKIPPED))
    assert not missing, f"pages ni visitées ni écartées avec une raison : {missing}"
    gone = sorted((walked | set(SKIPPED) | set(XFAIL)) - pages)
    assert not gone, f"visites de pages qui n'existent plus : {gone}"


# --- the demo, served ----------------------------------------------------------------------


@pytest.fixture(scope="module", params=BACKENDS)
def demo_url(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[str]:
    """An empty database for the demo, for the module: a SQLite file or a PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('demo') / 'parcours.sqlite'}"
        return
    assert PG_URL
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(database_url(PG_URL))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(scope="module")
def site(demo_url: str) -> Iterator[Site]:
    run_demo(demo_url)
    engine = make_engine(demo_url)
    rt = Runtime(engine)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    ids = _ids(rt, base)
    with serving(create_app(rt, base), port):
        yield Site(base, rt, demo_url.split(":")[0], ids)
    engine.dispose()


def _ids(rt: Runtime, base: str) -> dict[str, Any]:
    """What the visits' addresses need, found in the demo's data by what a visitor reads."""
    with rt.reading() as c:

        def person(given: str, family: str) -> int:
            return c.execute(
                select(Person.id).where(Person.given_name == given, Person.family_name == family)
            ).scalar_one()

        def enrollment(given: str, family: str) -> int:
            pid = person(given, family)
            return c.execute(
                select(Enrollment.id).where(Enrollment.participant_id == pid)
            ).scalar_one()

        def request_of(given: str, family: str) -> int:
            pid = person(given, family)
            return c.execute(
                select(BadgeRequest.id).where(BadgeRequest.participant_id == pid)
            ).scalar_one()

        awa = person("Awa", "Diallo")
        badge = c.execute(
            select(Assertion.id)
            .join(BadgeClass, BadgeClass.id == Assertion.badge_class_id)
            .where(Assertion.recipient_id == awa, BadgeClass.slug == "sato.contrat-pro-geiq")
        ).scalar_one()
        ids: dict[str, Any] = {
            "awa": enrollment("Awa", "Diallo"),
            "sarah": enrollment("Sarah", "Bellec"),
            "ines": enrollment("Inès", "Moreau"),
            "lucas": request_of("Lucas", "Bernard"),
            "mehdi": request_of("Mehdi", "Bensaïd"),
            "croise": c.execute(
                select(Committee.id).where(Committee.kind == "inae.croise")
            ).scalar_one(),
            "badge": badge,
            "subject": c.execute(select(Person.subject).where(Person.id == awa)).scalar_one(),
            "sarah_person": person("Sarah", "Bellec"),
            "sarah_badge": c.execute(
                select(Assertion.id).where(Assertion.recipient_id == person("Sarah", "Bellec"))
            )
            .scalars()
            .first(),
            "camille": person("Camille", "Roy"),
        }
        awa_actor = actor_for(c, awa)
    system = Actor.system()
    ids["link"] = lambda: accounts.magic_link(rt, ids["sarah_person"], by=system)
    ids["supporter_link"] = lambda: accounts.magic_link(rt, ids["camille"], by=system)

    def recommendation() -> str:
        from engine.services.badges import urls

        url = endorsements.request_recommendation(
            rt, badge, "geiq-industrie", "tutrice@geiq.example", urls(base), by=awa_actor
        )
        return url.rsplit("/", 1)[1]

    ids["recommendation"] = recommendation
    return ids


@pytest.fixture(scope="module")
def chromium(chromium_process: Browser) -> Iterator[WatchedBrowser]:
    watched = WatchedBrowser(chromium_process)
    yield watched
    watched.close()
    assert not watched.violations, "\n".join(watched.violations)


def _sign_in(page: Page, site: Site, who: str | None) -> None:
    if who is None:
        return
    if who in (PARTICIPANT, SUPPORTER):
        token = site.ids["link" if who == PARTICIPANT else "supporter_link"]()
        page.goto(f"{site.base}/lien/{token}")
        page.locator(f"form[action='/lien/{token}'] button[type=submit]").click()
        page.wait_for_load_state()
        return
    page.goto(f"{site.base}/connexion")
    page.get_by_label("Adresse e-mail").fill(who)
    page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_load_state()
    assert "/connexion" not in page.url, f"{who} n'a pas pu se connecter"


def _signed_in(site: Site, who: str | None) -> httpx.Client:
    """A client of its own (cookies), signed in as `who` by the same forms as in Chromium."""
    client = httpx.Client(base_url=site.base, follow_redirects=True, timeout=30)
    if who in (PARTICIPANT, SUPPORTER):
        token = site.ids["link" if who == PARTICIPANT else "supporter_link"]()
        client.post(f"/lien/{token}").raise_for_status()
    elif who is not None:
        signed = client.post("/connexion", data={"email": who, "password": DEMO_PASSWORD})
        assert "/connexion" not in signed.url.path, f"{who} n'a pas pu se connecter"
    return client


@pytest.mark.parametrize("visit", VISITS, ids=[v.name for v in VISITS])
def test_the_page_answers_over_the_demo_on_every_database(
    visit: Visit, site: Site, request: pytest.FixtureRequest
) -> None:
    """What the walk in Chromium asserts of the answer, on every database: the page renders
    over the demo's data (its reads run on SQLite and PostgreSQL alike) where it should."""
    if visit.route in XFAIL:
        request.applymarker(pytest.mark.xfail(reason=XFAIL[visit.route], strict=False))
    client = _signed_in(site, visit.who)
    try:
        url = visit.url(site)
        answer = client.get(url)
    finally:
        client.close()
    assert answer.status_code == visit.status, f"{url} : {answer.status_code}"
    assert answer.headers["content-type"].startswith("text/html"), url
    regex, _, _ = compile_path(visit.route)
    path = answer.url.path
    assert regex.match(path), f"{url} a mené à {path}, pas à {visit.route}"


@pytest.mark.parametrize("demo_url", BROWSER_BACKENDS, indirect=True)
@pytest.mark.parametrize("visit", VISITS, ids=[v.name for v in VISITS])
def test_the_page_is_accessible_and_fits_a_phone(
    visit: Visit, site: Site, chromium: WatchedBrowser, request: pytest.FixtureRequest
) -> None:
    if visit.route in XFAIL:
        request.applymarker(pytest.mark.xfail(reason=XFAIL[visit.route], strict=False))
    context = chromium.new_context(viewport=PHONE)
    try:
        page = context.new_page()
        _sign_in(page, site, visit.who)
        url = visit.url(site)
        answer = page.goto(site.base + url)
        status = answer.status if answer else None
        assert status == visit.status, f"{url} : {status}"
        path = page.url.removeprefix(site.base).split("?", 1)[0]
        regex, _, _ = compile_path(visit.route)
        assert regex.match(path), f"{url} a mené à {path}, pas à {visit.route}"
        _shot(page, f"page-{visit.name}", site.backend)
        problems = []
        if sideways := overflow(page):
            problems.append(sideways)
        try:
            assert_accessible(page)
        except AssertionError as exc:
            problems.append(f"axe-core : {exc}")
        assert not problems, f"{url} :\n" + "\n".join(problems)
    finally:
        context.close()
