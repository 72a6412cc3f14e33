"""A structure's, a network's or a pathway's figures over a period, as its funders ask for
them: entries, people on a parcours by stage, exits by outcome (« sorties dynamiques »), time
spent in each stage, the stage-to-stage funnel, badges issued, badge requests and committee
delays.

`compute` is the one entry point: it checks `Action.INDICATORS_READ` with `access.ensure`,
runs a fixed number of aggregate queries (counts are grouped in SQL; medians and quartiles
are taken in Python from the list of durations SQL computed, the same way on SQLite and
PostgreSQL) and hands back an `Indicators` of plain tables that pages, exports, the API and
the command line all show as they are. Counts that could point at a person are hidden for a
viewer outside the structure they concern (`engine.services.indicator_cells`).

Definitions (the README says the same):
- a period runs from its first day's midnight to the midnight after its last day, in the
  local time zone (`engine.dates.zone`);
- **entries**: enrollments started in the period;
- **on a parcours at the end**: enrollments started before the period's end and not ended by
  then, by the stage they were in at that moment (read from the history);
- **exits**: enrollments ended (final stage reached) in the period, by recorded outcome; the
  « sorties dynamiques » rate is dynamic exits over exits whose outcome is recorded;
- **time in a stage**: stays that ended in the period (a step taken), from entering the stage
  to leaving it; **whole parcours**: from entry to exit, for the exits of the period;
- **funnel**: of the enrollments that started in the period, how many reached each stage;
- **badges**: issued in the period to people (reissues of a badge not counted again), by
  badge and by structure, with those revoked since;
- **requests**: decided in the period (by decision), and waiting at the period's end (with
  how long they have waited); **committees**: the same for requests on a committee's agenda,
  and the decisions committees took on steps.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

from sqlalchemy import and_, case, func, literal, or_, select
from sqlalchemy.sql.elements import ColumnElement

from engine import dates, exits
from engine.errors import InvalidInput, NotFound
from engine.roles import Role
from engine.services import access
from engine.services.access import STAFF, Action, Actor, Target
from engine.services.indicator_cells import Cell, Count, Group, decide
from engine.services.runtime import Runtime
from engine.statuses import RequestStatus
from engine.store.tables import (
    Assertion,
    AuditEvent,
    BadgeClass,
    BadgeRequest,
    Committee,
    CommitteeDecision,
    Enrollment,
    Membership,
    Organisation,
    PathwayVersion,
    Person,
    utcnow,
)

SubjectKind = Literal["structure", "network", "pathway"]
MAX_DAYS = 3700
"""A period of ten years at most: enough for any report, and no query over all time by a typo."""
WAITING_LONG_DAYS = 30
"""A request waiting longer than this is counted apart: what a network chases."""
STEP_KINDS = ("enrolled", "transition")
"""The history events that put an enrollment in a stage."""
UNKNOWN_OUTCOME = "Sortie non qualifiée"


# --- what is asked --------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """From `start` to `end`, both days included (local days)."""

    start: date
    end: date

    @classmethod
    def parse(cls, start: str | None, end: str | None, today: date | None = None) -> Period:
        """The period a form or a command gives (`AAAA-MM-JJ`); by default the last twelve
        months, ending today. Bad dates are refused in French, naming the field."""
        today = today or datetime.now(dates.zone()).date()
        last = _day(end, "au") if end else today
        first = _day(start, "du") if start else _months_before(last, 12) + timedelta(days=1)
        if first > last:
            raise InvalidInput(
                f"période : le début ({dates.day(first)}) suit la fin ({dates.day(last)})"
            )
        if (last - first).days > MAX_DAYS:
            raise InvalidInput("période : dix ans au plus")
        return cls(first, last)

    @property
    def label(self) -> str:
        return f"du {dates.day(self.start)} au {dates.day(self.end)}"

    def bounds(self) -> tuple[datetime, datetime]:
        """[start, end) in UTC: local midnight of the first day, local midnight after the last."""
        zone = dates.zone()
        first = datetime.combine(self.start, time(), zone).astimezone(UTC)
        after = datetime.combine(self.end + timedelta(days=1), time(), zone).astimezone(UTC)
        return first, after


def _day(text: str, field_name: str) -> date:
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(
            f"période : « {field_name} » n'est pas une date (AAAA-MM-JJ) : « {text[:20]} »"
        ) from None
    if not 2000 <= day.year <= 2100:
        raise InvalidInput(f"période : « {field_name} » hors des années 2000 à 2100 : {day}")
    return day


def _months_before(day: date, months: int) -> date:
    month = day.month - months
    year = day.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    for d in (day.day, 30, 29, 28):
        try:
            return date(year, month, min(day.day, d))
        except ValueError:
            continue
    raise AssertionError("unreachable")  # pragma: no cover


@dataclass(frozen=True)
class Subject:
    """Whose figures: a structure (slug), a network (slug) or a pathway (its id)."""

    kind: SubjectKind
    ref: str


# --- what is shown --------------------------------------------------------------------------


@dataclass(frozen=True)
class Amount:
    """A derived figure (days, a percentage): None when there is nothing to measure, hidden
    when the counts it comes from are."""

    value: float | None
    unit: str = "jours"
    hidden: bool = False

    def __str__(self) -> str:
        if self.hidden:
            return "masqué"
        if self.value is None:
            return "—"
        if self.unit == "%":
            return f"{self.value:.0f} %".replace(".", ",")
        return f"{self.value:.1f}".replace(".", ",")

    def export(self) -> float | str | None:
        if self.hidden:
            return "masqué"
        return None if self.value is None else round(self.value, 1)


Value = Count | Amount | str


@dataclass(frozen=True)
class Row:
    label: str
    values: tuple[Value, ...]
    total: bool = False
    link: str | None = None
    """A structure's or a pathway's own indicators page, when the row names one."""


@dataclass(frozen=True)
class Table:
    key: str
    """Stable name: a CSV section, an XLSX sheet, an API key."""
    title: str
    columns: tuple[str, ...]
    """Headers: the rows' label first, then one per value."""
    rows: tuple[Row, ...]
    note: str = ""
    chart: int | None = 0
    """Which value column a chart draws (None: no chart)."""

    def row(self, label: str) -> Row:
        for r in self.rows:
            if r.label == label:
                return r
        raise KeyError(label)

    def cell(self, label: str, column: str) -> Value:
        return self.row(label).values[self.columns.index(column) - 1]


