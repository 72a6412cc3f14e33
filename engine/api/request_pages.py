"""Pages for badge requests (ask with evidence, evaluate with reasons), committees, the partner
feed and the public form of a support badge."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from engine import uploads
from engine.api import auth, flash
from engine.api.pages import Csrf, ShortForm, Text, _go, _page, _rt, _staff_form, _who
from engine.api.params import Email, Name, PageNo, RowId, SlugPath, Token, TokenPath, performs
from engine.errors import ParcoursError
from engine.services import (
    committees,
    dashboard,
    issuing,
    outbox,
    proposals,
    request_views,
    requests,
    shares,
)
from engine.services.access import Action
from engine.services.badges import badge_class
from engine.services.evidence import CONTEXTS, open_file

router = APIRouter(include_in_schema=False)
Short = ShortForm


def _request_page(
    request: Request,
    who,
    rid: int,
    error: str | None = None,
    values: dict[str, str] | None = None,
) -> HTMLResponse:
    """The request's page; after a refused form, with the error and what was typed in it."""
    view = request_views.get(_rt(request), rid, by=who)
    return _page(
        request,
        "request.html",
        who,
        200 if error is None else 422,
        r=view,
        contexts=CONTEXTS,
        error=error,
        values=values or {},
    )


@router.get(
    "/demandes/{rid}", response_class=HTMLResponse, openapi_extra=performs(Action.REQUEST_READ)
)
def request_page(request: Request, rid: RowId) -> HTMLResponse:
    return _request_page(request, _who(request), rid)


@router.post(
    "/demandes/{rid}/avis",
    response_class=HTMLResponse,
    openapi_extra=performs(Action.REQUEST_REVIEW),
)
def review(
    request: Request,
    rid: RowId,
    csrf: Csrf = "",
    decision: Annotated[str, Form(pattern="^(favorable|defavorable)$")] = "favorable",
    motif: Text = "",
) -> Response:
    who = _staff_form(request, csrf)
    try:
        requests.review(_rt(request), rid, by=who, approve=decision == "favorable", reason=motif)
    except ParcoursError as exc:
        typed = {"decision": decision, "motif": motif}
        return _request_page(request, who, rid, str(exc), typed)
    return _go(f"/demandes/{rid}")


@router.post(
    "/demandes/{rid}/pieces",
    response_class=HTMLResponse,
    openapi_extra=performs(Action.REQUEST_EVIDENCE),
)
async def add_evidence(
    request: Request,
    rid: RowId,
    csrf: Csrf = "",
    kind: ShortForm = "",
    narrative: Text = "",
    context: ShortForm = "",
    fichier: Annotated[UploadFile | None, File()] = None,
) -> Response:
    who = _who(request)
    auth.check_form_csrf(who, csrf)
    try:
        requests.add_evidence(
            _rt(request),
            rid,
            kind,
            by=who,
            narrative=narrative or None,
            context=context or None,
            file=await uploads.from_form(fichier),
        )
    except ParcoursError as exc:
        typed = {"kind": kind, "context": context, "narrative": narrative}
        return _request_page(request, who, rid, str(exc), typed)
    return _go(f"/demandes/{rid}")


