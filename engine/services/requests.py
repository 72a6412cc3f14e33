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

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlmodel import Session

from engine.badges.catalogue import MODE_LABELS, Evaluation
from engine.badges.issuing import held_badges
from engine.committees import Vote, outcome
from engine.errors import Conflict, Forbidden, GateRefused, InvalidInput, NotFound
from engine.roles import Role
from engine.services import access, issuing
from engine.services.access import Action, Actor, Target
from engine.services.evidence import attach
from engine.services.issuing import evaluation_of
from engine.services.runtime import Runtime
from engine.store.tables import (
    AuditEvent,
    BadgeClass,
    BadgeRequest,
    BadgeSetting,
    Committee,
    CommitteeMember,
    Enrollment,
    Evidence,
    EvidenceFile,
    Membership,
    Organisation,
    Person,
    Review,
    utcnow,
)
from engine.uploads import Upload

ORIGINS = {
    "participant": "à la demande du participant",
    "suivi": "en rendez-vous individuel de suivi",
    "collectif": "lors d'une action collective",
    "public": "par le formulaire public",
}
STATUS_LABELS = {
    "pending": "en attente d'évaluation",
    "approved": "badge délivré",
    "rejected": "refusée",
    "withdrawn": "retirée",
}


@dataclass
class RequestView:
    """A request as staff, committee members and the participant see it."""

    id: int
    badge: str
    badge_name: str
    criteria: str
    participant_id: int
    participant_name: str
    structure: str | None
    enrollment_id: int | None
    origin: str
    mode: str
    mode_label: str
    committee_id: int | None
    committee_name: str | None
    narrative: str | None
    status: str
    status_label: str
    submitted_at: datetime
    decided_at: datetime | None
    decision_reason: str | None
    assertion_id: str | None
    waiting_for: list[str] = field(default_factory=list)
    evidence: list[dict[str, Any]] = field(default_factory=list)
    reviews: list[dict[str, Any]] = field(default_factory=list)


def _target(req: BadgeRequest, bc: BadgeClass) -> Target:
    return Target(
        structure_id=req.structure_id,
        network=bc.network,
        participant_id=req.participant_id,
        committee_id=req.committee_id,
    )


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
    bc = session.execute(select(BadgeClass).where(BadgeClass.slug == slug)).scalar_one_or_none()
    if bc is None:
        raise NotFound(f"badge « {slug} » introuvable")
    if bc.status != "active":
        raise InvalidInput(f"le badge {bc.name} n'est pas encore validé par le réseau")
    return bc


