"""SATO's seed story: the three key badges of « Femmes et métallurgie », each validated by its
sub-badges, and EiTi phase badges shared with ADIE and BGE."""

from __future__ import annotations

from engine.plugins import badge_catalogue, default_plugin_manager, networks


def test_the_three_key_badges_require_their_sub_badges() -> None:
    catalogue = badge_catalogue(default_plugin_manager())
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
    kinds = {n.slug: n.kind for n in networks(default_plugin_manager())}
    assert kinds["sato"] == "network"
    assert {kinds["geiq-industrie"], kinds["adie"], kinds["bge"]} == {"partner"}
