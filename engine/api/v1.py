"""The REST API, /api/v1: what other systems and the pages' scripts call. Every route acts as
the authenticated person; the services check what that person may do."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, Response, UploadFile
from fastapi.encoders import jsonable_encoder
from pydantic import AfterValidator, BaseModel, EmailStr, Field

from engine import uploads
from engine.api import auth, network_pages
from engine.api.params import (
    MAX_ID,
    After,
    AssertionId,
    BadgeId,
    Name,
    Note,
    PageNo,
    RowId,
    Slug,
    SlugPath,
    Url,
    keyed,
    line,
    performs,
    single_line,
    text,
)
from engine.exits import Exit, recorded
from engine.openbadges import ob3
from engine.pathways import diagram
from engine.services import (
    accounts,
    badges,
    clr,
    dashboard,
    endorsements,
    network_views,
    people,
    privacy,
    reissue,
)
from engine.services import enrollment_views as ev
from engine.services import enrollments as e
from engine.services import printing as printed
from engine.services.access import Action, Actor
from engine.services.organisations import directory
from engine.services.pathways import latest_version, list_versions

router = APIRouter(prefix="/api/v1")
Staff = Annotated[Actor, Depends(auth.staff)]
Anyone = Annotated[Actor, Depends(auth.required)]
Email = Annotated[EmailStr, AfterValidator(single_line)]
Phone = Annotated[
    str,
    Field(max_length=30, description="Téléphone (+33 6 12 34 56 78), si c'est le contact"),
    AfterValidator(single_line),
]
Context = line(40)
"""A learning context of an evidence (AFEST, PMSMP...)."""
Reason = text(badges.REASON_MAX)
PerPage = Annotated[int, Query(ge=1, le=100, description="Éléments par page (100 au plus)")]


def rt_of(request: Request):
    return request.app.state.rt


def paged(items: list[Any], page: int, per_page: int, total: int) -> dict[str, Any]:
    return {"items": jsonable_encoder(items), "page": page, "per_page": per_page, "total": total}


# --- session ----------------------------------------------------------------------------


class Credentials(BaseModel):
    email: Annotated[str, Field(min_length=3, max_length=254), AfterValidator(single_line)]
    password: str = Field(min_length=1, max_length=accounts.MAX_PASSWORD)


@router.post(
    "/session",
    tags=["Session"],
    summary="Se connecter (cookie de session)",
    openapi_extra=performs(Action.PUBLIC_READ),
)
def open_session(body: Credentials, request: Request, response: Response) -> dict[str, str]:
    """Past a few failures for the account or from the address, each attempt waits longer:
    429 with `Retry-After` until then."""
    auth.check_same_origin(request)
    rt = rt_of(request)
    address = auth.client_address(request)
    token = accounts.login(rt, body.email, body.password, address=address)
    auth.set_session_cookie(request, response, token)
    principal = accounts.from_session(rt, token)
    return {"csrf": principal.csrf or "", "name": principal.name}


@router.delete(
    "/session",
    tags=["Session"],
    status_code=204,
    summary="Se déconnecter",
    openapi_extra=performs(Action.PUBLIC_READ),
)
def close_session(request: Request, who: Anyone) -> Response:
    token = request.cookies.get(auth.COOKIE)
    if token:
        accounts.logout(rt_of(request), token)
    response = Response(status_code=204)
    response.delete_cookie(auth.COOKIE, path="/")
    return response


@router.get(
    "/me", tags=["Session"], summary="Qui suis-je", openapi_extra=performs(Action.PUBLIC_READ)
)
def me(who: Anyone) -> dict[str, Any]:
    return {"id": who.person_id, "kind": who.kind, "name": who.name, "email": who.email}


# --- organisations and pathways ----------------------------------------------------------


@router.get("/organisations", tags=["Organisations"], openapi_extra=performs(Action.PUBLIC_READ))
def organisations(request: Request, who: Staff, page: PageNo = 1, per_page: PerPage = 20):
    """The directory of networks, structures and partners: public names, no person."""
    items, total = directory(rt_of(request), page=page, per_page=per_page)
    return paged(items, page, per_page, total)


@router.get("/pathways", tags=["Parcours"], openapi_extra=performs(Action.PATHWAY_READ))
def pathways(request: Request, who: Staff, page: PageNo = 1, per_page: PerPage = 20):
    versions = list_versions(rt_of(request))
    chunk = versions[(page - 1) * per_page : page * per_page]
    items = [
        {"id": v.pathway_id, "version": v.version, "title": v.title, "network": v.network}
        for v in chunk
    ]
    return paged(items, page, per_page, len(versions))


@router.get(
    "/pathways/{pathway_id}", tags=["Parcours"], openapi_extra=performs(Action.PATHWAY_READ)
)
def pathway(pathway_id: SlugPath, request: Request, who: Staff) -> dict[str, Any]:
    rt = rt_of(request)
    pv = latest_version(rt, pathway_id)
    return {"id": pv.pathway_id, "version": pv.version, "definition": pv.definition}


@router.get(
    "/pathways/{pathway_id}/diagram",
    tags=["Parcours"],
    summary="Schéma (Mermaid ou SVG)",
    openapi_extra=performs(Action.PATHWAY_READ),
)
def pathway_diagram(
    pathway_id: SlugPath,
    request: Request,
    who: Staff,
    format: Annotated[str, Query(pattern="^(mermaid|svg)$")] = "mermaid",
) -> Response:
    rt = rt_of(request)
    pv = latest_version(rt, pathway_id)
    with rt.unit_of_work() as s:
        model = rt.pathway(s, pv.id)
    if format == "svg":
        return Response(diagram.svg(model), media_type="image/svg+xml")
    return Response(diagram.mermaid(model), media_type="text/plain; charset=utf-8")


# --- networks: their published definitions, and publishing network and pathway files -------


@router.get("/networks", tags=["Réseaux"], openapi_extra=performs(Action.PUBLIC_READ))
def list_networks(request: Request, page: PageNo = 1, per_page: PerPage = 20):
    """The published networks: id, name and latest version (the catalogues are public)."""
    items = network_views.published(rt_of(request))
    return paged(items[(page - 1) * per_page : page * per_page], page, per_page, len(items))


@router.get("/networks/{network}", tags=["Réseaux"], openapi_extra=performs(Action.PUBLIC_READ))
def network_definition(network: SlugPath, request: Request) -> dict[str, Any]:
    """The network's latest published definition (partners, committee rules, badge catalogue)
    and the list of its published versions."""
    return jsonable_encoder(network_views.detail(rt_of(request), network))


@router.post(
    "/networks",
    tags=["Réseaux"],
    status_code=201,
    summary="Publier une version du fichier d'un réseau (avec ses images)",
    openapi_extra=performs(Action.NETWORK_PUBLISH),
)
async def publish_network(
    request: Request,
    response: Response,
    who: Staff,
    file: Annotated[UploadFile, File(description="Le fichier du réseau (YAML)")],
    images: Annotated[
        list[UploadFile] | None,
        File(description="Les images PNG que le fichier nomme (logo, badges), par nom de fichier"),
    ] = None,
) -> dict[str, Any]:
    """201 when a new version is published, 200 when the same version was already published
    identically. A file that does not check is a 422 whose `problems` give each problem's
    file, line, field and message; nothing is published."""
    result = await network_pages.publish_network_upload(rt_of(request), who, file, images)
    if not result.new:
        response.status_code = 200
    return asdict(result)


@router.post(
    "/pathways",
    tags=["Parcours"],
    status_code=201,
    summary="Publier une version d'un parcours (fichier YAML)",
    openapi_extra=performs(Action.PATHWAY_PUBLISH),
)
async def publish_pathway(
    request: Request,
    response: Response,
    who: Staff,
    file: Annotated[UploadFile, File(description="Le fichier du parcours (YAML)")],
) -> dict[str, Any]:
    """201 when a new version is published, 200 when it was already published identically;
    422 with `problems` (file, line, field, message) when the file does not check."""
    row, new = await network_pages.publish_pathway_upload(rt_of(request), who, file)
    if not new:
        response.status_code = 200
    return {"pathway_id": row.pathway_id, "version": row.version, "new": new}


# --- enrollments ------------------------------------------------------------------------


class NewEnrollment(BaseModel):
    pathway: Slug = Field(min_length=1, description="Identifiant du parcours")
    structure: Slug = Field(min_length=1, description="Structure (SIAE)")
    given_name: Name = Field(min_length=1)
    family_name: Name = Field(min_length=1)
    email: Email | None = None
    phone: Phone | None = None
    note: Note | None = None


OutcomeCode = line(40)
Employer = line(200)


class ExitBody(BaseModel):
    """How the person leaves: an outcome of `engine.exits` (`cdi`, `formation_qualifiante`...),
    its date (default: today) and, for an outcome in work or training, the employer."""

    outcome: OutcomeCode = Field(min_length=1, description="Code de la sortie (cdi, autre_siae...)")
    on: date | None = Field(default=None, description="Date de la sortie ; défaut : aujourd'hui")
    employer: Employer | None = Field(
        default=None,
        description="Employeur ou organisme de formation : une organisation, jamais une personne",
    )

    def as_exit(self) -> Exit:
        return Exit(self.outcome, self.on, self.employer)


class Advance(BaseModel):
    trigger: Slug = Field(min_length=1)
    note: Note | None = None
    expected_revision: int | None = Field(default=None, ge=1, le=MAX_ID)
    exit: ExitBody | None = Field(
        default=None, description="Vers une étape finale : comment la personne quitte le parcours"
    )


class ExitRecord(ExitBody):
    note: Note | None = Field(default=None, description="Motif, obligatoire pour une correction")


class Award(BaseModel):
    badge: BadgeId = Field(min_length=1)
    narrative: Note | None = None


class Revocation(BaseModel):
    reason: Reason = Field(min_length=1)


@router.get("/enrollments", tags=["Inscriptions"], openapi_extra=performs(Action.ENROLLMENT_READ))
def list_enrollments(
    request: Request,
    who: Anyone,
    page: PageNo = 1,
    per_page: PerPage = 20,
    active: bool = False,
    after: After = None,
):
    """Newest first. Follow `next` (`after=`) page to page; `total` stops counting at 1,000
    (`total_exact` false past it)."""
    result = dashboard.enrollments(
        rt_of(request), who, page=page, per_page=per_page, active_only=active, after=after
    )
    items = [asdict(r) for r in result.items]
    return keyed(items, page, per_page, result.total, result.total_exact, result.next)


@router.post(
    "/enrollments", tags=["Inscriptions"], status_code=201, openapi_extra=performs(Action.ENROLL)
)
def create_enrollment(body: NewEnrollment, request: Request, who: Staff) -> dict[str, Any]:
    participant = e.Participant(body.given_name, body.family_name, body.email, body.phone)
    eid = e.enroll(
        rt_of(request), body.pathway, body.structure, participant, by=who, note=body.note
    )
    return {"id": eid}


@router.get(
    "/enrollments/{enrollment_id}",
    tags=["Inscriptions"],
    openapi_extra=performs(Action.ENROLLMENT_READ),
)
def enrollment_status(enrollment_id: RowId, request: Request, who: Anyone) -> dict[str, Any]:
    rt = rt_of(request)
    return jsonable_encoder(asdict(ev.status(rt, enrollment_id, by=who)))


@router.post(
    "/enrollments/{enrollment_id}/advance",
    tags=["Inscriptions"],
    openapi_extra=performs(Action.ADVANCE),
)
def advance(enrollment_id: RowId, body: Advance, request: Request, who: Staff) -> dict[str, Any]:
    result = e.advance(
        rt_of(request),
        enrollment_id,
        body.trigger,
        by=who,
        note=body.note,
        expected_revision=body.expected_revision,
        exit=body.exit.as_exit() if body.exit else None,
    )
    return jsonable_encoder(asdict(result))


@router.put(
    "/enrollments/{enrollment_id}/exit",
    tags=["Inscriptions"],
    summary="Enregistrer ou corriger la sortie d'un parcours terminé",
    openapi_extra=performs(Action.ADVANCE),
)
def record_exit(
    enrollment_id: RowId, body: ExitRecord, request: Request, who: Staff
) -> dict[str, Any]:
    stored = e.record_exit(rt_of(request), enrollment_id, body.as_exit(), by=who, note=body.note)
    return jsonable_encoder(asdict(recorded(stored.outcome, stored.on, stored.employer)))


class CommitteeVote(BaseModel):
    trigger: Slug = Field(min_length=1, description="Le passage que le comité décide")
    approve: bool = Field(description="Avis favorable (true) ou défavorable (false)")
    reason: Reason = Field(min_length=1, description="Motifs du vote")


@router.post(
    "/enrollments/{enrollment_id}/committee-votes",
    tags=["Inscriptions"],
    status_code=201,
    summary="Voter, en membre du comité d'attribution, sur un passage qui demande sa décision",
    openapi_extra=performs(Action.GATE_VOTE),
)
def committee_vote(
    enrollment_id: RowId, body: CommitteeVote, request: Request, who: Staff
) -> dict[str, Any]:
    vote_id = e.record_decision(
        rt_of(request), enrollment_id, body.trigger, body.approve, body.reason, by=who
    )
    return {"id": vote_id}


@router.get(
    "/enrollments/{enrollment_id}/history",
    tags=["Inscriptions"],
    openapi_extra=performs(Action.ENROLLMENT_READ),
)
def history(
    enrollment_id: RowId, request: Request, who: Anyone, page: PageNo = 1, per_page: PerPage = 50
):
    rt = rt_of(request)
    entries = ev.history(rt, enrollment_id, by=who)
    chunk = entries[(page - 1) * per_page : page * per_page]
    return paged([asdict(h) for h in chunk], page, per_page, len(entries))


@router.post(
    "/enrollments/{enrollment_id}/evidence",
    tags=["Inscriptions"],
    status_code=201,
    openapi_extra=performs(Action.EVIDENCE_ADD),
)
async def add_evidence(
    enrollment_id: RowId,
    request: Request,
    who: Staff,
    kind: Annotated[Slug, Form(min_length=1)],
    narrative: Annotated[Note | None, Form()] = None,
    url: Annotated[Url | None, Form()] = None,
    context: Annotated[Context | None, Form()] = None,
    file: Annotated[UploadFile | None, File()] = None,
) -> dict[str, Any]:
    upload = await uploads.from_form(file)
    evidence_id = e.add_evidence(
        rt_of(request),
        enrollment_id,
        kind,
        by=who,
        narrative=narrative,
        url=url,
        context=context,
        file=upload,
    )
    return {"id": evidence_id}


@router.get(
    "/enrollments/{enrollment_id}/badges",
    tags=["Badges"],
    openapi_extra=performs(Action.ENROLLMENT_READ),
)
def enrollment_badges(
    enrollment_id: RowId, request: Request, who: Anyone, page: PageNo = 1, per_page: PerPage = 50
):
    rt = rt_of(request)
    u = request.app.state.urls
    earned = badges.badges_of(rt, enrollment_id, by=who)  # a handful per enrollment
    items = [
        {"id": i, "name": n, "revoked": r, "url": u.assertion(i), "page": u.page(i)}
        for i, n, r in earned[(page - 1) * per_page : page * per_page]
    ]
    return paged(items, page, per_page, len(earned))


@router.get(
    "/enrollments/{enrollment_id}/clr",
    tags=["Badges"],
    summary="Le parcours en CLR 2.0 signé (VC-JWT)",
    openapi_extra=performs(Action.ENROLLMENT_READ),
)
def enrollment_clr(enrollment_id: RowId, request: Request, who: Anyone) -> Response:
    """The participant's badges of this parcours as a CLR 2.0 ClrCredential signed by the
    pathway's network; shared publicly at `/ob/v3/clr/{public_id}` (the `Link` header)."""
    rt, u = rt_of(request), request.app.state.urls
    public_id = clr.enrollment_public_id(rt, enrollment_id, by=who)
    return Response(
        clr.clr_jwt(rt, public_id, u),
        media_type=ob3.CONTENT_TYPE,
        headers={
            "Content-Disposition": f'attachment; filename="parcours-{enrollment_id}-clr.jwt"',
            "Link": f'<{u.clr(public_id)}>; rel="alternate"',
        },
    )


