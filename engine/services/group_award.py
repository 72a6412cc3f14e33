"""A badge awarded to a whole group after a collective action (INAÉ's « actions collectives »,
a workshop, a day on a job site): one badge class, one shared evidence, many participants.

Each participant still gets a badge of their own, through the one issuing path, and each
decision is recorded as a decided badge request of origin `collectif` (with the staff member's
approval as its review), so a participant's page, export and history show it like any other.
The whole group is one transaction: if one badge cannot be issued, none is.

Who may: the badge is awarded directly, so the actor needs `BADGE_AWARD` at the structure and
the badge's catalogue must let their role award it alone (`issuing.ensure_direct`); a badge
decided by signatures of several people, by the network or by a committee is refused, the
reason said, and asks for individual requests instead. Every participant must belong to the
structure (and, when a pathway is given, follow it there); one who does not refuses the group.

Participants who already hold the badge, or have a request for it waiting, are skipped and
listed: an attendance sheet may well name someone who earned the badge earlier.

The shared evidence (the action's title, date, narrative, an optional web address and file)
is recorded on each participant's request, so each badge carries it as its evidence; an
optional file is stored once, on the first participant's request, and the others' evidence
points to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, select
from sqlmodel import Session

from engine.badges.assertions import held_badges
from engine.errors import Forbidden, GateRefused, InvalidInput, NotFound
from engine.roles import Role
from engine.services import access, dashboard, issuing, keyset
from engine.services.access import Action, Actor, Target
from engine.services.evidence import attach
from engine.services.organisations import get_organisation
from engine.services.requests import active_badge_class
from engine.services.runtime import Runtime
from engine.statuses import (
    LEARNING_CONTEXTS,
    BadgeClassStatus,
    EnrollmentStatus,
    Origin,
    PersonKind,
    RequestStatus,
)
from engine.store.tables import (
    AuditEvent,
    BadgeClass,
    BadgeRequest,
    Enrollment,
    Membership,
    Organisation,
    PathwayVersion,
    Person,
    Review,
    utcnow,
)
from engine.uploads import Upload

EVIDENCE_KIND = "action-collective"
MAX_GROUP = 200
"""Participants in one award: a collective action, not a whole structure."""


@dataclass(frozen=True)
class SharedEvidence:
    """What the collective action was: the same for every participant."""

    title: str
    on: date
    narrative: str
    url: str | None = None
    context: str | None = None
    """A learning context (`statuses.LEARNING_CONTEXTS`), e.g. AFEST."""
    file: Upload | None = None

    def text(self) -> str:
        return f"Action collective « {self.title} » du {self.on:%d/%m/%Y} : {self.narrative}"


@dataclass
class GroupAward:
    badge: str
    badge_name: str
    awarded: list[tuple[int, str, int]] = field(default_factory=list)
    """(participant id, assertion id, request id) of each badge issued."""
    skipped: list[tuple[int, str, str]] = field(default_factory=list)
    """(participant id, name, why) of each participant left out."""


def award_group(
    rt: Runtime,
    badge: str,
    structure: str,
    participant_ids: Sequence[int],
    evidence: SharedEvidence,
    *,
    by: Actor,
    pathway: str | None = None,
    now: datetime | None = None,
) -> GroupAward:
    """Issue `badge` to each participant, in one transaction (see the module's docstring)."""
    now = now or utcnow()
    ids = list(dict.fromkeys(participant_ids))
    _check_evidence(evidence)
    if not ids:
        raise InvalidInput("participants : cochez au moins une personne")
    if len(ids) > MAX_GROUP:
        raise InvalidInput(f"participants : {MAX_GROUP} au plus par action collective")
    with rt.unit_of_work() as session:
        org = get_organisation(session, structure)
        if org.kind != "structure":
            raise InvalidInput(f"« {structure} » n'est pas une structure (SIAE)")
        bc = active_badge_class(session, badge)
        grant = access.ensure(
            session, by, Action.BADGE_AWARD, Target(structure_id=org.id, network=bc.network)
        )
        issuing.check_network(session, org.id, bc.name, bc.network)
        if bc.recipient_kind != "person":
            raise InvalidInput(f"le badge {bc.name} se délivre à une organisation")
        issuing.ensure_direct(session, bc, org.id, grant.roles)
        people = _participants(session, org, ids, pathway)
        result = GroupAward(bc.slug, bc.name)
        todo = _sort_out(rt, session, bc, people, result)
        if not todo:
            return result
        # decided by the structure's team (the label of `signatures`), unless granted at once
        mode = "auto" if issuing.structure_mode(session, bc, org.id) == "auto" else "signatures"
        role = _signing_role(bc, grant.roles)
        file_url: str | None = None
        request_ids = []
        for person_id, enrollment_id, held in todo:
            req = BadgeRequest(
                badge_class_id=bc.id,  # type: ignore[arg-type]
                participant_id=person_id,
                structure_id=org.id,
                enrollment_id=enrollment_id,
                origin=Origin.COLLECTIF,
                mode=mode,
                narrative=evidence.narrative,
                submitted_by=by.person_id,
                submitted_at=now,
                status=RequestStatus.APPROVED,
                decided_at=now,
                decision_reason=f"Action collective « {evidence.title} » du {evidence.on:%d/%m/%Y}",
            )
            session.add(req)
            session.flush()
            stored = attach(
                session,
                kind=EVIDENCE_KIND,
                added_by=by.person_id,
                now=now,
                request_id=req.id,
                narrative=evidence.text(),
                url=evidence.url or file_url,
                context=evidence.context,
                file=evidence.file if file_url is None else None,
            )
            if evidence.file is not None and file_url is None:
                session.flush()
                file_url = _file_url(rt, session, stored.id)  # type: ignore[arg-type]
            session.add(
                Review(
                    request_id=req.id,  # type: ignore[arg-type]
                    person_id=by.person_id,  # type: ignore[arg-type]
                    role=role,
                    structure_id=org.id,
                    approve=True,
                    reason=req.decision_reason,  # type: ignore[arg-type]
                    at=now,
                )
            )
            entries = [{"name": EVIDENCE_KIND, "narrative": evidence.text()}]
            if evidence.url:
                entries[0]["id"] = evidence.url
            issued = issuing.issue(
                rt,
                session,
                [bc.slug],
                basis=issuing.Basis.DIRECT,
                recipient_id=person_id,
                structure_id=org.id,
                enrollment_id=enrollment_id,
                actor_id=by.person_id,
                now=now,
                held=held,
                evidence=entries,
            )
            if not issued:  # pragma: no cover - the holders were set aside above
                raise InvalidInput(
                    f"le badge {bc.name} est déjà détenu (participant n° {person_id})"
                )
            req.assertion_id = issued[0][0]
            session.add(req)
            result.awarded.append((person_id, issued[0][0], req.id))  # type: ignore[arg-type]
            request_ids.append(req.id)
            session.add(
                AuditEvent(
                    enrollment_id=enrollment_id,
                    at=now,
                    actor_id=by.person_id,
                    kind="badge_request_decided",
                    details={
                        "request": req.id,
                        "badge": bc.slug,
                        "approved": True,
                        "assertion": issued[0][0],
                        "collective": True,
                    },
                )
            )
        session.add(
            AuditEvent(
                at=now,
                actor_id=by.person_id,
                kind="group_award",
                details={
                    "structure": org.id,
                    "badge": bc.slug,
                    "requests": request_ids,
                    "skipped": [p for p, _, _ in result.skipped],
                },
            )
        )
        session.flush()
    return result


def _check_evidence(evidence: SharedEvidence) -> None:
    problems = []
    if not evidence.title.strip():
        problems.append("titre de l'action : obligatoire")
    if not evidence.narrative.strip():
        problems.append("récit : dites ce que le groupe a fait")
    known = {key.lower() for key in LEARNING_CONTEXTS}
    if evidence.context and evidence.context.lower() not in known:
        problems.append(f"contexte : attendu {', '.join(LEARNING_CONTEXTS)}")
    if evidence.on > utcnow().date():
        problems.append("date de l'action : elle ne peut être à venir")
    if problems:
        raise InvalidInput(" ; ".join(problems))


def _participants(
    session: Session, org: Organisation, ids: list[int], pathway: str | None
) -> list[tuple[int, str, int | None]]:
    """(id, name, active enrollment at the structure or None) of each participant, in the
    order given; refused, every problem named, when one is not of the structure (or does not
    follow `pathway` there)."""
    rows = {
        r.id: r
        for r in session.execute(
            select(
                Person.id,
                Person.given_name,
                Person.family_name,
                Person.kind,
                Person.structure_id,
                Person.erased_at,
            ).where(Person.id.in_(ids))
        )
    }
    problems = []
    for pid in ids:
        row = rows.get(pid)
        if row is None or row.kind != PersonKind.PARTICIPANT or row.erased_at is not None:
            problems.append(f"participant n° {pid} introuvable")
        elif row.structure_id != org.id:
            problems.append(f"participant n° {pid} : pas un participant de {org.name}")
    if problems:
        raise (NotFound if all("introuvable" in p for p in problems) else Forbidden)(
            " ; ".join(problems)
        )
    query = (
        select(Enrollment.participant_id, Enrollment.id, PathwayVersion.pathway_id)
        .join(PathwayVersion, PathwayVersion.id == Enrollment.pathway_version_id)
        .where(
            Enrollment.participant_id.in_(ids),
            Enrollment.structure_id == org.id,
            Enrollment.status == EnrollmentStatus.ACTIVE,
        )
        .order_by(Enrollment.id.desc())
    )
    if pathway:
        query = query.where(PathwayVersion.pathway_id == pathway)
    enrolled: dict[int, int] = {}
    for participant_id, enrollment_id, _ in session.execute(query):
        enrolled.setdefault(participant_id, enrollment_id)
    if pathway:
        outside = [pid for pid in ids if pid not in enrolled]
        if outside:
            names = ", ".join(_name(rows[p]) for p in outside)
            raise InvalidInput(f"ne suivent pas le parcours « {pathway} » ici : {names}")
    return [(pid, _name(rows[pid]), enrolled.get(pid)) for pid in ids]


def _name(row: Any) -> str:
    return f"{row.given_name} {row.family_name}".strip()


def _sort_out(
    rt: Runtime,
    session: Session,
    bc: BadgeClass,
    people: list[tuple[int, str, int | None]],
    result: GroupAward,
) -> list[tuple[int, int | None, frozenset[str]]]:
    """Who gets the badge: (id, enrollment, badges held). Holders and those with a request
    waiting are set aside in `result.skipped`; a participant missing a sub-badge the badge
    requires refuses the group, named."""
    ids = [p for p, _, _ in people]
    pending = dict(
        session.execute(
            select(BadgeRequest.participant_id, BadgeRequest.id).where(
                BadgeRequest.participant_id.in_(ids),
                BadgeRequest.status == RequestStatus.PENDING,
                BadgeRequest.badge_class_id.in_(
                    select(BadgeClass.id).where(BadgeClass.slug == bc.slug)
                ),
            )
        ).all()
    )
    entry = rt.catalogue_entry(session, bc.slug)
    todo, lacking = [], []
    for pid, name, enrollment_id in people:
        held = held_badges(session, pid)
        if bc.slug in held:
            result.skipped.append((pid, name, "détient déjà ce badge"))
        elif pid in pending:
            result.skipped.append(
                (pid, name, f"une demande de ce badge attend déjà (n° {pending[pid]})")
            )
        elif entry and entry.requires and entry.requires.missing(set(held)):
            lacking.append(name)
        else:
            todo.append((pid, enrollment_id, held))
    if lacking:
        raise GateRefused(
            bc.slug,
            [f"pour le badge {bc.name}, il manque des badges à : {', '.join(lacking)}"],
        )
    return todo


def _signing_role(bc: BadgeClass, roles: frozenset[Role]) -> str | None:
    """The role the award is recorded under: one the catalogue names, else any held."""
    evaluation = issuing.evaluation_of(bc)
    for role in [*evaluation.direct, *evaluation.signatures]:
        if role in roles:
            return role.value
    return sorted(r.value for r in roles)[0] if roles else None


def _file_url(rt: Runtime, session: Session, evidence_id: int) -> str:
    from engine.store.tables import EvidenceFile

    file_id = session.execute(
        select(EvidenceFile.id).where(EvidenceFile.evidence_id == evidence_id)
    ).scalar_one()
    return f"{rt.urls.base}/pieces/{file_id}"


# --- what the form offers -------------------------------------------------------------------


@dataclass(frozen=True)
class Choices:
    structure: str
    """The structure chosen (else the first one reached)."""
    structures: list[tuple[str, str]]
    """(slug, name) of the structures where the actor may award badges."""
    badges: list[tuple[str, str]]
    """(slug, name) of the badges the actor may award alone at the chosen structure."""
    pathways: list[tuple[str, str]]
    """(id, title) of the pathways followed at the structure."""
    participants: list[tuple[int, str, str]]
    """(id, name, pathways followed) of the structure's participants (on `pathway` if given,
    their names holding `name`'s words if given)."""
    total: int
    """How many participants match, of which at most `MAX_GROUP` are listed."""
    many: bool = False
    """The actor reaches more structures than a list shows (`dashboard.LISTED_STRUCTURES`):
    `structures` is empty and the form asks for a name; `structure` is "" until one names
    exactly one of theirs."""


def choices(
    rt: Runtime,
    *,
    by: Actor,
    structure: str | None = None,
    pathway: str | None = None,
    name: str = "",
) -> Choices:
    """What the group award form offers `by`: the structures they reach, and at the chosen
    one (else the first; past a list's length, the one `structure` names) the badges they may
    award alone and its participants, found by part of their name with `name`."""
    if not by.is_staff or by.person_id is None:
        raise Forbidden(access.refusal(Action.BADGE_AWARD, by))
    with rt.reading() as conn:
        structures, many = dashboard.listed_structures(conn, by)
    if not structures and not many:
        raise Forbidden(access.refusal(Action.BADGE_AWARD, by))
    if many:
        slug = dashboard.structure_named(rt, by, structure or "") or ""
        if not slug:
            return Choices("", [], [], [], [], 0, many=True)
    else:
        slug = structure if structure in {s for s, _ in structures} else structures[0][0]
    with rt.unit_of_work() as session:
        org = get_organisation(session, slug)
        badges = []
        for bc in session.execute(
            select(BadgeClass)
            .join(Organisation, Organisation.slug == BadgeClass.network)
            .join(
                Membership,
                and_(Membership.network_id == Organisation.id, Membership.structure_id == org.id),
            )
            .where(
                BadgeClass.status == BadgeClassStatus.ACTIVE,
                BadgeClass.recipient_kind == "person",
            )
            .order_by(BadgeClass.name)
        ).scalars():
            grant = access.check(
                session, by, Action.BADGE_AWARD, Target(structure_id=org.id, network=bc.network)
            )
            if grant is None:
                continue
            try:
                issuing.ensure_direct(session, bc, org.id, grant.roles)
            except Forbidden:
                continue
            badges.append((bc.slug, bc.name))
        followed = session.execute(
            select(Enrollment.participant_id, PathwayVersion.pathway_id, PathwayVersion.title)
            .join(PathwayVersion, PathwayVersion.id == Enrollment.pathway_version_id)
            .where(Enrollment.structure_id == org.id, Enrollment.status == EnrollmentStatus.ACTIVE)
        ).all()
        pathways = sorted({(p, t) for _, p, t in followed}, key=lambda x: x[1])
        on: dict[int, list[str]] = {}
        for pid, _, title in followed:
            on.setdefault(pid, []).append(title)
        query = select(Person.id, Person.given_name, Person.family_name).where(
            Person.kind == PersonKind.PARTICIPANT,
            Person.structure_id == org.id,
            Person.erased_at.is_(None),
        )
        if pathway:
            query = query.where(Person.id.in_([pid for pid, p, _ in followed if p == pathway]))
        if name.strip():
            query = query.where(*dashboard.name_holds(session, name))
        total = keyset.count(session, query)
        people = session.execute(
            query.order_by(Person.family_name, Person.given_name, Person.id).limit(MAX_GROUP)
        ).all()
    listed = [(pid, f"{g} {f}".strip(), ", ".join(sorted(on.get(pid, [])))) for pid, g, f in people]
    return Choices(slug, structures, badges, pathways, listed, total, many=many)
