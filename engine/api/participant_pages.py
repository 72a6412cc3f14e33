"""What a participant (through their link) and a supporter see: their own page, their
badges, a wallet offer, a recommendation request."""

from __future__ import annotations

from typing import Annotated, Any

import segno
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from engine.api import auth
from engine.api.pages import Csrf, ShortForm, _go, _home_of, _page, _rt, _who
from engine.api.params import (
    Email,
    TokenPath,
    performs,
)
from engine.errors import ParcoursError
from engine.services import (
    accounts,
    badges,
    dashboard,
    endorsements,
    request_views,
    wallet,
)
from engine.services import enrollment_views as ev
from engine.services.access import Action, Actor

router = APIRouter(include_in_schema=False)


@router.get(
    "/lien/{token}", response_class=HTMLResponse, openapi_extra=performs(Action.PUBLIC_READ)
)
def link_landing(request: Request, token: TokenPath) -> HTMLResponse:
    # a button, not an automatic login: mail scanners that open links must not burn them
    return _page(request, "link.html", None, token=token)


@router.post("/lien/{token}", openapi_extra=performs(Action.PUBLIC_READ))
def link_use(request: Request, token: TokenPath) -> Response:
    auth.check_same_origin(request)
    address = auth.client_address(request)
    try:
        session_token = accounts.open_link(_rt(request), token, address=address)
    except accounts.TooManyAttempts:
        raise  # a 429, said by the app
    except ParcoursError as exc:
        return _page(request, "message.html", None, 410, title="Lien expiré", text=str(exc))
    who = accounts.from_session(_rt(request), session_token)
    response = _go(_home_of(who) if who else "/moi")
    auth.set_session_cookie(request, response, session_token)
    return response


@router.get(
    "/mes-donnees",
    response_class=HTMLResponse,
    openapi_extra=performs(Action.PERSONAL_DATA_EXPORT),
)
def supporter_page(request: Request) -> HTMLResponse:
    """A supporter of the public form: their badges, their data to download or erase."""
    who = _who(request, "supporter")
    return _page(request, "supporter.html", who, badges=badges.own_badges(_rt(request), by=who))


@router.get("/moi", response_class=HTMLResponse, openapi_extra=performs(Action.ENROLLMENT_READ))
def my_page(request: Request) -> HTMLResponse:
    return _my_page(request, _who(request, "participant"))


@router.post(
    "/moi/portefeuille", response_class=HTMLResponse, openapi_extra=performs(Action.WALLET_OFFER)
)
def my_wallet_offer(request: Request, csrf: Csrf = "", badge: ShortForm = "") -> HTMLResponse:
    """The participant's page with a credential offer (all their badges, or `badge`) to scan
    with their wallet (OpenID for Verifiable Credential Issuance)."""
    who = _who(request, "participant")
    auth.check_form_csrf(who, csrf)
    try:
        offer = wallet.create_offer(
            _rt(request),
            who.person_id,  # type: ignore[arg-type]
            request.app.state.urls,
            by=who,
            assertion_id=badge or None,
        )
    except ParcoursError as exc:
        return _my_page(request, who, wallet_error=str(exc))
    qr = segno.make(offer.uri, error="l").svg_data_uri(scale=4, border=2)
    return _my_page(request, who, offer=offer, offer_qr=qr)


def _my_page(request: Request, who: Actor, **extra: Any) -> HTMLResponse:
    rt = _rt(request)
    mine = dashboard.enrollments(rt, who, per_page=100).items
    parcours = [
        (
            row,
            ev.status(rt, row.id, by=who),
            ev.history(rt, row.id, by=who),
            badges.badges_of(rt, row.id, by=who),
        )
        for row in mine
    ]
    return _page(
        request,
        "me.html",
        who,
        parcours=parcours,
        asked=request_views.listing(rt, who, status=None, per_page=50).items,
        requestable=request_views.requestable(rt, who.person_id, by=who),
        done=None,
        error=None,
        clr=_clr_ids(rt, [row.id for row in mine]),
        **extra,
    )


def _clr_ids(rt, enrollment_ids: list[int]) -> dict[int, str]:
    """The public id of each enrollment: the address of its CLR (the whole parcours)."""
    from sqlalchemy import select

    from engine.store.tables import Enrollment

    if not enrollment_ids:
        return {}
    with rt.reading() as conn:
        rows = conn.execute(
            select(Enrollment.id, Enrollment.public_id).where(Enrollment.id.in_(enrollment_ids))
        ).all()
    return {eid: public_id for eid, public_id in rows if public_id}


@router.post(
    "/moi/recommandations",
    response_class=HTMLResponse,
    openapi_extra=performs(Action.RECOMMENDATION_ASK),
)
def ask_recommendation(
    request: Request,
    csrf: Csrf = "",
    badge: ShortForm = "",
    entreprise: ShortForm = "",
    email: Annotated[Email, Form()] = "",
) -> Response:
    who = _who(request, "participant")
    auth.check_form_csrf(who, csrf)
    endorsements.request_recommendation(
        _rt(request), badge, entreprise, email, request.app.state.urls, by=who
    )
    return _page(
        request,
        "message.html",
        who,
        title="Demande envoyée",
        text=f"L'entreprise recevra un lien à l'adresse {email} pour recommander votre badge.",
        link="/moi",
    )
