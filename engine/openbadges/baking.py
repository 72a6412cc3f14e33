"""Baking: an Open Badge carried inside its own picture (PNG iTXt chunk, SVG element).

Reading never decodes pixels and bounds every length it trusts, so a truncated, enormous or
hostile file gets a clear French error instead of a crash or a hang.
"""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass
from typing import Literal
from xml.etree import ElementTree as ET

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as safe_fromstring
from PIL import Image, PngImagePlugin, UnidentifiedImageError

from engine.errors import InvalidInput
from engine.uploads import check_dimensions

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
KEYWORD_V2 = "openbadges"
KEYWORD_V3 = "openbadgecredential"
SVG_NS_V2 = "http://openbadges.org"
SVG_NS_V3 = "https://purl.imsglobal.org/ob/v3p0"
MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_SIDE = 4096
MAX_TEXT_BYTES = 1024 * 1024

Version = Literal[2, 3]


@dataclass(frozen=True)
class Baked:
    """What a baked image carries: an OB 2.0 assertion (JSON or its URL) or an OB 3.0
    credential (a VC-JWT or JSON)."""

    version: Version
    text: str


def _chunks(data: bytes, name: str):
    if len(data) > MAX_FILE_BYTES:
        raise InvalidInput(f"{name} : fichier trop gros ({len(data)} octets, maximum 10 Mo)")
    if not data.startswith(PNG_SIGNATURE):
        raise InvalidInput(f"{name} : ce n'est pas une image PNG")
    pos = len(PNG_SIGNATURE)
    while True:
        if pos + 8 > len(data):
            raise InvalidInput(f"{name} : image PNG tronquée (pas de fin d'image)")
        length, ctype = struct.unpack(">I4s", data[pos : pos + 8])
        end = pos + 8 + length + 4
        if end > len(data):
            raise InvalidInput(f"{name} : image PNG tronquée (bloc {ctype!r} incomplet)")
        body = data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[end - 4 : end])
        if zlib.crc32(ctype + body) != crc:
            raise InvalidInput(
                f"{name} : image PNG corrompue (somme de contrôle du bloc {ctype!r})"
            )
        yield pos, end, ctype, body
        if ctype == b"IEND":
            return
        pos = end


def _itxt(body: bytes) -> tuple[str, str] | None:
    keyword, sep, rest = body.partition(b"\0")
    if not sep or len(rest) < 2:
        return None
    compressed, method, rest = rest[0], rest[1], rest[2:]
    _lang, _, rest = rest.partition(b"\0")
    _translated, _, text = rest.partition(b"\0")
    if compressed:
        if method != 0:
            return None
        decomp = zlib.decompressobj()
        text = decomp.decompress(text, MAX_TEXT_BYTES + 1)
        if len(text) > MAX_TEXT_BYTES:
            raise InvalidInput("le badge intégré dépasse 1 Mo décompressé")
    return keyword.decode("latin-1"), text.decode("utf-8", errors="strict")


def unbake_png(data: bytes, name: str = "image") -> Baked:
    for _start, _end, ctype, body in _chunks(data, name):
        if ctype == b"iTXt" and body[:20].split(b"\0")[0] in (
            b"openbadges",
            b"openbadgecredential",
        ):
            try:
                found = _itxt(body)
            except UnicodeDecodeError:
                raise InvalidInput(f"{name} : le badge intégré n'est pas du texte UTF-8") from None
            if found:
                keyword, text = found
                return Baked(3 if keyword == KEYWORD_V3 else 2, text)
    raise InvalidInput(
        f"{name} : cette image ne contient pas de badge (pas de bloc « openbadges »)"
    )


def check_picture(data: bytes, name: str = "image") -> tuple[int, int]:
    """A PNG worth baking into: a real, undamaged image of sane size. Returns (width, height)."""
    if len(data) > MAX_FILE_BYTES:
        raise InvalidInput(f"{name} : fichier trop gros ({len(data)} octets, maximum 10 Mo)")
    check_dimensions(data, name, max_side=MAX_SIDE)
    try:
        with Image.open(io.BytesIO(data)) as im:
            if im.format != "PNG":
                raise InvalidInput(f"{name} : format {im.format} ; une image PNG est attendue")
            width, height = im.size
            if width > MAX_SIDE or height > MAX_SIDE:
                raise InvalidInput(
                    f"{name} : image trop grande ({width}×{height} px, "
                    f"maximum {MAX_SIDE}×{MAX_SIDE})"
                )
            im.verify()
    except Image.DecompressionBombError:
        raise InvalidInput(
            f"{name} : image trop grande (maximum {MAX_SIDE}×{MAX_SIDE} px)"
        ) from None
    except (UnidentifiedImageError, SyntaxError, OSError) as exc:
        raise InvalidInput(f"{name} : image PNG illisible ({exc})") from None
    return width, height


