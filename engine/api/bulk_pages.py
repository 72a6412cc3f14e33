"""Pages: import participants, group award after a collective action (issue 20)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
