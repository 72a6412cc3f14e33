"""What a network's catalogue says about a badge class (OB 2.0 BadgeClass / OB 3.0 Achievement)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from engine.errors import InvalidInput
from engine.openbadges.baking import MAX_FILE_BYTES, check_picture
from engine.pathways.model import BadgeId, BadgeRequirement, Slug
from engine.roles import Role

Mode = Literal["signatures", "network", "committee", "auto"]
MODE_LABELS: dict[str, str] = {
    "signatures": "validation par l'équipe de la structure",
    "network": "évaluation par le réseau (accord avec la structure)",
    "committee": "comité d'attribution",
    "auto": "validation automatique",
}


class Alignment(BaseModel):
    """A link to a framework the badge matches (ROME job code, CléA skill, RNCP block...)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    targetName: str = Field(min_length=1)
    targetUrl: str = Field(min_length=1)
    targetDescription: str | None = None
    targetFramework: str | None = None
    targetCode: str | None = None


class Evaluation(BaseModel):
    """How a request for this badge is decided. The network sets the frame (`modes`); each
    structure picks one of them and may adapt the criteria to its own tools."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    modes: list[Mode] = Field(default_factory=lambda: ["signatures"], min_length=1)
    signatures: list[Role] = Field(
        default_factory=lambda: [Role.CIP],
        min_length=1,
        description="Roles that must each approve, in mode signatures (one person per role)",
    )
    committees: list[str] = Field(
        default_factory=list,
        description="Committee kinds (plugin rules) that may decide, in mode committee",
    )
    public: bool = Field(
        default=False, description="Anyone may ask for it through the public form (auto only)"
    )
    direct: list[Role] = Field(
        default_factory=list,
        description="Roles that may award it alone, without a request (e.g. the encadrant "
        "technique who saw the skill at work); otherwise only one person holding every "
        "signature role, in a structure evaluating it by signatures",
    )

    @model_validator(mode="after")
    def _coherent(self) -> Evaluation:
        if "committee" in self.modes and not self.committees:
            raise ValueError("le mode committee demande au moins un type de comité (committees)")
        if self.public and self.modes != ["auto"]:
            raise ValueError("seul un badge à validation automatique peut être demandé par tous")
        return self


class BadgeClassSpec(BaseModel):
    """A badge definition as a plugin ships it. `requires` names the sub-badges that validate it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: BadgeId
    network: Slug
    name: str = Field(min_length=1)
    description: str = Field(min_length=1)
    criteria: str = Field(min_length=1, description="Critères d'obtention (texte, en français)")
    tags: list[str] = Field(default_factory=list)
    requires: BadgeRequirement | None = None
    example: bool = Field(
        default=False, description="True when the badge is a placeholder for the network to replace"
    )
    alignments: list[Alignment] = Field(default_factory=list)
    image: Path | None = Field(
        default=None, description="PNG shipped by the plugin, relative to its catalogue file"
    )
    evaluation: Evaluation = Field(default_factory=Evaluation)
    recipient: Literal["person", "organisation"] = Field(
        default="person",
        description="organisation: a badge recognising a company (e.g. hosting fragile publics)",
    )
    group: str | None = Field(
        default=None, description="The catalogue's parcours (a support goal) this badge is in"
    )

    @model_validator(mode="after")
    def _namespaced(self) -> BadgeClassSpec:
        # Ids are namespaced by network so two plugins can never claim the same badge.
        if not self.id.startswith(f"{self.network}."):
            raise ValueError(f"l'identifiant « {self.id} » doit commencer par « {self.network}. »")
        return self


class NetworkSpec(BaseModel):
    """An organisation a plugin knows: its network itself, or a partner of that network."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    slug: Slug
    name: str
    kind: str = "network"
    url: str | None = None
    email: str | None = None
    colours: tuple[str, str] = ("#1d4e89", "#f2a900")
    description: str | None = None


def _check_image(image: Path, field: str) -> None:
    """A network's picture is checked when its catalogue is read, so a broken or oversized
    file (a decompression bomb declares billions of pixels in a few bytes) is named there."""
    if image.stat().st_size > MAX_FILE_BYTES:
        raise InvalidInput(f"{field} : {image.name} dépasse 10 Mo")
    try:
        check_picture(image.read_bytes(), field)
    except OSError as exc:
        raise InvalidInput(f"{field} : {image.name} illisible ({exc})") from None


def load_catalogue(path: Path) -> list[BadgeClassSpec]:
    """Read a plugin's catalogue YAML (a list of badge classes) with errors naming file and
    entry, so a network editing its catalogue sees exactly what to fix."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise InvalidInput(f"{path}: catalogue illisible : {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("badges"), list):
        raise InvalidInput(f"{path}: le catalogue doit contenir une liste « badges »")
    network = data.get("network")
    specs = []
    for i, entry in enumerate(data["badges"]):
        try:
            spec = BadgeClassSpec.model_validate({"network": network, **entry})
        except (ValidationError, TypeError) as exc:
            raise InvalidInput(f"{path}: badges[{i}] : {exc}") from None
        if spec.image is not None:
            image = (path.parent / spec.image).resolve()
            if not image.is_file():
                raise InvalidInput(f"{path}: badges[{i}].image : fichier {image} introuvable")
            _check_image(image, f"{path}: badges[{i}].image")
            spec = spec.model_copy(update={"image": image})
        specs.append(spec)
    return specs
