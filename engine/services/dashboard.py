"""What each person may list: staff see the enrollments of the structures where they hold a
role, network admins those of their networks' pathways at their structures; participants see
their own. The rule is access's, as SQL.

The staff board (`board`) searches, filters and sorts those enrollments in SQL, and says where
each row of a page stands (its next steps and what they still need) in a fixed number of
queries; `overdue` lists passed stage deadlines, `network_overview` sums a network's
structures up for its admins."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

from sqlalchemy import (
    Float,
    String,
    and_,
    bindparam,
    case,
    false,
    func,
    literal,
    null,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from engine import gates
from engine.committees import Vote, outcome
from engine.errors import InvalidInput
from engine.folding import ACCENTED, LIGATURES, PLAIN, fold
from engine.pathways.model import Pathway
from engine.roles import OrganisationKind, Role
from engine.services import access, keyset
from engine.services.access import Actor
from engine.services.enrollment_views import NextStep, kind_titles
from engine.services.evidence import expected_kinds
from engine.services.runtime import Runtime
from engine.statuses import EnrollmentStatus
from engine.store.tables import (
    Assertion,
    BadgeClass,
    Committee,
    CommitteeDecision,
    CommitteeMember,
    Enrollment,
    Evidence,
    Membership,
    Organisation,
    PathwayVersion,
    Person,
    StaffRole,
    as_utc,
    full_name,
    utcnow,
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
    total_exact: bool = True
    """False when there are more than `total` (`keyset.CAP`): the count stopped there."""
    next: str | None = None
    """The cursor of the page after this one (`after=`), None on the last."""


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


@dataclass(frozen=True)
class Reach:
    """Where a staff member acts, read once (one statement) and shared by a page's lists: the
    structures where they hold a team role, the networks they administer, the committees
    where they sit."""

    staffed: tuple[int, ...] = ()
    networks: dict[str, int] = field(default_factory=dict)
    """slug -> organisation id."""
    committees: tuple[int, ...] = ()
    roles: frozenset[Role] = frozenset()
    """Every role they hold, anywhere (what `access.capabilities` reads)."""

    def capabilities(self, who: Actor) -> frozenset[access.Action]:
        """`access.capabilities` of `who` (whose reach this is), without reading again."""
        return access.capabilities(None, who, self.roles, bool(self.committees))


def reach(db: Any, who: Actor) -> Reach:
    """`who`'s `Reach` (empty but for staff): their roles and seats in one statement."""
    if not who.is_staff or who.person_id is None:
        return Reach()
    team = {role.value for role in access.STAFF}
    staffed: dict[int, None] = {}
    networks: dict[str, int] = {}
    committees: list[int] = []
    roles: set[Role] = set()
    for role, oid, slug in db.execute(_REACH, {"pid": who.person_id}):
        if role == _SEAT:
            committees.append(oid)
            continue
        roles.add(Role(role))
        if role == Role.NETWORK_ADMIN.value:
            networks[slug] = oid
        elif role in team:
            staffed[oid] = None
    return Reach(
        tuple(sorted(staffed)),
        dict(sorted(networks.items())),
        tuple(sorted(committees)),
        frozenset(roles),
    )


_SEAT = "committee-seat"
"""The role column of `reach`'s rows that are committee seats."""

_REACH = union_all(
    select(StaffRole.role, StaffRole.organisation_id, Organisation.slug)
    .join(Organisation, Organisation.id == StaffRole.organisation_id)
    .where(StaffRole.person_id == bindparam("pid")),
    select(literal(_SEAT, String()), CommitteeMember.committee_id, null()).where(
        CommitteeMember.person_id == bindparam("pid")
    ),
)
"""A person's roles (role, organisation, its slug) and committee seats (`_SEAT`, committee):
built once, as the statements of every page that reads `reach`."""


def visible_to(
    db: Any,
    who: Actor,
    seen: Reach | None = None,
    versions: dict[int, _Version] | None = None,
) -> Any:
    """`visible_enrollments` with the actor's roles read first: a condition on Enrollment
    alone that the planner evaluates once, not per row: their structures and their networks'
    pathway versions as lists of ids, and each administered network's structures as one
    uncorrelated subquery (hashed once; a list of thousands of ids would cost as much to
    send as the rows). `seen` and `versions`: the caller's, when it has read them already."""
    if who.is_participant or who.is_system or not who.is_staff:
        return visible_enrollments(who)
    seen = seen if seen is not None else reach(db, who)
    branches = [Enrollment.structure_id.in_(seen.staffed)] if seen.staffed else []
    if seen.networks:
        by_network: dict[str, list[int]] = {}
        if versions is not None:
            pairs = [(v.id, v.network) for v in versions.values()]
        else:
            pairs = db.execute(
                select(PathwayVersion.id, PathwayVersion.network).where(
                    PathwayVersion.network.in_(sorted(seen.networks))
                )
            ).all()
        for vid, net in pairs:
            if net in seen.networks:
                by_network.setdefault(net, []).append(vid)
        branches += [
            and_(
                Enrollment.pathway_version_id.in_(sorted(by_network[net])),
                Enrollment.structure_id.in_(members_of(nid)),
            )
            for net, nid in seen.networks.items()
            if net in by_network
        ]
    return or_(*branches) if branches else false()


def in_reach(db: Any, who: Actor, structure: Any, seen: Reach | None = None) -> Any:
    """`structure` (an id column) is one where staff member `who` acts or that belongs to a
    network they administer (`access.structures_reached`), as `visible_to` writes it: their
    own structures as ids, each network's members as one uncorrelated subquery the planner
    hashes once. (As one `IN (union)`, PostgreSQL joins it to every row it walks: a network
    admin's thousands of structures, compared again for each row of a page.)"""
    seen = seen if seen is not None else reach(db, who)
    branches = [structure.in_(seen.staffed)] if seen.staffed else []
    branches += [structure.in_(members_of(nid)) for nid in seen.networks.values()]
    return or_(*branches) if branches else false()