@router.get(
    "/enrollments/{enrollment_id}/livret.pdf",
    tags=["Badges"],
    summary="Le livret du parcours à imprimer (PDF A4 : étapes franchies, badges, QR codes)",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "Le livret en PDF"}},
    openapi_extra=performs(Action.ENROLLMENT_READ),
)
def livret(enrollment_id: RowId, request: Request, who: Anyone) -> Response:
    document = printed.livret(rt_of(request), enrollment_id, request.app.state.urls, by=who)
    return Response(
        document,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="livret-{enrollment_id}.pdf"'},
    )


@router.post(
    "/enrollments/{enrollment_id}/badges",
    tags=["Badges"],
    status_code=201,
    openapi_extra=performs(Action.BADGE_AWARD),
)
def award(enrollment_id: RowId, body: Award, request: Request, who: Staff) -> dict[str, str]:
    aid = e.award(rt_of(request), enrollment_id, body.badge, by=who, narrative=body.narrative)
    return {"id": aid, "url": request.app.state.urls.assertion(aid)}


@router.post(
    "/badges/{assertion_id}/revoke",
    tags=["Badges"],
    status_code=204,
    openapi_extra=performs(Action.BADGE_REVOKE),
)
def revoke(assertion_id: AssertionId, body: Revocation, request: Request, who: Staff) -> Response:
    badges.revoke(rt_of(request), assertion_id, body.reason, by=who)
    return Response(status_code=204)


