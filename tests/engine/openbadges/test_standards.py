"""Every OB 3.0 document kind Parcours issues against the 1EdTech JSON Schemas (the CLR is in
test_clr.py), with the registered VC-JWT claims a verifier checks, and endorsements reachable
from what they endorse."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft201909Validator
from sqlalchemy import func, select

from engine.openbadges import ob3
from engine.services import endorsements
from engine.store.tables import IssuerKey, Organisation
from tests.conftest import actor
from tests.engine.openbadges.conftest import GEIQ

SCHEMAS = Path(__file__).parents[2] / "data" / "ob-schemas" / "ob_v3p0"


def problems(name: str, doc: dict) -> list[str]:
    schema = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    Draft201909Validator.check_schema(schema)
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in Draft201909Validator(schema).iter_errors(doc)
    ]


def payload(issued, url: str) -> dict:
    status, body = issued.fetch(url)
    assert status == 200, url
    return ob3.unverified(body.decode())[1]


@pytest.fixture
def endorsed(issued):
    eid = endorsements.endorse(
        issued.rt,
        "geiq-industrie",
        "badge_class",
        "sato.jeu-de-piste",
        "Les candidates qui l'ont visitent nos adhérents avec un vrai projet.",
        by=actor(issued.rt, GEIQ),
    )
    return issued, eid


def test_the_credential_passes_its_schema_and_names_it(issued, u) -> None:
    claims = payload(issued, u.credential(issued.assertion))
    assert problems("ob_v3p0_achievementcredential_schema.json", claims) == []
    assert claims["credentialSchema"] == [
        {
            "id": "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/"
            "ob_v3p0_achievementcredential_schema.json",
            "type": "1EdTechJsonSchemaValidator2019",
        }
    ]
    # the registered claims a VC-JWT verifier checks
    assert claims["iss"] == claims["issuer"]["id"] == u.profile3("sato")
    assert claims["jti"] == claims["id"] == u.credential(issued.assertion)
    assert claims["sub"] == claims["credentialSubject"]["id"]
    assert claims["sub"].startswith(f"{u.base}/profils/")
    assert claims["nbf"] > 0
    assert claims["credentialSubject"]["achievement"]["achievementType"]


def test_a_schema_violation_is_seen(issued, u) -> None:
    """The check is real: a credential without its subject's achievement fails it."""
    claims = payload(issued, u.credential(issued.assertion))
    del claims["credentialSubject"]["achievement"]
    assert problems("ob_v3p0_achievementcredential_schema.json", claims)


def test_the_issuer_profile_passes_its_schema(issued, u) -> None:
    status, body = issued.fetch(u.profile3("sato"))
    assert status == 200
    profile = json.loads(body)
    assert problems("ob_v3p0_profile_schema.json", profile) == []
    assert profile["email"] and profile["url"].startswith("https://")


def test_the_endorsement_credential_passes_its_schema(endorsed, u) -> None:
    issued, eid = endorsed
    claims = payload(issued, u.endorsement3(eid))
    assert problems("ob_v3p0_endorsementcredential_schema.json", claims) == []
    assert claims["credentialSchema"][0]["id"].endswith("ob_v3p0_endorsementcredential_schema.json")


def test_an_endorsement_is_linked_from_what_it_endorses(endorsed, u) -> None:
    issued, eid = endorsed
    status, body = issued.fetch(u.badge_class("sato.jeu-de-piste"))
    assert status == 200
    assert json.loads(body)["endorsement"] == [u.endorsement(eid)]
    status, body = issued.fetch(u.achievement("sato.jeu-de-piste"))
    [token] = json.loads(body)["endorsementJwt"]
    header, claims = ob3.unverified(token)
    assert claims["credentialSubject"]["id"] == u.achievement("sato.jeu-de-piste")
    assert header["kid"].startswith(u.base)  # signed by the GEIQ's published key
    status, _ = issued.fetch(header["kid"])
    assert status == 200
    # what nobody endorsed carries no empty list
    status, body = issued.fetch(u.assertion(issued.assertion))
    assert "endorsement" not in json.loads(body)


def test_the_endorser_gets_its_key_when_it_endorses_not_when_read(endorsed) -> None:
    issued, _ = endorsed
    with issued.rt.unit_of_work() as s:
        geiq = s.execute(select(Organisation.id).where(Organisation.slug == "geiq-industrie"))
        keys = s.execute(
            select(func.count()).where(IssuerKey.organisation_id == geiq.scalar_one())
        ).scalar_one()
    assert keys == 1


def test_a_badge_is_issued_baked_and_signed_in_one_transaction(issued, u) -> None:
    """`award_portable`: what a badge just issued is sent out as, from one commit."""
    import io

    from openbadges_bakery import unbake

    from engine.services import enrollments as e
    from tests.conftest import ENCADRANT

    aid, kept = e.award_portable(
        issued.rt, issued.enrollment, "sato.securite-atelier", u, by=actor(issued.rt, ENCADRANT)
    )
    assert json.loads(unbake(io.BytesIO(kept.png)))["id"] == u.assertion(aid)
    claims = ob3.unverified(kept.jwt)[1]
    assert claims["jti"] == u.credential(aid) and "credentialStatus" in claims
    status, body = issued.fetch(u.credential(aid))  # the same credential, signed again on read
    assert (
        status == 200
        and ob3.unverified(body.decode())[1]["credentialStatus"] == (claims["credentialStatus"])
    )


def test_credentials_signed_at_once_each_get_their_own_status_place(issued, u) -> None:
    """Signers racing for the issuer's next status-list place: each badge gets its own (on
    PostgreSQL through the retry, on SQLite through its single writer)."""
    from concurrent.futures import ThreadPoolExecutor

    from engine.services import badge_documents
    from engine.services import enrollments as e
    from tests.conftest import ENCADRANT

    encadrant = actor(issued.rt, ENCADRANT)
    skills = ["securite-atelier", "metiers-industrie", "ponctualite", "travail-equipe", "consignes"]
    ids = [issued.assertion] + [
        e.award(issued.rt, issued.enrollment, f"sato.{s}", by=encadrant) for s in skills
    ]
    with ThreadPoolExecutor(len(ids)) as pool:
        tokens = list(pool.map(lambda a: badge_documents.credential_jwt(issued.rt, a, u), ids))
    places = [ob3.unverified(t)[1]["credentialStatus"]["statusListIndex"] for t in tokens]
    assert len(set(places)) == len(ids)