def members_of(network_id: int) -> Any:
    """The ids of a network's member organisations, as an uncorrelated subquery."""
    return select(Membership.structure_id).where(Membership.network_id == network_id)


_NEWEST = [(Enrollment.id, True)]
"""The enrollments list's order (newest first) as keyset keys."""


def enrollments(
    rt: Runtime,
    who: Actor,
    *,
    page: int = 1,
    per_page: int = 20,
    active_only: bool = False,
    after: str | None = None,
) -> Page:
    """The enrollments `who` may see, newest first. `after` (the `next` of a page) gives the
    page after it, at the same cost however deep; `page` (OFFSET) is kept for the first pages
    and old clients. The total is counted up to `keyset.CAP`."""
    if page < 1 or not 1 <= per_page <= 100:
        raise ValueError("page >= 1, 1 <= per_page <= 100")
    with rt.unit_of_work() as session:
        where = [visible_to(session, who)]
        if active_only:
            where.append(Enrollment.status == EnrollmentStatus.ACTIVE)
        counted = keyset.count(session, select(Enrollment.id).where(*where))
        if after is not None:
            where.append(keyset.after(_NEWEST, keyset.decode(after, 1)))
        ids = (
            select(Enrollment.id)
            .where(*where)
            .order_by(*keyset.order(_NEWEST))
            .limit(per_page + 1)
            .offset(keyset.skipped(page, per_page, after))
            .subquery()
        )
        rows = session.execute(
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
            .join(ids, ids.c.id == Enrollment.id)
            .join(Person, Person.id == Enrollment.participant_id)
            .join(Organisation, Organisation.id == Enrollment.structure_id)
            .join(PathwayVersion, PathwayVersion.id == Enrollment.pathway_version_id)
            .order_by(*keyset.order(_NEWEST))
        ).all()
    more = len(rows) > per_page
    rows = rows[:per_page]
    items = [Row(r[0], r[1], f"{r[2]} {r[3]}".strip(), *r[4:]) for r in rows]
    cursor = keyset.encode([rows[-1][0]]) if more and rows else None
    return Page(items, page, per_page, int(counted), counted.exact, cursor)


# --- the searchable board ----------------------------------------------------------------

SORTS = {
    "nom": "nom (A → Z)",
    "entree": "entrée dans l'étape (la plus ancienne d'abord)",
    "echeance": "échéance (la plus proche d'abord)",
}
"""The board's orders, by the word the address carries, with what the form says."""

STATUS_LABELS = {s.value: s.label for s in EnrollmentStatus}

_BATCH = 500
"""Enrollments whose gates are evaluated together when the board keeps only the ready ones."""


def _folded(expr: Any, dialect: str) -> Any:
    """`fold` in SQL, on both databases and with no extension: PostgreSQL translates (capitals
    with accents too, whatever lower() does with them in the database's locale); SQLite calls
    `fold` itself (`_teach_fold`), its lower() knowing ASCII only."""
    if dialect != "postgresql":
        return func.parcours_fold(expr)
    out = func.translate(func.lower(expr), _const(ACCENTED), _const(PLAIN))
    for ligature, plain in LIGATURES:
        out = func.replace(out, _const(ligature), _const(plain))
    return out


def _person_folded(dialect: str) -> tuple[Any, Any]:
    """A person's folded family and given names: on PostgreSQL the columns it stores (no
    folding per row read), on SQLite folded as read."""
    if dialect == "postgresql":
        return Person.folded_family, Person.folded_given
    return _folded(Person.family_name, dialect), _folded(Person.given_name, dialect)


def _const(text: str) -> Any:
    return literal(text, String(), literal_execute=True)


def _teach_fold(conn: Any) -> None:
    """Give this SQLite connection `parcours_fold` (a C call, no statement; pooled connections
    keep it, registering again is harmless)."""
    if conn.dialect.name == "sqlite":
        raw = conn.connection.driver_connection
        raw.create_function("parcours_fold", 1, _fold_or_null, deterministic=True)


def _fold_or_null(text: str | None) -> str | None:
    return None if text is None else fold(text)


class _DayNumber(FunctionElement):
    """A timestamp as a number of days, to add a stage's deadline to it and sort by the sum."""

    type = Float()
    inherit_cache = True


@compiles(_DayNumber, "sqlite")
def _day_number_sqlite(element: Any, compiler: Any, **kw: Any) -> str:
    return f"julianday({compiler.process(element.clauses, **kw)})"


@compiles(_DayNumber)
def _day_number(element: Any, compiler: Any, **kw: Any) -> str:
    return f"(extract(epoch from {compiler.process(element.clauses, **kw)}) / 86400.0)"


@dataclass(frozen=True)
class Filters:
    """What the board's form asks; empty values filter nothing."""

    name: str = ""
    """Part of the participant's name, any case, accents or not."""
    structure: str = ""
    """A structure's slug."""
    pathway: str = ""
    """A pathway's id."""
    stage: tuple[str, str] | None = None
    """(pathway id, stage id)."""
    status: str = ""
    """An `EnrollmentStatus` value."""
    overdue: bool = False
    ready: bool = False
    """Only enrollments with a next step whose conditions are all met."""
    sort: str = "nom"


@dataclass(frozen=True)
class BoardRow:
    id: int
    participant_id: int
    participant: str
    structure: str
    pathway_id: str
    pathway_title: str
    stage: str
    stage_title: str
    status: str
    status_label: str
    stage_entered_at: datetime
    days_in_stage: int
    deadline: datetime | None
    overdue: bool
    next_steps: list[NextStep] = field(default_factory=list)
    """The steps forward (an early exit, always open to staff, is no step forward)."""

    @property
    def blocking(self) -> list[str]:
        return [c.text for step in self.next_steps for c in step.conditions if not c.met]

    @property
    def ready(self) -> bool:
        return any(step.ready for step in self.next_steps)


