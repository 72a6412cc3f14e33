"""Pathways: the versioned YAML definitions networks write, their model, loader and diagram.

The model is what every service reads; the loader (and the YAML parser behind it) is loaded
on first use, since reading a published pathway never parses YAML.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.lazy import attach
from engine.pathways.model import BadgeRequirement, Gate, Pathway, Stage, Transition

if TYPE_CHECKING:
    from engine.pathways.loader import load_pathway_file, load_pathway_text

_LAZY = {
    "load_pathway_file": "engine.pathways.loader",
    "load_pathway_text": "engine.pathways.loader",
}
"""Public names whose module is heavy, and where they live."""

__all__ = [
    "BadgeRequirement",
    "Gate",
    "Pathway",
    "Stage",
    "Transition",
    "load_pathway_file",
    "load_pathway_text",
]


__getattr__, __dir__ = attach(__name__, _LAZY, __all__)
