"""Comprehensive Learner Record 2.0: a participant's whole parcours as one `ClrCredential`
(W3C VC Data Model 2.0), secured as VC-JWT like the OB 3.0 credentials it holds.

The `ClrSubject` carries the person's OB 3.0 AchievementCredentials of the parcours
(`verifiableCredential`), the achievements of the pathway (its key badges and their
sub-badges, earned or not yet) and `association`s between them: a sub-badge `isChildOf` the
key badge it validates, and the badges of a stage `precede` those of the stages after it."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from engine.openbadges import ob3
from engine.openbadges.ob2 import iso

CONTEXT = [
    "https://www.w3.org/ns/credentials/v2",
    "https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
]
"""VC 2.0 first, then CLR 2.0 and OB 3.0, the order the CLR 2.0 schema requires."""

IS_CHILD_OF = "isChildOf"
"""CLR 2.0 AssociationType: the source achievement is a child of the target."""
PRECEDES = "precedes"
"""CLR 2.0 AssociationType: the source achievement comes before the target."""


def association(kind: str, source: str, target: str) -> dict[str, Any]:
    return {"type": "Association", "associationType": kind, "sourceId": source, "targetId": target}


def associations(
    children: Iterable[tuple[str, str]], order: Iterable[tuple[str, str]]
) -> list[dict[str, Any]]:
    """`isChildOf` for each (sub-badge, key badge), then `precedes` for each (earlier, later)
    pair of achievement ids; each pair once."""
    out: list[dict[str, Any]] = []
    seen: set[tuple[str, str, str]] = set()
    for kind, pairs in ((IS_CHILD_OF, children), (PRECEDES, order)):
        for source, target in pairs:
            if source != target and (kind, source, target) not in seen:
                seen.add((kind, source, target))
                out.append(association(kind, source, target))
    return out


def clr_credential(
    *,
    credential_id: str,
    name: str,
    description: str,
    issuer: dict[str, Any],
    subject_id: str | None,
    credentials: list[dict[str, Any]],
    achievements: list[dict[str, Any]],
    links: list[dict[str, Any]],
    valid_from: datetime,
) -> dict[str, Any]:
    """The unsigned ClrCredential. `credentials`: the OB 3.0 AchievementCredentials (at least
    one: the CLR 2.0 schema requires it); `links`: the associations."""
    if not credentials:
        raise ValueError("a CLR holds at least one credential")
    subject: dict[str, Any] = {"type": ["ClrSubject"]}
    if subject_id:
        subject["id"] = subject_id
    subject["verifiableCredential"] = credentials
    if achievements:
        subject["achievement"] = achievements
    if links:
        subject["association"] = links
    doc: dict[str, Any] = {
        "@context": CONTEXT,
        "id": credential_id,
        "type": ["VerifiableCredential", "ClrCredential"],
        "name": name,
        "issuer": issuer,
        "validFrom": iso(valid_from),
        "credentialSubject": subject,
        "credentialSchema": [ob3.schema("clr", "clr_v2p0_clrcredential_schema.json")],
    }
    if description:
        doc["description"] = description
    return doc
