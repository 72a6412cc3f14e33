"""A network's, a structure's and a pathway's figures match a hand count of a generated data
set (tests/engine/indicator_data.py); small counts are hidden from a network admin but exact
for the structure's director; nobody else reads them; the exports open with the expected
cells."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from engine.cli.app import app as cli
from engine.errors import Forbidden, InvalidInput, NotFound
from engine.services import indicator_exports, indicators
from engine.services.indicator_cells import Cell, Count, Group, decide
from engine.services.indicators import Amount, Indicators, Period, Subject
from engine.services.organisations import add_staff
from engine.services.runtime import Runtime
from tests.conftest import CIP, DIRECTRICE, NETWORK_ADMIN, OTHER_CIP, actor, templated
from tests.engine import indicator_data as data

INAE_ADMIN = "admin@inae.example"


@pytest.fixture
@templated
def rt(db_engine) -> Runtime:
    return data.runtime(db_engine)


@pytest.fixture
def world(sato: Runtime) -> Runtime:
    data.populate(sato)
    with sato.unit_of_work() as s:
        add_staff(s, INAE_ADMIN, "Inès", "Réseau", [("inae", "network_admin")])
    return sato


def figures(rt: Runtime, who: str, kind: str, ref: str, **kw) -> Indicators:
    return indicators.compute(rt, actor(rt, who), Subject(kind, ref), data.PERIOD, **kw)  # type: ignore[arg-type]


def shown(ind: Indicators, table: str, row: str, column: str) -> str:
    return str(ind.table(table).cell(row, column))


STAGE = "Atelier découverte (parcours de test) · "


def test_the_director_reads_her_structure_exactly_as_counted_by_hand(world: Runtime) -> None:
    ind = figures(world, DIRECTRICE, "structure", "sato-interim")
    assert not ind.masked
    assert dict((k, str(v)) for k, v in ind.headline) == {
        "Entrées": "8",
        "En parcours à la fin de la période": "5",
        "Sorties": "4",
        "Taux de sorties dynamiques": "75 %",
        "Badges délivrés": "12",
        "Demandes de badge en attente": "1",
    }
    assert shown(ind, "entrees", "Atelier découverte (parcours de test)", "Entrées") == "8"
    # 2 still in « accueil » and the one who entered in November; 2 in « atelier »
    assert shown(ind, "actifs", STAGE + "Accueil", "Personnes") == "3"
    assert shown(ind, "actifs", STAGE + "Atelier en entreprise", "Personnes") == "2"
    assert shown(ind, "sorties", "Emploi durable", "Sorties") == "2"
    assert shown(ind, "sorties", "Emploi de transition", "Sorties") == "0"
    assert shown(ind, "sorties", "Sortie positive", "Sorties") == "1"
    assert shown(ind, "sorties", "Autre sortie", "Sorties") == "1"
    assert shown(ind, "sorties", "dont sorties dynamiques", "Sorties") == "3"
    assert shown(ind, "sorties_detail", "CDI", "Sorties") == "2"
    assert shown(ind, "sorties_detail", "En recherche d'emploi", "Sorties") == "1"
    stays = ind.table("durees")
    assert [str(v) for v in stays.row(STAGE + "Accueil").values] == ["6", "10,0", "10,0", "10,0"]
    assert [str(v) for v in stays.row(STAGE + "Atelier en entreprise").values][:2] == ["4", "20,0"]
    whole = stays.row("Parcours entier (de l'entrée à la sortie)").values
    assert (str(whole[0]), whole[1]) == ("4", Amount(30.0))
    assert shown(ind, "entonnoir", STAGE + "Atelier en entreprise", "Personnes") == "6"
    assert shown(ind, "entonnoir", STAGE + "Mise en emploi", "Part des entrées") == "50 %"
    assert shown(ind, "badges", "Jeu de piste en entreprises", "Délivrés") == "6"
    assert shown(ind, "badges", "Règles de sécurité en atelier", "Délivrés") == "4"
    assert shown(ind, "badges", "Ponctualité", "Délivrés") == "1"
    assert shown(ind, "demandes", "Accordées", "Nombre") == "2"
    assert shown(ind, "demandes", "Accordées", "Délai médian (jours)") == "3,0"
    assert shown(ind, "demandes", "Refusées", "Délai médian (jours)") == "6,0"
    assert shown(ind, "demandes", "En attente à la fin de la période", "Nombre") == "1"
    # a period that ends before anything happened
    early = indicators.compute(
        world,
        actor(world, DIRECTRICE),
        Subject("structure", "sato-interim"),
        Period(date(2025, 12, 1), date(2025, 12, 31)),
    )
    assert str(dict(early.headline)["Entrées"]) == "0"
    assert str(dict(early.headline)["En parcours à la fin de la période"]) == "1"


def test_the_network_admin_sees_small_counts_hidden_and_totals_that_give_none_away(
    world: Runtime,
) -> None:
    ind = figures(world, NETWORK_ADMIN, "network", "sato")
    assert ind.masked
    # SATO EiTi's 3 entries are « < 5 »; SATO Intérim's 8 are hidden too, or 11 - 8 = 3
    assert shown(ind, "entrees", "SATO EiTi", "Entrées") == "< 5"
    assert shown(ind, "entrees", "SATO Intérim", "Entrées") == "masqué"
    assert shown(ind, "entrees", "Total", "Entrées") == "11"
    assert shown(ind, "sorties", "Total des sorties", "Sorties") == "5"
    assert shown(ind, "sorties", "Emploi durable", "Sorties") == "< 5"
    assert (
        shown(ind, "sorties", "Taux de sorties dynamiques (sur les sorties qualifiées)", "Sorties")
        == "masqué"
    )
    assert shown(ind, "sorties_structures", "SATO EiTi", "Emploi de transition") == "< 5"
    assert shown(ind, "entonnoir", STAGE + "Accueil", "Personnes") == "11"
    assert shown(ind, "entonnoir", STAGE + "Atelier en entreprise", "Personnes") == "8"
    assert shown(ind, "entonnoir", STAGE + "Mise en emploi", "Personnes") == "5"
    stays = ind.table("durees").row(STAGE + "Accueil").values
    assert [str(v) for v in stays] == ["8", "10,0", "8,8", "10,0"]  # 2 × 5 days, 6 × 10 days
    assert shown(ind, "badges", "Total", "Délivrés") == "15"
    assert shown(ind, "badges_structures", "SATO EiTi", "Délivrés") == "< 5"
    # no count from 1 to 4 is shown anywhere, and no table has exactly one hidden cell
    for table in ind.tables:
        for row in table.rows:
            for value in row.values:
                if isinstance(value, Count) and not value.hidden:
                    assert value.value == 0 or value.value >= 5, (table.key, row.label)
    # the same structure read by its director: exact
    eiti = figures(world, DIRECTRICE, "structure", "sato-eiti")
    assert str(dict(eiti.headline)["Entrées"]) == "3"
    assert shown(eiti, "sorties", "Emploi de transition", "Sorties") == "1"
    # ... unless she asks for a document that travels
    travels = figures(world, DIRECTRICE, "structure", "sato-eiti", hide_small=True)
    assert str(dict(travels.headline)["Entrées"]) == "< 5"
    # the network admin on a structure's page is outside it too
    outside = figures(world, NETWORK_ADMIN, "structure", "sato-eiti")
    assert str(dict(outside.headline)["Entrées"]) == "< 5"


def test_a_pathway_is_read_whole_by_the_network_and_by_her_structures_for_a_director(
    world: Runtime,
) -> None:
    admin = figures(world, NETWORK_ADMIN, "pathway", data.PATHWAY)
    assert admin.scope_note == "ce parcours dans toutes les structures du réseau"
    assert shown(admin, "entrees", "Total", "Entrées") == "11"
    director = figures(world, DIRECTRICE, "pathway", data.PATHWAY)
    assert director.scope_note == "ce parcours dans les structures que vous dirigez"
    assert shown(director, "entrees", "SATO EiTi", "Entrées") == "3"
    assert (
        shown(director, "badges", "Total", "Délivrés") == "13"
    )  # the requests' badges: no parcours


def test_nobody_else_reads_the_figures(world: Runtime) -> None:
    refusals = [
        (CIP, "structure", "sato-interim"),  # a CIP, not the director
        (OTHER_CIP, "structure", "sato-interim"),  # another structure's CIP
        (INAE_ADMIN, "structure", "sato-interim"),  # another network's admin
        (INAE_ADMIN, "network", "sato"),
        (INAE_ADMIN, "pathway", data.PATHWAY),
        (DIRECTRICE, "network", "sato"),  # a director does not read the whole network
        (CIP, "pathway", data.PATHWAY),
    ]
    for who, kind, ref in refusals:
        with pytest.raises(Forbidden, match="consulter les indicateurs"):
            figures(world, who, kind, ref)
    with pytest.raises(NotFound):
        figures(world, NETWORK_ADMIN, "network", "inconnu")
    with pytest.raises(InvalidInput, match="le début .* suit la fin"):
        Period.parse("2026-06-30", "2026-01-01")
    with pytest.raises(InvalidInput, match="« au » n'est pas une date"):
        Period.parse(None, "30/06/2026")
    assert Period.parse(None, None, today=date(2026, 3, 31)) == Period(
        date(2025, 4, 1), date(2026, 3, 31)
    )


def test_exports_open_in_a_spreadsheet_with_the_expected_cells(world: Runtime, tmp_path) -> None:
    ind = figures(world, NETWORK_ADMIN, "network", "sato")
    book = load_workbook(io.BytesIO(indicator_exports.to_xlsx(ind)))
    assert book.sheetnames[0] == "Période"
    about = {r[0]: r[1] for r in book["Période"].iter_rows(values_only=True)}
    assert about["Indicateurs"] == "Réseau SATO Brest"
    assert about["Période"] == "du 01/01/2026 au 30/06/2026"
    assert about["Début"].date() == date(2026, 1, 1)
    assert about["Entrées"] == 11
    entries = list(book["Entrées"].iter_rows(values_only=True))
    assert entries == [
        ("Structure", "Entrées"),
        ("SATO EiTi", "< 5"),
        ("SATO Intérim", "masqué"),
        ("Total", 11),
    ]
    exits = {r[0]: r[1:] for r in book["Sorties par structure"].iter_rows(values_only=True)}
    assert exits["Total"][-1] == 5 and exits["SATO EiTi"][1] == "< 5"
    stays = {r[0]: r[1:] for r in book["Durées"].iter_rows(values_only=True)}
    assert stays[STAGE + "Accueil"] == (8, 10.0, 8.8, 10.0)

    raw = indicator_exports.to_csv(ind)
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert ["Indicateurs", "Réseau SATO Brest"] in rows
    at = rows.index(["Entrées dans la période"])
    assert rows[at + 1 : at + 5] == [
        ["Structure", "Entrées"],
        ["SATO EiTi", "< 5"],
        ["SATO Intérim", "masqué"],
        ["Total", "11"],
    ]
    assert [STAGE + "Accueil", "8", "10,0", "8,8", "10,0"] in rows

    # the command line writes the same file, for the director: exact
    out = tmp_path / "interim.xlsx"
    url = str(world.engine.url.render_as_string(hide_password=False))
    result = CliRunner().invoke(
        cli,
        [
            "--db",
            url,
            "indicators",
            "export",
            "structure",
            "sato-interim",
            "--du",
            "2026-01-01",
            "--au",
            "2026-06-30",
            "--by",
            DIRECTRICE,
            "--vers",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    entries = list(load_workbook(out)["Entrées"].iter_rows(values_only=True))
    assert entries[-1] == ("Total", 8)
    shown_text = CliRunner().invoke(
        cli,
        [
            "--db",
            url,
            "indicators",
            "show",
            "reseau",
            "sato",
            "--du",
            "2026-01-01",
            "--au",
            "2026-06-30",
            "--by",
            INAE_ADMIN,
        ],
    )
    assert shown_text.exit_code == 1 and "consulter les indicateurs" in shown_text.output


def test_complementary_hiding_leaves_no_row_or_column_with_one_hidden_cell() -> None:
    # two structures × two categories, with row and column totals; the viewer is outside
    a1, a2, b1, b2 = (Cell(v, frozenset({s})) for v, s in ((2, 1), (9, 1), (7, 2), (8, 2)))
    ra, rb = Cell(11, frozenset({1})), Cell(15, frozenset({2}))
    c1, c2, total = (Cell(v, frozenset({1, 2})) for v in (9, 17, 26))
    groups = [
        Group(ra, [a1, a2]),
        Group(rb, [b1, b2]),
        Group(c1, [a1, b1]),
        Group(c2, [a2, b2]),
        Group(total, [ra, rb]),
        Group(total, [c1, c2]),
    ]
    cells = [a1, a2, b1, b2, ra, rb, c1, c2, total]
    decide(cells, groups, frozenset())
    assert a1.hidden and str(a1.shown()) == "< 5"
    for g in groups:
        assert sum(c.hidden for c in [g.total, *g.parts]) != 1
    assert str(a2.shown()) == "masqué"
    # the director of structure 1 sees its cells; nothing is hidden for the exact viewer
    decide(cells, groups, None)
    assert not any(c.hidden for c in cells)
