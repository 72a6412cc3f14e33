"""A one-time message carried across a post/redirect/get: a form's handler redirects with what
it did, the page it lands on shows it once. Reloading that page resends nothing and shows
the message no more. The message is in a short-lived cookie, read back as text only (the
templates escape it), so a forged one can only display words."""

from __future__ import annotations

from urllib.parse import quote, unquote

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

COOKIE = "parcours_message"
MAX_LENGTH = 1000


def redirect(request: Request, url: str, message: str) -> RedirectResponse:
    """A 303 to `url` that carries `message` to the next page."""
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(
        COOKIE,
        quote(message[:MAX_LENGTH]),
        max_age=120,
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    return response


def message(request: Request) -> str | None:
    """The message a redirect carried here, if any."""
    sent = request.cookies.get(COOKIE)
    return unquote(sent)[:MAX_LENGTH] if sent else None


def shown(request: Request, response: Response) -> Response:
    """`response` now shows the carried message: it is forgotten."""
    if COOKIE in request.cookies:
        response.delete_cookie(COOKIE, path="/")
    return response
