"""Issued badges as the standards show them: hosted OB 2.0 documents, signed OB 3.0
credentials and status lists, baked images and QR codes, and the public badge page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, select
from sqlalchemy.orm import aliased
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session

from engine.errors import Conflict, NotFound
from engine.openbadges import data_integrity, ob2, ob3
from engine.openbadges.baking import bake_png, bake_svg
from engine.openbadges.images import qr_png
from engine.openbadges.status import LIST_SIZE, encode, locate
from engine.openbadges.urls import PublicUrls
from engine.roles import OrganisationKind
from engine.services import issuer_keys
from engine.services.badges import (
    IssuedBadge,
    badge_class,
    current_versions,
    load,
    public_name,
    sub_badges,
)
from engine.services.endorsements import EndorsementView, endorsement_jwt_in, endorsements_for
from engine.services.issuer_keys import active_key
from engine.services.issuing import take_status_places
from engine.services.organisations import get_organisation
from engine.services.runtime import Db, Runtime
from engine.store.tables import (
    Assertion,
    BadgeClass,
    IssuerKey,
    Organisation,
    utcnow,
)


def assertion_document(rt: Runtime, assertion_id: str, u: PublicUrls) -> tuple[int, dict]:
    """(HTTP status, JSON-LD): 200 with the assertion, or 410 Gone with its revocation reason."""
    with rt.unit_of_work() as session:
        badge = load(session, assertion_id)
        if badge.revoked:
            return 410, ob2.revoked(badge.assertion, u)
        return 200, _endorsed(
            session,
            "assertion",
            assertion_id,
            u,
            ob2.assertion(badge.assertion, badge.badge_class, u),
        )


def _endorsed(
    session: Session, kind: str, ref: str, u: PublicUrls, doc: dict[str, Any]
) -> dict[str, Any]:
    """An OB 2.0 document with the endorsements of it (`endorsement`: their URLs), so a
    verifier reaches what partners said of a badge, a badge class or an issuer."""
    found = endorsements_for(session, [(kind, ref)])[(kind, ref)]
    if found:
        doc["endorsement"] = [u.endorsement(e.id) for e in found]
    return doc


def badge_class_document(rt: Runtime, slug: str, u: PublicUrls, version: int = 1) -> dict[str, Any]:
    """The OB 2.0 BadgeClass of one version: version 1 at the unversioned URL."""
    with rt.unit_of_work() as session:
        bc = badge_class(session, slug, version)
        parts = sub_badges(bc)
        names = current_versions(session, parts)
        doc = ob2.badge_class(bc, u, [names[s][1] if s in names else s for s in parts])
        return _endorsed(session, "badge_class", slug, u, doc)


def issuer_document(rt: Runtime, slug: str, u: PublicUrls) -> dict[str, Any]:
    with rt.unit_of_work() as session:
        return _endorsed(session, "issuer", slug, u, ob2.issuer(get_organisation(session, slug), u))


def issuer_logo(rt: Runtime, slug: str) -> bytes:
    """The logo a network's file gives (PNG, checked when published)."""
    with rt.unit_of_work() as session:
        logo = get_organisation(session, slug).logo
    if logo is None:
        raise NotFound(f"« {slug} » n'a pas de logo")
    return logo


def revocation_list(rt: Runtime, slug: str, u: PublicUrls) -> dict[str, Any]:
    """The issuer's revoked badges, two columns each: at national scale an issuer may have
    revoked 86,000, and reading them as whole rows took 3 s."""
    with rt.unit_of_work() as session:
        org = get_organisation(session, slug)
        rows = session.execute(
            select(Assertion.id, Assertion.revocation_reason)
            .where(Assertion.issuer_id == org.id, Assertion.revoked_at.is_not(None))
            .order_by(Assertion.revoked_at)
        ).all()
        return ob2.revocation_list(org, rows, u)


def badge_picture(rt: Runtime, slug: str, version: int = 1) -> bytes:
    with rt.unit_of_work() as session:
        image = session.execute(
            select(BadgeClass.image).where(BadgeClass.slug == slug, BadgeClass.version == version)
        ).scalar_one_or_none()
    if image is None:
        suffix = "" if version == 1 else f" version {version}"
        raise NotFound(f"image du badge « {slug} »{suffix} introuvable")
    return image


def _status_index(session: Session, badge: IssuedBadge) -> int | None:
    """The assertion's place in its issuer's status list. Badges get theirs when issued
    (`issuing.take_status_places`); one written some other way gets the next free place on
    first use, the same way, so no read ever fails for want of one."""
    a = badge.assertion
    if a.status_index is None:
        for row in take_status_places(session, a.issuer_id, [a.id]):
            # already written: the object only learns it (no second UPDATE at flush)
            set_committed_value(a, "status_index", row.status_index)
        if a.status_index is None:  # placed meanwhile by someone else: theirs stands
            session.refresh(a)
    return a.status_index


