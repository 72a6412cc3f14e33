"""The state machine of a pathway version, built with `transitions`.

One Machine per pathway version, cached and shared by all its enrollments: an enrollment's
stage is passed in a throwaway token, so advancing costs no Machine construction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from transitions import Machine, MachineError

from engine.errors import InvalidInput
from engine.pathways.model import Pathway


@dataclass
class _Token:
    """Carries one enrollment's stage through the shared Machine."""

    state: str


def _gate_open(event: Any) -> bool:
    return not event.kwargs.get("unmet")


class PathwayMachine:
    def __init__(self, pathway: Pathway):
        self.pathway = pathway
        self._machine = Machine(
            model=None,
            states=pathway.stage_ids,
            initial=pathway.initial,
            auto_transitions=False,
            send_event=True,
            transitions=[
                {
                    "trigger": t.trigger,
                    "source": t.source,
                    "dest": t.dest,
                    "conditions": [_gate_open],
                }
                for t in pathway.transitions
            ],
        )

    def triggers(self, stage: str) -> list[str]:
        return self._machine.get_triggers(stage)

    def fire(self, stage: str, trigger: str, unmet: list[str]) -> str | None:
        """Return the stage reached, or None if the gate (via `unmet`) held it back."""
        event = self._machine.events.get(trigger)
        if event is None or stage not in event.transitions:
            available = ", ".join(self.triggers(stage)) or "aucun (étape finale)"
            raise InvalidInput(
                f"« {trigger} » n'est pas possible depuis l'étape « {stage} » "
                f"(déclencheurs possibles : {available})"
            )
        token = _Token(stage)
        try:
            moved = event.trigger(token, unmet=unmet)
        except MachineError as exc:  # pragma: no cover - guarded above
            raise InvalidInput(str(exc.value)) from None
        return token.state if moved else None


def machine_for(pathway: Pathway) -> PathwayMachine:
    """The machine is built once per loaded pathway object and kept on it."""
    if pathway._machine is None:
        pathway._machine = PathwayMachine(pathway)
    return pathway._machine
