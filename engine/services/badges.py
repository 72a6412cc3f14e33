"""Issued badges seen from outside: hosted OB 2.0 documents, signed OB 3.0 credentials, baked
images, revocation, issuer keys, endorsements and recommendations."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased
from sqlmodel import Session

from engine.errors import Conflict, Forbidden, InvalidInput, NotFound
from engine.openbadges import keys, ob2, ob3
from engine.openbadges.baking import bake_png, bake_svg
from engine.openbadges.images import qr_png
from engine.openbadges.status import LIST_SIZE, encode, locate
from engine.openbadges.urls import PublicUrls, public_base_url
from engine.roles import OrganisationKind
from engine.services import access
from engine.services.access import Action, Actor, Target
from engine.services.organisations import get_organisation
from engine.services.outbox import queue_email
from engine.services.runtime import Runtime
from engine.store.tables import (
    Assertion,
    AuditEvent,
    BadgeClass,
    Endorsement,
    Enrollment,
    IssuerKey,
    Organisation,
    Person,
    RecommendationRequest,
    Share,
    as_utc,
    utcnow,
)


def urls(public_url: str | None = None) -> PublicUrls:
    return PublicUrls(public_base_url(public_url))


@dataclass(frozen=True)
class IssuedBadge:
    """An assertion with its badge class, issuer and holder, loaded together."""

    assertion: Assertion
    badge_class: BadgeClass
    issuer: Organisation
    holder: Person | None
    related: list[str]
    holder_org: Organisation | None = None
    """Set instead of `holder` for a badge recognising an organisation."""

    @property
    def revoked(self) -> bool:
        return self.assertion.revoked_at is not None

    def expired(self, now: datetime) -> bool:
        expires = self.assertion.expires
        return expires is not None and as_utc(expires) <= now


def _related(bc: BadgeClass) -> list[str]:
    return list((bc.requires or {}).get("badges", []))


_HOLDER_ORG = aliased(Organisation)


# Statements built once: building them per call cost more than running them.
_LOAD = (
    select(Assertion, BadgeClass, Organisation, Person, _HOLDER_ORG)
    .join(BadgeClass, BadgeClass.id == Assertion.badge_class_id)
    .join(Organisation, Organisation.id == Assertion.issuer_id)
    .outerjoin(Person, Person.id == Assertion.recipient_id)
    .outerjoin(_HOLDER_ORG, _HOLDER_ORG.id == Assertion.recipient_org_id)
    .where(Assertion.id == bindparam("aid"))
)


MAX_STATUS_LISTS = 100_000
"""Far more lists than an issuer will ever fill; a bound for the number in public URLs."""


def _holder_target(session: Session, badge: IssuedBadge) -> Target:
    """Whose badge it is, for the access rule: the holder's structure (the enrollment's when
    it was earned on a parcours), the holder, and the badge's network."""
    structure_id = None
    if badge.assertion.enrollment_id is not None:
        structure_id = session.get(Enrollment, badge.assertion.enrollment_id).structure_id  # type: ignore[union-attr]
    elif badge.holder is not None:
        structure_id = badge.holder.structure_id
    return Target(
        structure_id=structure_id,
        network=badge.badge_class.network,
        participant_id=badge.assertion.recipient_id,
    )


def load(session: Session, assertion_id: str) -> IssuedBadge:
    row = session.execute(_LOAD, {"aid": assertion_id}).one_or_none()
    if row is None:
        raise NotFound(f"badge « {assertion_id} » introuvable")
    a, bc, org, person, holder_org = row
    return IssuedBadge(a, bc, org, person, _related(bc), holder_org)


def person_held(badge: IssuedBadge) -> Person:
    """The holder of a person's badge; recommendations and links concern people only."""
    if badge.holder is None:
        raise InvalidInput("ce badge reconnaît une organisation, pas une personne")
    return badge.holder


