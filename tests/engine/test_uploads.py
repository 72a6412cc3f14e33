"""Decompression bombs: a few hundred bytes whose header declares billions of pixels. Wherever
Parcours takes a picture (evidence, a picture to bake into, a network's catalogue), it is
refused on its header with a French error naming the field, before anything decodes it."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

from engine import uploads
from engine.errors import InvalidInput, NetworkInvalid
from engine.networks import load_network_file
from engine.openbadges.baking import bake_png, check_picture

TEN_BILLION = (100_000, 100_000)
"""10^10 pixels: Pillow's own guard raised DecompressionBombError, a 500 on upload."""
MPX_225 = (15_000, 15_000)
"""225 million pixels, the other bomb of the report."""


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def bomb_png(width: int, height: int) -> bytes:
    """A valid-looking PNG (correct signature and checksums) that declares width×height RGB
    pixels and carries a few bytes of compressed data."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", ihdr)
        + _chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + _chunk(b"IEND", b"")
    )


def bomb_jpeg(width: int, height: int) -> bytes:
    """A JPEG header (JFIF, then a baseline start-of-frame) declaring width×height pixels."""
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0"
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 17, 8, height, width, 3)
    sof += b"\x01\x22\x00\x02\x11\x01\x03\x11\x01"
    return b"\xff\xd8" + app0 + sof + b"\xff\xd9"


def real_png(width: int = 40, height: int = 30) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), "teal").save(out, "PNG")
    return out.getvalue()


@pytest.mark.parametrize("size", [TEN_BILLION, MPX_225], ids=["10^10", "225Mpx"])
def test_an_evidence_bomb_is_refused_on_its_header(size: tuple[int, int]) -> None:
    bomb = bomb_png(*size)
    assert len(bomb) < 200
    with pytest.raises(InvalidInput, match=r"^fichier : l'image « bombe.png » est trop grande"):
        uploads.check("bombe.png", bomb)


def test_a_jpeg_bomb_is_refused_too() -> None:
    with pytest.raises(InvalidInput, match="65535×65535 px"):
        uploads.check("photo.jpg", bomb_jpeg(65_535, 65_535), field="justificatif")


def test_the_header_is_read_without_decoding() -> None:
    assert uploads.declared_size(bomb_png(*TEN_BILLION)) == TEN_BILLION
    assert uploads.declared_size(bomb_jpeg(640, 480)) == (640, 480)
    assert uploads.declared_size(real_png(40, 30)) == (40, 30)
    assert uploads.declared_size(b"%PDF-1.7") is None


def test_pillows_own_limit_is_ours() -> None:
    """Anything else in the process that opens an image is held to the same limit."""
    assert Image.MAX_IMAGE_PIXELS == uploads.MAX_PIXELS


def test_a_real_picture_still_goes_through() -> None:
    assert uploads.check("fiche.png", real_png()).media_type == "image/png"


@pytest.mark.parametrize("size", [TEN_BILLION, MPX_225], ids=["10^10", "225Mpx"])
def test_a_bomb_is_not_baked_into(size: tuple[int, int]) -> None:
    with pytest.raises(InvalidInput, match=r"^image : l'image est trop grande .*4096×4096"):
        check_picture(bomb_png(*size))
    with pytest.raises(InvalidInput, match="trop grande"):
        bake_png(bomb_png(*size), "{}")


def test_a_catalogue_bomb_is_named_where_the_network_file_says_it(tmp_path: Path) -> None:
    (tmp_path / "bombe.png").write_bytes(bomb_png(*TEN_BILLION))
    network = tmp_path / "sato.yaml"
    network.write_text(
        "id: sato\n"
        "version: 1\n"
        "name: SATO\n"
        "url: https://www.sato-brest.fr\n"
        "email: badges@sato-brest.example\n"
        "badges:\n"
        "  - id: sato.soudure\n"
        "    name: Soudure\n"
        "    description: Souder à l'arc\n"
        "    criteria: Une soudure propre\n"
        "    image: bombe.png\n",
        encoding="utf-8",
    )
    with pytest.raises(NetworkInvalid) as refused:
        load_network_file(network)
    [problem] = refused.value.problems
    assert (problem.line, problem.field) == (11, "badges[0].image")
    assert "l'image est trop grande" in problem.message
    (tmp_path / "bombe.png").write_bytes(real_png())
    loaded = load_network_file(network)
    assert loaded.pictures["bombe.png"] == real_png()
