"""French e-mail templates (Jinja2, plain text): the first line of a template is its subject."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

_env = Environment(
    loader=FileSystemLoader(Path(__file__).parent),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
    autoescape=False,  # plain-text mail
)


def render(name: str, **context: Any) -> tuple[str, str]:
    """(subject, body) of `name`.txt. The subject is one line whatever a name holds: a carriage
    return typed into a name must not reach a mail header (the header builder refuses it)."""
    text = _env.get_template(f"{name}.txt").render(**context)
    subject, _, body = text.partition("\n")
    return " ".join(subject.split()), body.lstrip("\n")
