"""Public routes: what verifiers, backpacks and companies scanning a QR code fetch, with no
login. OB 2.0 documents as JSON-LD, OB 3.0 credentials as VC-JWT, pictures, the badge page and
the recommendation form a company reaches from its e-mail."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from engine.api.params import Note, performs
from engine.api.templating import templates
from engine.errors import ParcoursError
from engine.openbadges import ob2, ob3
from engine.openbadges.images import qr_svg
from engine.services import (
    badge_documents,
    badges,
    clr,
    endorsements,
    issuer_keys,
    profiles,
    public_documents,
)
from engine.services import printing as printed
from engine.services.access import Action
from engine.services.badge_documents import MAX_STATUS_LISTS
from engine.services.badges import MAX_VERSION
from engine.store.tables import utcnow

router = APIRouter()

Version = Annotated[
    int, Path(ge=1, le=MAX_VERSION, description="Version de la classe de badge (1, 2…)")
]
"""A badge class version in a public URL (`/v2`): the unversioned URL is version 1."""


def _ld(doc: dict, status: int = 200) -> JSONResponse:
    return JSONResponse(doc, status_code=status, media_type=ob2.CONTENT_TYPE)


def _ctx(request: Request):
    return request.app.state.rt, request.app.state.urls


@router.get(
    "/ob/v2/issuers/{slug}", tags=["Open Badges 2.0"], openapi_extra=performs(Action.PUBLIC_READ)
)
def issuer(slug: str, request: Request) -> JSONResponse:
    rt, u = _ctx(request)
    return _ld(badge_documents.issuer_document(rt, slug, u))


@router.get(
    "/ob/v2/issuers/{slug}/logo.png",
    tags=["Open Badges 2.0"],
    openapi_extra=performs(Action.PUBLIC_READ),
)
def issuer_logo(slug: str, request: Request) -> Response:
    rt, _ = _ctx(request)
    return Response(badge_documents.issuer_logo(rt, slug), media_type="image/png")


@router.get(
    "/ob/v2/issuers/{slug}/revocations",
    tags=["Open Badges 2.0"],
    openapi_extra=performs(Action.PUBLIC_READ),
)
def revocations(slug: str, request: Request) -> Response:
    """Built again only when one of the issuer's badges is revoked; `ETag` and
    `If-None-Match` (304) let a verifier ask cheaply whether it changed."""
    rt, u = _ctx(request)
    return _kept(request, public_documents.revocation_list(rt, slug, u))


def _kept(request: Request, doc: public_documents.Document) -> Response:
    """A kept public document (gzipped for a client that accepts it), or 304 when the client
    holds this version."""
    status, body, headers = public_documents.response(
        doc, request.headers.get("if-none-match"), request.headers.get("accept-encoding")
    )
    if status == 304:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=doc.media_type, headers=headers)


@router.get(
    "/ob/v2/badges/{slug}", tags=["Open Badges 2.0"], openapi_extra=performs(Action.PUBLIC_READ)
)
def badge_class(slug: str, request: Request) -> JSONResponse:
    rt, u = _ctx(request)
    return _ld(badge_documents.badge_class_document(rt, slug, u))


@router.get(
    "/ob/v2/badges/{slug}/image.png",
    tags=["Open Badges 2.0"],
    openapi_extra=performs(Action.PUBLIC_READ),
)
def badge_image(slug: str, request: Request) -> Response:
    rt, _ = _ctx(request)
    return Response(badge_documents.badge_picture(rt, slug), media_type="image/png")


@router.get(
    "/ob/v2/badges/{slug}/v{version}",
    tags=["Open Badges 2.0"],
    openapi_extra=performs(Action.PUBLIC_READ),
)
def badge_class_version(slug: str, version: Version, request: Request) -> JSONResponse:
    """A later version of a badge class: badges issued under it point here."""
    rt, u = _ctx(request)
    return _ld(badge_documents.badge_class_document(rt, slug, u, version))


@router.get(
    "/ob/v2/badges/{slug}/v{version}/image.png",
    tags=["Open Badges 2.0"],
    openapi_extra=performs(Action.PUBLIC_READ),
)
def badge_image_version(slug: str, version: Version, request: Request) -> Response:
    rt, _ = _ctx(request)
    return Response(badge_documents.badge_picture(rt, slug, version), media_type="image/png")


@router.get(
    "/ob/v2/assertions/{assertion_id}",
    tags=["Open Badges 2.0"],
    openapi_extra=performs(Action.PUBLIC_READ),
)
def assertion(assertion_id: str, request: Request) -> JSONResponse:
    rt, u = _ctx(request)
    code, doc = badge_documents.assertion_document(rt, assertion_id, u)
    return _ld(doc, code)


@router.get(
    "/ob/v2/assertions/{assertion_id}/badge.png",
    tags=["Open Badges 2.0"],
    openapi_extra=performs(Action.PUBLIC_READ),
)
def baked_png(
    assertion_id: str,
    request: Request,
    version: Annotated[int, Query(ge=2, le=3, description="Open Badges 2 ou 3")] = 2,
) -> Response:
    rt, u = _ctx(request)
    data = badge_documents.baked(rt, assertion_id, u, version=3 if version == 3 else 2)
    name = f"badge-{assertion_id[:8]}.png"
    return Response(
        data,
        media_type="image/png",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get(
    "/ob/v2/endorsements/{endorsement_id}",
    tags=["Open Badges 2.0"],
    openapi_extra=performs(Action.PUBLIC_READ),
)
def endorsement(endorsement_id: str, request: Request) -> JSONResponse:
    rt, u = _ctx(request)
    return _ld(endorsements.endorsement_document(rt, endorsement_id, u))


@router.get(
    "/ob/v3/issuers/{slug}", tags=["Open Badges 3.0"], openapi_extra=performs(Action.PUBLIC_READ)
)
def profile(slug: str, request: Request) -> JSONResponse:
    rt, u = _ctx(request)
    return _ld(badge_documents.profile_document(rt, slug, u))


@router.get(
    "/ob/v3/issuers/{slug}/jwks",
    tags=["Open Badges 3.0"],
    openapi_extra=performs(Action.PUBLIC_READ),
)
def jwks(slug: str, request: Request) -> JSONResponse:
    rt, _ = _ctx(request)
    return JSONResponse(issuer_keys.jwks(rt, slug), media_type="application/jwk-set+json")


@router.get(
    "/ob/v3/issuers/{slug}/keys/{kid}",
    tags=["Open Badges 3.0"],
    openapi_extra=performs(Action.PUBLIC_READ),
)
def public_key(slug: str, kid: str, request: Request) -> JSONResponse:
    """An RS256 key as a JWK; an Ed25519 key as its Multikey verification method (JSON-LD)."""
    rt, u = _ctx(request)
    doc = issuer_keys.public_key(rt, slug, kid, u)
    if "publicKeyMultibase" in doc:
        return _ld(doc)
    return JSONResponse(doc, media_type="application/jwk+json")


@router.get(
    "/ob/v3/issuers/{slug}/status/{number}",
    tags=["Open Badges 3.0"],
    openapi_extra=performs(Action.PUBLIC_READ),
)
def status_list(
    slug: str,
    number: Annotated[int, Path(ge=0, le=MAX_STATUS_LISTS - 1)],
    request: Request,
) -> Response:
    rt, u = _ctx(request)
    return _kept(request, public_documents.status_list(rt, slug, number, u))


@router.get(
    "/ob/v3/achievements/{slug}",
    tags=["Open Badges 3.0"],
    openapi_extra=performs(Action.PUBLIC_READ),
)
def achievement(slug: str, request: Request) -> JSONResponse:
    rt, u = _ctx(request)
    return _ld(badge_documents.achievement_document(rt, slug, u))


@router.get(
    "/ob/v3/achievements/{slug}/v{version}",
    tags=["Open Badges 3.0"],
    openapi_extra=performs(Action.PUBLIC_READ),
)
def achievement_version(slug: str, version: Version, request: Request) -> JSONResponse:
    """A later version of an achievement: credentials issued under it point here."""
    rt, u = _ctx(request)
    return _ld(badge_documents.achievement_document(rt, slug, u, version))


@router.get(
    "/ob/v3/credentials/{assertion_id}",
    tags=["Open Badges 3.0"],
    openapi_extra=performs(Action.PUBLIC_READ),
)
def credential(assertion_id: str, request: Request) -> Response:
    """The signed credential: a VC-JWT, or, for a client asking for JSON-LD
    (`Accept: application/vc+ld+json` or `application/ld+json`), the credential with its
    embedded Data Integrity proof when its network's file chooses one."""
    rt, u = _ctx(request)
    if "ld+json" in request.headers.get("accept", ""):
        document = badge_documents.credential_document(rt, assertion_id, u)
        return JSONResponse(document, media_type="application/vc+ld+json")
    return Response(
        badge_documents.credential_jwt(rt, assertion_id, u), media_type=ob3.CONTENT_TYPE
    )


