"""Badge requests (*demandes de badge*): submitted with evidence, decided with reasons.

How a request is decided comes from the badge's catalogue `Evaluation` (the network's frame)
and the structure's `BadgeSetting` (its choice within that frame):
- ``signatures``: each listed role signs (CIP, encadrant technique, directeur...);
- ``network``: the network evaluates, after the structure chose so (its agreement);
- ``committee``: an attribution committee votes under its plugin rule (quorum, crossed...);
- ``auto``: granted at once (a support badge anyone may ask for).
A decision, its reviews, the issued badge and the audit event are one transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlmodel import Session

from engine.badges.assertions import held_badges
from engine.badges.catalogue import MODE_LABELS, Evaluation
from engine.committees import Vote, outcome
from engine.errors import Conflict, Forbidden, GateRefused, InvalidInput, NotFound
from engine.roles import Role
from engine.services import access, issuing, privacy
from engine.services.access import Action, Actor, Target
from engine.services.committees import ensure_no_conflict
from engine.services.evidence import attach
from engine.services.issuing import evaluation_of
from engine.services.request_views import RequestView, get, load, target
from engine.services.runtime import Runtime
from engine.statuses import BadgeClassStatus, Origin, PersonKind, RequestStatus
from engine.store.tables import (
    AuditEvent,
    BadgeClass,
    BadgeRequest,
    BadgeSetting,
    Committee,
    CommitteeMember,
    Enrollment,
    Evidence,
    Organisation,
    Person,
    Review,
    utcnow,
)
from engine.uploads import Upload

# --- structure settings ------------------------------------------------------------------


def configure(
    rt: Runtime,
    structure: str,
    badge: str,
    *,
    mode: str,
    by: Actor,
    committee_id: int | None = None,
    criteria_note: str | None = None,
    now: datetime | None = None,
) -> None:
    """A structure chooses how it runs a badge, within the network's frame. Choosing the
    ``network`` mode records its agreement for the network to evaluate its requests."""
    now = now or utcnow()
    actor = by.person_id
    with rt.unit_of_work() as session:
        org = session.execute(
            select(Organisation).where(Organisation.slug == structure)
        ).scalar_one_or_none()
        if org is None or org.kind != "structure":
            raise NotFound(f"structure « {structure} » introuvable")
        bc = _badge_class(session, badge)
        access.ensure(
            session, by, Action.BADGE_SETTING, Target(structure_id=org.id, network=bc.network)
        )
        evaluation = evaluation_of(bc)
        if mode not in evaluation.modes:
            allowed = ", ".join(evaluation.modes)
            raise InvalidInput(f"mode : « {mode} » hors du cadre du réseau (permis : {allowed})")
        if mode == "committee":
            _check_committee(session, committee_id, evaluation, bc, org.id)
        elif committee_id is not None:
            raise InvalidInput("committee_id : seulement en mode committee")
        setting = session.get(BadgeSetting, (org.id, bc.id)) or BadgeSetting(
            structure_id=org.id, badge_class_id=bc.id, mode=mode, set_at=now
        )
        setting.mode, setting.committee_id = mode, committee_id
        setting.criteria_note, setting.set_by, setting.set_at = criteria_note, actor, now
        session.add(setting)


def _check_committee(
    session: Session,
    committee_id: int | None,
    evaluation: Evaluation,
    bc: BadgeClass,
    structure_id: int,
) -> Committee:
    if committee_id is None:
        raise InvalidInput("committee_id : obligatoire en mode committee")
    committee = session.get(Committee, committee_id)
    if committee is None:
        raise NotFound(f"comité n° {committee_id} introuvable")
    if committee.kind not in evaluation.committees:
        raise InvalidInput(
            f"committee_id : ce badge demande un comité {' ou '.join(evaluation.committees)}, "
            f"pas « {committee.kind} »"
        )
    if committee.structure_id not in (None, structure_id):
        raise InvalidInput("committee_id : comité interne d'une autre structure")
    return committee


def _badge_class(session: Session, slug: str) -> BadgeClass:
    """The version a new request asks for: the active one (a slug has one active row)."""
    bc = session.execute(
        select(BadgeClass)
        .where(BadgeClass.slug == slug)
        .order_by(BadgeClass.status != BadgeClassStatus.ACTIVE, BadgeClass.version.desc())
        .limit(1)
    ).scalar_one_or_none()
    if bc is None:
        raise NotFound(f"badge « {slug} » introuvable")
    if bc.status == BadgeClassStatus.SUPERSEDED:
        raise InvalidInput(f"le badge {bc.name} ne fait plus partie du catalogue de son réseau")
    if bc.status != BadgeClassStatus.ACTIVE:
        raise InvalidInput(f"le badge {bc.name} n'est pas encore validé par le réseau")
    return bc


active_badge_class = _badge_class
"""The version a new request (or a group award, `group_award`) issues: refused in French when
the badge is unknown, superseded or not yet validated."""


def _route(
    session: Session, bc: BadgeClass, structure_id: int | None
) -> tuple[str, int | None, str | None]:
    """(mode, committee, structure's criteria note) for a new request."""
    evaluation = evaluation_of(bc)
    setting = session.get(BadgeSetting, (structure_id, bc.id)) if structure_id is not None else None
    if setting is not None and setting.mode in evaluation.modes:
        return setting.mode, setting.committee_id, setting.criteria_note
    mode = evaluation.modes[0]
    committee_id = None
    if mode == "committee":
        # No choice made: the structure's own committee of that kind, else the network's.
        committee_id = session.execute(
            select(Committee.id)
            .where(
                Committee.kind.in_(evaluation.committees),
                or_(Committee.structure_id == structure_id, Committee.structure_id.is_(None)),
            )
            .order_by(Committee.structure_id.is_(None), Committee.id)
        ).scalar()
        if committee_id is None:
            raise InvalidInput(
                f"aucun comité ({', '.join(evaluation.committees)}) n'évalue encore ce badge : "
                "le directeur ou le réseau doit en créer un"
            )
    return mode, committee_id, None


# --- submitting ---------------------------------------------------------------------------


def submit(
    rt: Runtime,
    badge: str,
    *,
    by: Actor,
    participant_id: int | None = None,
    enrollment_id: int | None = None,
    origin: str | None = None,
    narrative: str | None = None,
    evidence_kind: str = "piece",
    file: Upload | None = None,
    now: datetime | None = None,
) -> int:
    """A participant asks for a badge (or staff ask on their behalf, from a follow-up meeting
    or a collective action), optionally with a first file, in one transaction. Auto-validated
    badges are issued at once."""
    now = now or utcnow()
    if by.is_participant:
        participant_id, origin = by.person_id, origin or Origin.PARTICIPANT
    origin = origin or Origin.SUIVI
    if origin not in set(Origin) - {Origin.PUBLIC}:
        expected = ", ".join(o for o in Origin if o != Origin.PUBLIC)
        raise InvalidInput(f"origin : attendu {expected}")
    with rt.unit_of_work() as session:
        if participant_id is None and enrollment_id is not None:
            participant_id = session.execute(
                select(Enrollment.participant_id).where(Enrollment.id == enrollment_id)
            ).scalar()
        person = session.get(Person, participant_id) if participant_id is not None else None
        if person is None or person.kind != PersonKind.PARTICIPANT or person.erased_at is not None:
            raise NotFound(f"participant n° {participant_id} introuvable")
        structure_id = person.structure_id
        if enrollment_id is not None:
            enrollment = session.get(Enrollment, enrollment_id)
            if enrollment is None or enrollment.participant_id != person.id:
                raise NotFound(f"parcours n° {enrollment_id} introuvable pour ce participant")
            structure_id = enrollment.structure_id
        bc = _badge_class(session, badge)
        access.ensure(
            session,
            by,
            Action.REQUEST_SUBMIT,
            Target(structure_id=structure_id, network=bc.network, participant_id=person.id),
        )
        # the participant's own right says nothing of networks: the badge's must be theirs
        issuing.check_network(session, structure_id, bc.name, bc.network)
        if bc.recipient_kind != "person":
            raise InvalidInput(f"le badge {bc.name} se délivre à une organisation")
        held = held_badges(session, person.id)
        if bc.slug in held:
            raise Conflict(f"le badge {bc.name} est déjà détenu")
        pending = session.execute(
            select(BadgeRequest.id).where(
                BadgeRequest.participant_id == person.id,
                BadgeRequest.badge_class_id == bc.id,
                BadgeRequest.status == RequestStatus.PENDING,
            )
        ).first()
        if pending is not None:
            raise Conflict(f"une demande du badge {bc.name} est déjà en attente (n° {pending[0]})")
        entry = rt.catalogue_entry(session, bc.slug)
        if entry and entry.requires and entry.requires.missing(set(held)):
            names = rt.badge_lookups(session)[0]
            missing = ", ".join(names.get(b, b) for b in entry.requires.missing(set(held)))
            raise GateRefused(bc.slug, [f"pour le badge {bc.name}, il manque : {missing}"])
        mode, committee_id, _ = _route(session, bc, structure_id)
        req = BadgeRequest(
            badge_class_id=bc.id,
            participant_id=person.id,
            structure_id=structure_id,
            enrollment_id=enrollment_id,
            origin=origin,
            mode=mode,
            committee_id=committee_id,
            narrative=narrative,
            submitted_by=by.person_id,
            submitted_at=now,
        )
        session.add(req)
        session.flush()
        _audit(session, req, by.person_id, now, "badge_requested", {"badge": bc.slug})
        if file is not None:
            attach(
                session,
                kind=evidence_kind,
                added_by=by.person_id,
                now=now,
                request_id=req.id,
                file=file,
            )
        if mode == "auto":
            _decide(rt, session, req, bc, True, MODE_LABELS["auto"], None, now)
        return req.id  # type: ignore[return-value]


def add_evidence(
    rt: Runtime,
    request_id: int,
    kind: str,
    *,
    by: Actor,
    narrative: str | None = None,
    url: str | None = None,
    context: str | None = None,
    file: Upload | None = None,
    now: datetime | None = None,
) -> int:
    """Attach a proof to a pending request (a photo of the work, an attestation...)."""
    now = now or utcnow()
    with rt.unit_of_work() as session:
        req, bc = load(session, request_id)
        access.ensure(session, by, Action.REQUEST_EVIDENCE, target(req, bc))
        if req.status != RequestStatus.PENDING:
            raise InvalidInput(f"la demande n° {request_id} est {RequestStatus(req.status).label}")
        evidence = attach(
            session,
            kind=kind,
            added_by=by.person_id,
            now=now,
            request_id=req.id,
            narrative=narrative,
            url=url,
            context=context,
            file=file,
        )
        return evidence.id  # type: ignore[return-value]


def public_request(
    rt: Runtime,
    badge: str,
    *,
    given_name: str,
    family_name: str,
    email: str,
    now: datetime | None = None,
) -> str:
    """The public form of a support badge (« Badgeons l'IAE en Nouvelle-Aquitaine »): any
    natural person asks and receives it at once, and hears of it at the address given (with a
    link to export or erase their data). Asking again with an address that already holds the
    badge does not show the badge (it would show anyone that person's badge page): its page is
    sent to that address, and the answer is a Conflict that says so."""
    now = now or utcnow()
    if not given_name.strip() or not family_name.strip():
        raise InvalidInput("prénom et nom : obligatoires (un badge est détenu par une personne)")
    with rt.unit_of_work() as session:
        bc = _badge_class(session, badge)
        if not evaluation_of(bc).public:
            raise Forbidden(f"le badge {bc.name} ne se demande pas par le formulaire public")
        person = session.execute(
            select(Person).where(Person.kind == PersonKind.SUPPORTER, Person.email == email)
        ).scalar_one_or_none()
        if person is None:
            person = Person(
                kind=PersonKind.SUPPORTER,
                given_name=given_name,
                family_name=family_name,
                email=email,
            )
            session.add(person)
            session.flush()
        existing = session.execute(
            select(BadgeRequest.assertion_id).where(
                BadgeRequest.participant_id == person.id,
                # taken under any version of the badge class
                BadgeRequest.badge_class_id.in_(
                    select(BadgeClass.id).where(BadgeClass.slug == bc.slug)
                ),
                BadgeRequest.status == RequestStatus.APPROVED,
            )
        ).scalar()
        if existing:
            privacy.queue_supporter_email(
                session, person, bc, rt.urls.page(existing), again=True, now=now
            )
        else:
            req = BadgeRequest(
                badge_class_id=bc.id,
                participant_id=person.id,
                origin=Origin.PUBLIC,
                mode="auto",
                submitted_at=now,
            )
            session.add(req)
            session.flush()
            _decide(rt, session, req, bc, True, MODE_LABELS["auto"], None, now)
            aid: str = req.assertion_id  # type: ignore[assignment]
            privacy.queue_supporter_email(
                session, person, bc, rt.urls.page(aid), again=False, now=now
            )
            return aid
    raise Conflict(
        f"le badge {bc.name} a déjà été délivré à cette adresse : pour le protéger, sa page "
        "vient d'y être envoyée"
    )


# --- deciding ----------------------------------------------------------------------------


def review(
    rt: Runtime,
    request_id: int,
    *,
    by: Actor,
    approve: bool,
    reason: str,
    now: datetime | None = None,
) -> RequestView:
    """A signature, a network evaluation or a committee vote, always with its reason. The
    request is decided as soon as its mode's rule says so."""
    now = now or utcnow()
    if not reason.strip():
        raise InvalidInput("reason : une évaluation doit être motivée")
    with rt.unit_of_work() as session:
        req, bc = load(session, request_id, lock=True)
        grant = access.ensure(session, by, Action.REQUEST_REVIEW, target(req, bc))
        if req.status != RequestStatus.PENDING:
            raise Conflict(f"la demande n° {request_id} est déjà {RequestStatus(req.status).label}")
        if req.participant_id == by.person_id:
            raise Forbidden("on n'évalue pas sa propre demande")
        reviews = list(session.execute(select(Review).where(Review.request_id == req.id)).scalars())
        if any(r.person_id == by.person_id for r in reviews):
            raise Conflict("vous avez déjà donné votre avis sur cette demande")
        role, structure_id = _reviewer(session, req, bc, by, grant, reviews, rt)
        mine = Review(
            request_id=req.id,
            person_id=by.person_id,
            role=role,
            structure_id=structure_id,
            approve=approve,
            reason=reason.strip(),
            at=now,
        )
        session.add(mine)
        session.flush()
        reviews.append(mine)
        _audit(session, req, by.person_id, now, "badge_review", {"approve": approve})
        verdict = _verdict(rt, session, req, bc, reviews)
        if verdict is not None:
            _decide(rt, session, req, bc, verdict, _summary(reviews), by.person_id, now)
    return get(rt, request_id, by=by)


def _reviewer(
    session: Session,
    req: BadgeRequest,
    bc: BadgeClass,
    by: Actor,
    grant: access.Grant,
    reviews: list[Review],
    rt: Runtime,
) -> tuple[str | None, int | None]:
    """(role signed as, reviewer's structure), or Forbidden saying why this person may not."""
    if req.mode == "signatures":
        mine = grant.roles
        signed = {x.role for x in reviews}
        still = [r for r in evaluation_of(bc).signatures if r.value not in signed]
        usable = [r for r in still if r in mine or Role.NETWORK_ADMIN in mine]
        if not usable:
            needed = ", ".join(r.label for r in still) or "aucune"
            raise Forbidden(f"signatures encore attendues : {needed} ; vous n'avez pas ce rôle")
        return usable[0].value, req.structure_id
    if req.mode == "network":
        if Role.NETWORK_ADMIN not in grant.roles:
            raise Forbidden("cette demande est évaluée par le réseau")
        return Role.NETWORK_ADMIN.value, None
    if req.mode == "committee":
        member = session.get(CommitteeMember, (req.committee_id, by.person_id))
        if member is None:
            raise Forbidden("seuls les membres du comité votent")
        committee = session.get(Committee, req.committee_id)
        rule = rt.committee_rule(committee.kind)  # type: ignore[union-attr]
        if rule is None:
            raise InvalidInput(f"règle de comité « {committee.kind} » absente du réseau")  # type: ignore[union-attr]
        ensure_no_conflict(session, rule, by.person_id, req.structure_id, req.submitted_by)
        return None, member.structure_id
    raise InvalidInput(f"la demande n° {req.id} n'attend aucune évaluation ({req.mode})")


def _verdict(
    rt: Runtime, session: Session, req: BadgeRequest, bc: BadgeClass, reviews: list[Review]
) -> bool | None:
    if any(not r.approve for r in reviews) and req.mode in ("signatures", "network"):
        return False
    if req.mode == "signatures":
        signed = {r.role for r in reviews}
        return True if all(r.value in signed for r in evaluation_of(bc).signatures) else None
    if req.mode == "network":
        return True
    committee = session.get(Committee, req.committee_id)
    rule = rt.committee_rule(committee.kind)  # type: ignore[union-attr]
    assert rule is not None  # checked when the vote was taken
    return outcome(rule, [Vote(r.approve, r.structure_id) for r in reviews])


def _summary(reviews: list[Review]) -> str:
    yes = sum(r.approve for r in reviews)
    head = f"{yes} avis favorable{'s' if yes > 1 else ''}, {len(reviews) - yes} défavorable"
    head += "s" if len(reviews) - yes > 1 else ""
    return head + " — " + " ; ".join(r.reason for r in reviews)


def _decide(
    rt: Runtime,
    session: Session,
    req: BadgeRequest,
    bc: BadgeClass,
    approve: bool,
    reason: str,
    actor: int | None,
    now: datetime,
) -> None:
    req.status = RequestStatus.APPROVED if approve else RequestStatus.REJECTED
    req.decided_at, req.decision_reason = now, reason
    if approve:
        evidence = [{"narrative": req.narrative}] if req.narrative else []
        for ev in session.execute(select(Evidence).where(Evidence.request_id == req.id)).scalars():
            evidence.append(
                {k: v for k, v in (("name", ev.kind), ("narrative", ev.narrative)) if v}
                | ({"id": ev.url} if ev.url else {})
            )
        issued = issuing.issue(
            rt,
            session,
            [bc.slug],
            basis=issuing.Basis.PUBLIC if req.origin == Origin.PUBLIC else issuing.Basis.REQUEST,
            recipient_id=req.participant_id,
            structure_id=req.structure_id,
            enrollment_id=req.enrollment_id,
            actor_id=actor,
            now=now,
            evidence=evidence,
        )
        if not issued:
            raise Conflict(f"le badge {bc.name} est déjà détenu")
        req.assertion_id = issued[0][0]
    session.add(req)
    _audit(
        session,
        req,
        actor,
        now,
        "badge_request_decided",
        {"badge": bc.slug, "approved": approve, "assertion": req.assertion_id},
    )


def withdraw(rt: Runtime, request_id: int, *, by: Actor, now: datetime | None = None) -> None:
    now = now or utcnow()
    with rt.unit_of_work() as session:
        req, bc = load(session, request_id, lock=True)
        access.ensure(session, by, Action.REQUEST_WITHDRAW, target(req, bc))
        if req.status != RequestStatus.PENDING:
            raise Conflict(f"la demande n° {request_id} est déjà {RequestStatus(req.status).label}")
        req.status, req.decided_at = RequestStatus.WITHDRAWN, now
        session.add(req)
        _audit(session, req, by.person_id, now, "badge_request_withdrawn", {})


def _audit(
    session: Session,
    req: BadgeRequest,
    actor: int | None,
    now: datetime,
    kind: str,
    details: dict[str, Any],
) -> None:
    """The audit trace of a request keeps no free text: narratives and reasons live in the
    request and its reviews, where erasure can reach them."""
    session.add(
        AuditEvent(
            enrollment_id=req.enrollment_id,
            at=now,
            actor_id=actor,
            kind=kind,
            details={"request": req.id, **details},
        )
    )
