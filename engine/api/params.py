"""Parameter types shared by the API routes, and how a route declares the action it performs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path

from engine.services.access import Action

MAX_ID = 2**31 - 1
"""Row ids are 32-bit integers in PostgreSQL: a larger one is refused at the door (422), not
passed to the database (which would answer with an error, a 500)."""

RowId = Annotated[int, Path(ge=1, le=MAX_ID)]

ACTION_KEY = "x-parcours-action"
"""The OpenAPI extension naming the `Action` of the permission table a route performs."""


def performs(action: Action) -> dict[str, Any]:
    """`openapi_extra` for a route that performs `action`: the OpenAPI document shows it, and
    tests/web/test_route_actions.py fails for a route that declares none. The route still
    decides nothing: the service it calls checks the action with `access.ensure`."""
    return {ACTION_KEY: action.value}
