"""Participants imported from a CSV or XLSX file: every problem first, then all or nothing.

A structure's team often holds its participants in a spreadsheet. The file is read whole and
each cell checked before anything is written: a dry run (`dry_run=True`) lists every problem by
line and column, in French, and says what the real run would do; the real run refuses (writes
nothing) while any problem remains, else writes every line in one transaction with one audit
event (ids only).

Columns (first row; case, accents, spaces and dashes do not matter; order is free):
`prenom` and `nom` (required), `email`, `telephone`, `annee_naissance`, `pass_iae`, `parcours`
(the id of a pathway to enroll the person on at once). Other columns are ignored, and said so.

A line designates a participant the structure already holds, tried in this order: the same
PASS IAE number; else the same e-mail (any case); else the same first and last names (any case,
with or without accents) and the same birth year (or none recorded on one side), when that
person has no other e-mail or PASS IAE. Such a line creates nothing (« déjà présent »); fields
the participant lacks (e-mail, telephone, birth year, PASS IAE) are filled in from the file. So
importing the same file twice creates no one the second time.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import bindparam, func, insert, select, update
from sqlmodel import Session

from engine.errors import DefinitionInvalid, Forbidden, InvalidInput, NotFound, Problem
from engine.openbadges.identity import normalise_phone
from engine.services import access, enrollments
from engine.services.access import Action, Actor, Target
from engine.services.runtime import Runtime
from engine.statuses import EnrollmentStatus, PersonKind
from engine.store.tables import (
    AuditEvent,
    Enrollment,
    Organisation,
    PathwayVersion,
    Person,
    utcnow,
)
from engine.uploads import MAX_BYTES

COLUMNS: dict[str, str] = {
    "prenom": "prénom",
    "nom": "nom",
    "email": "e-mail",
    "telephone": "téléphone",
    "annee_naissance": "année de naissance",
    "pass_iae": "PASS IAE",
    "parcours": "parcours",
}
"""The columns a file may have (normalised header → how messages name it)."""
REQUIRED = ("prenom", "nom")
_ALIASES = {
    "prenoms": "prenom",
    "nom_de_famille": "nom",
    "e_mail": "email",
    "mail": "email",
    "courriel": "email",
    "adresse_e_mail": "email",
    "tel": "telephone",
    "portable": "telephone",
    "annee_de_naissance": "annee_naissance",
    "naissance": "annee_naissance",
    "numero_pass_iae": "pass_iae",
    "pass": "pass_iae",
    "agrement": "pass_iae",
    "parcours_type": "parcours",
}
MAX_ROWS = 20_000
"""Lines a file may hold: far more than a structure's participants in a year."""
MAX_COLUMNS = 64
"""Columns read from a workbook's sheet (the columns above and a few more)."""
OLDEST, YOUNGEST = 100, 15
"""Birth years accepted: from this many years ago to that many years ago."""
PASS_IAE = re.compile(r"\d{12}")
"""A PASS IAE (agrément) number: 12 digits, as « les emplois de l'inclusion » prints it
(`99999 23 12345`); spaces are allowed in the file and dropped."""

CREATED, PRESENT, COMPLETED = "créé", "déjà présent", "déjà présent, complété"
WOULD_CREATE, WOULD_COMPLETE = "à créer", "déjà présent, à compléter"


class ImportInvalid(DefinitionInvalid):
    """The file has problems: every one of them, by line and column."""

    title = "Fichier d'import à corriger"


@dataclass(frozen=True)
class Line:
    """One line of the file, its cells checked."""

    line: int
    given_name: str
    family_name: str
    email: str | None = None
    phone: str | None = None
    birth_year: int | None = None
    pass_iae: str | None = None
    pathway: str | None = None

    @property
    def name(self) -> str:
        return f"{self.given_name} {self.family_name}".strip()


@dataclass
class Outcome:
    """What an import does (or would do) with one line."""

    line: int
    name: str
    status: str
    person_id: int | None = None
    pathway: str | None = None
    enrollment_id: int | None = None
    enrolled: bool = False
    """True when the line enrolls (or would enroll) the person on `pathway`."""