@dataclass(frozen=True)
class BoardPage:
    items: list[BoardRow]
    page: int
    per_page: int
    total: int
    total_exact: bool = True
    """False when there are more than `total` (counted up to `keyset.CAP`; for the ready
    filter, as far as the page needed to look)."""
    next: str | None = None
    """The cursor of the next page (`after=`), None on the last."""

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def counted(self) -> str:
        """The total as said: « 1 234 », or « plus de 1 000 »."""
        return str(keyset.Count(self.total, self.total_exact))

    @property
    def more(self) -> bool:
        """Whether `total` is only where counting stopped."""
        return not self.total_exact


@dataclass(frozen=True)
class StageChoice:
    pathway_id: str
    stage: str
    title: str


@dataclass(frozen=True)
class Choices:
    """What the board's form offers: the structures, pathways and stages one may see."""

    structures: list[tuple[str, str]]
    pathways: list[tuple[str, str]]
    stages: dict[str, list[StageChoice]]
    """Per pathway id, its stages in the pathway's order (all its versions')."""
    many: bool = False
    """More than `LISTED_STRUCTURES` structures: `structures` is empty, and forms ask for a
    structure's name (or part of it) instead of offering a list of thousands."""


LISTED_STRUCTURES = 100
"""Structures a form lists at most; a network admin of 3,000 types a name instead."""


@dataclass(frozen=True)
class _Version:
    id: int
    pathway_id: str
    title: str
    network: str
    pathway: Pathway


def _versions(rt: Runtime, conn: Any) -> dict[int, _Version]:
    """Every published pathway version, parsed (once per process): stage titles, deadlines and
    gates. There are tens of them, not thousands."""
    rows = conn.execute(
        select(
            PathwayVersion.id,
            PathwayVersion.pathway_id,
            PathwayVersion.title,
            PathwayVersion.network,
        ).order_by(PathwayVersion.pathway_id, PathwayVersion.version)
    ).all()
    return {r[0]: _Version(r[0], r[1], r[2], r[3], rt.pathway(conn, r[0])) for r in rows}


@dataclass
class View:
    """One page's reading, shared by its lists: a connection, who reads, where they act and
    the published pathways, each read once (a dashboard shows five lists; each reading them
    again cost a third of its statements)."""

    rt: Runtime
    conn: Any
    who: Actor
    reach: Reach
    versions: dict[int, _Version]

    @cached_property
    def visible(self) -> Any:
        """`visible_to`, for this page."""
        return visible_to(self.conn, self.who, self.reach, self.versions)

    @property
    def key(self) -> tuple[Any, ...]:
        """What `visible` and the pathways' deadlines are made of, by value and hashable:
        statements built on them may be kept, whatever database (or process's test) they
        were built for."""
        mine = self.who.person_id if self.who.is_participant else None
        deadlines = _deadline_days(self.versions)
        return (
            self.who.kind,
            mine,
            self.reach.staffed,
            tuple(self.reach.networks.items()),
            self.reach.committees,
            tuple(sorted((v.id, v.network) for v in self.versions.values())),
            tuple(sorted((k, tuple(stages)) for k, stages in deadlines.items())),
            self.conn.dialect.name,
        )


@contextmanager
def viewing(rt: Runtime, who: Actor, view: View | None = None) -> Iterator[View]:
    """A `View` for `who` on its own connection, or `view` when the caller shares one."""
    if view is not None:
        yield view
        return
    with rt.reading() as conn:
        _teach_fold(conn)
        yield View(rt, conn, who, reach(conn, who), _versions(rt, conn))


def _deadline_days(versions: dict[int, _Version]) -> dict[tuple[int, int], list[str]]:
    """(version id, days) -> the stages of that version with that deadline."""
    out: dict[tuple[int, int], list[str]] = {}
    for v in versions.values():
        for stage in v.pathway.stages:
            if stage.deadline_days:
                out.setdefault((v.id, stage.deadline_days), []).append(stage.id)
    return out


def _cut(vid: int, days: int, now: datetime | None) -> Any:
    """The latest entry into version `vid`'s stages with a deadline of `days` that has passed
    it, as a parameter named as `_cutoffs` names it; without `now`, given at execution."""
    name = f"cut_{vid}_{days}"
    return bindparam(name) if now is None else bindparam(name, now - timedelta(days=days))


def _overdue(versions: dict[int, _Version], now: datetime | None) -> Any:
    """Active enrollments past their stage's deadline, as SQL on the indexed entry time;
    without `now`, the cutoffs are `_cutoffs`' parameters."""
    groups = [
        and_(
            Enrollment.pathway_version_id == vid,
            Enrollment.stage.in_(stages),
            Enrollment.stage_entered_at <= _cut(vid, days, now),
        )
        for (vid, days), stages in _deadline_days(versions).items()
    ]
    if not groups:
        return false()
    return and_(Enrollment.status == EnrollmentStatus.ACTIVE, or_(*groups))


def _deadline_key(versions: dict[int, _Version]) -> Any:
    """The deadline as a day number (NULL without one), or None when no stage has a deadline:
    what the deadline order sorts by."""
    whens = [
        (
            and_(Enrollment.pathway_version_id == vid, Enrollment.stage.in_(stages)),
            _DayNumber(Enrollment.stage_entered_at) + days,
        )
        for (vid, days), stages in _deadline_days(versions).items()
    ]
    if not whens:
        return None
    return case((Enrollment.status != EnrollmentStatus.ACTIVE, null()), *whens, else_=null())


def _moving(versions: dict[int, _Version]) -> Any:
    """Active enrollments in a stage with a way out: the only ones that may be ready."""
    pairs = [
        and_(Enrollment.pathway_version_id == v.id, Enrollment.stage.in_(stages))
        for v in versions.values()
        if (stages := [s.id for s in v.pathway.stages if v.pathway.transitions_from(s.id)])
    ]
    if not pairs:
        return false()
    return and_(Enrollment.status == EnrollmentStatus.ACTIVE, or_(*pairs))


