"""The hardening a public service needs (issue 16), tried as an attacker would: guessing
passwords and links, signing a visitor in from another site, framing the pages, sending huge
bodies, control characters, huge numbers and broken UTF-8, and a team member who leaves."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pydantic import TypeAdapter
from sqlalchemy import func, select

from engine import uploads
from engine.api import auth
from engine.api.app import MAX_BODY, PROBLEM, create_app
from engine.errors import Forbidden, NotFound
from engine.services import access, accounts, committees, people
from engine.services import enrollments as e
from engine.services.accounts import TooManyAttempts, set_password
from engine.services.organisations import add_staff
from engine.services.runtime import Runtime
from engine.store.database import make_engine
from engine.store.tables import (
    AuditEvent,
    CommitteeMember,
    Login,
    LoginAttempt,
    Person,
    StaffRole,
)
from tests.conftest import CIP, DIRECTRICE, NETWORK_ADMIN, OTHER_CIP, T0, actor
from tests.engine.test_cli import run as cli
from tests.web.conftest import BASE, PASSWORD, login

EVIL = "https://evil.example"
TEMPLATES = Path(__file__).parents[2] / "engine" / "api" / "templates"


def _wrong(client: TestClient, email: str = CIP, **headers: str):
    return client.post(
        "/api/v1/session", json={"email": email, "password": "pas-le-bon-mot"}, headers=headers
    )


# --- 1. guessing passwords and links -------------------------------------------------------


def test_a_guesser_waits_longer_after_each_failure_and_a_success_starts_over(web) -> None:
    """Five failures are free; then each one doubles the wait. The right password, once the
    wait is over, opens the session and the count starts over: nobody is locked out."""
    now = T0
    for _ in range(accounts.FREE_FAILURES["account"]):
        with pytest.raises(Forbidden, match="incorrect"):
            accounts.login(web, CIP, "pas-le-bon-mot", now=now)
    with pytest.raises(TooManyAttempts) as wait:
        accounts.login(web, CIP, PASSWORD, now=now)  # even the right one: no oracle
    assert wait.value.retry_after == 1
    assert "réessayez dans 1 s" in str(wait.value)
    now += timedelta(seconds=1)
    with pytest.raises(Forbidden, match="incorrect"):
        accounts.login(web, CIP, "pas-le-bon-mot", now=now)
    with pytest.raises(TooManyAttempts) as wait:
        accounts.login(web, CIP, PASSWORD, now=now)
    assert wait.value.retry_after == 2
    now += timedelta(seconds=2)
    assert accounts.login(web, CIP, PASSWORD, now=now)
    for _ in range(accounts.FREE_FAILURES["account"]):  # free again after the success
        with pytest.raises(Forbidden, match="incorrect"):
            accounts.login(web, CIP, "pas-le-bon-mot", now=now)


def test_the_wait_is_capped_and_forgotten_after_the_window(web) -> None:
    now, failures = T0, 0
    while failures < 20:  # a patient guesser, who waits each time as long as told
        try:
            accounts.login(web, CIP, "pas-le-bon-mot", now=now)
        except TooManyAttempts as exc:
            now += timedelta(seconds=exc.retry_after)
        except Forbidden:
            failures += 1
    with pytest.raises(TooManyAttempts) as wait:
        accounts.login(web, CIP, PASSWORD, now=now)
    assert wait.value.retry_after == accounts.MAX_WAIT.total_seconds()
    assert "réessayez dans 15 min" in str(wait.value)
    later = now + accounts.THROTTLE_WINDOW
    assert accounts.login(web, CIP, PASSWORD, now=later)


def test_one_address_trying_many_accounts_waits_too(web) -> None:
    free = accounts.FREE_FAILURES["address"]
    for i in range(free):
        with pytest.raises(Forbidden, match="incorrect"):
            accounts.login(web, f"inconnu{i}@x.example", "devine", now=T0, address="192.0.2.7")
    with pytest.raises(TooManyAttempts):
        accounts.login(web, CIP, PASSWORD, now=T0, address="192.0.2.7")
    assert accounts.login(web, CIP, PASSWORD, now=T0, address="192.0.2.8")  # another office


def test_no_email_or_address_is_stored_in_clear(web) -> None:
    with pytest.raises(Forbidden):
        accounts.login(web, CIP, "pas-le-bon-mot", now=T0, address="192.0.2.7")
    with web.reading() as conn:
        rows = conn.execute(select(LoginAttempt.key, LoginAttempt.kind)).all()
    assert {kind for _, kind in rows} == {"account", "address"}
    assert all(re.fullmatch("[0-9a-f]{64}", key) for key, _ in rows)


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> None:
    """The accounts' clock stands still: a one-second wait cannot run out between two requests
    of a slow machine."""
    now = datetime.now(UTC)
    monkeypatch.setattr(accounts, "utcnow", lambda: now)


def test_the_api_and_the_login_page_answer_429_in_french_with_retry_after(client, frozen) -> None:
    for _ in range(accounts.FREE_FAILURES["account"]):
        assert _wrong(client).status_code == 403
    resp = _wrong(client)
    assert resp.status_code == 429
    assert resp.headers["content-type"] == PROBLEM and int(resp.headers["retry-after"]) >= 1
    assert resp.json()["title"] == "Trop de tentatives"
    assert "réessayez dans" in resp.json()["detail"]
    page = client.post("/connexion", data={"email": CIP, "password": PASSWORD})
    assert page.status_code == 429 and "réessayez dans" in page.text
    assert "set-cookie" not in page.headers and int(page.headers["retry-after"]) >= 1


def test_every_worker_counts_the_same_failures(web, db_url, frozen) -> None:
    """Two server processes (two apps, two connection pools on one database): the failures one
    counted stop the guesser on the other."""
    other = make_engine(db_url)
    try:
        first = TestClient(create_app(web, BASE), base_url=BASE)
        second = TestClient(create_app(Runtime(other), BASE), base_url=BASE)
        for i in range(accounts.FREE_FAILURES["account"]):
            assert _wrong(first if i % 2 else second).status_code == 403
        assert _wrong(second).status_code == 429
        assert _wrong(first).status_code == 429
    finally:
        other.dispose()


def test_a_burst_of_parallel_guesses_cannot_slip_through(web) -> None:
    def guess(_: int) -> str:
        try:
            accounts.login(web, CIP, "pas-le-bon-mot")
        except TooManyAttempts:
            return "attendre"
        except Forbidden:
            return "refusé"
        return "ouvert"

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(guess, range(24)))
    # checked against the password at most the free failures (and one more if a second passed)
    assert answers.count("refusé") <= accounts.FREE_FAILURES["account"] + 1
    assert answers.count("attendre") >= 24 - accounts.FREE_FAILURES["account"] - 1
    assert "ouvert" not in answers


def test_trying_link_after_link_waits_and_a_real_link_still_works(client, web, frozen) -> None:
    for i in range(accounts.FREE_FAILURES["link"]):
        assert client.post(f"/lien/faux-{i}").status_code == 410
    refused = client.post("/lien/faux-encore")
    assert refused.status_code == 429 and "réessayez dans" in refused.text
    assert refused.headers["content-type"].startswith("text/html")
    claire = actor(web, CIP)
    pid = people.add_participant(web, "sato-interim", "Awa", "Diallo", by=claire)
    token = accounts.magic_link(web, pid, by=claire)
    # the same address waits too; from elsewhere the link opens
    assert client.post(f"/lien/{token}").status_code == 429
    elsewhere = TestClient(create_app(web, BASE), base_url=BASE, client=("198.51.100.4", 4000))
    opened = elsewhere.post(f"/lien/{token}", follow_redirects=False)
    assert opened.status_code == 303 and opened.headers["location"] == "/moi"


# --- 1. login CSRF: a session opened from another site ---------------------------------------


SENT_FROM = {
    "origin": (EVIL, BASE),
    "referer": (f"{EVIL}/piege.html", f"{BASE}/connexion"),
    "sec-fetch-site": ("cross-site", "same-origin"),
}


@pytest.mark.parametrize("header", SENT_FROM)
def test_a_login_form_posted_from_another_site_is_refused(client, header) -> None:
    evil, own = SENT_FROM[header]
    sent = {header: evil}
    page = client.post(
        "/connexion",
        data={"email": CIP, "password": PASSWORD},
        headers=sent,
        follow_redirects=False,
    )
    assert page.status_code == 403 and page.headers["content-type"].startswith("text/html")
    assert "depuis un autre site" in page.text and "set-cookie" not in page.headers
    api = client.post("/api/v1/session", json={"email": CIP, "password": PASSWORD}, headers=sent)
    assert api.status_code == 403 and "depuis un autre site" in api.json()["detail"]
    ok = client.post(
        "/connexion",
        data={"email": CIP, "password": PASSWORD},
        headers={header: own, "origin": "null"} if header == "sec-fetch-site" else {header: own},
        follow_redirects=False,
    )
    assert ok.status_code == 303 and auth.COOKIE in ok.headers["set-cookie"]


def test_a_link_posted_from_another_site_is_refused_and_not_burned(client, web) -> None:
    claire = actor(web, CIP)
    pid = people.add_participant(web, "sato-interim", "Awa", "Diallo", by=claire)
    token = accounts.magic_link(web, pid, by=claire)
    forged = client.post(f"/lien/{token}", headers={"origin": "null"}, follow_redirects=False)
    assert forged.status_code == 403 and "depuis un autre site" in forged.text
    opened = client.post(f"/lien/{token}", headers={"origin": BASE}, follow_redirects=False)
    assert opened.status_code == 303


# --- 2. security headers -----------------------------------------------------------------------


def test_every_response_carries_the_security_headers(client, web) -> None:
    csrf = login(client)
    claire = actor(web, CIP)
    eid = e.enroll(
        web, "atelier-decouverte", "sato-interim", e.Participant("Awa", "Diallo"), by=claire
    )
    responses = {
        "page": client.get(f"/parcours/{eid}"),
        "login page": client.get("/connexion"),
        "api": client.get("/api/v1/me"),
        "api 422": client.post("/api/v1/enrollments", json={}, headers={"X-CSRF-Token": csrf}),
        "unknown page": client.get("/nulle-part"),
        "open badges": client.get("/ob/v2/issuers/sato"),
        "script": client.get("/static/parcours.js"),
        "style": client.get("/static/parcours.css"),
    }
    for name, resp in responses.items():
        policy = resp.headers.get("content-security-policy", "")
        directives = dict(d.strip().split(" ", 1) for d in policy.split(";") if " " in d.strip())
        assert directives.get("script-src") == "'self'", (name, policy)
        assert "'unsafe-inline'" not in policy, name
        assert directives.get("frame-ancestors") == "'none'", name
        assert resp.headers["x-frame-options"] == "DENY", name
        assert resp.headers["x-content-type-options"] == "nosniff", name
        assert resp.headers["referrer-policy"] == "same-origin", name
        assert "strict-transport-security" not in resp.headers, name  # plain HTTP
    assert responses["unknown page"].status_code == 404
    assert "aucune page ni ressource à cette adresse" in responses["unknown page"].text
    assert responses["script"].headers["content-type"].startswith(("text/javascript", "appl"))


def test_link_pages_never_send_their_token_and_https_gets_hsts(web) -> None:
    """A link page's address holds its token: it sends its origin alone (`no-referrer` would
    make its own form say `Origin: null`, which the login CSRF check refuses)."""
    secure = TestClient(create_app(web, "https://badges.example.org"), base_url="https://x.test")
    link = secure.get("/lien/un-jeton")
    assert link.headers["referrer-policy"] == "strict-origin"
    assert link.headers["cache-control"] == "no-store"
    assert secure.get("/recommandations/un-jeton").headers["referrer-policy"] == "no-referrer"
    assert secure.get("/connexion").headers["strict-transport-security"].startswith("max-age=")
    # images of the badge pages come from the public address
    assert (
        "https://badges.example.org" in secure.get("/connexion").headers["content-security-policy"]
    )


def test_templates_hold_no_inline_script_style_or_handler() -> None:
    found = []
    for template in sorted(TEMPLATES.glob("*.html")):
        source = template.read_text(encoding="utf-8")
        for pattern in (r"<script(?![^>]*\bsrc=)", r"<style", r"\sstyle=", r"\son[a-z]+="):
            found += [f"{template.name}: {m.group(0)!r}" for m in re.finditer(pattern, source)]
    assert not found, found


def test_the_api_documentation_loads_its_scripts_from_here_only(client) -> None:
    """Swagger UI's files are served by Parcours (offline): the policy names no other host."""
    policy = client.get("/docs").headers["content-security-policy"]
    assert "https:" not in policy and "frame-ancestors 'none'" in policy


