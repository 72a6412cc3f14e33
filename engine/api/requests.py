"""/api/v1 routes for badge requests, attribution committees, a structure's badge settings,
shared badges and the partner feed."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Query, Request, Response, UploadFile
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel, Field

from engine import uploads
from engine.api.params import (
    MAX_ID,
    After,
    AssertionId,
    BadgeId,
    LongText,
    Name,
    Note,
    RowId,
    Slug,
    SlugPath,
    Title,
    Url,
    keyed,
    line,
    performs,
)
from engine.api.v1 import Anyone, Context, Email, PageNo, PerPage, Staff, paged, rt_of
from engine.services import (
    committees,
    endorsements,
    keyset,
    organisation_badges,
    outbox,
    proposals,
    request_views,
    requests,
    shares,
)
from engine.services.access import Action

router = APIRouter(prefix="/api/v1")


class NewRequest(BaseModel):
    badge: BadgeId = Field(min_length=1, description="Identifiant du badge")
    participant_id: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="Participant (équipe) ; omis pour soi-même"
    )
    enrollment_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    origin: Literal["participant", "suivi", "collectif"] | None = None
    narrative: LongText | None = None


class NewReview(BaseModel):
    approve: bool
    reason: Note = Field(min_length=1, description="Motif, obligatoire")


RequestStatus = Literal["pending", "approved", "rejected", "withdrawn", "all"]


@router.post(
    "/badge-requests",
    tags=["Demandes de badge"],
    status_code=201,
    openapi_extra=performs(Action.REQUEST_SUBMIT),
)
def submit(body: NewRequest, request: Request, who: Anyone) -> dict[str, Any]:
    rt = rt_of(request)
    rid = requests.submit(
        rt,
        body.badge,
        by=who,
        participant_id=body.participant_id,
        enrollment_id=body.enrollment_id,
        origin=body.origin,
        narrative=body.narrative,
    )
    return jsonable_encoder(asdict(request_views.get(rt, rid, by=who)))


@router.get(
    "/badge-requests", tags=["Demandes de badge"], openapi_extra=performs(Action.REQUEST_READ)
)
def list_requests(
    request: Request,
    who: Anyone,
    status: RequestStatus = "pending",
    committee: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    page: PageNo = 1,
    per_page: PerPage = 20,
    after: After = None,
):
    """The longest waiting first. Follow `next` (`after=`) page to page; `total` stops
    counting at 1,000."""
    result = request_views.listing(
        rt_of(request),
        who,
        status=None if status == "all" else status,
        committee_id=committee,
        page=page,
        per_page=per_page,
        after=after,
    )
    items = [asdict(r) for r in result.items]
    return keyed(items, page, per_page, result.total, result.total_exact, result.next)


@router.get(
    "/badge-requests/{request_id}",
    tags=["Demandes de badge"],
    openapi_extra=performs(Action.REQUEST_READ),
)
def get_request(request_id: RowId, request: Request, who: Anyone) -> dict[str, Any]:
    return jsonable_encoder(asdict(request_views.get(rt_of(request), request_id, by=who)))


@router.post(
    "/badge-requests/{request_id}/evidence",
    tags=["Demandes de badge"],
    status_code=201,
    openapi_extra=performs(Action.REQUEST_EVIDENCE),
)
async def request_evidence(
    request_id: RowId,
    request: Request,
    who: Anyone,
    kind: Annotated[Slug, Form(min_length=1)],
    narrative: Annotated[Note | None, Form()] = None,
    url: Annotated[Url | None, Form()] = None,
    context: Annotated[Context | None, Form()] = None,
    file: Annotated[UploadFile | None, File()] = None,
) -> dict[str, Any]:
    upload = await uploads.from_form(file)
    evidence_id = requests.add_evidence(
        rt_of(request),
        request_id,
        kind,
        by=who,
        narrative=narrative,
        url=url,
        context=context,
        file=upload,
    )
    return {"id": evidence_id}


@router.post(
    "/badge-requests/{request_id}/reviews",
    tags=["Demandes de badge"],
    openapi_extra=performs(Action.REQUEST_REVIEW),
)
def review(request_id: RowId, body: NewReview, request: Request, who: Staff) -> dict[str, Any]:
    view = requests.review(
        rt_of(request), request_id, by=who, approve=body.approve, reason=body.reason
    )
    return jsonable_encoder(asdict(view))


@router.post(
    "/badge-requests/{request_id}/withdraw",
    tags=["Demandes de badge"],
    status_code=204,
    openapi_extra=performs(Action.REQUEST_WITHDRAW),
)
def withdraw(request_id: RowId, request: Request, who: Anyone) -> Response:
    requests.withdraw(rt_of(request), request_id, by=who)
    return Response(status_code=204)


class Support(BaseModel):
    given_name: Name = Field(min_length=1)
    family_name: Name = Field(min_length=1)
    email: Email


@router.post(
    "/public/badges/{badge}/requests",
    tags=["Demandes de badge"],
    status_code=201,
    summary="Demander un badge à validation automatique (formulaire public, sans compte)",
    openapi_extra=performs(Action.REQUEST_SUBMIT),
)
def public_request(badge: SlugPath, body: Support, request: Request) -> dict[str, str]:
    aid = requests.public_request(
        rt_of(request),
        badge,
        given_name=body.given_name,
        family_name=body.family_name,
        email=str(body.email),
    )
    u = request.app.state.urls
    return {"id": aid, "url": u.assertion(aid), "page": u.page(aid)}


# --- structure settings and committees -----------------------------------------------------


class BadgeSettingBody(BaseModel):
    mode: Literal["signatures", "network", "committee", "auto"]
    committee_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    criteria_note: LongText | None = Field(
        default=None, description="Adaptation des critères aux outils"
    )


@router.put(
    "/structures/{structure}/badge-settings/{badge}",
    tags=["Comités"],
    status_code=204,
    openapi_extra=performs(Action.BADGE_SETTING),
)
def badge_setting(
    structure: SlugPath, badge: SlugPath, body: BadgeSettingBody, request: Request, who: Staff
) -> Response:
    requests.configure(
        rt_of(request),
        structure,
        badge,
        mode=body.mode,
        committee_id=body.committee_id,
        criteria_note=body.criteria_note,
        by=who,
    )
    return Response(status_code=204)


class NewCommittee(BaseModel):
    name: Title = Field(min_length=1)
    kind: Slug = Field(min_length=1, description="Type, par ex. inae.croise")
    structure: Slug | None = Field(default=None, description="Pour un comité interne")


Member = line(254)
"""A committee member by staff e-mail or person number."""


class NewMember(BaseModel):
    member: Member = Field(min_length=1, description="E-mail ou numéro")


@router.get("/committees", tags=["Comités"], openapi_extra=performs(Action.COMMITTEE_READ))
def my_committees(request: Request, who: Staff, page: PageNo = 1, per_page: PerPage = 20):
    rows = committees.mine(rt_of(request), who)
    chunk = rows[(page - 1) * per_page : page * per_page]
    items = [{"id": i, "name": n, "pending": p} for i, n, p in chunk]
    return paged(items, page, per_page, len(rows))


@router.post(
    "/committees",
    tags=["Comités"],
    status_code=201,
    openapi_extra=performs(Action.COMMITTEE_MANAGE),
)
def create_committee(body: NewCommittee, request: Request, who: Staff) -> dict[str, int]:
    cid = committees.create(rt_of(request), body.name, body.kind, by=who, structure=body.structure)
    return {"id": cid}


@router.get(
    "/committees/{committee_id}", tags=["Comités"], openapi_extra=performs(Action.COMMITTEE_READ)
)
def committee(committee_id: RowId, request: Request, who: Staff) -> dict[str, Any]:
    return jsonable_encoder(asdict(committees.view(rt_of(request), committee_id, by=who)))


@router.post(
    "/committees/{committee_id}/members",
    tags=["Comités"],
    status_code=204,
    openapi_extra=performs(Action.COMMITTEE_MANAGE),
)
def add_member(committee_id: RowId, body: NewMember, request: Request, who: Staff) -> Response:
    committees.add_member(rt_of(request), committee_id, body.member, by=who)
    return Response(status_code=204)


# --- project badges proposed by structures ------------------------------------------------


class NewBadgeClass(BaseModel):
    structure: Slug = Field(min_length=1)
    network: Slug = Field(min_length=1)
    name: Title = Field(min_length=1)
    description: Note = Field(min_length=1)
    criteria: LongText = Field(min_length=1)
    tags: list[Context] = Field(default_factory=list, max_length=10)


class ProposalReview(BaseModel):
    approve: bool
    reason: Note = Field(min_length=1)


@router.post(
    "/badge-classes",
    tags=["Badges de projet"],
    status_code=201,
    openapi_extra=performs(Action.BADGE_PROPOSE),
)
def propose_badge_class(body: NewBadgeClass, request: Request, who: Staff) -> dict[str, str]:
    slug = proposals.propose(
        rt_of(request),
        body.structure,
        body.network,
        body.name,
        body.description,
        body.criteria,
        by=who,
        tags=body.tags,
    )
    return {"id": slug, "status": "proposed"}


@router.get(
    "/badge-classes/proposals",
    tags=["Badges de projet"],
    openapi_extra=performs(Action.BADGE_PROPOSE),
)
def badge_class_proposals(
    request: Request,
    who: Staff,
    status: Literal["proposed", "active", "refused"] = "proposed",
    page: PageNo = 1,
    per_page: PerPage = 20,
):
    rows = proposals.proposals(rt_of(request), who, status)
    chunk = rows[(page - 1) * per_page : page * per_page]
    return paged([asdict(p) for p in chunk], page, per_page, len(rows))


@router.post(
    "/badge-classes/{slug}/review",
    tags=["Badges de projet"],
    status_code=204,
    openapi_extra=performs(Action.BADGE_PROPOSAL_REVIEW),
)
def review_badge_class(
    slug: SlugPath, body: ProposalReview, request: Request, who: Staff
) -> Response:
    proposals.review(rt_of(request), slug, approve=body.approve, reason=body.reason, by=who)
    return Response(status_code=204)


# --- badges held by organisations ----------------------------------------------------------


class OrganisationAward(BaseModel):
    badge: BadgeId = Field(min_length=1)
    narrative: Note | None = None


@router.post(
    "/organisations/{slug}/badges",
    tags=["Badges"],
    status_code=201,
    summary="Délivrer un badge à une organisation (par ex. entreprise accueillante)",
    openapi_extra=performs(Action.ORGANISATION_BADGE_AWARD),
)
def award_organisation(
    slug: SlugPath, body: OrganisationAward, request: Request, who: Staff
) -> dict[str, str]:
    aid = organisation_badges.award(
        rt_of(request), body.badge, slug, by=who, narrative=body.narrative
    )
    return {"id": aid, "url": request.app.state.urls.assertion(aid)}


# --- recommendations --------------------------------------------------------------------


class RecommendationAsk(BaseModel):
    company: Slug = Field(min_length=1, description="Entreprise (identifiant)")
    email: Email = Field(description="Contact dans l'entreprise, qui reçoit le lien")


@router.post(
    "/badges/{assertion_id}/recommendation-requests",
    tags=["Soutiens"],
    status_code=201,
    summary="Demander à une entreprise d'accueil de recommander ce badge (lien envoyé par e-mail)",
    openapi_extra=performs(Action.RECOMMENDATION_ASK),
)
def ask_recommendation(
    assertion_id: AssertionId, body: RecommendationAsk, request: Request, who: Anyone
) -> dict[str, str]:
    url = endorsements.request_recommendation(
        rt_of(request), assertion_id, body.company, str(body.email), request.app.state.urls, by=who
    )
    return {"url": url}


# --- shares and the partner feed -----------------------------------------------------------


class NewShare(BaseModel):
    organisation: Slug = Field(min_length=1, description="Partenaire (identifiant)")


@router.post(
    "/badges/{assertion_id}/shares",
    tags=["Partenaires"],
    status_code=204,
    openapi_extra=performs(Action.BADGE_SHARE),
)
def share(assertion_id: AssertionId, body: NewShare, request: Request, who: Anyone) -> Response:
    shares.share(rt_of(request), assertion_id, body.organisation, by=who)
    return Response(status_code=204)


@router.get(
    "/partner/feed",
    tags=["Partenaires"],
    summary="Badges délivrés ou partagés à mon organisation, du plus récent au plus ancien",
    openapi_extra=performs(Action.PARTNER_FEED),
)
def partner_feed(
    request: Request,
    who: Staff,
    since: datetime | None = None,
    page: PageNo = 1,
    per_page: PerPage = 20,
    after: After = None,
):
    """Follow `next` (`after=`) page to page; `total` stops counting at 1,000."""
    result = shares.feed(
        rt_of(request), who, page=page, per_page=per_page, since=since, after=after
    )
    u = request.app.state.urls
    items = [
        {**asdict(i), "url": u.assertion(i.assertion_id), "page": u.page(i.assertion_id)}
        for i in result.items
    ]
    return keyed(items, page, per_page, result.total, result.total_exact, result.next)


class WebhookBody(BaseModel):
    organisation: Slug = Field(min_length=1)
    url: Url = Field(min_length=8, pattern="^https?://")


@router.put(
    "/partner/webhook",
    tags=["Partenaires"],
    summary="Recevoir les badges partagés par webhook signé (HMAC-SHA256) ; renvoie le secret",
    openapi_extra=performs(Action.PARTNER_WEBHOOK),
)
def partner_webhook(body: WebhookBody, request: Request, who: Staff) -> dict[str, str]:
    secret = shares.set_webhook(rt_of(request), body.organisation, body.url, by=who)
    return {"secret": secret}


@router.get(
    "/deliveries",
    tags=["Envois"],
    summary="File des envois (administrateurs de réseau)",
    openapi_extra=performs(Action.DELIVERY_READ),
)
def deliveries(
    request: Request,
    who: Staff,
    status: Literal["pending", "sending", "sent", "dead"] | None = None,
    page: PageNo = 1,
    per_page: PerPage = 50,
    after: After = None,
):
    rows, total = outbox.listing(
        rt_of(request), who, status=status, page=page, per_page=per_page, after=after
    )
    cursor = keyset.encode([rows[-1].id]) if len(rows) == per_page else None
    return keyed([asdict(r) for r in rows], page, per_page, int(total), total.exact, cursor)


@router.post(
    "/deliveries/{delivery_id}/retry",
    tags=["Envois"],
    status_code=204,
    openapi_extra=performs(Action.DELIVERY_RETRY),
)
def retry_delivery(delivery_id: RowId, request: Request, who: Staff) -> Response:
    outbox.retry(rt_of(request), delivery_id, who)
    return Response(status_code=204)