_ROW = (
    Enrollment.id,
    Enrollment.participant_id,
    Enrollment.structure_id,
    Enrollment.pathway_version_id,
    Enrollment.stage,
    Enrollment.status,
    Enrollment.revision,
    Enrollment.stage_entered_at,
    Person.given_name,
    Person.family_name,
    Organisation.name.label("structure_name"),
)


def _selection(
    visible: Any,
    filters: Filters,
    versions: dict[int, _Version],
    now: datetime,
    dialect: str,
    *,
    wide: bool = True,
) -> tuple[Any, list[tuple[Any, bool]], Any]:
    """The enrollments `visible` (a condition, `visible_to`) the filters keep, not yet the
    ready filter; the keyset keys of the order asked (the query is not ordered yet); and the
    same enrollments' ids alone, joined to nothing the filters do not need: what is counted
    (joining a big structure's 5,000 rows to their people only to count them cost 20 ms).
    `wide`: what is visible spans networks (a network admin's), so walking the name index in
    order finds a page at once; otherwise the structures' rows are read and sorted."""
    where = [visible]
    family, given = _person_folded(dialect)
    if filters.name.strip():
        where += _holds_words(given + " " + family, filters.name)
    if filters.structure:
        named = select(Organisation.id).where(_names_structure(filters.structure, dialect))
        where.append(Enrollment.structure_id.in_(named))
    if filters.pathway or filters.stage is not None:
        pathway_id = filters.stage[0] if filters.stage is not None else filters.pathway
        ids = [v.id for v in versions.values() if v.pathway_id == pathway_id]
        if filters.pathway and filters.pathway != pathway_id:
            ids = []
        where.append(Enrollment.pathway_version_id.in_(ids) if ids else false())
    if filters.stage is not None:
        where.append(Enrollment.stage == filters.stage[1])
    if filters.status:
        where.append(Enrollment.status == filters.status)
    if filters.overdue:
        where.append(_overdue(versions, now))
    if filters.ready:
        where.append(_moving(versions))
    query = (
        select(*_ROW)
        .select_from(Enrollment)
        .join(Person, Person.id == Enrollment.participant_id)
        .join(Organisation, Organisation.id == Enrollment.structure_id)
        .where(*where)
    )
    counted = select(Enrollment.id)
    if filters.name.strip():
        counted = counted.join(Person, Person.id == Enrollment.participant_id)
    counted = counted.where(*where)
    if filters.sort == "entree":
        order = [Enrollment.stage_entered_at, Enrollment.id]
    elif filters.sort == "echeance":
        key = _deadline_key(versions)
        # no pathway with a deadline: a NULL constant, which PostgreSQL refuses in ORDER BY
        order = [Enrollment.id] if key is None else [key.is_(None), key, Enrollment.id]
    else:
        if not wide:
            # `|| ''` hides the name index from the planner: a few structures' rows sorted
            # (thousands) cost less than walking the nation's names to find theirs
            family = family + ""
        order = [family, given, Enrollment.id]
    return query, [(expr, False) for expr in order], counted


def _keyed(query: Any, keys: list[tuple[Any, bool]]) -> Any:
    """The query ordered by `keys`, their values selected too (`k0`, `k1`...): what the
    cursor of its last row is made of."""
    return query.add_columns(*(expr.label(f"k{i}") for i, (expr, _) in enumerate(keys))).order_by(
        *keyset.order(keys)
    )


def _cursor(row: Any, keys: list[tuple[Any, bool]]) -> str:
    return keyset.encode([getattr(row, f"k{i}") for i in range(len(keys))])


def board(
    rt: Runtime,
    who: Actor,
    filters: Filters = Filters(),
    *,
    page: int = 1,
    per_page: int = 20,
    now: datetime | None = None,
    after: str | None = None,
    view: View | None = None,
) -> BoardPage:
    """One page of the enrollments `who` may see that the filters keep, each with where it
    stands and what its next steps still need. The page's rows are evaluated together: a
    fixed number of queries whatever the page's size. `after` (a page's `next`) gives the
    page after it at the same cost however deep; the total is counted up to `keyset.CAP`."""
    if page < 1 or not 1 <= per_page <= 100:
        raise ValueError("page >= 1, 1 <= per_page <= 100")
    if filters.sort not in SORTS:
        raise InvalidInput(f"tri inconnu « {filters.sort} »")
    if filters.status and filters.status not in STATUS_LABELS:
        raise InvalidInput(f"statut inconnu « {filters.status} »")
    now = now or utcnow()
    with viewing(rt, who, view) as v:
        conn, versions, visible = v.conn, v.versions, v.visible
        wide = not who.is_staff or bool(v.reach.networks)
        query, keys, counting = _selection(
            visible, filters, versions, now, rt.engine.dialect.name, wide=wide
        )
        start = keyset.after(keys, keyset.decode(after, len(keys))) if after else None
        skip = keyset.skipped(page, per_page, after)
        if not filters.ready:
            counted = keyset.count(conn, counting)
            if start is not None:
                query = query.where(start)
            rows = conn.execute(_keyed(query, keys).limit(per_page + 1).offset(skip)).all()
            more = len(rows) > per_page
            rows = rows[:per_page]
            standing = _standing(rt, conn, rows, versions, now)
        else:
            # Gates are not SQL: walk the candidates in batches, keep the ready ones, and stop
            # once the page (and one more, to know there is a next page) is found.
            ready: list[Any] = []
            standing = {}
            walked = 0
            exhausted = False
            candidates = _keyed(query, keys)
            while len(ready) <= skip + per_page and not exhausted:
                batch = conn.execute(
                    (candidates if start is None else candidates.where(start)).limit(_BATCH)
                ).all()
                exhausted = len(batch) < _BATCH
                walked += len(batch)
                if batch:
                    start = keyset.after(
                        keys, [getattr(batch[-1], f"k{i}") for i in range(len(keys))]
                    )
                steps = _standing(rt, conn, batch, versions, now)
                for row in batch:
                    if any(s.ready and not s.early_exit for s in steps[row.id]):
                        ready.append(row)
                        standing[row.id] = steps[row.id]
            more = len(ready) > skip + per_page
            counted = keyset.Count(len(ready), exhausted)
            rows = ready[skip : skip + per_page]
    items = [_board_row(r, versions[r.pathway_version_id], standing[r.id], now) for r in rows]
    cursor = _cursor(rows[-1], keys) if more and rows else None
    return BoardPage(items, page, per_page, int(counted), counted.exact, cursor)


