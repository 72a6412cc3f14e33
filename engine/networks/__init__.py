"""Network definitions: what a network declares as data in its network file (itself, its
partners, its badge catalogue, its committee rules, its connectors' settings)."""

from engine.networks.loader import load_network_file, load_network_text
from engine.networks.model import NetworkDefinition

__all__ = ["NetworkDefinition", "load_network_file", "load_network_text"]
