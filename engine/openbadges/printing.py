"""Badges on paper, for people without a smartphone and for job interviews: one badge on an A4
page, or the « livret » of a whole parcours (a cover, the stages reached, then each badge in a
block of its own). Each badge carries a QR code to its public verification page, with the
address printed under it for those who type it.

Rendering only: the services gather what is printed (and check who may read it) into the
dataclasses below. fpdf2 (pure Python) with DejaVu Sans, shipped beside this module, so
accents and « » print everywhere.

Speed: `DejaVuSans-Latin.ttf` and `DejaVuSans-Bold-Latin.ttf` are DejaVu cut down to Latin
(with Vietnamese), Greek, Cyrillic and punctuation (`pyftsubset DejaVuSans.ttf
--unicodes=U+0020-007E,U+00A0-024F,U+0300-036F,U+0370-03FF,U+0400-04FF,U+1E00-1EFF,U+2000-206F,
U+20A0-20CF,U+2100-214F,U+2190-21FF,U+2212,U+2022,U+25CF,U+FB00-FB06,U+FFFD --layout-features='*'
--no-hinting`), small enough to parse for each document through fpdf2's public API; a text
with a character beyond them brings in the whole fonts as fallback. Badge pictures are embedded as
JPEG on white, converted once: fpdf2 re-compresses a PNG on every document."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache, lru_cache
from pathlib import Path

from fontTools.ttLib import TTFont
from fpdf import FPDF
from fpdf.enums import XPos, YPos
from PIL import Image

from engine.dates import day
from engine.openbadges.images import qr_png

FONTS = Path(__file__).parent / "fonts"
FAMILY = "DejaVu"
MARGIN = 18.0
GREY = (90, 90, 90)
INK = (20, 20, 20)
PRODUCER = "Parcours (fpdf2)"
STYLES = {"": "DejaVuSans", "B": "DejaVuSans-Bold"}
FULL = "DejaVuFull"
"""The whole fonts' family, added only to a document that needs a character beyond the cut."""


@cache
def _covered() -> frozenset[int]:
    """The characters the cut fonts draw (both have the same)."""
    with TTFont(FONTS / f"{STYLES['']}-Latin.ttf", lazy=True) as font:
        return frozenset(font.getBestCmap())


@lru_cache(maxsize=256)
def _jpeg(png: bytes) -> bytes:
    """A badge picture on white as JPEG: fpdf2 embeds it as it is."""
    with Image.open(io.BytesIO(png)) as im:
        rgba = im.convert("RGBA")
    flat = Image.new("RGB", rgba.size, "white")
    flat.paste(rgba, mask=rgba.getchannel("A"))
    out = io.BytesIO()
    flat.save(out, format="JPEG", quality=92)
    return out.getvalue()


@dataclass(frozen=True)
class PrintedBadge:
    """One issued badge as printed."""

    name: str
    holder: str
    issuer: str
    issued_on: datetime
    description: str
    criteria: str
    page_url: str
    """The public verification page the QR code leads to."""
    image: bytes | None = None
    """The badge picture (PNG)."""
    expires: datetime | None = None
    evidence: Sequence[tuple[str, str]] = ()
    """(title, narrative) of each evidence item; either may be empty."""
    status: str = ""
    """Empty for a valid badge; otherwise why it no longer is (revoked, expired)."""


@dataclass(frozen=True)
class Livret:
    """A whole parcours as printed."""

    participant: str
    pathway: str
    structure: str
    network: str
    started_at: datetime
    ended_at: datetime | None
    status: str
    """« en cours », « terminé »... in French."""
    stage: str
    """The current (or last) stage's title."""
    stages: Sequence[tuple[str, datetime]] = ()
    """(stage title, date reached), in order."""
    badges: Sequence[PrintedBadge] = field(default_factory=tuple)


