"""`parcours demo`: a fresh database, the built-in plugins and workflows, and each plugin's demo
story played on a simulated clock that ends today, then a readable summary that ends with what
to run next: the server command, the address, the logins and a participant's link."""

from __future__ import annotations

import os
import shlex
import sqlite3
import sys
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import inspect, select

from engine import dates
from engine.cli.render import history_text
from engine.demo_context import DemoContext
from engine.errors import InvalidInput
from engine.roles import Role
from engine.services.access import Actor
from engine.services.accounts import set_password
from engine.services.bootstrap import initialise
from engine.services.dashboard import enrollments
from engine.services.enrollment_views import history, status
from engine.services.runtime import Runtime
from engine.statuses import EnrollmentStatus
from engine.store.database import make_engine
from engine.store.tables import CommitteeDecision, Organisation, Person, StaffRole

DEMO_PASSWORD = "demo-parcours-2026"
"""Every demo staff member's password: the demo database is local and thrown away."""

DEMO_APPLICATION_ID = 0x50435244
"""SQLite's `application_id` of a demo database (« PCRD »): only such a file is recreated."""

SERVE_ADDRESS = "http://127.0.0.1:8000"
"""Where `parcours serve` answers by default."""


def run_demo(db: Path | str, *, command: str | None = None) -> str:
    """Play the demo into `db` (a SQLite file, recreated if it is an earlier demo; or a
    database URL, which must be empty) and return the summary. `command` is how the reader
    runs `parcours` again (default: the executable that is running)."""
    url, where = _fresh_database(db)
    rt = Runtime(make_engine(url))
    try:
        return _play(rt, url, where, command or _parcours_command())
    finally:
        rt.engine.dispose()


def _fresh_database(db: Path | str) -> tuple[str, str]:
    """(URL, what to pass to `--db`), refusing, in French, to overwrite what is not a demo."""
    if isinstance(db, str) and "://" in db:
        engine = make_engine(db)
        try:
            tables = inspect(engine).get_table_names()
        finally:
            engine.dispose()
        if tables:
            raise InvalidInput(
                "la base indiquée contient déjà des tables : la démonstration s'installe dans "
                "une base vide (créez-en une, ou donnez un fichier SQLite avec --path)"
            )
        return db, db
    path = Path(db).absolute()
    if path.exists() and path.stat().st_size and _application_id(path) != DEMO_APPLICATION_ID:
        raise InvalidInput(
            f"« {path} » existe et n'est pas une base de démonstration : la démonstration ne "
            "l'écrase pas ; choisissez un autre fichier (--path) ou supprimez-le vous-même"
        )
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA application_id = {DEMO_APPLICATION_ID}")
    conn.close()
    return f"sqlite:///{path}", str(path)


def _application_id(path: Path) -> int | None:
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return conn.execute("PRAGMA application_id").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        return None


def _parcours_command() -> str:
    """How the reader runs `parcours` again: the executable they ran, made absolute (so
    `.venv/bin/parcours` works from any folder), else this interpreter with `-m engine.cli`."""
    ran = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if ran is not None and ran.name == "parcours" and ran.exists():
        return shlex.quote(str(ran.absolute()))
    return f"{shlex.quote(sys.executable)} -m engine.cli"


