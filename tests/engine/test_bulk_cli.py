"""From the command line: `parcours participants import` tries then imports a file (each
problem named by line and column on stderr, exit 1, nothing written), and `parcours badge
award-group` gives the group its badges after the workshop."""

from __future__ import annotations

from engine.services.runtime import Runtime
from tests.conftest import CIP, ENCADRANT
from tests.engine.test_cli import run

LIST = "prenom;nom;email;annee_naissance\nAwa;Diallo;awa@exemple.org;1994\nYannick;Le Bihan;;1988\n"


def test_import_then_award_the_group_from_the_command_line(
    capsys, sato: Runtime, db_url: str, tmp_path
) -> None:
    db = ["--db", db_url]
    bad = tmp_path / "liste.csv"
    bad.write_text(LIST + "Inès;;;2090\n", encoding="utf-8")
    args = ["participants", "import", str(bad), "--structure", "sato-interim", "--by", CIP]
    code, out, err = run(capsys, *db, *args, "--essai")
    assert code == 1
    assert "liste.csv:4: [nom] obligatoire" in err
    assert "liste.csv:4: [année de naissance]" in err
    assert "Essai : 2 participant(s) à créer" in out and "rien ne sera écrit" in out
    code, out, err = run(capsys, *db, *args)
    assert code == 1 and "liste.csv:4: [nom] obligatoire" in err
    bad.write_text(LIST, encoding="utf-8")
    code, out, err = run(capsys, *db, *args)
    assert code == 0, err
    assert "Import : 2 participant(s) créé(s)" in out
    code, out, err = run(capsys, *db, *args)
    assert code == 0 and "0 participant(s) créé(s), 2 déjà présent(s)" in out
    ids = [line.split("(n° ")[1].split(")")[0] for line in out.splitlines() if "(n° " in line]

    award = ["badge", "award-group", "--badge", "sato.jeu-de-piste", "--structure", "sato-interim"]
    award += [a for i in ids for a in ("-p", i)]
    award += ["--title", "Jeu de piste", "--date", "02/03/2026", "--narrative", "Quatre visites"]
    code, out, err = run(capsys, *db, *award, "--by", ENCADRANT)
    assert code == 0, err
    assert "Jeu de piste en entreprises : 2 badge(s) délivré(s)" in out
    code, out, err = run(capsys, *db, *award, "--by", ENCADRANT)
    assert code == 0 and out.count("laissé de côté : détient déjà ce badge") == 2
    code, out, err = run(
        capsys, *db, *award[:3], "sato.immersion-reussie", *award[4:], "--by", ENCADRANT
    )
    assert code == 1 and "signatures" in err