@dataclass
class ImportReport:
    filename: str
    structure: str
    dry_run: bool
    lines: list[Outcome] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def created(self) -> int:
        return sum(o.status in (CREATED, WOULD_CREATE) for o in self.lines)

    @property
    def present(self) -> int:
        return sum(o.status in (PRESENT, COMPLETED, WOULD_COMPLETE) for o in self.lines)

    @property
    def enrolled(self) -> int:
        return sum(o.enrolled for o in self.lines)


# --- reading the file ---------------------------------------------------------------------


def _fold(text: str) -> str:
    """Lower case, no accents, single spaces: how names and headers are compared."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return " ".join(plain.casefold().split())


def header_key(text: str) -> str:
    """`Année de naissance`, `ANNEE-NAISSANCE` and `annee_naissance` are the same column."""
    key = re.sub(r"[^a-z0-9]+", "_", _fold(text)).strip("_")
    return _ALIASES.get(key, key)


def _is_xlsx(filename: str, content: bytes) -> bool:
    return content.startswith(b"PK\x03\x04") or filename.lower().endswith(".xlsx")


def read_table(filename: str, content: bytes) -> tuple[list[list[str]], list[int], list[str]]:
    """(rows of cells as text, the file line of each row, notes): a CSV (`;` or `,`, UTF-8
    with or without BOM, else Windows-1252) or an XLSX workbook's first sheet. ImportInvalid
    for a file that is neither, too large or empty."""
    name = filename or "fichier"
    if len(content) > MAX_BYTES:
        raise ImportInvalid([Problem(name, None, "", "fichier trop gros : 10 Mo au plus")])
    if not content.strip():
        raise ImportInvalid([Problem(name, None, "", "le fichier est vide")])
    if _is_xlsx(name, content):
        return _read_xlsx(name, content)
    if b"\x00" in content[:4096] or content.startswith((b"%PDF", b"\x89PNG", b"\xff\xd8")):
        raise ImportInvalid(
            [
                Problem(
                    name,
                    None,
                    "",
                    "ni un fichier CSV ni un classeur XLSX : enregistrez le "
                    "tableau au format CSV (séparateur « ; ») ou XLSX",
                )
            ]
        )
    notes = []
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = content.decode("cp1252", errors="replace")
        notes.append(
            "fichier lu comme du texte Windows (cp1252), pas en UTF-8 : vérifiez les accents "
            "dans le compte rendu ; enregistrez-le en « CSV UTF-8 » pour l'éviter"
        )
    first = text.split("\n", 1)[0]
    delimiter = max((";", ",", "\t"), key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows, numbers = [], []
    try:
        for row in reader:
            rows.append(row)
            numbers.append(reader.line_num)
            if len(rows) > MAX_ROWS + 1:
                break
    except csv.Error as exc:
        raise ImportInvalid(
            [Problem(name, reader.line_num, "", f"ligne illisible en CSV ({exc})")]
        ) from None
    return rows, numbers, notes


def _read_xlsx(name: str, content: bytes) -> tuple[list[list[str]], list[int], list[str]]:
    """The first sheet, read-only and streamed; at most `MAX_COLUMNS` columns are read."""
    from openpyxl import load_workbook

    rows, numbers = [], []
    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        try:
            sheet = book.worksheets[0]
            for number, values in enumerate(
                sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS), start=1
            ):
                rows.append([_cell(v) for v in values])
                numbers.append(number)
                if len(rows) > MAX_ROWS + 1:
                    break
        finally:
            book.close()
    except Exception as exc:  # openpyxl reports a broken workbook in many ways
        raise ImportInvalid(
            [Problem(name, None, "", f"classeur XLSX illisible ({exc.__class__.__name__})")]
        ) from None
    return rows, numbers, []


def _cell(value: Any) -> str:
    """A spreadsheet cell as the text a CSV would hold: a year typed as a number stays `1990`,
    a PASS IAE as a number keeps its 12 digits."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return str(value.year)
    return str(value)


