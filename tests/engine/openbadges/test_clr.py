"""CLR 2.0: a participant's parcours on SATO's « Femmes et métallurgie » as one ClrCredential,
checked as a stranger would: 1EdTech's JSON Schemas (CLR 2.0 ClrCredential, OB 3.0
AchievementCredential), JSON-LD expansion against local copies of the contexts only (nothing
may be dropped), the VC-JWT signature with the key the network publishes, the associations
the network's file implies, and openbadgeslib on every credential the CLR holds.

Schemas and contexts: tests/data/ob-schemas (sources and licences in its SOURCES.md)."""

from __future__ import annotations

import base64
import itertools
import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from joserfc import jws
from joserfc.errors import BadSignatureError
from joserfc.jwk import RSAKey
from jsonschema import Draft201909Validator
from openbadgeslib.ob3 import build_clr_credential, bundled_clr_contexts
from openbadgeslib.ob3.verifier import OB3Verifier
from pydantic import ValidationError
from pyld import jsonld
from sqlmodel import select

from engine.badges.catalogue import Alignment, BadgeEntry
from engine.errors import Forbidden, NotFound
from engine.openbadges import clr as clr_doc
from engine.openbadges import ob3
from engine.services import accounts, badges, clr
from engine.services import enrollments as e
from engine.statuses import BadgeClassStatus
from engine.store.tables import Assertion, BadgeClass, Enrollment, Person
from tests.conftest import CIP, DIRECTRICE, ENCADRANT, OTHER_CIP, T0, actor

ROOT = Path(__file__).parents[3]
SCHEMAS = ROOT / "tests" / "data" / "ob-schemas"
CONTEXTS = {
    "https://www.w3.org/ns/credentials/v2": "credentials-v2.jsonld",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json": "ob-v3p0-context-3.0.3.json",
    "https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json": "clr-v2p0-context-2.0.1.json",
}
ABSOLUTE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
"""An absolute IRI starts with its scheme. (CLR context 2.0.1 types `sourceId` and `targetId`
as `xsd:anyURI` without defining `xsd`: the IRI stays `xsd:anyURI`, absolute, if odd.)"""
JWT_CLAIMS = {"iss", "jti", "nbf", "exp", "sub"}
SUB_BADGES = ("sato.jeu-de-piste", "sato.metiers-industrie")
"""Two of the three sub-badges of « J'ai découvert l'industrie » (it asks for at least two)."""


@pytest.fixture
def parcours(issued):
    """Awa's parcours: two sub-badges by the encadrant technique, then the CIP lets her start
    the immersion, which issues the key badge of the discovery stage."""
    rt = issued.rt
    e.award(rt, issued.enrollment, SUB_BADGES[1], by=actor(rt, ENCADRANT), now=T0)
    later = T0 + timedelta(days=3)
    e.advance(rt, issued.enrollment, "commencer-immersion", by=actor(rt, CIP), now=later)
    with rt.unit_of_work() as s:
        issued.public_id = s.get(Enrollment, issued.enrollment).public_id
    return issued


def _schema(path: str) -> Draft201909Validator:
    schema = json.loads((SCHEMAS / path).read_text())
    Draft201909Validator.check_schema(schema)
    return Draft201909Validator(schema)


def _problems(validator: Draft201909Validator, doc: dict) -> list[str]:
    return [f"{'/'.join(map(str, err.absolute_path))}: {err.message}" for err in
            validator.iter_errors(doc)]  # fmt: skip


def _document(parcours) -> dict[str, Any]:
    resp = parcours.client.get(f"/ob/v3/clr/{parcours.public_id}")
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("application/ld+json")
    return resp.json()


def _token(parcours) -> str:
    resp = parcours.client.get(f"/ob/v3/clr/{parcours.public_id}.jwt")
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith(ob3.CONTENT_TYPE)
    return resp.text


def _by_type(doc: dict, kind: str) -> list[tuple[str, str]]:
    return [
        (a["sourceId"], a["targetId"])
        for a in doc["credentialSubject"].get("association", [])
        if a["associationType"] == kind
    ]


