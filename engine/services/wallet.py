"""Badges into the holder's wallet: OpenID for Verifiable Credential Issuance 1.0 (OID4VCI),
pre-authorized code flow.

The participant (from `/moi`) or their staff makes a credential offer: all the participant's
valid badges, or one. The offer carries a pre-authorized code; the wallet scans it, reads the
issuer metadata, trades the code for an access token at the token endpoint (once, before the
offer expires), takes a `c_nonce` from the nonce endpoint, and asks the credential endpoint
for each badge with a key proof (`openid4vci-proof+jwt`, signed with its own key, naming it as
a `jwk` header or a `did:jwk` `kid`). It receives the badge's OB 3.0 VC-JWT, signed by the
badge's network as every other copy, whose `credentialSubject.id` and `sub` are the wallet's
`did:jwk`. Codes, tokens and nonces are stored hashed (`CredentialOffer`, `WalletNonce`).

Errors the wallet sees are the spec's JSON error objects (`WalletError`), not problem details.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import JWKRegistry
from sqlalchemy import delete, select, update

from engine.errors import Conflict, NotFound
from engine.openbadges.keys import ALGORITHM
from engine.openbadges.urls import PublicUrls
from engine.services import access, badge_documents
from engine.services.access import Action, Actor, Target
from engine.services.badges import holder_target, load
from engine.services.runtime import Runtime
from engine.statuses import PersonKind
from engine.store.tables import (
    Assertion,
    BadgeClass,
    CredentialOffer,
    Person,
    WalletNonce,
    as_utc,
    utcnow,
)

PRE_AUTHORIZED_GRANT = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
CONFIGURATION_ID = "OpenBadgeCredential"
FORMAT = "jwt_vc_json"
PROOF_TYPE = "openid4vci-proof+jwt"
PROOF_ALGORITHMS = ("ES256", "ES384", "Ed25519", "EdDSA")
OFFER_SCHEME = "openid-credential-offer://"

OFFER_MINUTES = 30
"""How long a pre-authorized code may be redeemed: the time to scan the code on the page."""
TOKEN_MINUTES = 15
NONCE_MINUTES = 5
PROOF_SKEW = timedelta(minutes=1)
"""A key proof's `iat` may be this far in the future (clocks differ)."""
PROOF_AGE = timedelta(minutes=NONCE_MINUTES) + PROOF_SKEW

TOKEN_PATH = "/ob/oid4vci/token"
NONCE_PATH = "/ob/oid4vci/nonce"
CREDENTIAL_PATH = "/ob/oid4vci/credential"
ISSUER_METADATA_PATH = "/.well-known/openid-credential-issuer"
AS_METADATA_PATH = "/.well-known/oauth-authorization-server"


