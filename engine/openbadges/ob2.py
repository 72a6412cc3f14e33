"""Open Badges 2.0 hosted documents (JSON-LD): Issuer Profile, BadgeClass, Assertion,
RevocationList and Endorsement, exactly as verifiers and backpacks fetch them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from engine.openbadges.urls import PublicUrls
from engine.store.tables import Assertion, BadgeClass, Endorsement, Organisation, as_utc

CONTEXT = "https://w3id.org/openbadges/v2"
CONTENT_TYPE = "application/ld+json"


def iso(moment: datetime) -> str:
    return as_utc(moment).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def issuer(org: Organisation, urls: PublicUrls) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "@context": CONTEXT,
        "type": "Issuer",
        "id": urls.issuer(org.slug),
        "name": org.name,
        "url": org.url or urls.base,
        "revocationList": urls.revocations(org.slug),
    }
    if org.email:
        doc["email"] = org.email
    if org.description:
        doc["description"] = org.description
    if org.logo:
        doc["image"] = urls.issuer_logo(org.slug)
    return doc


def badge_class(
    bc: BadgeClass, urls: PublicUrls, related: list[str] | None = None
) -> dict[str, Any]:
    narrative = bc.criteria
    if related:
        narrative += "\n\nBadges constitutifs : " + ", ".join(related) + "."
    doc: dict[str, Any] = {
        "@context": CONTEXT,
        "type": "BadgeClass",
        "id": urls.badge_class(bc.slug, bc.version),
        "name": bc.name,
        "description": bc.description,
        "image": urls.badge_image(bc.slug, bc.version),
        "criteria": {"narrative": narrative},
        "issuer": urls.issuer(bc.network),
        "tags": list(bc.tags),
    }
    if bc.alignments:
        doc["alignment"] = [
            {k: v for k, v in a.items() if k in _ALIGNMENT_FIELDS} for a in bc.alignments
        ]
    return doc


_ALIGNMENT_FIELDS = (
    "targetName",
    "targetUrl",
    "targetDescription",
    "targetFramework",
    "targetCode",
)


def evidence(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for item in items:
        entry: dict[str, Any] = {}
        if item.get("url"):
            entry["id"] = item["url"]
        for key in ("narrative", "name", "description", "genre"):
            if item.get(key):
                entry[key] = item[key]
        if entry:
            out.append(entry)
    return out


def replaced_evidence(previous: str) -> dict[str, Any]:
    """The Evidence (OB 2.0 and 3.0 alike) by which a reissued badge names the one it replaces:
    re-bound to an e-mail given later, or renewed."""
    return {
        "id": previous,
        "name": "Badge remplacé",
        "description": "Ce badge remplace le précédent : même badge, délivré à nouveau.",
    }


def recipient(a: Assertion) -> dict[str, Any]:
    """The hashed IdentityObject fixed at issue time: the e-mail, the telephone (E.164) or the
    holder's profile URL (`url`; `urn:uuid:<assertion id>` for badges issued before profiles)."""
    return {
        "type": a.recipient_type,
        "hashed": True,
        "salt": a.salt,
        "identity": a.recipient_identity,
    }


def assertion(a: Assertion, bc: BadgeClass, urls: PublicUrls) -> dict[str, Any]:
    """`bc` is the assertion's own badge class row (the version it was issued under), not
    the one active today."""
    doc: dict[str, Any] = {
        "@context": CONTEXT,
        "type": "Assertion",
        "id": urls.assertion(a.id),
        "recipient": recipient(a),
        "badge": urls.badge_class(bc.slug, bc.version),
        "issuedOn": iso(a.issued_on),
        "image": urls.baked(a.id),
        "verification": {"type": "hosted"},
    }
    if a.evidence and (items := evidence(a.evidence)):
        doc["evidence"] = items
    if a.replaces:
        doc.setdefault("evidence", []).append(replaced_evidence(urls.assertion(a.replaces)))
    if a.expires:
        doc["expires"] = iso(a.expires)
    return doc


def revoked(a: Assertion, urls: PublicUrls) -> dict[str, Any]:
    """What a revoked hosted assertion answers (with HTTP 410), per the OB 2.0 spec."""
    return {
        "@context": CONTEXT,
        "type": "Assertion",
        "id": urls.assertion(a.id),
        "revoked": True,
        "revocationReason": a.revocation_reason or "",
    }


def revocation_list(
    org: Organisation, revoked: Sequence[tuple[str, str | None]], urls: PublicUrls
) -> dict:
    """`revoked`: (assertion id, reason) of each revoked badge."""
    return {
        "@context": CONTEXT,
        "type": "RevocationList",
        "id": urls.revocations(org.slug),
        "issuer": urls.issuer(org.slug),
        "revokedAssertions": [
            {"id": urls.assertion(assertion_id), "revocationReason": reason or ""}
            for assertion_id, reason in revoked
        ],
    }


def endorsement(e: Endorsement, endorser_slug: str, subject_url: str, urls: PublicUrls) -> dict:
    return {
        "@context": CONTEXT,
        "type": "Endorsement",
        "id": urls.endorsement(e.id),
        "claim": {"id": subject_url, "endorsementComment": e.comment},
        "issuer": urls.issuer(endorser_slug),
        "issuedOn": iso(e.issued_on),
        "verification": {"type": "hosted"},
    }
