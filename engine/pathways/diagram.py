"""Pictures of a pathway: Mermaid text for docs, SVG and PNG a person opens directly.

SVG and PNG share one layered layout (stages ranked by longest path from the initial stage),
drawn with the standard library and Pillow, so a fresh machine needs no Graphviz install.
"""

from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass
from xml.etree import ElementTree as ET

from PIL import Image, ImageDraw, ImageFont

from engine import exits
from engine.pathways.model import Pathway, Stage

BOX_W, BOX_H, GAP_X, GAP_Y, MARGIN = 230, 64, 170, 40, 30
SVG_NS = "http://www.w3.org/2000/svg"
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def mermaid(pathway: Pathway) -> str:
    lines = ["stateDiagram-v2", f"    %% {pathway.title} (version {pathway.version})"]
    for stage in pathway.stages:
        lines.append(f'    state "{stage.title}" as {_mid(stage.id)}')
    lines.append(f"    [*] --> {_mid(pathway.initial)}")
    for t in pathway.transitions:
        for src in t.source:
            lines.append(f"    {_mid(src)} --> {_mid(t.dest)} : {t.title}")
    for stage in pathway.stages:
        if stage.final:
            lines.append(f"    {_mid(stage.id)} --> [*]")
        if stage.outcomes:
            lines.append(f"    note right of {_mid(stage.id)} : {_outcomes(stage)}")
    return "\n".join(lines) + "\n"


def _mid(stage_id: str) -> str:
    return stage_id.replace("-", "_")


def _outcomes(stage: Stage) -> str:
    """« sorties : CDI, CDD de 6 mois ou plus »: what a final stage records."""
    return "sorties : " + ", ".join(exits.OUTCOMES[c].label for c in stage.outcomes or [])


def _stage_name(stage: Stage) -> str:
    """A stage box's accessible name: its title, and the outcomes a final stage records."""
    return f"{stage.title} — {_outcomes(stage)}" if stage.outcomes else stage.title


@dataclass(frozen=True)
class _Edge:
    label: str
    points: list[tuple[int, int]]
    label_at: tuple[int, int]


@dataclass(frozen=True)
class _Box:
    x: int
    y: int

    @property
    def right(self) -> tuple[int, int]:
        return self.x + BOX_W, self.y + BOX_H // 2

    @property
    def left(self) -> tuple[int, int]:
        return self.x, self.y + BOX_H // 2


def _ranks(pathway: Pathway) -> dict[str, int]:
    """Each stage's column: its longest path from the initial stage."""
    rank = {s.id: 0 for s in pathway.stages}
    edges = [
        (src, t.dest)
        for t in pathway.transitions
        for src in t.source
        if src in rank and t.dest in rank
    ]
    # Longest-path ranking; bounded passes keep cycles (loops back) from running forever.
    for _ in range(len(rank)):
        changed = False
        for src, dest in edges:
            if dest != pathway.initial and rank[dest] < rank[src] + 1 <= len(rank):
                rank[dest] = rank[src] + 1
                changed = True
        if not changed:
            break
    return rank


def _layout(pathway: Pathway) -> tuple[dict[str, _Box], int, int]:
    rank = _ranks(pathway)
    columns: dict[int, list[str]] = {}
    for stage in pathway.stages:
        columns.setdefault(rank[stage.id], []).append(stage.id)
    boxes = {}
    for col, ids in columns.items():
        for row, stage_id in enumerate(ids):
            boxes[stage_id] = _Box(
                MARGIN + col * (BOX_W + GAP_X), MARGIN + 30 + row * (BOX_H + GAP_Y)
            )
    width = MARGIN * 2 + (max(columns) + 1) * (BOX_W + GAP_X) - GAP_X
    height = MARGIN * 2 + 30 + max(len(v) for v in columns.values()) * (BOX_H + GAP_Y)
    return boxes, width, height


def _short(label: str, width: int = 30) -> str:
    return label if len(label) <= width else label[: width - 1] + "…"


