"""Signed events from partner platforms (the PMSMP's), turned into evidence (issue 20).

`POST /api/v1/inbound/{source}` takes no session and no API token: the request is
authenticated by its HMAC signature (`X-Parcours-Signature`, see `engine.inbound.signature`),
made with the secret the network gave that source. The network's admins make the secret,
see the sources and list what arrived (unmatched events first of all) with the routes below.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.exceptions import HTTPException
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from engine.api import auth
from engine.api.params import SlugPath, performs
from engine.inbound.signature import HEADER
from engine.services import inbound, inbound_views
from engine.services.access import Action, Actor

router = APIRouter(prefix="/api/v1", tags=["Événements entrants"])
Staff = Annotated[Actor, Depends(auth.staff)]


class InboundResult(BaseModel):
    event_id: str
    network: str
    source: str
    kind: str
    status: Literal["applied", "noted", "ignored", "unmatched"]
    enrollment_id: int | None
    evidence_id: int | None
    replayed: bool
    detail: str


_BODY = {
    "requestBody": {
        "required": True,
        "description": "L'événement de la plateforme, tel qu'elle l'envoie (JSON, 256 Kio au "
        "plus) ; la signature porte sur ces octets exacts.",
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
}


@router.post(
    "/inbound/{source}",
    summary="Recevoir un événement signé d'une plateforme partenaire",
    response_model=InboundResult,
    responses={
        202: {"model": InboundResult, "description": "Reçu, aucun parcours trouvé"},
        401: {"description": "Signature absente, invalide ou trop ancienne"},
        413: {"description": "Événement trop volumineux"},
        422: {"description": "Événement illisible (le champ fautif est nommé)"},
    },
    openapi_extra={**performs(Action.EVIDENCE_ADD), **_BODY},
)
async def receive(
    source: SlugPath,
    request: Request,
    response: Response,
    signature: Annotated[
        str | None,
        Header(
            alias=HEADER,
            description="reseau=<réseau>,t=<secondes Unix>,v1=<HMAC-SHA256 hexadécimal de "
            "« <t>.<corps> »>",
        ),
    ] = None,
    event_id: Annotated[
        str | None,
        Header(
            alias=inbound.EVENT_ID_HEADER,
            description="Identifiant de l'événement chez l'expéditeur (sinon déduit du contenu)",
        ),
    ] = None,
) -> InboundResult:
    """The event becomes evidence on the enrollment it is about (200), is recorded without a
    match for the network's admins (202), or was received before (200, `replayed`, nothing
    written). The same signed request is accepted for five minutes after its timestamp."""
    length = request.headers.get("content-length", "")
    if length.isascii() and length.isdigit() and int(length) > inbound.MAX_BODY:
        raise HTTPException(413)
    body = await request.body()
    if len(body) > inbound.MAX_BODY:
        raise HTTPException(413)
    rt = request.app.state.rt
    outcome = await run_in_threadpool(
        inbound.receive, rt, source, body, signature, event_id=event_id
    )
    if outcome.status == inbound.UNMATCHED and not outcome.replayed:
        response.status_code = 202
    return InboundResult(**{k: getattr(outcome, k) for k in InboundResult.model_fields})


class InboundSourceOut(BaseModel):
    source: str
    mapping: str
    title: str | None
    secret_since: datetime | None
    unmatched: int


@router.get(
    "/networks/{network}/inbound-sources",
    summary="Plateformes partenaires autorisées à envoyer des événements",
    openapi_extra=performs(Action.INBOUND_MANAGE),
)
def list_sources(network: SlugPath, request: Request, who: Staff) -> list[InboundSourceOut]:
    states = inbound_views.sources(request.app.state.rt, network, by=who)
    return [InboundSourceOut(**vars(s)) for s in states]


class SecretOut(BaseModel):
    network: str
    source: str
    secret: str
    header: str


@router.post(
    "/networks/{network}/inbound-sources/{source}/secret",
    summary="Créer ou renouveler le secret d'une plateforme partenaire (affiché une fois)",
    openapi_extra=performs(Action.INBOUND_MANAGE),
)
def new_secret(network: SlugPath, source: SlugPath, request: Request, who: Staff) -> SecretOut:
    """The previous secret stops working at once."""
    secret = inbound.issue_secret(request.app.state.rt, network, source, by=who)
    return SecretOut(network=network, source=source, secret=secret, header=HEADER)


class InboundEventOut(BaseModel):
    id: int
    source: str
    event_id: str
    external_ref: str | None
    kind: str
    status: str
    label: str
    enrollment_id: int | None
    evidence_id: int | None
    received_at: datetime


@router.get(
    "/networks/{network}/inbound-events",
    summary="Événements reçus par le réseau (les plus récents d'abord)",
    openapi_extra=performs(Action.INBOUND_MANAGE),
)
def list_events(
    network: SlugPath,
    request: Request,
    who: Staff,
    statut: Annotated[
        Literal["applied", "noted", "ignored", "unmatched"] | None,
        Query(description="Seulement ce statut (unmatched : à rattacher)"),
    ] = None,
    avant: Annotated[
        int | None, Query(ge=1, le=2**62, description="Page suivante : plus ancien que ce n°")
    ] = None,
) -> list[InboundEventOut]:
    rows = inbound_views.events(request.app.state.rt, network, by=who, status=statut, before=avant)
    return [InboundEventOut(**vars(r), label=r.label) for r in rows]