@dataclass(frozen=True)
class Indicators:
    kind: SubjectKind
    ref: str
    title: str
    """« Structure SATO Intérim », « Réseau SATO Brest », « Parcours Femmes et métallurgie »."""
    period: Period
    generated_at: datetime
    masked: bool
    """Whether some figures concern structures the viewer is not on the team of: small counts
    are then hidden."""
    scope_note: str
    headline: tuple[tuple[str, Value], ...]
    tables: tuple[Table, ...] = field(default=())

    def table(self, key: str) -> Table:
        for t in self.tables:
            if t.key == key:
                return t
        raise KeyError(key)


# --- the scope ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Scope:
    kind: SubjectKind
    ref: str
    title: str
    network: str | None
    pathway_id: str | None
    structures: dict[int, tuple[str, str]]
    """Id -> (slug, name) of the structures the figures cover."""
    whole: bool
    """Whether `structures` is every structure of the scope (no filter needed on them)."""
    note: str

    @property
    def by_structure(self) -> bool:
        return self.kind != "structure"

    def enrollment_filter(self) -> list[ColumnElement[bool]]:
        where: list[ColumnElement[bool]] = []
        if self.kind == "structure" or not self.whole:
            where.append(Enrollment.structure_id.in_(list(self.structures)))
        if self.network is not None and self.kind == "network":
            where.append(PathwayVersion.network == self.network)
            where.append(Enrollment.structure_id.in_(list(self.structures)))
        if self.pathway_id is not None:
            where.append(PathwayVersion.pathway_id == self.pathway_id)
        return where


def _resolve(conn: Any, who: Actor, subject: Subject) -> _Scope:
    """The scope asked for, once `who` may read it (Forbidden otherwise)."""
    if subject.kind == "structure":
        org = conn.execute(
            select(Organisation.id, Organisation.slug, Organisation.name).where(
                Organisation.slug == subject.ref, Organisation.kind == "structure"
            )
        ).first()
        if org is None:
            raise NotFound(f"structure « {subject.ref} » introuvable")
        access.ensure(conn, who, Action.INDICATORS_READ, Target(structure_id=org.id))
        return _Scope(
            "structure",
            org.slug,
            f"Structure {org.name}",
            None,
            None,
            {org.id: (org.slug, org.name)},
            True,
            "tous les parcours de la structure",
        )
    if subject.kind == "network":
        org = conn.execute(
            select(Organisation.id, Organisation.name).where(
                Organisation.slug == subject.ref, Organisation.kind == "network"
            )
        ).first()
        if org is None:
            raise NotFound(f"réseau « {subject.ref} » introuvable")
        access.ensure(conn, who, Action.INDICATORS_READ, Target(network=subject.ref))
        return _Scope(
            "network",
            subject.ref,
            f"Réseau {org.name}",
            subject.ref,
            None,
            _members(conn, subject.ref),
            True,
            "les parcours du réseau dans toutes ses structures",
        )
    row = conn.execute(
        select(PathwayVersion.title, PathwayVersion.network)
        .where(PathwayVersion.pathway_id == subject.ref)
        .order_by(PathwayVersion.version.desc())
        .limit(1)
    ).first()
    if row is None:
        raise NotFound(f"parcours « {subject.ref} » introuvable")
    title, network = row
    members = _members(conn, network)
    if access.check(conn, who, Action.INDICATORS_READ, Target(network=network)):
        return _Scope(
            "pathway",
            subject.ref,
            f"Parcours {title}",
            network,
            subject.ref,
            members,
            True,
            "ce parcours dans toutes les structures du réseau",
        )
    # a director: the pathway at the structures they direct
    directed = set(_staffed(conn, who, frozenset({Role.DIRECTEUR}))) & set(members)
    if not directed:
        access.ensure(conn, who, Action.INDICATORS_READ, Target(network=network))
    for sid in sorted(directed):
        access.ensure(conn, who, Action.INDICATORS_READ, Target(structure_id=sid, network=network))
    return _Scope(
        "pathway",
        subject.ref,
        f"Parcours {title}",
        network,
        subject.ref,
        {sid: members[sid] for sid in sorted(directed)},
        False,
        "ce parcours dans les structures que vous dirigez",
    )