# --- 3. limits -----------------------------------------------------------------------------------


def _call(
    app: FastAPI,
    path: str,
    chunks: int,
    declared: int | None,
    kind: str = "application/json",
    head: bytes = b"",
) -> dict:
    """POST a body of `chunks` MiB (after `head`) straight to the ASGI app; say how many
    chunks it pulled."""
    block = b"x" * (1024 * 1024)
    pulled = 0
    sent: list[dict] = []
    headers = [(b"host", b"parcours.test"), (b"content-type", kind.encode())]
    if declared is not None:
        headers.append((b"content-length", str(declared).encode()))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("192.0.2.1", 1234),
        "server": ("parcours.test", 80),
    }

    async def receive() -> dict:
        nonlocal pulled
        if pulled < chunks:
            pulled += 1
            body = head + block if pulled == 1 else block
            return {"type": "http.request", "body": body, "more_body": pulled < chunks}
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    anyio.run(app, scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    headers_out = {k.decode(): v.decode() for k, v in start["headers"]}
    return {"status": start["status"], "headers": headers_out, "body": body, "pulled": pulled}


def test_a_150_mb_body_is_refused_before_it_is_read(web) -> None:
    assert MAX_BODY > uploads.MAX_BYTES  # an evidence file still fits, with its form
    app = create_app(web, BASE)
    declared = _call(app, "/api/v1/session", 150, declared=150 * 1024 * 1024)
    assert declared["status"] == 413 and declared["pulled"] == 0
    assert declared["headers"]["content-type"] == PROBLEM
    assert "trop volumineuse" in declared["body"].decode()
    streamed = _call(app, "/api/v1/session", 150, declared=None)  # chunked: no length
    assert streamed["status"] == 413
    assert streamed["pulled"] <= MAX_BODY // (1024 * 1024) + 1
    form = "multipart/form-data; boundary=limite"
    part = (
        b'--limite\r\nContent-Disposition: form-data; name="fichier"; filename="scan.pdf"\r\n'
        b"Content-Type: application/pdf\r\n\r\n%PDF-"
    )
    page = _call(app, "/parcours/1/pieces", 150, declared=None, kind=form, head=part)
    assert page["status"] == 413 and "Requête trop volumineuse" in page["body"].decode()
    assert page["headers"]["x-frame-options"] == "DENY"


def _string_nodes(schema: Any, where: str) -> list[tuple[str, dict]]:
    nodes = []
    if isinstance(schema, dict):
        if schema.get("type") in ("string", "integer"):
            nodes.append((where, schema))
        for key, value in schema.items():
            nodes += _string_nodes(value, f"{where}.{key}" if key != "properties" else where)
    elif isinstance(schema, list):
        for value in schema:
            nodes += _string_nodes(value, where)
    return nodes


def _bounded(node: dict) -> bool:
    if "enum" in node or "const" in node:
        return True
    if node["type"] == "integer":
        return "maximum" in node or "exclusiveMaximum" in node
    if node.get("format") in ("binary", "date", "date-time", "email") or "contentMediaType" in node:
        return True  # a file is bounded by its own limit, an e-mail address by email-validator
    pattern = node.get("pattern", "")
    closed = pattern.startswith("^") and pattern.endswith("$") and not re.search(r"[*+{]", pattern)
    return "maxLength" in node or closed


def unbounded(app: FastAPI) -> set[str]:
    """« METHOD path field » of each free text of a body or form, and each integer of a path
    or query string, with no upper bound, on every route, pages included."""
    from tests.web.test_route_actions import routes

    found = set()
    for path, route in routes(app):
        if not isinstance(route, APIRoute):
            continue
        method = sorted(route.methods)[0]
        dependant = route.dependant
        params = [(p, "int") for p in dependant.path_params + dependant.query_params]
        params += [(p, "all") for p in dependant.body_params + dependant.query_params]
        for param, kinds in params:
            info = param.field_info
            annotation = info.annotation
            metadata = list(info.metadata)
            if metadata:
                from typing import Annotated

                annotation = Annotated[(annotation, *metadata)]
            schema = TypeAdapter(annotation).json_schema(ref_template="#/$defs/{model}")
            for where, node in _string_nodes(schema, param.name):
                if kinds == "int" and node["type"] != "integer":
                    continue
                if not _bounded(node):
                    found.add(f"{method} {path} {where.replace('.$defs', '')}")
    return found


NOT_YET: set[str] = set()


def test_every_free_text_and_every_integer_of_a_request_is_bounded(web) -> None:
    found = unbounded(create_app(web, BASE))
    assert found <= NOT_YET, sorted(found - NOT_YET)


def test_control_characters_are_refused_naming_the_field(client, web) -> None:
    csrf = login(client)
    headers = {"X-CSRF-Token": csrf}
    with web.reading() as conn:
        before = conn.execute(select(func.count(Person.id))).scalar_one()
    for name, char in (("Awa\rX", "U+000D"), ("A\x00wa", "U+0000"), ("Awa\u2028", "U+2028")):
        body = {"structure": "sato-interim", "given_name": name, "family_name": "Diallo"}
        resp = client.post("/api/v1/participants", json=body, headers=headers)
        assert resp.status_code == 422 and resp.headers["content-type"] == PROBLEM
        [error] = resp.json()["errors"]
        assert error == {
            "field": "given_name",
            "message": f"caractère de contrôle interdit ({char})",
        }
    lone = client.post(
        "/api/v1/participants",
        content=b'{"structure": "sato-interim", "given_name": "\\ud800", "family_name": "D"}',
        headers={**headers, "content-type": "application/json"},
    )
    assert lone.status_code == 422 and "given_name" in lone.json()["detail"]
    form = client.post(
        "/inscriptions",
        data={
            "csrf": csrf,
            "pathway": "atelier-decouverte",
            "structure": "sato-interim",
            "prenom": "Awa",
            "nom": "Dia\x00llo",
        },
    )
    assert form.status_code == 422 and form.headers["content-type"].startswith("text/html")
    assert "nom : caractère de contrôle interdit (U+0000)" in form.text
    with web.reading() as conn:
        assert conn.execute(select(func.count(Person.id))).scalar_one() == before
    # multi-line texts keep their line breaks, not the rest
    claire = actor(web, CIP)
    eid = e.enroll(
        web, "atelier-decouverte", "sato-interim", e.Participant("Awa", "Diallo"), by=claire
    )
    note = client.post(
        f"/api/v1/enrollments/{eid}/advance",
        json={"trigger": "demarrer", "note": "ligne 1\nligne 2\x07"},
        headers=headers,
    )
    assert (
        note.status_code == 422
        and "note : caractère de contrôle interdit (U+0007)" in (note.json()["detail"])
    )
    ok = client.post(
        f"/api/v1/enrollments/{eid}/advance",
        json={"trigger": "demarrer", "note": "ligne 1\r\nligne 2\tfin"},
        headers=headers,
    )
    assert ok.status_code == 200, ok.text


@pytest.mark.parametrize(
    "path", ["/ob/v2/badges/a%00b", "/badges/a%00b", "/soutenir/a%0d", "/api/v1/pathways/%1b"]
)
def test_a_control_character_in_an_address_is_a_422_not_a_500(client, path) -> None:
    """PostgreSQL refuses a NUL in a query: it was a 500 on the public pages."""
    resp = client.get(path)
    assert resp.status_code == 422
    assert "caractère de contrôle interdit" in resp.text


@pytest.mark.parametrize(
    "path",
    [
        "/tableau-de-bord?page={huge}",
        "/partenaire?page={huge}",
        "/comites/1?page={huge}",
        "/api/v1/enrollments?page={huge}",
        "/api/v1/badge-requests?committee={huge}",
        "/api/v1/staff?page={huge}",
    ],
)
def test_huge_numbers_in_addresses_are_refused_in_french(client, path) -> None:
    login(client)
    resp = client.get(path.format(huge=10**30))
    assert resp.status_code == 422, resp.text
    assert "valeur trop grande" in resp.text


def test_broken_utf8_and_unknown_addresses_are_answered_in_french(client) -> None:
    broken = client.post(
        "/api/v1/session",
        content=b'{"email": "\xff@example.org", "password": "x"}',
        headers={"content-type": "application/json"},
    )
    assert broken.status_code == 422 and broken.headers["content-type"] == PROBLEM
    assert broken.json()["errors"] == [
        {"field": "corps", "message": "JSON invalide : le texte doit être encodé en UTF-8"}
    ]
    missing = client.get("/api/v1/nulle-part")
    assert missing.status_code == 404 and missing.headers["content-type"] == PROBLEM
    assert missing.json()["title"] == "Introuvable"
    wrong = client.put("/api/v1/me")
    assert wrong.status_code == 405 and wrong.json()["title"] == "Méthode non autorisée"
    assert "allow" in wrong.headers


# --- 5. staff offboarding -------------------------------------------------------------------------


@pytest.fixture
def team(web: Runtime) -> Runtime:
    """SATO Intérim's CIP sits on SATO's internal committee; a director of another SIAE."""
    with web.unit_of_work() as s:
        add_staff(
            s, "directrice@autre-siae.example", "Inès", "Autre", [("autre-siae", "directeur")]
        )
    set_password(web, DIRECTRICE, PASSWORD)
    directrice = actor(web, DIRECTRICE)
    cid = committees.create(
        web, "Commission interne", "sato.validation", by=directrice, structure="sato-interim"
    )
    committees.add_member(web, cid, CIP, by=directrice)
    return web


def _roles(rt: Runtime, email: str) -> set[str]:
    with rt.reading() as conn:
        rows = conn.execute(
            select(StaffRole.role, StaffRole.organisation_id)
            .join(Person, Person.id == StaffRole.person_id)
            .where(Person.email == email)
        ).all()
    return {r for r, _ in rows}


def test_a_director_removes_a_role_and_it_stops_at_once(team) -> None:
    claire = actor(team, CIP)
    outsider = actor(team, "directrice@autre-siae.example")
    with pytest.raises(Forbidden, match="retirer un rôle"):
        accounts.remove_role(team, CIP, "sato-interim", "cip", by=outsider)
    accounts.remove_role(team, CIP, "sato-interim", "cip", by=actor(team, DIRECTRICE))
    with pytest.raises(Forbidden):  # on the next call, not the next login
        people.add_participant(team, "sato-interim", "Awa", "Diallo", by=claire)
    assert people.add_participant(team, "sato-eiti", "Léa", "Roux", by=claire)  # still there
    with team.reading() as conn:  # no role left at SATO Intérim: its committee seat goes
        assert conn.execute(select(CommitteeMember)).first() is None
        audit = conn.execute(select(AuditEvent).where(AuditEvent.kind == "staff_role_removed"))
        assert audit.one().details == {
            "person_id": claire.person_id,
            "organisation": "sato-interim",
            "role": "cip",
        }
    with pytest.raises(NotFound, match="n'a pas le rôle"):
        accounts.remove_role(team, CIP, "sato-interim", "cip", by=actor(team, DIRECTRICE))


def test_disabling_an_account_ends_its_sessions_and_tokens_at_once(team) -> None:
    session = accounts.login(team, CIP, PASSWORD)
    token = accounts.create_api_token(team, CIP, "ERP")
    assert accounts.from_session(team, session) and accounts.from_api_token(team, token)
    refused = actor(team, "directrice@autre-siae.example")  # Claire works for Hélène
    with pytest.raises(Forbidden):
        accounts.disable(team, CIP, by=refused)
    done = accounts.disable(team, CIP, by=actor(team, NETWORK_ADMIN))
    assert (done.roles, done.sessions, done.tokens) == (2, 1, 1)
    assert accounts.from_session(team, session) is None
    assert accounts.from_api_token(team, token) is None
    assert _roles(team, CIP) == set()
    with pytest.raises(Forbidden, match="incorrect"):
        accounts.login(team, CIP, PASSWORD)
    with team.reading() as conn:
        claire = conn.execute(select(Person.id).where(Person.email == CIP)).scalar_one()
        assert conn.execute(select(Login).where(Login.person_id == claire)).first() is None
        assert conn.execute(select(CommitteeMember)).first() is None


def test_a_director_cannot_disable_someone_who_works_elsewhere_too(team) -> None:
    with team.unit_of_work() as s:
        add_staff(s, CIP, "Claire", "Martin", [("autre-siae", "cip")])
    with pytest.raises(Forbidden):
        accounts.disable(team, CIP, by=actor(team, DIRECTRICE))
    assert _roles(team, CIP) == {"cip"}  # nothing removed
    with pytest.raises(Forbidden):  # a network admin of SATO neither: « autre-siae » is not SATO's
        accounts.disable(team, CIP, by=actor(team, NETWORK_ADMIN))
    done = accounts.disable(team, CIP, by=access.Actor.system())  # the operator may
    assert done.roles == 3


def test_offboarding_through_the_api(team) -> None:
    client = TestClient(create_app(team, BASE), base_url=BASE)
    bearer = {"Authorization": f"Bearer {accounts.create_api_token(team, CIP, 'ERP')}"}
    claire_session = TestClient(create_app(team, BASE), base_url=BASE)
    login(claire_session, CIP)
    csrf = login(client, DIRECTRICE)
    listed = client.get("/api/v1/staff").json()
    names = {m["email"]: m for m in listed["items"]}
    assert set(names) >= {CIP, DIRECTRICE} and "directrice@autre-siae.example" not in names
    claire = names[CIP]["id"]
    assert client.get("/api/v1/me", headers=bearer).status_code == 200
    removed = client.delete(
        f"/api/v1/staff/{claire}/roles/sato-eiti/cip", headers={"X-CSRF-Token": csrf}
    )
    assert removed.status_code == 204
    assert _roles(team, CIP) == {"cip"}
    no_csrf = client.post(f"/api/v1/staff/{claire}/disable")
    assert no_csrf.status_code == 403
    done = client.post(f"/api/v1/staff/{claire}/disable", headers={"X-CSRF-Token": csrf})
    assert done.status_code == 200 and done.json() == {"roles": 1, "sessions": 1, "tokens": 1}
    assert client.get("/api/v1/me", headers=bearer).status_code == 401
    assert claire_session.get("/api/v1/me").status_code == 401
    other = TestClient(create_app(team, BASE), base_url=BASE)
    login(other, OTHER_CIP)
    assert other.get("/api/v1/staff").json()["items"] == []  # a CIP manages nobody
    assert other.post(
        f"/api/v1/staff/{claire}/disable", headers={"X-CSRF-Token": login(other, OTHER_CIP)}
    ).status_code in (403, 404)


def test_offboarding_from_the_team_page(team) -> None:
    client = TestClient(create_app(team, BASE), base_url=BASE)
    csrf = login(client, DIRECTRICE)
    page = client.get("/equipe")
    assert page.status_code == 200 and "le compte de Claire Martin</span>" in page.text
    assert 'href="/equipe"' in client.get("/tableau-de-bord").text
    claire = actor(team, CIP).person_id
    forged = client.post(f"/equipe/{claire}/desactiver", data={"csrf": "faux"})
    assert forged.status_code == 403 and _roles(team, CIP) == {"cip"}
    client.post(
        f"/equipe/{claire}/roles/retirer",
        data={"csrf": csrf, "organisation": "sato-eiti", "role": "cip"},
    )
    assert _roles(team, CIP) == {"cip"}
    asked = client.post(f"/equipe/{claire}/desactiver", data={"csrf": csrf})
    assert "Désactiver le compte de Claire Martin ?" in asked.text  # a page asks first
    assert _roles(team, CIP) == {"cip"}
    done = client.post(
        f"/equipe/{claire}/desactiver",
        data={"csrf": csrf, "confirmer": "oui"},
        follow_redirects=False,
    )
    assert done.status_code == 303 and _roles(team, CIP) == set()
    assert "Claire Martin" not in client.get("/equipe").text


def test_offboarding_from_the_command_line(capsys, team, db_url) -> None:
    db = ["--db", db_url]
    code, out, err = cli(capsys, *db, "staff", "remove-role", CIP, "--role", "cip@sato-eiti")
    assert code == 0, err
    assert out.strip() == f"Rôle cip à sato-eiti retiré à {CIP}."
    code, _, err = cli(
        capsys, *db, "staff", "remove-role", CIP, "--role", "cip@sato-interim", "--by", OTHER_CIP
    )
    assert code == 1 and "vous ne pouvez pas retirer un rôle" in err
    token = accounts.create_api_token(team, CIP, "ERP")
    code, out, err = cli(capsys, *db, "staff", "disable", CIP)
    assert code == 0, err
    assert "1 rôle(s) retiré(s)" in out and "1 jeton(s) d'API révoqué(s)" in out
    assert accounts.from_api_token(team, token) is None
    code, _, err = cli(capsys, *db, "staff", "password", CIP, "--password", "motdepasse123")
    assert code == 1 and "trop courant" in err