def holder_id(badge: IssuedBadge, u: PublicUrls) -> str | None:
    """The OB 3.0 credential subject: a person's profile URL; an organisation's web address
    (a company badge), when it has one."""
    if badge.holder is not None:
        return u.profile_page(badge.holder.subject) if badge.holder.subject else None
    url = badge.holder_org.url if badge.holder_org is not None else None
    return url if url and url.startswith(("https://", "http://")) else None


def credential_jwt(
    rt: Runtime, assertion_id: str, u: PublicUrls, *, subject: str | None = None
) -> str:
    """The badge as a signed OB 3.0 OpenBadgeCredential (VC-JWT). `subject`: the holder's DID
    when the credential goes to their wallet (`engine.services.wallet`), bound to the key the
    wallet proved it holds: `credentialSubject.id` and `sub` are then that DID."""
    with rt.unit_of_work() as session:
        badge = load(session, assertion_id)
        _status_index(session, badge)
        key = active_key(session, badge.issuer, u)
        doc = ob3.credential(
            badge.assertion, badge.badge_class, badge.issuer, u, holder=holder_id(badge, u)
        )
        if subject is not None:
            doc["credentialSubject"] = {**doc["credentialSubject"], "id": subject}
        return ob3.sign(doc, key)


def credential_proofs(rt: Runtime, issuer_slug: str) -> tuple[str, ...]:
    """The proof formats the issuer's network file chooses (`credentials: {proofs: …}`)."""
    definition = rt.network_definitions().get(issuer_slug)
    return definition.credentials.proofs if definition else ("vc-jwt",)


def credential_document(rt: Runtime, assertion_id: str, u: PublicUrls) -> dict[str, Any]:
    """The OB 3.0 credential as JSON-LD, for display and schema checks: with an embedded
    `eddsa-rdfc-2022` Data Integrity proof when the issuer's network chooses `data-integrity`
    (its VC-JWT is `credential_jwt`)."""
    with rt.unit_of_work() as session:
        badge = load(session, assertion_id)
        proofs = credential_proofs(rt, badge.issuer.slug)
        _status_index(session, badge)
        doc = ob3.credential(
            badge.assertion, badge.badge_class, badge.issuer, u, holder=holder_id(badge, u)
        )
        if "data-integrity" not in proofs:
            return doc
        # the status list it points at is a VC-JWT: its issuer needs an RS256 key too
        issuer_keys.ensure_keys(session, badge.issuer, proofs)
        key = issuer_keys.proof_key(session, badge.issuer, u)
    # `credentialSchema` names its validator type 1EdTechJsonSchemaValidator2019, a term no
    # published context defines: JSON-LD would drop it, so a Data Integrity proof could not
    # cover it (openbadgeslib refuses such a credential). The VC-JWT form keeps it.
    doc.pop("credentialSchema", None)
    return data_integrity.add_proof(doc, key.key, key.verification_method, utcnow())


def achievement_document(rt: Runtime, slug: str, u: PublicUrls, version: int = 1) -> dict[str, Any]:
    """The OB 3.0 Achievement of one version: version 1 at the unversioned URL."""
    with rt.unit_of_work() as session:
        bc = badge_class(session, slug, version)
        issuer = get_organisation(session, bc.network)
        achievement = ob3.achievement(bc, issuer, u)
        found = endorsements_for(session, [("badge_class", slug)])[("badge_class", slug)]
        if found:  # the partners' EndorsementCredentials, signed by each endorser
            achievement["endorsementJwt"] = [endorsement_jwt_in(session, e.id, u) for e in found]
        return {"@context": ob3.CONTEXT, **achievement}


def profile_document(rt: Runtime, slug: str, u: PublicUrls) -> dict[str, Any]:
    with rt.unit_of_work() as session:
        org = get_organisation(session, slug)
        return ob3.profile_document(org, u, issuer_keys.verification_methods(session, org, u))


MAX_STATUS_LISTS = 100_000
"""Far more lists than an issuer will ever fill; a bound for the number in public URLs."""


def status_list_jwt(rt: Runtime, slug: str, number: int, u: PublicUrls) -> str:
    """The issuer's signed Bitstring Status List number `number`. Only issuers have lists: a
    partner or a structure gets a 404 (and no signing key made for it)."""
    if not 0 <= number < MAX_STATUS_LISTS:
        raise NotFound(f"liste de statut n° {number} introuvable")
    with rt.unit_of_work() as session:
        org = get_organisation(session, slug)
        if org.kind != OrganisationKind.NETWORK:
            raise NotFound(f"« {slug} » ne délivre pas de badges : aucune liste de statut")
        lo, hi = number * LIST_SIZE, (number + 1) * LIST_SIZE
        revoked = session.execute(
            select(Assertion.status_index).where(
                Assertion.issuer_id == org.id,
                Assertion.revoked_at.is_not(None),
                Assertion.status_index >= lo,
                Assertion.status_index < hi,
            )
        ).scalars()
        encoded = encode(locate(i)[1] for i in revoked)
        key = issuer_keys.existing_key(session, org, u)  # a read: never makes a key
        if key is None:
            raise NotFound(f"« {slug} » n'a encore rien signé : aucune liste de statut")
        return ob3.sign(ob3.status_list_credential(org, number, encoded, utcnow(), u), key)


