"""Domain events: collected while a unit of work runs, dispatched after it commits, from one
place (cosmic python's `collect_new_events`). A plugin hook therefore never hears of a badge or
a stage that was rolled back, and no service calls a hook itself."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pluggy

KEY = "parcours_events"


@dataclass(frozen=True)
class StageEntered:
    enrollment_id: int
    pathway_id: str
    stage: str
    at: datetime


@dataclass(frozen=True)
class BadgeIssued:
    assertion_id: str
    badge_class: str
    recipient_id: int | None


Event = StageEntered | BadgeIssued


def collect(db: Any, *events: Event) -> None:
    """Note events in the caller's transaction (a Session or a Connection)."""
    db.info.setdefault(KEY, []).extend(events)


def take(db: Any) -> list[Event]:
    """The events noted so far, forgotten from the transaction."""
    return db.info.pop(KEY, [])


def _stage_entered(pm: pluggy.PluginManager, e: StageEntered) -> None:
    pm.hook.parcours_stage_entered(
        enrollment_id=e.enrollment_id, pathway_id=e.pathway_id, stage=e.stage, at=e.at
    )


def _badge_issued(pm: pluggy.PluginManager, e: BadgeIssued) -> None:
    pm.hook.parcours_badge_issued(
        assertion_id=e.assertion_id, badge_class=e.badge_class, recipient_id=e.recipient_id
    )


HANDLERS: dict[type, Callable[[pluggy.PluginManager, Any], None]] = {
    StageEntered: _stage_entered,
    BadgeIssued: _badge_issued,
}


def dispatch(pm: pluggy.PluginManager, events: list[Event]) -> None:
    for event in events:
        HANDLERS[type(event)](pm, event)