def parse(
    filename: str, content: bytes, *, this_year: int
) -> tuple[list[Line], list[Problem], list[str]]:
    """Every line of the file checked cell by cell: (good lines, problems, notes). Problems
    about the whole file (no header, a required column missing) are ImportInvalid."""
    name = filename or "fichier"
    rows, numbers, notes = read_table(name, content)
    while rows and not any(c.strip() for c in rows[0]):
        rows, numbers = rows[1:], numbers[1:]
    if not rows:
        raise ImportInvalid([Problem(name, None, "", "le fichier est vide")])
    header = [header_key(c) for c in rows[0]]
    missing = [COLUMNS[c] for c in REQUIRED if c not in header]
    if missing:
        expected = ", ".join(COLUMNS)
        raise ImportInvalid(
            [
                Problem(
                    name,
                    numbers[0],
                    "",
                    f"colonne(s) obligatoire(s) absente(s) : {', '.join(missing)} (la première "
                    f"ligne nomme les colonnes : {expected})",
                )
            ]
        )
    ignored = [rows[0][i].strip() for i, k in enumerate(header) if k not in COLUMNS and k]
    if ignored:
        notes.append(f"colonne(s) ignorée(s) : {', '.join(ignored)}")
    seen = [k for k in header if k in COLUMNS]
    doubled = sorted({COLUMNS[k] for k in seen if seen.count(k) > 1})
    if doubled:
        raise ImportInvalid(
            [Problem(name, numbers[0], "", f"colonne(s) en double : {', '.join(doubled)}")]
        )
    if len(rows) - 1 > MAX_ROWS:
        raise ImportInvalid(
            [Problem(name, None, "", f"{MAX_ROWS} lignes au plus par fichier : découpez-le")]
        )
    index = {k: i for i, k in enumerate(header) if k in COLUMNS}
    lines: list[Line] = []
    problems: list[Problem] = []
    for number, row in zip(numbers[1:], rows[1:], strict=True):
        if not any(c.strip() for c in row):
            continue  # blank lines (a spreadsheet's trailing rows) say nothing
        cells = {k: (row[i].strip() if i < len(row) else "") for k, i in index.items()}
        line, found = _check_line(name, number, cells, this_year)
        problems += found
        if line is not None:
            lines.append(line)
    if not lines and not problems:
        raise ImportInvalid([Problem(name, None, "", "aucune ligne de participant")])
    problems += _duplicates(name, lines)
    return lines, problems, notes


def _control(text: str) -> bool:
    if text.isprintable():  # the common case, in C
        return False
    return any(unicodedata.category(c) in ("Cc", "Cs") for c in text)


def _check_line(
    name: str, number: int, cells: dict[str, str], this_year: int
) -> tuple[Line | None, list[Problem]]:
    problems: list[Problem] = []

    def bad(column: str, message: str) -> None:
        problems.append(Problem(name, number, COLUMNS[column], message))

    for column in ("prenom", "nom"):
        value = cells.get(column, "")
        if not value:
            bad(column, "obligatoire")
        elif len(value) > 100:
            bad(column, "100 caractères au plus")
        elif _control(value):
            bad(column, "caractère de contrôle interdit")
    for column, value in cells.items():
        if column not in ("prenom", "nom") and _control(value):
            bad(column, "caractère de contrôle interdit")
    email = cells.get("email") or None
    if email and not any(p.field == COLUMNS["email"] for p in problems):
        try:
            email = validate_email(email, check_deliverability=False).normalized
        except EmailNotValidError:
            bad("email", f"« {email} » n'est pas une adresse e-mail")
    phone = cells.get("telephone") or None
    if phone:
        try:
            phone = normalise_phone(phone)
        except ValueError as exc:
            bad("telephone", str(exc))
    birth_year = None
    raw_year = cells.get("annee_naissance", "")
    if raw_year:
        low, high = this_year - OLDEST, this_year - YOUNGEST
        if not raw_year.isdigit() or not low <= int(raw_year) <= high:
            bad("annee_naissance", f"« {raw_year} » : une année entre {low} et {high} attendue")
        else:
            birth_year = int(raw_year)
    pass_iae = re.sub(r"[\s.\-]", "", cells.get("pass_iae", "")) or None
    if pass_iae and not PASS_IAE.fullmatch(pass_iae):
        bad(
            "pass_iae",
            f"« {cells['pass_iae']} » : un numéro de PASS IAE a 12 chiffres (99999 23 12345)",
        )
    pathway = cells.get("parcours") or None
    if problems:
        return None, problems
    return (
        Line(
            number,
            " ".join(cells["prenom"].split()),
            " ".join(cells["nom"].split()),
            email,
            phone,
            birth_year,
            pass_iae,
            pathway,
        ),
        [],
    )


