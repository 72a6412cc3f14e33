"""How a person leaves a parcours (issue 20): a final stage declares the IAE exit outcomes it
accepts, the last step records one with its date and, where it applies, the employer, and a
sortie known weeks later is recorded or corrected then, audited. A refused exit writes nothing."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from engine import exits
from engine.errors import Forbidden, InvalidInput, PathwayInvalid
from engine.pathways import load_pathway_file, load_pathway_text
from engine.services import enrollment_views as ev
from engine.services import enrollments as e
from engine.services.pathways import publish
from engine.services.runtime import Runtime
from engine.store.tables import AuditEvent, Enrollment
from tests.conftest import CIP, ENCADRANT, OTHER_CIP, T0, actor

PATHWAY = """\
id: sorties-test
version: 1
network: sato
title: Parcours court (sorties)
initial: accueil
stages:
  - id: accueil
    title: Accueil
  - id: emploi
    title: Mise en emploi
    final: true
    outcomes: [emploi_durable, formation_qualifiante]
  - id: sortie
    title: Sortie anticipée
    final: true
  - id: reorientation
    title: Réorientation vers un autre dispositif
    final: true
    outcomes: []
transitions:
  - {trigger: embaucher, source: accueil, dest: emploi, title: Embauche}
  - {trigger: sortir, source: accueil, dest: sortie, title: Sortir, completes: false}
  - {trigger: reorienter, source: accueil, dest: reorientation, title: Réorienter}
