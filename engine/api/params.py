"""Parameter types shared by the API routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

MAX_ID = 2**31 - 1
"""Row ids are 32-bit integers in PostgreSQL: a larger one is refused at the door (422), not
passed to the database (which would answer with an error, a 500)."""

RowId = Annotated[int, Path(ge=1, le=MAX_ID)]
