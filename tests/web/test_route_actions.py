"""Authorization through the HTTP API (issue 15).

Every route declares the action of the permission table it performs (`x-parcours-action` in
its OpenAPI operation, from `engine.api.params.performs`); a route that declares none fails
here. Then the holes a tester found are tried over HTTP, on the real app, with real staff
sessions and API tokens: each is refused with a French problem detail (403) and writes
nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from starlette.routing import BaseRoute, Mount

from engine.api import auth
from engine.api.app import PROBLEM, create_app
from engine.api.params import ACTION_KEY
from engine.services import accounts
from engine.services import enrollments as e
from engine.services.access import Action
from engine.services.accounts import set_password
from engine.services.organisations import add_staff
from engine.services.runtime import Runtime
from engine.store.database import make_engine
from engine.store.tables import (
    Assertion,
    AuditEvent,
    BadgeRequest,
    Delivery,
    Endorsement,
    Enrollment,
    IssuerKey,
    PartnerWebhook,
    RecommendationRequest,
)
from tests.conftest import CIP, ENCADRANT, NETWORK_ADMIN, OTHER_CIP, T0, actor
from tests.web.conftest import BASE, PASSWORD, login

# --- every route declares its action --------------------------------------------------------


def _framework_paths(app: FastAPI) -> set[str]:
    """FastAPI's own documentation routes: they act on nothing of Parcours."""
    return {
        p
        for p in (app.openapi_url, app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url)
        if p
    }


def routes(app: FastAPI) -> list[tuple[str, BaseRoute]]:
    """(full path, route) of every route the app serves, through included routers (FastAPI
    0.16x includes them lazily; older ones copied their routes into `app.routes`)."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:
        return [(getattr(r, "path", "?"), r) for r in app.routes]
    return [(c.path or "?", c.original_route) for c in iter_route_contexts(app.routes)]


def undeclared(app: FastAPI) -> list[str]:
    """« METHOD /path » of each route without a valid `x-parcours-action`."""
    valid = {a.value for a in Action}
    missing = []
    for path, route in routes(app):
        if isinstance(route, Mount):  # static files
            continue
        if not isinstance(route, APIRoute):
            if path not in _framework_paths(app):
                missing.append(f"{route!r} (not an APIRoute: it cannot declare its action)")
            continue
        declared = (route.openapi_extra or {}).get(ACTION_KEY)
        if declared not in valid:
            missing += [f"{m} {path} ({declared!r})" for m in sorted(route.methods or ())]
    return missing


@pytest.fixture(scope="module")
def bare_app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    """The app as `parcours serve` builds it; the routes need no database to be listed."""
    path: Path = tmp_path_factory.mktemp("routes") / "routes.sqlite"
    return create_app(Runtime(make_engine(f"sqlite:///{path}")), BASE)


def test_every_route_declares_the_action_it_performs(bare_app: FastAPI) -> None:
    assert len([r for _, r in routes(bare_app) if isinstance(r, APIRoute)]) > 90  # found them
    missing = undeclared(bare_app)
    assert not missing, "routes declaring no action (openapi_extra=performs(Action.X)):\n" + (
        "\n".join(missing)
    )


def test_a_route_without_its_declaration_is_named(
    bare_app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check above can fail: drop one declaration, and one unknown value (the routes are
    the routers' own objects: monkeypatch puts them back)."""
    by_path = {(p, m): r for p, r in routes(bare_app) for m in getattr(r, "methods", None) or ()}
    award = by_path["/api/v1/enrollments/{enrollment_id}/badges", "POST"]
    retry = by_path["/api/v1/deliveries/{delivery_id}/retry", "POST"]
    monkeypatch.setattr(award, "openapi_extra", None)
    monkeypatch.setattr(retry, "openapi_extra", {ACTION_KEY: "delivery.anything"})
    assert undeclared(bare_app) == [
        "POST /api/v1/enrollments/{enrollment_id}/badges (None)",
        "POST /api/v1/deliveries/{delivery_id}/retry ('delivery.anything')",
    ]


def test_the_openapi_document_shows_each_operations_action(bare_app: FastAPI) -> None:
    client = TestClient(bare_app, base_url=BASE)
    resp = client.get("/openapi.json")
    assert resp.status_code == 200
    operations = {
        f"{method.upper()} {path}": op
        for path, item in resp.json()["paths"].items()
        for method, op in item.items()
    }
    assert operations["POST /api/v1/enrollments/{enrollment_id}/badges"][ACTION_KEY] == (
        "badge.award"
    )
    assert operations["GET /api/v1/deliveries"][ACTION_KEY] == "delivery.read"
    assert all(op.get(ACTION_KEY) in {a.value for a in Action} for op in operations.values())


# --- the holes a tester found, over HTTP ---------------------------------------------------

INAE_ADMIN = "fanny.alexandre@inae.example"
GEIQ = "gwen@geiq.example"
OTHER_DIRECTOR = "directrice@autre-siae.example"
HOOK = "https://geiq.example/hook"
WRITTEN = (
    Assertion,
    Delivery,
    AuditEvent,
    BadgeRequest,
    Endorsement,
    IssuerKey,
    RecommendationRequest,
)