def _duplicates(name: str, lines: list[Line]) -> list[Problem]:
    """A person twice in the same file: the later line is named, with the earlier one."""
    problems = []
    first: dict[tuple[str, Any], int] = {}
    for line in lines:
        keys = [("pass_iae", line.pass_iae), ("email", (line.email or "").lower() or None)]
        if not line.email and not line.pass_iae:
            keys.append(
                ("prenom", (_fold(line.given_name), _fold(line.family_name), line.birth_year))
            )
        for column, value in keys:
            if value is None:
                continue
            earlier = first.setdefault((column, value), line.line)
            if earlier != line.line:
                what = {"pass_iae": "ce PASS IAE", "email": "cette adresse"}.get(
                    column, "cette personne (mêmes nom, prénom et année de naissance)"
                )
                problems.append(
                    Problem(
                        name,
                        line.line,
                        COLUMNS[column],
                        f"doublon : {what} figure déjà ligne {earlier}",
                    )
                )
                break
    return problems


# --- matching the structure's participants ----------------------------------------------------


@dataclass
class _Known:
    id: int
    given_name: str
    family_name: str
    email: str | None
    phone: str | None
    birth_year: int | None
    pass_iae: str | None


class _Directory:
    """The structure's participants, indexed the ways a line may designate one."""

    def __init__(self, people: Iterable[_Known]) -> None:
        self.by_pass: dict[str, _Known] = {}
        self.by_email: dict[str, _Known] = {}
        self.by_name: dict[tuple[str, str], list[_Known]] = {}
        for p in people:
            if p.pass_iae:
                self.by_pass.setdefault(p.pass_iae, p)
            if p.email:
                self.by_email.setdefault(p.email.lower(), p)
            self.by_name.setdefault((_fold(p.given_name), _fold(p.family_name)), []).append(p)

    def match(self, line: Line) -> tuple[_Known | None, str | None]:
        """(the participant this line designates or None, a problem in French or None)."""
        by_pass = self.by_pass.get(line.pass_iae) if line.pass_iae else None
        by_email = self.by_email.get(line.email.lower()) if line.email else None
        if by_pass and by_email and by_pass.id != by_email.id:
            return None, (
                f"le PASS IAE désigne le participant n° {by_pass.id}, l'e-mail le participant "
                f"n° {by_email.id}"
            )
        found = by_pass or by_email
        if found is not None:
            if line.pass_iae and found.pass_iae and found.pass_iae != line.pass_iae:
                return None, (
                    f"cette adresse est celle du participant n° {found.id}, dont le PASS IAE "
                    "est un autre"
                )
            return found, None
        candidates = [
            p
            for p in self.by_name.get((_fold(line.given_name), _fold(line.family_name)), [])
            if not (line.email and p.email)
            and not (line.pass_iae and p.pass_iae)
            and (line.birth_year is None or p.birth_year in (None, line.birth_year))
        ]
        exact = [p for p in candidates if line.birth_year and p.birth_year == line.birth_year]
        candidates = exact or candidates
        if len(candidates) > 1:
            ids = ", ".join(f"n° {p.id}" for p in candidates)
            return None, (
                f"plusieurs participants portent ce nom ({ids}) : précisez l'e-mail, l'année de "
                "naissance ou le PASS IAE"
            )
        return (candidates[0] if candidates else None), None