def bake_png(picture: bytes, text: str, version: Version = 2, *, checked: bool = False) -> bytes:
    """Insert (or replace) the badge's iTXt chunk, uncompressed as the specs require, just before
    IEND; the pixels are copied untouched."""
    if not checked:
        check_picture(picture)
    keyword = KEYWORD_V2 if version == 2 else KEYWORD_V3
    out = io.BytesIO()
    out.write(PNG_SIGNATURE)
    for start, end, ctype, body in _chunks(picture, "image"):
        if ctype == b"iTXt" and body.split(b"\0", 1)[0] in (b"openbadges", b"openbadgecredential"):
            continue
        if ctype == b"IEND":
            chunk = keyword.encode() + b"\0\0\0\0\0" + text.encode("utf-8")
            PngImagePlugin.putchunk(out, b"iTXt", chunk)
        out.write(picture[start:end])
    return out.getvalue()


def _svg_root(data: bytes, name: str) -> ET.Element:
    if len(data) > MAX_FILE_BYTES:
        raise InvalidInput(f"{name} : fichier trop gros ({len(data)} octets, maximum 10 Mo)")
    try:
        root = safe_fromstring(data, forbid_dtd=True)
    except DefusedXmlException:
        raise InvalidInput(
            f"{name} : SVG refusé (déclarations DTD ou entités interdites, risque de bombe XML)"
        ) from None
    except ET.ParseError as exc:
        raise InvalidInput(f"{name} : SVG illisible ({exc})") from None
    if root.tag != "{http://www.w3.org/2000/svg}svg":
        raise InvalidInput(f"{name} : ce n'est pas une image SVG")
    return root


def unbake_svg(data: bytes, name: str = "image") -> Baked:
    root = _svg_root(data, name)
    for ns, tag, version in ((SVG_NS_V2, "assertion", 2), (SVG_NS_V3, "credential", 3)):
        el = root.find(f"{{{ns}}}{tag}")
        if el is not None:
            text = el.get("verify") or (el.text or "").strip()
            if not text:
                break
            if version == 2 and (el.text or "").strip():
                text = el.text.strip()  # the full assertion beats its URL
            return Baked(version, text)  # type: ignore[arg-type]
    raise InvalidInput(f"{name} : cette image ne contient pas de badge (pas de balise openbadges)")


def bake_svg(
    picture: bytes, text: str, version: Version = 2, verify_url: str | None = None
) -> bytes:
    root = _svg_root(picture, "image")
    for ns, tag in ((SVG_NS_V2, "assertion"), (SVG_NS_V3, "credential")):
        for old in root.findall(f"{{{ns}}}{tag}"):
            root.remove(old)
    ET.register_namespace("", "http://www.w3.org/2000/svg")
    if version == 2:
        ET.register_namespace("openbadges", SVG_NS_V2)
        el = ET.Element(f"{{{SVG_NS_V2}}}assertion", {"verify": verify_url or ""})
        el.text = text
    else:
        ET.register_namespace("openbadges", SVG_NS_V3)
        el = ET.Element(f"{{{SVG_NS_V3}}}credential", {"verify": text})
    root.insert(0, el)
    body = ET.tostring(root, encoding="unicode")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body).encode("utf-8")


def unbake(data: bytes, name: str = "image") -> Baked:
    """Read the badge out of a PNG or SVG file, whichever it is."""
    if data.startswith(PNG_SIGNATURE):
        return unbake_png(data, name)
    head = data[:512].lstrip()
    if head.startswith(b"<"):
        return unbake_svg(data, name)
    raise InvalidInput(f"{name} : format inconnu ; une image PNG ou SVG est attendue")