def _board_row(row: Any, version: _Version, steps: list[NextStep], now: datetime) -> BoardRow:
    stage = version.pathway.stage(row.stage)
    entered = as_utc(row.stage_entered_at)
    active = row.status == EnrollmentStatus.ACTIVE
    deadline = (
        entered + timedelta(days=stage.deadline_days) if active and stage.deadline_days else None
    )
    return BoardRow(
        row.id,
        row.participant_id,
        full_name(row.given_name, row.family_name),
        row.structure_name,
        version.pathway_id,
        version.title,
        row.stage,
        stage.title,
        row.status,
        STATUS_LABELS.get(row.status, row.status),
        entered,
        (now - entered).days,
        deadline,
        deadline is not None and now >= deadline,
        [s for s in steps if not s.early_exit],
    )


# --- where a page of enrollments stands, in a fixed number of queries ----------------------

_HELD_MANY = (
    select(Assertion.recipient_id, BadgeClass.slug)
    .join(BadgeClass, BadgeClass.id == Assertion.badge_class_id)
    .where(
        Assertion.recipient_id.in_(bindparam("pids", expanding=True)),
        Assertion.revoked_at.is_(None),
    )
)
_EVIDENCE_MANY = select(
    Evidence.enrollment_id, Evidence.stage, Evidence.kind, Evidence.added_at
).where(Evidence.enrollment_id.in_(bindparam("eids", expanding=True)))
_COMMITTEES = (
    select(Committee.id, Committee.kind, Committee.name, Committee.structure_id, Committee.network)
    .where(
        Committee.network.in_(bindparam("nets", expanding=True)),
        or_(
            Committee.structure_id.in_(bindparam("sids", expanding=True)),
            Committee.structure_id.is_(None),
        ),
    )
    .order_by(Committee.structure_id.is_(None), Committee.id)
)
_VOTES_MANY = (
    select(
        CommitteeDecision.enrollment_id,
        CommitteeDecision.stage,
        CommitteeDecision.trigger,
        CommitteeDecision.approved,
        CommitteeDecision.reason,
        CommitteeDecision.decided_at,
        CommitteeMember.committee_id,
        CommitteeMember.structure_id,
    )
    .join(CommitteeMember, CommitteeMember.person_id == CommitteeDecision.decided_by)
    .where(
        CommitteeDecision.enrollment_id.in_(bindparam("eids", expanding=True)),
        CommitteeMember.committee_id.in_(bindparam("cids", expanding=True)),
    )
    .order_by(CommitteeDecision.id)
)


def _standing(
    rt: Runtime, conn: Any, rows: list[Any], versions: dict[int, _Version], now: datetime
) -> dict[int, list[NextStep]]:
    """Each row's next steps with their conditions, as `enrollment_views.status` says them,
    read for all the rows at once: badges held, evidence, committees and their votes are one
    query each (those the rows' gates need), whatever the number of rows."""
    names, requirements = rt.badge_lookups(conn)
    outgoing = {
        r.id: versions[r.pathway_version_id].pathway.transitions_from(r.stage)
        if r.status == EnrollmentStatus.ACTIVE
        else []
        for r in rows
    }
    need_badges = {
        r.participant_id
        for r in rows
        for t in outgoing[r.id]
        if t.gate.badges
        or any(
            b in requirements for b in versions[r.pathway_version_id].pathway.awards_for(t, r.stage)
        )
    }
    held: dict[int, set[str]] = {pid: set() for pid in need_badges}
    if need_badges:
        for pid, slug in conn.execute(_HELD_MANY, {"pids": sorted(need_badges)}):
            held[pid].add(slug)
    need_evidence = [
        r.id for r in rows if any(t.gate.evidence or t.gate.checks for t in outgoing[r.id])
    ]
    evidence: dict[int, list[Any]] = {}
    if need_evidence:
        for e in conn.execute(_EVIDENCE_MANY, {"eids": need_evidence}):
            evidence.setdefault(e.enrollment_id, []).append(e)
    decisions = _decisions_many(rt, conn, rows, versions, outgoing)
    out: dict[int, list[NextStep]] = {}
    for r in rows:
        pathway = versions[r.pathway_version_id].pathway
        entered = as_utc(r.stage_entered_at)
        kinds = frozenset(
            e.kind
            for e in evidence.get(r.id, [])
            if e.stage == r.stage and as_utc(e.added_at) >= entered
        )
        ctx = gates.GateContext(
            pathway=pathway,
            enrollment_id=r.id,
            participant_id=r.participant_id,
            structure_id=r.structure_id,
            stage=r.stage,
            stage_entered_at=entered,
            now=now,
            badge_names=names,
            badge_requirements=requirements,
            held=frozenset(held.get(r.participant_id, ())),
            held_known=r.participant_id in held,
            evidence=kinds,
            decisions=decisions.get(r.id, {}),
            actor_roles=None,
        )
        titles = expected_kinds(pathway)
        out[r.id] = [
            NextStep(
                t.trigger,
                t.title,
                t.dest,
                pathway.stage(t.dest).title,
                list(t.gate.roles),
                [
                    gates.Condition(c.kind, c.met, kind_titles(c.text, titles))
                    if c.kind == "evidence"
                    else c
                    for c in gates.evaluate(t, ctx, rt.gate_checks)
                ],
                final=pathway.stage(t.dest).final,
                early_exit=not t.completes,
                committee=t.gate.committee,
                outcomes=pathway.stage(t.dest).outcomes,
                exit_required=pathway.stage(t.dest).requires_exit,
                records_exit=pathway.stage(t.dest).records_exit,
            )
            for t in outgoing[r.id]
        ]
    return out


