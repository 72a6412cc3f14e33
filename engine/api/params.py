"""Parameter types shared by the API routes and the pages, and how a route declares the action
it performs.

Every text a request carries is bounded, and none may hold a NUL byte, a control character or a
lone surrogate: a `\\r` in a name broke the e-mail headers the outbox builds, a NUL made
PostgreSQL refuse the row (a 500). Single-line fields (names, e-mail addresses, slugs,
identifiers) take no control character at all; multi-line texts keep line breaks and tabs.
Refusals are 422 problem details naming the field (see `engine.api.app`)."""

from __future__ import annotations

import unicodedata
from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import AfterValidator, StringConstraints
from pydantic_core import PydanticCustomError

from engine.services import keyset
from engine.services.access import Action

MAX_ID = 2**31 - 1
"""Row ids are 32-bit integers in PostgreSQL: a larger one is refused at the door (422), not
passed to the database (which would answer with an error, a 500)."""

MAX_PAGE = 100_000
"""Pages of a list: more than any list holds, small enough for an OFFSET in any database."""

RowId = Annotated[int, Path(ge=1, le=MAX_ID)]
PageNo = Annotated[
    int,
    Query(
        ge=1,
        le=MAX_PAGE,
        description="Numéro de page, à partir de 1 ; dans une liste qui donne un curseur "
        f"(`next`), une page ne commence pas au-delà des {keyset.Count(keyset.MAX_SKIP)} "
        "premiers éléments : suivez alors `next` (paramètre `after`)",
    ),
]
After = Annotated[
    str | None,
    Query(
        max_length=400,
        pattern="^[A-Za-z0-9_-]+$",
        description="Curseur : le `next` de la page précédente (remplace `page`, même coût à "
        "toute profondeur, aucun élément sauté ni répété si la liste change entre deux pages)",
    ),
]

CONTROL_CHARACTERS = "control_characters"
"""The pydantic error type of a refused character; the app says it in French."""

_LINE_BREAKS = frozenset("\n\r\t")
_SEPARATORS = frozenset("\u2028\u2029")  # Unicode line and paragraph separators


def _check(value: str, allowed: frozenset[str]) -> str:
    """`value`, or a refusal naming its first control character (Unicode Cc) not in `allowed`
    or lone surrogate (Cs); a single line (nothing allowed) refuses U+2028 and U+2029 too."""
    if value.isprintable():  # the common case, in C
        return value
    for char in value:
        if char in allowed:
            continue
        if unicodedata.category(char) in ("Cc", "Cs") or (not allowed and char in _SEPARATORS):
            raise PydanticCustomError(
                CONTROL_CHARACTERS,
                "caractère de contrôle interdit ({code})",
                {"code": f"U+{ord(char):04X}"},
            )
    return value


def single_line(value: str) -> str:
    """No control character at all, not even a line break."""
    return _check(value, frozenset())


def multi_line(value: str) -> str:
    """Line breaks and tabs, but no other control character."""
    return _check(value, _LINE_BREAKS)


def line(max_length: int) -> Any:
    """A single-line text of at most `max_length` characters (name, e-mail, slug, title)."""
    return Annotated[str, StringConstraints(max_length=max_length), AfterValidator(single_line)]


def text(max_length: int) -> Any:
    """A multi-line text of at most `max_length` characters (a note, a reason, a narrative)."""
    return Annotated[str, StringConstraints(max_length=max_length), AfterValidator(multi_line)]


Name = line(100)
"""A given or family name."""
Email = line(254)
"""An e-mail address as typed in a form (the API validates its shape with `EmailStr` too)."""
Slug = line(80)
"""An identifier: an organisation, a pathway, a trigger, a kind of evidence."""
BadgeId = line(120)
"""A badge's identifier (`network.slug`), or what an endorsement is about."""
Title = line(200)
"""A single-line title: a committee's or a badge class's name."""
Url = line(500)
Token = line(100)
"""A secret in a path or a form: a link token, a CSRF token."""
Note = text(2000)
"""A note, a reason, a narrative, a comment."""
LongText = text(4000)
"""A longer text: criteria, a participant's own account of what they did."""

SlugPath = Annotated[line(120), Path()]
"""An identifier in a path: a pathway, an organisation, a badge."""
TokenPath = Annotated[Token, Path()]
AssertionId = Annotated[line(36), Path(description="Identifiant du badge délivré")]

ACTION_KEY = "x-parcours-action"
"""The OpenAPI extension naming the `Action` of the permission table a route performs."""


def performs(action: Action) -> dict[str, Any]:
    """`openapi_extra` for a route that performs `action`: the OpenAPI document shows it, and
    tests/web/test_route_actions.py fails for a route that declares none. The route still
    decides nothing: the service it calls checks the action with `access.ensure`."""
    return {ACTION_KEY: action.value}


def keyed(items: list[Any], page: int, per_page: int, total: int, exact: bool, after: Any) -> Any:
    """A list's answer: its items, the cursor of the next page (`next`, None on the last) and
    its total, counted up to a cap (`total_exact` false: there are more than `total`)."""
    from fastapi.encoders import jsonable_encoder

    return {
        "items": jsonable_encoder(items),
        "page": page,
        "per_page": per_page,
        "total": total,
        "total_exact": exact,
        "next": after,
    }
