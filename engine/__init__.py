"""Parcours: a plugin-based workflow engine for Open Badge pathways.

This package is the one door plugins import from (``from engine import hookimpl, GateContext``),
as datasette's and pytest's are; the modules behind it are private and may change. Every module
imports this file first, so it stays light: the names below that pull in pydantic, httpx or the
services are loaded on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.errors import (
    Conflict,
    Forbidden,
    GateRefused,
    InvalidInput,
    NotFound,
    ParcoursError,
)
from engine.hookspecs import GateCheck, hookimpl
from engine.lazy import attach
from engine.roles import Role

if TYPE_CHECKING:
    from engine.committees import CommitteeRule
    from engine.connectors import Connector, DeliveryFailed, IssuedFor, ObfConnector
    from engine.demo_context import DemoContext, RequestOutcome
    from engine.gates import GateContext

__version__ = "0.1.0"

_LAZY = {
    "CommitteeRule": "engine.committees",
    "Connector": "engine.connectors",
    "DeliveryFailed": "engine.connectors",
    "IssuedFor": "engine.connectors",
    "ObfConnector": "engine.connectors",
    "DemoContext": "engine.demo_context",
    "RequestOutcome": "engine.demo_context",
    "GateContext": "engine.gates",
}
"""Public names whose modules are heavy, and where they live."""

__all__ = [
    "CommitteeRule",
    "Conflict",
    "Connector",
    "DeliveryFailed",
    "DemoContext",
    "Forbidden",
    "GateCheck",
    "GateContext",
    "GateRefused",
    "InvalidInput",
    "IssuedFor",
    "NotFound",
    "ObfConnector",
    "ParcoursError",
    "RequestOutcome",
    "Role",
    "__version__",
    "hookimpl",
]


__getattr__, __dir__ = attach(__name__, _LAZY, __all__)
