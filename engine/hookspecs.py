"""Every hook a Parcours plugin may implement. Each docstring is that hook's documentation.

Plugins register through the ``parcours`` entry-point group (see pyproject.toml); the built-in
network plugins under ``plugins/`` use exactly the same route as third-party ones.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from engine.committees import CommitteeRule
    from engine.connectors import Connector
    from engine.demo_context import DemoContext
    from engine.gates import GateContext

hookspec = pluggy.HookspecMarker("parcours")
hookimpl = pluggy.HookimplMarker("parcours")

GateCheck = Callable[["GateContext"], "str | None"]
"""A plugin gate check: returns None when satisfied, else a French sentence saying what is unmet."""


@hookspec
def parcours_network_files() -> list[Path]:
    """Network files shipped inside the plugin, in addition to ``networks/``. A network is
    data (its organisation, partners, badge catalogue, committee rules, connector settings):
    write it as a network file; a plugin is for what needs code."""


@hookspec
def parcours_pathways() -> list[Path]:
    """Extra pathway YAML files shipped inside the plugin, in addition to ``workflows/``."""


@hookspec
def parcours_gate_checks() -> dict[str, GateCheck]:
    """Named extra conditions a pathway gate may list under ``checks:``.

    Names are namespaced (``sato.accord_geiq``). A check receives the GateContext (enrollment,
    stage, actor, badges held, evidence kinds) and returns None or the unmet condition in French.
    """


@hookspec
def parcours_committee_rules() -> dict[str, CommitteeRule]:
    """Attribution-committee rules given by code, per committee kind, namespaced
    (``reseau.type``). Networks declare theirs in their network file (``committees:``); a
    badge's ``evaluation.committees`` may name either."""


@hookspec
def parcours_passport_connectors() -> dict[str, Connector]:
    """Connectors that deliver issued badges somewhere (a participant's Open Badge Passport,
    the network's Open Badge Factory account), keyed by name. See `engine.connectors`: the
    outbox queues `payload(...)` when a badge of the connector's network is issued and calls
    `send(...)` until it succeeds."""


@hookspec
def parcours_stage_entered(enrollment_id: int, pathway_id: str, stage: str, at: Any) -> None:
    """Called after a transition is committed, once per stage entered."""


@hookspec
def parcours_badge_issued(assertion_id: str, badge_class: str, recipient_id: int) -> None:
    """Called after a badge is committed as issued."""


@hookspec
def parcours_demo(demo: DemoContext) -> list[int]:
    """Play this network's demo story on a fresh database (`parcours demo`): create its
    structures and staff, enroll participants and advance them, ask for and review badges,
    through ``demo``'s methods, which act as the staff member named by e-mail (``by=``) and
    are refused where that person would be. ``demo.now`` and ``demo.wait(days)`` give
    simulated time (``demo.days_ago(n)`` starts a story n days before today, so deadlines
    fall due when the visitor looks), ``demo.say(text)`` records remarks worth printing;
    ``offer_login`` and ``participant_link`` choose what the summary offers a visitor, and
    ``connect_partner`` / ``deliver`` run partner webhooks against simulated partner
    systems. The story gets no
    Runtime: what it may do is what `engine.DemoContext` offers. Returns the enrollment ids
    to summarise."""