def badge_class(session: Session, slug: str) -> BadgeClass:
    bc = session.execute(select(BadgeClass).where(BadgeClass.slug == slug)).scalar_one_or_none()
    if bc is None:
        raise NotFound(f"badge « {slug} » introuvable")
    return bc


# --- OB 2.0 hosted documents -------------------------------------------------------------


def assertion_document(rt: Runtime, assertion_id: str, u: PublicUrls) -> tuple[int, dict]:
    """(HTTP status, JSON-LD): 200 with the assertion, or 410 Gone with its revocation reason."""
    with rt.unit_of_work() as session:
        badge = load(session, assertion_id)
    if badge.revoked:
        return 410, ob2.revoked(badge.assertion, u)
    return 200, ob2.assertion(badge.assertion, badge.badge_class.slug, u)


def badge_class_document(rt: Runtime, slug: str, u: PublicUrls) -> dict[str, Any]:
    with rt.unit_of_work() as session:
        bc = badge_class(session, slug)
        return ob2.badge_class(bc, u, [_name(session, s) for s in _related(bc)])


def _name(session: Session, slug: str) -> str:
    return session.execute(select(BadgeClass.name).where(BadgeClass.slug == slug)).scalar() or slug


def issuer_document(rt: Runtime, slug: str, u: PublicUrls) -> dict[str, Any]:
    with rt.unit_of_work() as session:
        return ob2.issuer(get_organisation(session, slug), u)


def revocation_list(rt: Runtime, slug: str, u: PublicUrls) -> dict[str, Any]:
    with rt.unit_of_work() as session:
        org = get_organisation(session, slug)
        rows = list(
            session.execute(
                select(Assertion)
                .where(Assertion.issuer_id == org.id, Assertion.revoked_at.is_not(None))
                .order_by(Assertion.revoked_at)
            ).scalars()
        )
        return ob2.revocation_list(org, rows, u)


def badge_picture(rt: Runtime, slug: str) -> bytes:
    with rt.unit_of_work() as session:
        image = session.execute(
            select(BadgeClass.image).where(BadgeClass.slug == slug)
        ).scalar_one_or_none()
    if image is None:
        raise NotFound(f"image du badge « {slug} » introuvable")
    return image


# --- keys -------------------------------------------------------------------------------


def _active_key(session: Session, org: Organisation, u: PublicUrls) -> keys.SigningKey:
    row = session.execute(
        select(IssuerKey)
        .where(IssuerKey.organisation_id == org.id, IssuerKey.retired_at.is_(None))
        .order_by(IssuerKey.created_at.desc(), IssuerKey.id.desc())
    ).first()
    row_obj = row[0] if row is not None else _new_key(session, org, utcnow())
    return keys.SigningKey(u.key(org.slug, row_obj.kid), keys.load_private(row_obj.private_pem))


