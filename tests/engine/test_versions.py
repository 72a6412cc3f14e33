"""Enrollments stay on the pathway version they started on; migrating them is explicit."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import Forbidden, InvalidInput
from engine.pathways import load_pathway_text
from engine.services import enrollment_views as ev
from engine.services import enrollments as e
from engine.services.pathways import migrate, publish
from engine.services.runtime import Runtime
from tests.conftest import CIP, NETWORK_ADMIN, T0, actor

WORKFLOWS = Path(__file__).parents[2] / "workflows"
V1 = (WORKFLOWS / "sato-femmes-metallurgie.yaml").read_text(encoding="utf-8")
# Version 2 merges discovery into a new "orientation" stage.
V2 = (
    V1.replace("version: 1", "version: 2")
    .replace("initial: decouverte", "initial: orientation")
    .replace(
        "  - id: decouverte\n    title: Jeu de piste en entreprises",
        "  - id: orientation\n    title: Orientation et jeu de piste",
    )
    .replace("source: decouverte", "source: orientation")
    .replace(
        "source: [decouverte, immersion, interim]", "source: [orientation, immersion, interim]"
    )
)


def publish_text(rt: Runtime, text: str):
    return publish(rt, load_pathway_text(text), text)


def test_republishing_identical_content_is_a_no_op(sato: Runtime) -> None:
    row, created = publish_text(sato, V1)
    assert (row.version, created) == (1, False)


def test_changing_a_published_version_requires_a_new_number(sato: Runtime) -> None:
    with pytest.raises(InvalidInput, match="incrémentez « version »"):
        publish_text(sato, V1.replace("title: Femmes et métallurgie", "title: Autre titre"))


def test_enrollments_stay_pinned_and_new_ones_take_the_newest(sato: Runtime) -> None:
    old = e.enroll(
        sato,
        "sato-femmes-metallurgie",
        "sato-interim",
        e.Participant("Awa", "Diallo"),
        by=actor(sato, CIP),
        now=T0,
    )
    publish_text(sato, V2)
    new = e.enroll(
        sato,
        "sato-femmes-metallurgie",
        "sato-interim",
        e.Participant("Léa", "Morin"),
        by=actor(sato, CIP),
        now=T0,
    )
    cip = actor(sato, CIP)
    old_st, new_st = ev.status(sato, old, by=cip), ev.status(sato, new, by=cip)
    assert (old_st.version, old_st.stage) == (1, "decouverte")
    assert (new_st.version, new_st.stage) == (2, "orientation")


def test_migration_refuses_stages_that_no_longer_exist_unless_mapped(sato: Runtime) -> None:
    eid = e.enroll(
        sato,
        "sato-femmes-metallurgie",
        "sato-interim",
        e.Participant("Awa", "Diallo"),
        by=actor(sato, CIP),
        now=T0,
    )
    publish_text(sato, V2)
    with pytest.raises(InvalidInput, match="« decouverte » \\(1 parcours\\)"):
        migrate(sato, "sato-femmes-metallurgie", 2, {}, by=actor(sato, NETWORK_ADMIN))
    assert ev.status(sato, eid, by=actor(sato, CIP)).version == 1
    with pytest.raises(InvalidInput, match="l'étape « nulle-part » n'existe pas"):
        migrate(
            sato,
            "sato-femmes-metallurgie",
            2,
            {"decouverte": "nulle-part"},
            by=actor(sato, NETWORK_ADMIN),
        )

    report = migrate(
        sato,
        "sato-femmes-metallurgie",
        2,
        {"decouverte": "orientation"},
        by=actor(sato, NETWORK_ADMIN),
        note="Fusion découverte/orientation",
    )
    assert (report.moved, report.by_stage) == (1, {"decouverte": "orientation"})
    st = ev.status(sato, eid, by=actor(sato, CIP))
    assert (st.version, st.stage, st.revision) == (2, "orientation", 2)
    last = ev.history(sato, eid, by=actor(sato, CIP))[-1]
    assert (last.kind, last.from_stage, last.to_stage, last.actor, last.note) == (
        "migration",
        "decouverte",
        "orientation",
        "Anne Réseau",
        "Fusion découverte/orientation",
    )
    assert e.advance(sato, eid, "sortir", by=actor(sato, CIP)).to_stage == "sortie-anticipee"


def test_only_a_network_admin_may_migrate(sato: Runtime) -> None:
    publish_text(sato, V2)
    with pytest.raises(Forbidden, match="administrateur du réseau"):
        migrate(sato, "sato-femmes-metallurgie", 2, {}, by=actor(sato, CIP))


def test_finished_enrollments_are_left_alone(sato: Runtime) -> None:
    eid = e.enroll(
        sato,
        "sato-femmes-metallurgie",
        "sato-interim",
        e.Participant("Awa", "Diallo"),
        by=actor(sato, CIP),
        now=T0,
    )
    e.advance(sato, eid, "sortir", by=actor(sato, CIP))
    publish_text(sato, V2)
    assert migrate(sato, "sato-femmes-metallurgie", 2, {}, by=actor(sato, NETWORK_ADMIN)).moved == 0
    assert ev.status(sato, eid, by=actor(sato, CIP)).version == 1
