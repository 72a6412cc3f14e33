"""The pathway model: what a network writes in `workflows/*.yaml`, validated by pydantic.

Unknown fields are refused (`extra="forbid"`) so a typo such as `min_day` is reported with its
line instead of being silently ignored.
"""

from __future__ import annotations

from collections import deque
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from engine import exits
from engine.roles import Role
from engine.slugs import BadgeId, Slug


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BadgeRequirement(_Strict):
    """Badges a participant must hold: all of `of`, or at least `at_least` of them."""

    of: list[BadgeId] = Field(min_length=1)
    at_least: int | None = Field(default=None, ge=1)

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        # `- sato.ponctualite` is shorthand for `- of: [sato.ponctualite]`.
        if isinstance(value, str):
            return {"of": [value]}
        return value

    @model_validator(mode="after")
    def _at_least_fits(self) -> BadgeRequirement:
        if self.at_least is not None and self.at_least > len(self.of):
            raise ValueError(
                f"at_least vaut {self.at_least} mais la liste ne contient que {len(self.of)} badges"
            )
        return self

    @property
    def needed(self) -> int:
        return len(self.of) if self.at_least is None else self.at_least

    def missing(self, held: set[str]) -> list[str]:
        """Badge ids still to earn; empty when the requirement is met."""
        have = [b for b in self.of if b in held]
        if len(have) >= self.needed:
            return []
        return [b for b in self.of if b not in held]


class Gate(_Strict):
    """Conditions to pass a transition. Every unmet one is reported, not only the first."""

    badges: list[BadgeRequirement] = Field(default_factory=list)
    evidence: list[Slug] = Field(default_factory=list)
    min_days: int | None = Field(default=None, ge=0)
    max_days: int | None = Field(default=None, ge=0)
    roles: list[Role] = Field(default_factory=list)
    committee: bool = False
    checks: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _durations(self) -> Gate:
        both = self.min_days is not None and self.max_days is not None
        if both and self.min_days > self.max_days:  # type: ignore[operator]
            raise ValueError("min_days est supérieur à max_days")
        return self


class Awards(_Strict):
    """Badge classes issued when a participant enters or completes a stage."""

    on_enter: list[BadgeId] = Field(default_factory=list)
    on_complete: list[BadgeId] = Field(default_factory=list)
    share_with: list[Slug] = Field(
        default_factory=list,
        description="Partner organisations (slugs) that receive this stage's badges",
    )


def _outcome_ref(value: str) -> str:
    exits.codes_for(value)  # ValueError in French, with the nearest name
    return value


OutcomeRef = Annotated[str, AfterValidator(_outcome_ref)]
"""An exit outcome code (`cdi`) or a category standing for all of its outcomes
(`emploi_durable`): see `engine.exits`."""


class Stage(_Strict):
    id: Slug
    title: str = Field(min_length=1)
    description: str = ""
    deadline_days: int | None = Field(default=None, ge=1)
    final: bool = False
    awards: Awards = Field(default_factory=Awards)
    outcomes: Annotated[list[OutcomeRef], AfterValidator(exits.expand)] | None = Field(
        default=None,
        description="A final stage's exit outcomes: entering it records one of them. Absent: "
        "any outcome may be recorded, none is required; an empty list: none is recorded",
    )

    @property
    def records_exit(self) -> bool:
        """Whether entering this stage asks how the person left (some outcome may be given)."""
        return self.final and self.outcomes != []

    @property
    def requires_exit(self) -> bool:
        return self.final and bool(self.outcomes)


class Transition(_Strict):
    trigger: Slug
    source: list[Slug]
    dest: Slug
    title: str = Field(min_length=1)
    gate: Gate = Field(default_factory=Gate)
    completes: bool = Field(
        default=True,
        description="False for an early exit: the source stage's on_complete badges are not issued",
    )

    @field_validator("source", mode="before")
    @classmethod
    def _listify(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


class Pathway(_Strict):
    """One version of a pathway. Enrollments are pinned to the (id, version) they started on."""

    id: Slug
    version: int = Field(ge=1)
    network: Slug
    title: str = Field(min_length=1)
    description: str = ""
    initial: Slug
    stages: list[Stage] = Field(min_length=1)
    transitions: list[Transition] = Field(default_factory=list)

    def stage(self, stage_id: str) -> Stage:
        for stage in self.stages:
            if stage.id == stage_id:
                return stage
        raise KeyError(stage_id)

    @property
    def stage_ids(self) -> list[str]:
        return [s.id for s in self.stages]

    def transitions_from(self, stage_id: str) -> list[Transition]:
        return [t for t in self.transitions if stage_id in t.source]

    def transition(self, stage_id: str, trigger: str) -> Transition | None:
        for t in self.transitions:
            if t.trigger == trigger and stage_id in t.source:
                return t
        return None

    def awards_for(self, transition: Transition, source: str) -> list[str]:
        """Badges issued when `transition` fires from `source`."""
        completed = self.stage(source).awards.on_complete if transition.completes else []
        return [*completed, *self.stage(transition.dest).awards.on_enter]

    def shares_for(self, transition: Transition, source: str) -> dict[str, list[str]]:
        """Badge id -> partner slugs, for the badges `transition` issues from `source`."""
        out: dict[str, list[str]] = {}
        if transition.completes:
            stage = self.stage(source)
            for badge in stage.awards.on_complete:
                out.setdefault(badge, []).extend(stage.awards.share_with)
        dest = self.stage(transition.dest)
        for badge in dest.awards.on_enter:
            out.setdefault(badge, []).extend(dest.awards.share_with)
        return {badge: slugs for badge, slugs in out.items() if slugs}

    def badge_ids(self) -> set[str]:
        """Every badge class this pathway names, in gates and awards."""
        ids: set[str] = set()
        for stage in self.stages:
            ids.update(stage.awards.on_enter, stage.awards.on_complete)
        for t in self.transitions:
            for req in t.gate.badges:
                ids.update(req.of)
        return ids

    def reachable(self) -> set[str]:
        seen = {self.initial}
        queue = deque([self.initial])
        while queue:
            current = queue.popleft()
            for t in self.transitions_from(current):
                if t.dest not in seen:
                    seen.add(t.dest)
                    queue.append(t.dest)
        return seen