def _wrap(text: str, width: int = 28) -> list[str]:
    lines, current = [], ""
    for word in text.split():
        if current and len(current) + 1 + len(word) > width:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}".strip()
    return ([*lines, current] if current else lines)[:3]


def _edges(pathway: Pathway, boxes: dict[str, _Box]) -> list[_Edge]:
    """Adjacent columns: a straight arrow. Longer or backward edges run along their own lane
    under the stages, so they never cross a box; edges sharing a destination share a lane."""
    bottom = max(b.y for b in boxes.values()) + BOX_H
    lanes: dict[str, int] = {}
    edges = []
    for t in pathway.transitions:
        for src in t.source:
            a, b = boxes[src], boxes[t.dest]
            if b.x - a.x == BOX_W + GAP_X and b.y == a.y:
                edges.append(_Edge(t.title, [a.right, b.left], (a.right[0] + 6, a.right[1] - 8)))
                continue
            lane = bottom + 24 + 22 * lanes.setdefault(t.dest, len(lanes))
            ax, bx = a.x + BOX_W // 2 + 20 * (len(edges) % 3), b.x + BOX_W // 2
            points = [(ax, a.y + BOX_H), (ax, lane), (bx, lane), (bx, b.y + BOX_H)]
            if b.x > a.x and b.y > a.y + BOX_H and a.x + BOX_W + GAP_X == b.x:
                points = [a.right, b.left]
            edges.append(_Edge(t.title, points, (min(ax, bx) + 8, lane - 5)))
    return edges


def _height(boxes: dict[str, _Box], pathway: Pathway, base: int) -> int:
    lanes = len({t.dest for t in pathway.transitions})
    return base + 30 + 22 * lanes


def _canvas(pathway: Pathway, width: int, height: int, marker_id: str) -> ET.Element:
    """The white SVG page both drawings start from, with its arrowhead (an id of its own per
    drawing: both may sit on one page)."""
    root = ET.Element(
        "svg",
        {
            "xmlns": SVG_NS,
            "width": str(width),
            "height": str(height),
            "viewBox": f"0 0 {width} {height}",
            "font-family": "DejaVu Sans, Arial, sans-serif",
            "role": "img",
            "aria-label": _xml_text(pathway.title),
        },
    )
    marker = ET.SubElement(
        ET.SubElement(root, "defs"),
        "marker",
        {
            "id": marker_id,
            "viewBox": "0 0 10 10",
            "refX": "10",
            "refY": "5",
            "markerWidth": "8",
            "markerHeight": "8",
            "orient": "auto-start-reverse",
        },
    )
    ET.SubElement(marker, "path", {"d": "M 0 0 L 10 5 L 0 10 z", "fill": "#444"})
    ET.SubElement(root, "rect", {"width": str(width), "height": str(height), "fill": "white"})
    return root