"""

DAY = T0.date()  # 2 March 2026, 10:00 in Paris


@pytest.fixture
def short(sato: Runtime) -> Runtime:
    publish(sato, load_pathway_text(PATHWAY), PATHWAY)
    return sato


def start(rt: Runtime, given: str = "Awa") -> int:
    return e.enroll(
        rt,
        "sorties-test",
        "sato-interim",
        e.Participant(given, "Diallo"),
        by=actor(rt, CIP),
        now=T0,
    )


def row(rt: Runtime, eid: int):
    with rt.reading() as c:
        return c.execute(
            select(
                Enrollment.stage,
                Enrollment.status,
                Enrollment.revision,
                Enrollment.exit_outcome,
                Enrollment.exit_on,
                Enrollment.exit_employer,
            ).where(Enrollment.id == eid)
        ).one()


def events(rt: Runtime, eid: int) -> int:
    with rt.reading() as c:
        return c.execute(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.enrollment_id == eid)
        ).scalar_one()


# --- the pathway file ---------------------------------------------------------------------


def test_category_names_stand_for_their_outcomes_in_the_published_definition() -> None:
    pathway = load_pathway_text(PATHWAY)
    emploi = pathway.stage("emploi")
    assert emploi.outcomes == [
        "cdi",
        "cdd_6_mois_plus",
        "interim_6_mois_plus",
        "creation_entreprise",
        "titularisation",
        "formation_qualifiante",
    ]
    assert emploi.requires_exit and emploi.records_exit
    sortie = pathway.stage("sortie")
    assert sortie.outcomes is None and sortie.records_exit and not sortie.requires_exit
    reorientation = pathway.stage("reorientation")
    assert not reorientation.records_exit and not reorientation.requires_exit
    # what is stored is read back the same (a published version keeps its meaning)
    assert (
        load_pathway_text(PATHWAY).model_dump()
        == type(pathway).model_validate(pathway.model_dump()).model_dump()
    )


def test_an_unknown_outcome_is_located_with_the_nearest_name() -> None:
    text = PATHWAY.replace(
        "outcomes: [emploi_durable, formation_qualifiante]",
        "outcomes:\n      - emploi_durabl\n      - formation_qualifiante\n      - cdd_6_mois",
    )
    with pytest.raises(PathwayInvalid) as refused:
        load_pathway_text(text, "workflows/sorties.yaml")
    assert [str(p) for p in refused.value.problems] == [
        "workflows/sorties.yaml:13: [stages[1].outcomes[0]] sortie inconnue « emploi_durabl » ; "
        "vouliez-vous dire « emploi_durable » ?",
        "workflows/sorties.yaml:15: [stages[1].outcomes[2]] sortie inconnue « cdd_6_mois » ; "
        "vouliez-vous dire « cdd_6_mois_plus » ?",
    ]


def test_only_a_final_stage_declares_outcomes() -> None:
    text = PATHWAY.replace(
        "  - id: accueil\n    title: Accueil\n",
        "  - id: accueil\n    title: Accueil\n    outcomes: [cdi]\n",
    )
    with pytest.raises(PathwayInvalid) as refused:
        load_pathway_text(text, "p.yaml")
    [problem] = refused.value.problems
    assert (problem.line, problem.field) == (9, "stages[0].outcomes")
    assert "n'est pas finale" in problem.message and "final: true" in problem.message


def test_the_shipped_pathways_declare_their_final_stages_outcomes(sato: Runtime) -> None:
    women = load_pathway_file(sato.workflows / "sato-femmes-metallurgie.yaml")
    assert women.stage("professionnalisation").outcomes == ["cdi", "cdd_6_mois_plus"]
    assert women.stage("sortie-anticipee").outcomes is None  # any, when it is known
    eiti = load_pathway_file(sato.workflows / "sato-eiti.yaml")
    assert eiti.stage("autonomie").outcomes == ["creation_entreprise"]


# --- recording with the last step ---------------------------------------------------------


def test_the_last_step_records_the_outcome_date_and_employer(short: Runtime) -> None:
    eid = start(short)
    cip = actor(short, CIP)
    later = T0 + timedelta(days=40)
    e.advance(
        short,
        eid,
        "embaucher",
        by=cip,
        now=later,
        exit=exits.Exit("cdi", DAY + timedelta(days=35), "  Chaudronnerie   de l'Iroise "),
    )
    assert tuple(row(short, eid)) == (
        "emploi",
        "completed",
        2,
        "cdi",
        DAY + timedelta(days=35),
        "Chaudronnerie de l'Iroise",
    )
    st = ev.status(short, eid, by=cip, now=later)
    assert st.exit == exits.RecordedExit(
        "cdi", "CDI", "emploi_durable", "Emploi durable", DAY + timedelta(days=35),
        "Chaudronnerie de l'Iroise",
    )  # fmt: skip
    assert st.exit_recordable and st.exit_outcomes == short_outcomes()
    last = ev.history(short, eid, by=cip)[-1]
    # the history keeps the outcome and its day; the employer's name stays in the row
    assert last.details["exit"] == {"outcome": "cdi", "on": "2026-04-06", "employer": True}
    assert "Chaudronnerie" not in str(last.details)
    assert last.what.endswith("; sortie : CDI (Emploi durable), le 06/04/2026")


def short_outcomes() -> list[str]:
    return load_pathway_text(PATHWAY).stage("emploi").outcomes or []


def test_the_exit_date_defaults_to_today_in_the_networks_time(short: Runtime) -> None:
    eid = start(short)
    late_evening = T0 + timedelta(days=3, hours=13, minutes=30)  # 23:30 in Paris, 22:30 UTC
    e.advance(short, eid, "embaucher", by=actor(short, CIP), now=late_evening,
              exit=exits.Exit("formation_qualifiante", employer="AFPA de Brest"))  # fmt: skip
    assert row(short, eid).exit_on == date(2026, 3, 5)


@pytest.mark.parametrize(
    ("exit", "message"),
    [
        (None, r"sortie : indiquez comment la personne quitte le parcours .*CDI, CDD de 6 mois"),
        (exits.Exit(""), "sortie : indiquez comment"),
        (exits.Exit("recherche_emploi"), "« En recherche d'emploi » n'est pas une sortie prévue"),
        (exits.Exit("cdii"), "sortie inconnue « cdii » ; vouliez-vous dire « cdi » ?"),
        (exits.Exit("emploi_durable"), "« emploi_durable » est une catégorie"),
        (exits.Exit("cdi", DAY + timedelta(days=11)), "date de sortie : le 13/03/2026 est dans"),
        (exits.Exit("cdi", DAY - timedelta(days=1)), "précède l'entrée dans le parcours"),
        (exits.Exit("cdi", employer="claire@client.example"), "employeur : le nom de l'entre"),
        (exits.Exit("cdi", employer="M. Dupont 06 12 34 56 78"), "sans adresse e-mail ni numéro"),
        (exits.Exit("cdi", employer="x" * 201), "employeur : 200 caractères au plus"),
    ],
)
def test_a_refused_exit_writes_nothing(short: Runtime, exit, message: str) -> None:
    eid = start(short)
    before, logged = tuple(row(short, eid)), events(short, eid)
    with pytest.raises(InvalidInput, match=message):
        e.advance(short, eid, "embaucher", by=actor(short, CIP), now=T0 + timedelta(days=10),
                  exit=exit)  # fmt: skip
    assert tuple(row(short, eid)) == before and events(short, eid) == logged


def test_the_employer_only_where_it_applies(short: Runtime) -> None:
    eid = start(short)
    cip = actor(short, CIP)
    with pytest.raises(
        InvalidInput, match="employeur : sans objet pour la sortie « Sans nouvelles"
    ):
        e.advance(short, eid, "sortir", by=cip, now=T0,
                  exit=exits.Exit("sans_nouvelles", employer="Garage Kerbrat"))  # fmt: skip
    assert row(short, eid).status == "active"
    e.advance(short, eid, "sortir", by=cip, now=T0, exit=exits.Exit("sans_nouvelles"))
    assert tuple(row(short, eid))[3:] == ("sans_nouvelles", DAY, None)


def test_a_stage_without_outcomes_takes_any_or_none(short: Runtime) -> None:
    cip = actor(short, CIP)
    unknown, known = start(short, "Awa"), start(short, "Inès")
    e.advance(short, unknown, "sortir", by=cip, now=T0)
    assert tuple(row(short, unknown))[1:] == ("withdrawn", 2, None, None, None)
    assert ev.status(short, unknown, by=cip, now=T0).exit is None
    e.advance(short, known, "sortir", by=cip, now=T0, exit=exits.Exit("autre_siae", DAY, "Régie"))
    assert row(short, known).exit_outcome == "autre_siae"


def test_a_stage_with_no_outcomes_refuses_one(short: Runtime) -> None:
    eid = start(short)
    cip = actor(short, CIP)
    with pytest.raises(InvalidInput, match="sortie : l'étape « Réorientation .* n'enregistre pas"):
        e.advance(short, eid, "reorienter", by=cip, now=T0, exit=exits.Exit("cdi"))
    e.advance(short, eid, "reorienter", by=cip, now=T0)
    assert not ev.status(short, eid, by=cip, now=T0).exit_recordable
    with pytest.raises(InvalidInput, match="n'enregistre pas de sortie"):
        e.record_exit(short, eid, exits.Exit("cdi"), by=cip, now=T0)


def test_a_step_that_does_not_end_the_parcours_records_no_exit(sato: Runtime) -> None:
    eid = e.enroll(sato, "sato-femmes-metallurgie", "sato-interim", e.Participant("Awa", "D"),
                   by=actor(sato, CIP), now=T0)  # fmt: skip
    encadrant = actor(sato, ENCADRANT)
    for badge in ("sato.jeu-de-piste", "sato.securite-atelier"):
        e.award(sato, eid, badge, by=encadrant, now=T0)
    with pytest.raises(InvalidInput, match="sortie : l'étape « Stage d'immersion .* pas la derni"):
        e.advance(sato, eid, "commencer-immersion", by=actor(sato, CIP), now=T0,
                  exit=exits.Exit("cdi"))  # fmt: skip
    assert row(sato, eid).stage == "decouverte"


# --- recording or correcting later --------------------------------------------------------


def test_an_exit_known_weeks_later_is_recorded_then_corrected_with_a_reason(
    short: Runtime,
) -> None:
    eid = start(short)
    cip = actor(short, CIP)
    e.advance(short, eid, "sortir", by=cip, now=T0 + timedelta(days=5), note="Déménagement")
    weeks_later = T0 + timedelta(days=40)
    e.record_exit(short, eid, exits.Exit("formation_qualifiante", DAY + timedelta(days=20),
                  "AFPA de Rennes"), by=cip, now=weeks_later)  # fmt: skip
    assert tuple(row(short, eid))[1:] == (
        "withdrawn", 3, "formation_qualifiante", DAY + timedelta(days=20), "AFPA de Rennes"
    )  # fmt: skip
    # a correction says why
    with pytest.raises(InvalidInput, match="motif : une correction de sortie doit être motivée"):
        e.record_exit(short, eid, exits.Exit("cdd_moins_6_mois", None, "Soudure brestoise"),
                      by=cip, now=weeks_later)  # fmt: skip
    assert row(short, eid).exit_outcome == "formation_qualifiante"
    e.record_exit(short, eid, exits.Exit("cdd_moins_6_mois", DAY + timedelta(days=30),
                  "Soudure brestoise"), by=cip, note="Elle a préféré le contrat",
                  now=weeks_later + timedelta(days=1))  # fmt: skip
    assert row(short, eid).exit_outcome == "cdd_moins_6_mois"
    first, correction = [h for h in ev.history(short, eid, by=cip) if h.kind == exits.EVENT]
    assert (
        first.what
        == "enregistrée : Formation qualifiante ou pré-qualifiante (Sortie positive), le 22/03/2026"
    )
    assert correction.what == (
        "corrigée : CDD de moins de 6 mois (Emploi de transition), le 01/04/2026 (auparavant : "
        "Formation qualifiante ou pré-qualifiante (Sortie positive), le 22/03/2026)"
    )
    assert correction.note == "Elle a préféré le contrat" and correction.actor == "Claire Martin"
    assert "Soudure" not in str(correction.details) and "AFPA" not in str(correction.details)
    # the same again changes nothing
    with pytest.raises(InvalidInput, match="déjà enregistrée telle quelle"):
        e.record_exit(short, eid, exits.Exit("cdd_moins_6_mois", DAY + timedelta(days=30),
                      "Soudure brestoise"), by=cip, note="Encore", now=weeks_later)  # fmt: skip


def test_a_later_exit_follows_the_stage_and_the_dates(short: Runtime) -> None:
    eid = start(short)
    cip = actor(short, CIP)
    e.advance(short, eid, "embaucher", by=cip, now=T0, exit=exits.Exit("titularisation"))
    with pytest.raises(InvalidInput, match="n'est pas une sortie prévue"):
        e.record_exit(short, eid, exits.Exit("sans_nouvelles"), by=cip, note="x", now=T0)
    with pytest.raises(InvalidInput, match="dans le futur"):
        e.record_exit(short, eid, exits.Exit("cdi", DAY + timedelta(days=1)), by=cip, note="x",
                      now=T0)  # fmt: skip
    with pytest.raises(InvalidInput, match="sortie : indiquez"):
        e.record_exit(short, eid, exits.Exit(" "), by=cip, note="x", now=T0)
    assert row(short, eid).exit_outcome == "titularisation" and row(short, eid).revision == 2


def test_a_running_parcours_records_its_exit_with_its_last_step(short: Runtime) -> None:
    eid = start(short)
    with pytest.raises(InvalidInput, match="est en cours ; la sortie s'enregistre avec sa derni"):
        e.record_exit(short, eid, exits.Exit("cdi"), by=actor(short, CIP), now=T0)
    assert events(short, eid) == 1


def test_only_who_may_advance_records_an_exit(short: Runtime) -> None:
    eid = start(short)
    e.advance(short, eid, "sortir", by=actor(short, CIP), now=T0)
    with pytest.raises(Forbidden):
        e.record_exit(short, eid, exits.Exit("cdi"), by=actor(short, OTHER_CIP), now=T0)
    assert row(short, eid).exit_outcome is None and events(short, eid) == 2


# --- the command line ---------------------------------------------------------------------


def _cli(capsys, db_url: str, *argv: str) -> tuple[int, str, str]:
    from engine.cli.app import main

    try:
        main(["--db", db_url, *argv])
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out = capsys.readouterr()
    return code, out.out, out.err


def test_the_command_line_records_and_corrects_an_exit(short: Runtime, db_url: str, capsys) -> None:
    eid = str(start(short))
    code, _, err = _cli(capsys, db_url, "advance", eid, "embaucher", "--by", CIP)
    assert code == 1 and "sortie : indiquez comment la personne quitte le parcours" in err
    code, _, err = _cli(
        capsys, db_url, "advance", eid, "embaucher", "--by", CIP, "--sortie", "cdi",
        "--date-sortie", "2026-02-30",
    )  # fmt: skip
    assert code == 2 and "valeur invalide pour --date-sortie" in err
    code, out, err = _cli(
        capsys, db_url, "advance", eid, "embaucher", "--by", CIP, "--sortie", "cdi",
        "--date-sortie", "15/03/2026", "--employeur", "Chaudronnerie de l'Iroise",
    )  # fmt: skip
    assert code == 0, err
    code, out, _ = _cli(capsys, db_url, "status", eid)
    assert "Sortie : CDI (Emploi durable), le 15/03/2026, Chaudronnerie de l'Iroise" in out
    code, _, err = _cli(
        capsys, db_url, "record-exit", eid, "--by", CIP, "--sortie", "cdd_6_mois_plus"
    )
    assert code == 1 and "motif : une correction de sortie doit être motivée" in err
    code, out, err = _cli(
        capsys, db_url, "record-exit", eid, "--by", CIP, "--sortie", "cdd_6_mois_plus",
        "--date-sortie", "2026-03-15", "--note", "Contrat relu",
    )  # fmt: skip
    assert code == 0, err
    assert "sortie CDD de 6 mois ou plus (Emploi durable), le 15/03/2026" in out
    assert row(short, int(eid)).exit_outcome == "cdd_6_mois_plus"
