"""The `pmsmp` mapping: what the PMSMP platform « Immersion Facilitée »
(immersion-facile.beta.gouv.fr, code github.com/gip-inclusion/immersion-facile) sends, read
into the two events Parcours acts on. Only the fields used here are read; everything else in
the payload is ignored, and the payload itself is never stored (it names the person).

- **Convention** — the platform's own webhook body for a `convention.updated` subscription
  (`ConventionUpdatedSubscriptionCallbackBody` in
  back/src/domains/core/api-consumer/ports/SubscribersGateway.ts):
  `{"subscribedEvent": "convention.updated", "payload": {"convention": ConventionReadDto}}`,
  the convention as in shared/src/convention/convention.dto.ts: `id`, `status`
  (DRAFT, READY_TO_SIGN, PARTIALLY_SIGNED, IN_REVIEW, ACCEPTED_BY_COUNSELLOR,
  ACCEPTED_BY_VALIDATOR, REJECTED, CANCELLED, DEPRECATED), `dateStart`, `dateEnd`, `siret`,
  `businessName`, `immersionAppellation` (`romeCode`, `romeLabel`, `appellationCode`,
  `appellationLabel`), `signatories.beneficiary` (`email`, `phone`: used to find the person,
  never kept), `updatedAt` / `dateValidation` when given.
- **Assessment** — the end-of-immersion assessment (« bilan »), shaped as the platform's
  `AssessmentDto` (shared/src/assessment/assessment.dto.ts) in the same envelope:
  `{"subscribedEvent": "assessment.created", "payload": {"assessment": AssessmentDto}}` with
  `conventionId`, `status` (COMPLETED, PARTIALLY_COMPLETED, DID_NOT_SHOW; the legacy FINISHED
  and ABANDONED read as COMPLETED and PARTIALLY_COMPLETED), `endedWithAJob`, `typeOfContract`,
  `contractStartDate`, `lastDayOfPresence`, `numberOfMissedHours`, `createdAt`. The
  establishment's and the beneficiary's free-text feedback is not read: it may say anything
  about the person.

What counts: only a convention validated by the prescriber (ACCEPTED_BY_VALIDATOR) becomes
the `convention` evidence; earlier and later statuses are recorded as ignored. An assessment
COMPLETED or PARTIALLY_COMPLETED becomes the `assessment` evidence that a gate can ask for;
DID_NOT_SHOW proves no immersion, so it adds no evidence: it is written in the enrollment's
history for the CIP to act on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from engine.errors import InvalidInput

CONVENTION_EVENT = "convention.updated"
ASSESSMENT_EVENT = "assessment.created"
VALIDATED = "ACCEPTED_BY_VALIDATOR"
CONVENTION_STATUSES = (
    "DRAFT",
    "READY_TO_SIGN",
    "PARTIALLY_SIGNED",
    "IN_REVIEW",
    "ACCEPTED_BY_COUNSELLOR",
    VALIDATED,
    "REJECTED",
    "CANCELLED",
    "DEPRECATED",
)
ASSESSMENT_LABELS = {
    "COMPLETED": "immersion réalisée en entier",
    "PARTIALLY_COMPLETED": "immersion réalisée en partie",
    "DID_NOT_SHOW": "ne s'est pas présenté·e à l'immersion",
}
_LEGACY = {"FINISHED": "COMPLETED", "ABANDONED": "PARTIALLY_COMPLETED"}
MEETS_GATE = frozenset({"COMPLETED", "PARTIALLY_COMPLETED"})
"""Assessment statuses that become evidence: the immersion took place."""


def _day(value: Any) -> Any:
    """ISO dates the platform sends as dates or datetimes (`2026-03-02T00:00:00.000Z`)."""
    if isinstance(value, str) and len(value) >= 10:
        return value[:10]
    return value


Day = Annotated[date, BeforeValidator(_day)]
Ref = Annotated[str, Field(min_length=1, max_length=200)]


class _Read(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _Appellation(_Read):
    romeCode: str | None = Field(default=None, max_length=20)
    romeLabel: str | None = Field(default=None, max_length=300)
    appellationLabel: str | None = Field(default=None, max_length=300)


class _Beneficiary(_Read):
    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=40)


class _Signatories(_Read):
    beneficiary: _Beneficiary


class _Convention(_Read):
    id: Ref
    status: Literal[CONVENTION_STATUSES]  # type: ignore[valid-type]
    dateStart: Day
    dateEnd: Day
    businessName: str = Field(min_length=1, max_length=300)
    siret: str | None = Field(default=None, max_length=20)
    immersionAppellation: _Appellation | None = None
    signatories: _Signatories
    updatedAt: str | None = Field(default=None, max_length=40)
    dateValidation: str | None = Field(default=None, max_length=40)


class _ConventionPayload(_Read):
    convention: _Convention


class _ConventionBody(_Read):
    subscribedEvent: Literal["convention.updated"]
    payload: _ConventionPayload


class _Assessment(_Read):
    conventionId: Ref
    status: Literal["COMPLETED", "PARTIALLY_COMPLETED", "DID_NOT_SHOW", "FINISHED", "ABANDONED"]
    endedWithAJob: bool | None = None
    typeOfContract: str | None = Field(default=None, max_length=60)
    contractStartDate: Day | None = None
    lastDayOfPresence: Day | None = None
    numberOfMissedHours: float | None = Field(default=None, ge=0, le=10_000)
    createdAt: str | None = Field(default=None, max_length=40)


class _AssessmentPayload(_Read):
    assessment: _Assessment


class _AssessmentBody(_Read):
    subscribedEvent: Literal["assessment.created"]
    payload: _AssessmentPayload


@dataclass(frozen=True)
class Convention:
    convention_id: str
    status: str
    business_name: str
    date_start: date
    date_end: date
    appellation: str | None
    rome_code: str | None
    email: str | None
    """The beneficiary's, to find their enrollment; never stored."""
    phone: str | None
    """Same."""
    version: str

    @property
    def event_id(self) -> str:
        return f"{CONVENTION_EVENT}:{self.convention_id}:{self.status}:{self.version}"

    @property
    def validated(self) -> bool:
        return self.status == VALIDATED

    def narrative(self) -> str:
        job = ""
        if self.appellation or self.rome_code:
            code = f" (ROME {self.rome_code})" if self.rome_code else ""
            job = f", métier « {self.appellation or self.rome_code} »{code}"
        return (
            f"Convention d'immersion (PMSMP) validée chez {self.business_name}{job}, "
            f"du {self.date_start:%d/%m/%Y} au {self.date_end:%d/%m/%Y}. "
            "Reçue de la plateforme de l'immersion."
        )


