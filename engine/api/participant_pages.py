"""What a participant (through their link) and a supporter see: their own page, their
badges, a wallet offer, a recommendation request."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import segno
from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from engine import history
from engine.api import auth
from engine.api.pages import Csrf, ShortForm, _go, _home_of, _page, _rt, _who
from engine.api.params import (
    AssertionId,
    Email,
    Name,
    Title,
    TokenPath,
    performs,
)
from engine.errors import Conflict, InvalidInput, NotFound, ParcoursError
from engine.services import (
    accounts,
    badges,
    dashboard,
    endorsements,
    links,
    participant_links,
    request_views,
    wallet,
)
from engine.services import enrollment_views as ev
from engine.services.access import Action, Actor
from engine.store.tables import utcnow

router = APIRouter(include_in_schema=False)


@router.get(
    "/lien/{token}", response_class=HTMLResponse, openapi_extra=performs(Action.PUBLIC_READ)
)
def link_landing(request: Request, token: TokenPath) -> HTMLResponse:
    # a button, not an automatic login: mail scanners that open links must not burn them
    return _page(request, "link.html", None, token=token)


@router.post("/lien/{token}", openapi_extra=performs(Action.PUBLIC_READ))
def link_use(
    request: Request,
    token: TokenPath,
    rester: Annotated[str, Form(max_length=3)] = "",
) -> Response:
    """« Rester connecté sur ce téléphone » ticked: a long, sliding session and a cookie that
    outlives the browser; else a cookie that ends with the browser (shared computers)."""
    auth.check_same_origin(request)
    address = auth.client_address(request)
    remember = rester == "oui"
    try:
        session_token = accounts.open_link(_rt(request), token, address=address, remember=remember)
    except accounts.TooManyAttempts:
        raise  # a 429, said by the app
    except ParcoursError as exc:
        return _page(request, "link_expired.html", None, 410, expired=str(exc), contact="")
    who = accounts.from_session(_rt(request), session_token)
    response = _go(_home_of(who) if who else "/moi")
    days = links.LONG_SESSION_DAYS if remember else None
    auth.set_session_cookie(request, response, session_token, days)
    return response


@router.get(
    "/nouveau-lien", response_class=HTMLResponse, openapi_extra=performs(Action.PUBLIC_READ)
)
def new_link_form(request: Request) -> HTMLResponse:
    """A participant whose link no longer works asks for another one themselves."""
    return _page(request, "link_expired.html", None, expired=None, contact="")


@router.post(
    "/nouveau-lien", response_class=HTMLResponse, openapi_extra=performs(Action.PUBLIC_READ)
)
def new_link(request: Request, contact: Annotated[Email, Form()] = "") -> Response:
    auth.check_same_origin(request)
    try:
        participant_links.request_link(
            _rt(request),
            contact,
            by=Actor.anonymous(),
            address=auth.client_address(request),
        )
    except accounts.TooManyAttempts as exc:
        refused = _page(
            request, "link_expired.html", None, 429, expired=None, error=str(exc), contact=contact
        )
        refused.headers["Retry-After"] = str(exc.retry_after)
        return refused
    except InvalidInput as exc:
        return _page(
            request, "link_expired.html", None, 422, expired=None, error=str(exc), contact=contact
        )
    return _go("/nouveau-lien/demande")


@router.get(
    "/nouveau-lien/demande",
    response_class=HTMLResponse,
    openapi_extra=performs(Action.PUBLIC_READ),
)
def new_link_asked(request: Request) -> HTMLResponse:
    # the same words whether or not the contact matched anyone: the form tells nothing
    return _page(
        request,
        "link_expired.html",
        None,
        expired=None,
        asked=True,
        contact="",
        days=links.LINK_DAYS,
    )


@router.post("/moi/deconnexion-partout", openapi_extra=performs(Action.PUBLIC_READ))
def logout_everywhere(request: Request, csrf: Csrf = "") -> Response:
    """Every session of the person ends: this phone, a forgotten shared computer, a lost one."""
    who = _who(request)
    auth.check_form_csrf(who, csrf)
    accounts.logout(_rt(request), request.cookies.get(auth.COOKIE, ""), everywhere=True)
    response = _go("/au-revoir")
    response.delete_cookie(auth.COOKIE, path="/")
    return response


@router.get("/au-revoir", response_class=HTMLResponse, openapi_extra=performs(Action.PUBLIC_READ))
def signed_out(request: Request) -> HTMLResponse:
    return _page(
        request,
        "message.html",
        None,
        title="Vous êtes déconnecté de tous les appareils",
        text="Pour revenir dans votre espace, demandez un nouveau lien.",
        link="/nouveau-lien",
    )


@router.get(
    "/mes-donnees",
    response_class=HTMLResponse,
    openapi_extra=performs(Action.PERSONAL_DATA_EXPORT),
)
def supporter_page(request: Request) -> HTMLResponse:
    """A supporter of the public form: their badges, their data to download or erase."""
    who = _who(request, "supporter")
    rt = _rt(request)
    held = badges.own_badges(rt, by=who)
    return _kept_alive(
        request,
        _page(
            request,
            "supporter.html",
            who,
            badges=held,
            facts=_badge_facts(rt, held),
            now=utcnow(),
        ),
    )


@router.get("/moi", response_class=HTMLResponse, openapi_extra=performs(Action.ENROLLMENT_READ))
def my_page(request: Request) -> HTMLResponse:
    return _kept_alive(request, _my_page(request, _who(request, "participant")))


def _kept_alive(request: Request, response: Response) -> Response:
    """A remembered session slides on each visit to one's own page, and its cookie with it."""
    token = request.cookies.get(auth.COOKIE, "")
    days = links.keep_alive(_rt(request), token) if token else None
    if days is not None:
        auth.set_session_cookie(request, response, token, days)
    return response


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
    parcours = []
    earned: list[tuple[str, str, bool]] = []
    for row in mine:
        held = badges.badges_of(rt, row.id, by=who)
        earned += held
        # what they did on the parcours; not their own requests for a link
        done = [
            h
            for h in ev.history(rt, row.id, by=who)
            if h.kind in history.LABELS and h.kind not in _OWN
        ]
        parcours.append((row, ev.status(rt, row.id, by=who), done, held))
    clr, stages = _enrollment_facts(rt, [row.id for row in mine])
    return _page(
        request,
        "me.html",
        who,
        parcours=parcours,
        asked=request_views.listing(rt, who, status=None, per_page=50).items,
        requestable=request_views.requestable(rt, who.person_id, by=who),
        done=None,
        error=None,
        clr=clr,
        stages=stages,
        facts=_badge_facts(rt, earned),
        now=utcnow(),
        **extra,
    )


