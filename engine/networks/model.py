"""The network file's model: what a network writes in `networks/<id>.yaml`, validated by
pydantic with unknown fields refused, so a typo is reported with its line."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from engine.badges.catalogue import BadgeEntry
from engine.committees import CommitteeRule
from engine.slugs import BadgeId, Slug

_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


def _colour(value: str) -> str:
    if not _COLOUR.fullmatch(value):
        raise ValueError(f"« {value} » n'est pas une couleur : « #rrvvbb » attendu (ex. #00587c)")
    return value


Colour = Annotated[str, AfterValidator(_colour)]


def _web_address(value: str) -> str:
    if not re.fullmatch(r"https?://[^\s/$.?#][^\s]*", value):
        raise ValueError(f"« {value} » n'est pas une adresse web : « https://... » attendu")
    return value


def _contact_email(value: str) -> str:
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError:
        raise ValueError(f"« {value} » n'est pas une adresse e-mail") from None


WebAddress = Annotated[str, AfterValidator(_web_address)]
"""An organisation's home page: the `url` every Open Badges issuer profile must give."""
ContactEmail = Annotated[str, AfterValidator(_contact_email)]
"""A contact address: OB 2.0 issuer profiles require one (networks issue badges, partners
endorse them)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PartnerSpec(_Strict):
    """An organisation working with the network (a GEIQ, ADIE, a client company): it receives
    the badges pathways share with it, and may endorse badges."""

    id: Slug
    name: str = Field(min_length=1, max_length=200)
    url: WebAddress
    email: ContactEmail
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


ProofFormat = Literal["vc-jwt", "data-integrity"]


class CredentialSettings(_Strict):
    """How the network's OB 3.0 credentials are secured. `vc-jwt` (RS256) is always there: the
    credential URL and the status lists are VC-JWTs; `data-integrity` adds an embedded
    `eddsa-rdfc-2022` proof (Ed25519 key published as a Multikey in the issuer's profile)."""

    proofs: tuple[ProofFormat, ...] = ("vc-jwt",)

    @field_validator("proofs")
    @classmethod
    def _vc_jwt_kept(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if "vc-jwt" not in value:
            raise ValueError(
                "« vc-jwt » est obligatoire : les badges et les listes de statut sont aussi "
                "publiés en VC-JWT (ex. proofs: [vc-jwt, data-integrity])"
            )
        return tuple(dict.fromkeys(value))


InboundMapping = Literal["pmsmp"]
"""How a partner platform's events are read. `pmsmp`: the immersion platform « Immersion
Facilitée »'s convention and end-of-immersion assessment (`engine.inbound.pmsmp`)."""


class InboundEvidence(_Strict):
    """The evidence kinds a `pmsmp` source's events become: the pathways' gates name them."""

    convention: Slug = "convention-pmsmp"
    assessment: Slug = "bilan-immersion"


class InboundSpec(_Strict):
    """A partner platform the network lets send signed events (`/api/v1/inbound/{source}`).
    Its shared secret is never written here: `parcours network inbound-secret` makes it."""

    source: Slug = Field(max_length=40)
    mapping: InboundMapping
    title: str | None = Field(default=None, max_length=200)
    evidence: InboundEvidence = Field(default_factory=InboundEvidence)


class NetworkDefinition(_Strict):
    """One version of a network's definition. Published versions never change: a changed file
    must carry a higher `version`."""

    id: Slug
    version: int = Field(ge=1)
    name: str = Field(min_length=1, max_length=200)
    url: WebAddress
    email: ContactEmail
    description: str | None = None
    colours: tuple[Colour, Colour] = ("#1d4e89", "#f2a900")
    logo: str | None = Field(default=None, description="PNG beside the file")
    partners: list[PartnerSpec] = Field(default_factory=list)
    committees: dict[Slug, CommitteeRule] = Field(
        default_factory=dict, description="Committee kinds, named without the network's prefix"
    )
    connectors: dict[Slug, ConnectorSettings] = Field(default_factory=dict)
    credentials: CredentialSettings = Field(
        default_factory=CredentialSettings,
        # left out of the dump when default, so definitions published before keep their digest
        exclude_if=lambda c: c == CredentialSettings(),
    )
    badges: list[BadgeEntry] = Field(default_factory=list)
    inbound: list[InboundSpec] = Field(
        default_factory=list,
        description="Partner platforms allowed to send events (PMSMP immersions)",
        # left out of the dump when empty, so definitions published before keep their digest
        exclude_if=lambda v: not v,
    )

    @field_validator("inbound")
    @classmethod
    def _sources_once(cls, value: list[InboundSpec]) -> list[InboundSpec]:
        seen: set[str] = set()
        for spec in value:
            if spec.source in seen:
                raise ValueError(f"la source « {spec.source} » est déclarée deux fois")
            seen.add(spec.source)
        return value

    def inbound_source(self, source: str) -> InboundSpec | None:
        return next((s for s in self.inbound if s.source == source), None)

    def committee_kind(self, name: str) -> str:
        """`croise` in the network `inae` is the committee kind `inae.croise`."""
        return name if "." in name else f"{self.id}.{name}"

    @property
    def committee_rules(self) -> dict[str, CommitteeRule]:
        return {self.committee_kind(k): rule for k, rule in self.committees.items()}

    def badge(self, badge_id: str) -> BadgeEntry | None:
        return next((b for b in self.badges if b.id == badge_id), None)


Mode = Literal["signatures", "network", "committee", "auto"]
__all__ = [
    "ConnectorSettings",
    "CredentialSettings",
    "InboundEvidence",
    "InboundSpec",
    "Mode",
    "NetworkDefinition",
    "PartnerSpec",
]