class World:
    """SATO Intérim's team and two participants on the atelier, the GEIQ's webhook (set by its
    partner staff), an INAÉ network admin, a director of another SIAE; API tokens on demand."""

    def __init__(self, web: Runtime) -> None:
        self.rt = web
        self.app = create_app(web, BASE)
        with web.unit_of_work() as s:
            add_staff(s, INAE_ADMIN, "Fanny", "Alexandre", [("inae", "network_admin")])
            add_staff(s, GEIQ, "Gwen", "Le Bris", [("geiq-industrie", "partner")])
            add_staff(s, OTHER_DIRECTOR, "Inès", "Morel", [("autre-siae", "directeur")])
        set_password(web, NETWORK_ADMIN, PASSWORD)
        self.tokens: dict[str, str] = {}
        self.secret = self.api(GEIQ).put(
            "/api/v1/partner/webhook", json={"organisation": "geiq-industrie", "url": HOOK}
        )
        assert self.secret.status_code == 200, self.secret.text
        cip = actor(web, CIP)
        # Awa is on the atelier (active); Léo finished it: his safety badge went to the GEIQ.
        awa, leo = e.Participant("Awa", "Diallo"), e.Participant("Léo", "Martin")
        self.active = e.enroll(web, "atelier-decouverte", "sato-interim", awa, by=cip)
        e.advance(web, self.active, "demarrer", by=cip, now=T0)
        self.done = e.enroll(web, "atelier-decouverte", "sato-interim", leo, by=cip)
        e.advance(web, self.done, "demarrer", by=cip, now=T0)
        e.add_evidence(web, self.done, "fiche-atelier", by=cip, now=T0)
        e.advance(web, self.done, "valider-atelier", by=cip, now=T0)
        with web.reading() as c:
            self.awa = _participant(c, self.active)
            self.leo = _participant(c, self.done)
            self.badge = c.execute(
                select(Assertion.id).where(Assertion.recipient_id == self.awa)
            ).scalar_one()
            [self.delivery] = c.execute(select(Delivery.id)).scalars()

    def api(self, email: str) -> TestClient:
        """A client acting through the staff member's API token."""
        if email not in self.tokens:
            self.tokens[email] = accounts.create_api_token(self.rt, email, "tests")
        client = TestClient(self.app, base_url=BASE)
        client.headers["Authorization"] = f"Bearer {self.tokens[email]}"
        return client

    def counts(self) -> dict[str, int]:
        """Rows of what a refused request must not write."""
        with self.rt.reading() as c:
            return {
                t.__tablename__: c.execute(select(func.count()).select_from(t)).scalar_one()
                for t in WRITTEN
            }


def _participant(conn, eid: int) -> int:
    return conn.execute(select(Enrollment.participant_id).where(Enrollment.id == eid)).scalar_one()


@pytest.fixture
def world(web: Runtime) -> World:
    return World(web)


def refused(resp, *words: str) -> str:
    """A 403 problem detail in French that says what may not be done."""
    assert resp.status_code == 403, resp.text
    assert resp.headers["content-type"] == PROBLEM
    detail = resp.json()["detail"]
    for word in words:
        assert word in detail, detail
    return detail


@pytest.mark.parametrize(
    "badge", ["inae.travail-equipe", "centre_val_de_loire.ponctualite"], ids=["inae", "cvl"]
)
def test_a_sato_cip_never_awards_another_networks_badge(world: World, badge: str) -> None:
    before = world.counts()
    resp = world.api(CIP).post(f"/api/v1/enrollments/{world.active}/badges", json={"badge": badge})
    refused(resp, "vous ne pouvez pas délivrer un badge ici")
    assert world.counts() == before


def test_an_encadrant_cannot_award_a_badge_that_needs_the_cips_signature(world: World) -> None:
    before = world.counts()
    resp = world.api(ENCADRANT).post(
        f"/api/v1/enrollments/{world.active}/badges", json={"badge": "sato.immersion-reussie"}
    )
    refused(resp, "demande")
    assert world.counts() == before


def test_sato_staff_never_request_an_inae_badge(world: World) -> None:
    before = world.counts()
    resp = world.api(CIP).post(
        "/api/v1/badge-requests",
        json={"badge": "inae.travail-equipe", "participant_id": world.awa},
    )
    refused(resp, "demander un badge")
    assert world.counts() == before


