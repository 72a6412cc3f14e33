"""SATO's seed story: the three key badges of « Femmes et métallurgie », each validated by its
sub-badges, and EiTi phase badges shared with ADIE and BGE; the skills the encadrant technique
awards alone; the structure's validation commission that decides the committee gates."""

from __future__ import annotations

from pathlib import Path

from engine.committees import Vote, outcome
from engine.networks import load_network_file
from engine.roles import Role

SATO = load_network_file(Path(__file__).parents[2] / "networks" / "sato.yaml").definition
CATALOGUE = {b.id: b for b in SATO.badges}


def test_the_three_key_badges_require_their_sub_badges() -> None:
    catalogue = CATALOGUE
    keys = {
        "sato.decouvert-industrie": "J'ai découvert l'industrie",
        "sato.projet-industrie-valide": (
            "J'ai validé mon projet dans l'industrie et je poursuis l'aventure"
        ),
        "sato.competences-entreprise": "J'ai des compétences pour travailler en entreprise",
    }
    for badge_id, name in keys.items():
        spec = catalogue[badge_id]
        assert spec.name == name
        assert spec.requires is not None and all(sub in catalogue for sub in spec.requires.of)


def test_sato_declares_its_partners() -> None:
    assert {p.id for p in SATO.partners} == {"geiq-industrie", "adie", "bge"}


def test_the_encadrant_technique_awards_the_skill_badges_alone() -> None:
    catalogue = CATALOGUE
    skills = [
        "sato.jeu-de-piste",
        "sato.securite-atelier",
        "sato.metiers-industrie",
        "sato.ponctualite",
        "sato.travail-equipe",
        "sato.consignes",
        "sato.geste-professionnel",
    ]
    for badge_id in skills:
        assert Role.ENCADRANT in catalogue[badge_id].evaluation.direct, badge_id
    # the key badges are earned on the pathway (or requested), never awarded alone by him
    assert not catalogue["sato.decouvert-industrie"].evaluation.direct


def test_the_validation_commission_is_internal_and_decides_with_two_votes() -> None:
    rule = SATO.committee_rules["sato.validation"]
    assert (rule.crossed, rule.quorum, rule.majority) == (False, 2, "simple")
    assert set(rule.member_roles) == {Role.CIP, Role.ENCADRANT, Role.DIRECTEUR}
    here = 1  # one structure: its own team votes
    assert outcome(rule, [Vote(True, here)]) is None
    assert outcome(rule, [Vote(True, here), Vote(True, here)]) is True
    assert outcome(rule, [Vote(True, here), Vote(False, here)]) is None  # a tie waits
    assert outcome(rule, [Vote(False, here), Vote(False, here)]) is False
