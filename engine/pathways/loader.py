"""Load a pathway from YAML and report every problem with its file, line and field.

PyYAML's composed node tree keeps line numbers; we index them by path (`stages.1.id`) so both
pydantic's errors and our own graph checks can point at the line a network must fix.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from engine.errors import PathwayInvalid, Problem
from engine.pathways.model import Pathway

Loc = tuple[str | int, ...]

# French wording for the pydantic errors a pathway author meets.
_MESSAGES = {
    "missing": "champ obligatoire manquant",
    "extra_forbidden": "champ inconnu",
    "int_parsing": "nombre entier attendu",
    "int_type": "nombre entier attendu",
    "string_type": "texte attendu",
    "bool_parsing": "oui/non (true/false) attendu",
    "bool_type": "oui/non (true/false) attendu",
    "list_type": "liste attendue",
    "dict_type": "dictionnaire (clé: valeur) attendu",
    "model_type": "dictionnaire (clé: valeur) attendu",
    "string_pattern_mismatch": "identifiant invalide (minuscules, chiffres, - et _ ; "
    "badges sous la forme reseau.nom)",
    "greater_than_equal": "valeur trop petite",
    "too_short": "ne doit pas être vide",
    "string_too_short": "ne doit pas être vide",
    "enum": "valeur non reconnue",
}


def _index_lines(
    node: yaml.Node, loc: Loc, lines: dict[Loc, int], problems: list[Problem], file: str
) -> None:
    lines[loc] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = key_node.value
            if key in seen:
                problems.append(
                    Problem(
                        file, key_node.start_mark.line + 1, _dotted((*loc, key)), "clé en double"
                    )
                )
            seen.add(key)
            _index_lines(value_node, (*loc, key), lines, problems, file)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _index_lines(item, (*loc, i), lines, problems, file)


def _dotted(loc: Iterable[str | int]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _line_for(loc: Loc, lines: dict[Loc, int]) -> int | None:
    while loc:
        if loc in lines:
            return lines[loc]
        loc = loc[:-1]
    return lines.get(())


def _clean_loc(loc: tuple[Any, ...]) -> Loc:
    # pydantic inserts validator names such as 'function-before[...]' into locations.
    return tuple(p for p in loc if isinstance(p, int) or not str(p).startswith("function-"))


def load_pathway_text(
    text: str,
    file: str = "<texte>",
    *,
    known_badges: set[str] | None = None,
    known_checks: set[str] | None = None,
    known_organisations: set[str] | None = None,
) -> Pathway:
    """Parse, validate and check a pathway; raise PathwayInvalid listing every problem."""
    problems: list[Problem] = []
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        reason = getattr(exc, "problem", None) or str(exc)
        raise PathwayInvalid([Problem(file, line, "", f"YAML illisible : {reason}")]) from None
    if node is None or not isinstance(data, dict):
        raise PathwayInvalid(
            [
                Problem(
                    file,
                    1,
                    "",
                    "le fichier doit décrire un parcours "
                    "(dictionnaire avec id, version, stages...)",
                )
            ]
        )
    lines: dict[Loc, int] = {}
    _index_lines(node, (), lines, problems, file)
    try:
        pathway = Pathway.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            loc = _clean_loc(err["loc"])
            message = _MESSAGES.get(err["type"], err["msg"])
            if err["type"] == "value_error":
                message = str(err["ctx"].get("error", err["msg"]))
            elif err["type"] == "enum":
                message += f" ({err['ctx'].get('expected', '')})"
            problems.append(Problem(file, _line_for(loc, lines), _dotted(loc), message))
        raise PathwayInvalid(problems) from None
    problems += check_pathway(pathway, file, lines, known_badges, known_checks, known_organisations)
    if problems:
        raise PathwayInvalid(problems)
    return pathway


def load_pathway_file(
    path: Path,
    *,
    known_badges: set[str] | None = None,
    known_checks: set[str] | None = None,
    known_organisations: set[str] | None = None,
) -> Pathway:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PathwayInvalid(
            [Problem(str(path), None, "", f"lecture impossible : {exc}")]
        ) from None
    return load_pathway_text(
        text,
        str(path),
        known_badges=known_badges,
        known_checks=known_checks,
        known_organisations=known_organisations,
    )


def check_pathway(
    pathway: Pathway,
    file: str,
    lines: dict[Loc, int] | None = None,
    known_badges: set[str] | None = None,
    known_checks: set[str] | None = None,
    known_organisations: set[str] | None = None,
) -> list[Problem]:
    """Graph and reference checks that a schema cannot express."""
    lines = lines or {}
    problems: list[Problem] = []

    def add(loc: Loc, message: str) -> None:
        problems.append(Problem(file, _line_for(loc, lines), _dotted(loc), message))

    stage_ids = pathway.stage_ids
    counts = Counter(stage_ids)
    for i, stage in enumerate(pathway.stages):
        if counts[stage.id] > 1 and stage_ids.index(stage.id) != i:
            add(("stages", i, "id"), f"étape « {stage.id} » définie deux fois")
    known = set(stage_ids)
    if pathway.initial not in known:
        add(("initial",), f"étape initiale inconnue « {pathway.initial} »")

    seen_pairs: set[tuple[str, str]] = set()
    for i, t in enumerate(pathway.transitions):
        for j, src in enumerate(t.source):
            if src not in known:
                add(
                    ("transitions", i, "source", j)
                    if len(t.source) > 1
                    else ("transitions", i, "source"),
                    f"étape source inconnue « {src} »",
                )
            elif pathway.stage(src).final:
                add(
                    ("transitions", i, "source"),
                    f"l'étape « {src} » est finale : aucune transition ne peut en partir",
                )
            if (src, t.trigger) in seen_pairs:
                add(
                    ("transitions", i, "trigger"),
                    f"déclencheur « {t.trigger} » défini deux fois depuis « {src} »",
                )
            seen_pairs.add((src, t.trigger))
        if t.dest not in known:
            add(("transitions", i, "dest"), f"étape de destination inconnue « {t.dest} »")
        if known_checks is not None:
            for k, check in enumerate(t.gate.checks):
                if check not in known_checks:
                    add(
                        ("transitions", i, "gate", "checks", k),
                        f"vérification « {check} » fournie par aucun plugin chargé",
                    )

    if pathway.initial in known:
        reachable = pathway.reachable()
        for i, stage in enumerate(pathway.stages):
            if stage.id not in reachable:
                add(
                    ("stages", i, "id"),
                    f"étape « {stage.id} » inaccessible : "
                    "aucune transition n'y mène depuis l'étape initiale",
                )
            elif not stage.final and not pathway.transitions_from(stage.id):
                add(
                    ("stages", i, "id"),
                    f"étape « {stage.id} » sans issue : ajoutez une "
                    "transition ou marquez-la final: true",
                )

    if known_organisations is not None:
        for i, stage in enumerate(pathway.stages):
            for k, slug in enumerate(stage.awards.share_with):
                if slug not in known_organisations:
                    add(
                        ("stages", i, "awards", "share_with", k),
                        f"partenaire « {slug} » déclaré par aucun plugin chargé",
                    )
    if known_badges is not None:
        for i, stage in enumerate(pathway.stages):
            for when in ("on_enter", "on_complete"):
                for k, badge in enumerate(getattr(stage.awards, when)):
                    if badge not in known_badges:
                        add(("stages", i, "awards", when, k), f"badge inconnu « {badge} »")
        for i, t in enumerate(pathway.transitions):
            for r, req in enumerate(t.gate.badges):
                for k, badge in enumerate(req.of):
                    if badge not in known_badges:
                        add(
                            ("transitions", i, "gate", "badges", r, "of", k),
                            f"badge inconnu « {badge} »",
                        )
    return problems