@router.get(
    "/ob/v3/endorsements/{endorsement_id}",
    tags=["Open Badges 3.0"],
    openapi_extra=performs(Action.PUBLIC_READ),
)
def endorsement3(endorsement_id: str, request: Request) -> Response:
    rt, u = _ctx(request)
    return Response(
        endorsements.endorsement_jwt(rt, endorsement_id, u), media_type=ob3.CONTENT_TYPE
    )


PublicId = Annotated[
    str, Path(min_length=1, max_length=36, description="Identifiant public du parcours")
]


# The signed form first: `{public_id}` alone would also match `….jwt`.
@router.get(
    "/ob/v3/clr/{public_id}.jwt",
    tags=["CLR 2.0"],
    openapi_extra=performs(Action.PUBLIC_READ),
)
def clr_jwt(public_id: PublicId, request: Request) -> Response:
    """A participant's parcours as a CLR 2.0 ClrCredential signed by the pathway's network."""
    rt, u = _ctx(request)
    return Response(clr.clr_jwt(rt, public_id, u), media_type=ob3.CONTENT_TYPE)


@router.get(
    "/ob/v3/clr/{public_id}",
    tags=["CLR 2.0"],
    openapi_extra=performs(Action.PUBLIC_READ),
)
def clr_document(public_id: PublicId, request: Request) -> JSONResponse:
    """The same ClrCredential as JSON-LD, unsigned: what the `.jwt` carries."""
    rt, u = _ctx(request)
    return _ld(clr.clr_document(rt, public_id, u))


