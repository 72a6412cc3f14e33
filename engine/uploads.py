"""Files people upload as evidence: bounded, of a known kind, and an image must really be one.
Checked before anything is written, so a bad file leaves nothing behind.

Images are sized from their header before Pillow sees them: a decompression bomb is a small
file whose header declares billions of pixels, and it must be refused on those numbers, not
after something tried to decode it. Every picture Parcours receives (evidence, badge pictures
for baking, catalogue images) goes through `check_dimensions`.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from engine.errors import InvalidInput

MAX_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000
KINDS = {"application/pdf": b"%PDF-", "image/png": b"\x89PNG", "image/jpeg": b"\xff\xd8\xff"}

# Pillow's own guard, set to ours rather than left at its default (about 89 Mpx, and only a
# warning below twice that): any image opened in this process is refused past our limit.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# JPEG start-of-frame markers (C4, C8 and CC are other segments) and markers with no length.
_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_JPEG_STANDALONE = {0x01, *range(0xD0, 0xD9)}


@dataclass(frozen=True)
class Upload:
    filename: str
    media_type: str
    content: bytes


def declared_size(content: bytes) -> tuple[int, int] | None:
    """Width and height as a PNG (IHDR) or JPEG (largest start-of-frame) header declares them,
    read without decoding anything; None when the header says nothing readable."""
    if content.startswith(_PNG_SIGNATURE):
        if len(content) < 24 or content[12:16] != b"IHDR":
            return None
        width, height = struct.unpack(">II", content[16:24])
        return width, height
    if content.startswith(b"\xff\xd8"):
        return _jpeg_size(content)
    return None


def _jpeg_size(content: bytes) -> tuple[int, int] | None:
    best: tuple[int, int] | None = None
    pos = 2
    while pos + 4 <= len(content):
        if content[pos] != 0xFF:
            return best
        marker = content[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in _JPEG_STANDALONE:
            pos += 2
            continue
        if marker in (0xD9, 0xDA):  # end of image, start of scan: no frame header after this
            return best
        (length,) = struct.unpack(">H", content[pos + 2 : pos + 4])
        if marker in _JPEG_SOF and pos + 9 <= len(content):
            height, width = struct.unpack(">HH", content[pos + 5 : pos + 9])
            if best is None or width * height > best[0] * best[1]:
                best = (width, height)
        pos += 2 + length
    return best


def check_dimensions(
    content: bytes,
    field: str,
    name: str | None = None,
    *,
    max_pixels: int = MAX_PIXELS,
    max_side: int | None = None,
) -> None:
    """Refuse an image whose header declares more pixels (or a longer side) than we accept,
    before anything decodes it. The message names the field and the file, in French."""
    size = declared_size(content)
    if size is None:
        return  # not a header we read: Pillow's limit (set above) still applies
    width, height = size
    if width * height > max_pixels or (max_side is not None and max(width, height) > max_side):
        limit = (
            f"maximum {max_side}×{max_side} px"
            if max_side is not None
            else f"maximum {max_pixels // 1_000_000} millions de pixels"
        )
        which = f"l'image « {name} »" if name else "l'image"
        raise InvalidInput(f"{field} : {which} est trop grande ({width}×{height} px, {limit})")


def check(filename: str, content: bytes, field: str = "fichier") -> Upload:
    """The upload with its real media type (from its bytes, not the browser's claim)."""
    name = (filename or "piece").replace("/", "_").replace("\\", "_")[-200:]
    if not content:
        raise InvalidInput(f"{field} : le fichier « {name} » est vide")
    if len(content) > MAX_BYTES:
        raise InvalidInput(f"{field} : « {name} » dépasse 10 Mo")
    media_type = next((t for t, magic in KINDS.items() if content.startswith(magic)), None)
    if media_type is None:
        raise InvalidInput(f"{field} : « {name} » n'est ni un PDF, ni une image PNG ou JPEG")
    if media_type.startswith("image/"):
        check_dimensions(content, field, name)
        try:
            with Image.open(io.BytesIO(content)) as image:
                if image.width * image.height > MAX_PIXELS:
                    raise InvalidInput(f"{field} : l'image « {name} » est trop grande")
                image.verify()
        except InvalidInput:
            raise
        except Image.DecompressionBombError:
            raise InvalidInput(f"{field} : l'image « {name} » est trop grande") from None
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
            raise InvalidInput(f"{field} : l'image « {name} » est illisible ({exc})") from None
    return Upload(name, media_type, content)


async def from_form(file, field: str = "fichier") -> Upload | None:  # type: ignore[no-untyped-def]
    """A form's file field (Starlette UploadFile), checked; None when no file was chosen.
    Reads one byte past the limit, so an oversized file is refused without reading it all."""
    if file is None or not file.filename:
        return None
    return check(file.filename, await file.read(MAX_BYTES + 1), field)
