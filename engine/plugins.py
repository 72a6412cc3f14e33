"""The plugin manager: loads every plugin of the ``parcours`` entry-point group."""

from __future__ import annotations

from functools import cache

import pluggy

from engine import hookspecs
from engine.committees import CommitteeRule
from engine.errors import InvalidInput
from engine.hookspecs import GateCheck

ENTRY_POINT_GROUP = "parcours"


def make_plugin_manager(*, load_entry_points: bool = True) -> pluggy.PluginManager:
    pm = pluggy.PluginManager("parcours")
    pm.add_hookspecs(hookspecs)
    if load_entry_points:
        pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    return pm


@cache
def default_plugin_manager() -> pluggy.PluginManager:
    return make_plugin_manager()


def gate_checks(pm: pluggy.PluginManager) -> dict[str, GateCheck]:
    checks: dict[str, GateCheck] = {}
    for provided in pm.hook.parcours_gate_checks():
        checks.update(provided)
    return checks


def committee_rules(pm: pluggy.PluginManager) -> dict[str, CommitteeRule]:
    rules: dict[str, CommitteeRule] = {}
    for provided in pm.hook.parcours_committee_rules():
        for kind, rule in provided.items():
            if kind in rules:
                raise InvalidInput(f"type de comité « {kind} » déclaré par deux plugins")
            rules[kind] = rule
    return rules


def describe(pm: pluggy.PluginManager) -> list[tuple[str, str, list[str]]]:
    """(name, distribution version or module, hooks implemented) for `parcours plugins`."""
    rows = []
    dists = dict(pm.list_plugin_distinfo())
    for name, plugin in sorted(pm.list_name_plugin(), key=lambda x: x[0]):
        dist = dists.get(plugin)
        origin = f"{dist.project_name} {dist.version}" if dist else getattr(plugin, "__name__", "")
        hooks = sorted(h.name for h in pm.get_hookcallers(plugin) or [])
        rows.append((name, origin, hooks))
    return rows
