"""Wallets: OpenID for Verifiable Credential Issuance 1.0, pre-authorized code flow
(`engine.services.wallet`). The issuer and authorization server metadata, the token, nonce and
credential endpoints a wallet calls (errors as the spec's JSON error objects, never cached),
and the API that makes a credential offer for a participant."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from engine.api import auth
from engine.api.params import RowId, line, performs
from engine.services import wallet
from engine.services.access import Action, Actor

router = APIRouter()
NO_STORE = {"Cache-Control": "no-store"}
Anyone = Annotated[Actor, Depends(auth.required)]
BadgeRef = line(36)


def _answer(body: dict[str, Any], status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=NO_STORE)


def _refused(exc: wallet.WalletError) -> JSONResponse:
    headers = dict(NO_STORE)
    if exc.status == 401:
        headers["WWW-Authenticate"] = f'Bearer error="{exc.code}"'
    return JSONResponse(exc.body(), status_code=exc.status, headers=headers)


@router.get(
    wallet.ISSUER_METADATA_PATH,
    tags=["Portefeuilles (OpenID4VCI)"],
    openapi_extra=performs(Action.PUBLIC_READ),
)
def issuer_metadata(request: Request) -> JSONResponse:
    return JSONResponse(wallet.issuer_metadata(request.app.state.urls))


@router.get(
    wallet.AS_METADATA_PATH,
    tags=["Portefeuilles (OpenID4VCI)"],
    openapi_extra=performs(Action.PUBLIC_READ),
)
def authorization_server_metadata(request: Request) -> JSONResponse:
    return JSONResponse(wallet.authorization_server_metadata(request.app.state.urls))


@router.post(
    wallet.TOKEN_PATH,
    tags=["Portefeuilles (OpenID4VCI)"],
    openapi_extra=performs(Action.PUBLIC_READ),
)
async def token(request: Request) -> JSONResponse:
    """Token Endpoint (form-encoded): the pre-authorized code, once, for an access token. The
    code itself is the authorization."""
    try:
        form = await request.form()
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        return _answer(wallet.redeem(request.app.state.rt, fields))
    except wallet.WalletError as exc:
        return _refused(exc)
    except (ValueError, UnicodeDecodeError):
        return _refused(wallet.WalletError("invalid_request", "formulaire illisible"))


@router.post(
    wallet.NONCE_PATH,
    tags=["Portefeuilles (OpenID4VCI)"],
    openapi_extra=performs(Action.PUBLIC_READ),
)
def nonce(request: Request) -> JSONResponse:
    """Nonce Endpoint: a fresh `c_nonce` for the next key proof."""
    return _answer({"c_nonce": wallet.new_nonce(request.app.state.rt)})


@router.post(
    wallet.CREDENTIAL_PATH,
    tags=["Portefeuilles (OpenID4VCI)"],
    openapi_extra=performs(Action.PUBLIC_READ),
)
async def credential(request: Request) -> JSONResponse:
    """Credential Endpoint: the access token opens the offer, the key proof binds the badge to
    the wallet's key. The access token is the authorization."""
    rt, u = request.app.state.rt, request.app.state.urls
    try:
        raw = await request.body()
        try:
            body = json.loads(raw) if raw else None
        except (ValueError, UnicodeDecodeError):
            body = None
        authorization = request.headers.get("authorization")
        return _answer(wallet.issue(rt, authorization, body, u))
    except wallet.WalletError as exc:
        return _refused(exc)


class NewOffer(BaseModel):
    badge: BadgeRef | None = Field(
        default=None, description="Un seul badge (identifiant) ; sinon tous les badges valides"
    )


class OfferedBadge(BaseModel):
    id: str
    name: str


class OfferAnswer(BaseModel):
    uri: str = Field(description="openid-credential-offer://… : à montrer en QR code")
    credential_offer: dict[str, Any]
    expires_at: datetime
    badges: list[OfferedBadge]


@router.post(
    "/api/v1/participants/{participant_id}/wallet-offers",
    tags=["Participants"],
    status_code=201,
    summary="Proposer des badges au portefeuille du participant (OpenID4VCI)",
    openapi_extra=performs(Action.WALLET_OFFER),
)
def create_offer(
    participant_id: RowId, request: Request, who: Anyone, body: NewOffer | None = None
) -> OfferAnswer:
    offer = wallet.create_offer(
        request.app.state.rt,
        participant_id,
        request.app.state.urls,
        by=who,
        assertion_id=body.badge if body else None,
    )
    return OfferAnswer(
        uri=offer.uri,
        credential_offer=offer.credential_offer,
        expires_at=offer.expires_at,
        badges=[OfferedBadge(id=i, name=n) for i, n in offer.badges],
    )