class _Document(FPDF):
    """A4 portrait in DejaVu Sans, with « page n / total » at the foot of every page."""

    def __init__(self, title: str, texts: Iterable[str]) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        for style, name in STYLES.items():
            self.add_font(FAMILY, style, FONTS / f"{name}-Latin.ttf")
        covered = _covered()
        if any(ord(c) not in covered for text in texts for c in text):
            for style, name in STYLES.items():
                self.add_font(FULL, style, FONTS / f"{name}.ttf")
            self.set_fallback_fonts([FULL])
        self.set_margins(MARGIN, MARGIN, MARGIN)
        self.set_auto_page_break(auto=True, margin=MARGIN)
        self.set_title(title)
        self.set_lang("fr-FR")
        self.set_creator(PRODUCER)
        self.set_producer(PRODUCER)
        self.footer_text = title

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FAMILY, "", 8)
        self.set_text_color(*GREY)
        self.cell(0, 5, self.footer_text, align="L")
        self.set_x(self.l_margin)
        self.cell(0, 5, f"page {self.page_no()} / {{nb}}", align="R")

    # --- building blocks: each returns the height it takes; `dry` only measures ----------

    def text_block(
        self, text: str, size: float = 10.5, bold: bool = False, colour=INK, dry: bool = False
    ) -> float:
        self.set_font(FAMILY, "B" if bold else "", size)
        self.set_text_color(*colour)
        return self._lines(0, size * 0.5, text, dry)

    def _lines(self, width: float, height: float, text: str, dry: bool, x: float | None = None):
        if dry:
            return self.multi_cell(width, height, text, align="L", dry_run=True, output="HEIGHT")
        top = self.get_y()
        if x is not None:
            self.set_x(x)
        self.multi_cell(
            width,
            height,
            text,
            align="L",
            new_x=XPos.LMARGIN if x is None else XPos.LEFT,
            new_y=YPos.NEXT,
        )
        return self.get_y() - top

    def heading(self, text: str, size: float = 13, dry: bool = False) -> float:
        if not dry:
            self.ln(2)
        height = self.text_block(text, size, bold=True, dry=dry)
        if not dry:
            self.ln(1)
        return height + 3

    def fields(
        self,
        rows: Sequence[tuple[str, str]],
        x: float,
        width: float,
        dry: bool = False,
        compact: bool = False,
    ) -> float:
        """Label / value lines starting at `x`, `width` wide: the label above its value, or
        (`compact`) before it on the same line."""
        total = 0.0
        label_width = 30.0 if compact else width
        for label, value in rows:
            if not dry:
                self.set_x(x)
                self.set_font(FAMILY, "", 9)
                self.set_text_color(*GREY)
                self.cell(
                    label_width,
                    5.5 if compact else 4.5,
                    label,
                    new_x=XPos.RIGHT if compact else XPos.LEFT,
                    new_y=YPos.TOP if compact else YPos.NEXT,
                )
            if compact:
                self.set_font(FAMILY, "B", 10)
                self.set_text_color(*INK)
                total += self._lines(width - label_width, 5.5, value, dry, x + label_width)
                continue
            self.set_font(FAMILY, "B", 11)
            self.set_text_color(*INK)
            total += 4.5 + self._lines(width, 5.5, value, dry, x) + 1.5
            if not dry:
                self.ln(1.5)
        return total


QR_SIDE = 34.0
"""Millimetres: a phone reads it from arm's length; the livret's are smaller."""


def _badge_block(pdf: _Document, b: PrintedBadge, *, compact: bool, dry: bool = False) -> float:
    """A badge: picture and facts side by side, description, criteria, evidence, QR code.
    Returns its height; with `dry`, draws nothing. `compact`: the livret's smaller block."""
    title_size, picture = (15, 32) if compact else (20, 60)
    height = pdf.text_block(b.name, title_size, bold=True, dry=dry) + 2
    if not dry:
        pdf.ln(2)
    top = pdf.get_y()
    if b.image and not dry:
        pdf.image(io.BytesIO(_jpeg(b.image)), x=pdf.l_margin, y=top, w=picture, h=picture)
    facts = [("Titulaire", b.holder), ("Délivré par", b.issuer), ("Délivré le", day(b.issued_on))]
    if b.expires is not None:
        facts.append(("Valable jusqu'au", day(b.expires)))
    facts.append(("Statut", b.status or "Badge authentique et valide"))
    x = pdf.l_margin + picture + 8
    if not dry:
        pdf.set_y(top)
    side = pdf.fields(facts, x, pdf.w - pdf.r_margin - x, dry, compact=compact)
    height += max(side, picture) + 3
    if not dry:
        pdf.set_y(max(pdf.get_y(), top + picture) + 3)
        pdf.set_x(pdf.l_margin)
    if b.description:
        height += pdf.heading("Description", 11, dry)
        height += pdf.text_block(b.description, dry=dry)
    height += pdf.heading("Critères d'obtention", 11, dry)
    height += pdf.text_block(b.criteria or "—", dry=dry)
    if b.evidence:
        height += pdf.heading("Preuves", 11, dry)
        for title, narrative in b.evidence:
            if title:
                height += pdf.text_block(f"• {title}", bold=True, dry=dry)
            if narrative:
                height += pdf.text_block(f"{'  ' if title else '• '}{narrative}", dry=dry)
    return height + _qr(pdf, b.page_url, dry, explain=not compact)


SHORT_HELP = "Scannez le code ou saisissez l'adresse ci-dessous."
LONG_HELP = (
    "Scannez ce code avec un téléphone, ou saisissez l'adresse ci-dessous : "
    "la page de l'émetteur dit si le badge est authentique et toujours valide."
)


