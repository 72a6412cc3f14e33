"""What each person may list: staff see the enrollments of the structures where they hold a
role (network admins: every structure of their networks); participants see their own."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, or_, select

from engine.errors import Forbidden, NotFound
from engine.roles import Role
from engine.services.access import Actor
from engine.services.runtime import Runtime
from engine.store.tables import (
    Enrollment,
    Membership,
    Organisation,
    PathwayVersion,
    Person,
    StaffRole,
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


def _reachable(structure: Any, person: Any) -> Any:
    """Whether `person` may act at `structure`: a role there other than partner, or network
    admin of a network it belongs to. The one rule for `structure_ids` and `may_see`."""
    direct = select(StaffRole.organisation_id).where(
        StaffRole.person_id == person, StaffRole.role != Role.PARTNER.value
    )
    networks = select(StaffRole.organisation_id).where(
        StaffRole.person_id == person, StaffRole.role == Role.NETWORK_ADMIN.value
    )
    via_network = select(Membership.structure_id).where(Membership.network_id.in_(networks))
    return or_(structure.in_(direct), structure.in_(via_network))


def structure_ids(db: Any, person_id: int) -> list[int]:
    """Structures where this staff member may act (partners act at none)."""
    rows = db.execute(
        select(Organisation.id).where(
            Organisation.kind == "structure", _reachable(Organisation.id, person_id)
        )
    ).scalars()
    return list(rows)


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
        if who.kind == "participant":
            query = query.where(Enrollment.participant_id == who.person_id)
        else:
            query = query.where(Enrollment.structure_id.in_(structure_ids(session, who.person_id)))
        if active_only:
            query = query.where(Enrollment.status == "active")
        total = session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
        rows = session.execute(
            query.order_by(Enrollment.id.desc()).limit(per_page).offset((page - 1) * per_page)
        ).all()
    items = [Row(r[0], r[1], f"{r[2]} {r[3]}".strip(), *r[4:]) for r in rows]
    return Page(items, page, per_page, total)


# One prebuilt query per check (it runs before every enrollment read).
_WHOSE = select(
    Enrollment.participant_id,
    _reachable(Enrollment.structure_id, bindparam("pid")).label("reachable"),
).where(Enrollment.id == bindparam("eid"))


def may_see(rt: Runtime, who: Actor, enrollment_id: int) -> None:
    """NotFound for an unknown enrollment, Forbidden for one outside the caller's reach."""
    with rt.reading() as conn:
        row = conn.execute(_WHOSE, {"eid": enrollment_id, "pid": who.person_id}).first()
    if row is None:
        raise NotFound(f"parcours n° {enrollment_id} introuvable")
    if who.kind == "participant":
        if row.participant_id != who.person_id:
            raise Forbidden("ce parcours n'est pas le vôtre")
    elif not row.reachable:
        raise Forbidden("ce parcours relève d'une autre structure")
