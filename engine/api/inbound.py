"""Signed events from partner platforms (the PMSMP's), turned into evidence (issue 20)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1")
