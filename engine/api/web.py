"""The French web app, server-rendered: staff log in, enroll and advance participants; a
participant reaches their own page through a link, without a password."""

from __future__ import annotations

import inspect
from typing import Annotated, Any

import segno
from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from engine import uploads
from engine.api import auth
from engine.api.params import (
    BadgeId,
    Email,
    Name,
    Note,
    PageNo,
    RowId,
    SlugPath,
    Token,
    TokenPath,
    performs,
)
from engine.api.templating import templates
from engine.errors import Forbidden, InvalidInput, ParcoursError, Unauthenticated
from engine.pathways import diagram
from engine.services import (
    access,
    accounts,
    badges,
    committees,
    dashboard,
    endorsements,
    privacy,
    request_views,
    shares,
    wallet,
)
from engine.services import enrollment_views as ev
from engine.services import enrollments as e
from engine.services.access import Action, Actor
from engine.services.pathways import latest_version, list_versions

router = APIRouter(include_in_schema=False)
Text = Annotated[Note, Form()]
Csrf = Annotated[Token, Form()]
ShortForm = Annotated[BadgeId, Form()]
"""An identifier in a form: a badge, a pathway, a structure, a trigger, a role."""

EVENTS = {
    "enrolled": "Entrée dans le parcours",
    "transition": "Passage d'étape",
    "evidence": "Pièce justificative",
    "badge_issued": "Badge délivré",
    "badge_revoked": "Badge révoqué",
    "badge_requested": "Demande de badge",
    "badge_review": "Avis sur une demande de badge",
    "badge_request_decided": "Décision sur une demande de badge",
    "badge_request_withdrawn": "Demande de badge retirée",
    "committee_decision": "Décision de comité",
    "migration": "Changement de version",
    "erased": "Données effacées",
}


def _rt(request: Request):
    return request.app.state.rt


def _who(request: Request, kind: str | None = None) -> Actor:
    principal = auth.current(request)
    if principal is None:
        raise Unauthenticated("connectez-vous pour continuer")
    if kind and principal.kind != kind:
        raise Forbidden("cette page n'est pas pour votre profil")
    return principal


def _page(request: Request, name: str, who: Actor | None, status: int = 200, **ctx: Any):
    can: frozenset[str] = frozenset()
    if who is not None:
        with _rt(request).reading() as conn:
            can = frozenset(a.value for a in access.capabilities(conn, who))
    ctx.update(who=who, u=request.app.state.urls, events=EVENTS, can=can)
    return templates.TemplateResponse(request, name, ctx, status_code=status)