class WalletError(Exception):
    """An OID4VCI / OAuth error object: `{"error": code, "error_description": ...}`."""

    def __init__(self, code: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.code, self.description, self.status = code, description, status

    def body(self) -> dict[str, str]:
        return {"error": self.code, "error_description": self.description}


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


# --- metadata -------------------------------------------------------------------------------


def issuer_metadata(u: PublicUrls) -> dict[str, Any]:
    """The Credential Issuer Metadata (`/.well-known/openid-credential-issuer`)."""
    return {
        "credential_issuer": u.base,
        "authorization_servers": [u.base],
        "credential_endpoint": u.base + CREDENTIAL_PATH,
        "nonce_endpoint": u.base + NONCE_PATH,
        "display": [{"name": "Parcours — Open Badges de l'IAE", "locale": "fr-FR"}],
        "credential_configurations_supported": {
            CONFIGURATION_ID: {
                "format": FORMAT,
                "scope": CONFIGURATION_ID,
                "cryptographic_binding_methods_supported": ["did:jwk"],
                "credential_signing_alg_values_supported": [ALGORITHM],
                "proof_types_supported": {
                    "jwt": {"proof_signing_alg_values_supported": list(PROOF_ALGORITHMS)}
                },
                "credential_definition": {"type": ["VerifiableCredential", "OpenBadgeCredential"]},
                "credential_metadata": {
                    "display": [
                        {
                            "name": "Open Badge",
                            "locale": "fr-FR",
                            "description": "Badge numérique (Open Badges 3.0) obtenu au cours "
                            "d'un parcours d'insertion par l'activité économique",
                            "background_color": "#1d4e89",
                            "text_color": "#ffffff",
                        }
                    ]
                },
            }
        },
    }


def authorization_server_metadata(u: PublicUrls) -> dict[str, Any]:
    """RFC 8414 metadata: the issuer is its own authorization server, with the pre-authorized
    code grant only, usable without client authentication."""
    return {
        "issuer": u.base,
        "token_endpoint": u.base + TOKEN_PATH,
        "grant_types_supported": [PRE_AUTHORIZED_GRANT],
        "pre-authorized_grant_anonymous_access_supported": True,
        "response_types_supported": [],
        "token_endpoint_auth_methods_supported": ["none"],
    }


# --- the offer ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Offer:
    uri: str
    """`openid-credential-offer://?credential_offer=...`: what the QR code holds."""
    credential_offer: dict[str, Any]
    expires_at: datetime
    badges: list[tuple[str, str]]
    """(assertion id, badge name) offered."""


def create_offer(
    rt: Runtime,
    participant_id: int,
    u: PublicUrls,
    *,
    by: Actor,
    assertion_id: str | None = None,
    now: datetime | None = None,
) -> Offer:
    """An offer of the participant's valid badges (or of one), if `by` may make it: the
    participant themselves, or staff who reach each badge offered."""
    now = now or utcnow()
    with rt.unit_of_work() as session:
        person = session.get(Person, participant_id)
        if person is None or person.kind != PersonKind.PARTICIPANT or person.erased_at:
            raise NotFound(f"participant n° {participant_id} introuvable")
        access.ensure(
            session,
            by,
            Action.WALLET_OFFER,
            Target(structure_id=person.structure_id, participant_id=person.id),
        )
        query = (
            select(Assertion.id, BadgeClass.name, Assertion.revoked_at, Assertion.expires)
            .join(BadgeClass, BadgeClass.id == Assertion.badge_class_id)
            .where(Assertion.recipient_id == person.id)
            .order_by(Assertion.issued_on, Assertion.id)
        )
        if assertion_id is not None:
            query = query.where(Assertion.id == assertion_id)
        rows = session.execute(query).all()
        if assertion_id is not None and not rows:
            raise NotFound(f"badge « {assertion_id} » introuvable pour ce participant")
        valid = [
            (aid, name)
            for aid, name, revoked, expires in rows
            if revoked is None and (expires is None or as_utc(expires) > now)
        ]
        if assertion_id is not None and not valid:
            raise Conflict("ce badge est révoqué ou expiré : il ne peut aller au portefeuille")
        offered = []
        for aid, name in valid:
            target = holder_target(session, load(session, aid))
            if assertion_id is not None:
                access.ensure(session, by, Action.WALLET_OFFER, target)
            if access.check(session, by, Action.WALLET_OFFER, target) is not None:
                offered.append((aid, name))
        if not offered:
            raise Conflict("aucun badge valide à ajouter au portefeuille")
        code = secrets.token_urlsafe(32)
        expires_at = now + timedelta(minutes=OFFER_MINUTES)
        session.add(
            CredentialOffer(
                person_id=person.id,
                assertions=[aid for aid, _ in offered],
                delivered=[],
                code_hash=_digest(code),
                created_by=by.person_id,
                created_at=now,
                expires_at=expires_at,
            )
        )
    credential_offer = {
        "credential_issuer": u.base,
        "credential_configuration_ids": [CONFIGURATION_ID],
        "grants": {PRE_AUTHORIZED_GRANT: {"pre-authorized_code": code}},
    }
    text = json.dumps(credential_offer, separators=(",", ":"))
    uri = f"{OFFER_SCHEME}?credential_offer={quote(text, safe='')}"
    return Offer(uri, credential_offer, expires_at, offered)


# --- token and nonce endpoints ---------------------------------------------------------------


def redeem(rt: Runtime, form: dict[str, str], now: datetime | None = None) -> dict[str, Any]:
    """The Token Endpoint: a pre-authorized code, once and before it expires, for an access
    token; the response names each badge the wallet may then ask for (`credential_identifiers`)."""
    now = now or utcnow()
    grant = form.get("grant_type")
    if not grant:
        raise WalletError("invalid_request", "grant_type manquant")
    if grant != PRE_AUTHORIZED_GRANT:
        raise WalletError("unsupported_grant_type", "seul le code pré-autorisé est accepté")
    code = form.get("pre-authorized_code")
    if not code:
        raise WalletError("invalid_request", "pre-authorized_code manquant")
    token = secrets.token_urlsafe(32)
    with rt.unit_of_work() as session:
        changed = session.execute(
            update(CredentialOffer)
            .where(
                CredentialOffer.code_hash == _digest(code),
                CredentialOffer.redeemed_at.is_(None),
                CredentialOffer.expires_at > now,
            )
            .values(
                redeemed_at=now,
                token_hash=_digest(token),
                token_expires_at=now + timedelta(minutes=TOKEN_MINUTES),
            )
        ).rowcount
        if changed != 1:
            raise WalletError(
                "invalid_grant", "code inconnu, déjà utilisé ou expiré : créez une nouvelle offre"
            )
        assertions = session.execute(
            select(CredentialOffer.assertions).where(CredentialOffer.token_hash == _digest(token))
        ).scalar_one()
    return {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": TOKEN_MINUTES * 60,
        "authorization_details": [
            {
                "type": "openid_credential",
                "credential_configuration_id": CONFIGURATION_ID,
                "credential_identifiers": list(assertions),
            }
        ],
    }


def new_nonce(rt: Runtime, now: datetime | None = None) -> str:
    """A fresh `c_nonce` for one key proof; expired ones are dropped on the way."""
    now = now or utcnow()
    nonce = secrets.token_urlsafe(32)
    with rt.unit_of_work() as session:
        session.execute(delete(WalletNonce).where(WalletNonce.expires_at <= now))
        session.add(
            WalletNonce(
                nonce_hash=_digest(nonce), expires_at=now + timedelta(minutes=NONCE_MINUTES)
            )
        )
    return nonce


def _use_nonce(rt: Runtime, nonce: Any, now: datetime) -> None:
    if not isinstance(nonce, str) or not nonce:
        raise WalletError("invalid_nonce", "la preuve de clé doit porter un nonce (c_nonce)")
    with rt.unit_of_work() as session:
        used = session.execute(
            delete(WalletNonce).where(
                WalletNonce.nonce_hash == _digest(nonce), WalletNonce.expires_at > now
            )
        ).rowcount
    if used != 1:
        raise WalletError(
            "invalid_nonce", "nonce inconnu, expiré ou déjà utilisé : demandez-en un nouveau"
        )


# --- the key proof -------------------------------------------------------------------------


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def did_jwk(jwk: dict[str, Any]) -> str:
    """The `did:jwk` of a public key."""
    text = json.dumps(jwk, separators=(",", ":"), sort_keys=True)
    return "did:jwk:" + base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


_PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "k"}