_KNOWN = select(
    Person.id,
    Person.given_name,
    Person.family_name,
    Person.email,
    Person.phone,
    Person.birth_year,
    Person.pass_iae,
).where(
    Person.kind == PersonKind.PARTICIPANT,
    Person.structure_id == bindparam("sid"),
    Person.erased_at.is_(None),
)


# --- the import ---------------------------------------------------------------------------------


def import_participants(
    rt: Runtime,
    filename: str,
    content: bytes,
    *,
    structure: str,
    by: Actor,
    dry_run: bool = False,
    now: datetime | None = None,
) -> ImportReport:
    """Check (and unless `dry_run`, import) a file of participants for `structure`. A dry run
    returns the report with its problems; the real run raises ImportInvalid listing them all
    and writes nothing while there is any, else writes every line in one transaction."""
    now = now or utcnow()
    with rt.reading() as conn:  # who may, before the file is even read
        _structure_id(conn, structure, by)
    lines, problems, notes = parse(filename, content, this_year=now.year)
    report = ImportReport(filename or "fichier", structure, dry_run, problems=problems, notes=notes)
    with rt.unit_of_work() as session:
        org_id = _structure_id(session, structure, by)
        pathways = _pathways(session, org_id, report, lines, by)
        directory = _Directory(_Known(*r) for r in session.execute(_KNOWN, {"sid": org_id}))
        plan = _plan(session, report, lines, directory, pathways)
        report.problems.sort(key=lambda p: p.line or 0)
        if dry_run:
            return report
        if report.problems:
            raise ImportInvalid(report.problems)
        _write(rt, session, org_id, report, plan, pathways, by, now)
    return report


def _structure_id(db: Any, structure: str, by: Actor) -> int:
    """The structure's id, once `by` may add participants there."""
    row = db.execute(
        select(Organisation.id, Organisation.kind).where(Organisation.slug == structure)
    ).first()
    if row is None:
        raise NotFound(f"organisation « {structure} » introuvable")
    if row.kind != "structure":
        raise InvalidInput(f"« {structure} » n'est pas une structure (SIAE)")
    access.ensure(db, by, Action.PARTICIPANT_CREATE, Target(structure_id=row.id))
    return row.id


def _pathways(
    session: Session, structure_id: int, report: ImportReport, lines: list[Line], by: Actor
) -> dict[str, PathwayVersion]:
    """The newest version of each pathway the file names, once the actor may enroll on it."""
    wanted = sorted({line.pathway for line in lines if line.pathway})
    found: dict[str, PathwayVersion] = {}
    for pathway_id in wanted:
        pv = session.execute(
            select(PathwayVersion)
            .where(PathwayVersion.pathway_id == pathway_id)
            .order_by(PathwayVersion.version.desc())
            .limit(1)
        ).scalar_one_or_none()
        if pv is None:
            for line in lines:
                if line.pathway == pathway_id:
                    report.problems.append(
                        Problem(
                            report.filename,
                            line.line,
                            COLUMNS["parcours"],
                            f"parcours « {pathway_id} » introuvable (son identifiant, tel "
                            "« sato-femmes-metallurgie »)",
                        )
                    )
            continue
        access.ensure(
            session, by, Action.ENROLL, Target(structure_id=structure_id, network=pv.network)
        )
        found[pathway_id] = pv
    return found


@dataclass
class _Plan:
    new: list[tuple[Line, Outcome]] = field(default_factory=list)
    completed: list[tuple[_Known, Line]] = field(default_factory=list)
    enroll: list[tuple[Outcome, Line]] = field(default_factory=list)


