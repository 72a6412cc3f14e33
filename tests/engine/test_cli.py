"""What a network admin and a CIP type, and what they read back."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PIL import Image

from engine import history
from engine.cli.app import main

WORKFLOWS = Path(__file__).parents[2] / "workflows"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        main(list(argv))
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out = capsys.readouterr()
    return code, out.out, out.err


def test_demo_prints_stages_badges_and_deciders(capsys, tmp_path) -> None:
    code, out, err = run(capsys, "demo", "--path", str(tmp_path / "demo.sqlite"))
    assert code == 0, err
    assert "Awa Diallo — Femmes et métallurgie" in out
    assert "Yannick Le Bihan — EiTi" in out
    assert out.count("parcours terminé") == 2
    assert (
        "Passage d'étape « Entrer en contrat de professionnalisation avec le GEIQ » : Mission "
        "d'intérim et préqualification (SATO Intérim) → Contrat de professionnalisation (GEIQ "
        "industrie) ; sortie : CDI (Emploi durable)" in out
    )
    assert "🏅 J'ai des compétences pour travailler en entreprise" in out
    assert "🏅 EiTi phase 2 : activité structurée" in out
    assert (
        "Décision de comité avis favorable sur « Valider l'autonomie et la sortie de l'EiTi » "
        "— par Hélène Kerbrat" in out
    )
    assert "durée minimale en Stage d'immersion (PMSMP) : 10 jours, 5 écoulés" in out
    assert "INAÉ : la CIP de Pessac ne peut pas voter — conflit d'intérêts" in out
    assert "INAÉ : comité croisé — badge délivré (3 avis favorables, 0 défavorable" in out
    assert "Centre-Val de Loire : Sam Girard obtient « Entretien des espaces verts »" in out
    # Every kind of event the stories leave on a parcours is named in French, here as on the
    # pages: a kind added without its name would show its code to a CIP.
    with sqlite3.connect(tmp_path / "demo.sqlite") as db:
        kinds = {k for (k,) in db.execute("SELECT kind FROM auditevent WHERE enrollment_id > 0")}
    assert {"enrolled", "transition", "exit", "badge_requested"} <= kinds
    assert sorted(kinds - set(history.LABELS)) == []
    code, out, err = run(capsys, "--db", str(tmp_path / "demo.sqlite"), "history", "3")
    assert "Sortie enregistrée : Formation qualifiante ou pré-qualifiante (Sortie positive)" in out
    # Running it again starts from a fresh database rather than failing on duplicates.
    assert run(capsys, "demo", "--path", str(tmp_path / "demo.sqlite"))[0] == 0


def test_console_script_runs_the_demo(tmp_path) -> None:
    done = subprocess.run(
        [str(Path(sys.executable).parent / "parcours"), "demo", "--path", str(tmp_path / "d")],
        capture_output=True,
        text=True,
        cwd=Path(__file__).parents[2],
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "Badges obtenus (11)" in done.stdout


def test_pathway_check_names_file_line_and_field(capsys, tmp_path) -> None:
    bad = tmp_path / "mauvais.yaml"
    text = (WORKFLOWS / "sato-eiti.yaml").read_text(encoding="utf-8")
    bad.write_text(text.replace("    dest: autonomie", "    dest: autonome"), encoding="utf-8")
    code, out, err = run(capsys, "pathway", "check", str(WORKFLOWS / "sato-eiti.yaml"), str(bad))
    assert code == 1
    assert "sato-eiti.yaml : parcours « sato-eiti » version 1 valide" in out
    line = text.splitlines().index("    dest: autonomie") + 1
    assert f"{bad}:{line}: [transitions[2].dest] étape de destination inconnue « autonome »" in err


def test_a_cip_enrolls_and_advances_from_the_command_line(capsys, tmp_path) -> None:
    db = ["--db", str(tmp_path / "p.sqlite")]
    assert run(capsys, *db, "init")[0] == 0
    assert (
        run(
            capsys,
            *db,
            "org",
            "add",
            "sato-interim",
            "--name",
            "SATO Intérim",
            "--structure-kind",
            "ETTI",
            "--network",
            "sato",
        )[0]
        == 0
    )
    assert (
        run(
            capsys,
            *db,
            "staff",
            "add",
            "cip@sato.example",
            "--given-name",
            "Claire",
            "--family-name",
            "Martin",
            "--role",
            "cip@sato-interim",
        )[0]
        == 0
    )
    code, out, _ = run(
        capsys,
        *db,
        "enroll",
        "--pathway",
        "sato-femmes-metallurgie",
        "--structure",
        "sato-interim",
        "--given-name",
        "Awa",
        "--family-name",
        "Diallo",
        "--by",
        "cip@sato.example",
    )
    assert (code, out.strip()) == (0, "parcours n° 1 créé pour Awa Diallo")
    code, _, err = run(
        capsys, *db, "advance", "1", "commencer-immersion", "--by", "cip@sato.example"
    )
    assert code == 1
    assert "Erreur : Passage « commencer-immersion » refusé : pour le badge J'ai découvert" in err
    for badge in ("sato.jeu-de-piste", "sato.metiers-industrie"):
        assert run(capsys, *db, "award", "1", badge, "--by", "cip@sato.example")[0] == 0
    code, out, _ = run(
        capsys,
        *db,
        "advance",
        "1",
        "commencer-immersion",
        "--by",
        "cip@sato.example",
        "--note",
        "PMSMP",
    )
    assert code == 0
    assert "decouverte → immersion" in out and "badge délivré : J'ai découvert l'industrie" in out
    code, out, _ = run(capsys, *db, "status", "1")
    assert "Étape : Stage d'immersion (PMSMP) [immersion]" in out
    assert "✗ pièce justificative manquante : Convention PMSMP" in out
    code, out, _ = run(capsys, *db, "history", "1")
    assert (
        "Passage d'étape « Commencer le stage d'immersion » : Jeu de piste en entreprises → "
        "Stage d'immersion (PMSMP) — par Claire Martin — « PMSMP »" in out
    )


def test_diagram_writes_mermaid_svg_and_png(capsys, tmp_path) -> None:
    code, _, err = run(
        capsys,
        "--db",
        str(tmp_path / "p.sqlite"),
        "pathway",
        "diagram",
        "sato-femmes-metallurgie",
        "--out",
        str(tmp_path),
    )
    assert code == 0, err
    stem = tmp_path / "sato-femmes-metallurgie-v1"
    assert stem.with_suffix(".mmd").read_text().startswith("stateDiagram-v2")
    assert "interim --> professionnalisation" in stem.with_suffix(".mmd").read_text()
    svg = ET.parse(stem.with_suffix(".svg")).getroot()
    texts = {t.text for t in svg.iter("{http://www.w3.org/2000/svg}text")}
    assert "Stage d'immersion (PMSMP)" in texts
    with Image.open(stem.with_suffix(".png")) as png:
        assert png.format == "PNG" and png.width > 800


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["advance", "abc", "x", "--by", "a"], "valeur invalide pour enrollment : nombre entier"),
        (["advance", "1"], "argument obligatoire manquant : trigger"),
        (["pas-une-commande"], "commande inconnue « pas-une-commande »"),
        (
            ["pathway", "migrate", "p", "--to", "2", "--by", "a", "--map", "sans-egal"],
            "attendu ancienne=nouvelle",
        ),
        (
            ["org", "add", "foo", "--name", "Foo", "--kind", "network"],
            "valeur invalide pour --kind : un réseau se déclare dans son fichier de réseau",
        ),
    ],
)
def test_usage_errors_are_in_french(capsys, argv, message) -> None:
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert message in err


def test_plugins_lists_the_three_networks(capsys) -> None:
    code, out, _ = run(capsys, "plugins")
    assert code == 0
    for name in ("sato", "inae", "centre_val_de_loire"):
        assert f"{name}  (parcours" in out
    assert "parcours_gate_checks" in out


def test_badge_bake_unbake_and_verify_from_the_command_line(capsys, tmp_path) -> None:
    db = str(tmp_path / "demo.sqlite")
    assert run(capsys, "demo", "--path", db)[0] == 0
    code, out, err = run(capsys, "--db", db, "badge", "list", "1")
    assert code == 0, err
    first = out.split()[0]
    png = tmp_path / "badge.png"
    code, out, err = run(capsys, "--db", db, "badge", "bake", first, "-o", str(png))
    assert code == 0 and "Badge cuit" in out, err
    code, out, _ = run(capsys, "badge", "unbake", str(png))
    assert code == 0 and f'"id": "http://127.0.0.1:8000/ob/v2/assertions/{first}"' in out
    plain = tmp_path / "plain.png"
    Image.new("RGB", (4, 4)).save(plain)
    code, _, err = run(capsys, "badge", "verify", str(plain))
    assert code == 1 and "ne contient pas de badge" in err
    code, _, err = run(
        capsys, "--db", db, "badge", "bake", "inconnu", "-o", str(tmp_path / "x.png")
    )
    assert code == 1 and "introuvable" in err and not (tmp_path / "x.png").exists()


@pytest.mark.parametrize(
    ("variable", "value"),
    [("PARCOURS_DB_POOL_SIZE", "beaucoup"), ("PARCOURS_SERVE_THREADS", "0")],
)
def test_serve_names_a_bad_number_in_the_environment(
    capsys, monkeypatch, tmp_path, variable, value
) -> None:
    monkeypatch.setenv(variable, value)
    code, _, err = run(capsys, "--db", str(tmp_path / "p.sqlite"), "serve", "--port", "8799")
    assert code == 1
    assert f"{variable} : un nombre entier positif est attendu, pas « {value} »" in err
    assert not (tmp_path / "p.sqlite").exists()  # stopped before touching the database


def test_serve_names_an_unknown_time_zone(capsys, monkeypatch, tmp_path) -> None:
    from engine import dates

    monkeypatch.setenv("PARCOURS_TIMEZONE", "Europe/Brest")
    dates.zone.cache_clear()
    try:
        code, _, err = run(capsys, "--db", str(tmp_path / "p.sqlite"), "serve", "--port", "8799")
    finally:
        dates.zone.cache_clear()
    assert code == 1 and "PARCOURS_TIMEZONE : fuseau horaire inconnu « Europe/Brest »" in err
    assert not (tmp_path / "p.sqlite").exists()


def test_an_api_token_is_listed_then_revoked_from_the_command_line(capsys, tmp_path) -> None:
    from fastapi.testclient import TestClient

    from engine.api.app import create_app
    from engine.services.runtime import Runtime
    from engine.store.database import make_engine

    path = tmp_path / "p.sqlite"
    db = ["--db", str(path)]
    assert run(capsys, *db, "init")[0] == 0
    org = ["org", "add", "aci", "--name", "ACI", "--structure-kind", "ACI"]
    assert run(capsys, *db, *org)[0] == 0
    add = ["staff", "add", "cip@sato.example", "--given-name", "Claire", "--family-name", "M"]
    assert run(capsys, *db, *add, "--role", "cip@aci")[0] == 0
    code, token, err = run(capsys, *db, "staff", "token", "cip@sato.example", "--name", "ERP")
    assert code == 0 and "parcours staff tokens cip@sato.example" in err
    code, out, _ = run(capsys, *db, "staff", "tokens", "cip@sato.example")
    assert code == 0 and out.startswith("1  ERP  créé le ") and out.strip().endswith("actif")

    engine = make_engine(f"sqlite:///{path}")
    client = TestClient(create_app(Runtime(engine)))
    bearer = {"Authorization": f"Bearer {token.strip()}"}
    assert client.get("/api/v1/me", headers=bearer).status_code == 200
    code, out, _ = run(capsys, *db, "staff", "revoke-token", "1")
    assert (code, out.strip()) == (0, "Jeton n° 1 « ERP » révoqué.")
    refused = client.get("/api/v1/me", headers=bearer)
    assert refused.status_code == 401 and "révoqué" in refused.json()["detail"]
    assert "révoqué le " in run(capsys, *db, "staff", "tokens", "cip@sato.example")[1]
    code, _, err = run(capsys, *db, "staff", "revoke-token", "7")
    assert code == 1 and "jeton d'API n° 7 introuvable" in err
    engine.dispose()


def test_the_operator_needs_no_by_but_an_unknown_by_is_named(capsys, tmp_path) -> None:
    db = ["--db", str(tmp_path / "p.sqlite")]
    assert run(capsys, *db, "init")[0] == 0
    # The server's operator reads every delivery: the command line acts as the system.
    code, out, err = run(capsys, *db, "outbox", "list")
    assert (code, out.strip()) == (0, "0 envoi(s)"), err
    code, _, err = run(capsys, *db, "status", "1", "--by", "personne@nulle.part")
    assert code == 1
    assert "Erreur : membre de l'équipe « personne@nulle.part » introuvable" in err
    enroll = ["enroll", "--pathway", "sato-eiti", "--structure", "sato-interim"]
    code, _, err = run(capsys, *db, *enroll, "--given-name", "A", "--family-name", "B", "--by", "9")
    assert code == 1 and "membre de l'équipe « 9 » introuvable" in err
