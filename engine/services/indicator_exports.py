"""The indicators as files for a funder's report (DDETS, the Département): CSV as French Excel
opens it (UTF-8 with a byte-order mark, `;` between fields, one section per table separated
by an empty line) and XLSX (`openpyxl`: a « Période » sheet with the scope, the period and
the generation date, then one sheet per table with its header row; numbers stay numbers, a
hidden count is the text « < 5 » or « masqué »)."""

from __future__ import annotations

import csv
import io
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font

from engine import dates
from engine.services.indicators import Indicators, Table

CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHEET_NAMES = {
    "entrees": "Entrées",
    "actifs": "En parcours",
    "actifs_structures": "En parcours par structure",
    "sorties": "Sorties",
    "sorties_detail": "Sorties détaillées",
    "sorties_structures": "Sorties par structure",
    "durees": "Durées",
    "entonnoir": "Entonnoir",
    "badges": "Badges",
    "badges_structures": "Badges par structure",
    "demandes": "Demandes de badge",
    "comites": "Comités",
}


def filename(ind: Indicators, extension: str) -> str:
    """`indicateurs-<ref>-<start>-<end>.<ext>`: ASCII, what a download saves."""
    return f"indicateurs-{ind.ref}-{ind.period.start}-{ind.period.end}.{extension}"


def _about(ind: Indicators) -> list[tuple[str, Any]]:
    return [
        ("Indicateurs", ind.title),
        ("Périmètre", ind.scope_note),
        ("Période", ind.period.label),
        ("Début", ind.period.start),
        ("Fin", ind.period.end),
        ("Généré le", dates.day_time(ind.generated_at)),
        (
            "Petits effectifs",
            "masqués : « < 5 » pour un effectif de 1 à 4, « masqué » pour un chiffre caché "
            "afin qu'on ne puisse pas le retrouver par différence"
            if ind.masked
            else "non masqués (chiffres exacts)",
        ),
        *((label, _cell(v)) for label, v in ind.headline),
    ]


def _cell(value: Any) -> Any:
    return value.export() if hasattr(value, "export") else value


def _rows(table: Table) -> list[list[Any]]:
    return [[r.label, *(_cell(v) for v in r.values)] for r in table.rows]


def to_csv(ind: Indicators) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    for label, value in _about(ind):
        writer.writerow([label, _csv_value(value)])
    for table in ind.tables:
        writer.writerow([])
        writer.writerow([table.title])
        writer.writerow(table.columns)
        for row in _rows(table):
            writer.writerow([_csv_value(v) for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _csv_value(value: Any) -> str:
    """French Excel reads « 3,5 » as a number, « 3.5 » as text."""
    if isinstance(value, float):
        return f"{value:.1f}".replace(".", ",")
    if value is None:
        return ""
    if hasattr(value, "strftime"):
        return dates.day(value)
    return str(value)


def to_xlsx(ind: Indicators) -> bytes:
    book = Workbook()
    about = book.active
    about.title = "Période"
    for label, value in _about(ind):
        about.append([label, value])
        if hasattr(value, "strftime"):
            about.cell(about.max_row, 2).number_format = "DD/MM/YYYY"
    for cell in about["A"]:
        cell.font = Font(bold=True)
    about.column_dimensions["A"].width = 36
    about.column_dimensions["B"].width = 60
    for table in ind.tables:
        sheet = book.create_sheet(SHEET_NAMES.get(table.key, table.key)[:31])
        sheet.append(list(table.columns))
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in _rows(table):
            sheet.append(row)
        sheet.column_dimensions["A"].width = 48
        sheet.freeze_panes = "B2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