def _new_key(session: Session, org: Organisation, now: datetime) -> IssuerKey:
    new = keys.generate()
    row = IssuerKey(
        organisation_id=org.id,
        kid=new.kid,
        algorithm=keys.ALGORITHM,
        public_jwk=new.public_jwk,
        private_pem=new.private_pem,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row


def rotate_key(rt: Runtime, slug: str, now: datetime | None = None) -> str:
    """Retire the issuer's signing key and make a new one; returns the new key id. What the old
    key signed still verifies: retired keys stay published."""
    now = now or utcnow()
    with rt.unit_of_work() as session:
        org = get_organisation(session, slug)
        session.execute(
            update(IssuerKey)
            .where(IssuerKey.organisation_id == org.id, IssuerKey.retired_at.is_(None))
            .values(retired_at=now)
        )
        new = _new_key(session, org, now)
        return new.kid


def public_key(rt: Runtime, slug: str, kid: str) -> dict[str, Any]:
    with rt.unit_of_work() as session:
        org = get_organisation(session, slug)
        jwk = session.execute(
            select(IssuerKey.public_jwk).where(
                IssuerKey.organisation_id == org.id, IssuerKey.kid == kid
            )
        ).scalar_one_or_none()
    if jwk is None:
        raise NotFound(f"clé « {kid} » introuvable pour « {slug} »")
    return jwk


def jwks(rt: Runtime, slug: str) -> dict[str, Any]:
    with rt.unit_of_work() as session:
        org = get_organisation(session, slug)
        found = session.execute(
            select(IssuerKey.public_jwk)
            .where(IssuerKey.organisation_id == org.id)
            .order_by(IssuerKey.created_at)
        ).scalars()
        return {"keys": list(found)}


# --- OB 3.0 credentials -----------------------------------------------------------------


def _status_index(session: Session, badge: IssuedBadge) -> int:
    """Give the assertion its place in the issuer's status list, once; a concurrent signer
    taking the same place makes us retry with the next."""
    a = badge.assertion
    for _ in range(20):
        if a.status_index is not None:
            return a.status_index
        nxt = session.execute(
            select(func.coalesce(func.max(Assertion.status_index), -1) + 1).where(
                Assertion.issuer_id == a.issuer_id
            )
        ).scalar_one()
        try:
            with session.begin_nested():
                changed = session.execute(
                    update(Assertion)
                    .where(Assertion.id == a.id, Assertion.status_index.is_(None))
                    .values(status_index=nxt)
                ).rowcount
        except IntegrityError:
            continue
        if changed:
            a.status_index = nxt
        else:
            session.refresh(a)
    raise Conflict("liste de statut saturée de demandes simultanées : réessayez")


def credential_jwt(rt: Runtime, assertion_id: str, u: PublicUrls) -> str:
    """The badge as a signed OB 3.0 OpenBadgeCredential (VC-JWT)."""
    with rt.unit_of_work() as session:
        badge = load(session, assertion_id)
        _status_index(session, badge)
        key = _active_key(session, badge.issuer, u)
        doc = ob3.credential(badge.assertion, badge.badge_class, badge.issuer, u, badge.related)
        return ob3.sign(doc, key)


def credential_document(rt: Runtime, assertion_id: str, u: PublicUrls) -> dict[str, Any]:
    """The unsigned OB 3.0 credential, for display and schema checks."""
    with rt.unit_of_work() as session:
        badge = load(session, assertion_id)
        _status_index(session, badge)
        return ob3.credential(badge.assertion, badge.badge_class, badge.issuer, u, badge.related)


def achievement_document(rt: Runtime, slug: str, u: PublicUrls) -> dict[str, Any]:
    with rt.unit_of_work() as session:
        bc = badge_class(session, slug)
        issuer = get_organisation(session, bc.network)
        return {"@context": ob3.CONTEXT, **ob3.achievement(bc, issuer, u, _related(bc))}


def profile_document(rt: Runtime, slug: str, u: PublicUrls) -> dict[str, Any]:
    with rt.unit_of_work() as session:
        return ob3.profile_document(get_organisation(session, slug), u)


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
        key = _active_key(session, org, u)
        return ob3.sign(ob3.status_list_credential(org, number, encoded, utcnow(), u), key)


# --- baking -----------------------------------------------------------------------------


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
        doc = ob2.assertion(badge.assertion, badge.badge_class.slug, u)
        text = json.dumps(doc, ensure_ascii=False)
    if svg:
        from engine.openbadges.images import qr_svg

        frame = qr_svg(u.page(assertion_id)).encode()
        return bake_svg(frame, text, version, u.assertion(assertion_id))  # type: ignore[arg-type]
    return bake_png(picture, text, version, checked=True)  # type: ignore[arg-type]


def qr_code(rt: Runtime, assertion_id: str, u: PublicUrls) -> bytes:
    with rt.unit_of_work() as session:
        load(session, assertion_id)
    return qr_png(u.page(assertion_id))


# --- revocation -------------------------------------------------------------------------


def revoke(
    rt: Runtime, assertion_id: str, reason: str, *, by: Actor, now: datetime | None = None
) -> None:
    """Withdraw a badge, with its reason, audited; its pages, lists and status bits say so."""
    now = now or utcnow()
    if not reason.strip():
        raise InvalidInput("motif : une raison de révocation est obligatoire")
    with rt.unit_of_work() as session:
        badge = load(session, assertion_id)
        if badge.revoked:
            raise Conflict(f"le badge {badge.badge_class.name} est déjà révoqué")
        access.ensure(session, by, Action.BADGE_REVOKE, _holder_target(session, badge))
        actor_id = by.person_id
        changed = session.execute(
            update(Assertion)
            .where(Assertion.id == assertion_id, Assertion.revoked_at.is_(None))
            .values(revoked_at=now, revocation_reason=reason.strip())
        ).rowcount
        if changed != 1:
            raise Conflict("le badge vient d'être révoqué par quelqu'un d'autre")
        session.add(
            AuditEvent(
                enrollment_id=badge.assertion.enrollment_id,
                at=now,
                actor_id=actor_id,
                kind="badge_revoked",
                note=reason.strip(),
                details={"assertion": assertion_id, "badge": badge.badge_class.slug},
            )
        )


# --- endorsements and recommendations ---------------------------------------------------


SUBJECT_KINDS = ("issuer", "badge_class", "assertion")


def endorse(
    rt: Runtime,
    endorser: str,
    subject_kind: str,
    subject_ref: str,
    comment: str,
    *,
    by: Actor,
    now: datetime | None = None,
) -> str:
    """An organisation vouches for an issuer or a badge class, or recommends one person's badge
    (subject_kind "assertion"), through someone who works for it. Only organisations endorse:
    people hold badges. A person's badge is recommended only by a partner it was shared with
    (or through the link its holder sent, see `answer_recommendation`)."""
    now = now or utcnow()
    if subject_kind not in SUBJECT_KINDS:
        raise InvalidInput(
            f"objet : « {subject_kind} » inconnu (attendu : {', '.join(SUBJECT_KINDS)})"
        )
    if not comment.strip():
        raise InvalidInput("commentaire : le soutien doit dire pourquoi")
    with rt.unit_of_work() as session:
        org = get_organisation(session, endorser)
        target = Target(organisation_id=org.id)
        if subject_kind == "issuer":
            get_organisation(session, subject_ref)
            access.ensure(session, by, Action.ENDORSE, target)
        elif subject_kind == "badge_class":
            badge_class(session, subject_ref)
            access.ensure(session, by, Action.ENDORSE, target)
        else:
            badge = load(session, subject_ref)
            access.ensure(session, by, Action.RECOMMEND, target)
            shared = session.execute(
                select(Share.id).where(
                    Share.assertion_id == subject_ref, Share.organisation_id == org.id
                )
            ).first()
            if shared is None and not by.is_system:
                raise Forbidden(f"ce badge n'a pas été partagé avec {org.name}")
            if badge.revoked:
                raise Conflict("on ne peut recommander un badge révoqué")
        return _add_endorsement(session, org.id, subject_kind, subject_ref, comment, now, False)


def _add_endorsement(
    session: Session,
    endorser_id: int,
    subject_kind: str,
    subject_ref: str,
    comment: str,
    now: datetime,
    requested: bool,
) -> str:
    e = Endorsement(
        endorser_id=endorser_id,
        subject_kind=subject_kind,
        subject_ref=subject_ref,
        comment=comment.strip(),
        issued_on=now,
        requested=requested,
    )
    session.add(e)
    session.flush()
    return e.id


@dataclass(frozen=True)
class EndorsementView:
    id: str
    endorser: str
    endorser_slug: str
    comment: str
    issued_on: datetime
    requested: bool


def endorsements_of(rt: Runtime, subject_kind: str, subject_ref: str) -> list[EndorsementView]:
    with rt.unit_of_work() as session:
        return _endorsements(session, [(subject_kind, subject_ref)])[(subject_kind, subject_ref)]


_ENDORSEMENTS = (
    select(Endorsement, Organisation.name, Organisation.slug)
    .join(Organisation, Organisation.id == Endorsement.endorser_id)
    .where(
        Endorsement.subject_ref.in_(bindparam("refs", expanding=True)),
        Endorsement.withdrawn_at.is_(None),
    )
    .order_by(Endorsement.issued_on)
)


def _endorsements(
    session: Session, subjects: list[tuple[str, str]]
) -> dict[tuple[str, str], list[EndorsementView]]:
    """Active endorsements of several subjects in one query, by (kind, ref)."""
    out: dict[tuple[str, str], list[EndorsementView]] = {subject: [] for subject in subjects}
    rows = session.execute(_ENDORSEMENTS, {"refs": [ref for _, ref in subjects]}).all()
    for e, name, slug in rows:
        found = out.get((e.subject_kind, e.subject_ref))
        if found is not None:  # the same ref may name a subject of another kind
            found.append(EndorsementView(e.id, name, slug, e.comment, e.issued_on, e.requested))
    return out


def _subject(session: Session, e: Endorsement, u: PublicUrls) -> tuple[str, str, str]:
    """(OB 2.0 id, OB 3.0 id, name) of what an endorsement is about."""
    if e.subject_kind == "issuer":
        org = get_organisation(session, e.subject_ref)
        return u.issuer(org.slug), u.profile3(org.slug), org.name
    if e.subject_kind == "badge_class":
        bc = badge_class(session, e.subject_ref)
        return u.badge_class(bc.slug), u.achievement(bc.slug), bc.name
    badge = load(session, e.subject_ref)
    return u.assertion(e.subject_ref), u.credential(e.subject_ref), badge.badge_class.name


def endorsement_document(rt: Runtime, endorsement_id: str, u: PublicUrls) -> dict[str, Any]:
    with rt.unit_of_work() as session:
        e = session.get(Endorsement, endorsement_id)
        if e is None or e.withdrawn_at is not None:
            raise NotFound(f"soutien « {endorsement_id} » introuvable")
        endorser = session.get(Organisation, e.endorser_id)
        subject2, _, _ = _subject(session, e, u)
        return ob2.endorsement(e, endorser.slug, subject2, u)


def endorsement_jwt(rt: Runtime, endorsement_id: str, u: PublicUrls) -> str:
    """The endorsement as an OB 3.0 EndorsementCredential, signed by the endorser's key."""
    with rt.unit_of_work() as session:
        e = session.get(Endorsement, endorsement_id)
        if e is None or e.withdrawn_at is not None:
            raise NotFound(f"soutien « {endorsement_id} » introuvable")
        endorser = session.get(Organisation, e.endorser_id)
        _, subject3, name = _subject(session, e, u)
        key = _active_key(session, endorser, u)
        return ob3.sign(ob3.endorsement_credential(e, endorser, subject3, name, u), key)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def request_recommendation(
    rt: Runtime,
    assertion_id: str,
    company: str,
    email: str,
    u: PublicUrls,
    *,
    by: Actor,
    days: int = 30,
    now: datetime | None = None,
) -> str:
    """The participant asks a company that hosted them to recommend a badge; the single-use
    link leaves by e-mail to the company's contact (outbox) and is returned."""
    now = now or utcnow()
    if "@" not in email:
        raise InvalidInput(f"email : « {email} » n'est pas une adresse e-mail")
    token = secrets.token_urlsafe(24)
    with rt.unit_of_work() as session:
        badge = load(session, assertion_id)
        person_held(badge)
        access.ensure(session, by, Action.RECOMMENDATION_ASK, _holder_target(session, badge))
        if badge.revoked:
            raise Conflict("on ne peut demander de recommandation pour un badge révoqué")
        org = get_organisation(session, company)
        if org.kind != OrganisationKind.PARTNER:
            raise InvalidInput(f"« {company} » n'est pas une entreprise ou un partenaire")
        session.add(
            RecommendationRequest(
                assertion_id=assertion_id,
                company_id=org.id,
                email=email,
                token_hash=_token_hash(token),
                created_at=now,
                expires_at=now + timedelta(days=days),
            )
        )
        url = f"{u.base}/recommandations/{token}"
        queue_email(
            session,
            key=f"recommandation:{_token_hash(token)}",
            to=email,
            now=now,
            template="recommandation",
            network=badge.badge_class.network,
            holder=person_held(badge).display_name,
            badge=badge.badge_class.name,
            company=org.name,
            url=url,
            days=days,
        )
    return url


@dataclass(frozen=True)
class PendingRecommendation:
    company: str
    badge: str
    holder: str
    assertion_id: str


def pending_recommendation(rt: Runtime, token: str, now: datetime | None = None):
    now = now or utcnow()
    with rt.unit_of_work() as session:
        req = _open_request(session, token, now)
        badge = load(session, req.assertion_id)
        company = session.get(Organisation, req.company_id)
        return PendingRecommendation(
            company.name, badge.badge_class.name, _public_name(badge.holder), req.assertion_id
        )


def _open_request(session: Session, token: str, now: datetime) -> RecommendationRequest:
    req = session.execute(
        select(RecommendationRequest).where(RecommendationRequest.token_hash == _token_hash(token))
    ).scalar_one_or_none()
    if req is None:
        raise NotFound("lien de recommandation inconnu")
    if req.answered_at is not None:
        raise Conflict("ce lien de recommandation a déjà servi")
    if as_utc(req.expires_at) < now:
        raise Conflict("ce lien de recommandation a expiré : demandez-en un nouveau")
    return req


def answer_recommendation(
    rt: Runtime, token: str, comment: str, now: datetime | None = None
) -> str:
    """The company writes its recommendation through the link; returns the endorsement id."""
    now = now or utcnow()
    if not comment.strip():
        raise InvalidInput("commentaire : écrivez quelques mots de recommandation")
    with rt.unit_of_work() as session:
        req = _open_request(session, token, now)
        company = session.get(Organisation, req.company_id)
        changed = session.execute(
            update(RecommendationRequest)
            .where(RecommendationRequest.id == req.id, RecommendationRequest.answered_at.is_(None))
            .values(answered_at=now)
        ).rowcount
        if changed != 1:
            raise Conflict("ce lien de recommandation a déjà servi")
        return _add_endorsement(
            session, company.id, "assertion", req.assertion_id, comment, now, requested=True
        )


def _public_name(person: Person | None, org: Organisation | None = None) -> str:
    """Minimal personal data on public pages: given name and initial (an organisation's name)."""
    if person is None:
        return org.name if org else ""
    if person.erased_at is not None:
        return "Personne anonymisée"
    initial = f" {person.family_name[:1]}." if person.family_name else ""
    return f"{person.given_name}{initial}"


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
        found = _endorsements(session, subjects)
    return PublicBadge(
        badge, _public_name(badge.holder, badge.holder_org), *(found[s] for s in subjects)
    )


def badges_of(rt: Runtime, enrollment_id: int, *, by: Actor) -> list[tuple[str, str, bool]]:
    """(assertion id, badge name, revoked) of the badges an enrollment earned."""
    with rt.unit_of_work() as session:
        target = access.enrollment_target(session, enrollment_id)
        access.ensure(session, by, Action.ENROLLMENT_READ, target)
        rows = session.execute(
            select(Assertion.id, BadgeClass.name, Assertion.revoked_at)
            .join(BadgeClass, BadgeClass.id == Assertion.badge_class_id)
            .where(Assertion.enrollment_id == enrollment_id)
            .order_by(Assertion.issued_on)
        ).all()
    return [(i, n, r is not None) for i, n, r in rows]
