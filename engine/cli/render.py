"""Plain-text French rendering of statuses and histories, shared by the CLI and the demo."""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.dates import day
from engine.gates import roles_text
from engine.history import label

if TYPE_CHECKING:
    from engine.services.enrollment_views import HistoryEntry, Status


def status_text(st: Status) -> str:
    lines = [
        f"Parcours n° {st.enrollment_id} — {st.participant} ({st.structure})",
        f"  {st.pathway_title} (version {st.version})",
        f"  Étape : {st.stage_title} [{st.stage}] depuis le {day(st.stage_entered_at)} "
        f"({st.days_in_stage} j)" + ("" if st.status == "active" else f" — {_state(st.status)}"),
    ]
    if st.deadline:
        lines.append(f"  Échéance de l'étape : {day(st.deadline)}")
    lines.append("  Badges : " + (", ".join(st.badges) if st.badges else "aucun pour l'instant"))
    for step in st.next_steps:
        mark = "prêt" if step.ready else "en attente"
        lines.append(f"  → {step.title} [{step.trigger}] vers « {step.dest_title} » : {mark}")
        for c in step.conditions:
            lines.append(f"      {'✓' if c.met else '✗'} {c.text}")
        if step.roles:
            lines.append(f"      à déclencher par : {roles_text(step.roles)}")
    return "\n".join(lines)


def _state(status: str) -> str:
    return {"completed": "parcours terminé", "withdrawn": "sorti du parcours"}.get(status, status)


def history_text(entries: list[HistoryEntry]) -> str:
    """One line per event, as the enrollment's page shows it: what happened (with titles and
    names, `HistoryEntry.what`), who did it, the note; then the badges it issued."""
    lines = []
    for e in entries:
        what = label(e.kind) + (f" {e.what}" if e.what else "")
        line = f"  {day(e.at)}  {what} — par {e.actor}"
        if e.note:
            line += f" — « {e.note} »"
        lines.append(line)
        lines.extend(f"               🏅 {name}" for name in e.awarded)
    return "\n".join(lines)