def _holder_key(header: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """(public JWK, holder DID) named by a proof's header: `jwk`, or a `did:jwk` `kid`."""
    if ("jwk" in header) == ("kid" in header) or "x5c" in header:
        raise WalletError("invalid_proof", "la preuve doit nommer sa clé par jwk ou par kid")
    if "jwk" in header:
        jwk = header["jwk"]
        if not isinstance(jwk, dict):
            raise WalletError("invalid_proof", "jwk illisible")
        did = None
    else:
        kid = header["kid"]
        if not isinstance(kid, str) or not kid.startswith("did:jwk:"):
            raise WalletError("invalid_proof", "seul un kid did:jwk est accepté")
        did, _, fragment = kid.partition("#")
        if fragment not in ("", "0"):
            raise WalletError("invalid_proof", "kid did:jwk : fragment #0 attendu")
        try:
            jwk = json.loads(_b64decode(did.removeprefix("did:jwk:")))
        except (ValueError, binascii.Error):
            raise WalletError("invalid_proof", "kid did:jwk illisible") from None
        if not isinstance(jwk, dict):
            raise WalletError("invalid_proof", "kid did:jwk illisible")
    if set(jwk) & _PRIVATE_MEMBERS:
        raise WalletError("invalid_proof", "la clé de la preuve doit être une clé publique")
    return jwk, did or did_jwk(jwk)


def check_proof(rt: Runtime, proof: Any, u: PublicUrls, now: datetime | None = None) -> str:
    """The holder's DID, if `proof` is a valid `openid4vci-proof+jwt` for this issuer signed
    by the key it names and carrying an unused nonce (which it uses up); else WalletError."""
    now = now or utcnow()
    if not isinstance(proof, str) or proof.count(".") != 2:
        raise WalletError("invalid_proof", "preuve de clé JWT attendue")
    try:
        header = dict(jws.extract_compact(proof.encode()).protected)
    except (JoseError, ValueError, TypeError):
        raise WalletError("invalid_proof", "preuve de clé illisible") from None
    if header.get("typ") != PROOF_TYPE:
        raise WalletError("invalid_proof", f"typ de la preuve : {PROOF_TYPE} attendu")
    alg = header.get("alg")
    if alg not in PROOF_ALGORITHMS:
        raise WalletError("invalid_proof", f"algorithme de preuve non accepté : {alg}")
    jwk, did = _holder_key(header)
    try:
        key = JWKRegistry.import_key(jwk)
        claims = json.loads(jws.deserialize_compact(proof, key, algorithms=[alg]).payload)
    except (JoseError, ValueError, TypeError):
        raise WalletError("invalid_proof", "signature de la preuve invalide") from None
    if not isinstance(claims, dict):
        raise WalletError("invalid_proof", "contenu de la preuve illisible")
    aud = claims.get("aud")
    if not (aud == u.base or (isinstance(aud, list) and u.base in aud)):
        raise WalletError("invalid_proof", f"aud de la preuve : {u.base} attendu")
    iat = claims.get("iat")
    if not isinstance(iat, int | float) or isinstance(iat, bool):
        raise WalletError("invalid_proof", "iat manquant dans la preuve")
    stamp = now.timestamp()
    if iat > stamp + PROOF_SKEW.total_seconds() or iat < stamp - PROOF_AGE.total_seconds():
        raise WalletError("invalid_proof", "preuve trop ancienne ou datée du futur")
    _use_nonce(rt, claims.get("nonce"), now)
    return did


# --- the credential endpoint ---------------------------------------------------------------


def _offer_of(rt: Runtime, authorization: str | None, now: datetime) -> CredentialOffer:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise WalletError("invalid_token", "jeton d'accès manquant", 401)
    with rt.unit_of_work() as session:
        offer = session.execute(
            select(CredentialOffer).where(CredentialOffer.token_hash == _digest(token.strip()))
        ).scalar_one_or_none()
        if offer is None or offer.token_expires_at is None:
            raise WalletError("invalid_token", "jeton d'accès inconnu", 401)
        if as_utc(offer.token_expires_at) <= now:
            raise WalletError("invalid_token", "jeton d'accès expiré", 401)
        session.expunge(offer)
    return offer


def _chosen(offer: CredentialOffer, body: dict[str, Any]) -> str:
    identifier = body.get("credential_identifier")
    configuration = body.get("credential_configuration_id")
    if (identifier is None) == (configuration is None):
        raise WalletError(
            "invalid_credential_request",
            "credential_identifier ou credential_configuration_id attendu (un seul)",
        )
    if identifier is not None:
        if identifier not in offer.assertions:
            raise WalletError("unknown_credential_identifier", "badge absent de cette offre")
        return str(identifier)
    if configuration != CONFIGURATION_ID:
        raise WalletError("unknown_credential_configuration", f"seul {CONFIGURATION_ID} existe")
    waiting = [a for a in offer.assertions if a not in (offer.delivered or [])]
    return (waiting or offer.assertions)[0]


def _proof_of(body: dict[str, Any]) -> Any:
    proofs = body.get("proofs")
    if proofs is None and isinstance(body.get("proof"), dict):  # drafts before 1.0
        legacy = body["proof"]
        if legacy.get("proof_type") != "jwt":
            raise WalletError("invalid_proof", "seul le type de preuve jwt est accepté")
        return legacy.get("jwt")
    if not isinstance(proofs, dict) or not proofs:
        raise WalletError("invalid_proof", "preuve de possession de clé (proofs.jwt) manquante")
    if set(proofs) != {"jwt"}:
        raise WalletError("invalid_proof", "seul le type de preuve jwt est accepté")
    items = proofs["jwt"]
    if not isinstance(items, list) or len(items) != 1:
        raise WalletError("invalid_credential_request", "une seule preuve par demande")
    return items[0]


def issue(
    rt: Runtime,
    authorization: str | None,
    body: Any,
    u: PublicUrls,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The Credential Endpoint: one badge of the offer the access token opened, as an OB 3.0
    VC-JWT whose subject is the DID of the key the wallet proved it holds."""
    now = now or utcnow()
    offer = _offer_of(rt, authorization, now)
    if not isinstance(body, dict):
        raise WalletError("invalid_credential_request", "objet JSON attendu")
    assertion_id = _chosen(offer, body)
    did = check_proof(rt, _proof_of(body), u, now)
    with rt.unit_of_work() as session:
        badge = load(session, assertion_id)
        holder = badge.holder
        if badge.revoked or badge.expired(now):
            raise WalletError("credential_request_denied", "ce badge est révoqué ou expiré")
        if holder is None or holder.id != offer.person_id or holder.erased_at is not None:
            raise WalletError("credential_request_denied", "ce badge n'est plus disponible")
    credential = badge_documents.credential_jwt(rt, assertion_id, u, subject=did)
    with rt.unit_of_work() as session:
        row = session.get(CredentialOffer, offer.id)
        if row is not None and assertion_id not in row.delivered:
            row.delivered = [*row.delivered, assertion_id]
    return {"credentials": [{"credential": credential}]}
