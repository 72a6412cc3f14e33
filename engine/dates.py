"""Dates as people read them. Parcours stores UTC; pages, e-mails and the command line show
the network's local time (`PARCOURS_TIMEZONE`, Europe/Paris by default; Indian/Reunion or
America/Guadeloupe for networks overseas), or a CIP would read 13:05 for a step taken at
14:05, and a badge issued at 00:30 would carry the day before."""

from __future__ import annotations

import os
from datetime import date, datetime
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from engine.errors import InvalidInput
from engine.store.tables import as_utc

DEFAULT_ZONE = "Europe/Paris"


@cache
def zone() -> ZoneInfo:
    """The zone people read times in; a bad name is a French error naming the variable."""
    name = os.environ.get("PARCOURS_TIMEZONE", "").strip() or DEFAULT_ZONE
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            f"PARCOURS_TIMEZONE : fuseau horaire inconnu « {name} » (par ex. {DEFAULT_ZONE})"
        ) from None


def local(moment: datetime) -> datetime:
    return as_utc(moment).astimezone(zone())


def day(moment: datetime | date | None) -> str:
    """dd/mm/yyyy, the local day; a plain date is shown as it is."""
    if moment is None:
        return ""
    if not isinstance(moment, datetime):
        return moment.strftime("%d/%m/%Y")
    return local(moment).strftime("%d/%m/%Y")


def day_time(moment: datetime | None) -> str:
    """dd/mm/yyyy hh:mm, local."""
    return local(moment).strftime("%d/%m/%Y %H:%M") if moment else ""