def svg(pathway: Pathway) -> str:
    """The pathway as an SVG document, built as an element tree so every title is escaped by
    the XML serializer, in text and in attributes alike: the picture is served on its own and
    inlined in the pathway page, and a title is text a network wrote, never markup."""
    boxes, width, height = _layout(pathway)
    height = _height(boxes, pathway, height)
    root = _canvas(pathway, width, height, "arrow")
    _text(
        root,
        f"{pathway.title} — version {pathway.version}",
        x=MARGIN,
        y=MARGIN + 6,
        **{"font-size": "18", "font-weight": "bold"},
    )
    for edge in _edges(pathway, boxes):
        line = ET.SubElement(
            root,
            "polyline",
            {
                "points": " ".join(f"{x},{y}" for x, y in edge.points),
                "fill": "none",
                "stroke": "#444",
                "stroke-width": "1.5",
                "marker-end": "url(#arrow)",
            },
        )
        ET.SubElement(line, "title").text = _xml_text(edge.label)
        _text(
            root,
            _short(edge.label),
            x=edge.label_at[0],
            y=edge.label_at[1],
            **{"font-size": "11", "fill": "#333"},
        )
    for stage in pathway.stages:
        box = boxes[stage.id]
        group = ET.SubElement(root, "g")
        ET.SubElement(group, "title").text = _xml_text(_stage_name(stage))
        ET.SubElement(
            group,
            "rect",
            {
                "x": str(box.x),
                "y": str(box.y),
                "width": str(BOX_W),
                "height": str(BOX_H),
                "rx": "10",
                "fill": "#e8f1e4" if stage.final else "#eef3fb",
                "stroke": "#1d4e89",
                "stroke-width": "3" if stage.id == pathway.initial else "1.5",
            },
        )
        if stage.final:
            ET.SubElement(
                group,
                "rect",
                {
                    "x": str(box.x + 4),
                    "y": str(box.y + 4),
                    "width": str(BOX_W - 8),
                    "height": str(BOX_H - 8),
                    "rx": "8",
                    "fill": "none",
                    "stroke": "#1d4e89",
                },
            )
        lines = _wrap(stage.title)
        for i, line_text in enumerate(lines):
            y = box.y + BOX_H // 2 + (i - (len(lines) - 1) / 2) * 16 + 5
            _text(
                group,
                line_text,
                x=box.x + BOX_W // 2,
                y=f"{y:.0f}",
                **{"font-size": "13", "text-anchor": "middle"},
            )
    ET.indent(root, space="")
    return ET.tostring(root, encoding="unicode") + "\n"


def _text(parent: ET.Element, content: str, x: int | str, y: int | str, **attrs: str) -> None:
    ET.SubElement(parent, "text", {"x": str(x), "y": str(y), **attrs}).text = _xml_text(content)


def _xml_text(text: str) -> str:
    """XML 1.0 has no way to write most control characters, even escaped: they become U+FFFD
    so a stray one in a title cannot make the whole picture unreadable."""
    return _NOT_XML.sub("\ufffd", text)


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for name in ("DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"):
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    return ImageFont.load_default(size=size)