def baked(rt: Runtime, assertion_id: str, u: PublicUrls, *, version: int = 2, svg: bool = False):
    """The badge picture with the badge inside: OB 2.0 (hosted assertion) or OB 3.0 (VC-JWT)."""
    import json

    with rt.unit_of_work() as session:
        badge = load(session, assertion_id)
    if badge.revoked:
        raise Conflict(f"le badge {badge.badge_class.name} a été révoqué : il ne peut être cuit")
    picture = badge.badge_class.image or b""
    if version == 3:
        text = credential_jwt(rt, assertion_id, u)
    else:
        doc = ob2.assertion(badge.assertion, badge.badge_class, u)
        text = json.dumps(doc, ensure_ascii=False)
    if svg:
        from engine.openbadges.images import qr_svg

        frame = qr_svg(u.page(assertion_id)).encode()
        return bake_svg(frame, text, version, u.assertion(assertion_id))  # type: ignore[arg-type]
    return bake_png(picture, text, version, checked=True)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Portable:
    """A badge as its holder carries it: the picture with the OB 2.0 assertion baked in, and
    the signed OB 3.0 credential (VC-JWT)."""

    png: bytes
    jwt: str


_ISSUER = aliased(Organisation)
_KEY = aliased(IssuerKey)


def with_issuer(query: Select, network: Any) -> Select:
    """`query` with the issuer of the badge class whose network is `network` (a column) and
    the issuer's active signing key, as `issuer_*` and `key_*` columns (`key_kid` is None
    when it has none yet): what `portable_in` needs, read in the caller's own statement."""
    return (
        query.add_columns(
            _ISSUER.id.label("issuer_id"),
            _ISSUER.slug.label("issuer_slug"),
            _ISSUER.name.label("issuer_name"),
            _ISSUER.url.label("issuer_url"),
            _ISSUER.email.label("issuer_email"),
            _ISSUER.description.label("issuer_description"),
            _ISSUER.logo.is_not(None).label("issuer_logo"),
            _KEY.kid.label("key_kid"),
            _KEY.private_pem.label("key_pem"),
        )
        .outerjoin(_ISSUER, and_(_ISSUER.slug == network, _ISSUER.kind == OrganisationKind.NETWORK))
        .outerjoin(_KEY, _KEY.id == issuer_keys.active_key_id(_ISSUER.id))
    )


@dataclass(frozen=True)
class IssuerProfile:
    """What a badge's documents show of its issuer (`ob3.profile`), read by `with_issuer`:
    the logo only as whether there is one (its URL is the issuer's)."""

    id: int
    slug: str
    name: str
    url: str | None
    email: str | None
    description: str | None
    logo: bool


def portable_in(
    db: Db, a: Any, bc: Any, found: Any, subject: str | None, u: PublicUrls
) -> Portable:
    """Both forms of a badge just issued, in the caller's transaction, from the rows its
    issuing already holds: `a` the assertion as written (status-list place included), `bc` its
    badge class, `found` a `with_issuer` row, `subject` the holder's profile subject. Nothing
    is read again; only an issuer that never signed yet gets its key made here."""
    import json

    issuer = IssuerProfile(
        found.issuer_id,
        found.issuer_slug,
        found.issuer_name,
        found.issuer_url,
        found.issuer_email,
        found.issuer_description,
        bool(found.issuer_logo),
    )
    if found.key_kid is None:
        key = active_key(db, issuer, u)  # type: ignore[arg-type]
    else:
        key = issuer_keys.signing_key(u, issuer.slug, found.key_kid, found.key_pem)
    holder = u.profile_page(subject) if subject else None
    doc = ob3.credential(a, bc, issuer, u, holder=holder)  # type: ignore[arg-type]
    text = json.dumps(ob2.assertion(a, bc, u), ensure_ascii=False)
    png = bake_png(bc.image or b"", text, 2, checked=True)
    return Portable(png, ob3.sign(doc, key))


def qr_code(rt: Runtime, assertion_id: str, u: PublicUrls) -> bytes:
    with rt.unit_of_work() as session:
        load(session, assertion_id)
    return qr_png(u.page(assertion_id))


@dataclass(frozen=True)
class PublicBadge:
    badge: IssuedBadge
    holder: str
    recommendations: list[EndorsementView]
    class_endorsements: list[EndorsementView]
    issuer_endorsements: list[EndorsementView]


def public_badge(rt: Runtime, assertion_id: str) -> PublicBadge:
    """Everything the public page shows, in one session and two queries."""
    with rt.unit_of_work() as session:
        badge = load(session, assertion_id)
        subjects = [
            ("assertion", assertion_id),
            ("badge_class", badge.badge_class.slug),
            ("issuer", badge.issuer.slug),
        ]
        found = endorsements_for(session, subjects)
    return PublicBadge(
        badge, public_name(badge.holder, badge.holder_org), *(found[s] for s in subjects)
    )
