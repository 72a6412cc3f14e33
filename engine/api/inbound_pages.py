"""The network admins' page of partner platforms (/reseau/<réseau>/evenements-entrants): the
sources the network file declares, their secrets (made or renewed here, shown once), and the
events received, those that matched no enrollment first."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from engine.api.pages import Csrf, _page, _rt, _staff_form, _who
from engine.api.params import SlugPath, performs
from engine.inbound.signature import HEADER
from engine.services import inbound, inbound_views
from engine.services.access import Action, Actor

router = APIRouter(include_in_schema=False)
Status = Literal["unmatched", "applied", "noted", "ignored"]


def _inbound_page(
    request: Request,
    who: Actor,
    network: str,
    statut: Status = "unmatched",
    secret: tuple[str, str] | None = None,
) -> HTMLResponse:
    rt = _rt(request)
    sources = inbound_views.sources(rt, network, by=who)
    rows = inbound_views.events(rt, network, by=who, status=statut)
    page = _page(
        request,
        "inbound.html",
        who,
        network=network,
        sources=sources,
        rows=rows,
        statut=statut,
        labels=inbound.STATUS_LABELS,
        secret=secret,
        header=HEADER,
    )
    page.headers["Cache-Control"] = "no-store"  # a new secret is on it once
    return page


@router.get(
    "/reseau/{network}/evenements-entrants",
    response_class=HTMLResponse,
    openapi_extra=performs(Action.INBOUND_MANAGE),
)
def inbound_page(
    request: Request,
    network: SlugPath,
    statut: Annotated[Status, Query()] = "unmatched",
) -> HTMLResponse:
    return _inbound_page(request, _who(request, "staff"), network, statut)


@router.post(
    "/reseau/{network}/evenements-entrants/{source}/secret",
    response_class=HTMLResponse,
    openapi_extra=performs(Action.INBOUND_MANAGE),
)
def new_secret(request: Request, network: SlugPath, source: SlugPath, csrf: Csrf) -> HTMLResponse:
    """The secret is shown on the answer itself, never in an address or a cookie."""
    who = _staff_form(request, csrf)
    secret = inbound.issue_secret(_rt(request), network, source, by=who)
    return _inbound_page(request, who, network, secret=(source, secret))