_OWN = {participant_links.EVENT}


def _enrollment_facts(
    rt, enrollment_ids: list[int]
) -> tuple[dict[int, str], dict[int, dict[str, str]]]:
    """For enrollments already read with their owner's rights: the public id of each (the
    address of its CLR, the whole parcours) and the titles of its pathway's stages."""
    from sqlalchemy import select

    from engine.store.tables import Enrollment

    if not enrollment_ids:
        return {}, {}
    with rt.reading() as conn:
        rows = conn.execute(
            select(Enrollment.id, Enrollment.public_id, Enrollment.pathway_version_id).where(
                Enrollment.id.in_(enrollment_ids)
            )
        ).all()
        stages = {
            eid: {s.id: s.title for s in rt.pathway(conn, version).stages}
            for eid, _, version in rows
        }
    return {eid: public_id for eid, public_id, _ in rows if public_id}, stages


@dataclass(frozen=True)
class BadgeFacts:
    """What the holder's own page shows of a badge besides its name: its picture, the
    issuer and dates its LinkedIn link needs."""

    slug: str
    version: int
    issuer: str
    issued_on: datetime
    expires: datetime | None


def _badge_facts(rt, held: list[tuple[str, str, bool]]) -> dict[str, BadgeFacts]:
    """For badges already read with their holder's rights, in one query."""
    from sqlalchemy import select

    from engine.store.tables import Assertion, BadgeClass, Organisation, as_utc

    ids = [aid for aid, _, _ in held]
    if not ids:
        return {}
    with rt.reading() as conn:
        rows = conn.execute(
            select(
                Assertion.id,
                BadgeClass.slug,
                BadgeClass.version,
                Organisation.name,
                Assertion.issued_on,
                Assertion.expires,
            )
            .join(BadgeClass, BadgeClass.id == Assertion.badge_class_id)
            .outerjoin(Organisation, Organisation.id == Assertion.issuer_id)
            .where(Assertion.id.in_(ids))
        ).all()
    return {
        aid: BadgeFacts(
            slug, version, issuer or "", as_utc(issued), as_utc(expires) if expires else None
        )
        for aid, slug, version, issuer, issued, expires in rows
    }