@router.post(
    "/badges/{assertion_id}/renew",
    tags=["Badges"],
    status_code=201,
    openapi_extra=performs(Action.BADGE_AWARD),
)
def renew(assertion_id: AssertionId, request: Request, who: Staff) -> dict[str, str]:
    """A badge with a validity period awarded again for a new one; the old one is revoked."""
    aid = reissue.renew(rt_of(request), assertion_id, by=who)
    return {"id": aid, "replaces": assertion_id, "url": request.app.state.urls.assertion(aid)}


# --- endorsements -----------------------------------------------------------------------


class NewEndorsement(BaseModel):
    endorser: Slug = Field(min_length=1, description="Organisation qui soutient")
    subject_kind: str = Field(pattern="^(issuer|badge_class|assertion)$")
    subject_ref: BadgeId = Field(min_length=1)
    comment: Note = Field(min_length=1)


@router.post(
    "/endorsements", tags=["Soutiens"], status_code=201, openapi_extra=performs(Action.ENDORSE)
)
def endorse(body: NewEndorsement, request: Request, who: Staff) -> dict[str, str]:
    eid = endorsements.endorse(
        rt_of(request), body.endorser, body.subject_kind, body.subject_ref, body.comment, by=who
    )
    return {"id": eid}


# --- participants: links and personal data -----------------------------------------------