# --- JSON Schemas ---------------------------------------------------------------------------


def test_the_clr_and_each_credential_in_it_pass_1edtech_schemas(parcours, u) -> None:
    doc = _document(parcours)
    assert _problems(_schema("clr_v2p0/clr_v2p0_clrcredential_schema.json"), doc) == []
    achievement_credential = _schema("ob_v3p0/ob_v3p0_achievementcredential_schema.json")
    members = doc["credentialSubject"]["verifiableCredential"]
    for member in members:
        assert _problems(achievement_credential, member) == []
    for achievement in doc["credentialSubject"]["achievement"]:
        wrapped = json.loads(json.dumps(members[0]))
        wrapped["credentialSubject"]["achievement"] = achievement
        assert _problems(achievement_credential, wrapped) == [], achievement["id"]
    # What the schema makes sure of, asserted too: a broken CLR fails it.
    broken = json.loads(json.dumps(doc))
    del broken["credentialSubject"]["verifiableCredential"]
    assert _problems(_schema("clr_v2p0/clr_v2p0_clrcredential_schema.json"), broken)


def test_the_clr_says_who_issued_it_to_whom_and_holds_her_badges(parcours, u) -> None:
    doc = _document(parcours)
    assert doc["@context"] == clr_doc.CONTEXT
    assert doc["type"] == ["VerifiableCredential", "ClrCredential"]
    assert doc["id"] == u.clr(parcours.public_id)
    assert doc["issuer"]["id"] == u.profile3("sato")
    assert doc["name"] == "Parcours « Femmes et métallurgie » de Awa D."
    with parcours.rt.unit_of_work() as s:
        enrollment = s.get(Enrollment, parcours.enrollment)
        person_subject = s.get(Person, enrollment.participant_id).subject
        rows = s.exec(select(Assertion).where(Assertion.enrollment_id == parcours.enrollment))
        ids = {u.credential(a.id) for a in rows}
    assert doc["credentialSubject"]["type"] == ["ClrSubject"]
    assert doc["credentialSubject"]["id"] == u.profile_page(person_subject)
    members = doc["credentialSubject"]["verifiableCredential"]
    assert {m["id"] for m in members} == ids
    names = {m["credentialSubject"]["achievement"]["name"] for m in members}
    assert names == {"Jeu de piste en entreprises", "Métiers de l'industrie",
                     "J'ai découvert l'industrie"}  # fmt: skip
    # Each credential is the one /ob/v3/credentials/{id} signs, JWT claims aside.
    for member in members:
        token = parcours.client.get(member["id"].removeprefix("http://badges.test")).text
        signed = {k: v for k, v in ob3.unverified(token)[1].items() if k not in JWT_CLAIMS}
        assert signed == member


def test_a_revoked_badge_leaves_the_clr_and_an_empty_parcours_has_none(parcours, u) -> None:
    badges.revoke(parcours.rt, parcours.assertion, "Erreur", by=actor(parcours.rt, DIRECTRICE))
    members = _document(parcours)["credentialSubject"]["verifiableCredential"]
    assert u.credential(parcours.assertion) not in {m["id"] for m in members}
    assert len(members) == 2
    assert parcours.client.get("/ob/v3/clr/inconnu").status_code == 404
    assert parcours.client.get("/ob/v3/clr/inconnu.jwt").status_code == 404
    other = e.enroll(
        parcours.rt,
        "sato-femmes-metallurgie",
        "sato-interim",
        e.Participant("Léa", "Le Goff", "lea.legoff@example.org"),
        by=actor(parcours.rt, CIP),
        now=T0,
    )
    with parcours.rt.unit_of_work() as s:
        empty = s.get(Enrollment, other).public_id
    resp = parcours.client.get(f"/ob/v3/clr/{empty}")
    assert resp.status_code == 404 and "aucun badge" in resp.text


# --- Achievements and associations ---------------------------------------------------------


