"""A network writing a pathway gets every mistake back with its file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import PathwayInvalid
from engine.pathways import load_pathway_text
from engine.services.networks import on_disk
from engine.services.pathways import check_file
from engine.services.runtime import Runtime
from engine.store.database import make_engine

GOOD = """\
id: essai
version: 1
network: sato
title: Essai
initial: a
stages:
  - id: a
    title: A
  - id: b
    title: B
    final: true
transitions:
  - trigger: aller
    source: a
    dest: b
    title: Aller
"""


def problems(text: str, **kw) -> list[str]:
    with pytest.raises(PathwayInvalid) as exc:
        load_pathway_text(text, "workflows/essai.yaml", **kw)
    return [str(p) for p in exc.value.problems]


def test_a_valid_pathway_loads() -> None:
    pathway = load_pathway_text(GOOD)
    assert pathway.stage_ids == ["a", "b"]
    assert pathway.transition("a", "aller").dest == "b"


def test_unknown_field_is_reported_with_its_line() -> None:
    text = GOOD.replace("    title: B\n", "    title: B\n    min_day: 3\n")
    assert problems(text) == ["workflows/essai.yaml:11: [stages[1].min_day] champ inconnu"]


def test_missing_field_points_at_its_parent() -> None:
    text = GOOD.replace("    title: Aller\n", "")
    [problem] = problems(text)
    assert problem.startswith("workflows/essai.yaml:13: [transitions[0].title]")
    assert "champ obligatoire manquant" in problem


def test_transition_to_unknown_stage_and_unreachable_stage() -> None:
    text = GOOD.replace("dest: b", "dest: z")
    found = problems(text)
    assert (
        "workflows/essai.yaml:15: [transitions[0].dest] étape de destination inconnue « z »"
        in found
    )
    assert any("[stages[1].id] étape « b » inaccessible" in p and ":9:" in p for p in found)


def test_duplicate_stage_ids_and_duplicate_keys() -> None:
    text = GOOD.replace("  - id: b\n    title: B\n", "  - id: a\n    title: B\n    title: C\n")
    found = problems(text)
    assert any(":11: [stages[1].title] clé en double" in p for p in found)
    assert any(":9: [stages[1].id] étape « a » définie deux fois" in p for p in found)


def test_dead_end_stage_must_be_final() -> None:
    text = GOOD.replace("    final: true\n", "")
    assert any("étape « b » sans issue" in p for p in problems(text))


def test_unknown_badges_and_checks_are_named() -> None:
    text = GOOD.replace(
        "    title: Aller\n",
        "    title: Aller\n    gate:\n      badges: [sato.inexistant]\n"
        "      checks: [sato.absent]\n",
    )
    found = problems(text, known_badges={"sato.ponctualite"}, known_checks=set())
    assert any(
        ":18: [transitions[0].gate.badges[0].of[0]] badge inconnu « sato.inexistant »" in p
        for p in found
    )
    assert any("vérification « sato.absent » fournie par aucun plugin" in p for p in found)


def test_at_least_cannot_exceed_the_list() -> None:
    text = GOOD.replace(
        "    title: Aller\n",
        "    title: Aller\n    gate:\n      badges:\n"
        "        - of: [sato.a]\n          at_least: 2\n",
    )
    assert any(
        "at_least vaut 2 mais la liste ne contient que 1 badges" in p for p in problems(text)
    )


def test_yaml_syntax_error_names_the_line() -> None:
    [problem] = problems(GOOD.replace("title: Essai", "title: [Essai"))
    assert problem.startswith("workflows/essai.yaml:") and "YAML illisible" in problem


def test_not_a_mapping() -> None:
    [problem] = problems("- juste\n- une liste\n")
    assert "le fichier doit décrire un parcours" in problem


def test_every_shipped_workflow_is_valid() -> None:
    rt = Runtime(make_engine("sqlite://"))
    files = sorted(Path(__file__).parents[2].joinpath("workflows").glob("*.yaml"))
    assert files
    catalogue = {b.id for d in on_disk(rt) for b in d.badges}
    for path in files:
        pathway = check_file(rt, path)
        assert pathway.badge_ids() <= catalogue


def test_one_rule_for_every_identifier_said_exactly() -> None:
    """Networks, pathways, stages and badges follow one rule; a refusal quotes the value and
    states the rule (a hyphenated network was accepted, then refused inside its badge ids)."""
    [problem] = problems(GOOD.replace("network: sato", "network: Centre Val"))
    assert problem.startswith("workflows/essai.yaml:3: [network] « Centre Val » n'est pas un")
    assert "lettres minuscules sans accent, chiffres, « - » et « _ »" in problem
    awarding = GOOD.replace("    title: A\n", "    title: A\n    awards: {on_enter: [BADGE]}\n")
    [problem] = problems(awarding.replace("BADGE", "centre val.ponctualite"))
    assert "[stages[0].awards.on_enter[0]]" in problem
    assert "« centre val.ponctualite » n'est pas un identifiant de badge valide" in problem
    assert "« centre val » doit s'écrire en lettres minuscules" in problem
    [problem] = problems(awarding.replace("BADGE", "ponctualite"))
    assert "il s'écrit « réseau.nom »" in problem
    hyphenated = awarding.replace("BADGE", "centre-val.ponctualite").replace(
        "network: sato", "network: centre-val"
    )
    assert load_pathway_text(hyphenated).network == "centre-val"


def test_an_organisation_identifier_follows_the_same_rule(rt) -> None:
    from sqlalchemy import func, select

    from engine.errors import InvalidInput
    from engine.services.organisations import upsert_organisation
    from engine.store.tables import Organisation

    with rt.reading() as conn:
        before = conn.execute(select(func.count(Organisation.id))).scalar_one()
    refused = pytest.raises(InvalidInput, match="« Mon Réseau » n'est pas un identifiant valide")
    with refused, rt.unit_of_work() as s:
        upsert_organisation(s, "Mon Réseau", "Mon réseau", "network")
    with rt.reading() as conn:
        assert conn.execute(select(func.count(Organisation.id))).scalar_one() == before


def test_a_pathway_of_an_unknown_network_is_refused_with_those_known(tmp_path: Path) -> None:
    rt = Runtime(make_engine("sqlite://"))  # `pathway check`: no base, the network files only
    path = tmp_path / "essai.yaml"
    path.write_text(GOOD.replace("network: sato", "network: satto"), encoding="utf-8")
    with pytest.raises(PathwayInvalid) as refused:
        check_file(rt, path)
    [problem] = refused.value.problems
    assert (problem.line, problem.field) == (3, "network")
    assert problem.message == (
        "réseau inconnu « satto » : publiez d'abord son fichier de réseau "
        "(réseaux connus : centre_val_de_loire, inae, sato)"
    )
    path.write_text(GOOD, encoding="utf-8")
    assert check_file(rt, path).network == "sato"
