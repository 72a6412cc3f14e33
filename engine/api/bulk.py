"""API: participants imported from a file, group awards (issue 20)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1")
