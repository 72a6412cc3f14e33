"""Badge requests as staff, committee members and the participant read them: one request
with its evidence, reviews and what it still waits for; the lists each may see; the badges a
participant may ask for."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, false, or_, select
from sqlmodel import Session

from engine.badges.assertions import held_badges
from engine.badges.catalogue import MODE_LABELS, Evaluation
from engine.errors import Forbidden, NotFound
from engine.roles import Role
from engine.services import access, keyset
from engine.services.access import Action, Actor, Target
from engine.services.issuing import evaluation_of
from engine.services.runtime import Runtime
from engine.statuses import BadgeClassStatus, Origin, RequestStatus
from engine.store.tables import (
    BadgeClass,
    BadgeRequest,
    BadgeSetting,
    Committee,
    Evidence,
    EvidenceFile,
    Membership,
    Organisation,
    Person,
    Review,
    full_name,
)


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
    origin_label: str
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


def target(req: BadgeRequest, bc: BadgeClass) -> Target:
    return Target(
        structure_id=req.structure_id,
        network=bc.network,
        participant_id=req.participant_id,
        committee_id=req.committee_id,
    )


def requestable(
    rt: Runtime, participant_id: int, *, by: Actor
) -> list[tuple[str, str, str | None]]:
    """(badge, name, group) a participant may ask for, none already held and no support badge
    (those have their public form): first the badges their pathways name, then the rest of
    those pathways' networks; without a pathway, the badges of their structure's networks."""
    from engine.services.enrollment_views import pathway_badges
    from engine.store.tables import Enrollment

    with rt.unit_of_work() as session:
        person = session.get(Person, participant_id)
        if person is None or person.structure_id is None:
            return []
        access.ensure(
            session,
            by,
            Action.REQUEST_SUBMIT,
            Target(structure_id=person.structure_id, participant_id=person.id),
        )
        versions = session.execute(
            select(Enrollment.pathway_version_id)
            .where(Enrollment.participant_id == person.id)
            .order_by(Enrollment.status != "active", Enrollment.id.desc())
        ).scalars()
        pathways = [rt.pathway(session, v) for v in dict.fromkeys(versions)]
        requirements = rt.badge_lookups(session)[1]
        if pathways:
            networks: Any = list(dict.fromkeys(p.network for p in pathways))
        else:
            networks = (
                select(Organisation.slug)
                .join(Membership, Membership.network_id == Organisation.id)
                .where(Membership.structure_id == person.structure_id)
            )
        held = held_badges(session, participant_id)
        rows = session.execute(
            select(BadgeClass.slug, BadgeClass.name, BadgeClass.group, BadgeClass.evaluation)
            .where(
                BadgeClass.network.in_(networks),
                BadgeClass.status == BadgeClassStatus.ACTIVE,
                BadgeClass.recipient_kind == "person",
            )
            .order_by(BadgeClass.group, BadgeClass.name)
        ).all()
    offered = {
        slug: (slug, name, group)
        for slug, name, group, evaluation in rows
        if slug not in held and not Evaluation.model_validate(evaluation or {}).public
    }
    own = [b for p in pathways for b in pathway_badges(p, requirements) if b in offered]
    first = list(dict.fromkeys(own))
    return [offered[b] for b in first] + [v for b, v in offered.items() if b not in first]


def load(session: Session, request_id: int, lock: bool = False) -> tuple[BadgeRequest, BadgeClass]:
    query = select(BadgeRequest).where(BadgeRequest.id == request_id)
    if lock:
        query = query.with_for_update()  # two votes at once: the second sees the first
    req = session.execute(query).scalar_one_or_none()
    if req is None:
        raise NotFound(f"demande n° {request_id} introuvable")
    return req, session.get(BadgeClass, req.badge_class_id)  # type: ignore[return-value]


def get(rt: Runtime, request_id: int, *, by: Actor) -> RequestView:
    with rt.unit_of_work() as session:
        req, bc = load(session, request_id)
        access.ensure(session, by, Action.REQUEST_READ, target(req, bc))
        return _detailed(rt, session, req, bc)


def _detailed(rt: Runtime, session: Session, req: BadgeRequest, bc: BadgeClass) -> RequestView:
    """The request as `listing` reads it (one query), with its reviews, evidence and what it
    still waits for."""
    row = session.execute(_listing().where(BadgeRequest.id == req.id)).one()
    view = _listed(row)
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
    if req.status == RequestStatus.PENDING:
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
    rule = rt.committee_rule(committee.kind) if committee else None
    if rule is None:
        return ["règle du comité indisponible"]
    return [f"vote du comité « {committee.name} » ({len(reviews)} vote(s) ; {rule.explain()})"]  # type: ignore[union-attr]


@dataclass(frozen=True)
class Page:
    items: list[RequestView]
    page: int
    per_page: int
    total: int
    total_exact: bool = True
    """False when there are more than `total` (counted up to `keyset.CAP`)."""
    next: str | None = None
    """The cursor of the next page (`after=`), None on the last."""


_OLDEST = [(BadgeRequest.submitted_at, False), (BadgeRequest.id, False)]
"""The list's order (the longest waiting first), as keyset keys."""