@router.get(
    "/badges/{assertion_id}",
    response_class=HTMLResponse,
    tags=["Pages"],
    openapi_extra=performs(Action.PUBLIC_READ),
)
def badge_page(assertion_id: str, request: Request) -> HTMLResponse:
    rt, u = _ctx(request)
    page = badge_documents.public_badge(rt, assertion_id)
    return templates.TemplateResponse(
        request,
        "badge.html",
        {
            "p": page,
            "u": u,
            "expired": page.badge.expired(utcnow()),
        },
    )


@router.get(
    "/profils/{subject}",
    response_class=HTMLResponse,
    tags=["Pages"],
    openapi_extra=performs(Action.PUBLIC_READ),
)
def holder_profile(
    subject: Annotated[str, Path(max_length=36, description="Identifiant du titulaire")],
    request: Request,
) -> HTMLResponse:
    """A badge holder's profile: the subject of their badges (OB 3.0 `credentialSubject.id`)."""
    rt, u = _ctx(request)
    page = profiles.profile(rt, subject)
    return templates.TemplateResponse(request, "profile.html", {"p": page, "u": u})


@router.get(
    "/badges/{assertion_id}/qr.svg", tags=["Pages"], openapi_extra=performs(Action.PUBLIC_READ)
)
def badge_qr_svg(assertion_id: str, request: Request) -> Response:
    """A separate, long-cached image: the page itself stays cheap to serve."""
    rt, u = _ctx(request)
    with rt.unit_of_work() as session:
        badges.load(session, assertion_id)
    return Response(
        qr_svg(u.page(assertion_id)),
        media_type="image/svg+xml",
        headers={"Cache-Control": "public, max-age=31536000, immutable"},
    )


@router.get(
    "/badges/{assertion_id}/qr.png", tags=["Pages"], openapi_extra=performs(Action.PUBLIC_READ)
)
def badge_qr(assertion_id: str, request: Request) -> Response:
    rt, u = _ctx(request)
    return Response(badge_documents.qr_code(rt, assertion_id, u), media_type="image/png")


@router.get(
    "/badges/{assertion_id}/badge.pdf",
    tags=["Pages"],
    summary="Le badge à imprimer (PDF A4, avec le QR code de sa page)",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "Le badge en PDF"}},
    openapi_extra=performs(Action.PUBLIC_READ),
)
def badge_pdf(assertion_id: str, request: Request) -> Response:
    rt, u = _ctx(request)
    return Response(
        printed.badge(rt, assertion_id, u),
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="badge-{assertion_id[:8]}.pdf"'},
    )


@router.get(
    "/recommandations/{token}",
    response_class=HTMLResponse,
    tags=["Pages"],
    openapi_extra=performs(Action.PUBLIC_READ),
)
def recommendation_form(token: str, request: Request) -> HTMLResponse:
    rt, _ = _ctx(request)
    try:
        pending = endorsements.pending_recommendation(rt, token)
    except ParcoursError as exc:
        return templates.TemplateResponse(
            request, "message.html", {"title": "Lien indisponible", "text": str(exc)}, 410
        )
    return templates.TemplateResponse(request, "recommend.html", {"p": pending, "error": None})


@router.post(
    "/recommandations/{token}",
    response_class=HTMLResponse,
    tags=["Pages"],
    openapi_extra=performs(Action.RECOMMEND),
)
def recommendation_answer(
    token: str, request: Request, commentaire: Annotated[Note, Form()] = ""
) -> HTMLResponse:
    rt, u = _ctx(request)
    try:
        pending = endorsements.pending_recommendation(rt, token)
        endorsements.answer_recommendation(rt, token, commentaire)
    except ParcoursError as exc:
        return templates.TemplateResponse(
            request, "message.html", {"title": "Recommandation refusée", "text": str(exc)}, 422
        )
    return templates.TemplateResponse(
        request,
        "message.html",
        {
            "title": "Merci pour votre recommandation",
            "text": f"Elle apparaît désormais sur le badge « {pending.badge} » "
            f"de {pending.holder}.",
            "link": u.page(pending.assertion_id),
        },
    )
