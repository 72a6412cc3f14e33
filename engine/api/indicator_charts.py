"""The indicators' charts: bar charts drawn on the server with pygal, as SVG pictures that need
no script and no font or file from elsewhere. pygal's SVG carries its own `<style>` (which
the pages' Content-Security-Policy forbids inline) and a script reference (to a CDN, unless
`js=[]`): each chart is therefore an `<img>` whose source is the SVG itself (`data:`, which
the policy allows for pictures), where its styles apply and no script ever runs. The picture
says what it shows in its text alternative; the same figures are in the table beside it,
where screen readers read them. Hidden counts (« < 5 ») are left out of the bars."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass

import pygal
from pygal.style import Style

from engine.services.indicators import Amount, Table

WIDTH = 360
"""The drawing's width: it scales down to a 390 px phone's column, and up to 40 rem."""
STYLE = Style(
    background="#ffffff",
    plot_background="#ffffff",
    foreground="#1a1a1a",
    foreground_strong="#1a1a1a",
    foreground_subtle="#595959",
    colors=("#1d4f91",),
    font_family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
    title_font_size=15,
    label_font_size=11,
    major_label_font_size=11,
    value_font_size=11,
    opacity=".9",
    opacity_hover=".9",
    transition="0ms",
)


_SCRIPT = re.compile(r"<script\b.*?</script>", re.S)
LABEL = 22
"""Characters of a bar's label: the bars keep half the width of a phone."""


@dataclass(frozen=True)
class Chart:
    src: str
    """`data:image/svg+xml;base64,...`"""
    alt: str


def chart(table: Table) -> Chart | None:
    """The bar chart of a table's charted column, or None when it has nothing to draw."""
    if table.chart is None:
        return None
    rows = [r for r in table.rows if not r.total]
    if not rows:
        return None
    values: list[float | None] = []
    for r in rows:
        v = r.values[table.chart]
        number = v.value if isinstance(v, Amount) else getattr(v, "value", None)
        values.append(None if number is None else float(number))
    if not any(v for v in values):
        return None
    column = table.columns[table.chart + 1]
    drawing = pygal.HorizontalBar(
        js=[],
        style=STYLE,
        width=WIDTH,
        height=60 + 34 * len(rows),
        show_legend=False,
        print_values=True,
        print_values_position="top",
        disable_xml_declaration=True,
        truncate_label=-1,
        show_x_labels=False,
        show_y_guides=False,
        show_x_guides=False,
        margin=8,
        margin_right=28,
        value_formatter=_number,
    )
    # pygal draws the first bar at the bottom: reversed, the chart reads as the table does
    drawing.x_labels = _short([r.label for r in rows])[::-1]
    drawing.add(column, values[::-1])
    # pygal still writes its settings for its own script: no script runs in a picture, and
    # nothing of it is needed
    svg = _SCRIPT.sub("", drawing.render(is_unicode=True))
    src = "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()
    hidden = sum(1 for v in values if v is None)
    alt = f"Graphique en barres : {table.title} ({column.lower()})."
    if hidden:
        alt += f" {hidden} valeur(s) masquée(s) n'y figurent pas."
    alt += " Les chiffres sont dans le tableau qui suit."
    return Chart(src, alt)


def _short(labels: list[str]) -> list[str]:
    """Stage labels without the pathway's title they all share (« Parcours · Étape »): the
    bars need the room on a phone."""
    prefixes = {label.rpartition(" · ")[0] for label in labels}
    if len(prefixes) == 1 and "" not in prefixes:
        labels = [label.rpartition(" · ")[2] for label in labels]
    return [label if len(label) <= LABEL else label[: LABEL - 1] + "…" for label in labels]


def _number(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}".replace(".", ",")
