"""What a network's catalogue says about a badge class (OB 2.0 BadgeClass / OB 3.0 Achievement)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from engine.pathways.model import BadgeRequirement
from engine.roles import Role
from engine.slugs import BadgeId

Mode = Literal["signatures", "network", "committee", "auto"]
MODE_LABELS: dict[str, str] = {
    "signatures": "validation par l'équipe de la structure",
    "network": "évaluation par le réseau (accord avec la structure)",
    "committee": "comité d'attribution",
    "auto": "validation automatique",
}

ACHIEVEMENT_TYPES = (
    "Achievement",
    "ApprenticeshipCertificate",
    "Assessment",
    "Assignment",
    "AssociateDegree",
    "Award",
    "Badge",
    "BachelorDegree",
    "Certificate",
    "CertificateOfCompletion",
    "Certification",
    "CommunityService",
    "Competency",
    "Course",
    "CoCurricular",
    "Degree",
    "Diploma",
    "DoctoralDegree",
    "Fieldwork",
    "GeneralEducationDevelopment",
    "JourneymanCertificate",
    "LearningProgram",
    "License",
    "Membership",
    "ProfessionalDoctorate",
    "QualityAssuranceCredential",
    "MasterCertificate",
    "MasterDegree",
    "MicroCredential",
    "ResearchDoctorate",
    "SecondarySchoolDiploma",
)
"""OB 3.0 / CLR 2.0 `AchievementType` enumeration; extensions are written `ext:Name`."""
ALIGNMENT_TARGET_TYPES = (
    "ceasn:Competency",
    "ceterms:Credential",
    "CFItem",
    "CFRubric",
    "CFRubricCriterion",
    "CFRubricCriterionLevel",
    "CTDL",
)
"""OB 3.0 `AlignmentTargetType` enumeration; extensions are written `ext:Name`."""
_EXTENSION = re.compile(r"ext:[A-Za-z0-9._-]+")


def _in_vocabulary(value: str | None, known: tuple[str, ...], what: str) -> str | None:
    if value is None or value in known or _EXTENSION.fullmatch(value):
        return value
    raise ValueError(
        f"{what} « {value} » inconnu : une valeur de la liste Open Badges 3.0 "
        f"({', '.join(known[:4])}…) ou une extension « ext:Nom »"
    )


class Alignment(BaseModel):
    """A link to a framework the badge matches (ROME job code, CléA skill, RNCP block...)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    targetName: str = Field(min_length=1)
    targetUrl: str = Field(min_length=1)
    targetDescription: str | None = None
    targetFramework: str | None = None
    targetCode: str | None = None
    targetType: str | None = Field(
        default=None,
        description="OB 3.0 only: ceasn:Competency, ceterms:Credential, CFItem... or ext:Name",
    )

    @field_validator("targetType")
    @classmethod
    def _target_type(cls, value: str | None) -> str | None:
        return _in_vocabulary(value, ALIGNMENT_TARGET_TYPES, "targetType")


class FrameworkRef(BaseModel):
    """A ROME job, an RNCP or RS certification named in a badge entry's shorthand; written as
    its code (`H2913`) or as `{code: H2913, name: Soudage manuel}`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(min_length=1)
    name: str | None = Field(default=None, min_length=1)


def _ref(value: object) -> object:
    return {"code": value} if isinstance(value, str) else value


@dataclass(frozen=True)
class Framework:
    """A French framework the catalogue's shorthands align badges to."""

    key: str
    title: str
    """The `targetFramework` every alignment to it carries."""
    pattern: re.Pattern[str]
    example: str
    url: Callable[[str], str]

    def code(self, raw: str) -> str:
        """The code as written in alignments (upper case, no spaces); ValueError, in French,
        when it is not one of this framework's codes."""
        code = "".join(raw.split()).upper()
        if not self.pattern.fullmatch(code):
            raise ValueError(
                f"code {self.key.upper()} « {raw} » invalide : « {self.example} » attendu"
            )
        return code