def _qr(pdf: _Document, url: str, dry: bool = False, explain: bool = True) -> float:
    side = QR_SIDE if explain else 26.0
    """The QR code to the verification page, the address under it (the livret explains
    once, on its cover, what a badge's page says)."""
    pdf.set_font(FAMILY, "", 8.5)
    under = pdf.multi_cell(0, 4.2, url, dry_run=True, output="HEIGHT")
    height = 3 + side + 1 + under
    if dry:
        return height
    pdf.ln(3)
    if pdf.will_page_break(height - 3):
        pdf.add_page()
    top = pdf.get_y()
    pdf.image(io.BytesIO(qr_png(url)), x=pdf.l_margin, y=top, w=side, h=side)
    x = pdf.l_margin + side + 6
    pdf.set_xy(x, top + 4)
    width = pdf.w - pdf.r_margin - x
    pdf.set_font(FAMILY, "B", 10.5)
    pdf.set_text_color(*INK)
    pdf.multi_cell(width, 5.5, "Vérifier ce badge", align="L", new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_font(FAMILY, "", 9.5)
    pdf.multi_cell(
        width,
        4.8,
        LONG_HELP if explain else SHORT_HELP,
        align="L",
        new_x=XPos.LEFT,
        new_y=YPos.NEXT,
    )
    pdf.set_y(top + side + 1)
    pdf.set_font(FAMILY, "", 8.5)
    pdf.set_text_color(*GREY)
    pdf.multi_cell(0, 4.2, url, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(*INK)
    return height


def _texts(b: PrintedBadge) -> list[str]:
    """Every text of a badge that comes from people (the rest is ours, within the cut)."""
    return [
        b.name,
        b.holder,
        b.issuer,
        b.description,
        b.criteria,
        b.status,
        b.page_url,
        *(t for pair in b.evidence for t in pair),
    ]


def badge_pdf(b: PrintedBadge) -> bytes:
    """One badge on an A4 page (more if its evidence is long)."""
    pdf = _Document(f"Badge « {b.name} » — {b.holder}", _texts(b))
    pdf.add_page()
    pdf.text_block("Badge numérique ouvert (Open Badge)", 9, colour=GREY)
    pdf.ln(1)
    _badge_block(pdf, b, compact=False)
    return bytes(pdf.output())


def livret_pdf(livret: Livret) -> bytes:
    """The livret of a parcours: a cover, the stages reached, then one block per badge; a
    block that would not fit at the foot of a page starts the next one."""
    pdf = _Document(
        f"Livret du parcours « {livret.pathway} » — {livret.participant}",
        [
            livret.participant,
            livret.pathway,
            livret.structure,
            livret.network,
            livret.status,
            livret.stage,
            *(title for title, _ in livret.stages),
            *(t for b in livret.badges for t in _texts(b)),
        ],
    )
    pdf.add_page()
    pdf.ln(20)
    pdf.text_block("Livret du parcours", 26, bold=True)
    pdf.ln(2)
    pdf.text_block(livret.pathway, 16)
    pdf.ln(10)
    ended = day(livret.ended_at) if livret.ended_at else "parcours en cours"
    pdf.fields(
        [
            ("Participant·e", livret.participant),
            ("Structure", livret.structure),
            ("Réseau", livret.network),
            ("Début du parcours", day(livret.started_at)),
            ("Fin du parcours", ended),
            ("Situation", f"{livret.status} — étape « {livret.stage} »"),
            ("Badges obtenus", str(len(livret.badges))),
        ],
        pdf.l_margin,
        pdf.epw,
    )
    pdf.ln(4)
    pdf.text_block(
        "Chaque badge de ce livret porte un QR code : scanné avec un téléphone, il ouvre la "
        "page où l'émetteur dit si le badge est authentique et toujours valide.",
        9.5,
        colour=GREY,
    )
    pdf.heading("Étapes franchies", 14)
    if livret.stages:
        for title, at in livret.stages:
            pdf.text_block(f"{day(at)}  —  {title}")
    else:
        pdf.text_block("Aucune étape pour l'instant.")
    pdf.heading("Badges", 14)
    if not livret.badges:
        pdf.text_block("Aucun badge pour l'instant.")
    for b in livret.badges:
        pdf.ln(3)
        needed = _badge_block(pdf, b, compact=True, dry=True)
        if pdf.will_page_break(needed) and pdf.get_y() > pdf.t_margin + 1:
            pdf.add_page()
        _badge_block(pdf, b, compact=True)
        pdf.ln(2)
        pdf.set_draw_color(200, 200, 200)
        pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
    return bytes(pdf.output())