def _decisions_many(
    rt: Runtime,
    conn: Any,
    rows: list[Any],
    versions: dict[int, _Version],
    outgoing: dict[int, list[Any]],
) -> dict[int, dict[str, tuple[bool | None, str]]]:
    """Per row, per committee trigger, the verdict and its sentence, as `gate_state` says it:
    the structure's own committee of the pathway's network, else the network's crossed one;
    only the votes of its members, cast since the stage was entered."""
    asking = {r.id: [t.trigger for t in outgoing[r.id] if t.gate.committee] for r in rows}
    asking = {eid: triggers for eid, triggers in asking.items() if triggers}
    if not asking:
        return {}
    waiting = [r for r in rows if r.id in asking]
    nets = sorted({versions[r.pathway_version_id].network for r in waiting})
    sids = sorted({r.structure_id for r in waiting})
    committees: dict[tuple[int, str], Any] = {}
    for c in conn.execute(_COMMITTEES, {"nets": nets, "sids": sids}):
        for sid in [c.structure_id] if c.structure_id is not None else sids:
            committees.setdefault((sid, c.network), c)
    chosen = {
        r.id: committees.get((r.structure_id, versions[r.pathway_version_id].network))
        for r in waiting
    }
    cids = sorted({c.id for c in chosen.values() if c is not None})
    votes: dict[tuple[int, int], list[Any]] = {}
    if cids:
        found = conn.execute(_VOTES_MANY, {"eids": sorted(asking), "cids": cids})
        for v in found:
            votes.setdefault((v.enrollment_id, v.committee_id), []).append(v)
    out: dict[int, dict[str, tuple[bool | None, str]]] = {}
    for r in waiting:
        triggers = asking[r.id]
        committee = chosen[r.id]
        if committee is None:
            text = "aucun comité d'attribution n'est encore constitué pour cette étape"
            out[r.id] = dict.fromkeys(triggers, (None, text))
            continue
        rule = rt.committee_rule(committee.kind)
        if rule is None:
            out[r.id] = dict.fromkeys(
                triggers, (None, f"règle du comité « {committee.kind} » absente")
            )
            continue
        entered = as_utc(r.stage_entered_at)
        cast_by = {t: [] for t in triggers}
        for v in votes.get((r.id, committee.id), []):
            if v.stage == r.stage and v.trigger in cast_by and as_utc(v.decided_at) >= entered:
                cast_by[v.trigger].append(v)
        out[r.id] = {}
        for trigger, cast in cast_by.items():
            verdict = outcome(rule, [Vote(bool(v.approved), v.structure_id) for v in cast])
            yes = sum(bool(v.approved) for v in cast)
            count = f"{yes} pour, {len(cast) - yes} contre"
            if verdict is None:
                text = (
                    f"décision du comité « {committee.name} » attendue ({count} ; {rule.explain()})"
                )
            else:
                word = "favorable" if verdict else "défavorable"
                reasons = " ; ".join(v.reason for v in cast)
                text = f"avis {word} du comité « {committee.name} » ({count}) : {reasons}"
            out[r.id][trigger] = (verdict, text)
    return out


# --- overdue deadlines, the form's choices, the network overview --------------------------


@dataclass(frozen=True)
class Overdue:
    enrollment_id: int
    participant: str
    structure: str
    pathway_title: str
    stage_title: str
    deadline: datetime


def _late(visible: Any, versions: dict[int, _Version], each: int, *, oldest: bool) -> Any:
    """The visible enrollments past their stage's deadline, with their deadline as a day
    number (`due`), as a subquery, or None when no stage has a deadline: read stage by stage,
    `each` at most from each (`oldest`: the oldest, in entry order along index
    `ix_enrollment_stage_entered`), so that no read walks every late enrollment nationwide.
    Each stage's cutoff is a parameter (`_cutoffs`): the statement holds for any day."""
    parts = []
    for (vid, days), stages in _deadline_days(versions).items():
        for stage in stages:
            part = select(
                Enrollment.id, (_DayNumber(Enrollment.stage_entered_at) + days).label("due")
            ).where(
                visible,
                Enrollment.status == EnrollmentStatus.ACTIVE,
                Enrollment.pathway_version_id == vid,
                Enrollment.stage == stage,
                Enrollment.stage_entered_at <= _cut(vid, days, None),
            )
            if oldest:
                part = part.order_by(Enrollment.stage_entered_at, Enrollment.id)
            parts.append(select(part.limit(each).subquery()))
    return union_all(*parts).subquery() if parts else None


def _cutoffs(versions: dict[int, _Version], now: datetime) -> dict[str, datetime]:
    """The parameters of `_late`: for each deadline, the latest entry that has passed it."""
    return {
        f"cut_{vid}_{days}": now - timedelta(days=days) for vid, days in _deadline_days(versions)
    }


_OVERDUE: dict[tuple[Any, ...], tuple[Any, Any]] = {}
"""`_overdue_reads`' statements by who reads (their reach) and the pathways: built once for
a staff member's visits (two unions of a select per stage with a deadline; building them,
and SQLAlchemy's key for its cache of compiled statements, cost as much as running them)."""


