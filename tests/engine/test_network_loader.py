"""A network's staff fix their network file from the check's messages alone: each kind of
mistake is named with its file, line and field, in French, and nothing is published."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select
from typer.testing import CliRunner

from engine.cli.app import app
from engine.errors import InvalidInput, NetworkInvalid
from engine.networks import load_network_file, load_network_text
from engine.services import networks
from engine.services.access import Actor
from engine.services.runtime import Runtime
from engine.store.tables import BadgeClass, NetworkVersion, Organisation

GOOD = """\
id: essai
version: 1
name: Réseau d'essai
url: https://essai.example
email: contact@essai.example
colours: ["#123456", "#abcdef"]
partners:
  - {id: geiq-essai, name: GEIQ d'essai, url: "https://geiq.example", email: g@geiq.example}
committees:
  croise:
    title: Comité croisé
    crossed: true
    quorum: 3
    min_structures: 3
badges:
  - id: essai.ponctualite
    name: Ponctualité
    description: Arrive à l'heure.
    criteria: Un mois sans retard.
  - id: essai.equipe
    name: Travail en équipe
    description: Coopère.
    criteria: Observé par l'encadrant.
    evaluation: {modes: [committee], committees: [croise]}
  - id: essai.savoir-etre
    name: Savoir-être
    description: Les deux.
    criteria: Avoir les deux sous-badges.
    requires: {of: [essai.ponctualite, essai.equipe], at_least: 1}
"""


def problems(text: str, **kw) -> list[str]:
    with pytest.raises(NetworkInvalid) as refused:
        load_network_text(text, "networks/essai.yaml", **kw)
    return [str(p) for p in refused.value.problems]


def test_a_good_file_loads_with_committee_kinds_namespaced() -> None:
    loaded = load_network_text(GOOD, "networks/essai.yaml")
    d = loaded.definition
    assert [b.id for b in d.badges] == ["essai.ponctualite", "essai.equipe", "essai.savoir-etre"]
    assert d.badge("essai.equipe").evaluation.committees == ["essai.croise"]
    assert set(d.committee_rules) == {"essai.croise"}


def test_yaml_syntax_error_names_the_line() -> None:
    [problem] = problems(GOOD.replace("name: Ponctualité", "name: [Ponctualité"))
    assert problem.startswith("networks/essai.yaml:") and "YAML illisible" in problem


def test_not_a_mapping() -> None:
    [problem] = problems("- une\n- liste\n")
    assert problem == (
        "networks/essai.yaml:1: le fichier doit décrire un réseau (dictionnaire avec id, "
        "version, name, badges...)"
    )


def test_unknown_field_is_named_with_its_line_in_french() -> None:
    [problem] = problems(
        GOOD.replace("    criteria: Un mois", "    critere: x\n    criteria: Un mois")
    )
    assert problem == "networks/essai.yaml:19: [badges[0].critere] champ inconnu"


def test_missing_field_and_wrong_type() -> None:
    found = problems(GOOD.replace("version: 1\n", "").replace("quorum: 3", "quorum: trois"))
    assert "networks/essai.yaml:1: [version] champ obligatoire manquant" in found
    assert "networks/essai.yaml:12: [committees.croise.quorum] nombre entier attendu" in found


def test_duplicate_key() -> None:
    found = problems(GOOD.replace("name: Réseau d'essai\n", "name: Réseau d'essai\nname: Bis\n"))
    assert "networks/essai.yaml:4: [name] clé en double" in found


def test_a_badge_id_that_does_not_match_the_network() -> None:
    other = GOOD + "  - {id: sato.soudure, name: S, description: D, criteria: C}\n"
    [problem] = problems(other)
    assert problem.startswith("networks/essai.yaml:30: [badges[3].id] « sato.soudure » : ")
    assert "s'écrivent « essai.nom » (le réseau du fichier est « essai »)" in problem


def test_an_invalid_identifier_states_the_rule() -> None:
    [problem] = problems(GOOD.replace("id: essai\n", "id: Essai Réseau\n"))
    assert problem.startswith("networks/essai.yaml:1: [id] « Essai Réseau » n'est pas un")
    assert "lettres minuscules sans accent" in problem


def test_a_badge_defined_twice() -> None:
    twice = GOOD.replace("id: essai.equipe", "id: essai.ponctualite")
    assert any(
        "[badges[1].id] badge « essai.ponctualite » défini deux fois" in p for p in problems(twice)
    )


def test_a_typo_in_a_sub_badge_list_is_caught_with_a_suggestion() -> None:
    [problem] = problems(GOOD.replace("of: [essai.ponctualite,", "of: [essai.ponctualitee,"))
    assert problem == (
        "networks/essai.yaml:29: [badges[2].requires.of[0]] sous-badge inconnu "
        "« essai.ponctualitee » ; vouliez-vous dire « essai.ponctualite » ?"
    )


def test_sub_badges_cannot_loop() -> None:
    looped = GOOD.replace(
        "    criteria: Un mois sans retard.\n",
        "    criteria: Un mois sans retard.\n    requires: {of: [essai.savoir-etre]}\n",
    )
    assert any("(cycle)" in p and "[badges[0].requires]" in p for p in problems(looped))


def test_at_least_larger_than_the_list() -> None:
    [problem] = problems(GOOD.replace("at_least: 1", "at_least: 3"))
    assert "[badges[2].requires" in problem and "at_least vaut 3" in problem


def test_an_unknown_committee_is_named_with_those_known() -> None:
    [problem] = problems(GOOD.replace("committees: [croise]", "committees: [crosie]"))
    assert problem == (
        "networks/essai.yaml:24: [badges[1].evaluation.committees[0]] comité « essai.crosie » "
        "inconnu (comités connus : essai.croise)"
    )


def test_a_committee_that_could_never_decide() -> None:
    [problem] = problems(GOOD.replace("min_structures: 3", "min_structures: 4"))
    assert problem.startswith("networks/essai.yaml:11: [committees.croise] min_structures (4)")


def test_an_evaluation_mode_that_does_not_exist() -> None:
    [problem] = problems(GOOD.replace("modes: [committee]", "modes: [comite]"))
    assert "[badges[1].evaluation.modes[0]] valeur non reconnue" in problem


def test_a_partner_declared_twice_or_named_like_the_network() -> None:
    contact = 'url: "https://x.example", email: x@x.example'
    twice = GOOD.replace(
        "committees:\n",
        f"  - {{id: geiq-essai, name: Bis, {contact}}}\n  - {{id: essai, name: X, {contact}}}\n"
        "committees:\n",
    )
    found = problems(twice)
    assert any("[partners[1].id] partenaire « geiq-essai » déclaré deux fois" in p for p in found)
    assert any("[partners[2].id] un partenaire ne peut pas porter" in p for p in found)


def test_a_colour_that_is_not_one() -> None:
    [problem] = problems(GOOD.replace('"#abcdef"', '"bleu"'))
    assert "[colours[1]] « bleu » n'est pas une couleur" in problem


def test_a_connector_naming_an_unknown_badge() -> None:
    text = GOOD + (
        "connectors:\n  obf:\n    type: open_badge_factory\n    email_subject: S\n"
        "    email_body: B\n    badges:\n      essai.ponctualit: EX1\n"
    )
    [problem] = problems(text)
    assert "[connectors.obf.badges.essai.ponctualit] badge inconnu « essai.ponctualit »" in problem


def _png(size: int = 8) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (size, size), "red").save(out, "PNG")
    return out.getvalue()


def test_pictures_missing_or_not_png_are_named(tmp_path: Path) -> None:
    (tmp_path / "logo.jpg").write_bytes(b"not a picture")
    text = GOOD.replace("partners:", "logo: logo.jpg\npartners:").replace(
        "    criteria: Un mois sans retard.\n",
        "    criteria: Un mois sans retard.\n    image: absente.png\n",
    )
    (tmp_path / "essai.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(NetworkInvalid) as refused:
        load_network_file(tmp_path / "essai.yaml")
    found = {(p.field, p.line): p.message for p in refused.value.problems}
    assert "illisible" in found[("logo", 7)]
    assert found[("badges[0].image", 21)] == "image « absente.png » introuvable à côté du fichier"


def test_a_picture_outside_the_folder_is_not_read(tmp_path: Path) -> None:
    folder = tmp_path / "networks"
    folder.mkdir()
    (tmp_path / "secret.png").write_bytes(_png())
    (folder / "essai.yaml").write_text(
        GOOD.replace("partners:", "logo: ../secret.png\npartners:"), encoding="utf-8"
    )
    with pytest.raises(NetworkInvalid, match="introuvable à côté du fichier"):
        load_network_file(folder / "essai.yaml")


def test_network_check_prints_french_errors_not_a_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "essai.yaml"
    bad.write_text(GOOD.replace("of: [essai.ponctualite,", "of: [essai.ponctualitee,"), "utf-8")
    good = tmp_path / "bon.yaml"
    good.write_text(GOOD, "utf-8")
    result = CliRunner().invoke(app, ["network", "check", str(bad), str(good)])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert f"{bad}:29: [badges[2].requires.of[0]] sous-badge inconnu" in result.output
    assert f"{good} : réseau « essai » version 1 valide (3 badges, 1 partenaires" in result.output


def test_the_shipped_network_files_are_valid() -> None:
    folder = Path(__file__).parents[2] / "networks"
    ids = {load_network_file(p).definition.id for p in folder.glob("*.yaml")}
    assert ids == {"sato", "inae", "centre_val_de_loire"}


def counts(s) -> tuple[int, ...]:
    return tuple(
        s.execute(select(func.count()).select_from(t)).scalar_one()
        for t in (NetworkVersion, BadgeClass, Organisation)
    )


def test_a_bad_file_publishes_nothing(rt: Runtime, tmp_path: Path) -> None:
    (tmp_path / "essai.yaml").write_text(GOOD, "utf-8")
    (tmp_path / "casse.yaml").write_text(GOOD.replace("id: essai\n", "id: casse\n"), "utf-8")
    check = Runtime(rt.engine, rt.pm, networks=tmp_path)
    with check.unit_of_work() as s:
        before = counts(s)
    with pytest.raises(NetworkInvalid, match="casse.yaml"):
        networks.publish_all(check)
    with check.unit_of_work() as s:
        assert counts(s) == before
        assert (
            s.execute(select(Organisation.id).where(Organisation.slug == "essai")).first() is None
        )


def test_a_published_version_never_changes(rt: Runtime) -> None:
    first = networks.publish(rt, load_network_text(GOOD, "essai.yaml"), by=Actor.system())
    assert first.new and first.badges_created == [
        "essai.ponctualite",
        "essai.equipe",
        "essai.savoir-etre",
    ]
    again = networks.publish(rt, load_network_text(GOOD, "essai.yaml"), by=Actor.system())
    assert not again.new
    changed = GOOD.replace("Un mois sans retard.", "Deux mois sans retard.")
    with pytest.raises(InvalidInput, match="déjà publié avec un autre contenu.*version: 2"):
        networks.publish(rt, load_network_text(changed, "essai.yaml"), by=Actor.system())
    second = networks.publish(
        rt,
        load_network_text(changed.replace("version: 1", "version: 2"), "e.yaml"),
        by=Actor.system(),
    )
    assert second.badges_versioned == ["essai.ponctualite"]
    networks.publish(
        rt,
        load_network_text(changed.replace("version: 1", "version: 5"), "e.yaml"),
        by=Actor.system(),
    )
    with pytest.raises(InvalidInput, match="numérotez la nouvelle version 6"):
        networks.publish(
            rt,
            load_network_text(GOOD.replace("version: 1", "version: 4"), "e.yaml"),
            by=Actor.system(),
        )
