"""Badges aligned to the French frameworks (issue 20): a network file's `rome:`, `rncp:` and `rs:`
shorthands become Open Badges alignments (France Travail's job sheet, France compétences' RNCP
and RS pages) with `targetFramework` and `targetCode`, carried by the OB 2.0 BadgeClass and the
OB 3.0 Achievement, which still pass the 1EdTech schema and a third-party verifier; a code in
the wrong shape is refused at its line."""

from __future__ import annotations

import pytest
from openbadgeslib.ob3.verifier import OB3Verifier

from engine.badges.catalogue import BadgeEntry
from engine.errors import NetworkInvalid
from engine.networks.loader import load_network_text
from engine.openbadges import ob3
from engine.services import badge_documents
from engine.services import enrollments as e
from tests.conftest import ENCADRANT, T0, actor
from tests.engine.openbadges.test_openbadgeslib import _download, _pem
from tests.engine.openbadges.test_standards import payload, problems

NETWORK = """\
id: reseau-test
version: 1
name: Réseau de test
url: https://reseau.example
email: contact@reseau.example
badges:
  - id: reseau-test.soudure
    name: Soudure à l'arc
    description: Soude des pièces simples en sécurité.
    criteria: Observation en atelier.
    rome: [H2913]
    rncp:
      - {code: RNCP 37490, name: Titre professionnel soudeur}
    rs: [rs5678]
"""


def test_the_shorthands_become_alignments_with_framework_code_and_page() -> None:
    entry = load_network_text(NETWORK).definition.badges[0]
    got = [a.model_dump(exclude_none=True) for a in entry.alignments]
    assert got == [
        {
            "targetName": "ROME H2913",
            "targetUrl": "https://candidat.francetravail.fr/metierscope/fiche-metier/H2913",
            "targetFramework": "ROME 4.0",
            "targetCode": "H2913",
        },
        {
            "targetName": "Titre professionnel soudeur",
            "targetUrl": "https://www.francecompetences.fr/recherche/rncp/37490/",
            "targetFramework": "RNCP",
            "targetCode": "RNCP37490",
            "targetType": "ceterms:Credential",
        },
        {
            "targetName": "RS5678",
            "targetUrl": "https://www.francecompetences.fr/recherche/rs/5678/",
            "targetFramework": "Répertoire spécifique",
            "targetCode": "RS5678",
            "targetType": "ceterms:Credential",
        },
    ]
    # what is stored and read again does not double them
    again = BadgeEntry.model_validate(entry.model_dump())
    assert again.alignments == entry.alignments


def test_a_shorthand_repeating_a_full_alignment_adds_nothing() -> None:
    entry = BadgeEntry.model_validate(
        {
            "id": "reseau-test.x",
            "name": "X",
            "description": "X",
            "criteria": "X",
            "alignments": [
                {
                    "targetName": "Soudage manuel",
                    "targetUrl": "https://example.org/H2913",
                    "targetFramework": "ROME 4.0",
                    "targetCode": "H2913",
                }
            ],
            "rome": ["H2913"],
        }
    )
    assert [a.targetName for a in entry.alignments] == ["Soudage manuel"]


@pytest.mark.parametrize(
    ("line", "said"),
    [
        ("rome: [H29]", "code ROME « H29 » invalide : « H2913 » attendu"),
        ("rome: [Z1234]", "code ROME « Z1234 » invalide"),
        ("rncp: ['37490']", "code RNCP « 37490 » invalide : « RNCP37490 » attendu"),
        ("rs: [{code: RS12, nom: x}]", "champ inconnu"),
    ],
)
def test_a_wrong_code_is_refused_at_its_line(line: str, said: str) -> None:
    text = NETWORK.partition("    rome:")[0] + f"    {line}\n"
    with pytest.raises(NetworkInvalid) as caught:
        load_network_text(text, "reseau-test.yaml")
    [problem] = caught.value.problems
    assert problem.line == 11, problem
    assert problem.field.startswith(f"badges[0].{line.partition(':')[0]}[0]"), problem
    assert said in problem.message, problem


@pytest.fixture
def aligned(issued):
    """SATO's « Gestes professionnels de base », aligned in sato.yaml to ROME H2909 and
    H2913, awarded by the encadrant technique."""
    aid = e.award(
        issued.rt,
        issued.enrollment,
        "sato.geste-professionnel",
        by=actor(issued.rt, ENCADRANT),
        now=T0,
    )
    return issued, aid


def test_ob2_badge_class_carries_the_alignments(aligned, u) -> None:
    issued, _ = aligned
    doc = issued.client.get(u.badge_class("sato.geste-professionnel").removeprefix(u.base)).json()
    assert [(a["targetFramework"], a["targetCode"]) for a in doc["alignment"]] == [
        ("ROME 4.0", "H2909"),
        ("ROME 4.0", "H2913"),
    ]
    assert doc["alignment"][1] == {
        "targetName": "Soudage manuel",
        "targetUrl": "https://candidat.francetravail.fr/metierscope/fiche-metier/H2913",
        "targetFramework": "ROME 4.0",
        "targetCode": "H2913",
    }


def test_ob3_achievement_carries_them_and_passes_schema_and_verifier(aligned, u) -> None:
    issued, aid = aligned
    claims = payload(issued, u.credential(aid))
    assert problems("ob_v3p0_achievementcredential_schema.json", claims) == []
    alignment = claims["credentialSubject"]["achievement"]["alignment"]
    assert alignment[0] == {
        "type": ["Alignment"],
        "targetName": "Montage-assemblage mécanique",
        "targetUrl": "https://candidat.francetravail.fr/metierscope/fiche-metier/H2909",
        "targetFramework": "ROME 4.0",
        "targetCode": "H2909",
    }
    token = badge_documents.credential_jwt(issued.rt, aid, u)
    credential = OB3Verifier(_pem(issued, u, token)).verify(
        token, check_status=True, download=_download(issued)
    )
    assert credential.achievement.name == "Gestes professionnels de base"
    assert ob3.unverified(token)[1]["credentialSubject"]["achievement"]["alignment"] == alignment