def _members(conn: Any, network: str) -> dict[int, tuple[str, str]]:
    net = select(Organisation.id).where(Organisation.slug == network).scalar_subquery()
    rows = conn.execute(
        select(Organisation.id, Organisation.slug, Organisation.name)
        .join(Membership, Membership.structure_id == Organisation.id)
        .where(Membership.network_id == net, Organisation.kind == "structure")
        .order_by(Organisation.name)
    ).all()
    return {r.id: (r.slug, r.name) for r in rows}


def _staffed(conn: Any, who: Actor, roles: frozenset[Role] = STAFF) -> list[int]:
    if not who.is_staff or who.person_id is None:
        return []
    return list(conn.execute(access.structures_staffed(who.person_id, roles)).scalars())


def readable(rt: Runtime, who: Actor) -> dict[str, list[tuple[str, str]]]:
    """What `who` may open: (ref, name) of the networks they administer, of the structures
    they direct or whose network they administer, and of those networks' pathways."""
    found: dict[str, list[tuple[str, str]]] = {"network": [], "structure": [], "pathway": []}
    if not who.is_staff or who.person_id is None:
        return found
    pid = who.person_id
    with rt.reading() as conn:
        networks = conn.execute(
            select(Organisation.slug, Organisation.name)
            .where(Organisation.slug.in_(access.networks_administered(pid)))
            .order_by(Organisation.name)
        ).all()
        found["network"] = [(r.slug, r.name) for r in networks]
        reached = access.structures_staffed(pid, frozenset({Role.DIRECTEUR})).union(
            access.structures_administered(pid)
        )
        structures = conn.execute(
            select(Organisation.slug, Organisation.name)
            .where(Organisation.id.in_(reached), Organisation.kind == "structure")
            .order_by(Organisation.name)
        ).all()
        found["structure"] = [(r.slug, r.name) for r in structures]
        directed_networks = (
            select(Organisation.slug)
            .join(Membership, Membership.network_id == Organisation.id)
            .where(
                Membership.structure_id.in_(
                    access.structures_staffed(pid, frozenset({Role.DIRECTEUR}))
                )
            )
        )
        latest = (
            select(PathwayVersion.pathway_id, func.max(PathwayVersion.version).label("v"))
            .where(
                or_(
                    PathwayVersion.network.in_(access.networks_administered(pid)),
                    PathwayVersion.network.in_(directed_networks),
                )
            )
            .group_by(PathwayVersion.pathway_id)
            .subquery()
        )
        pathways = conn.execute(
            select(PathwayVersion.pathway_id, PathwayVersion.title)
            .join(
                latest,
                and_(
                    latest.c.pathway_id == PathwayVersion.pathway_id,
                    latest.c.v == PathwayVersion.version,
                ),
            )
            .order_by(PathwayVersion.title)
        ).all()
        found["pathway"] = [(r.pathway_id, r.title) for r in pathways]
    return found


# --- the entry point ------------------------------------------------------------------------


def compute(
    rt: Runtime,
    who: Actor,
    subject: Subject,
    period: Period,
    *,
    hide_small: bool = False,
    now: datetime | None = None,
) -> Indicators:
    """The figures of `subject` over `period` as `who` may see them. `hide_small` hides small
    counts even from the structure's own team (an export meant to travel)."""
    now = now or utcnow()
    start, after = period.bounds()
    with rt.reading() as conn:
        scope = _resolve(conn, who, subject)
        if hide_small:
            exact: frozenset[int] | None = frozenset()
        elif who.is_system:
            exact = None
        else:
            exact = frozenset(_staffed(conn, who))
        q = _Queries(rt, conn, scope, start, after, min(after, now))
        build = _Builder(scope, exact)
        q.entries(build)
        q.active(build)
        q.exits(build)
        q.durations(build)
        q.funnel(build)
        q.badges(build)
        q.requests(build)
        q.committees(build)
    return build.finish(scope, period, now)


# --- building the tables --------------------------------------------------------------------