def _route(
    session: Session, bc: BadgeClass, structure_id: int | None
) -> tuple[str, int | None, str | None]:
    """(mode, committee, structure's criteria note) for a new request."""
    evaluation = evaluation_of(bc)
    setting = session.get(BadgeSetting, (structure_id, bc.id)) if structure_id is not None else None
    if setting is not None:
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
        participant_id, origin = by.person_id, origin or "participant"
    origin = origin or "suivi"
    if origin not in ORIGINS or (origin == "public"):
        raise InvalidInput(f"origin : attendu {', '.join(o for o in ORIGINS if o != 'public')}")
    with rt.unit_of_work() as session:
        if participant_id is None and enrollment_id is not None:
            participant_id = session.execute(
                select(Enrollment.participant_id).where(Enrollment.id == enrollment_id)
            ).scalar()
        person = session.get(Person, participant_id) if participant_id is not None else None
        if person is None or person.kind != "participant" or person.erased_at is not None:
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
                BadgeRequest.status == "pending",
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
        req, bc = _load(session, request_id)
        access.ensure(session, by, Action.REQUEST_EVIDENCE, _target(req, bc))
        if req.status != "pending":
            raise InvalidInput(f"la demande n° {request_id} est {STATUS_LABELS[req.status]}")
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
    natural person asks and receives it at once. Asking twice gives back the same badge."""
    now = now or utcnow()
    if not given_name.strip() or not family_name.strip():
        raise InvalidInput("prénom et nom : obligatoires (un badge est détenu par une personne)")
    with rt.unit_of_work() as session:
        bc = _badge_class(session, badge)
        if not evaluation_of(bc).public:
            raise Forbidden(f"le badge {bc.name} ne se demande pas par le formulaire public")
        person = session.execute(
            select(Person).where(Person.kind == "supporter", Person.email == email)
        ).scalar_one_or_none()
        if person is None:
            person = Person(
                kind="supporter", given_name=given_name, family_name=family_name, email=email
            )
            session.add(person)
            session.flush()
        existing = session.execute(
            select(BadgeRequest.assertion_id).where(
                BadgeRequest.participant_id == person.id,
                BadgeRequest.badge_class_id == bc.id,
                BadgeRequest.status == "approved",
            )
        ).scalar()
        if existing:
            return existing
        req = BadgeRequest(
            badge_class_id=bc.id,
            participant_id=person.id,
            origin="public",
            mode="auto",
            submitted_at=now,
        )
        session.add(req)
        session.flush()
        _decide(rt, session, req, bc, True, MODE_LABELS["auto"], None, now)
        return req.assertion_id  # type: ignore[return-value]


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
        req, bc = _load(session, request_id, lock=True)
        grant = access.ensure(session, by, Action.REQUEST_REVIEW, _target(req, bc))
        if req.status != "pending":
            raise Conflict(f"la demande n° {request_id} est déjà {STATUS_LABELS[req.status]}")
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
        rule = rt.committee_rules.get(committee.kind)  # type: ignore[union-attr]
        if rule is None:
            raise InvalidInput(f"règle de comité « {committee.kind} » absente (plugin manquant)")  # type: ignore[union-attr]
        if rule.crossed and member.structure_id == req.structure_id:
            raise Forbidden(
                "conflit d'intérêts : en comité croisé, un membre de la structure du "
                "participant ne vote pas"
            )
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
    rule = rt.committee_rules[committee.kind]  # type: ignore[union-attr]
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
    req.status = "approved" if approve else "rejected"
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
            basis=issuing.Basis.PUBLIC if req.origin == "public" else issuing.Basis.REQUEST,
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
        req, bc = _load(session, request_id, lock=True)
        access.ensure(session, by, Action.REQUEST_WITHDRAW, _target(req, bc))
        if req.status != "pending":
            raise Conflict(f"la demande n° {request_id} est déjà {STATUS_LABELS[req.status]}")
        req.status, req.decided_at = "withdrawn", now
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


# --- reading ------------------------------------------------------------------------------


def requestable(rt: Runtime, participant_id: int) -> list[tuple[str, str, str | None]]:
    """(badge, name, group) a participant may ask for: the active person badges of their
    structure's networks that they do not hold yet (support badges have their public form)."""
    with rt.unit_of_work() as session:
        person = session.get(Person, participant_id)
        if person is None or person.structure_id is None:
            return []
        networks = (
            select(Organisation.slug)
            .join(Membership, Membership.network_id == Organisation.id)
            .where(Membership.structure_id == person.structure_id)
        )
        held = held_badges(session, participant_id)
        rows = session.execute(
            select(BadgeClass.slug, BadgeClass.name, BadgeClass.group, BadgeClass.evaluation)
            .where(BadgeClass.network.in_(networks), BadgeClass.status == "active")
            .order_by(BadgeClass.group, BadgeClass.name)
        ).all()
    return [
        (slug, name, group)
        for slug, name, group, evaluation in rows
        if slug not in held and not Evaluation.model_validate(evaluation or {}).public
    ]


def _load(session: Session, request_id: int, lock: bool = False) -> tuple[BadgeRequest, BadgeClass]:
    query = select(BadgeRequest).where(BadgeRequest.id == request_id)
    if lock:
        query = query.with_for_update()  # two votes at once: the second sees the first
    req = session.execute(query).scalar_one_or_none()
    if req is None:
        raise NotFound(f"demande n° {request_id} introuvable")
    return req, session.get(BadgeClass, req.badge_class_id)  # type: ignore[return-value]


def get(rt: Runtime, request_id: int, *, by: Actor) -> RequestView:
    with rt.unit_of_work() as session:
        req, bc = _load(session, request_id)
        access.ensure(session, by, Action.REQUEST_READ, _target(req, bc))
        return _view(rt, session, req, bc, detail=True)


