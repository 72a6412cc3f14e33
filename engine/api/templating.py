"""The one Jinja2 environment of the pages, with the filters every template uses."""

from __future__ import annotations

from pathlib import Path

from fastapi.templating import Jinja2Templates

from engine import dates, history

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.filters["date"] = dates.day
templates.env.filters["datetime"] = dates.day_time
templates.env.filters["event"] = history.label