def test_sub_badges_are_children_of_the_key_badges_the_network_file_names(parcours, u) -> None:
    doc = _document(parcours)
    catalogue = yaml.safe_load((ROOT / "networks" / "sato.yaml").read_text())["badges"]
    pathway = yaml.safe_load((ROOT / "workflows" / "sato-femmes-metallurgie.yaml").read_text())
    awarded = {b for s in pathway["stages"] for k in ("on_enter", "on_complete")
               for b in s.get("awards", {}).get(k, [])}  # fmt: skip
    expected = {
        (u.achievement(part), u.achievement(entry["id"]))
        for entry in catalogue
        if entry["id"] in awarded and entry.get("requires")
        for part in entry["requires"]["of"]
    }
    assert len(expected) == 9  # 3 + 2 + 4 sub-badges of SATO's three key badges
    assert set(_by_type(doc, "isChildOf")) == expected
    # Key badges follow the stages: discovery, immersion, interim, then the GEIQ contract.
    keys = ["sato.decouvert-industrie", "sato.projet-industrie-valide",
            "sato.competences-entreprise", "sato.contrat-pro-geiq"]  # fmt: skip
    assert _by_type(doc, "precedes") == [
        (u.achievement(a), u.achievement(b)) for a, b in itertools.pairwise(keys)
    ]
    # Every association points at an achievement the CLR describes.
    ids = {a["id"] for a in doc["credentialSubject"]["achievement"]}
    for source, target in _by_type(doc, "isChildOf") + _by_type(doc, "precedes"):
        assert {source, target} <= ids


def test_achievements_are_the_versions_earned_else_the_current_ones(parcours, u) -> None:
    """A new version of two sub-badges: the one Awa earned stays as she earned it (v1, the
    achievement of her credential), the one she has not yet earned is shown at v2."""
    with parcours.rt.unit_of_work() as s:
        for slug in ("sato.jeu-de-piste", "sato.securite-atelier"):
            old = s.exec(select(BadgeClass).where(BadgeClass.slug == slug)).one()
            values = old.model_dump(exclude={"id", "version", "status"})
            s.add(BadgeClass(**{**values, "version": 2, "criteria": "Nouveaux critères"}))
            old.status = BadgeClassStatus.SUPERSEDED
            s.add(old)
    doc = _document(parcours)
    children = {source for source, _ in _by_type(doc, "isChildOf")}
    assert u.achievement("sato.jeu-de-piste") in children
    assert u.achievement("sato.securite-atelier", 2) in children
    assert u.achievement("sato.securite-atelier") not in children
    achievements = doc["credentialSubject"]["achievement"]
    criteria = {a["id"]: a["criteria"]["narrative"] for a in achievements}
    assert criteria[u.achievement("sato.securite-atelier", 2)] == "Nouveaux critères"


def test_achievements_say_their_type_and_no_longer_call_sub_badges_related(parcours, u) -> None:
    doc = _document(parcours)
    kinds = {a["id"]: a["achievementType"] for a in doc["credentialSubject"]["achievement"]}
    assert kinds[u.achievement("sato.decouvert-industrie")] == "Badge"
    assert kinds[u.achievement("sato.ponctualite")] == "Competency"  # savoir-être
    assert kinds[u.achievement("sato.geste-professionnel")] == "Competency"  # savoir-faire
    assert kinds[u.achievement("sato.jeu-de-piste")] == "Badge"
    key = parcours.client.get("/ob/v3/achievements/sato.decouvert-industrie").json()
    assert key["achievementType"] == "Badge" and "related" not in key
    assert "related" not in json.dumps(doc)
    # OB 2.0 keeps naming the sub-badges in the criteria.
    ob2 = parcours.client.get("/ob/v2/badges/sato.decouvert-industrie").json()
    assert "Badges constitutifs : Jeu de piste en entreprises" in ob2["criteria"]["narrative"]