class NewParticipant(BaseModel):
    structure: Slug = Field(min_length=1, description="Structure (SIAE)")
    given_name: Name = Field(min_length=1)
    family_name: Name = Field(min_length=1)
    email: Email | None = None
    phone: Phone | None = None


@router.post(
    "/participants",
    tags=["Participants"],
    status_code=201,
    openapi_extra=performs(Action.PARTICIPANT_CREATE),
)
def add_participant(body: NewParticipant, request: Request, who: Staff) -> dict[str, int]:
    pid = people.add_participant(
        rt_of(request),
        body.structure,
        body.given_name,
        body.family_name,
        body.email,
        by=who,
        phone=body.phone,
    )
    return {"id": pid}


class Rebinding(BaseModel):
    email: Email | None = Field(
        default=None, description="L'adresse du participant, s'il n'en avait pas encore"
    )


@router.post(
    "/participants/{participant_id}/rebind",
    tags=["Participants"],
    openapi_extra=performs(Action.PARTICIPANT_LINK),
)
def rebind(
    participant_id: RowId, request: Request, who: Staff, body: Rebinding | None = None
) -> dict[str, Any]:
    """Record the participant's e-mail (if given) and reissue each of their valid badges bound
    to something else (their profile, their telephone) to it: `replaced` pairs old and new."""
    done = reissue.rebind(rt_of(request), participant_id, body.email if body else None, by=who)
    u = request.app.state.urls
    return {"replaced": [{"old": old, "new": new, "url": u.assertion(new)} for old, new in done]}


