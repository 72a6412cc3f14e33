"""Pathways: the versioned YAML definitions networks write, their model, loader and diagram."""

from engine.pathways.loader import load_pathway_file, load_pathway_text
from engine.pathways.model import BadgeRequirement, Gate, Pathway, Stage, Transition

__all__ = [
    "BadgeRequirement",
    "Gate",
    "Pathway",
    "Stage",
    "Transition",
    "load_pathway_file",
    "load_pathway_text",
]
