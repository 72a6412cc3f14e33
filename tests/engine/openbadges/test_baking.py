"""Baked badges: round trips with the reference bakery, and hostile files refused clearly."""

from __future__ import annotations

import io
import json
import zlib

import pytest
from openbadges_bakery import bake as ref_bake
from openbadges_bakery import unbake as ref_unbake
from PIL import Image

from engine.errors import InvalidInput
from engine.openbadges.baking import bake_png, bake_svg, unbake
from engine.openbadges.verification import verify_file
from engine.services import badge_documents


def test_our_png_is_read_by_openbadges_bakery_and_theirs_by_us(issued, u) -> None:
    png = badge_documents.baked(issued.rt, issued.assertion, u)
    assert json.loads(ref_unbake(io.BytesIO(png)))["id"] == u.assertion(issued.assertion)
    Image.open(io.BytesIO(png)).load()  # still a valid picture

    picture = badge_documents.badge_picture(issued.rt, "sato.jeu-de-piste")
    theirs = ref_bake(io.BytesIO(picture), "https://example.org/a/1").read()
    assert unbake(theirs).text == "https://example.org/a/1"


def test_our_svg_is_read_by_openbadges_bakery(issued, u) -> None:
    svg = badge_documents.baked(issued.rt, issued.assertion, u, svg=True)
    assert u.assertion(issued.assertion) in ref_unbake(io.BytesIO(svg))
    assert unbake(svg).version == 2


def test_a_baked_png_verifies_and_an_edited_one_is_tampered(issued, u) -> None:
    png = badge_documents.baked(issued.rt, issued.assertion, u)
    assert verify_file(png, "badge.png", issued.fetch).status == "valide"
    doc = json.loads(unbake(png).text)
    doc["badge"] = u.badge_class("sato.soudure")
    edited = bake_png(png, json.dumps(doc))
    verdict = verify_file(edited, "badge.png", issued.fetch)
    assert verdict.status == "altéré" and "badge" in verdict.reasons[0]


def test_ob3_baked_png_carries_the_vc_jwt(issued, u) -> None:
    png = badge_documents.baked(issued.rt, issued.assertion, u, version=3)
    baked = unbake(png)
    assert baked.version == 3 and baked.text.count(".") == 2
    assert verify_file(png, "badge.png", issued.fetch).status == "valide"


def _png(width: int = 8, height: int = 8) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), "white").save(out, format="PNG")
    return out.getvalue()


def test_bad_files_get_clear_errors() -> None:
    with pytest.raises(InvalidInput, match="ne contient pas de badge"):
        unbake(_png(), "vide.png")
    with pytest.raises(InvalidInput, match="tronquée"):
        unbake(bake_png(_png(), "{}")[:-20], "coupe.png")
    with pytest.raises(InvalidInput, match="ni PNG|format inconnu"):
        unbake(b"GIF89a....", "x.gif")
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
        b'<svg xmlns="http://www.w3.org/2000/svg">&lol2;</svg>'
    )
    with pytest.raises(InvalidInput, match="bombe XML"):
        unbake(bomb, "bombe.svg")


def test_a_huge_image_is_refused_without_decoding_it() -> None:
    # 30,000 × 30,000 pixels declared in a few hundred bytes: never decompressed
    ihdr = (30_000).to_bytes(4, "big") * 2 + b"\x08\x02\x00\x00\x00"
    raw = zlib.compress(b"\0" * 1000)

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body).to_bytes(4, "big")
        return len(body).to_bytes(4, "big") + kind + body + crc

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")
    with pytest.raises(InvalidInput, match="trop grande"):
        bake_png(png, "{}")
    with pytest.raises(InvalidInput, match="ne contient pas de badge"):
        unbake(png, "immense.png")


def test_baking_twice_replaces_the_badge() -> None:
    once = bake_png(_png(), '{"a": 1}')
    twice = bake_png(once, '{"a": 2}')
    assert unbake(twice).text == '{"a": 2}'
    assert twice.count(b"openbadges") == 1
    svg = bake_svg(b'<svg xmlns="http://www.w3.org/2000/svg"/>', '{"a": 1}', 2, "u")
    assert unbake(bake_svg(svg, '{"a": 2}', 2, "u")).text == '{"a": 2}'