@router.post(
    "/moi/demandes", response_class=HTMLResponse, openapi_extra=performs(Action.REQUEST_SUBMIT)
)
async def ask(
    request: Request,
    csrf: Csrf = "",
    badge: Short = "",
    narrative: Text = "",
    fichier: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """A participant asks for a badge, telling in their words what they did, with a photo or a
    document if they have one."""
    who = _who(request, "participant")
    auth.check_form_csrf(who, csrf)
    rid = requests.submit(
        _rt(request),
        badge,
        by=who,
        narrative=narrative or None,
        file=await uploads.from_form(fichier),
    )
    return _go(f"/demandes/{rid}")


@router.get("/pieces/{file_id}", openapi_extra=performs(Action.ENROLLMENT_READ))
def evidence_file(request: Request, file_id: TokenPath) -> Response:
    """The file behind an evidence; shown inline, never sniffed into another type."""
    upload = open_file(_rt(request), file_id, _who(request))
    name = upload.filename.encode("ascii", "replace").decode().replace('"', "")
    return Response(
        upload.content,
        media_type=upload.media_type,
        headers={
            "Content-Disposition": f'inline; filename="{name}"',
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; img-src 'self'; "
            "style-src 'unsafe-inline'",
            "Cache-Control": "private, no-store",
        },
    )


@router.get(
    "/comites/{cid}", response_class=HTMLResponse, openapi_extra=performs(Action.COMMITTEE_READ)
)
def committee_page(request: Request, cid: RowId, page: PageNo = 1) -> HTMLResponse:
    who = _who(request, "staff")
    rt = _rt(request)
    view = committees.view(rt, cid, by=who)
    agenda = request_views.listing(rt, who, committee_id=cid, page=max(page, 1), per_page=50)
    return _page(request, "committee.html", who, c=view, agenda=agenda)


def _proposals_page(
    request: Request, who, error: str | None = None, values: dict[str, str] | None = None
) -> HTMLResponse:
    """The project badges' page; after a refused form, with the error and what was typed
    (`values["examen"]` names the proposal whose review was refused)."""
    rt = _rt(request)
    return _page(
        request,
        "proposals.html",
        who,
        200 if error is None else 422,
        pending=proposals.proposals(rt, who),
        accepted=proposals.proposals(rt, who, "active"),
        structures=_own_structures(rt, who),
        error=error,
        values=values or {},
    )


def _own_structures(rt, who) -> list[tuple[str, str]]:
    """(slug, name) of the structures where one holds a role: those one may propose for."""
    from sqlalchemy import select

    from engine.store.tables import Organisation

    with rt.unit_of_work() as s:
        ids = dashboard.structure_ids(s, who.person_id)
        rows = s.execute(
            select(Organisation.slug, Organisation.name)
            .where(Organisation.id.in_(ids))
            .order_by(Organisation.name)
        ).all()
    return [(slug, name) for slug, name in rows]


@router.get(
    "/badges-projet", response_class=HTMLResponse, openapi_extra=performs(Action.BADGE_PROPOSE)
)
def proposals_page(request: Request) -> HTMLResponse:
    return _proposals_page(request, _who(request, "staff"))


@router.post(
    "/badges-projet", response_class=HTMLResponse, openapi_extra=performs(Action.BADGE_PROPOSE)
)
def propose(
    request: Request,
    csrf: Csrf = "",
    structure: Short = "",
    name: Short = "",
    description: Text = "",
    criteria: Text = "",
) -> Response:
    who = _staff_form(request, csrf)
    rt = _rt(request)
    try:
        networks = _networks_of(rt, structure)
        proposals.propose(
            rt, structure, networks[0] if networks else "", name, description, criteria, by=who
        )
    except ParcoursError as exc:
        typed = {
            "structure": structure,
            "name": name,
            "description": description,
            "criteria": criteria,
        }
        return _proposals_page(request, who, str(exc), typed)
    return _go("/badges-projet")


def _networks_of(rt, structure: str) -> list[str]:
    from sqlalchemy import select
    from sqlalchemy.orm import aliased

    from engine.store.tables import Membership, Organisation

    net = aliased(Organisation)
    with rt.unit_of_work() as s:
        return list(
            s.execute(
                select(net.slug)
                .join(Membership, Membership.network_id == net.id)
                .join(Organisation, Organisation.id == Membership.structure_id)
                .where(Organisation.slug == structure)
                .order_by(net.slug)
            ).scalars()
        )


@router.post(
    "/badges-projet/{slug}/examen",
    response_class=HTMLResponse,
    openapi_extra=performs(Action.BADGE_PROPOSAL_REVIEW),
)
def review_proposal(
    request: Request,
    slug: SlugPath,
    csrf: Csrf = "",
    decision: Annotated[str, Form(pattern="^(accepter|refuser)$")] = "accepter",
    motif: Text = "",
) -> Response:
    who = _staff_form(request, csrf)
    try:
        proposals.review(_rt(request), slug, approve=decision == "accepter", reason=motif, by=who)
    except ParcoursError as exc:
        typed = {"examen": slug, "decision": decision, "motif": motif}
        return _proposals_page(request, who, str(exc), typed)
    return _go("/badges-projet")


@router.get("/envois", response_class=HTMLResponse, openapi_extra=performs(Action.DELIVERY_READ))
def deliveries_page(request: Request, etat: Annotated[Token, Query()] = "dead") -> HTMLResponse:
    """Network admins see what could not be delivered (dead letters) and send it again."""
    who = _who(request, "staff")
    status = etat if etat in ("pending", "sending", "sent", "dead") else "dead"
    rows, total = outbox.listing(_rt(request), who, status=status, per_page=100)
    return _page(request, "deliveries.html", who, rows=rows, total=total, etat=status)


@router.post("/envois/{delivery_id}/relancer", openapi_extra=performs(Action.DELIVERY_RETRY))
def retry_delivery(request: Request, delivery_id: RowId, csrf: Csrf = "") -> Response:
    who = _staff_form(request, csrf)
    outbox.retry(_rt(request), delivery_id, who)
    return _go("/envois")


PARTNER_PAGE = 50
"""Shared badges on one page of /partenaire; « Suivant » gives the next."""


@router.get("/partenaire", response_class=HTMLResponse, openapi_extra=performs(Action.PARTNER_FEED))
def partner_page(
    request: Request,
    page: PageNo = 1,
    apres: Annotated[str | None, Query(max_length=400, pattern="^[A-Za-z0-9_-]+$")] = None,
) -> HTMLResponse:
    who = _who(request, "staff")
    feed = shares.feed(_rt(request), who, page=max(page, 1), per_page=PARTNER_PAGE, after=apres)
    return _page(request, "partner.html", who, feed=feed, resumed=apres is not None)


@router.get(
    "/soutenir/{slug}", response_class=HTMLResponse, openapi_extra=performs(Action.PUBLIC_READ)
)
def support_form(request: Request, slug: SlugPath) -> HTMLResponse:
    with _rt(request).unit_of_work() as s:
        bc = badge_class(s, slug)
    given = flash.message(request)
    if given:  # the form was sent: its badge, once (post/redirect/get)
        return flash.shown(request, _thanks(request, bc.name, given))
    if not issuing.evaluation_of(bc).public:
        return _page(
            request,
            "message.html",
            None,
            404,
            title="Introuvable",
            text="Ce badge ne se demande pas par un formulaire public.",
        )
    return _page(request, "support.html", None, bc=bc, error=None, values={})


@router.post(
    "/soutenir/{slug}", response_class=HTMLResponse, openapi_extra=performs(Action.REQUEST_SUBMIT)
)
def support(
    request: Request,
    slug: SlugPath,
    prenom: Annotated[Name, Form()] = "",
    nom: Annotated[Name, Form()] = "",
    email: Annotated[Email, Form()] = "",
    personne: Annotated[str, Form(max_length=3)] = "",
) -> Response:
    from email_validator import EmailNotValidError, validate_email

    rt = _rt(request)
    with rt.unit_of_work() as s:
        bc = badge_class(s, slug)
    values = {"prenom": prenom, "nom": nom, "email": email}
    try:
        if personne != "oui":
            raise ValueError("ce badge est détenu par une personne physique : cochez la case")
        try:
            address = validate_email(email, check_deliverability=False).normalized
        except EmailNotValidError:
            raise ValueError(f"adresse e-mail invalide : « {email} »") from None
        aid = requests.public_request(
            rt, slug, given_name=prenom.strip(), family_name=nom.strip(), email=address
        )
    except (ValueError, ParcoursError) as exc:
        return _page(request, "support.html", None, 422, bc=bc, error=str(exc), values=values)
    return flash.redirect(request, f"/soutenir/{slug}", aid)


def _thanks(request: Request, name: str, aid: str) -> HTMLResponse:
    u = request.app.state.urls
    return _page(
        request,
        "message.html",
        None,
        title="Merci pour votre soutien !",
        text=f"Votre badge « {name} » est délivré. Ajoutez-le à votre sac à badges (Open "
        f"Badge Passport : « Importer un badge ») avec cette adresse : {u.assertion(aid)}",
        link=u.page(aid),
    )
