"""The network file's model: what a network writes in `networks/<id>.yaml`, validated by
pydantic with unknown fields refused, so a typo is reported with its line."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from engine.badges.catalogue import BadgeEntry
from engine.committees import CommitteeRule
from engine.slugs import BadgeId, Slug

_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


def _colour(value: str) -> str:
    if not _COLOUR.fullmatch(value):
        raise ValueError(f"« {value} » n'est pas une couleur : « #rrvvbb » attendu (ex. #00587c)")
    return value


Colour = Annotated[str, AfterValidator(_colour)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PartnerSpec(_Strict):
    """An organisation working with the network (a GEIQ, ADIE, a client company): it receives
    the badges pathways share with it, and may endorse badges."""

    id: Slug
    name: str = Field(min_length=1, max_length=200)
    url: str | None = None
    email: str | None = None
    description: str | None = None


class ConnectorSettings(_Strict):
    """Where the network's issued badges are also sent. `open_badge_factory` issues them again
    in the network's Open Badge Factory account (credentials from the environment:
    PARCOURS_OBF_<RÉSEAU>_CLIENT_ID / _CLIENT_SECRET), which e-mails the participant a link
    to their Open Badge Passport."""

    type: Literal["open_badge_factory"]
    badges: dict[BadgeId, str] = Field(
        min_length=1, description="Parcours badge id → the id of the badge mirroring it there"
    )
    email_subject: str = Field(min_length=1)
    email_body: str = Field(min_length=1)
    email_link_text: str = "Accepter le badge"


class NetworkDefinition(_Strict):
    """One version of a network's definition. Published versions never change: a changed file
    must carry a higher `version`."""

    id: Slug
    version: int = Field(ge=1)
    name: str = Field(min_length=1, max_length=200)
    url: str | None = None
    email: str | None = None
    description: str | None = None
    colours: tuple[Colour, Colour] = ("#1d4e89", "#f2a900")
    logo: str | None = Field(default=None, description="PNG beside the file")
    partners: list[PartnerSpec] = Field(default_factory=list)
    committees: dict[Slug, CommitteeRule] = Field(
        default_factory=dict, description="Committee kinds, named without the network's prefix"
    )
    connectors: dict[Slug, ConnectorSettings] = Field(default_factory=dict)
    badges: list[BadgeEntry] = Field(default_factory=list)

    def committee_kind(self, name: str) -> str:
        """`croise` in the network `inae` is the committee kind `inae.croise`."""
        return name if "." in name else f"{self.id}.{name}"

    @property
    def committee_rules(self) -> dict[str, CommitteeRule]:
        return {self.committee_kind(k): rule for k, rule in self.committees.items()}

    def badge(self, badge_id: str) -> BadgeEntry | None:
        return next((b for b in self.badges if b.id == badge_id), None)


Mode = Literal["signatures", "network", "committee", "auto"]
__all__ = ["ConnectorSettings", "Mode", "NetworkDefinition", "PartnerSpec"]