def test_the_catalogue_takes_only_ob3_vocabulary() -> None:
    base = {"id": "sato.x", "name": "X", "description": "X", "criteria": "X"}
    assert BadgeEntry(**base, achievement_type="Certificate").achievement_type == "Certificate"
    assert BadgeEntry(**base, achievement_type="ext:Etape").achievement_type == "ext:Etape"
    with pytest.raises(ValidationError, match="achievement_type « Diplome » inconnu"):
        BadgeEntry(**base, achievement_type="Diplome")
    rome = {"targetName": "ROME A1203", "targetUrl": "https://example.org/A1203"}
    assert Alignment(**rome, targetType="ext:ROME").targetType == "ext:ROME"
    with pytest.raises(ValidationError, match="targetType"):
        Alignment(**rome, targetType="Occupation")


# --- JSON-LD --------------------------------------------------------------------------------


def _local_contexts(url: str, options: Any = None) -> dict[str, Any]:
    """Serves the three contexts from tests/data; any other URL (the network) is refused."""
    name = CONTEXTS.get(url)
    if name is None:
        raise RuntimeError(f"refusé : {url} n'est pas un contexte local")
    return {
        "contentType": "application/ld+json",
        "contextUrl": None,
        "documentUrl": url,
        "document": json.loads((SCHEMAS / "contexts" / name).read_text()),
    }


def _leaves(node: Any, key: str = "") -> list[tuple[str, Any]]:
    if isinstance(node, dict):
        return [x for k, v in node.items() if k != "@context" for x in _leaves(v, k)]
    if isinstance(node, list):
        return [x for v in node for x in _leaves(v, key)]
    return [(key, node)]


def _expand_safely(doc: dict) -> list:
    """pyld has no safe mode: the same guarantee, checked. Every term must map to an absolute
    IRI and every value of the document must still be in the expansion (an undefined term is
    silently dropped otherwise)."""
    expanded = jsonld.expand(doc, {"documentLoader": _local_contexts})
    kept = [v for _, v in _leaves(expanded)]
    for key, value in _leaves(doc):
        if key in ("type", "@type"):
            continue
        found = value in kept or any(
            isinstance(k, str) and k.endswith(("#" + str(value), "/" + str(value))) for k in kept
        )
        assert found, f"{key}: {value!r} dropped by JSON-LD expansion"

    def check(node: Any) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                assert k.startswith("@") or ABSOLUTE.match(k), f"relative term {k}"
                if k == "@type":
                    for t in v if isinstance(v, list) else [v]:
                        assert ABSOLUTE.match(t), f"relative type {t}"
                check(v)
        elif isinstance(node, list):
            for v in node:
                check(v)

    check(expanded)
    return expanded


def test_the_clr_expands_as_json_ld_with_nothing_dropped(parcours) -> None:
    doc = _document(parcours)
    expanded = _expand_safely(doc)
    text = json.dumps(expanded)
    clr_vocab = "https://purl.imsglobal.org/spec/vc/clr/vocab.html#"
    for term in ("ClrCredential", "ClrSubject", "Association", "association", "sourceId"):
        assert clr_vocab + term in text, term
    assert "https://purl.imsglobal.org/spec/vc/ob/vocab.html#achievementType" in text
    # The check bites: an undefined term is caught, and no context comes from the network.
    with pytest.raises(AssertionError, match="dropped"):
        _expand_safely({**doc, "parcoursInconnu": "valeur perdue"})
    with pytest.raises(jsonld.JsonLdError):
        jsonld.expand(
            {"@context": "https://example.org/ctx.json", "name": "x"},
            {"documentLoader": _local_contexts},
        )


# --- Signature ------------------------------------------------------------------------------


def _published_key(parcours, token: str) -> RSAKey:
    """The key as a stranger gets it: the kid URL in the token header, through the app."""
    status, body = parcours.fetch(ob3.unverified(token)[0]["kid"])
    assert status == 200
    doc = json.loads(body)
    return RSAKey.import_key(doc.get("publicKeyJwk", doc))