def _play(rt: Runtime, url: str, where: str, command: str) -> str:
    report = initialise(rt)
    out = [
        f"Base de démonstration : {where}",
        f"Plugins chargés : {', '.join(sorted(n for n, _ in rt.pm.list_name_plugin()))}",
        f"Réseaux publiés : {', '.join(report.networks)} ; {report.badge_classes} badges au "
        f"catalogue ; parcours publiés : {', '.join(report.published)}",
        "",
    ]
    demo = DemoContext(rt)
    try:
        enrollment_ids = [e for ids in rt.pm.hook.parcours_demo(demo=demo) for e in ids]
    finally:
        demo.close()
    with rt.unit_of_work() as session:
        deciders = {d.enrollment_id for d in session.execute(select(CommitteeDecision)).scalars()}
        staff = session.execute(select(Person).where(Person.kind == "staff")).scalars().all()
    operator = Actor.system()  # the one running `parcours demo` reads every story
    now = datetime.now(UTC)
    for eid in enrollment_ids:
        st = status(rt, eid, by=operator, now=now)
        out.append("═" * 78)
        out.append(f"{st.participant} — {st.pathway_title} (parcours n° {eid}, {st.structure})")
        out.append(
            f"Étape atteinte : {st.stage_title}"
            + (" — parcours terminé" if st.status == "completed" else "")
        )
        out.append("Historique (qui a décidé quoi, et quand) :")
        out.append(history_text(history(rt, eid, by=operator)))
        out.append(f"Badges obtenus ({len(st.badges)}) : " + ", ".join(st.badges))
        if st.exit:
            out.append(f"Sortie : {st.exit.said}")
        if eid in deciders:
            out.append("Décision de comité d'attribution enregistrée avec ses motifs.")
        out.append("")
    out += _where_everyone_stands(rt, operator, now)
    if demo.remarks:
        out.append("À noter pendant la démonstration :")
        out.extend(demo.remarks)
        out.append("")
    out.append(f"Équipe : {', '.join(p.display_name for p in staff)}")
    db_arg = shlex.quote(where)
    if enrollment_ids:
        out.append(f"En ligne de commande : {command} --db {db_arg} status {enrollment_ids[0]}")
    for person in staff:
        if person.email:
            set_password(rt, person.email, DEMO_PASSWORD)
    out += _next_steps(rt, demo, command, db_arg)
    return "\n".join(out)


def _where_everyone_stands(rt: Runtime, operator: Actor, now: datetime) -> list[str]:
    """One line per enrollment, as the dashboard shows it today."""
    listing = enrollments(rt, operator, per_page=100)
    if not listing.items:
        return []
    lines = ["Où en est chacun aujourd'hui :"]
    for row in reversed(listing.items):
        st = status(rt, row.id, by=operator, now=now)
        state = EnrollmentStatus(st.status).label
        if st.deadline and st.deadline < now:
            state += f", échéance dépassée depuis le {dates.day(st.deadline)}"
        lines.append(f"  {st.participant} — {st.pathway_title} — {st.stage_title} ({state})")
    return [*lines, ""]


def _next_steps(rt: Runtime, demo: DemoContext, command: str, db_arg: str) -> list[str]:
    """The last lines: what to type, where to go, who to sign in as. Copied as printed, they
    work: the command is the running executable's full path, the base the file just made."""
    address = os.environ.get("PARCOURS_PUBLIC_URL") or SERVE_ADDRESS
    out = [
        "═" * 78,
        "Ouvrir l'application web : lancez le serveur (Ctrl+C pour l'arrêter)",
        f"  {command} --db {db_arg} serve",
        f"puis ouvrez {address} et connectez-vous avec l'un de ces comptes.",
        f"Mot de passe de chacun : {DEMO_PASSWORD}  (démonstration seulement)",
        "",
    ]
    rows = [("Connexion (e-mail)", "Rôle — organisation")]
    rows += [(email, _roles_of(rt, email)) for email in demo.logins]
    width = max(len(email) for email, _ in rows)
    out += [f"  {email:<{width}}  {roles}" for email, roles in rows]
    for link in demo.links:
        out += [
            "",
            f"Espace participant de {link.participant} (lien à usage unique, valable 7 jours) :",
            f"  {address}/lien/{link.token}",
        ]
    return out


def _roles_of(rt: Runtime, email: str) -> str:
    """« CIP — SATO Intérim ; directeur — SATO EiTi »: a login's roles, in French."""
    with rt.reading() as conn:
        rows = conn.execute(
            select(StaffRole.role, Organisation.name)
            .join(Organisation, Organisation.id == StaffRole.organisation_id)
            .join(Person, Person.id == StaffRole.person_id)
            .where(Person.email == email)
            .order_by(StaffRole.id)
        ).all()
    by_role: dict[str, list[str]] = {}
    for role, organisation in rows:
        by_role.setdefault(Role(role).label, []).append(_short(organisation))
    return " ; ".join(f"{role} — {', '.join(orgs)}" for role, orgs in by_role.items())


def _short(name: str, width: int = 40) -> str:
    return name if len(name) <= width else name[: width - 1] + "…"
