"""Endorsements and recommendations: an organisation vouching for an issuer or a badge class,
or recommending one person's badge, directly or through the single-use link its holder sent."""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlmodel import Session

from engine.errors import Conflict, Forbidden, InvalidInput, NotFound
from engine.openbadges import ob2, ob3
from engine.openbadges.urls import PublicUrls
from engine.roles import OrganisationKind
from engine.services import access, issuer_keys
from engine.services.access import Action, Actor, Target
from engine.services.badges import badge_class, holder_target, load, person_held, public_name
from engine.services.issuer_keys import existing_key
from engine.services.organisations import get_organisation
from engine.services.outbox import queue_email
from engine.services.runtime import Runtime
from engine.store.tables import (
    AuditEvent,
    Endorsement,
    Enrollment,
    Membership,
    Organisation,
    Person,
    RecommendationRequest,
    Share,
    as_utc,
    utcnow,
)

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
    # The endorser signs its EndorsementCredential: its key is made now, not on a later read.
    issuer_keys.ensure_keys(session, session.get(Organisation, endorser_id), ["vc-jwt"])  # type: ignore[arg-type]
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
        return endorsements_for(session, [(subject_kind, subject_ref)])[(subject_kind, subject_ref)]


_ENDORSEMENTS = (
    select(Endorsement, Organisation.name, Organisation.slug)
    .join(Organisation, Organisation.id == Endorsement.endorser_id)
    .where(
        Endorsement.subject_ref.in_(bindparam("refs", expanding=True)),
        Endorsement.withdrawn_at.is_(None),
    )
    .order_by(Endorsement.issued_on)
)


def endorsements_for(
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
        # An endorsement names a badge class by its id: it speaks for its current version.
        bc = badge_class(session, e.subject_ref)
        return u.badge_class(bc.slug, bc.version), u.achievement(bc.slug, bc.version), bc.name
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
        return endorsement_jwt_in(session, endorsement_id, u)


def endorsement_jwt_in(session: Session, endorsement_id: str, u: PublicUrls) -> str:
    e = session.get(Endorsement, endorsement_id)
    if e is None or e.withdrawn_at is not None:
        raise NotFound(f"soutien « {endorsement_id} » introuvable")
    endorser = session.get(Organisation, e.endorser_id)
    _, subject3, name = _subject(session, e, u)
    key = existing_key(session, endorser, u)
    if key is None:  # endorsed before keys were made with the endorsement: reads never write
        raise NotFound(f"« {endorser.name} » n'a pas encore de clé de signature")  # type: ignore[union-attr]
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
    company_name: str = "",
    days: int = 30,
    now: datetime | None = None,
) -> str:
    """The participant asks a company that hosted them to recommend a badge; the single-use
    link leaves by e-mail to the company's contact (outbox) and is returned. `company` is a
    partner's identifier (found with `search_companies`); without one, `company_name` invites
    a company the networks do not know: it becomes a partner of no network (reused when asked
    again by the same name), so its recommendation is signed by an issuer of its own, and the
    network's admins see it among the organisations."""
    now = now or utcnow()
    if "@" not in email:
        raise InvalidInput(f"email : « {email} » n'est pas une adresse e-mail")
    company_name = " ".join(company_name.split())
    if not company and not company_name:
        raise InvalidInput("entreprise : choisissez-la dans la liste ou écrivez son nom")
    if len(company_name) > 200:
        raise InvalidInput("nom de l'entreprise : 200 caractères au plus")
    token = secrets.token_urlsafe(24)
    with rt.unit_of_work() as session:
        badge = load(session, assertion_id)
        person_held(badge)
        access.ensure(session, by, Action.RECOMMENDATION_ASK, holder_target(session, badge))
        if badge.revoked:
            raise Conflict("on ne peut demander de recommandation pour un badge révoqué")
        if company:
            org = get_organisation(session, company)
        else:
            org = _invited_company(session, company_name, by, now)
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
            company.name, badge.badge_class.name, public_name(badge.holder), req.assertion_id
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


def _invited_company(session: Session, name: str, by: Actor, now: datetime) -> Organisation:
    """The partner of that name (any case), else a new partner of no network, audited."""
    found = session.execute(
        select(Organisation)
        .where(
            Organisation.kind == OrganisationKind.PARTNER,
            func.lower(Organisation.name) == name.lower(),
        )
        .order_by(Organisation.id)
        .limit(1)
    ).scalar_one_or_none()
    if found is not None:
        return found
    stem = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    stem = re.sub(r"[^a-z0-9]+", "-", stem).strip("-")[:50] or "entreprise"
    org = Organisation(
        slug=f"{stem}-{secrets.token_hex(3)}",
        name=name,
        kind=OrganisationKind.PARTNER.value,
        description="Entreprise invitée par un participant à recommander un badge.",
    )
    session.add(org)
    session.flush()
    session.add(
        AuditEvent(
            at=now,
            actor_id=by.person_id,
            kind="company_invited",
            details={"organisation": org.slug},
        )
    )
    return org


@dataclass(frozen=True)
class Company:
    slug: str
    name: str


def search_companies(
    rt: Runtime, participant_id: int, text: str, *, by: Actor, limit: int = 20
) -> list[Company]:
    """The partners (companies, GEIQ, ADIE...) of the networks of the participant's structures
    whose name contains `text` (any case; all of them, by name, for an empty `text`): whom
    they may ask for a recommendation."""
    text = " ".join(text.split())[:100]
    with rt.unit_of_work() as session:
        person = session.get(Person, participant_id)
        if person is None or person.erased_at is not None:
            raise NotFound(f"participant n° {participant_id} introuvable")
        access.ensure(
            session,
            by,
            Action.RECOMMENDATION_ASK,
            Target(structure_id=person.structure_id, participant_id=person.id),
        )
        structures = set(
            session.execute(
                select(Enrollment.structure_id).where(Enrollment.participant_id == person.id)
            ).scalars()
        )
        if person.structure_id is not None:
            structures.add(person.structure_id)
        networks = select(Membership.network_id).where(Membership.structure_id.in_(structures))
        query = (
            select(Organisation.slug, Organisation.name)
            .where(
                Organisation.kind == OrganisationKind.PARTNER,
                Organisation.id.in_(
                    select(Membership.structure_id).where(Membership.network_id.in_(networks))
                ),
            )
            .order_by(Organisation.name, Organisation.id)
            .limit(limit)
        )
        if text:
            escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            query = query.where(func.lower(Organisation.name).like(f"%{escaped}%", escape="\\"))
        return [Company(slug, name) for slug, name in session.execute(query)]