def test_the_vc_jwt_verifies_with_the_networks_published_key(parcours, u) -> None:
    token = _token(parcours)
    header, _ = ob3.unverified(token)
    assert header["alg"] == "RS256" and header["kid"].startswith(u.key("sato", ""))
    key = _published_key(parcours, token)
    claims = json.loads(jws.deserialize_compact(token, key, algorithms=["RS256"]).payload)
    assert claims["iss"] == u.profile3("sato") and claims["jti"] == u.clr(parcours.public_id)
    assert claims["sub"] == claims["credentialSubject"]["id"]
    doc = _document(parcours)
    body = {k: v for k, v in claims.items() if k not in JWT_CLAIMS}
    assert {**body, "validFrom": None} == {**doc, "validFrom": None}
    # A changed payload no longer verifies.
    head, _, sig = token.split(".")
    claims["credentialSubject"]["association"] = []
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    with pytest.raises(BadSignatureError):
        jws.deserialize_compact(f"{head}.{forged}.{sig}", key, algorithms=["RS256"])


def test_the_participant_and_her_team_download_it_others_may_not(parcours, u) -> None:
    rt = parcours.rt
    token = clr.enrollment_clr(rt, parcours.enrollment, u, by=parcours.holder)
    assert ob3.unverified(token)[1]["jti"] == u.clr(parcours.public_id)
    with pytest.raises(Forbidden):
        clr.enrollment_clr(rt, parcours.enrollment, u, by=actor(rt, OTHER_CIP))
    with pytest.raises(NotFound):
        clr.enrollment_clr(rt, 999_999, u, by=actor(rt, CIP))
    client = parcours.client
    assert client.get(f"/api/v1/enrollments/{parcours.enrollment}/clr").status_code == 401
    for who, code in ((CIP, 200), (OTHER_CIP, 403)):
        bearer = {"Authorization": f"Bearer {accounts.create_api_token(rt, who, 'test')}"}
        resp = client.get(f"/api/v1/enrollments/{parcours.enrollment}/clr", headers=bearer)
        assert resp.status_code == code, resp.text
    assert resp.status_code == 403 and "consulter un parcours" in resp.json()["detail"]
    bearer = {"Authorization": f"Bearer {accounts.create_api_token(rt, CIP, 'test')}"}
    resp = client.get(f"/api/v1/enrollments/{parcours.enrollment}/clr", headers=bearer)
    assert resp.headers["link"] == f'<{u.clr(parcours.public_id)}>; rel="alternate"'
    key = _published_key(parcours, resp.text)
    jws.deserialize_compact(resp.text, key, algorithms=["RS256"])


# --- openbadgeslib --------------------------------------------------------------------------


def test_openbadgeslib_verifies_every_credential_the_clr_holds(parcours, u) -> None:
    """openbadgeslib 4.6 builds and signs CLRs (Data Integrity) but verifies only OB 3.0
    credentials: it checks each member's own VC-JWT, fetched at its id, with the status list;
    its CLR envelope agrees with ours on contexts and types; and its hash-pinned CLR context is
    our local copy."""
    doc = _document(parcours)
    members = doc["credentialSubject"]["verifiableCredential"]

    def download(url: str) -> bytes:
        status, body = parcours.fetch(url)
        assert status == 200, url
        return body

    for member in members:
        token = parcours.client.get(member["id"].removeprefix("http://badges.test")).text
        pem = _published_key(parcours, token).as_pem(private=False)
        credential = OB3Verifier(pem).verify(token, check_status=True, download=download)
        assert credential.achievement.name == member["credentialSubject"]["achievement"]["name"]
    theirs = build_clr_credential(
        doc["issuer"], [], members, credential_id=doc["id"] + "#openbadgeslib"
    )
    assert set(theirs["@context"]) == set(doc["@context"])
    assert theirs["type"] == doc["type"]
    assert theirs["credentialSubject"]["verifiableCredential"] == members
    ((url, context),) = bundled_clr_contexts().items()
    assert url == clr_doc.CONTEXT[1]
    assert context == json.loads((SCHEMAS / "contexts" / CONTEXTS[url]).read_text())
