"""The state machine of a pathway version, built with `transitions`.

One Machine per pathway version, cached and shared by all its enrollments. Firing reads the
moves the Machine holds (source and trigger to destination, taken when the gate is open)
from a table made once: the same answer as running the Machine's event on a throwaway token,
without its per-call event queue and callbacks (a tenth of a millisecond of each advance).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from transitions import Machine

from engine.errors import InvalidInput
from engine.pathways.model import Pathway, Stage, Transition


@dataclass(frozen=True)
class Move:
    """Firing a trigger from a stage, worked out once per pathway version: the transition,
    the stage it reaches and what passing it entails."""

    transition: Transition
    dest: Stage
    awards: list[str]
    """The badges it issues (`Pathway.awards_for`), each once."""
    shares: dict[str, list[str]]
    """Badge -> partners it is shared with (`Pathway.shares_for`)."""


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
        # Every move has the one condition above: the first move from a source is the one
        # the Machine takes when the gate is open, and none when it is not.
        self._moves = {
            (source, trigger): moves[0].dest
            for trigger, event in self._machine.events.items()
            for source, moves in event.transitions.items()
            if moves
        }
        self._plans: dict[tuple[str, str], Move] = {}

    def triggers(self, stage: str) -> list[str]:
        return self._machine.get_triggers(stage)

    def fire(self, stage: str, trigger: str, unmet: list[str]) -> str | None:
        """Return the stage reached, or None if the gate (via `unmet`) held it back."""
        dest = self._moves.get((stage, trigger))
        if dest is None:
            self._impossible(stage, trigger)
        return None if unmet else dest

    def move(self, stage: str, trigger: str) -> Move:
        """What firing `trigger` from `stage` would do; InvalidInput, in French, when the
        pathway has no such move."""
        plan = self._plans.get((stage, trigger))
        if plan is None:
            transition = self.pathway.transition(stage, trigger)
            if transition is None or (stage, trigger) not in self._moves:
                self._impossible(stage, trigger)
            plan = self._plans[stage, trigger] = Move(
                transition,
                self.pathway.stage(transition.dest),
                list(dict.fromkeys(self.pathway.awards_for(transition, stage))),
                self.pathway.shares_for(transition, stage),
            )
        return plan

    def _impossible(self, stage: str, trigger: str) -> Any:
        available = ", ".join(self.triggers(stage)) or "aucun (étape finale)"
        raise InvalidInput(
            f"« {trigger} » n'est pas possible depuis l'étape « {stage} » "
            f"(déclencheurs possibles : {available})"
        )


_MACHINES: dict[tuple[str, int], PathwayMachine] = {}


def machine_for(pathway: Pathway) -> PathwayMachine:
    """The machine is built once per loaded pathway object. Kept here by the version's id and
    number, and used only for the very object it was built from (a test may load two
    pathways of the same name): reading it back from the pydantic object's private attribute
    costs more than the rest of firing."""
    key = (pathway.id, pathway.version)
    machine = _MACHINES.get(key)
    if machine is None or machine.pathway is not pathway:
        machine = _MACHINES[key] = PathwayMachine(pathway)
    return machine
