"""Gate evaluation: which conditions of a transition are unmet, said in French.

Every condition is evaluated, so staff see the whole list at once (« manque le badge
Ponctualité ; durée minimale en immersion : 10 jours, 5 écoulés ») rather than one at a time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from engine.hookspecs import GateCheck
from engine.pathways.model import BadgeRequirement, Pathway, Transition
from engine.roles import Role


@dataclass(frozen=True)
class GateContext:
    """What a gate may look at. Loaded once per advance, with only the queries a gate needs."""

    pathway: Pathway
    enrollment_id: int
    participant_id: int
    structure_id: int
    stage: str
    stage_entered_at: datetime
    now: datetime
    badge_names: Mapping[str, str]
    badge_requirements: Mapping[str, BadgeRequirement]
    held: frozenset[str] = frozenset()
    held_known: bool = True  # False when no condition needed the badges held (not read)
    evidence: frozenset[str] = frozenset()
    decisions: Mapping[str, tuple[bool | None, str]] = field(default_factory=dict)
    """Per trigger, the attribution committee's verdict under its rule (None: waiting) and
    the sentence that says it."""
    actor_roles: frozenset[Role] | None = None  # None: nobody is firing (status view)
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def days_in_stage(self) -> int:
        return (self.now - self.stage_entered_at).days


@dataclass(frozen=True)
class Condition:
    """One gate condition and whether it holds; `text` is the French sentence when unmet."""

    kind: str
    met: bool
    text: str

    def as_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "met": self.met, "text": self.text}


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n > 1 else ''}"


def _requirement_text(
    req: BadgeRequirement, held: frozenset[str], names: Mapping[str, str]
) -> tuple[bool, str]:
    missing = req.missing(set(held))
    if req.at_least is None:
        if not missing:
            return True, "badges : " + ", ".join(names.get(b, b) for b in req.of)
        return False, " ; ".join(f"manque le badge {names.get(b, b)}" for b in missing)
    have = len(req.of) - len([b for b in req.of if b not in held])
    listed = ", ".join(names.get(b, b) for b in req.of)
    text = (
        f"{_plural(req.at_least, 'badge')} parmi {listed} ({have} obtenu{'s' if have > 1 else ''})"
    )
    return not missing, ("il faut " + text) if missing else text


def evaluate(
    transition: Transition, ctx: GateContext, checks: Mapping[str, GateCheck]
) -> list[Condition]:
    """All conditions of `transition` for the enrollment described by `ctx`."""
    gate = transition.gate
    stage_title = ctx.pathway.stage(ctx.stage).title
    out: list[Condition] = []
    for req in gate.badges:
        met, text = _requirement_text(req, ctx.held, ctx.badge_names)
        out.append(Condition("badges", met, text))

    # A key badge awarded by this transition must be validated by its sub-badges.
    for badge in ctx.pathway.awards_for(transition, ctx.stage):
        req = ctx.badge_requirements.get(badge)
        if req is not None and badge not in ctx.held:
            met, text = _requirement_text(req, ctx.held, ctx.badge_names)
            name = ctx.badge_names.get(badge, badge)
            out.append(Condition("sub_badges", met, f"pour le badge {name} : {text}"))

    for kind in gate.evidence:
        met = kind in ctx.evidence
        out.append(
            Condition(
                "evidence", met, f"pièce justificative {'jointe' if met else 'manquante'} : {kind}"
            )
        )
    days = ctx.days_in_stage
    if gate.min_days is not None:
        out.append(
            Condition(
                "min_days",
                days >= gate.min_days,
                f"durée minimale en {stage_title} : {_plural(gate.min_days, 'jour')}, "
                f"{days} écoulé{'s' if days > 1 else ''}",
            )
        )
    if gate.max_days is not None:
        out.append(
            Condition(
                "max_days",
                days <= gate.max_days,
                f"durée maximale en {stage_title} : {_plural(gate.max_days, 'jour')}, "
                f"{days} écoulé{'s' if days > 1 else ''}",
            )
        )
    if gate.committee:
        verdict, text = ctx.decisions.get(
            transition.trigger, (None, "décision du comité d'attribution attendue")
        )
        out.append(Condition("committee", verdict is True, text))
    for name in gate.checks:
        check = checks.get(name)
        message = "vérification indisponible (plugin absent)" if check is None else check(ctx)
        out.append(Condition(f"check:{name}", message is None, message or name))
    if ctx.actor_roles is not None and gate.roles:
        allowed = set(gate.roles) | {Role.NETWORK_ADMIN}
        met = bool(ctx.actor_roles & allowed)
        out.append(Condition("roles", met, "réservé à : " + roles_text(gate.roles)))
    return out


def roles_text(roles: list[Role]) -> str:
    labels = [r.label for r in roles]
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " ou " + labels[-1]


def unmet(conditions: list[Condition]) -> list[str]:
    return [c.text for c in conditions if not c.met]
