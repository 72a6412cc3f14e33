"""Pages: the figures with their charts and exports (issue 20)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
