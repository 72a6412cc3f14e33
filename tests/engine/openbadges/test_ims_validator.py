"""IMS Global's own Open Badges 2.0 validator (PyPI `openbadges`), run on what Parcours serves
over a real socket on 127.0.0.1 and on the baked picture, with its JSON-LD context preloaded."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.api.app import create_app
from engine.services import badge_documents, badges, endorsements
from tests.conftest import DIRECTRICE, actor
from tests.engine.openbadges.conftest import ADIE, GEIQ
from tests.third_party import free_port, ims_validate, ims_validator_python, serving


@pytest.fixture(scope="session")
def validator() -> Path:
    return ims_validator_python()


@pytest.fixture
def served(issued):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with serving(create_app(issued.rt, base), port):
        yield base, badges.urls(base)


def _errors(report: dict) -> list[str]:
    return [m["result"] for m in report["report"]["messages"] if m["messageLevel"] == "ERROR"]


def test_the_hosted_assertion_passes_the_ims_validator(issued, served, validator) -> None:
    _, u = served
    endorsements.endorse(
        issued.rt,
        "geiq-industrie",
        "badge_class",
        "sato.jeu-de-piste",
        "Utile",
        by=actor(issued.rt, GEIQ),
    )
    url = u.assertion(issued.assertion)
    report = ims_validate(validator, url, "awa.diallo@example.org")
    assert report["report"]["valid"], _errors(report)
    assert report["report"]["errorCount"] == 0
    assert report["report"]["openBadgesVersion"] == "2.0"
    types = {node.get("type") for node in report["graph"]}
    assert {"Assertion", "BadgeClass", "Issuer"} <= types
    # the recipient check is real: another address is refused
    other = ims_validate(validator, url, "quelqu.un@example.org")
    assert not other["report"]["valid"]
    assert any("recipient" in e.lower() for e in _errors(other))


def test_the_baked_png_passes_the_ims_validator(issued, served, validator, tmp_path) -> None:
    _, u = served
    png = tmp_path / "badge.png"
    png.write_bytes(badge_documents.baked(issued.rt, issued.assertion, u))
    report = ims_validate(validator, str(png), "awa.diallo@example.org")
    assert report["report"]["valid"], _errors(report)
    # it read the assertion out of the picture and followed it to the hosted copy
    assert report["report"]["validationSubject"] == u.assertion(issued.assertion)


def test_the_ims_validator_sees_a_revoked_badge(issued, served, validator) -> None:
    _, u = served
    badges.revoke(
        issued.rt, issued.assertion, "Délivré par erreur", by=actor(issued.rt, DIRECTRICE)
    )
    report = ims_validate(validator, u.assertion(issued.assertion))
    # 410 Gone with the spec's short body {id, revoked, revocationReason}: the 1.1.2 validator
    # does not read `revoked` on hosted badges, but it no longer finds a badge to accept
    assert not report["report"]["valid"]
    assert any("recipient not present" in e for e in _errors(report)), _errors(report)


def test_the_endorsement_passes_the_ims_validator(issued, served, validator) -> None:
    _, u = served
    eid = endorsements.endorse(
        issued.rt, "adie", "issuer", "sato", "Partenaire de la démarche", by=actor(issued.rt, ADIE)
    )
    report = ims_validate(validator, u.endorsement(eid))
    assert report["report"]["valid"], _errors(report)
    assert report["graph"][0]["type"] == "Endorsement"
