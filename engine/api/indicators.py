"""API: a structure's, a pathway's or a network's figures (issue 20)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1")