class _Builder:
    """Collects cells and groups while the queries run, then decides what is hidden once, for
    all tables together (a cell may be part of groups in two tables)."""

    def __init__(self, scope: _Scope, exact: frozenset[int] | None) -> None:
        self.scope = scope
        self.exact = exact
        self.cells: list[Cell] = []
        self.groups: list[Group] = []
        self.tables: list[Any] = []  # (key, title, columns, rows as callables, note, chart)
        self.headline: list[tuple[str, Any]] = []
        self.all = frozenset(scope.structures)

    def cell(self, value: int, structures: Iterable[int] | None = None) -> Cell:
        c = Cell(int(value or 0), frozenset(structures) if structures is not None else self.all)
        self.cells.append(c)
        return c

    def group(self, total: Cell, parts: Sequence[Cell]) -> None:
        self.groups.append(Group(total, list(parts)))

    def table(
        self,
        key: str,
        title: str,
        columns: Sequence[str],
        rows: list[tuple[str, list[Any], bool, str | None]],
        note: str = "",
        chart: int | None = 0,
    ) -> None:
        self.tables.append((key, title, tuple(columns), rows, note, chart))

    def finish(self, scope: _Scope, period: Period, now: datetime) -> Indicators:
        decide(self.cells, self.groups, self.exact)
        masked = any(c.outside for c in self.cells)
        tables = tuple(
            Table(
                key,
                title,
                columns,
                tuple(
                    Row(label, tuple(_show(v) for v in values), total, link)
                    for label, values, total, link in rows
                ),
                note,
                chart,
            )
            for key, title, columns, rows, note, chart in self.tables
        )
        headline = tuple((label, _show(v)) for label, v in self.headline)
        return Indicators(
            scope.kind,
            scope.ref,
            scope.title,
            period,
            now,
            masked,
            scope.note,
            headline,
            tables,
        )


def _show(value: Any) -> Value:
    """A cell as shown; a derived figure is a callable run once cells are decided."""
    if isinstance(value, Cell):
        return value.shown()
    if callable(value):
        return value()
    return value


def _rate(part: Cell, whole: Cell) -> Any:
    def shown() -> Amount:
        hidden = part.hidden or whole.hidden
        value = 100 * part.value / whole.value if whole.value else None
        return Amount(None if hidden else value, "%", hidden)

    return shown


def _spread(seconds: list[float], outside: bool) -> list[Any]:
    """n, median, first and third quartiles in days; hidden under 5 stays for an outsider."""
    n = len(seconds)
    hidden = outside and 0 < n < 5
    days = sorted(s / 86400 for s in seconds)
    if not days:
        return [Amount(None), Amount(None), Amount(None)]
    if hidden:
        return [Amount(None, hidden=True)] * 3
    if n == 1:
        q1 = med = q3 = days[0]
    else:
        q1, med, q3 = statistics.quantiles(days, n=4, method="inclusive")
    return [Amount(med), Amount(q1), Amount(q3)]


# --- the queries ----------------------------------------------------------------------------


