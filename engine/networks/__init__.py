"""Network definitions: what a network declares as data in its network file (itself, its
partners, its badge catalogue, its committee rules, its connectors' settings).

The names below load on first use: importing `engine.networks.model` runs this file first,
and the loader brings the YAML parser and Pillow, which a command reading the database never
needs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.lazy import attach

if TYPE_CHECKING:
    from engine.networks.loader import load_network_file, load_network_text
    from engine.networks.model import NetworkDefinition

_LAZY = {
    "NetworkDefinition": "engine.networks.model",
    "load_network_file": "engine.networks.loader",
    "load_network_text": "engine.networks.loader",
}
"""Public names and the module each lives in."""

__all__ = ["NetworkDefinition", "load_network_file", "load_network_text"]


__getattr__, __dir__ = attach(__name__, _LAZY, __all__)
