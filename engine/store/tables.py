"""Tables. Personal data is kept to what a parcours needs (name, optional e-mail), in `person`
only, so export and erasure touch one place; the audit log refers to people by id."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Computed,
    DateTime,
    Index,
    LargeBinary,
    String,
    UniqueConstraint,
    event,
    text,
)
from sqlalchemy.orm import Session
from sqlmodel import Field, SQLModel
from sqlmodel.main import SQLModelConfig

from engine.folding import fold_sql


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything Parcours writes is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _random_id() -> str:
    return str(uuid.uuid4())


def _ts(**kw: Any) -> Any:
    return Field(sa_column=Column(DateTime(timezone=True), **kw))


class TableModel(SQLModel):
    """The base of every table. Pydantic builds a model's validator when it is first used, not
    when the class is made: table models are written and read through SQLAlchemy, and a
    command line process that validates none of them should not pay for 35 at start."""

    model_config = SQLModelConfig(defer_build=True)


class Organisation(TableModel, table=True):
    """A network, a structure (SIAE) or a partner (GEIQ, ADIE, company)."""

    __table_args__ = (Index("ix_organisation_kind_name", "kind", "name", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(unique=True, max_length=80)
    kind: str = Field(max_length=20)
    structure_kind: str | None = Field(default=None, max_length=10)
    name: str = Field(max_length=200)
    url: str | None = None
    email: str | None = None
    description: str | None = None
    colours: list[str] | None = Field(default=None, sa_column=Column(JSON))
    logo: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    """A network's logo (PNG) from its network file."""
    siret: str | None = Field(default=None, max_length=14, unique=True, index=True)
    """A structure's or partner's SIRET (14 digits, Luhn-checked), how the IAE's national
    platform and funders name it."""
    departement: str | None = Field(default=None, max_length=3)
    """The département it works in (`29`, `2A`, `971`), for a network's figures."""


EXPRESSION_INDEXES = frozenset({"ix_person_lower_email"})
"""Indexes on expressions that migration 0016 creates and the metadata does not describe
(`lower(email)`)."""


class Membership(TableModel, table=True):
    """A structure belongs to one or more networks."""

    structure_id: int = Field(foreign_key="organisation.id", primary_key=True)
    network_id: int = Field(foreign_key="organisation.id", primary_key=True)


def full_name(given_name: str, family_name: str) -> str:
    """How a person is named everywhere; an erased person's family name is empty."""
    return f"{given_name} {family_name}".strip()


