"""Parcours: a plugin-based workflow engine for Open Badge pathways."""

__version__ = "0.1.0"