def _view(
    rt: Runtime, session: Session, req: BadgeRequest, bc: BadgeClass, *, detail: bool
) -> RequestView:
    person = session.get(Person, req.participant_id)
    structure = session.get(Organisation, req.structure_id) if req.structure_id else None
    committee = session.get(Committee, req.committee_id) if req.committee_id else None
    setting = session.get(BadgeSetting, (req.structure_id, bc.id)) if req.structure_id else None
    criteria = bc.criteria
    if setting is not None and setting.criteria_note:
        criteria += f"\n\nAdaptation de la structure : {setting.criteria_note}"
    view = RequestView(
        id=req.id,  # type: ignore[arg-type]
        badge=bc.slug,
        badge_name=bc.name,
        criteria=criteria,
        participant_id=req.participant_id,
        participant_name=person.display_name if person else "",
        structure=structure.name if structure else None,
        enrollment_id=req.enrollment_id,
        origin=req.origin,
        mode=req.mode,
        mode_label=MODE_LABELS.get(req.mode, req.mode),
        committee_id=req.committee_id,
        committee_name=committee.name if committee else None,
        narrative=req.narrative,
        status=req.status,
        status_label=STATUS_LABELS.get(req.status, req.status),
        submitted_at=req.submitted_at,
        decided_at=req.decided_at,
        decision_reason=req.decision_reason,
        assertion_id=req.assertion_id,
    )
    if not detail:
        return view
    reviews = session.execute(
        select(Review, Person.given_name, Person.family_name)
        .join(Person, Person.id == Review.person_id)
        .where(Review.request_id == req.id)
        .order_by(Review.id)
    ).all()
    view.reviews = [
        {
            "by": f"{g} {f}".strip(),
            "role": r.role,
            "role_label": Role(r.role).label if r.role else None,
            "approve": r.approve,
            "reason": r.reason,
            "at": r.at,
        }
        for r, g, f in reviews
    ]
    files = {
        evidence_id: (file_id, filename)
        for evidence_id, file_id, filename in session.execute(
            select(EvidenceFile.evidence_id, EvidenceFile.id, EvidenceFile.filename)
            .join(Evidence, Evidence.id == EvidenceFile.evidence_id)
            .where(Evidence.request_id == req.id)
        ).all()
    }
    view.evidence = [
        {
            "id": ev.id,
            "kind": ev.kind,
            "narrative": ev.narrative,
            "url": ev.url,
            "context": ev.context,
            "file": files.get(ev.id, (None, None))[0],
            "filename": files.get(ev.id, (None, None))[1],
        }
        for ev in session.execute(
            select(Evidence).where(Evidence.request_id == req.id).order_by(Evidence.id)
        ).scalars()
    ]
    if req.status == "pending":
        view.waiting_for = _waiting_for(rt, session, req, bc, [r for r, _, _ in reviews])
    return view


def _waiting_for(
    rt: Runtime, session: Session, req: BadgeRequest, bc: BadgeClass, reviews: list[Review]
) -> list[str]:
    if req.mode == "signatures":
        signed = {r.role for r in reviews}
        return [
            f"signature : {r.label}" for r in evaluation_of(bc).signatures if r.value not in signed
        ]
    if req.mode == "network":
        return [f"évaluation par le réseau {bc.network}"]
    committee = session.get(Committee, req.committee_id)
    rule = rt.committee_rules.get(committee.kind) if committee else None
    if rule is None:
        return ["règle du comité indisponible"]
    return [f"vote du comité « {committee.name} » ({len(reviews)} vote(s) ; {rule.explain()})"]  # type: ignore[union-attr]


@dataclass(frozen=True)
class Page:
    items: list[RequestView]
    page: int
    per_page: int
    total: int


def listing(
    rt: Runtime,
    who: Actor,
    *,
    status: str | None = "pending",
    page: int = 1,
    per_page: int = 20,
    committee_id: int | None = None,
) -> Page:
    """Requests the caller may see: a participant's own; a staff member's structures', their
    committees' agendas, and their networks' requests in network mode."""
    with rt.unit_of_work() as session:
        query = select(BadgeRequest, BadgeClass).join(
            BadgeClass, BadgeClass.id == BadgeRequest.badge_class_id
        )
        if who.is_participant:
            query = query.where(BadgeRequest.participant_id == who.person_id)
        elif who.is_staff:
            committees = select(CommitteeMember.committee_id).where(
                CommitteeMember.person_id == who.person_id
            )
            query = query.where(
                or_(
                    BadgeRequest.structure_id.in_(access.structures_reached(who.person_id)),
                    BadgeRequest.committee_id.in_(committees),
                )
            )
        elif not who.is_system:
            raise Forbidden(access.refusal(Action.REQUEST_READ, who))
        if status:
            query = query.where(BadgeRequest.status == status)
        if committee_id is not None:
            query = query.where(BadgeRequest.committee_id == committee_id)
        total = session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
        rows = session.execute(
            query.order_by(BadgeRequest.submitted_at, BadgeRequest.id)
            .limit(per_page)
            .offset((page - 1) * per_page)
        ).all()
        items = [_view(rt, session, req, bc, detail=False) for req, bc in rows]
    return Page(items, page, per_page, total)