def _plan(
    session: Session,
    report: ImportReport,
    lines: list[Line],
    directory: _Directory,
    pathways: dict[str, PathwayVersion],
) -> _Plan:
    plan = _Plan()
    designated: dict[int, int] = {}
    matched_ids = []
    for line in lines:
        person, problem = directory.match(line)
        if problem:
            report.problems.append(Problem(report.filename, line.line, "", problem))
            continue
        if person is None:
            outcome = Outcome(line.line, line.name, CREATED if not report.dry_run else WOULD_CREATE)
            plan.new.append((line, outcome))
        else:
            earlier = designated.setdefault(person.id, line.line)
            if earlier != line.line:
                report.problems.append(
                    Problem(
                        report.filename,
                        line.line,
                        "",
                        f"désigne le même participant (n° {person.id}) que la ligne {earlier}",
                    )
                )
                continue
            fills = _fills(person, line)
            status = (WOULD_COMPLETE if report.dry_run else COMPLETED) if fills else PRESENT
            outcome = Outcome(line.line, line.name, status, person.id)
            if fills:
                plan.completed.append((person, line))
            matched_ids.append(person.id)
        if line.pathway in pathways:
            outcome.pathway = line.pathway
            plan.enroll.append((outcome, line))
        report.lines.append(outcome)
    # who already follows the pathway named: « déjà inscrit », nothing more
    active = _active_enrollments(session, matched_ids, list(pathways))
    still = []
    for outcome, line in plan.enroll:
        current = active.get((outcome.person_id, line.pathway))
        if current is not None:
            outcome.enrollment_id = current
        else:
            outcome.enrolled = True
            still.append((outcome, line))
    plan.enroll = still
    return plan


def _fills(person: _Known, line: Line) -> dict[str, Any]:
    """What the file adds to a participant already known: only what they lack."""
    given = {
        "email": line.email,
        "phone": line.phone,
        "birth_year": line.birth_year,
        "pass_iae": line.pass_iae,
    }
    return {k: v for k, v in given.items() if v is not None and getattr(person, k) is None}


def _active_enrollments(
    session: Session, person_ids: list[int], pathway_ids: list[str]
) -> dict[tuple[int, str], int]:
    if not person_ids or not pathway_ids:
        return {}
    found: dict[tuple[int, str], int] = {}
    for start in range(0, len(person_ids), 1000):
        rows = session.execute(
            select(Enrollment.participant_id, PathwayVersion.pathway_id, Enrollment.id)
            .join(PathwayVersion, PathwayVersion.id == Enrollment.pathway_version_id)
            .where(
                Enrollment.participant_id.in_(person_ids[start : start + 1000]),
                Enrollment.status == EnrollmentStatus.ACTIVE,
                PathwayVersion.pathway_id.in_(pathway_ids),
            )
        ).all()
        found.update({(p, w): e for p, w, e in rows})
    return found


_PAGE = 25
"""Rows per multi-row INSERT ... RETURNING on PostgreSQL: short enough a statement that psycopg
parses it once and reuses it (it caches statements up to 4 kB); a long one costs more to parse
than to run."""


def _batched(session: Session) -> Any:
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        return conn.execution_options(insertmanyvalues_page_size=_PAGE)
    return conn


_COMPLETE = (
    update(Person)
    .where(Person.id == bindparam("pid"))
    .values(
        email=func.coalesce(Person.email, bindparam("new_email")),
        phone=func.coalesce(Person.phone, bindparam("new_phone")),
        birth_year=func.coalesce(Person.birth_year, bindparam("new_birth_year")),
        pass_iae=func.coalesce(Person.pass_iae, bindparam("new_pass_iae")),
    )
)