@router.get("/participants", tags=["Participants"], openapi_extra=performs(Action.PARTICIPANT_READ))
def list_participants(
    request: Request, who: Staff, page: PageNo = 1, per_page: PerPage = 20, after: After = None
):
    """By name. Follow `next` (`after=`) page to page; `total` stops counting at 1,000."""
    rows, total, cursor = people.participants(
        rt_of(request), who, page=page, per_page=per_page, after=after
    )
    return keyed([asdict(r) for r in rows], page, per_page, int(total), total.exact, cursor)


@router.get(
    "/participants/{participant_id}",
    tags=["Participants"],
    openapi_extra=performs(Action.PARTICIPANT_READ),
)
def get_participant(participant_id: RowId, request: Request, who: Anyone) -> dict[str, Any]:
    return asdict(people.get_participant(rt_of(request), participant_id, who))


@router.post(
    "/participants/{participant_id}/link",
    tags=["Participants"],
    status_code=201,
    openapi_extra=performs(Action.PARTICIPANT_LINK),
)
def participant_link(
    participant_id: RowId,
    request: Request,
    who: Staff,
    send: Annotated[bool, Query(description="Envoyer aussi le lien par e-mail")] = True,
) -> dict[str, str]:
    rt = rt_of(request)
    token = accounts.magic_link(rt, participant_id, by=who, send=send)
    return {"url": f"{request.app.state.urls.base}/lien/{token}"}