class Person(TableModel, table=True):
    """A participant or a staff member. Erasure blanks the names and e-mail, keeps the id.
    Migration 0016 also indexes `lower(email)` (an expression index, which the metadata does
    not describe)."""

    __table_args__ = (
        Index("ix_person_phone", "phone"),
        Index("ix_person_name", "family_name", "given_name", "id"),
        Index("ix_person_folded", "folded_family", "folded_given", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=20)
    given_name: str = Field(max_length=100)
    family_name: str = Field(max_length=100)
    email: str | None = Field(default=None, max_length=254, index=True)
    phone: str | None = Field(default=None, max_length=30)
    """A participant's telephone, when that is how they are reached (OB 2.0 `telephone`
    identity of their badges, E.164)."""
    subject: str | None = Field(
        default_factory=_random_id,
        max_length=36,
        unique=True,
        sa_column_kwargs={"default": _random_id},
    )
    """A stable random identifier: the person's profile URL (`/profils/<subject>`) is the
    subject of their badges (OB 3.0 `credentialSubject.id`, hence the VC-JWT `sub`; OB 2.0
    `url` identity) when no wallet holds them, e-mail or not."""
    structure_id: int | None = Field(default=None, foreign_key="organisation.id", index=True)
    birth_year: int | None = None
    """Optional (an import may give it): tells apart two participants of the same name."""
    pass_iae: str | None = Field(default=None, max_length=20, index=True)
    """The PASS IAE number (agrément), optional: how an import recognises a participant it
    already holds. Sensitive: never written into a badge, a credential or a webhook."""
    created_at: datetime = _ts(nullable=False, default=utcnow)
    erased_at: datetime | None = _ts(nullable=True)
    folded_family: str | None = Field(
        default=None,
        sa_column=Column(String(120), Computed(fold_sql("family_name"), persisted=True)),
    )
    """The names as the board sorts and searches them (`engine.folding.fold`), computed and
    stored by PostgreSQL whenever a name is written (erasure too): sorting a big structure's
    thousands of names no longer folds each one at every visit. NULL on SQLite (its column
    is a plain one; the board folds there with a function of the connection)."""
    folded_given: str | None = Field(
        default=None,
        sa_column=Column(String(120), Computed(fold_sql("given_name"), persisted=True)),
    )

    @property
    def display_name(self) -> str:
        return full_name(self.given_name, self.family_name)


class StaffRole(TableModel, table=True):
    __table_args__ = (UniqueConstraint("person_id", "organisation_id", "role"),)

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    role: str = Field(max_length=30)


class PathwayVersion(TableModel, table=True):
    """A published pathway version, immutable: same (pathway_id, version) means same content."""

    __table_args__ = (UniqueConstraint("pathway_id", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    pathway_id: str = Field(max_length=80, index=True)
    version: int
    network: str = Field(max_length=80)
    title: str = Field(max_length=200)
    digest: str = Field(max_length=64)
    source: str
    definition: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    published_at: datetime = _ts(nullable=False, default=utcnow)


class NetworkVersion(TableModel, table=True):
    """A published network definition (its organisation, partners, badge catalogue, committee
    rules and connector settings), immutable like a pathway version."""

    __table_args__ = (UniqueConstraint("network", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    network: str = Field(max_length=80, index=True)
    version: int
    name: str = Field(max_length=200)
    digest: str = Field(max_length=64)
    source: str
    definition: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    published_at: datetime = _ts(nullable=False, default=utcnow)
    published_by: int | None = Field(default=None, foreign_key="person.id")


class Enrollment(TableModel, table=True):
    """One participant on one pathway version. `revision` guards against concurrent advances."""

    __table_args__ = (
        Index("ix_enrollment_structure_status", "structure_id", "status"),
        Index("ix_enrollment_version_stage", "pathway_version_id", "stage"),
        Index("ix_enrollment_structure_id_id", "structure_id", "id"),
        Index(
            "ix_enrollment_stage_entered",
            "pathway_version_id",
            "stage",
            "status",
            "stage_entered_at",
            "id",
        ),
        Index(
            "ix_enrollment_structure_stage_entered",
            "structure_id",
            "status",
            "pathway_version_id",
            "stage",
            "stage_entered_at",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    participant_id: int = Field(foreign_key="person.id", index=True)
    structure_id: int = Field(foreign_key="organisation.id")
    pathway_version_id: int = Field(foreign_key="pathwayversion.id")
    stage: str = Field(max_length=80)
    status: str = Field(default="active", max_length=20)
    revision: int = 1
    started_at: datetime = _ts(nullable=False)
    stage_entered_at: datetime = _ts(nullable=False)
    completed_at: datetime | None = _ts(nullable=True)
    exit_outcome: str | None = Field(default=None, max_length=40)
    """How the person left, when a final stage records it (`engine.exits` codes)."""
    exit_on: date | None = None
    """The date of that exit (a contract's start, a training's), which may differ from the
    day the step was recorded."""
    exit_employer: str | None = Field(default=None, max_length=200)
    """The employer (or training body) where known: an organisation's name, never a person's."""
    public_id: str | None = Field(
        default_factory=_random_id,
        max_length=36,
        unique=True,
        sa_column_kwargs={"default": _random_id},
    )
    """A random identifier for what the participant shares of the whole parcours (its CLR)."""


class AuditEvent(TableModel, table=True):
    """Append-only history: never updated, never deleted (enforced below)."""

    id: int | None = Field(default=None, primary_key=True)
    enrollment_id: int | None = Field(default=None, foreign_key="enrollment.id", index=True)
    at: datetime = _ts(nullable=False)
    actor_id: int | None = Field(default=None, foreign_key="person.id")
    kind: str = Field(max_length=30)
    trigger: str | None = Field(default=None, max_length=80)
    from_stage: str | None = Field(default=None, max_length=80)
    to_stage: str | None = Field(default=None, max_length=80)
    note: str | None = None
    details: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))


class Evidence(TableModel, table=True):
    """A proof attached to an enrollment while in a stage (convention PMSMP, attestation...), or
    to a badge request."""

    id: int | None = Field(default=None, primary_key=True)
    enrollment_id: int | None = Field(default=None, foreign_key="enrollment.id", index=True)
    request_id: int | None = Field(default=None, foreign_key="badgerequest.id", index=True)
    stage: str | None = Field(default=None, max_length=80)
    kind: str = Field(max_length=80)
    narrative: str | None = None
    url: str | None = None
    context: str | None = Field(default=None, max_length=40)
    added_by: int | None = Field(default=None, foreign_key="person.id")
    added_at: datetime = _ts(nullable=False)


class CommitteeDecision(TableModel, table=True):
    """An attribution committee's decision on a transition, with its reasons."""

    id: int | None = Field(default=None, primary_key=True)
    enrollment_id: int = Field(foreign_key="enrollment.id", index=True)
    stage: str = Field(max_length=80)
    trigger: str = Field(max_length=80)
    approved: bool
    reason: str
    decided_by: int = Field(foreign_key="person.id")
    decided_at: datetime = _ts(nullable=False)


class BadgeClass(TableModel, table=True):
    """One version of a badge definition, from its network's published file (or a structure's
    approved project). A version never changes once published: a changed definition is a new
    row (`version` + 1) and the old one is `superseded`, so issued badges keep the class they
    were issued under. One row per `slug` is active."""

    __table_args__ = (UniqueConstraint("slug", "version", name="uq_badgeclass_slug_version"),)

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=120, index=True)
    version: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    validity_days: int | None = None
    """How long an issued badge stays valid (its `expires`); None: no expiry."""
    network: str = Field(max_length=80)
    name: str = Field(max_length=200)
    description: str
    criteria: str
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    requires: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    alignments: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False, server_default="[]")
    )
    image: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    """The badge picture (PNG): the plugin's own, or one the engine drew for it."""
    evaluation: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    """How requests are decided (catalogue `Evaluation`); None means the default."""
    group: str | None = Field(default=None, max_length=120)
    recipient_kind: str = Field(
        default="person", max_length=20, sa_column_kwargs={"server_default": "person"}
    )
    """`person`, or `organisation` for badges recognising a company (SATO)."""
    status: str = Field(
        default="active", max_length=20, sa_column_kwargs={"server_default": "active"}
    )
    """`active`; `proposed` (a structure's project badge awaiting the network's review) or
    `refused`. Only active badge classes are issued."""
    proposed_by: int | None = Field(default=None, foreign_key="organisation.id")
    achievement_type: str | None = Field(default=None, max_length=80)
    """OB 3.0 `achievementType` the catalogue gives; None: derived (`ob3.achievement_type`)."""


class BadgeSetting(TableModel, table=True):
    """How one structure runs one badge, within its network's frame: the evaluation mode it
    chose (choosing `network` is its agreement with the network), the committee, and its own
    criteria adaptation."""

    structure_id: int = Field(foreign_key="organisation.id", primary_key=True)
    badge_class_id: int = Field(foreign_key="badgeclass.id", primary_key=True)
    mode: str = Field(max_length=20)
    committee_id: int | None = Field(default=None, foreign_key="committee.id")
    criteria_note: str | None = None
    set_by: int | None = Field(default=None, foreign_key="person.id")
    set_at: datetime = _ts(nullable=False)


class Committee(TableModel, table=True):
    """An attribution committee: internal to one SIAE, or crossed between several."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    kind: str = Field(max_length=80)
    network: str = Field(max_length=80)
    structure_id: int | None = Field(default=None, foreign_key="organisation.id")
    """The SIAE that runs an internal committee; None for a network's crossed committee."""
    created_at: datetime = _ts(nullable=False)


class CommitteeMember(TableModel, table=True):
    committee_id: int = Field(foreign_key="committee.id", primary_key=True)
    person_id: int = Field(foreign_key="person.id", primary_key=True)
    structure_id: int | None = Field(default=None, foreign_key="organisation.id")
    """The member's own SIAE, for conflicts of interest in a crossed committee."""


class BadgeRequest(TableModel, table=True):
    """A *demande de badge*: a participant (or staff on their behalf) asks for a badge with
    evidence; staff, the network or a committee decide, with reasons."""

    __table_args__ = (
        Index("ix_badgerequest_structure_status", "structure_id", "status"),
        Index("ix_badgerequest_committee_status", "committee_id", "status"),
        Index(
            "ix_badgerequest_structure_status_submitted",
            "structure_id",
            "status",
            "submitted_at",
            "id",
        ),
        Index("ix_badgerequest_status_submitted", "status", "submitted_at", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    badge_class_id: int = Field(foreign_key="badgeclass.id")
    participant_id: int = Field(foreign_key="person.id", index=True)
    structure_id: int | None = Field(default=None, foreign_key="organisation.id")
    enrollment_id: int | None = Field(default=None, foreign_key="enrollment.id")
    origin: str = Field(max_length=20)
    mode: str = Field(max_length=20)
    committee_id: int | None = Field(default=None, foreign_key="committee.id")
    narrative: str | None = None
    status: str = Field(default="pending", max_length=20)
    submitted_by: int | None = Field(default=None, foreign_key="person.id")
    submitted_at: datetime = _ts(nullable=False)
    decided_at: datetime | None = _ts(nullable=True)
    decision_reason: str | None = None
    assertion_id: str | None = Field(default=None, foreign_key="assertion.id", max_length=36)


class Review(TableModel, table=True):
    """One signature or committee vote on a request, with its reason."""

    __table_args__ = (UniqueConstraint("request_id", "person_id"),)

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="badgerequest.id", index=True)
    person_id: int = Field(foreign_key="person.id")
    role: str | None = Field(default=None, max_length=30)
    structure_id: int | None = Field(default=None, foreign_key="organisation.id")
    approve: bool
    reason: str
    at: datetime = _ts(nullable=False)


class Share(TableModel, table=True):
    """An issued badge made visible to a partner organisation (GEIQ, ADIE, a company): the
    partner's feed shows exactly these, nothing else."""

    __table_args__ = (
        UniqueConstraint("assertion_id", "organisation_id"),
        Index("ix_share_org_shared", "organisation_id", "shared_at", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    assertion_id: str = Field(foreign_key="assertion.id", max_length=36)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    reason: str = Field(max_length=20)
    shared_by: int | None = Field(default=None, foreign_key="person.id")
    shared_at: datetime = _ts(nullable=False)


class Assertion(TableModel, table=True):
    """An issued badge. Holds what OB 2.0/3.0 serialisation needs: a stable public id, a salt
    for the hashed recipient identity, evidence, dates and revocation."""

    __table_args__ = (
        Index("ix_assertion_recipient_class", "recipient_id", "badge_class_id"),
        # revoked badges only (2% of them): a revocation list and a status list's revoked
        # places read from the index alone, and an issued badge writes no entry
        Index(
            "ix_assertion_revoked",
            "issuer_id",
            "revoked_at",
            postgresql_include=["id", "revocation_reason", "status_index"],
            postgresql_where=text("revoked_at IS NOT NULL"),
            sqlite_where=text("revoked_at IS NOT NULL"),
        ),
        Index(
            "ix_assertion_enrollment_held",
            "enrollment_id",
            "revoked_at",
            "badge_class_id",
            "recipient_id",
        ),
        UniqueConstraint("issuer_id", "status_index", name="uq_assertion_issuer_status"),
    )

    id: str = Field(default_factory=lambda: str(uuid.uuid4()), primary_key=True, max_length=36)
    badge_class_id: int = Field(foreign_key="badgeclass.id")
    recipient_id: int | None = Field(default=None, foreign_key="person.id")
    """The person who holds it; None for a badge held by an organisation (`recipient_org_id`)."""
    recipient_org_id: int | None = Field(default=None, foreign_key="organisation.id", index=True)
    enrollment_id: int | None = Field(default=None, foreign_key="enrollment.id", index=True)
    issued_by: int | None = Field(default=None, foreign_key="person.id")
    issuer_id: int | None = Field(default=None, foreign_key="organisation.id")
    issued_on: datetime = _ts(nullable=False)
    expires: datetime | None = _ts(nullable=True)
    salt: str = Field(max_length=64)
    evidence: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    revoked_at: datetime | None = _ts(nullable=True)
    revocation_reason: str | None = None
    recipient_type: str = Field(
        default="email", max_length=20, sa_column_kwargs={"server_default": "email"}
    )
    recipient_identity: str | None = Field(default=None, max_length=80)
    """`sha256$...` of the recipient's e-mail and the salt, fixed when the badge is issued."""
    status_index: int | None = None
    """Position in the issuer's OB 3.0 status list, given when the badge is issued (the
    next free one of its issuer)."""
    replaces: str | None = Field(default=None, foreign_key="assertion.id", max_length=36)
    """The badge this one reissues (renewed at expiry, re-bound to an e-mail given later);
    the earlier one is revoked as replaced, its history kept."""


class IssuerKey(TableModel, table=True):
    """A signing key of an issuer. The private half never leaves this table; a rotated key is
    retired (no new signatures) but stays published so what it signed still verifies."""

    __table_args__ = (UniqueConstraint("organisation_id", "kid"),)

    id: int | None = Field(default=None, primary_key=True)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    kid: str = Field(max_length=64)
    algorithm: str = Field(max_length=10)
    public_jwk: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    private_pem: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = _ts(nullable=False, default=utcnow)
    retired_at: datetime | None = _ts(nullable=True)


class Endorsement(TableModel, table=True):
    """An organisation vouching for an issuer, a badge class, or (a recommendation) one
    person's earned badge."""

    id: str = Field(default_factory=lambda: str(uuid.uuid4()), primary_key=True, max_length=36)
    endorser_id: int = Field(foreign_key="organisation.id", index=True)
    subject_kind: str = Field(max_length=20)
    subject_ref: str = Field(max_length=120, index=True)
    comment: str
    issued_on: datetime = _ts(nullable=False)
    requested: bool = False
    """True when the participant asked for it (a recommendation requested by link)."""
    withdrawn_at: datetime | None = _ts(nullable=True)


class RecommendationRequest(TableModel, table=True):
    """A participant asks a company to recommend an earned badge; the company answers through a
    single-use link (the token is stored hashed)."""

    id: int | None = Field(default=None, primary_key=True)
    assertion_id: str = Field(foreign_key="assertion.id", index=True, max_length=36)
    company_id: int = Field(foreign_key="organisation.id")
    email: str = Field(max_length=254)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = _ts(nullable=False)
    expires_at: datetime = _ts(nullable=False)
    answered_at: datetime | None = _ts(nullable=True)


class Login(TableModel, table=True):
    """A staff or partner password (argon2 hash). Participants have none: they use links."""

    person_id: int = Field(foreign_key="person.id", primary_key=True)
    password_hash: str = Field(max_length=200)
    changed_at: datetime = _ts(nullable=False)


class WebSession(TableModel, table=True):
    """A browser session. The cookie holds a random token; only its hash is stored, with the
    CSRF token the session's forms must send back."""

    token_hash: str = Field(primary_key=True, max_length=64)
    person_id: int = Field(foreign_key="person.id", index=True)
    csrf: str = Field(max_length=64)
    created_at: datetime = _ts(nullable=False)
    expires_at: datetime = _ts(nullable=False)


class ApiToken(TableModel, table=True):
    """A bearer token for another system, acting as one staff member (hash stored)."""

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    name: str = Field(max_length=100)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = _ts(nullable=False)
    revoked_at: datetime | None = _ts(nullable=True)


class MagicLink(TableModel, table=True):
    """A participant's way in, without a password: a single-use, expiring link."""

    token_hash: str = Field(primary_key=True, max_length=64)
    person_id: int = Field(foreign_key="person.id", index=True)
    created_by: int | None = Field(default=None, foreign_key="person.id")
    created_at: datetime = _ts(nullable=False)
    expires_at: datetime = _ts(nullable=False)
    used_at: datetime | None = _ts(nullable=True)


class EvidenceFile(TableModel, table=True):
    """The file behind an evidence (a scanned convention, a photo of the work done)."""

    id: str = Field(default_factory=lambda: str(uuid.uuid4()), primary_key=True, max_length=36)
    evidence_id: int = Field(foreign_key="evidence.id", index=True)
    filename: str = Field(max_length=200)
    media_type: str = Field(max_length=100)
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class Delivery(TableModel, table=True):
    """The outbox: one row per thing to send (partner webhook, passport push, e-mail), written
    in the same transaction as the event that causes it. `key` is the idempotency key the
    receiver sees, so a retried delivery is never taken twice."""

    __table_args__ = (
        Index("ix_delivery_due", "status", "next_attempt_at"),
        Index("ix_delivery_network_status_id", "network", "status", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=200, unique=True)
    channel: str = Field(max_length=20)
    target: str = Field(max_length=254)
    network: str | None = Field(default=None, max_length=80, index=True)
    """The network the delivery is about (the badge's, the request's): its admins see and
    retry it. None when unknown: then only the server's operator does."""
    payload: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    status: str = Field(default="pending", max_length=20)
    attempts: int = 0
    next_attempt_at: datetime = _ts(nullable=False)
    claimed_by: str | None = Field(default=None, max_length=64)
    claimed_at: datetime | None = _ts(nullable=True)
    last_error: str | None = None
    created_at: datetime = _ts(nullable=False)
    sent_at: datetime | None = _ts(nullable=True)


class PartnerWebhook(TableModel, table=True):
    """Where a partner (GEIQ, ADIE...) receives the badges shared with it, signed with its
    secret (HMAC-SHA256)."""

    organisation_id: int = Field(foreign_key="organisation.id", primary_key=True)
    url: str = Field(max_length=500)
    secret: str = Field(max_length=100)
    created_at: datetime = _ts(nullable=False)


class SchedulerLock(TableModel, table=True):
    """Held by the one running `parcours scheduler`, refreshed by its heartbeat."""

    name: str = Field(primary_key=True, max_length=40)
    holder: str = Field(max_length=120)
    heartbeat_at: datetime = _ts(nullable=False)


@event.listens_for(Session, "before_flush")
def _audit_is_append_only(session: Session, flush_context: Any, instances: Any) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, AuditEvent):
            raise RuntimeError("le journal d'audit est en ajout seul")


class LoginAttempt(TableModel, table=True):
    """Recent failed logins and link uses, counted per account and per client address, so a
    guesser waits longer after each failure while a real user is never shut out for good
    (`engine.services.accounts`). Kept in the database so every worker process counts the same
    attempts. `key` is a hash: no e-mail or address is stored in clear; a row is deleted once
    its window has passed."""

    __table_args__ = (Index("ix_loginattempt_last_failure_at", "last_failure_at"),)

    key: str = Field(primary_key=True, max_length=64)
    kind: str = Field(max_length=10)
    """`account`, `address` (logins) or `link` (magic links, by address)."""
    failures: int = 0
    last_failure_at: datetime = _ts(nullable=False)


class CredentialOffer(TableModel, table=True):
    """Badges offered to a holder's wallet (OpenID for Verifiable Credential Issuance 1.0,
    pre-authorized code flow, `engine.services.wallet`). Only hashes are stored: the
    pre-authorized code (redeemed once, before `expires_at`) and the access token the wallet
    got for it (until `token_expires_at`)."""

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    assertions: list[str] = Field(sa_column=Column(JSON, nullable=False))
    """The assertion ids offered, in order."""
    delivered: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    """The assertion ids already handed to the wallet."""
    code_hash: str = Field(max_length=64, unique=True)
    token_hash: str | None = Field(default=None, max_length=64, unique=True)
    created_by: int | None = Field(default=None, foreign_key="person.id")
    created_at: datetime = _ts(nullable=False)
    expires_at: datetime = _ts(nullable=False)
    redeemed_at: datetime | None = _ts(nullable=True)
    token_expires_at: datetime | None = _ts(nullable=True)


class WalletNonce(TableModel, table=True):
    """A `c_nonce` from the nonce endpoint, hashed: a wallet's key proof must carry it; it is
    deleted when used, and expired ones when new ones are made."""

    __table_args__ = (Index("ix_walletnonce_expires_at", "expires_at"),)

    nonce_hash: str = Field(primary_key=True, max_length=64)
    expires_at: datetime = _ts(nullable=False)


class PasswordLink(TableModel, table=True):
    """A staff member's way to choose a password: an invitation (a new account) or a reset
    (« mot de passe oublié »). Single-use, expiring, stored only as a hash
    (`engine.services.accounts`)."""

    token_hash: str = Field(primary_key=True, max_length=64)
    person_id: int = Field(foreign_key="person.id", index=True)
    purpose: str = Field(max_length=12)
    """`invitation` or `reset`."""
    created_by: int | None = Field(default=None, foreign_key="person.id")
    created_at: datetime = _ts(nullable=False)
    expires_at: datetime = _ts(nullable=False)
    used_at: datetime | None = _ts(nullable=True)


class InboundSource(TableModel, table=True):
    """A partner platform allowed to send events to a network (`/api/v1/inbound/{source}`):
    the shared secret its HMAC signatures are checked with (`engine.services.inbound`)."""

    network: str = Field(primary_key=True, max_length=80)
    source: str = Field(primary_key=True, max_length=40)
    secret: str = Field(max_length=100)
    created_at: datetime = _ts(nullable=False)


class InboundEvent(TableModel, table=True):
    """One event received from a partner platform, kept so a replay changes nothing
    (`event_id` is the sender's own id) and later events about the same thing (an immersion
    convention, then its assessment) find the enrollment the first one was matched to. No
    payload is kept: it names the person."""

    __table_args__ = (
        UniqueConstraint("network", "source", "event_id", name="uq_inboundevent_event"),
        Index("ix_inboundevent_external", "network", "source", "external_ref"),
        Index("ix_inboundevent_network_id", "network", "id"),
        Index("ix_inboundevent_network_status_id", "network", "status", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    network: str = Field(max_length=80)
    source: str = Field(max_length=40)
    event_id: str = Field(max_length=200)
    external_ref: str | None = Field(default=None, max_length=200)
    """The thing the event is about on the sender's side (a PMSMP convention's id)."""
    kind: str = Field(max_length=40)
    status: str = Field(max_length=20)
    """`applied` (evidence added), `noted` (a history line, no evidence: an immersion the
    person did not show up to), `unmatched` (no enrollment found) or `ignored`."""
    enrollment_id: int | None = Field(default=None, foreign_key="enrollment.id", index=True)
    evidence_id: int | None = Field(default=None, foreign_key="evidence.id")
    received_at: datetime = _ts(nullable=False)
