"""SATO's badges for companies: held by the organisation (its e-mail, hashed, is the OB
recipient), issued by the network's structures, valid for IMS Global's OB 2.0 validator."""

from __future__ import annotations

import httpx
import pytest

from engine.api.app import create_app
from engine.errors import Forbidden, InvalidInput
from engine.services import (
    badge_documents,
    badges,
    organisation_badges,
    people,
    requests,
    shares,
)
from engine.services import enrollments as e
from engine.services.organisations import upsert_organisation
from engine.services.runtime import Runtime
from tests.conftest import CIP, DIRECTRICE, NETWORK_ADMIN, OTHER_CIP, actor
from tests.third_party import free_port, ims_validate, ims_validator_python, serving


def _company(rt: Runtime) -> None:
    with rt.unit_of_work() as s:
        upsert_organisation(
            s,
            "ateliers-brest",
            "Ateliers de Brest",
            "partner",
            email="rh@ateliers-brest.example",
        )


def test_a_company_holds_its_badge_and_ims_validates_it(sato: Runtime) -> None:
    _company(sato)
    aid = organisation_badges.award(
        sato,
        "sato.entreprise-accueillante",
        "ateliers-brest",
        by=actor(sato, DIRECTRICE),
        narrative="Cinq stagiaires accueillies en 2026, tutrice désignée",
    )
    with pytest.raises(Forbidden):
        organisation_badges.award(
            sato, "sato.entreprise-tutrice", "ateliers-brest", by=actor(sato, OTHER_CIP)
        )
    with pytest.raises(InvalidInput, match="à une personne"):
        organisation_badges.award(
            sato, "sato.ponctualite", "ateliers-brest", by=actor(sato, DIRECTRICE)
        )
    cip = actor(sato, CIP)
    eid = e.enroll(sato, "sato-femmes-metallurgie", "sato-interim", e.Participant("A", "B"), by=cip)
    with pytest.raises(InvalidInput, match="à une organisation"):
        e.award(sato, eid, "sato.entreprise-accueillante", by=cip)
    with pytest.raises(InvalidInput, match="à une organisation"):
        requests.submit(
            sato,
            "sato.entreprise-accueillante",
            by=cip,
            participant_id=people.participants(sato, cip)[0][0].id,
        )

    assert badge_documents.public_badge(sato, aid).holder == "Ateliers de Brest"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with serving(create_app(sato, base), port):
        report = ims_validate(
            ims_validator_python(), badges.urls(base).assertion(aid), "rh@ateliers-brest.example"
        )
        page = httpx.get(f"{base}/badges/{aid}").text
    assert report["report"]["valid"], report["report"]["messages"]
    assert "Ateliers de Brest" in page and "Entreprise accueillante" in page


def test_a_company_badge_is_not_shared_into_a_partner_feed(sato: Runtime) -> None:
    """A partner's feed lists people's badges; the network's admin, who may share any of its
    badges, is told a company's does not go there."""
    _company(sato)
    aid = organisation_badges.award(
        sato, "sato.entreprise-accueillante", "ateliers-brest", by=actor(sato, DIRECTRICE)
    )
    with pytest.raises(InvalidInput, match="d'une organisation ne se partage pas"):
        shares.share(sato, aid, "geiq-industrie", by=actor(sato, NETWORK_ADMIN))