def _own_badge(request: Request, who: Actor, assertion_id: str) -> tuple[str, str, bool]:
    for held in badges.own_badges(_rt(request), by=who):
        if held[0] == assertion_id:
            return held
    raise NotFound("badge introuvable parmi les vôtres")


@router.get(
    "/moi/badges/{assertion_id}/recommandation",
    response_class=HTMLResponse,
    openapi_extra=performs(Action.RECOMMENDATION_ASK),
)
def recommendation_form(
    request: Request,
    assertion_id: AssertionId,
    nom: Annotated[Title, Query()] = "",
) -> HTMLResponse:
    """Ask a company to recommend a badge: find it by name among the partners of one's
    networks (a GET search, no JavaScript needed), or invite one by e-mail."""
    who = _who(request, "participant")
    return _recommendation_page(request, who, assertion_id, nom, {})


def _recommendation_page(
    request: Request,
    who: Actor,
    assertion_id: str,
    searched: str,
    values: dict[str, str],
    status: int = 200,
    error: str | None = None,
) -> HTMLResponse:
    rt = _rt(request)
    held = _own_badge(request, who, assertion_id)
    search = endorsements.search_companies
    found = search(rt, who.person_id, searched, by=who) if searched.strip() else []  # type: ignore[arg-type]
    return _page(
        request,
        "recommend_ask.html",
        who,
        status,
        badge=held,
        searched=searched,
        found=found,
        known=search(rt, who.person_id, "", by=who, limit=200),  # type: ignore[arg-type]
        values=values,
        error=error,
    )


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
    nom_entreprise: Annotated[Title, Form()] = "",
    email: Annotated[Email, Form()] = "",
    nom: Annotated[Name, Form()] = "",
) -> Response:
    """`entreprise`: a partner chosen from the search; `nom_entreprise`: a company to invite."""
    who = _who(request, "participant")
    auth.check_form_csrf(who, csrf)
    try:
        endorsements.request_recommendation(
            _rt(request),
            badge,
            entreprise,
            email,
            request.app.state.urls,
            by=who,
            company_name=nom_entreprise,
        )
    except (InvalidInput, Conflict, NotFound) as exc:
        values = {"entreprise": entreprise, "nom_entreprise": nom_entreprise, "email": email}
        return _recommendation_page(request, who, badge, nom, values, 422, str(exc))
    return _go("/moi/recommandations/envoyee")


@router.get(
    "/moi/recommandations/envoyee",
    response_class=HTMLResponse,
    openapi_extra=performs(Action.RECOMMENDATION_ASK),
)
def recommendation_asked(request: Request) -> HTMLResponse:
    who = _who(request, "participant")
    return _page(
        request,
        "message.html",
        who,
        title="Demande envoyée",
        text="L'entreprise va recevoir un e-mail avec un lien pour recommander votre badge. "
        "Sa recommandation apparaîtra sur la page publique du badge.",
        link="/moi",
    )
