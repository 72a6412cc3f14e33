"""Pages: the figures with their charts and exports (issue 20).

`/indicateurs` lists what one may open; `/indicateurs/structure/{slug}`,
`/indicateurs/reseau/{network}` and `/indicateurs/parcours/{pathway_id}` show one scope's
figures over a period chosen by a GET form (`du`, `au`, `masquer`), so a page can be
bookmarked; `…/export.csv` and `…/export.xlsx` download the same figures. The service decides
who may see what and which counts are hidden; these only translate."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from engine.api.indicator_charts import chart
from engine.api.pages import _page, _rt, _who
from engine.api.params import SlugPath, line, performs
from engine.errors import InvalidInput
from engine.services import indicator_exports, indicators
from engine.services.access import Action
from engine.services.indicators import Period, Subject

router = APIRouter(include_in_schema=False)

DayText = Annotated[line(10) | None, Query(description="Date AAAA-MM-JJ")]
Flag = Annotated[line(3) | None, Query()]
KINDS: dict[str, indicators.SubjectKind] = {
    "structure": "structure",
    "reseau": "network",
    "parcours": "pathway",
}
READ = performs(Action.INDICATORS_READ)


@router.get("/indicateurs", response_class=HTMLResponse, openapi_extra=READ)
def indicators_home(request: Request) -> HTMLResponse:
    """What the signed-in person may read: their networks, structures and pathways."""
    who = _who(request, "staff")
    found = indicators.readable(_rt(request), who)
    return _page(request, "indicators_home.html", who, found=found)


def _show(
    request: Request, path: str, ref: str, du: str | None, au: str | None, masquer: str | None
):
    who = _who(request, "staff")
    kind = KINDS[path]
    hide = bool(masquer)
    try:
        period = Period.parse(du, au)
    except InvalidInput as exc:
        period, error = Period.parse(None, None), str(exc)
    else:
        error = None
    found = indicators.compute(_rt(request), who, Subject(kind, ref), period, hide_small=hide)
    charts = {t.key: chart(t) for t in found.tables}
    base = f"/indicateurs/{path}/{ref}"
    query = f"du={period.start}&au={period.end}" + ("&masquer=1" if hide else "")
    return _page(
        request,
        "indicators.html",
        who,
        status=422 if error else 200,
        ind=found,
        charts=charts,
        error=error,
        form={"du": du or str(period.start), "au": au or str(period.end), "masquer": hide},
        action=base,
        csv_url=f"{base}/export.csv?{query}",
        xlsx_url=f"{base}/export.xlsx?{query}",
    )


@router.get("/indicateurs/{path}/{ref}/export.{fmt}", openapi_extra=READ)
async def export(
    request: Request,
    path: Literal["structure", "reseau", "parcours"],
    ref: SlugPath,
    fmt: Literal["csv", "xlsx"],
    du: DayText = None,
    au: DayText = None,
    masquer: Flag = None,
) -> Response:
    """A structure's, network's or pathway's figures as CSV or XLSX, for a funder's report."""
    who = _who(request, "staff")
    period = Period.parse(du, au)

    def build() -> tuple[bytes, str]:
        found = indicators.compute(
            _rt(request), who, Subject(KINDS[path], ref), period, hide_small=bool(masquer)
        )
        if fmt == "csv":
            return indicator_exports.to_csv(found), indicator_exports.filename(found, "csv")
        return indicator_exports.to_xlsx(found), indicator_exports.filename(found, "xlsx")

    body, name = await run_in_threadpool(build)
    media = indicator_exports.CSV_TYPE if fmt == "csv" else indicator_exports.XLSX_TYPE
    return Response(
        body,
        media_type=media,
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/indicateurs/structure/{slug}", response_class=HTMLResponse, openapi_extra=READ)
def structure_page(
    request: Request, slug: SlugPath, du: DayText = None, au: DayText = None, masquer: Flag = None
) -> HTMLResponse:
    """A structure's figures: its director, or an admin of one of its networks."""
    return _show(request, "structure", slug, du, au, masquer)


@router.get("/indicateurs/reseau/{network}", response_class=HTMLResponse, openapi_extra=READ)
def network_page(
    request: Request,
    network: SlugPath,
    du: DayText = None,
    au: DayText = None,
    masquer: Flag = None,
) -> HTMLResponse:
    """A network's figures, broken down by structure: its admins."""
    return _show(request, "reseau", network, du, au, masquer)


@router.get("/indicateurs/parcours/{pathway_id}", response_class=HTMLResponse, openapi_extra=READ)
def pathway_page(
    request: Request,
    pathway_id: SlugPath,
    du: DayText = None,
    au: DayText = None,
    masquer: Flag = None,
) -> HTMLResponse:
    """A pathway's figures: its network's admins (every structure), or a director (theirs)."""
    return _show(request, "parcours", pathway_id, du, au, masquer)