def _overdue_reads(v: View, limit: int) -> tuple[Any, Any] | None:
    """(count of the late ones up to `keyset.CAP` + 1, ids of the `limit` oldest), or None
    when no stage has a deadline."""
    if not _deadline_days(v.versions):
        return None
    key = (v.key, limit)
    if key not in _OVERDUE:
        counted = _late(v.visible, v.versions, keyset.CAP + 1, oldest=False)
        capped = select(counted.c.id).limit(keyset.CAP + 1).subquery()
        late = _late(v.visible, v.versions, limit, oldest=True)
        if len(_OVERDUE) >= 512:
            _OVERDUE.clear()
        _OVERDUE[key] = (
            select(func.count()).select_from(capped),
            select(late.c.id).order_by(late.c.due, late.c.id).limit(limit),
        )
    return _OVERDUE[key]


def overdue(
    rt: Runtime,
    who: Actor,
    *,
    limit: int = 10,
    now: datetime | None = None,
    view: View | None = None,
) -> tuple[list[Overdue], keyset.Count]:
    """The oldest passed deadlines `who` may see (who, which stage, since when) and how many
    there are in all, counted up to `keyset.CAP`: a count that stops at the cap, the oldest
    `limit` of each stage merged, then the names of the rows shown."""
    now = now or utcnow()
    with viewing(rt, who, view) as v:
        reads = _overdue_reads(v, limit)
        if reads is None:
            return [], keyset.Count(0)
        cutoffs = _cutoffs(v.versions, now)
        n = v.conn.execute(reads[0], cutoffs).scalar_one()
        ids = list(v.conn.execute(reads[1], cutoffs).scalars())
        found = v.conn.execute(
            select(*_ROW)
            .join(Person, Person.id == Enrollment.participant_id)
            .join(Organisation, Organisation.id == Enrollment.structure_id)
            .where(Enrollment.id.in_(ids))
        ).all()
    total = keyset.Count(min(n, keyset.CAP), n <= keyset.CAP)
    versions = v.versions
    deadline = {
        r.id: as_utc(r.stage_entered_at)
        + timedelta(days=versions[r.pathway_version_id].pathway.stage(r.stage).deadline_days or 0)
        for r in found
    }
    rows = sorted(found, key=lambda r: (deadline[r.id], r.id))
    out = []
    for r in rows:
        version = versions[r.pathway_version_id]
        stage = version.pathway.stage(r.stage)
        out.append(
            Overdue(
                r.id,
                full_name(r.given_name, r.family_name),
                r.structure_name,
                version.title,
                stage.title,
                deadline[r.id],
            )
        )
    return out, total


def _reached_structures(conn: Any, who: Actor, seen: Reach | None = None) -> Any:
    return select(Organisation.slug, Organisation.name).where(
        Organisation.kind == OrganisationKind.STRUCTURE,
        in_reach(conn, who, Organisation.id, seen),
    )


def listed_structures(
    conn: Any, who: Actor, seen: Reach | None = None
) -> tuple[list[tuple[str, str]], bool]:
    """(slug, name) of the structures `who` reaches, by name, when a form may list them; else
    none and True (more than `LISTED_STRUCTURES`: the form asks for a name)."""
    structures = [
        (slug, name)
        for slug, name in conn.execute(
            _reached_structures(conn, who, seen)
            .order_by(Organisation.name, Organisation.id)
            .limit(LISTED_STRUCTURES + 1)
        )
    ]
    if len(structures) > LISTED_STRUCTURES:
        return [], True
    return structures, False


def choices(rt: Runtime, who: Actor, view: View | None = None) -> Choices:
    """The structures `who` reaches (up to `LISTED_STRUCTURES`, else none and `many`) and the
    published pathways with their stages."""
    with viewing(rt, who, view) as v:
        structures, many = listed_structures(v.conn, who, v.reach)
        versions = v.versions
    pathways: dict[str, str] = {}
    stages: dict[str, dict[str, StageChoice]] = {}
    for v in versions.values():  # oldest version first: the newest title wins
        pathways[v.pathway_id] = v.title
        for s in v.pathway.stages:
            stages.setdefault(v.pathway_id, {})[s.id] = StageChoice(v.pathway_id, s.id, s.title)
    ordered = sorted(pathways.items(), key=lambda p: fold(p[1]))
    return Choices(
        structures, ordered, {p: list(stages[p].values()) for p, _ in ordered}, many=many
    )


def structure_named(rt: Runtime, who: Actor, typed: str) -> str | None:
    """The slug of the one structure `who` reaches that `typed` names: its slug, its name, or
    a part of its name (accents and case aside) that no other of theirs has; None when none
    of theirs does (the service that acts then says why: unknown, or not theirs). What a form
    that asks for a name (`Choices.many`) gives that service."""
    typed = typed.strip()
    if not typed:
        return None
    with rt.reading() as conn:
        _teach_fold(conn)
        dialect = rt.engine.dialect.name
        found = conn.execute(
            _reached_structures(conn, who)
            .where(_names_structure(typed, dialect))
            .order_by(Organisation.name, Organisation.id)
            .limit(6)
        ).all()
    exact = [slug for slug, name in found if slug == typed or fold(name) == fold(typed)]
    if len(exact) == 1:
        return exact[0]
    if len(found) == 1:
        return found[0][0]
    if not found:
        return None
    names = ", ".join(f"« {name} »" for _, name in found[:5])
    more = " ..." if len(found) > 5 else ""
    raise InvalidInput(f"structure : « {typed} » désigne plusieurs structures ({names}{more})")


def _names_structure(typed: str, dialect: str) -> Any:
    """Organisation's slug is `typed`, or its name holds every word of it (folded)."""
    words = _holds_words(_folded(Organisation.name, dialect), typed)
    return or_(Organisation.slug == typed, and_(*words) if words else false())


def name_holds(session: Any, typed: str) -> list[Any]:
    """Conditions that a person's name holds every word of `typed`, accents and case aside:
    the board's name search, for other lists of people (in `session`'s transaction)."""
    conn = session.connection()
    _teach_fold(conn)
    family, given = _person_folded(conn.dialect.name)
    return _holds_words(given + " " + family, typed)


