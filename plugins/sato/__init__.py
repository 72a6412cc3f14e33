"""SATO (Brest). The network (its partners, catalogue, validation commission and Open Badge
Factory connector) is data: `networks/sato.yaml`, with its pathways in `workflows/`. This
plugin holds what needs code: the EiTi gate check shared with ADIE/BGE, and the demo story."""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine import GateCheck, GateContext, hookimpl

if TYPE_CHECKING:
    from engine import DemoContext


def _met_adie_or_bge(ctx: GateContext) -> str | None:
    """EiTi phases are shared with ADIE/BGE: one follow-up meeting with either is required."""
    if ctx.evidence & {"rdv-adie", "rdv-bge"}:
        return None
    return "au moins un rendez-vous de suivi avec l'ADIE ou la BGE (pièce rdv-adie ou rdv-bge)"


@hookimpl
def parcours_gate_checks() -> dict[str, GateCheck]:
    return {"sato.rdv_adie_bge": _met_adie_or_bge}


@hookimpl
def parcours_demo(demo: DemoContext) -> list[int]:
    from plugins.sato.demo import play

    return play(demo)