@dataclass(frozen=True)
class Assessment:
    convention_id: str
    status: str
    ended_with_a_job: bool | None
    type_of_contract: str | None
    contract_start: date | None
    last_day: date | None
    missed_hours: float | None
    version: str

    @property
    def event_id(self) -> str:
        return f"{ASSESSMENT_EVENT}:{self.convention_id}:{self.status}:{self.version}"

    @property
    def meets_gate(self) -> bool:
        return self.status in MEETS_GATE

    def narrative(self) -> str:
        text = f"Bilan de fin d'immersion (PMSMP) : {ASSESSMENT_LABELS[self.status]}"
        if self.status == "PARTIALLY_COMPLETED":
            bits = []
            if self.missed_hours is not None:
                bits.append(f"{self.missed_hours:g} heure(s) manquée(s)")
            if self.last_day is not None:
                bits.append(f"dernier jour de présence le {self.last_day:%d/%m/%Y}")
            text += f" ({', '.join(bits)})" if bits else ""
        if self.ended_with_a_job is None:
            job = "non renseigné"
        elif self.ended_with_a_job:
            job = "oui"
            details = [d for d in (self.type_of_contract,) if d]
            if self.contract_start:
                details.append(f"à partir du {self.contract_start:%d/%m/%Y}")
            job += f" ({', '.join(details)})" if details else ""
        else:
            job = "non"
        return f"{text}. Débouche sur un emploi : {job}. Reçu de la plateforme de l'immersion."


Event = Convention | Assessment


def _where(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc) or "corps"


def _french(err: dict[str, Any]) -> str:
    kind = err.get("type", "")
    if kind == "missing":
        return "champ obligatoire"
    if kind == "literal_error":
        expected = err.get("ctx", {}).get("expected", "")
        return f"valeur « {err.get('input')} » inconnue (attendu : {expected})"
    if kind.startswith("date"):
        return "date attendue (AAAA-MM-JJ)"
    if kind.endswith("too_long"):
        return "valeur trop longue"
    return f"valeur invalide ({err.get('msg', kind)})"


def _refused(exc: ValidationError) -> InvalidInput:
    problems = [f"{_where(e['loc'])} : {_french(e)}" for e in exc.errors()[:10]]
    return InvalidInput("événement PMSMP illisible : " + " ; ".join(problems))


def read(payload: Any) -> Event:
    """The event a decoded JSON body carries, or InvalidInput in French naming each field."""
    if not isinstance(payload, dict):
        raise InvalidInput("événement PMSMP illisible : un objet JSON est attendu")
    kind = payload.get("subscribedEvent")
    try:
        if kind == CONVENTION_EVENT:
            c = _ConventionBody.model_validate(payload).payload.convention
            job = c.immersionAppellation
            return Convention(
                convention_id=c.id,
                status=c.status,
                business_name=" ".join(c.businessName.split()),
                date_start=c.dateStart,
                date_end=c.dateEnd,
                appellation=job.appellationLabel or job.romeLabel if job else None,
                rome_code=job.romeCode if job else None,
                email=c.signatories.beneficiary.email,
                phone=c.signatories.beneficiary.phone,
                version=c.updatedAt or c.dateValidation or "",
            )
        if kind == ASSESSMENT_EVENT:
            a = _AssessmentBody.model_validate(payload).payload.assessment
            return Assessment(
                convention_id=a.conventionId,
                status=_LEGACY.get(a.status, a.status),
                ended_with_a_job=a.endedWithAJob,
                type_of_contract=a.typeOfContract,
                contract_start=a.contractStartDate,
                last_day=a.lastDayOfPresence,
                missed_hours=a.numberOfMissedHours,
                version=a.createdAt or "",
            )
    except ValidationError as exc:
        raise _refused(exc) from None
    raise InvalidInput(
        f"subscribedEvent : événement « {kind} » inconnu "
        f"(attendu : {CONVENTION_EVENT} ou {ASSESSMENT_EVENT})"
    )