def _holds_words(folded: Any, typed: str) -> list[Any]:
    """Conditions that the folded text `folded` holds each word of `typed` (folded too)."""
    out = []
    for word in fold(typed).split():
        escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        out.append(folded.like(f"%{escaped}%", escape="\\"))
    return out


@dataclass(frozen=True)
class StageCount:
    pathway_id: str
    pathway_title: str
    stage: str
    stage_title: str
    count: int


@dataclass(frozen=True)
class StructureOverview:
    slug: str
    name: str
    active: int
    overdue: int
    stages: list[StageCount]


@dataclass(frozen=True)
class NetworkOverview:
    slug: str
    name: str
    structures: list[StructureOverview]
    """The first `OVERVIEW_STRUCTURES` of its structures, by name."""
    size: int = 0
    """How many structures the network has in all."""


_COUNTS: dict[tuple[Any, ...], Any] = {}
"""`_stage_counts`' statements by reader and structures shown: built once for an admin's
visits (its deadline conditions, one per stage, cost more to build than to run)."""


def _stage_counts(versions: dict[int, _Version], shown: list[int], slugs: list[str]) -> Any:
    """Active enrollments and the late among them, per structure, network, version and stage,
    at the structures `shown`, on the networks `slugs`' pathways: what the admin may read,
    since each network's structures are shown for it only (other pairs are read, not shown).
    The deadlines' cutoffs are `_cutoffs`' parameters."""
    return (
        select(
            Enrollment.structure_id,
            PathwayVersion.network,
            Enrollment.pathway_version_id,
            Enrollment.stage,
            func.count(),
            func.sum(case((_overdue(versions, None), 1), else_=0)),
        )
        .join(PathwayVersion, PathwayVersion.id == Enrollment.pathway_version_id)
        .where(
            Enrollment.structure_id.in_(shown),
            PathwayVersion.network.in_(slugs),
            Enrollment.status == EnrollmentStatus.ACTIVE,
        )
        .group_by(
            Enrollment.structure_id,
            PathwayVersion.network,
            Enrollment.pathway_version_id,
            Enrollment.stage,
        )
    )


OVERVIEW_STRUCTURES = 12
"""Structures of a network the dashboard sums up (a network has hundreds: the board's
structure filter reaches the others)."""


def network_overview(
    rt: Runtime,
    who: Actor,
    *,
    now: datetime | None = None,
    limit: int = OVERVIEW_STRUCTURES,
    view: View | None = None,
) -> list[NetworkOverview]:
    """For a network admin, each network they administer: its first `limit` structures (by
    name) with their active participants per pathway and stage and their overdue deadlines,
    and how many structures it has in all. Counts cover what the admin may read (the
    network's pathways) at the structures shown, active enrollments only: two queries per
    network and one for the counts, each bounded by those structures' current participants.
    (Badges per structure are the indicators' figures: counting a big structure's three
    years of badges here cost a quarter of a second at national scale.)"""
    if not who.is_staff or who.person_id is None:
        return []
    now = now or utcnow()
    with viewing(rt, who, view) as v:
        conn, versions = v.conn, v.versions
        if not v.reach.networks:
            return []
        networks = conn.execute(
            select(Organisation.id, Organisation.slug, Organisation.name)
            .where(Organisation.id.in_(sorted(v.reach.networks.values())))
            .order_by(Organisation.name)
        ).all()
        in_network = (
            select(Membership.network_id, Organisation.id, Organisation.slug, Organisation.name)
            .join(Organisation, Organisation.id == Membership.structure_id)
            .where(Organisation.kind == OrganisationKind.STRUCTURE)
        )
        members = []
        sizes: dict[int, int] = {}
        for n in networks:
            # the first by name along index ix_organisation_kind_name, not a sort of thousands
            members += conn.execute(
                in_network.where(Membership.network_id == n.id)
                .order_by(Organisation.name, Organisation.id)
                .limit(limit)
            ).all()
            sizes[n.id] = conn.execute(
                select(func.count()).select_from(
                    in_network.where(Membership.network_id == n.id).subquery()
                )
            ).scalar_one()
        shown = sorted({m[1] for m in members})
        slugs = [n.slug for n in networks]
        key = (v.key, tuple(shown), tuple(slugs))
        if key not in _COUNTS:
            if len(_COUNTS) >= 512:
                _COUNTS.clear()
            _COUNTS[key] = _stage_counts(versions, shown, slugs)
        counts = conn.execute(_COUNTS[key], _cutoffs(versions, now)).all() if shown else []
    per_stage: dict[tuple[int, str], dict[tuple[str, str], StageCount]] = {}
    late_by: dict[tuple[int, str], int] = {}
    for sid, net, vid, stage, n, late in counts:
        version = versions[vid]
        key = (version.pathway_id, stage)
        found = per_stage.setdefault((sid, net), {})
        before = found.get(key)
        title = version.pathway.stage(stage).title
        found[key] = StageCount(
            version.pathway_id, version.title, stage, title, n + (before.count if before else 0)
        )
        late_by[(sid, net)] = late_by.get((sid, net), 0) + int(late or 0)
    order = {
        (version.pathway_id, s.id): i
        for version in versions.values()
        for i, s in enumerate(version.pathway.stages)
    }
    out = []
    for n in networks:
        structures = []
        for network_id, sid, slug, name in members:
            if network_id != n.id:
                continue
            stages = list(per_stage.get((sid, n.slug), {}).values())
            stages.sort(
                key=lambda c: (fold(c.pathway_title), order.get((c.pathway_id, c.stage), 0))
            )
            structures.append(
                StructureOverview(
                    slug,
                    name,
                    sum(c.count for c in stages),
                    late_by.get((sid, n.slug), 0),
                    stages,
                )
            )
        out.append(NetworkOverview(n.slug, n.name, structures, sizes[n.id]))
    return out
