"""Open Badges 3.0: OpenBadgeCredential and EndorsementCredential (W3C VC Data Model 2.0),
secured as VC-JWT (RS256) with a Bitstring Status List entry for revocation."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from joserfc import jws
from joserfc.jwk import RSAKey

from engine.openbadges.data_integrity import MULTIKEY_CONTEXT
from engine.openbadges.keys import ALGORITHM, SigningKey
from engine.openbadges.ob2 import evidence as ob2_evidence
from engine.openbadges.ob2 import iso, replaced_evidence
from engine.openbadges.status import locate
from engine.openbadges.urls import PublicUrls
from engine.store.tables import Assertion, BadgeClass, Endorsement, Organisation

CONTEXT = [
    "https://www.w3.org/ns/credentials/v2",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
]
CONTENT_TYPE = "text/plain"
"""The OB 3.0 spec: a VC-JWT served as a web resource is the compact JWS, as text/plain."""


def profile(org: Organisation, urls: PublicUrls) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": urls.profile3(org.slug),
        "type": ["Profile"],
        "name": org.name,
        "url": org.url or urls.base,
    }
    if org.email:
        doc["email"] = org.email
    if org.description:
        doc["description"] = org.description
    if org.logo:
        doc["image"] = {"id": urls.issuer_logo(org.slug), "type": "Image"}
    return doc


def profile_document(
    org: Organisation, urls: PublicUrls, methods: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The issuer's Profile; `methods`: its Ed25519 keys as Multikey verification methods,
    which the Data Integrity proofs of its credentials name (`assertionMethod`)."""
    if not methods:
        return {"@context": CONTEXT, **profile(org, urls)}
    return {
        "@context": [*CONTEXT, MULTIKEY_CONTEXT],
        **profile(org, urls),
        "verificationMethod": methods,
        "assertionMethod": [m["id"] for m in methods],
    }


COMPETENCY_TAGS = frozenset({"savoir-être", "savoir-faire", "compétence"})
"""Tags that make a badge a `Competency` when its catalogue entry gives no achievementType."""


def achievement_type(bc: BadgeClass) -> str:
    """The catalogue's achievementType, else `Competency` for a savoir-être or savoir-faire badge
    without sub-badges, else `Badge` (a key badge made of sub-badges included)."""
    if bc.achievement_type:
        return bc.achievement_type
    if not bc.requires and COMPETENCY_TAGS.intersection(bc.tags or []):
        return "Competency"
    return "Badge"


def achievement(bc: BadgeClass, issuer: Organisation, urls: PublicUrls) -> dict[str, Any]:
    """The Achievement of one badge class version. Its sub-badges are not `related` (in OB 3.0
    that is another language or edition of the same achievement): OB 2.0 names them in the
    criteria, a CLR 2.0 links them with `isChildOf` associations (`engine.openbadges.clr`)."""
    doc: dict[str, Any] = {
        "id": urls.achievement(bc.slug, bc.version),
        "type": ["Achievement"],
        "achievementType": achievement_type(bc),
        "name": bc.name,
        "description": bc.description,
        "criteria": {"narrative": bc.criteria},
        "image": {"id": urls.badge_image(bc.slug, bc.version), "type": "Image"},
        "creator": profile(issuer, urls),
        "inLanguage": "fr",
    }
    if bc.tags:
        doc["tag"] = list(bc.tags)
    if bc.alignments:
        doc["alignment"] = [{"type": ["Alignment"], **a} for a in bc.alignments]
    return doc


def status_entry(issuer_slug: str, index: int, urls: PublicUrls) -> dict[str, Any]:
    number, position = locate(index)
    list_url = urls.status_list(issuer_slug, number)
    return {
        "id": f"{list_url}#{position}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": str(position),
        "statusListCredential": list_url,
    }


IDENTITY_TYPES = {"email": "emailAddress", "telephone": "ext:telephone"}
"""OB 2.0 recipient types as OB 3.0 IdentifierTypeEnum values (`ext:` extends the enum)."""


def credential_subject(
    a: Assertion, bc: BadgeClass, issuer: Organisation, urls: PublicUrls, holder: str | None
) -> dict[str, Any]:
    """The AchievementSubject. `holder`: the holder's profile URL (`/profils/<subject>`), its
    `id` (hence the VC-JWT `sub`); the hashed e-mail or telephone the badge was issued to
    follows as an `identifier`. A URL identity needs none: the `id` is that URL (and a badge
    issued before profiles existed hashed `urn:uuid:<id>`, which identifies nobody)."""
    subject: dict[str, Any] = {"type": ["AchievementSubject"]}
    if holder:
        subject["id"] = holder
    identity_type = IDENTITY_TYPES.get(a.recipient_type)
    if identity_type is None and not holder:
        identity_type = "identifier"  # an organisation's web address, hashed
    if identity_type and a.recipient_identity:
        subject["identifier"] = [
            {
                "type": "IdentityObject",
                "hashed": True,
                "identityHash": a.recipient_identity,
                "identityType": identity_type,
                "salt": a.salt,
            }
        ]
    subject["achievement"] = achievement(bc, issuer, urls)
    return subject


