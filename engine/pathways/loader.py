"""Load a pathway from YAML and report every problem with its file, line and field."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from pydantic import ValidationError

from engine.errors import PathwayInvalid, Problem
from engine.located_yaml import Loc, LocatedYaml, parse
from engine.pathways.model import Pathway


def load_pathway_text(
    text: str,
    file: str = "<texte>",
    *,
    known_badges: set[str] | None = None,
    known_checks: set[str] | None = None,
    known_organisations: set[str] | None = None,
    known_networks: set[str] | None = None,
) -> Pathway:
    """Parse, validate and check a pathway; raise PathwayInvalid listing every problem."""
    doc = parse(
        text,
        file,
        expected="un parcours (dictionnaire avec id, version, stages...)",
        error=PathwayInvalid,
    )
    try:
        pathway = Pathway.model_validate(doc.data)
    except ValidationError as exc:
        doc.add_validation(exc)
        raise PathwayInvalid(doc.problems) from None
    check_pathway(pathway, doc, known_badges, known_checks, known_organisations, known_networks)
    if doc.problems:
        raise PathwayInvalid(doc.problems)
    return pathway


def load_pathway_file(
    path: Path,
    *,
    known_badges: set[str] | None = None,
    known_checks: set[str] | None = None,
    known_organisations: set[str] | None = None,
    known_networks: set[str] | None = None,
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
        known_networks=known_networks,
    )


def check_pathway(
    pathway: Pathway,
    doc: LocatedYaml,
    known_badges: set[str] | None = None,
    known_checks: set[str] | None = None,
    known_organisations: set[str] | None = None,
    known_networks: set[str] | None = None,
) -> None:
    """Graph and reference checks that a schema cannot express, added to `doc.problems`."""

    def add(loc: Loc, message: str) -> None:
        doc.add(loc, message)

    if known_networks is not None and pathway.network not in known_networks:
        known = ", ".join(sorted(known_networks)) or "aucun"
        add(
            ("network",),
            f"réseau inconnu « {pathway.network} » : publiez d'abord son fichier de réseau "
            f"(réseaux connus : {known})",
        )
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

    for i, stage in enumerate(pathway.stages):
        if stage.outcomes is not None and not stage.final:
            add(
                ("stages", i, "outcomes"),
                f"l'étape « {stage.id} » n'est pas finale : seule une étape finale "
                "(final: true) déclare les sorties qu'elle accepte",
            )

    if known_organisations is not None:
        for i, stage in enumerate(pathway.stages):
            for k, slug in enumerate(stage.awards.share_with):
                if slug not in known_organisations:
                    add(
                        ("stages", i, "awards", "share_with", k),
                        f"partenaire « {slug} » déclaré par aucun fichier de réseau",
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
