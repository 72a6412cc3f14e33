"""Files people upload as evidence: bounded, of a known kind, and an image must really be one.
Checked before anything is written, so a bad file leaves nothing behind."""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from engine.errors import InvalidInput

MAX_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000
KINDS = {"application/pdf": b"%PDF-", "image/png": b"\x89PNG", "image/jpeg": b"\xff\xd8\xff"}


@dataclass(frozen=True)
class Upload:
    filename: str
    media_type: str
    content: bytes


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
        try:
            with Image.open(io.BytesIO(content)) as image:
                if image.width * image.height > MAX_PIXELS:
                    raise InvalidInput(f"{field} : l'image « {name} » est trop grande")
                image.verify()
        except InvalidInput:
            raise
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
            raise InvalidInput(f"{field} : l'image « {name} » est illisible ({exc})") from None
    return Upload(name, media_type, content)


async def from_form(file) -> Upload | None:  # type: ignore[no-untyped-def]
    """A form's file field (Starlette UploadFile), checked; None when no file was chosen.
    Reads one byte past the limit, so an oversized file is refused without reading it all."""
    if file is None or not file.filename:
        return None
    return check(file.filename, await file.read(MAX_BYTES + 1))