def credential(
    a: Assertion,
    bc: BadgeClass,
    issuer: Organisation,
    urls: PublicUrls,
    *,
    holder: str | None = None,
) -> dict[str, Any]:
    """`bc` is the assertion's own badge class row (the version it was issued under); `holder`
    the credential subject's id (see `credential_subject`)."""
    doc: dict[str, Any] = {
        "@context": CONTEXT,
        "id": urls.credential(a.id),
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": bc.name,
        "description": bc.description,
        "issuer": profile(issuer, urls),
        "validFrom": iso(a.issued_on),
        "awardedDate": iso(a.issued_on),
        "credentialSubject": credential_subject(a, bc, issuer, urls, holder),
        "image": {"id": urls.badge_image(bc.slug, bc.version), "type": "Image"},
        "credentialSchema": [schema("ob", "ob_v3p0_achievementcredential_schema.json")],
    }
    if a.expires:
        doc["validUntil"] = iso(a.expires)
    if a.evidence and (items := ob2_evidence(a.evidence)):
        doc["evidence"] = [{"type": ["Evidence"], **item} for item in items]
    if a.replaces:  # a reissued badge points at the one it replaces (revoked, history kept)
        doc.setdefault("evidence", []).append(
            {"type": ["Evidence"], **replaced_evidence(urls.credential(a.replaces))}
        )
    if a.status_index is not None:
        doc["credentialStatus"] = status_entry(issuer.slug, a.status_index, urls)
    return doc


def status_list_credential(
    issuer: Organisation, number: int, encoded: str, now: datetime, urls: PublicUrls
) -> dict[str, Any]:
    list_url = urls.status_list(issuer.slug, number)
    return {
        "@context": [CONTEXT[0]],
        "id": list_url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": urls.profile3(issuer.slug),
        "validFrom": iso(now),
        "credentialSubject": {
            "id": f"{list_url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": "revocation",
            "encodedList": encoded,
        },
    }


def schema(spec: str, name: str) -> dict[str, str]:
    """The 1EdTech JSON Schema a credential conforms to (`credentialSchema`), as the OB 3.0 and
    CLR 2.0 specifications name them; verifiers may validate against it."""
    version = "ob/v3p0" if spec == "ob" else "clr/v2p0"
    return {
        "id": f"https://purl.imsglobal.org/spec/{version}/schema/json/{name}",
        "type": "1EdTechJsonSchemaValidator2019",
    }


def endorsement_credential(
    e: Endorsement, endorser: Organisation, subject_id: str, subject_name: str, urls: PublicUrls
) -> dict[str, Any]:
    kind = "Recommandation" if e.subject_kind == "assertion" else "Soutien"
    return {
        "@context": CONTEXT,
        "id": urls.endorsement3(e.id),
        "type": ["VerifiableCredential", "EndorsementCredential"],
        "name": f"{kind} de {endorser.name} : {subject_name}",
        "issuer": profile(endorser, urls),
        "validFrom": iso(e.issued_on),
        "credentialSubject": {
            "id": subject_id,
            "type": ["EndorsementSubject"],
            "endorsementComment": e.comment,
        },
        "credentialSchema": [schema("ob", "ob_v3p0_endorsementcredential_schema.json")],
    }


def sign(doc: dict[str, Any], key: SigningKey) -> str:
    """VC-JWT: the credential is the JWT payload, with the registered claims the OB 3.0 spec maps
    from it (iss, jti, nbf, exp, sub)."""
    claims: dict[str, Any] = dict(doc)
    issuer = doc["issuer"]
    claims["iss"] = issuer["id"] if isinstance(issuer, dict) else issuer
    claims["jti"] = doc["id"]
    claims["nbf"] = int(datetime.fromisoformat(doc["validFrom"]).timestamp())
    if "validUntil" in doc:
        claims["exp"] = int(datetime.fromisoformat(doc["validUntil"]).timestamp())
    subject_id = doc.get("credentialSubject", {}).get("id")
    if subject_id:
        claims["sub"] = subject_id
    header = {"alg": ALGORITHM, "typ": "JWT", "kid": key.kid_url}
    payload = json.dumps(claims, ensure_ascii=False, separators=(",", ":")).encode()
    return jws.serialize_compact(header, payload, key.key, algorithms=[ALGORITHM])


def unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(header, payload) of a VC-JWT without checking it: to find the key to check it with."""
    obj = jws.extract_compact(token.encode() if isinstance(token, str) else token)
    return dict(obj.protected), json.loads(obj.payload)


def verify(token: str, key: RSAKey) -> dict[str, Any]:
    """The payload if the signature holds; raises joserfc's BadSignatureError otherwise."""
    obj = jws.deserialize_compact(token, key, algorithms=[ALGORITHM])
    return json.loads(obj.payload)
