"""A structure's team imports its participants from a spreadsheet: every problem is named by
line and column before anything is written, a file with a bad line writes nothing, and the
same file imported twice creates no one the second time, as CSV or XLSX."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from engine.errors import Forbidden
from engine.services import participant_import as pi
from engine.services.runtime import Runtime
from engine.store.tables import AuditEvent, Enrollment, Person
from tests.conftest import CIP, OTHER_CIP, T0, actor

HEADER = "Prénom;NOM;E-mail;Téléphone;Année de naissance;PASS IAE"
GOOD = [
    "Awa;Diallo;awa.diallo@exemple.org;06 12 34 56 78;1994;99999 23 12345",
    "Yannick;Le Bihan;;;1988;",
    "Inès;Moreau;ines.moreau@exemple.org;;;",
]


def _csv(*lines: str, header: str = HEADER, encoding: str = "utf-8") -> bytes:
    return ("\r\n".join([header, *lines]) + "\r\n").encode(encoding)


def _count(rt: Runtime, model=Person) -> int:
    with rt.reading() as c:
        return c.execute(select(func.count()).select_from(model)).scalar_one()


def _participants(rt: Runtime) -> list[tuple]:
    with rt.reading() as c:
        return c.execute(
            select(
                Person.given_name,
                Person.family_name,
                Person.email,
                Person.phone,
                Person.birth_year,
                Person.pass_iae,
            )
            .where(Person.kind == "participant")
            .order_by(Person.id)
        ).all()


def test_a_file_with_three_bad_lines_writes_nothing_and_names_each(sato: Runtime) -> None:
    cip = actor(sato, CIP)
    before = (_count(sato), _count(sato, AuditEvent))
    content = _csv(
        *GOOD,
        "Sarah;;sarah@exemple;;;",  # line 5: no family name, a broken address
        "Nathalie;Guen;;07 00;2031;12345",  # line 6: a phone, a year, a PASS IAE that are not
        "Awa;Diallo;awa.diallo@exemple.org;;;",  # line 7: Awa again
    )
    with pytest.raises(pi.ImportInvalid) as refused:
        pi.import_participants(sato, "liste.csv", content, structure="sato-interim", by=cip)
    where = [(p.line, p.field) for p in refused.value.problems]
    assert where == [
        (5, "nom"),
        (5, "e-mail"),
        (6, "téléphone"),
        (6, "année de naissance"),
        (6, "PASS IAE"),
        (7, "e-mail"),
    ]
    messages = {(p.line, p.field): p.message for p in refused.value.problems}
    assert messages[(5, "nom")] == "obligatoire"
    assert "12 chiffres" in messages[(6, "PASS IAE")]
    assert "ligne 2" in messages[(7, "e-mail")]
    assert "2031" in messages[(6, "année de naissance")]
    assert str(refused.value).startswith("liste.csv:5: [nom] obligatoire")
    assert (_count(sato), _count(sato, AuditEvent)) == before


def test_the_dry_run_says_what_would_happen_and_writes_nothing(sato: Runtime) -> None:
    cip = actor(sato, CIP)
    before = (_count(sato), _count(sato, AuditEvent))
    report = pi.import_participants(
        sato,
        "liste.csv",
        _csv(*GOOD, "Zoé;;;;;"),
        structure="sato-interim",
        by=cip,
        dry_run=True,
    )
    assert report.dry_run and report.created == 3
    assert [(o.line, o.status) for o in report.lines] == [
        (2, "à créer"),
        (3, "à créer"),
        (4, "à créer"),
    ]
    assert [(p.line, p.field, p.message) for p in report.problems] == [(5, "nom", "obligatoire")]
    assert (_count(sato), _count(sato, AuditEvent)) == before


def test_importing_the_same_file_twice_creates_no_one_the_second_time(sato: Runtime) -> None:
    cip = actor(sato, CIP)
    first = pi.import_participants(
        sato, "liste.csv", _csv(*GOOD), structure="sato-interim", by=cip, now=T0
    )
    assert first.created == 3 and all(o.person_id for o in first.lines)
    assert _participants(sato) == [
        ("Awa", "Diallo", "awa.diallo@exemple.org", "+33612345678", 1994, "999992312345"),
        ("Yannick", "Le Bihan", None, None, 1988, None),
        ("Inès", "Moreau", "ines.moreau@exemple.org", None, None, None),
    ]
    again = pi.import_participants(
        sato, "liste.csv", _csv(*GOOD), structure="sato-interim", by=cip, now=T0
    )
    assert again.created == 0 and again.present == 3
    assert {o.status for o in again.lines} == {"déjà présent"}
    assert [o.person_id for o in again.lines] == [o.person_id for o in first.lines]
    assert len(_participants(sato)) == 3
    # a later file, differently written, recognises them and fills in what was missing
    later = _csv(
        "AWA;diallo;;;;999992312345",  # by PASS IAE
        "Ines;MOREAU;INES.MOREAU@exemple.org;;1990;",  # by e-mail, any case: her birth year
        "yannick;le bihan;;0699887766;1988;",  # by names and birth year: his phone
        header="prenom,nom,email,telephone,annee_naissance,pass_iae".replace(",", ";"),
    )
    report = pi.import_participants(sato, "suite.csv", later, structure="sato-interim", by=cip)
    assert [o.status for o in report.lines] == [
        "déjà présent",
        "déjà présent, complété",
        "déjà présent, complété",
    ]
    rows = _participants(sato)
    assert rows[1][3] == "+33699887766" and rows[2][4] == 1990 and len(rows) == 3
    # one audit event per import, with ids and no name
    with sato.reading() as c:
        details = (
            c.execute(select(AuditEvent.details).where(AuditEvent.kind == "participants_imported"))
            .scalars()
            .all()
        )
    assert len(details) == 3 and len(details[0]["created"]) == 3
    assert "Diallo" not in str(details)


def test_an_xlsx_workbook_and_a_windows_csv_import_alike(sato: Runtime) -> None:
    cip = actor(sato, CIP)
    book = Workbook()
    sheet = book.active
    sheet.append(["prénom", "nom", "année de naissance", "PASS IAE", "remarque"])
    sheet.append(["Awa", "Diallo", 1994, 999992312345, "orientée par France Travail"])
    sheet.append([None, None, None, None, None])
    sheet.append(["Inès", "Moreau", "1890", None, None])
    out = io.BytesIO()
    book.save(out)
    dry = pi.import_participants(
        sato, "liste.xlsx", out.getvalue(), structure="sato-interim", by=cip, dry_run=True
    )
    assert [(p.line, p.field) for p in dry.problems] == [(4, "année de naissance")]
    assert dry.notes == ["colonne(s) ignorée(s) : remarque"]
    sheet.delete_rows(4)
    out = io.BytesIO()
    book.save(out)
    done = pi.import_participants(
        sato, "liste.xlsx", out.getvalue(), structure="sato-interim", by=cip
    )
    assert done.created == 1
    assert _participants(sato)[0][4:] == (1994, "999992312345")
    # Excel's « CSV (séparateur : point-virgule) » in Windows-1252: read, and said so
    windows = _csv("Inès;Moreau;;;;", "Hélène;Kerbrat;;;;", encoding="cp1252")
    report = pi.import_participants(sato, "w.csv", windows, structure="sato-interim", by=cip)
    assert report.created == 2 and "cp1252" in report.notes[0]
    assert [r[0] for r in _participants(sato)] == ["Awa", "Inès", "Hélène"]
    # commas work too
    commas = _csv("Lucas,Martin,,,,", header=HEADER.replace(";", ","))
    assert (
        pi.import_participants(sato, "c.csv", commas, structure="sato-interim", by=cip).created == 1
    )


def test_files_that_are_not_tables_are_refused_clearly(sato: Runtime) -> None:
    cip = actor(sato, CIP)
    before = _count(sato, AuditEvent)
    for name, content, expected in [
        ("photo.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "ni un fichier CSV ni un classeur"),
        ("vide.csv", b"  \r\n", "vide"),
        ("sans-nom.csv", b"prenom;email\r\nAwa;a@exemple.org\r\n", "nom"),
        ("gros.csv", b"prenom;nom\r\n" + b"a;b\r\n" * 2_200_000, "10 Mo"),
        ("faux.xlsx", b"PK\x03\x04 pas un classeur", "illisible"),
    ]:
        with pytest.raises(pi.ImportInvalid) as refused:
            pi.import_participants(sato, name, content, structure="sato-interim", by=cip)
        assert expected in str(refused.value), name
    assert _count(sato, AuditEvent) == before


def test_importing_needs_the_structures_team_and_enrolls_when_asked(sato: Runtime) -> None:
    with pytest.raises(Forbidden):
        pi.import_participants(
            sato,
            "l.csv",
            _csv(*GOOD),
            structure="sato-interim",
            by=actor(sato, OTHER_CIP),
            dry_run=True,
        )
    with pytest.raises(Forbidden):  # refused before the file is even read
        pi.import_participants(
            sato, "l.csv", b"pas un tableau", structure="sato-interim", by=actor(sato, OTHER_CIP)
        )
    cip = actor(sato, CIP)
    content = _csv(
        "Awa;Diallo;awa@exemple.org;sato-femmes-metallurgie",
        "Yannick;Le Bihan;;sato-eiti",
        "Inès;Moreau;;parcours-inconnu",
        header="prenom;nom;email;parcours",
    )
    dry = pi.import_participants(
        sato, "l.csv", content, structure="sato-interim", by=cip, dry_run=True
    )
    assert [(p.line, p.field) for p in dry.problems] == [(4, "parcours")]
    content = content.replace(b";parcours-inconnu", b";")
    done = pi.import_participants(sato, "l.csv", content, structure="sato-interim", by=cip)
    assert done.enrolled == 2
    again = pi.import_participants(sato, "l.csv", content, structure="sato-interim", by=cip)
    assert again.enrolled == 0 and again.created == 0
    assert _count(sato, Enrollment) == 2
    with sato.reading() as c:
        kinds = c.execute(select(AuditEvent.kind).order_by(AuditEvent.id)).scalars().all()
    assert kinds.count("enrolled") == 2 and kinds.count("participants_imported") == 2