@router.get(
    "/participants/{participant_id}/export",
    tags=["Participants"],
    openapi_extra=performs(Action.PERSONAL_DATA_EXPORT),
)
def export(participant_id: RowId, request: Request, who: Anyone) -> Response:
    data = privacy.export(rt_of(request), participant_id, by=who)
    import json

    return Response(
        json.dumps(data, ensure_ascii=False, indent=2),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="donnees-{participant_id}.json"'},
    )


@router.delete(
    "/participants/{participant_id}",
    tags=["Participants"],
    status_code=204,
    openapi_extra=performs(Action.PERSONAL_DATA_ERASE),
)
def erase(participant_id: RowId, request: Request, who: Anyone) -> Response:
    privacy.erase(rt_of(request), participant_id, by=who)
    return Response(status_code=204)


# --- the team: offboarding -------------------------------------------------------------------


@router.get(
    "/staff",
    tags=["Équipe"],
    summary="Les membres des équipes que je gère, avec leurs rôles",
    openapi_extra=performs(Action.STAFF_MANAGE),
)
def list_staff(request: Request, who: Staff, page: PageNo = 1, per_page: PerPage = 50):
    members = accounts.team(rt_of(request), by=who)
    chunk = members[(page - 1) * per_page : page * per_page]
    return paged([asdict(m) for m in chunk], page, per_page, len(members))


@router.delete(
    "/staff/{person_id}/roles/{organisation}/{role}",
    tags=["Équipe"],
    status_code=204,
    summary="Retirer un rôle (directeur de la structure, administrateur de son réseau)",
    openapi_extra=performs(Action.STAFF_MANAGE),
)
def remove_role(
    person_id: RowId, organisation: SlugPath, role: SlugPath, request: Request, who: Staff
) -> Response:
    accounts.remove_role(rt_of(request), person_id, organisation, role, by=who)
    return Response(status_code=204)


@router.post(
    "/staff/{person_id}/disable",
    tags=["Équipe"],
    summary="Désactiver un compte : rôles, mot de passe, sessions et jetons d'API retirés",
    openapi_extra=performs(Action.STAFF_MANAGE),
)
def disable_staff(person_id: RowId, request: Request, who: Staff) -> dict[str, int]:
    return asdict(accounts.disable(rt_of(request), person_id, by=who))