def png(pathway: Pathway) -> bytes:
    boxes, width, height = _layout(pathway)
    height = _height(boxes, pathway, height)
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    title_font, font = _font(18), _font(13)
    draw.text(
        (MARGIN, MARGIN - 10),
        f"{pathway.title} — version {pathway.version}",
        fill="black",
        font=title_font,
    )
    for edge in _edges(pathway, boxes):
        draw.line(edge.points, fill="#444444", width=2)
        draw.text(edge.label_at, _short(edge.label), fill="#333333", font=_font(11), anchor="ls")
        (x1, y1), (x2, y2) = edge.points[-2:]
        angle = math.atan2(y2 - y1, x2 - x1)
        head = [(x2, y2)] + [
            (x2 - 10 * math.cos(angle + d), y2 - 10 * math.sin(angle + d)) for d in (0.4, -0.4)
        ]
        draw.polygon(head, fill="#444444")
    for stage in pathway.stages:
        box = boxes[stage.id]
        fill = "#e8f1e4" if stage.final else "#eef3fb"
        draw.rounded_rectangle(
            [box.x, box.y, box.x + BOX_W, box.y + BOX_H],
            radius=10,
            fill=fill,
            outline="#1d4e89",
            width=3 if stage.id == pathway.initial else 2,
        )
        if stage.final:
            draw.rounded_rectangle(
                [box.x + 4, box.y + 4, box.x + BOX_W - 4, box.y + BOX_H - 4],
                radius=8,
                outline="#1d4e89",
                width=1,
            )
        lines = _wrap(stage.title)
        for i, line in enumerate(lines):
            y = box.y + BOX_H // 2 + (i - (len(lines) - 1) / 2) * 16
            draw.text((box.x + BOX_W // 2, y), line, fill="black", font=font, anchor="mm")
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


# The phone-sized picture: stages stacked top to bottom, as wide as a 390 px screen allows,
# so its 13 px labels stay 13 px (the wide one would shrink to a quarter of that).
NARROW_W, NARROW_BOX_W, NARROW_BOX_H, NARROW_X = 360, 250, 60, 10


def svg_narrow(pathway: Pathway) -> str:
    """The pathway for a phone: stages in a column by rank; a step to the stage right below is
    a straight arrow labelled beside it, any other runs along a lane on the right, its label
    under the stage it leaves. Escaped as `svg` is."""
    rank = _ranks(pathway)
    order = sorted(pathway.stages, key=lambda st: rank[st.id])
    position = {st.id: i for i, st in enumerate(order)}
    lane_of: dict[str, int] = {}
    labels: dict[str, list[tuple[str, bool]]] = {st.id: [] for st in order}
    for t in pathway.transitions:
        for src in t.source:
            straight = position[t.dest] == position[src] + 1
            labels[src].extend((line, straight) for line in _wrap(t.title, 32)[:2])
            if not straight:
                lane_of.setdefault(t.dest, len(lane_of))
    title_lines = _wrap(f"{pathway.title} — version {pathway.version}", 34)
    top = MARGIN + 20 * len(title_lines)
    tops: dict[str, int] = {}
    y = top
    for st in order:
        tops[st.id] = y
        y += NARROW_BOX_H + 22 + 15 * max(1, len(labels[st.id]))
    height = y
    root = _canvas(pathway, NARROW_W, height, "arrow-narrow")
    for i, line_text in enumerate(title_lines):
        _text(
            root,
            line_text,
            x=NARROW_X,
            y=MARGIN + 20 * i,
            **{"font-size": "16", "font-weight": "bold"},
        )
    right = NARROW_X + NARROW_BOX_W
    for st in order:
        box_top = tops[st.id]
        line_y = box_top + NARROW_BOX_H + 16
        for t in pathway.transitions:
            if st.id not in t.source:
                continue
            dest_top = tops[t.dest]
            if position[t.dest] == position[st.id] + 1:
                x = NARROW_X + 30
                points = [(x, box_top + NARROW_BOX_H), (x, dest_top)]
                label = (x + 8, "start")
            else:
                lane = right + 14 + 16 * lane_of[t.dest]
                out_y = box_top + NARROW_BOX_H // 2
                in_y = dest_top + NARROW_BOX_H // 2 + 6
                points = [(right, out_y), (lane, out_y), (lane, in_y), (right, in_y)]
                label = (lane - 6, "end")
            edge = ET.SubElement(
                root,
                "polyline",
                {
                    "points": " ".join(f"{px},{py}" for px, py in points),
                    "fill": "none",
                    "stroke": "#444",
                    "stroke-width": "1.5",
                    "marker-end": "url(#arrow-narrow)",
                },
            )
            ET.SubElement(edge, "title").text = _xml_text(t.title)
            for line_text in _wrap(t.title, 32)[:2]:
                _text(
                    root,
                    line_text,
                    x=label[0],
                    y=line_y,
                    **{"font-size": "12", "fill": "#222", "text-anchor": label[1]},
                )
                line_y += 15
        group = ET.SubElement(root, "g")
        ET.SubElement(group, "title").text = _xml_text(_stage_name(st))
        ET.SubElement(
            group,
            "rect",
            {
                "x": str(NARROW_X),
                "y": str(box_top),
                "width": str(NARROW_BOX_W),
                "height": str(NARROW_BOX_H),
                "rx": "10",
                "fill": "#e8f1e4" if st.final else "#eef3fb",
                "stroke": "#1d4e89",
                "stroke-width": "3" if st.id == pathway.initial else "1.5",
            },
        )
        lines = _wrap(st.title, 30)
        for i, line_text in enumerate(lines):
            ty = box_top + NARROW_BOX_H // 2 + (i - (len(lines) - 1) / 2) * 16 + 5
            _text(
                group,
                line_text,
                x=NARROW_X + NARROW_BOX_W // 2,
                y=f"{ty:.0f}",
                **{"font-size": "13", "text-anchor": "middle"},
            )
    ET.indent(root, space="")
    return ET.tostring(root, encoding="unicode") + "\n"