def _go(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


@router.get("/", openapi_extra=performs(Action.PUBLIC_READ))
def home(request: Request) -> Response:
    who = auth.current(request)
    if who is None:
        return _go("/connexion")
    return _go(_home_of(who))


@router.get("/connexion", response_class=HTMLResponse, openapi_extra=performs(Action.PUBLIC_READ))
def login_form(request: Request) -> HTMLResponse:
    return _page(request, "login.html", None, error=None, email="")


@router.post("/connexion", response_class=HTMLResponse, openapi_extra=performs(Action.PUBLIC_READ))
def login(
    request: Request,
    email: Annotated[Email, Form()] = "",
    password: Annotated[str, Form(max_length=accounts.MAX_PASSWORD)] = "",
) -> Response:
    auth.check_same_origin(request)
    address = auth.client_address(request)
    try:
        token = accounts.login(_rt(request), email, password, address=address)
    except accounts.TooManyAttempts as exc:
        refused = _page(request, "login.html", None, 429, error=str(exc), email=email)
        refused.headers["Retry-After"] = str(exc.retry_after)
        return refused
    except ParcoursError as exc:
        return _page(request, "login.html", None, 401, error=str(exc), email=email)
    response = _go("/tableau-de-bord")
    auth.set_session_cookie(request, response, token)
    return response


@router.post("/deconnexion", openapi_extra=performs(Action.PUBLIC_READ))
def logout(request: Request, csrf: Csrf = "") -> Response:
    who = _who(request)
    auth.check_form_csrf(who, csrf)
    accounts.logout(_rt(request), request.cookies.get(auth.COOKIE, ""))
    response = _go("/connexion")
    response.delete_cookie(auth.COOKIE, path="/")
    return response


@router.get(
    "/tableau-de-bord", response_class=HTMLResponse, openapi_extra=performs(Action.ENROLLMENT_READ)
)
def board(request: Request, page: PageNo = 1) -> Response:
    who = _who(request, "staff")
    rt = _rt(request)
    listing = dashboard.enrollments(rt, who, page=max(page, 1), per_page=20)
    rows = []
    for row in listing.items:
        st = ev.status(rt, row.id, by=who) if row.status == "active" else None
        blocking = []
        if st:
            for step in st.next_steps:
                blocking += [c.text for c in step.conditions if not c.met]
        rows.append((row, st, blocking))
    structures = _structures(rt, who)
    if not structures and listing.total == 0:
        with rt.unit_of_work() as s:
            if shares.partner_organisations(s, who.person_id):
                return _go("/partenaire")
    pathways = {v.pathway_id: v.title for v in list_versions(rt)}
    return _page(
        request,
        "board.html",
        who,
        listing=listing,
        rows=rows,
        structures=structures,
        pathways=pathways,
        to_evaluate=request_views.listing(rt, who, per_page=10),
        committees=committees.mine(rt, who),
        error=None,
    )


def _structures(rt, who: Actor) -> list[tuple[str, str]]:
    from sqlalchemy import select

    from engine.store.tables import Organisation

    with rt.unit_of_work() as s:
        ids = dashboard.structure_ids(s, who.person_id)
        rows = s.execute(
            select(Organisation.slug, Organisation.name)
            .where(Organisation.id.in_(ids))
            .order_by(Organisation.name)
        ).all()
    return [(a, b) for a, b in rows]


@router.post("/inscriptions", openapi_extra=performs(Action.ENROLL))
def enroll(
    request: Request,
    csrf: Csrf = "",
    pathway: ShortForm = "",
    structure: ShortForm = "",
    prenom: Annotated[Name, Form()] = "",
    nom: Annotated[Name, Form()] = "",
    email: Annotated[Email, Form()] = "",
) -> Response:
    who = _staff_form(request, csrf)
    if not prenom.strip() or not nom.strip():
        raise InvalidInput("prénom et nom du participant sont obligatoires")
    eid = e.enroll(
        _rt(request),
        pathway,
        structure,
        e.Participant(prenom.strip(), nom.strip(), email.strip() or None),
        by=who,
    )
    return _go(f"/parcours/{eid}")


def _participant_of(rt, eid: int) -> int:
    with rt.reading() as conn:
        return access.enrollment_target(conn, eid).participant_id  # NotFound, not a 500


def _enrollment_page(request: Request, who: Actor, eid: int, **extra: Any) -> HTMLResponse:
    rt = _rt(request)
    st = ev.status(rt, eid, by=who)
    network = latest_version(rt, st.pathway_id).network
    with rt.unit_of_work() as s:
        catalogue = sorted(
            (entry.name, slug)
            for slug, entry in rt.catalogue(s).items()
            if entry.network == network
        )
    extra.setdefault("error", None)
    extra.setdefault("link", None)
    return _page(
        request,
        "enrollment.html",
        who,
        st=st,
        history=ev.history(rt, eid, by=who),
        badges=badges.badges_of(rt, eid, by=who),
        participant_id=_participant_of(rt, eid),
        catalogue=catalogue,
        **extra,
    )


def _staff_form(request: Request, csrf: str) -> Actor:
    who = _who(request, "staff")
    auth.check_form_csrf(who, csrf)
    return who


async def _act(request: Request, who: Actor, eid: int, action) -> Response:
    """Run a staff action on an enrollment: back to its page, or the page with the error."""
    try:
        result = action()
        if inspect.isawaitable(result):
            await result
    except ParcoursError as exc:
        return _enrollment_page(request, who, eid, error=str(exc))
    return _go(f"/parcours/{eid}")


@router.get(
    "/parcours/{eid}", response_class=HTMLResponse, openapi_extra=performs(Action.ENROLLMENT_READ)
)
def enrollment(request: Request, eid: RowId) -> HTMLResponse:
    return _enrollment_page(request, _who(request, "staff"), eid)


@router.post(
    "/parcours/{eid}/avancer", response_class=HTMLResponse, openapi_extra=performs(Action.ADVANCE)
)
async def advance(
    request: Request,
    eid: RowId,
    csrf: Csrf = "",
    trigger: ShortForm = "",
    note: Text = "",
) -> Response:
    who = _staff_form(request, csrf)
    return await _act(
        request,
        who,
        eid,
        lambda: e.advance(_rt(request), eid, trigger, by=who, note=note or None),
    )


@router.post(
    "/parcours/{eid}/badges",
    response_class=HTMLResponse,
    openapi_extra=performs(Action.BADGE_AWARD),
)
async def award(
    request: Request,
    eid: RowId,
    csrf: Csrf = "",
    badge: ShortForm = "",
    narrative: Text = "",
) -> Response:
    who = _staff_form(request, csrf)
    return await _act(
        request,
        who,
        eid,
        lambda: e.award(_rt(request), eid, badge, by=who, narrative=narrative or None),
    )


@router.post(
    "/parcours/{eid}/pieces",
    response_class=HTMLResponse,
    openapi_extra=performs(Action.EVIDENCE_ADD),
)
async def add_evidence(
    request: Request,
    eid: RowId,
    csrf: Csrf = "",
    kind: ShortForm = "",
    narrative: Text = "",
    context: ShortForm = "",
    fichier: Annotated[UploadFile | None, File()] = None,
) -> Response:
    who = _staff_form(request, csrf)

    async def attach() -> None:
        e.add_evidence(
            _rt(request),
            eid,
            kind,
            by=who,
            narrative=narrative or None,
            context=context or None,
            file=await uploads.from_form(fichier),
        )

    return await _act(request, who, eid, attach)


@router.post(
    "/parcours/{eid}/lien",
    response_class=HTMLResponse,
    openapi_extra=performs(Action.PARTICIPANT_LINK),
)
def participant_link(request: Request, eid: RowId, csrf: Csrf = "") -> Response:
    who = _staff_form(request, csrf)
    rt = _rt(request)
    token = accounts.magic_link(rt, _participant_of(rt, eid), by=who, send=True)
    link = f"{request.app.state.urls.base}/lien/{token}"
    return _enrollment_page(request, who, eid, link=link)


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


def _home_of(who: Actor) -> str:
    """Where each kind of person lands: their own page, or the staff dashboard."""
    if who.is_participant:
        return "/moi"
    if who.is_supporter:
        return "/mes-donnees"
    return "/tableau-de-bord"


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


@router.get(
    "/parcours-types/{pathway_id}",
    response_class=HTMLResponse,
    openapi_extra=performs(Action.PATHWAY_READ),
)
def pathway_page(request: Request, pathway_id: SlugPath) -> HTMLResponse:
    who = _who(request, "staff")
    rt = _rt(request)
    pv = latest_version(rt, pathway_id)
    with rt.unit_of_work() as s:
        model = rt.pathway(s, pv.id)
    return _page(request, "pathway.html", who, p=model, svg=diagram.svg(model))


@router.post(
    "/donnees/{participant_id}/effacer",
    response_class=HTMLResponse,
    openapi_extra=performs(Action.PERSONAL_DATA_ERASE),
)
def erase(request: Request, participant_id: RowId, csrf: Csrf = "") -> Response:
    who = _who(request)
    auth.check_form_csrf(who, csrf)
    privacy.erase(_rt(request), participant_id, by=who)
    if who.is_participant or who.is_supporter:
        response = _go("/connexion")
        response.delete_cookie(auth.COOKIE, path="/")
        return response
    return _page(
        request,
        "message.html",
        who,
        title="Données effacées",
        text="Les données personnelles ont été effacées et les badges révoqués.",
        link="/tableau-de-bord",
    )


# --- the team: offboarding -------------------------------------------------------------------


@router.get("/equipe", response_class=HTMLResponse, openapi_extra=performs(Action.STAFF_MANAGE))
def team_page(request: Request) -> HTMLResponse:
    """A director sees their structure's team, a network admin the teams of the network's
    structures and partners: remove a role, or disable an account when someone leaves."""
    who = _who(request, "staff")
    return _page(request, "team.html", who, members=accounts.team(_rt(request), by=who))


@router.post("/equipe/{person_id}/roles/retirer", openapi_extra=performs(Action.STAFF_MANAGE))
def team_remove_role(
    request: Request,
    person_id: RowId,
    csrf: Csrf = "",
    organisation: ShortForm = "",
    role: ShortForm = "",
) -> Response:
    who = _staff_form(request, csrf)
    accounts.remove_role(_rt(request), person_id, organisation, role, by=who)
    return _go("/equipe")


@router.post("/equipe/{person_id}/desactiver", openapi_extra=performs(Action.STAFF_MANAGE))
def team_disable(request: Request, person_id: RowId, csrf: Csrf = "") -> Response:
    who = _staff_form(request, csrf)
    accounts.disable(_rt(request), person_id, by=who)
    return _go("/equipe")
