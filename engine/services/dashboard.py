"""What each person may list: staff see the enrollments of the structures where they hold a
role, network admins those of their networks' pathways at their structures; participants see
their own. The rule is access's, as SQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import false, func, or_, select, true

from engine.roles import OrganisationKind
from engine.services import access
from engine.services.access import Actor
from engine.services.runtime import Runtime
from engine.statuses import EnrollmentStatus
from engine.store.tables import (
    Enrollment,
    Organisation,
    PathwayVersion,
    Person,
)


@dataclass(frozen=True)
class Row:
    id: int
    participant_id: int
    participant: str
    structure: str
    pathway_id: str
    pathway_title: str
    stage: str
    status: str
    stage_entered_at: datetime


@dataclass(frozen=True)
class Page:
    items: list[Row]
    page: int
    per_page: int
    total: int


def structure_ids(db: Any, person_id: int) -> list[int]:
    """Structures where this staff member may act (partners act at none)."""
    reached = access.structures_reached(person_id)
    return list(
        db.execute(
            select(Organisation.id).where(
                Organisation.kind == OrganisationKind.STRUCTURE, Organisation.id.in_(reached)
            )
        ).scalars()
    )


def visible_enrollments(who: Actor) -> Any:
    """The condition on Enrollment (joined to its PathwayVersion) of what `who` may list: the
    enrollments of their structures, and, for a network admin, those of their network's
    pathways at its structures; a participant's own."""
    if who.is_participant:
        return Enrollment.participant_id == who.person_id
    if who.is_system:
        return true()
    if not who.is_staff:
        return false()
    return or_(
        Enrollment.structure_id.in_(access.structures_staffed(who.person_id)),
        access.administers(who.person_id, Enrollment.structure_id, PathwayVersion.network),
    )


def enrollments(
    rt: Runtime, who: Actor, *, page: int = 1, per_page: int = 20, active_only: bool = False
) -> Page:
    if page < 1 or not 1 <= per_page <= 100:
        raise ValueError("page >= 1, 1 <= per_page <= 100")
    with rt.unit_of_work() as session:
        query = (
            select(
                Enrollment.id,
                Person.id,
                Person.given_name,
                Person.family_name,
                Organisation.name,
                PathwayVersion.pathway_id,
                PathwayVersion.title,
                Enrollment.stage,
                Enrollment.status,
                Enrollment.stage_entered_at,
            )
            .join(Person, Person.id == Enrollment.participant_id)
            .join(Organisation, Organisation.id == Enrollment.structure_id)
            .join(PathwayVersion, PathwayVersion.id == Enrollment.pathway_version_id)
        )
        query = query.where(visible_enrollments(who))
        if active_only:
            query = query.where(Enrollment.status == EnrollmentStatus.ACTIVE)
        total = session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
        rows = session.execute(
            query.order_by(Enrollment.id.desc()).limit(per_page).offset((page - 1) * per_page)
        ).all()
    items = [Row(r[0], r[1], f"{r[2]} {r[3]}".strip(), *r[4:]) for r in rows]
    return Page(items, page, per_page, total)
