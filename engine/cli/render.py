"""Plain-text French rendering of statuses and histories, shared by the CLI and the demo."""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine import exits
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


def history_text(entries: list[HistoryEntry], names: dict[str, str] | None = None) -> str:
    names = names or {}
    lines = []
    for e in entries:
        what = label(e.kind)
        details = e.details or {}
        if e.kind == "transition":
            what += f" : {e.from_stage} → {e.to_stage} ({e.trigger})"
        elif e.kind == "enrolled":
            what += f" : {e.to_stage}"
        elif e.kind == "migration":
            what += f" : {e.from_stage} → {e.to_stage}"
        elif e.kind == "evidence" and details:
            what += f" « {details.get('kind')} »"
        elif e.kind == "committee_decision" and details:
            verdict = "favorable" if details.get("approved") else "défavorable"
            what += f" {verdict} sur {e.trigger}"
        elif e.kind == "badge_requested" and details.get("badge"):
            what += f" : {names.get(details['badge'], details['badge'])}"
        elif e.kind == exits.EVENT and (left := exits.recorded(details.get("outcome"), None, None)):
            what += f" : {left.label}"
        line = f"  {day(e.at)}  {what} — par {e.actor}"
        if e.note:
            line += f" — « {e.note} »"
        lines.append(line)
        awarded = details.get("awarded") or []
        for badge in awarded:
            lines.append(f"               🏅 {names.get(badge, badge)}")
    return "\n".join(lines)
