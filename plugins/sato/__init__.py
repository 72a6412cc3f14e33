"""SATO (Brest): women-into-metallurgy pathway with the GEIQ, EiTi phase gates with ADIE/BGE."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from engine import (
    BadgeClassSpec,
    CommitteeRule,
    GateCheck,
    GateContext,
    NetworkSpec,
    ObfConnector,
    Role,
    hookimpl,
    load_catalogue,
)

if TYPE_CHECKING:
    from engine import DemoContext

HERE = Path(__file__).parent


@hookimpl
def parcours_networks() -> list[NetworkSpec]:
    return [
        NetworkSpec(
            slug="sato",
            name="SATO Brest",
            url="https://www.sato-brest.fr",
            colours=("#00587c", "#f39200"),
        ),
        NetworkSpec(slug="geiq-industrie", name="GEIQ industrie Bretagne", kind="partner"),
        NetworkSpec(slug="adie", name="ADIE", kind="partner", url="https://www.adie.org"),
        NetworkSpec(slug="bge", name="BGE Bretagne", kind="partner"),
    ]


@hookimpl
def parcours_badge_catalogue() -> list[BadgeClassSpec]:
    return load_catalogue(HERE / "catalogue.yaml")


def _met_adie_or_bge(ctx: GateContext) -> str | None:
    """EiTi phases are shared with ADIE/BGE: one follow-up meeting with either is required."""
    if ctx.evidence & {"rdv-adie", "rdv-bge"}:
        return None
    return "au moins un rendez-vous de suivi avec l'ADIE ou la BGE (pièce rdv-adie ou rdv-bge)"


@hookimpl
def parcours_gate_checks() -> dict[str, GateCheck]:
    return {"sato.rdv_adie_bge": _met_adie_or_bge}


@hookimpl
def parcours_committee_rules() -> dict[str, CommitteeRule]:
    """The steps that need a committee (the contract with the GEIQ, the EiTi's autonomy) are
    decided by the structure's validation commission: two of its team agree, by majority."""
    return {
        "sato.validation": CommitteeRule(
            title="Commission de validation de la structure",
            quorum=2,
            member_roles=[Role.CIP, Role.ENCADRANT, Role.DIRECTEUR],
        )
    }


@hookimpl
def parcours_demo(demo: DemoContext) -> list[int]:
    from plugins.sato.demo import play

    return play(demo)


@hookimpl
def parcours_passport_connectors() -> dict[str, ObfConnector]:
    """SATO's digital workshop manages its badges on Open Badge Factory (seed, project E): the
    stage badges Parcours issues are issued there too, for the person's e-mail."""
    return {
        "open_badge_factory": ObfConnector.from_file(
            HERE / "obf.yaml",
            name="open_badge_factory",
            network="sato",
            email_subject="SATO : un nouveau badge pour votre parcours",
            email_body=(
                "Bonjour,\n\nune étape de votre parcours avec SATO est validée : votre badge "
                "vous attend. Ajoutez-le à votre sac à badges pour le montrer aux employeurs."
            ),
        )
    }
