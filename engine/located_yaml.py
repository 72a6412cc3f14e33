"""YAML a network writes (pathway and network files), read with the line of every field.

PyYAML's composed node tree keeps line numbers; we index them by path (`stages.1.id`) so both
pydantic's errors and our own checks can point at the line a network must fix, in French.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import yaml
from pydantic import ValidationError

from engine.errors import DefinitionInvalid, Problem

Loc = tuple[str | int, ...]

# French wording for the pydantic errors a network's author meets.
MESSAGES = {
    "missing": "champ obligatoire manquant",
    "extra_forbidden": "champ inconnu",
    "int_parsing": "nombre entier attendu",
    "int_type": "nombre entier attendu",
    "int_from_float": "nombre entier attendu",
    "string_type": "texte attendu",
    "bool_parsing": "oui/non (true/false) attendu",
    "bool_type": "oui/non (true/false) attendu",
    "list_type": "liste attendue",
    "tuple_type": "liste attendue",
    "too_long": "liste trop longue",
    "dict_type": "dictionnaire (clé: valeur) attendu",
    "model_type": "dictionnaire (clé: valeur) attendu",
    "string_pattern_mismatch": "format non reconnu",
    "greater_than_equal": "valeur trop petite",
    "less_than_equal": "valeur trop grande",
    "too_short": "ne doit pas être vide",
    "string_too_short": "ne doit pas être vide",
    "string_too_long": "texte trop long",
    "enum": "valeur non reconnue",
    "literal_error": "valeur non reconnue",
    "url_parsing": "adresse web invalide",
    "value_error": "valeur invalide",
}


def dotted(loc: Iterable[str | int]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _clean_loc(loc: tuple[Any, ...]) -> Loc:
    # pydantic inserts validator names such as 'function-before[...]' into locations.
    return tuple(p for p in loc if isinstance(p, int) or not str(p).startswith("function-"))


def french(err: Any) -> str:
    """One pydantic error, said in French (our own validators already speak it)."""
    if err["type"] == "value_error":
        return str(err.get("ctx", {}).get("error", err["msg"]))
    message = MESSAGES.get(err["type"], err["msg"])
    if err["type"] in ("enum", "literal_error"):
        message += f" ({err.get('ctx', {}).get('expected', '')})"
    return message


@dataclass
class LocatedYaml:
    """A parsed YAML document with the line of each path, and the problems found so far."""

    file: str
    data: Any
    lines: dict[Loc, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def line(self, loc: Loc) -> int | None:
        while loc:
            if loc in self.lines:
                return self.lines[loc]
            loc = loc[:-1]
        return self.lines.get(())

    def add(self, loc: Loc, message: str) -> None:
        self.problems.append(Problem(self.file, self.line(loc), dotted(loc), message))

    def add_validation(self, exc: ValidationError, prefix: Loc = ()) -> None:
        for err in exc.errors():
            self.add((*prefix, *_clean_loc(err["loc"])), french(err))

    def _index(self, node: yaml.Node, loc: Loc) -> None:
        self.lines[loc] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key_node, value_node in node.value:
                key = key_node.value
                if key in seen:
                    self.lines[(*loc, key)] = key_node.start_mark.line + 1
                    self.add((*loc, key), "clé en double")
                seen.add(key)
                self._index(value_node, (*loc, key))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self._index(item, (*loc, i))


Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's loader when PyYAML has it (its wheels do): the same nodes and line marks, about
ten times faster than the pure-Python one on a national catalogue."""

MAX_VALUES = 200_000
"""YAML values a file may hold once its aliases are expanded: a few aliases nested ten deep
(« billion laughs ») are a few hundred bytes that expand to billions of values."""


def _expanded_size(root: yaml.Node) -> int:
    """Values the document holds with its aliases expanded, each shared node counted once per
    use, computed without expanding anything."""
    sizes: dict[int, int] = {}

    def size(node: yaml.Node) -> int:
        if id(node) in sizes:
            return sizes[id(node)]
        sizes[id(node)] = 1  # a node met again below itself (a recursive alias) counts once
        total = 1
        if isinstance(node, yaml.MappingNode):
            total += sum(size(k) + size(v) for k, v in node.value)
        elif isinstance(node, yaml.SequenceNode):
            total += sum(size(item) for item in node.value)
        sizes[id(node)] = total
        return total

    return size(root)


def parse(text: str, file: str, *, expected: str, error: type[DefinitionInvalid]) -> LocatedYaml:
    """Parse `text`; an unreadable file, or one that is not a mapping, raises `error` naming
    the line and what the file should contain (`expected`)."""
    try:
        node = yaml.compose(text, Loader=Loader)
        if node is not None and _expanded_size(node) > MAX_VALUES:
            message = "fichier trop volumineux une fois ses alias (&, *) développés : "
            message += f"{MAX_VALUES} valeurs au plus"
            raise error([Problem(file, None, "", message)])
        data = Loader("").construct_document(node) if node is not None else None
    except RecursionError:
        raise error([Problem(file, None, "", "fichier trop imbriqué pour être lu")]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        reason = getattr(exc, "problem", None) or str(exc)
        raise error([Problem(file, line, "", f"YAML illisible : {reason}")]) from None
    if node is None or not isinstance(data, dict):
        raise error([Problem(file, 1, "", f"le fichier doit décrire {expected}")])
    located = LocatedYaml(file, data)
    located._index(node, ())
    return located
