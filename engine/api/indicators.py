"""API: a structure's, a pathway's or a network's figures (issue 20).

Each answers the same tables as the pages and exports: `{"title", "period", "masked",
"headline": [{"label", "value"}], "tables": [{"key", "title", "columns", "rows": [{"label",
"values", "total"}]}]}`. A count is a number, or the text « < 5 » / « masqué » when it is
hidden; a duration or a rate is a number, null when there is nothing to measure, or
« masqué »."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from engine.api import auth
from engine.api.params import SlugPath, line, performs
from engine.services import indicators
from engine.services.access import Action, Actor
from engine.services.indicators import Indicators, Period, Subject

router = APIRouter(prefix="/api/v1")

Staff = Annotated[Actor, Depends(auth.staff)]
From = Annotated[
    line(10) | None,
    Query(alias="from", description="Premier jour, AAAA-MM-JJ (défaut : il y a un an)"),
]
To = Annotated[
    line(10) | None,
    Query(alias="to", description="Dernier jour, AAAA-MM-JJ (défaut : aujourd'hui)"),
]
Hide = Annotated[
    bool, Query(description="Masquer aussi pour l'équipe de la structure les effectifs < 5")
]
READ = performs(Action.INDICATORS_READ)


def as_json(ind: Indicators) -> dict[str, Any]:
    def value(v: Any) -> Any:
        return v.export() if hasattr(v, "export") else v

    return {
        "scope": {"kind": ind.kind, "id": ind.ref, "title": ind.title, "note": ind.scope_note},
        "period": {"from": ind.period.start, "to": ind.period.end},
        "generated_at": ind.generated_at,
        "masked": ind.masked,
        "headline": [{"label": label, "value": value(v)} for label, v in ind.headline],
        "tables": [
            {
                "key": t.key,
                "title": t.title,
                "columns": list(t.columns),
                "rows": [
                    {"label": r.label, "values": [value(v) for v in r.values], "total": r.total}
                    for r in t.rows
                ],
                "note": t.note,
            }
            for t in ind.tables
        ],
    }


def _answer(
    request: Request, who: Actor, kind: indicators.SubjectKind, ref: str, start, end, hide
) -> dict[str, Any]:
    period = Period.parse(start, end)
    rt = request.app.state.rt
    return as_json(indicators.compute(rt, who, Subject(kind, ref), period, hide_small=hide))


@router.get(
    "/indicators/structures/{slug}",
    tags=["Indicateurs"],
    summary="Indicateurs d'une structure",
    openapi_extra=READ,
)
def structure_indicators(
    request: Request,
    who: Staff,
    slug: SlugPath,
    start: From = None,
    end: To = None,
    hide_small: Hide = False,
) -> dict[str, Any]:
    """Its director sees exact figures; a network admin sees counts under 5 as « < 5 »."""
    return _answer(request, who, "structure", slug, start, end, hide_small)


@router.get(
    "/indicators/networks/{network}",
    tags=["Indicateurs"],
    summary="Indicateurs d'un réseau, par structure",
    openapi_extra=READ,
)
def network_indicators(
    request: Request,
    who: Staff,
    network: SlugPath,
    start: From = None,
    end: To = None,
    hide_small: Hide = False,
) -> dict[str, Any]:
    """The network's admins; counts under 5 of a structure they are not on the team of are
    « < 5 », and cells that would let one recompute them are « masqué »."""
    return _answer(request, who, "network", network, start, end, hide_small)


@router.get(
    "/indicators/pathways/{pathway_id}",
    tags=["Indicateurs"],
    summary="Indicateurs d'un parcours",
    openapi_extra=READ,
)
def pathway_indicators(
    request: Request,
    who: Staff,
    pathway_id: SlugPath,
    start: From = None,
    end: To = None,
    hide_small: Hide = False,
) -> dict[str, Any]:
    """The network's admins (every structure), or a director (the structures they direct)."""
    return _answer(request, who, "pathway", pathway_id, start, end, hide_small)