def test_an_inae_admin_neither_sees_nor_retries_satos_deliveries(world: World) -> None:
    def state() -> tuple:
        with world.rt.reading() as c:
            columns = (Delivery.status, Delivery.attempts, Delivery.next_attempt_at)
            query = select(*columns, Delivery.network).where(Delivery.id == world.delivery)
            return tuple(c.execute(query).one())

    before, row = world.counts(), state()
    assert row[-1] == "sato"
    inae = world.api(INAE_ADMIN)
    listed = inae.get("/api/v1/deliveries")
    if listed.status_code == 200:
        assert listed.json()["total"] == 0
        assert world.delivery not in {i["id"] for i in listed.json()["items"]}
    else:
        refused(listed, "consulter les envois")
    refused(inae.post(f"/api/v1/deliveries/{world.delivery}/retry"), "relancer un envoi")
    assert (world.counts(), state()) == (before, row)
    sato = world.api(NETWORK_ADMIN).get("/api/v1/deliveries").json()
    assert [i["id"] for i in sato["items"]] == [world.delivery]


def test_an_inae_admin_cannot_repoint_the_geiqs_webhook(world: World) -> None:
    before = world.counts()
    with world.rt.reading() as c:
        hook = c.execute(select(PartnerWebhook.url, PartnerWebhook.secret)).one()
    resp = world.api(INAE_ADMIN).put(
        "/api/v1/partner/webhook",
        json={"organisation": "geiq-industrie", "url": "https://ailleurs.example/hook"},
    )
    refused(resp, "régler le webhook d'un partenaire")
    with world.rt.reading() as c:
        assert c.execute(select(PartnerWebhook.url, PartnerWebhook.secret)).one() == hook
    assert tuple(hook) == (HOOK, world.secret.json()["secret"])
    assert world.counts() == before


@pytest.mark.parametrize("who", [OTHER_CIP, OTHER_DIRECTOR])
@pytest.mark.parametrize("endorser", ["autre-siae", "geiq-industrie"])
def test_another_structures_staff_never_recommend_a_sato_participants_badge(
    world: World, who: str, endorser: str
) -> None:
    before = world.counts()
    resp = world.api(who).post(
        "/api/v1/endorsements",
        json={
            "endorser": endorser,
            "subject_kind": "assertion",
            "subject_ref": world.badge,
            "comment": "Très sérieuse",
        },
    )
    refused(resp, "recommander un badge")
    assert world.counts() == before


@pytest.mark.parametrize(
    "slug, number",
    [("geiq-industrie", "0"), ("sato-interim", "0"), ("sato", "-1"), ("sato", "100000")],
)
def test_status_lists_exist_only_for_issuers_and_real_numbers(
    world: World, slug: str, number: str
) -> None:
    before = world.counts()
    resp = TestClient(world.app, base_url=BASE).get(f"/ob/v3/issuers/{slug}/status/{number}")
    assert resp.status_code in (404, 422), resp.text
    assert resp.headers["content-type"] == PROBLEM
    assert "statut" in resp.json()["detail"] or resp.status_code == 422
    assert world.counts() == before


def test_a_huge_status_list_number_is_refused_at_the_door(world: World) -> None:
    resp = TestClient(world.app, base_url=BASE).get(f"/ob/v3/issuers/sato/status/{10**30}")
    assert resp.status_code in (404, 422), resp.text


# --- pages -------------------------------------------------------------------------------


def _pages(world: World, email: str) -> tuple[TestClient, str]:
    client = TestClient(world.app, base_url=BASE)
    return client, login(client, email)


def test_the_menu_offers_envois_to_a_network_admin_not_to_a_cip(world: World) -> None:
    cip, _ = _pages(world, CIP)
    page = cip.get("/tableau-de-bord")
    assert page.status_code == 200 and "Tableau de bord" in page.text
    assert 'href="/envois"' not in page.text
    admin, _ = _pages(world, NETWORK_ADMIN)
    page = admin.get("/tableau-de-bord")
    assert page.status_code == 200
    assert 'href="/envois"' in page.text


def _participant_session(world: World, person_id: int) -> tuple[TestClient, str]:
    client = TestClient(world.app, base_url=BASE)
    token = accounts.magic_link(world.rt, person_id, by=actor(world.rt, CIP))
    landed = client.post(f"/lien/{token}", follow_redirects=False)
    assert landed.status_code == 303
    me = accounts.from_session(world.rt, client.cookies[auth.COOKIE])
    assert me is not None and me.csrf
    return client, me.csrf


def test_a_participant_asks_a_recommendation_only_for_their_own_badge(world: World) -> None:
    ask = {"badge": world.badge, "entreprise": "geiq-industrie", "email": "rh@geiq.example"}
    leo, csrf = _participant_session(world, world.leo)
    before = world.counts()
    resp = leo.post("/moi/recommandations", data={**ask, "csrf": csrf})
    assert resp.status_code == 403
    assert "demander une recommandation" in resp.text
    assert world.counts() == before
    awa, csrf = _participant_session(world, world.awa)
    resp = awa.post("/moi/recommandations", data={**ask, "csrf": csrf})
    assert resp.status_code == 200 and "Demande envoyée" in resp.text
    assert world.counts()["recommendationrequest"] == before["recommendationrequest"] + 1


def test_a_link_for_an_unknown_enrollment_is_a_404(world: World) -> None:
    cip, csrf = _pages(world, CIP)
    resp = cip.post("/parcours/999999/lien", data={"csrf": csrf})
    assert resp.status_code == 404
