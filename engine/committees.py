"""Attribution committees: the rules a network gives for each kind of committee, and how a
committee's votes become a decision.

The core knows no committee kind: networks name them in their network file (``croise`` in
INAÉ's file is the kind ``inae.croise``); a plugin may add rules through the
``parcours_committee_rules`` hook.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from engine.roles import Role


class CommitteeRule(BaseModel):
    """What makes a committee's decision valid."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str = Field(min_length=1)
    crossed: bool = Field(
        default=False,
        description="Crossed between SIAE: no member from the participant's own structure votes",
    )
    quorum: int = Field(default=2, ge=1, description="Votes needed before a decision")
    min_structures: int = Field(
        default=1, ge=1, description="Votes must come from at least this many structures"
    )
    majority: Literal["simple", "unanimous"] = "simple"
    member_roles: list[Role] = Field(
        default_factory=list, description="Roles a member must hold somewhere (empty: any staff)"
    )
    conflicts_of_interest: list[Literal["structure", "requester"]] = Field(
        default_factory=list,
        description="Who may not vote: `structure`, anyone working at the participant's "
        "structure (always so in a crossed committee); `requester`, the staff member who "
        "submitted the badge request",
    )

    @model_validator(mode="after")
    def _reachable(self) -> CommitteeRule:
        if self.min_structures > self.quorum:
            raise ValueError(
                f"min_structures ({self.min_structures}) dépasse le quorum ({self.quorum}) : "
                "la décision ne pourrait jamais être prise"
            )
        return self

    @property
    def excludes_structure(self) -> bool:
        """Members from the participant's own structure do not vote."""
        return self.crossed or "structure" in self.conflicts_of_interest

    def explain(self) -> str:
        parts = [f"quorum : {self.quorum} votes"]
        if self.min_structures > 1:
            parts.append(f"venant d'au moins {self.min_structures} structures")
        if self.excludes_structure:
            parts.append("aucun membre de la structure du participant ne vote")
        if "requester" in self.conflicts_of_interest:
            parts.append("l'auteur de la demande ne vote pas")
        parts.append("décision à l'unanimité" if self.majority == "unanimous" else "à la majorité")
        return " ; ".join(parts)


@dataclass(frozen=True)
class Vote:
    approve: bool
    structure_id: int | None


def outcome(rule: CommitteeRule, votes: list[Vote]) -> bool | None:
    """True (badge granted), False (refused) or None (no decision yet: quorum not reached, or a
    simple-majority tie that waits for another vote)."""
    if rule.majority == "unanimous" and any(not v.approve for v in votes):
        return False
    if len(votes) < rule.quorum:
        return None
    if len({v.structure_id for v in votes}) < rule.min_structures:
        return None
    yes = sum(v.approve for v in votes)
    no = len(votes) - yes
    if rule.majority == "unanimous":
        return True
    if yes == no:
        return None
    return yes > no
