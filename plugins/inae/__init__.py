"""INAÉ Nouvelle-Aquitaine (PEPITES): a catalogue of transversal-skill badges in parcours,
requests evaluated by attribution committees (internal, or crossed with other SIAE) or by INAÉ
after an agreement with the structure, and an auto-validated support badge."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from engine import (
    BadgeClassSpec,
    CommitteeRule,
    NetworkSpec,
    ObfConnector,
    Role,
    hookimpl,
    load_catalogue,
)

if TYPE_CHECKING:
    from engine import DemoContext


@hookimpl
def parcours_networks() -> list[NetworkSpec]:
    return [
        NetworkSpec(
            slug="inae",
            name="INAÉ Nouvelle-Aquitaine",
            url="https://www.inae-nouvelleaquitaine.org",
            email="contact@inae-nouvelleaquitaine.org",
            colours=("#6a2c70", "#f9a825"),
        )
    ]


@hookimpl
def parcours_badge_catalogue() -> list[BadgeClassSpec]:
    return load_catalogue(Path(__file__).parent / "catalogue.yaml")


_STAFF = [Role.CIP, Role.ENCADRANT, Role.DIRECTEUR]


@hookimpl
def parcours_committee_rules() -> dict[str, CommitteeRule]:
    """Step 4 of INAÉ's process: an attribution committee internal to the SIAE, or crossed with
    other SIAE, whose members never vote on their own structure's participants."""
    return {
        "inae.interne": CommitteeRule(
            title="Comité d'attribution interne", quorum=2, member_roles=_STAFF
        ),
        "inae.croise": CommitteeRule(
            title="Comité d'attribution croisé entre SIAE",
            crossed=True,
            quorum=3,
            min_structures=2,
            member_roles=[*_STAFF, Role.NETWORK_ADMIN],
        ),
    }


@hookimpl
def parcours_passport_connectors() -> dict[str, ObfConnector]:
    """Step 2 of INAÉ's process: participants keep their badges in Open Badge Passport. INAÉ's
    badges are mirrored in its Open Badge Factory account (ids in obf.yaml, examples to
    replace); issuing there e-mails the participant, who accepts the badge into Passport."""
    return {
        "open_badge_passport": ObfConnector.from_file(
            Path(__file__).parent / "obf.yaml",
            name="open_badge_passport",
            network="inae",
            email_subject="Votre badge INAÉ vous attend dans Open Badge Passport",
            email_body=(
                "Bonjour,\n\nvotre structure d'insertion vous a délivré un Open Badge "
                "d'INAÉ. Acceptez-le dans votre compte Open Badge Passport (gratuit, sans "
                "exploitation commerciale de vos données) pour le montrer aux employeurs."
            ),
            email_link_text="Recevoir mon badge",
        )
    }


@hookimpl
def parcours_demo(demo: DemoContext) -> list[int]:
    from plugins.inae.demo import play

    return play(demo)