def listing(
    rt: Runtime,
    who: Actor,
    *,
    status: str | None = RequestStatus.PENDING,
    page: int = 1,
    per_page: int = 20,
    committee_id: int | None = None,
    after: str | None = None,
    view: Any = None,
) -> Page:
    """Requests the caller may see: a participant's own; a staff member's structures', their
    committees' agendas, and their networks' requests in network mode. `after` (a page's
    `next`) gives the page after it; the total is counted up to `keyset.CAP`; a page is one
    query with its people, structures, committees and settings. `view`: a dashboard's
    (`dashboard.View`), whose connection and reach it shares."""
    from engine.services import dashboard

    with dashboard.viewing(rt, who, view) as v:
        conn = v.conn
        where: list[Any] = []
        if who.is_participant:
            where.append(BadgeRequest.participant_id == who.person_id)
        elif who.is_staff:
            # the caller's structures and committees as ids: an index on the structure (or
            # the committee) drives the list, not a scan of every request with that status;
            # a network admin's branch is an uncorrelated subquery
            seen = v.reach
            branches = [
                and_(
                    BadgeClass.network == net,
                    BadgeRequest.structure_id.in_(dashboard.members_of(nid)),
                )
                for net, nid in seen.networks.items()
            ]
            if seen.staffed:
                branches.append(BadgeRequest.structure_id.in_(seen.staffed))
            if seen.committees:
                branches.append(BadgeRequest.committee_id.in_(seen.committees))
            where.append(or_(*branches) if branches else false())
        elif not who.is_system:
            raise Forbidden(access.refusal(Action.REQUEST_READ, who))
        if status:
            where.append(BadgeRequest.status == status)
        if committee_id is not None:
            where.append(BadgeRequest.committee_id == committee_id)
        counted = keyset.count(
            conn,
            select(BadgeRequest.id)
            .join(BadgeClass, BadgeClass.id == BadgeRequest.badge_class_id)
            .where(*where),
        )
        if after is not None:
            where.append(keyset.after(_OLDEST, keyset.decode(after, 2)))
        rows = conn.execute(
            _listing()
            .where(*where)
            .order_by(*keyset.order(_OLDEST))
            .limit(per_page + 1)
            .offset(keyset.skipped(page, per_page, after))
        ).all()
    more = len(rows) > per_page
    rows = rows[:per_page]
    items = [_listed(r) for r in rows]
    last = rows[-1] if more and rows else None
    cursor = keyset.encode([last.submitted_at, last.id]) if last is not None else None
    return Page(items, page, per_page, int(counted), counted.exact, cursor)


def _of(column: Any, where: Any, name: str | None = None) -> Any:
    """`column` of the row that `where` finds for each request of a page, as a scalar
    subquery: read for the page's rows only, and no join for the planner to order (five outer
    joins beside a network admin's conditions cost 19 ms of planning at national scale)."""
    return select(column).where(where).scalar_subquery().label(name or column.key)


_LISTED = (
    BadgeRequest.id,
    BadgeRequest.participant_id,
    BadgeRequest.enrollment_id,
    BadgeRequest.origin,
    BadgeRequest.mode,
    BadgeRequest.committee_id,
    BadgeRequest.narrative,
    BadgeRequest.status,
    BadgeRequest.submitted_at,
    BadgeRequest.decided_at,
    BadgeRequest.decision_reason,
    BadgeRequest.assertion_id,
    BadgeClass.slug,
    BadgeClass.name.label("badge_name"),
    BadgeClass.criteria,
    _of(Person.given_name, Person.id == BadgeRequest.participant_id),
    _of(Person.family_name, Person.id == BadgeRequest.participant_id),
    _of(Organisation.name, Organisation.id == BadgeRequest.structure_id, "structure_name"),
    _of(Committee.name, Committee.id == BadgeRequest.committee_id, "committee_name"),
    _of(
        BadgeSetting.criteria_note,
        and_(
            BadgeSetting.structure_id == BadgeRequest.structure_id,
            BadgeSetting.badge_class_id == BadgeRequest.badge_class_id,
        ),
    ),
)
"""What `listing` reads of each request (`_listed` makes it a RequestView): built once."""


def _listing() -> Any:
    """The requests with their badges, as `listing` and a request's detail read them."""
    return select(*_LISTED).join(BadgeClass, BadgeClass.id == BadgeRequest.badge_class_id)


def _listed(r: Any) -> RequestView:
    """A row of `listing` as the list shows it (no evidence, reviews or waits)."""
    criteria = r.criteria
    if r.criteria_note:
        criteria += f"\n\nAdaptation de la structure : {r.criteria_note}"
    return RequestView(
        id=r.id,
        badge=r.slug,
        badge_name=r.badge_name,
        criteria=criteria,
        participant_id=r.participant_id,
        participant_name=full_name(r.given_name or "", r.family_name or ""),
        structure=r.structure_name,
        enrollment_id=r.enrollment_id,
        origin=r.origin,
        origin_label=Origin(r.origin).label,
        mode=r.mode,
        mode_label=MODE_LABELS.get(r.mode, r.mode),
        committee_id=r.committee_id,
        committee_name=r.committee_name,
        narrative=r.narrative,
        status=r.status,
        status_label=RequestStatus(r.status).label,
        submitted_at=r.submitted_at,
        decided_at=r.decided_at,
        decision_reason=r.decision_reason,
        assertion_id=r.assertion_id,
    )