class _Queries:
    def __init__(
        self,
        rt: Runtime,
        conn: Any,
        scope: _Scope,
        start: datetime,
        after: datetime,
        as_of: datetime,
    ) -> None:
        self.rt, self.conn, self.scope = rt, conn, scope
        self.start, self.after, self.as_of = start, after, as_of
        self._stages: dict[str, tuple[str, list[tuple[str, str]]]] = {}
        self.dialect = conn.dialect.name

    # helpers

    def _base(self, *columns: Any) -> Any:
        return (
            select(*columns)
            .select_from(Enrollment)
            .join(PathwayVersion, PathwayVersion.id == Enrollment.pathway_version_id)
            .where(*self.scope.enrollment_filter())
        )

    def _seconds(self, later: Any, earlier: Any) -> Any:
        """`later - earlier` in seconds, computed by the database."""
        if self.dialect == "sqlite":
            return (func.julianday(later) - func.julianday(earlier)) * 86400.0
        return func.extract("epoch", later - earlier)

    def stages(self, pathway_id: str) -> tuple[str, list[tuple[str, str]]]:
        """(title, [(stage id, title)]) of a pathway's latest version, in its order."""
        if pathway_id not in self._stages:
            pv = self.conn.execute(
                select(PathwayVersion.id, PathwayVersion.title)
                .where(PathwayVersion.pathway_id == pathway_id)
                .order_by(PathwayVersion.version.desc())
                .limit(1)
            ).first()
            pathway = self.rt.pathway(self.conn, pv.id)
            self._stages[pathway_id] = (pv.title, [(s.id, s.title) for s in pathway.stages])
        return self._stages[pathway_id]

    def stage_label(self, pathway_id: str, stage: str, prefix: bool) -> str:
        title, stages = self.stages(pathway_id)
        name = dict(stages).get(stage, stage)
        return f"{title} · {name}" if prefix else name

    def stage_order(self, pathway_id: str, stage: str) -> int:
        ids = [s for s, _ in self.stages(pathway_id)[1]]
        return ids.index(stage) if stage in ids else len(ids)

    def _breakdown(
        self, counts: dict[tuple[int, str], int], build: _Builder, total: Cell | None = None
    ) -> tuple[list[tuple[str, list[Any], bool, str | None]], Cell]:
        """Rows by structure (network, pathway) or by pathway (structure) of (sid, pathway)
        counts, with the total row, grouped for complementary hiding."""
        by: dict[Any, int] = defaultdict(int)
        for (sid, pid), n in counts.items():
            by[sid if self.scope.by_structure else pid] += n
        rows: list[tuple[str, list[Any], bool, str | None]] = []
        parts = []
        for key, n in sorted(by.items(), key=lambda kv: self._key_label(kv[0])):
            c = build.cell(n, [key] if self.scope.by_structure else None)
            parts.append(c)
            rows.append((self._key_label(key), [c], False, self._key_link(key)))
        total = total or build.cell(sum(by.values()))
        build.group(total, parts)
        rows.append(("Total", [total], True, None))
        return rows, total

    def _key_label(self, key: Any) -> str:
        if self.scope.by_structure:
            return self.scope.structures.get(key, ("", f"structure n° {key}"))[1]
        return self.stages(key)[0]

    def _key_link(self, key: Any) -> str | None:
        if self.scope.by_structure and key in self.scope.structures:
            return f"/indicateurs/structure/{self.scope.structures[key][0]}"
        if not self.scope.by_structure:
            return f"/indicateurs/parcours/{key}"
        return None

    # figures

    def entries(self, build: _Builder) -> None:
        rows = self.conn.execute(
            self._base(Enrollment.structure_id, PathwayVersion.pathway_id, func.count())
            .where(Enrollment.started_at >= self.start, Enrollment.started_at < self.after)
            .group_by(Enrollment.structure_id, PathwayVersion.pathway_id)
        ).all()
        table, total = self._breakdown({(s, p): n for s, p, n in rows}, build)
        build.headline.append(("Entrées", total))
        by = "Structure" if self.scope.by_structure else "Parcours"
        build.table("entrees", "Entrées dans la période", (by, "Entrées"), table)

    def active(self, build: _Builder) -> None:
        step = (
            select(AuditEvent.to_stage)
            .where(
                AuditEvent.enrollment_id == Enrollment.id,
                AuditEvent.kind.in_(STEP_KINDS),
                AuditEvent.at < self.after,
            )
            .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
            .limit(1)
            .correlate(Enrollment)
            .scalar_subquery()
        )
        stage = case((Enrollment.stage_entered_at < self.after, Enrollment.stage), else_=step)
        alive = (
            self._base(
                Enrollment.structure_id.label("sid"),
                PathwayVersion.pathway_id.label("pid"),
                stage.label("stage"),
            )
            .where(
                Enrollment.started_at < self.after,
                or_(Enrollment.completed_at.is_(None), Enrollment.completed_at >= self.after),
            )
            .subquery()
        )
        rows = self.conn.execute(
            select(alive.c.sid, alive.c.pid, alive.c.stage, func.count()).group_by(
                alive.c.sid, alive.c.pid, alive.c.stage
            )
        ).all()
        by_stage: dict[tuple[str, str], int] = defaultdict(int)
        for _, pid, st, n in rows:
            by_stage[(pid, st)] += n
        several = len({p for p, _ in by_stage}) > 1 or self.scope.kind != "pathway"
        ordered = sorted(
            by_stage.items(),
            key=lambda kv: (self.stages(kv[0][0])[0], self.stage_order(*kv[0])),
        )
        parts = [build.cell(n) for _, n in ordered]
        total = build.cell(sum(by_stage.values()))
        build.group(total, parts)
        table = [
            (self.stage_label(pid, st, several), [c], False, None)
            for ((pid, st), _), c in zip(ordered, parts, strict=True)
        ]
        table.append(("Total", [total], True, None))
        build.headline.append(("En parcours à la fin de la période", total))
        build.table(
            "actifs",
            "Personnes en parcours à la fin de la période, par étape",
            ("Étape", "Personnes"),
            table,
        )
        if self.scope.by_structure:
            counts: dict[tuple[int, str], int] = defaultdict(int)
            for sid, pid, _, n in rows:
                counts[(sid, pid)] += n
            table, _ = self._breakdown(counts, build, total)
            build.table(
                "actifs_structures",
                "Personnes en parcours à la fin de la période, par structure",
                ("Structure", "Personnes"),
                table,
            )

    def exits(self, build: _Builder) -> None:
        rows = self.conn.execute(
            self._base(Enrollment.structure_id, Enrollment.exit_outcome, func.count())
            .where(Enrollment.completed_at >= self.start, Enrollment.completed_at < self.after)
            .group_by(Enrollment.structure_id, Enrollment.exit_outcome)
        ).all()
        categories = list(exits.ExitCategory)
        labels = [c.label for c in categories] + [UNKNOWN_OUTCOME]

        def column(outcome: str | None) -> int:
            known = exits.OUTCOMES.get(outcome or "")
            return categories.index(known.category) if known else len(categories)

        by_outcome: dict[str | None, int] = defaultdict(int)
        grid: dict[Any, list[int]] = defaultdict(lambda: [0] * len(labels))
        for sid, outcome, n in rows:
            key = outcome if outcome in exits.OUTCOMES else None
            by_outcome[key] += n
            grid[sid if self.scope.by_structure else "all"][column(outcome)] += n
        # the table by category, its detail by outcome, and the dynamic exits
        totals = [sum(g[i] for g in grid.values()) for i in range(len(labels))]
        cat_cells = [build.cell(n) for n in totals]
        all_exits = build.cell(sum(totals))
        build.group(all_exits, cat_cells)
        qualified = build.cell(sum(totals[: len(categories)]))
        build.group(qualified, cat_cells[: len(categories)])
        build.group(all_exits, [qualified, cat_cells[-1]])
        dynamic_n = sum(n for c, n in zip(categories, totals, strict=False) if c.dynamic)
        dynamic = build.cell(dynamic_n)
        dyn_parts = [cat_cells[i] for i, c in enumerate(categories) if c.dynamic]
        build.group(dynamic, dyn_parts)
        other = cat_cells[categories.index(exits.ExitCategory.OTHER)]
        build.group(qualified, [dynamic, other])
        rate = _rate(dynamic, qualified)
        build.headline.append(("Sorties", all_exits))
        build.headline.append(("Taux de sorties dynamiques", rate))
        table = [(label, [c], False, None) for label, c in zip(labels, cat_cells, strict=True)]
        table += [
            ("Total des sorties", [all_exits], True, None),
            ("dont sorties dynamiques", [dynamic], True, None),
            ("Taux de sorties dynamiques (sur les sorties qualifiées)", [rate], True, None),
        ]
        build.table(
            "sorties",
            "Sorties par catégorie",
            ("Catégorie", "Sorties"),
            table,
            note="Sorties dynamiques : emploi durable, emploi de transition et sortie positive.",
        )
        detail = []
        for cat_index, (category, outcomes) in enumerate(exits.by_category().items()):
            parts = []
            for o in outcomes:
                c = build.cell(by_outcome.get(o.code, 0))
                parts.append(c)
                detail.append((o.label, [category.label, c], False, None))
            build.group(cat_cells[cat_index], parts)
        unknown = cat_cells[-1]
        detail.append((UNKNOWN_OUTCOME, [UNKNOWN_OUTCOME, unknown], False, None))
        detail.append(("Total des sorties", ["", all_exits], True, None))
        build.table(
            "sorties_detail",
            "Sorties par situation à la sortie",
            ("Situation", "Catégorie", "Sorties"),
            detail,
            chart=None,
        )
        if self.scope.by_structure:
            col_parts: list[list[Cell]] = [[] for _ in labels]
            table = []
            for sid in sorted(grid, key=self._key_label):
                cells = [build.cell(n, [sid]) for n in grid[sid]]
                row_total = build.cell(sum(grid[sid]), [sid])
                build.group(row_total, cells)
                for i, c in enumerate(cells):
                    col_parts[i].append(c)
                table.append(
                    (self._key_label(sid), [*cells, row_total], False, self._key_link(sid))
                )
            for i, parts in enumerate(col_parts):
                build.group(cat_cells[i], parts)
            table.append(("Total", [*cat_cells, all_exits], True, None))
            build.table(
                "sorties_structures",
                "Sorties par structure et par catégorie",
                ("Structure", *labels, "Total"),
                table,
                chart=None,
            )
        # the whole parcours' length, for the exits of the period
        seconds = self.conn.execute(
            self._base(self._seconds(Enrollment.completed_at, Enrollment.started_at)).where(
                Enrollment.completed_at >= self.start, Enrollment.completed_at < self.after
            )
        ).scalars()
        self._whole = [float(s) for s in seconds]

    def durations(self, build: _Builder) -> None:
        prev = func.lag(AuditEvent.at).over(
            partition_by=AuditEvent.enrollment_id, order_by=(AuditEvent.at, AuditEvent.id)
        )
        steps = (
            self._base(
                PathwayVersion.pathway_id.label("pid"),
                AuditEvent.kind.label("kind"),
                AuditEvent.from_stage.label("stage"),
                AuditEvent.at.label("at"),
                prev.label("prev"),
            )
            .join(AuditEvent, AuditEvent.enrollment_id == Enrollment.id)
            .where(
                AuditEvent.kind.in_(STEP_KINDS),
                AuditEvent.at < self.after,
                Enrollment.started_at < self.after,
                or_(Enrollment.completed_at.is_(None), Enrollment.completed_at >= self.start),
            )
            .subquery()
        )
        rows = self.conn.execute(
            select(steps.c.pid, steps.c.stage, self._seconds(steps.c.at, steps.c.prev)).where(
                steps.c.kind == "transition",
                steps.c.at >= self.start,
                steps.c.prev.is_not(None),
            )
        ).all()
        stays: dict[tuple[str, str], list[float]] = defaultdict(list)
        for pid, stage, s in rows:
            stays[(pid, stage)].append(float(s))
        several = len({p for p, _ in stays}) > 1 or self.scope.kind != "pathway"
        outside = build.exact is not None and not build.all <= build.exact
        table = []
        for (pid, stage), seconds in sorted(
            stays.items(), key=lambda kv: (self.stages(kv[0][0])[0], self.stage_order(*kv[0]))
        ):
            n = build.cell(len(seconds))
            table.append(
                (
                    self.stage_label(pid, stage, several),
                    [n, *_spread(seconds, outside)],
                    False,
                    None,
                )
            )
        n = build.cell(len(self._whole))
        table.append(
            (
                "Parcours entier (de l'entrée à la sortie)",
                [n, *_spread(self._whole, outside)],
                True,
                None,
            )
        )
        build.table(
            "durees",
            "Temps passé par étape (en jours)",
            ("Étape", "Séjours terminés", "Médiane", "1er quartile", "3e quartile"),
            table,
            note="Séjours achevés dans la période ; la moitié des séjours dure moins que la "
            "médiane, la moitié du milieu entre le 1er et le 3e quartile.",
            chart=1,
        )

    def funnel(self, build: _Builder) -> None:
        rows = self.conn.execute(
            self._base(
                PathwayVersion.pathway_id,
                AuditEvent.to_stage,
                func.count(func.distinct(AuditEvent.enrollment_id)),
            )
            .join(AuditEvent, AuditEvent.enrollment_id == Enrollment.id)
            .where(
                AuditEvent.kind.in_(STEP_KINDS),
                Enrollment.started_at >= self.start,
                Enrollment.started_at < self.after,
            )
            .group_by(PathwayVersion.pathway_id, AuditEvent.to_stage)
        ).all()
        reached: dict[str, dict[str, int]] = defaultdict(dict)
        for pid, stage, n in rows:
            reached[pid][stage] = n
        table = []
        several = len(reached) > 1 or self.scope.kind != "pathway"
        for pid in sorted(reached, key=lambda p: self.stages(p)[0]):
            _, stages = self.stages(pid)
            counts = reached[pid]
            cohort = build.cell(max(counts.values()))
            for stage, _ in stages:
                c = build.cell(counts.get(stage, 0))
                table.append(
                    (self.stage_label(pid, stage, several), [c, _rate(c, cohort)], False, None)
                )
        build.table(
            "entonnoir",
            "Entonnoir : où sont allées les entrées de la période",
            ("Étape atteinte", "Personnes", "Part des entrées"),
            table,
            note="Chaque ligne compte les personnes entrées dans la période qui ont atteint "
            "l'étape, à ce jour.",
        )

    def _assertions(self, *columns: Any) -> Any:
        structure = func.coalesce(Enrollment.structure_id, Person.structure_id)
        query = (
            select(*columns)
            .select_from(Assertion)
            .join(BadgeClass, BadgeClass.id == Assertion.badge_class_id)
            .join(Person, Person.id == Assertion.recipient_id)
            .outerjoin(Enrollment, Enrollment.id == Assertion.enrollment_id)
            .outerjoin(PathwayVersion, PathwayVersion.id == Enrollment.pathway_version_id)
            .where(
                Assertion.replaces.is_(None),
                Assertion.issued_on >= self.start,
                Assertion.issued_on < self.after,
                structure.in_(list(self.scope.structures)),
            )
        )
        if self.scope.kind == "network":
            query = query.where(BadgeClass.network == self.scope.network)
        if self.scope.pathway_id is not None:
            query = query.where(PathwayVersion.pathway_id == self.scope.pathway_id)
        return query, structure

    def badges(self, build: _Builder) -> None:
        _, structure = self._assertions()
        query, _ = self._assertions(
            BadgeClass.slug,
            func.max(BadgeClass.name),
            structure,
            func.count(),
            func.count(Assertion.revoked_at),
        )
        rows = self.conn.execute(query.group_by(BadgeClass.slug, structure)).all()
        by_badge: dict[str, list[Any]] = {}
        by_structure: dict[int, int] = defaultdict(int)
        for slug, name, sid, n, revoked in rows:
            entry = by_badge.setdefault(slug, [name, 0, 0])
            entry[1] += n
            entry[2] += revoked
            by_structure[sid] += n
        issued = [build.cell(v[1]) for v in by_badge.values()]
        revoked = [build.cell(v[2]) for v in by_badge.values()]
        total = build.cell(sum(v[1] for v in by_badge.values()))
        total_revoked = build.cell(sum(v[2] for v in by_badge.values()))
        build.group(total, issued)
        build.group(total_revoked, revoked)
        table = sorted(
            (
                (v[0], [i, r], False, None)
                for v, i, r in zip(by_badge.values(), issued, revoked, strict=True)
            ),
            key=lambda t: t[0],
        )
        table.append(("Total", [total, total_revoked], True, None))
        build.headline.append(("Badges délivrés", total))
        build.table(
            "badges",
            "Badges délivrés, par badge",
            ("Badge", "Délivrés", "dont révoqués depuis"),
            table,
        )
        if self.scope.by_structure:
            table = []
            parts = []
            for sid in sorted(by_structure, key=self._key_label):
                c = build.cell(by_structure[sid], [sid])
                parts.append(c)
                table.append((self._key_label(sid), [c], False, self._key_link(sid)))
            build.group(total, parts)
            table.append(("Total", [total], True, None))
            build.table(
                "badges_structures",
                "Badges délivrés, par structure",
                ("Structure", "Délivrés"),
                table,
            )

    def _requests(self, *columns: Any) -> Any:
        query = (
            select(*columns)
            .select_from(BadgeRequest)
            .join(BadgeClass, BadgeClass.id == BadgeRequest.badge_class_id)
            .where(BadgeRequest.structure_id.in_(list(self.scope.structures)))
        )
        if self.scope.kind == "network":
            query = query.where(BadgeClass.network == self.scope.network)
        if self.scope.pathway_id is not None:
            query = (
                query.join(Enrollment, Enrollment.id == BadgeRequest.enrollment_id)
                .join(PathwayVersion, PathwayVersion.id == Enrollment.pathway_version_id)
                .where(PathwayVersion.pathway_id == self.scope.pathway_id)
            )
        return query

    def _waiting(self) -> ColumnElement[bool]:
        return and_(
            BadgeRequest.submitted_at < self.after,
            or_(BadgeRequest.decided_at.is_(None), BadgeRequest.decided_at >= self.after),
        )

    def requests(self, build: _Builder) -> None:
        delay = self._seconds(BadgeRequest.decided_at, BadgeRequest.submitted_at)
        decided = self.conn.execute(
            self._requests(BadgeRequest.status, delay).where(
                BadgeRequest.decided_at >= self.start, BadgeRequest.decided_at < self.after
            )
        ).all()
        waited = self._seconds(literal(self.as_of), BadgeRequest.submitted_at)
        waiting = [
            float(s)
            for s in self.conn.execute(self._requests(waited).where(self._waiting())).scalars()
        ]
        outside = build.exact is not None and not build.all <= build.exact
        by_status: dict[str, list[float]] = defaultdict(list)
        for status, s in decided:
            by_status[status].append(float(s))
        table = []
        parts = []
        for status in (RequestStatus.APPROVED, RequestStatus.REJECTED, RequestStatus.WITHDRAWN):
            seconds = by_status.get(status, [])
            c = build.cell(len(seconds))
            parts.append(c)
            label = {
                "approved": "Accordées",
                "rejected": "Refusées",
                "withdrawn": "Retirées",
            }[status.value]
            table.append((label, [c, _spread(seconds, outside)[0]], False, None))
        total = build.cell(sum(len(v) for v in by_status.values()))
        build.group(total, parts)
        table.append(("Total des décisions", [total, Amount(None)], True, None))
        w = build.cell(len(waiting))
        long = build.cell(sum(1 for s in waiting if s > WAITING_LONG_DAYS * 86400))
        table.append(
            ("En attente à la fin de la période", [w, _spread(waiting, outside)[0]], True, None)
        )
        table.append(
            (
                f"dont en attente depuis plus de {WAITING_LONG_DAYS} jours",
                [long, Amount(None)],
                True,
                None,
            )
        )
        build.headline.append(("Demandes de badge en attente", w))
        build.table(
            "demandes",
            "Demandes de badge",
            ("Demandes", "Nombre", "Délai médian (jours)"),
            table,
            note="Délai : du dépôt à la décision ; pour les demandes en attente, depuis le "
            "dépôt jusqu'à la fin de la période (ou aujourd'hui).",
        )

    def committees(self, build: _Builder) -> None:
        delay = self._seconds(BadgeRequest.decided_at, BadgeRequest.submitted_at)
        decided = self.conn.execute(
            self._requests(Committee.name, delay)
            .join(Committee, Committee.id == BadgeRequest.committee_id)
            .where(
                BadgeRequest.decided_at >= self.start,
                BadgeRequest.decided_at < self.after,
                BadgeRequest.status != RequestStatus.WITHDRAWN.value,
            )
        ).all()
        waiting = self.conn.execute(
            self._requests(Committee.name, func.count())
            .join(Committee, Committee.id == BadgeRequest.committee_id)
            .where(self._waiting())
            .group_by(Committee.name)
        ).all()
        entered = (
            select(func.max(AuditEvent.at))
            .where(
                AuditEvent.enrollment_id == CommitteeDecision.enrollment_id,
                AuditEvent.kind.in_(STEP_KINDS),
                AuditEvent.to_stage == CommitteeDecision.stage,
                AuditEvent.at <= CommitteeDecision.decided_at,
            )
            .correlate(CommitteeDecision)
            .scalar_subquery()
        )
        steps = self.conn.execute(
            self._base(self._seconds(CommitteeDecision.decided_at, entered))
            .join(CommitteeDecision, CommitteeDecision.enrollment_id == Enrollment.id)
            .where(
                CommitteeDecision.decided_at >= self.start,
                CommitteeDecision.decided_at < self.after,
            )
        ).scalars()
        outside = build.exact is not None and not build.all <= build.exact
        by_committee: dict[str, list[float]] = defaultdict(list)
        for name, s in decided:
            by_committee[name].append(float(s))
        pending = dict(waiting)
        table = []
        for name in sorted(set(by_committee) | set(pending)):
            seconds = by_committee.get(name, [])
            table.append(
                (
                    f"Demandes de badge — {name}",
                    [
                        build.cell(len(seconds)),
                        _spread(seconds, outside)[0],
                        build.cell(pending.get(name, 0)),
                    ],
                    False,
                    None,
                )
            )
        gate = [float(s) for s in steps if s is not None]
        table.append(
            (
                "Décisions d'étape (passage soumis au comité)",
                [build.cell(len(gate)), _spread(gate, outside)[0], ""],
                False,
                None,
            )
        )
        build.table(
            "comites",
            "Comités : décisions et délais",
            ("Comité", "Décisions", "Délai médian (jours)", "En attente"),
            table,
            note="Délai d'une demande : du dépôt à la décision du comité ; d'une décision "
            "d'étape : de l'entrée dans l'étape à la décision.",
            chart=1,
        )