def _write(
    rt: Runtime,
    session: Session,
    structure_id: int,
    report: ImportReport,
    plan: _Plan,
    pathways: dict[str, PathwayVersion],
    by: Actor,
    now: datetime,
) -> None:
    """Everything the plan says, in the caller's transaction: batched inserts and updates, a
    few statements whatever the number of lines."""
    conn = _batched(session)
    if plan.new:
        rows = [
            {
                "kind": PersonKind.PARTICIPANT.value,
                "given_name": line.given_name,
                "family_name": line.family_name,
                "email": line.email,
                "phone": line.phone,
                "birth_year": line.birth_year,
                "pass_iae": line.pass_iae,
                "structure_id": structure_id,
                "created_at": now,
            }
            for line, _ in plan.new
        ]
        ids = conn.execute(
            insert(Person).returning(Person.id, sort_by_parameter_order=True), rows
        ).scalars()
        for (_, outcome), person_id in zip(plan.new, ids, strict=True):
            outcome.person_id = person_id
    if plan.completed:
        conn.execute(
            _COMPLETE,
            [
                {
                    "pid": person.id,
                    "new_email": line.email,
                    "new_phone": line.phone,
                    "new_birth_year": line.birth_year,
                    "new_pass_iae": line.pass_iae,
                }
                for person, line in plan.completed
            ],
        )
    enrollment_ids = _enroll(rt, session, structure_id, plan.enroll, pathways, by, now)
    conn.execute(
        insert(AuditEvent).values(
            at=now,
            actor_id=by.person_id,
            kind="participants_imported",
            details={
                "structure": structure_id,
                "created": [o.person_id for _, o in plan.new],
                "completed": [p.id for p, _ in plan.completed],
                "enrollments": enrollment_ids,
            },
        )
    )


def _enroll(
    rt: Runtime,
    session: Session,
    structure_id: int,
    todo: list[tuple[Outcome, Line]],
    pathways: dict[str, PathwayVersion],
    by: Actor,
    now: datetime,
) -> list[int]:
    """Start each person on their pathway's newest version, as `enrollments.enroll` does (the
    initial stage, its badges, the `enrolled` audit event), in the import's transaction."""
    if not todo:
        return []
    conn = _batched(session)
    rows = [
        {
            "participant_id": outcome.person_id,
            "structure_id": structure_id,
            "pathway_version_id": pathways[line.pathway].id,  # type: ignore[index]
            "stage": rt.pathway(conn, pathways[line.pathway].id).initial,  # type: ignore[index]
            "status": EnrollmentStatus.ACTIVE.value,
            "revision": 1,
            "started_at": now,
            "stage_entered_at": now,
        }
        for outcome, line in todo
    ]
    ids = list(
        conn.execute(
            insert(Enrollment).returning(Enrollment.id, sort_by_parameter_order=True), rows
        ).scalars()
    )
    audits = []
    for (outcome, line), eid in zip(todo, ids, strict=True):
        outcome.enrollment_id = eid
        pv = pathways[line.pathway]  # type: ignore[index]
        audits.append(
            enrollments.started(
                rt,
                session,
                rt.pathway(session, pv.id),  # type: ignore[arg-type]
                version=pv.version,
                enrollment_id=eid,
                person_id=outcome.person_id,  # type: ignore[arg-type]
                structure_id=structure_id,
                by=by,
                now=now,
                held=frozenset() if outcome.status == CREATED else None,
            )
        )
    conn.execute(insert(AuditEvent), audits)
    return ids


def template_csv() -> str:
    """An empty file with the expected columns, to fill in a spreadsheet."""
    return ";".join(COLUMNS) + "\r\n"


def structures_for(rt: Runtime, *, by: Actor) -> list[tuple[str, str]]:
    """(slug, name) of the structures where `by` may import participants, by name; Forbidden
    when there is none (what the import page offers)."""
    from engine.services.access import structures_reached

    if not by.is_staff or by.person_id is None:
        raise Forbidden(access.refusal(Action.PARTICIPANT_CREATE, by))
    with rt.reading() as conn:
        rows = conn.execute(
            select(Organisation.slug, Organisation.name)
            .where(
                Organisation.id.in_(structures_reached(by.person_id)),
                Organisation.kind == "structure",
            )
            .order_by(Organisation.name)
        ).all()
    if not rows:
        raise Forbidden(access.refusal(Action.PARTICIPANT_CREATE, by))
    return [(slug, name) for slug, name in rows]
