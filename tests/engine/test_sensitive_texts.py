"""Sensitive IAE data stays out of badges (issue 20): a network file whose badge names an
eligibility criterion (RSA, QPV, détention...) or carries a NIR or PASS IAE number is refused
at its line, in French; a badge whose evidence narrative carries a NIR or a PASS IAE number is
not issued, and nothing is written. Common words that only look like a criterion pass."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine.badges import sensitive
from engine.badges.assertions import issue_badges
from engine.errors import InvalidInput, NetworkInvalid
from engine.networks.loader import load_network_text
from engine.services import enrollments as e
from engine.services.runtime import Runtime
from engine.store.tables import Assertion, Evidence
from tests.conftest import CIP, ENCADRANT, T0, actor

NIR = "2 95 10 99 126 111 93"
"""A NIR whose key is right (python-stdnum says so): the shape people type, with spaces."""
PASS_IAE = "99999 24 01234"


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("Réservé aux bénéficiaires du RSA", ["RSA"]),
        ("Habitante d'un quartier prioritaire (QPV)", ["QPV", "quartier prioritaire"]),
        ("Personne sortant de détention", ["détention"]),
        ("Accompagnement des personnes placées sous main de justice", ["sous main de justice"]),
        ("Demandeur d’emploi de très longue durée", ["chômage de longue durée"]),
        ("Allocataire de l'ASS ou de l'AAH", ["ASS", "AAH"]),
        (
            "Bénéficiaire de l'obligation d'emploi",
            ["obligation d'emploi des travailleurs handicapés"],
        ),
        ("Travailleuse handicapée", ["travailleur handicapé"]),
        ("Réside en ZRR", ["ZRR"]),
    ],
)
def test_eligibility_criteria_are_named(text: str, named: list[str]) -> None:
    assert [f.word for f in sensitive.criteria_named(text)] == named


@pytest.mark.parametrize(
    "text",
    [
        "Assiduité et ponctualité",  # « ass » inside a word
        "Une démarche versatile, une bourse aux compétences",  # « rsa » inside words
        "Titulaire et détention du permis B",  # « détention » of a licence
        "Classement des pièces, passage à la caisse",
        "Connaît les règles de sécurité de l'atelier",
        "rsa en minuscules dans une adresse : https://exemple.org/rsa",
    ],
)
def test_ordinary_words_are_not_criteria(text: str) -> None:
    assert sensitive.criteria_named(text) == []


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        (f"NIR {NIR}", ["nir"]),
        ("295109912611193", ["nir"]),
        (f"PASS IAE n° {PASS_IAE}", ["pass_iae"]),
        ("agrément 999992401234", ["pass_iae"]),
        ("SIRET 356 000 000 00048 de l'entreprise", []),
        ("Joignable au 06 12 34 56 78", []),
        ("Le 12/03/2026, 3 heures d'atelier", []),
        ("2 95 10 99 126 111 94", []),  # a wrong key: fifteen digits, not a NIR
    ],
)
def test_nir_and_pass_iae_numbers_are_found(text: str, kinds: list[str]) -> None:
    assert [f.kind for f in sensitive.identifiers_in(text)] == kinds


NETWORK = """\
id: reseau-test
version: 1
name: Réseau de test
url: https://reseau.example
email: contact@reseau.example
badges:
  - id: reseau-test.ok
    name: Ponctualité
    description: Respecte les horaires.
    criteria: Un mois sans retard.
  - id: reseau-test.mal
    name: Premier pas
    description: Badge des bénéficiaires du RSA en parcours.
    criteria: {criteria}
"""


def test_the_network_file_check_refuses_a_criterion_at_its_line() -> None:
    with pytest.raises(NetworkInvalid) as caught:
        load_network_text(NETWORK.format(criteria="Un mois de travail."), "reseau.yaml")
    [problem] = caught.value.problems
    assert (problem.line, problem.field) == (13, "badges[1].description")
    assert "« RSA »" in problem.message and "critère d'éligibilité" in problem.message


def test_the_network_file_check_refuses_a_nir_without_repeating_it() -> None:
    text = NETWORK.format(criteria=f"Inscrit sous le numéro {NIR}.").replace(
        "Badge des bénéficiaires du RSA en parcours.", "Premier mois."
    )
    with pytest.raises(NetworkInvalid) as caught:
        load_network_text(text, "reseau.yaml")
    [problem] = caught.value.problems
    assert (problem.line, problem.field) == (14, "badges[1].criteria")
    assert "NIR" in problem.message and NIR not in problem.message


def test_the_shipped_network_files_name_no_criterion() -> None:
    from pathlib import Path

    from engine.networks.loader import load_network_file

    for path in sorted(Path("networks").glob("*.yaml")):
        load_network_file(path)  # raises NetworkInvalid otherwise


def _count(rt: Runtime, table) -> int:
    with rt.reading() as c:
        return c.execute(select(func.count()).select_from(table)).scalar_one()


@pytest.mark.parametrize(
    "narrative",
    [f"Vu en atelier ; NIR {NIR}", f"PASS IAE {PASS_IAE}, mission réussie"],
)
def test_an_award_whose_narrative_carries_an_identifier_issues_nothing(
    sato: Runtime, narrative: str
) -> None:
    eid = e.enroll(
        sato,
        "sato-femmes-metallurgie",
        "sato-interim",
        e.Participant("Awa", "Diallo", "awa.diallo@example.org"),
        by=actor(sato, CIP),
        now=T0,
    )
    before = (_count(sato, Assertion), _count(sato, Evidence))
    with pytest.raises(InvalidInput, match="preuve \\(récit\\) : un numéro") as caught:
        e.award(
            sato,
            eid,
            "sato.jeu-de-piste",
            by=actor(sato, ENCADRANT),
            narrative=narrative,
            now=T0,
        )
    assert NIR not in str(caught.value) and PASS_IAE not in str(caught.value)
    assert (_count(sato, Assertion), _count(sato, Evidence)) == before
    # the same award without the number goes through
    e.award(sato, eid, "sato.jeu-de-piste", by=actor(sato, ENCADRANT), narrative="Vu en atelier")
    assert _count(sato, Assertion) == before[0] + 1


def test_a_request_s_evidence_is_checked_before_any_badge_is_written(sato: Runtime) -> None:
    """A badge request's narrative and its evidence items reach the assertion as evidence
    entries (`requests._decide`): each is read before the first badge is written."""
    evidence = [
        {"narrative": "Toujours à l'heure."},
        {"name": "fiche-presence", "narrative": f"Fiche du PASS IAE {PASS_IAE}"},
    ]
    with sato.transaction() as conn, pytest.raises(InvalidInput, match="preuve \\(récit\\)"):
        issue_badges(
            conn, {}, ["sato.ponctualite"], 1, None, None, T0, held=None, evidence=evidence
        )
    assert _count(sato, Assertion) == 0