FRAMEWORKS: dict[str, Framework] = {
    "rome": Framework(
        "rome",
        "ROME 4.0",
        re.compile(r"[A-N][0-9]{4}"),
        "H2913",
        lambda code: f"https://candidat.francetravail.fr/metierscope/fiche-metier/{code}",
    ),
    "rncp": Framework(
        "rncp",
        "RNCP",
        re.compile(r"RNCP[0-9]{1,6}"),
        "RNCP37490",
        lambda code: f"https://www.francecompetences.fr/recherche/rncp/{code[4:]}/",
    ),
    "rs": Framework(
        "rs",
        "Répertoire spécifique",
        re.compile(r"RS[0-9]{1,6}"),
        "RS5678",
        lambda code: f"https://www.francecompetences.fr/recherche/rs/{code[2:]}/",
    ),
}
"""ROME 4.0 job sheets (France Travail), RNCP and RS certifications (France compétences)."""


def framework_alignment(key: str, ref: FrameworkRef) -> Alignment:
    """The alignment a shorthand stands for; without a name in the catalogue, the code names
    it (« ROME H2913 », « RNCP37490 »)."""
    framework = FRAMEWORKS[key]
    code = framework.code(ref.code)
    return Alignment(
        targetName=ref.name or (f"ROME {code}" if key == "rome" else code),
        targetUrl=framework.url(code),
        targetFramework=framework.title,
        targetCode=code,
        targetType="ceterms:Credential" if key in ("rncp", "rs") else None,
    )


def _refs(key: str) -> Any:
    """The list type of one framework's shorthand: each code checked where it is written."""

    def check(ref: FrameworkRef) -> FrameworkRef:
        return ref.model_copy(update={"code": FRAMEWORKS[key].code(ref.code)})

    return list[Annotated[FrameworkRef, BeforeValidator(_ref), AfterValidator(check)]]


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
        description="Committee kinds (the network file's committees) that may decide, in mode "
        "committee",
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


class BadgeEntry(BaseModel):
    """A badge class as its network's file declares it. `requires` names the sub-badges that
    validate it (all of them, or `at_least` N of them)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: BadgeId
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(min_length=1)
    criteria: str = Field(min_length=1, description="Critères d'obtention (texte, en français)")
    tags: list[str] = Field(default_factory=list)
    requires: BadgeRequirement | None = None
    example: bool = Field(
        default=False, description="True when the badge is a placeholder for the network to replace"
    )
    alignments: list[Alignment] = Field(default_factory=list)
    rome: _refs("rome") = Field(  # type: ignore[valid-type]
        default_factory=list,
        exclude=True,
        description="ROME 4.0 codes (H2913 or {code, name}), added to alignments",
    )
    rncp: _refs("rncp") = Field(  # type: ignore[valid-type]
        default_factory=list,
        exclude=True,
        description="RNCP certifications (RNCP37490 or {code, name}), added to alignments",
    )
    rs: _refs("rs") = Field(  # type: ignore[valid-type]
        default_factory=list,
        exclude=True,
        description="Répertoire spécifique certifications (RS5678 or {code, name}), added to "
        "alignments",
    )
    image: str | None = Field(default=None, description="PNG beside the network file")
    evaluation: Evaluation = Field(default_factory=Evaluation)
    recipient: Literal["person", "organisation"] = Field(
        default="person",
        description="organisation: a badge recognising a company (e.g. hosting fragile publics)",
    )
    group: str | None = Field(
        default=None, description="The catalogue's parcours (a support goal) this badge is in"
    )
    validity_days: int | None = Field(
        default=None, ge=1, description="How long an issued badge stays valid; none: no expiry"
    )
    achievement_type: str | None = Field(
        default=None,
        description="OB 3.0 achievementType (Badge, Competency, Certificate... or ext:Name); "
        "none: Competency for a savoir-être or savoir-faire badge, Badge otherwise",
    )

    @field_validator("achievement_type")
    @classmethod
    def _achievement_type(cls, value: str | None) -> str | None:
        return _in_vocabulary(value, ACHIEVEMENT_TYPES, "achievement_type")

    @model_validator(mode="after")
    def _expand_frameworks(self) -> BadgeEntry:
        """The shorthands become alignments (after those written in full, without repeating
        one already there), so everything downstream reads `alignments` only."""
        have = {(a.targetFramework, a.targetCode) for a in self.alignments}
        added = []
        for key in FRAMEWORKS:
            for ref in getattr(self, key):
                alignment = framework_alignment(key, ref)
                if (alignment.targetFramework, alignment.targetCode) not in have:
                    have.add((alignment.targetFramework, alignment.targetCode))
                    added.append(alignment)
        if added:
            object.__setattr__(self, "alignments", [*self.alignments, *added])  # frozen model
        return self

    @property
    def network(self) -> str:
        return self.id.partition(".")[0]
