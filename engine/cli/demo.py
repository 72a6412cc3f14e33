"""`parcours demo`: a fresh SQLite database, the built-in plugins and workflows, and each
plugin's demo story played on a simulated clock, then a readable summary."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from engine.cli.render import history_text
from engine.demo_context import DemoContext
from engine.services.access import Actor
from engine.services.accounts import set_password
from engine.services.bootstrap import initialise
from engine.services.enrollment_views import history, status
from engine.services.runtime import Runtime
from engine.store.database import make_engine
from engine.store.tables import CommitteeDecision, Person

DEMO_PASSWORD = "demo-parcours-2026"
"""Every demo staff member's password: the demo database is local and thrown away."""


def run_demo(db_path: Path) -> str:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    rt = Runtime(make_engine(f"sqlite:///{db_path}"))
    report = initialise(rt)
    out = [
        f"Base de démonstration : {db_path}",
        f"Plugins chargés : {', '.join(sorted(n for n, _ in rt.pm.list_name_plugin()))}",
        f"Réseaux publiés : {', '.join(report.networks)} ; {report.badge_classes} badges au "
        f"catalogue ; parcours publiés : {', '.join(report.published)}",
        "",
    ]
    demo = DemoContext(rt)
    enrollment_ids = [e for ids in rt.pm.hook.parcours_demo(demo=demo) for e in ids]
    with rt.unit_of_work() as session:
        names = {slug: entry.name for slug, entry in rt.catalogue(session).items()}
        deciders = {d.enrollment_id for d in session.execute(select(CommitteeDecision)).scalars()}
        staff = session.execute(select(Person).where(Person.kind == "staff")).scalars().all()
    operator = Actor.system()  # the one running `parcours demo` reads every story
    for eid in enrollment_ids:
        st = status(rt, eid, by=operator, now=datetime.now(UTC))
        out.append("═" * 78)
        out.append(f"{st.participant} — {st.pathway_title} (parcours n° {eid}, {st.structure})")
        out.append(
            f"Étape atteinte : {st.stage_title}"
            + (" — parcours terminé" if st.status == "completed" else "")
        )
        out.append("Historique (qui a décidé quoi, et quand) :")
        out.append(history_text(history(rt, eid, by=operator), names))
        out.append(f"Badges obtenus ({len(st.badges)}) : " + ", ".join(st.badges))
        if eid in deciders:
            out.append("Décision de comité d'attribution enregistrée avec ses motifs.")
        out.append("")
    if demo.remarks:
        out.append("À noter pendant la démonstration :")
        out.extend(demo.remarks)
        out.append("")
    out.append(f"Équipe : {', '.join(p.display_name for p in staff)}")
    out.append(
        f"Pour explorer : parcours --db {db_path} status {enrollment_ids[0]}"
        if enrollment_ids
        else "Aucun scénario de démonstration fourni par les plugins."
    )
    for person in staff:
        if person.email:
            set_password(rt, person.email, DEMO_PASSWORD)
    if staff:
        out.append(
            f"Application web : parcours --db {db_path} serve, puis http://127.0.0.1:8000 — "
            f"connexion {staff[0].email}, mot de passe « {DEMO_PASSWORD} » (démonstration)"
        )
    return "\n".join(out)
