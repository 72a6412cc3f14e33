"""The one way a badge is issued.

Enrolling, advancing, a direct award, a decided badge request and a company badge all end here,
so the rules that give a badge its value hold on every path:
- the badge belongs to one of the issuing structure's networks (a SATO structure never issues
  INAÉ's badges);
- it is issued on a basis its catalogue allows: earned through a pathway's gate, awarded alone by
  a role the catalogue lets award it (`Evaluation.direct`, or every signature it needs held by
  one person, in a structure that evaluates it by signatures), or a request decided under its
  evaluation mode (signatures, network, committee, auto);
- the assertion rows, the connector deliveries, the shares with partners and the events are
  written in the caller's transaction; plugin hooks hear of the badges after commit;
- every badge gets its place in its issuer's Bitstring Status List as it is issued (the next
  one, taken under the issuer's lock): a place is never handed out twice, and reading a badge's
  credential never has to write one.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Integer, bindparam, cast, func, insert, literal, select, update
from sqlmodel import Session

from engine.badges import sensitive
from engine.badges.assertions import Contact, issue_badges, recipient_contact, reissue_row
from engine.badges.catalogue import MODE_LABELS, Evaluation
from engine.errors import Conflict, Forbidden, InvalidInput, NotFound
from engine.openbadges.identity import hash_identity
from engine.roles import Role
from engine.services import events
from engine.services.outbox import queue_issued, queue_shares
from engine.services.runtime import CatalogueEntry, Db, Runtime
from engine.services.shares import share_issued
from engine.store.tables import (
    Assertion,
    BadgeClass,
    BadgeSetting,
    Membership,
    Organisation,
    Share,
)

Issued = tuple[str, str, int]
"""(assertion id, badge class, recipient person id) of each badge issued."""


class Basis(StrEnum):
    """What entitles the badge."""

    PATHWAY = "pathway"
    """Earned by entering a stage or passing a transition: the pathway's gate is the rule."""
    DIRECT = "direct"
    """Awarded alone by a staff member, where the catalogue allows it for their role."""
    REQUEST = "request"
    """A badge request decided under the badge's evaluation mode."""
    PUBLIC = "public"
    """Asked through the network's public form (a support badge anyone may have): issued by
    the network itself, outside any structure."""
    REISSUE = "reissue"
    """The same badge bound anew: to the e-mail its holder gave after it was issued. Same badge
    class version, evidence and expiry; the earlier assertion is revoked as replaced."""
    RENEWAL = "renewal"
    """A badge whose class has a validity period, awarded again for a new period by staff the
    catalogue lets award it alone; the earlier assertion is revoked as renewed."""


_NETWORKS = (
    select(Organisation.slug)
    .join(Membership, Membership.network_id == Organisation.id)
    .where(Membership.structure_id == bindparam("sid"))
)


_placed = Assertion.__table__.alias("placed")
_PLACE = (
    update(Assertion)
    .where(Assertion.id == bindparam("aid"), Assertion.status_index.is_(None))
    .values(
        status_index=select(func.coalesce(func.max(_placed.c.status_index), -1) + 1)
        .where(_placed.c.issuer_id == bindparam("iid"))
        .scalar_subquery()
    )
    .returning(*Assertion.__table__.c)
)
STATUS_LOCK_CLASS = 0x5354
"""PostgreSQL advisory locks `(STATUS_LOCK_CLASS, issuer id)` guard each issuer's next place."""
PLACE_LOCK = func.pg_advisory_xact_lock(
    cast(literal(STATUS_LOCK_CLASS), Integer), cast(bindparam("iid"), Integer)
)
"""The lock on issuer `:iid`'s places, for a statement that takes it along with other work
(`enrollments.advance` takes it with its update): the place is then read by a later statement,
whose snapshot sees every place taken before the lock was granted."""
_LOCK_PLACES = select(PLACE_LOCK)


def _dialect(db: Db) -> str:
    return (db.get_bind() if isinstance(db, Session) else db).dialect.name


def lock_places(db: Db, issuer_ids: Iterable[int]) -> None:
    """On PostgreSQL, hold each issuer's place lock until the caller's transaction ends, in
    ascending id (the order every issuing takes them in, so two never wait on each other);
    SQLite's single writer needs none."""
    if _dialect(db) == "sqlite":
        return
    for issuer_id in sorted(set(issuer_ids)):
        db.execute(_LOCK_PLACES, {"iid": issuer_id})


def take_status_places(db: Db, issuer_id: int | None, assertion_ids: Sequence[str]) -> list[Any]:
    """Give each assertion (of one issuer) the issuer's next free status-list place, in the
    caller's transaction; returns the rows written (every column: the caller builds the
    badge's documents from them without reading it again). An assertion that has a place
    keeps it and is left out. The places are dense, like a sequence's: the next is one more
    than the issuer's highest, read once the issuer's lock is held, so two transactions never
    take the same. SQLite lets one writer in at a time (the statement computes and takes the
    place under its write lock); PostgreSQL holds a transaction-scoped advisory lock per
    issuer until commit, so a concurrent issuer waits a moment instead of retrying."""
    if issuer_id is None or not assertion_ids:
        return []
    conn = db.connection() if isinstance(db, Session) else db  # Core: no ORM synchronising
    lock_places(conn, [issuer_id])
    placed = []
    for assertion_id in assertion_ids:
        row = conn.execute(_PLACE, {"aid": assertion_id, "iid": issuer_id}).first()
        if row is not None:
            placed.append(row)
    return placed


def structure_networks(db: Db, structure_id: int | None) -> frozenset[str]:
    if structure_id is None:
        return frozenset()
    return frozenset(db.execute(_NETWORKS, {"sid": structure_id}).scalars())


def check_network(db: Db, structure_id: int | None, badge_name: str, network: str) -> None:
    """Forbidden unless the structure belongs to the badge's network."""
    if network not in structure_networks(db, structure_id):
        structure = db.execute(
            select(Organisation.name).where(Organisation.id == structure_id)
        ).scalar()
        raise Forbidden(
            f"le badge {badge_name} est délivré au nom du réseau « {network} », dont la "
            f"structure « {structure or '?'} » ne fait pas partie"
        )


def evaluation_of(bc: BadgeClass) -> Evaluation:
    return Evaluation.model_validate(bc.evaluation or {})


def structure_mode(db: Db, bc: BadgeClass, structure_id: int | None) -> str:
    """The evaluation mode the structure chose for this badge, else the catalogue's first (a
    choice the catalogue no longer allows does not count)."""
    modes = evaluation_of(bc).modes
    if structure_id is not None:
        chosen = db.execute(
            select(BadgeSetting.mode).where(
                BadgeSetting.structure_id == structure_id, BadgeSetting.badge_class_id == bc.id
            )
        ).scalar()
        if chosen in modes:
            return chosen
    return modes[0]


def ensure_direct(db: Db, bc: BadgeClass, structure_id: int | None, roles: frozenset[Role]) -> None:
    """Forbidden unless the catalogue lets one holder of `roles` award this badge alone."""
    evaluation = evaluation_of(bc)
    if set(evaluation.direct) & roles:
        return
    mode = structure_mode(db, bc, structure_id)
    if mode == "auto":
        return
    if mode == "signatures" and set(evaluation.signatures) <= roles:
        return
    if mode == "signatures":
        needed = ", ".join(r.label for r in evaluation.signatures)
        raise Forbidden(
            f"le badge {bc.name} demande les signatures : {needed} ; déposez une demande de "
            "badge pour que chacun signe"
        )
    raise Forbidden(
        f"le badge {bc.name} se délivre par {MODE_LABELS.get(mode, mode)} : déposez une demande "
        "de badge"
    )


def _entries(rt: Runtime, db: Db, badges: Iterable[str]) -> dict[str, CatalogueEntry]:
    entries = {}
    for badge in badges:
        entry = rt.catalogue_entry(db, badge)
        if entry is None:
            raise NotFound(f"badge « {badge} » introuvable dans les catalogues")
        entries[badge] = entry
    return entries


def issue(
    rt: Runtime,
    db: Db,
    badges: Iterable[str],
    *,
    basis: Basis,
    recipient_id: int,
    structure_id: int | None,
    enrollment_id: int | None,
    actor_id: int | None,
    now: datetime,
    held: frozenset[str] | None = None,
    email: str | bool | None = False,
    contact: Contact | None = None,
    evidence: list[dict[str, Any]] | None = None,
    shares: Mapping[str, list[str]] | None = None,
    placed: list[Any] | None = None,
    places_locked: bool = False,
) -> list[Issued]:
    """Issue each badge the person does not hold yet, in the caller's transaction. The caller
    has established `basis` (the gate passed, `ensure_direct`, the request's verdict); this
    checks the networks and writes everything an issued badge entails, each badge with its
    status-list place. `contact`, when the caller read the person's row (`contact_of`), spares
    reading it again. `placed`, when given, receives each new assertion's row as written (its
    status-list place included), for a caller that sends the badge out at once
    (`enrollments.award_portable`). `places_locked`: the caller already holds the issuers'
    place locks (`issuers_of`, `PLACE_LOCK`)."""
    badges = list(dict.fromkeys(badges))
    if not badges:
        return []
    entries = _entries(rt, db, badges)
    for entry in entries.values():
        if entry.recipient != "person":
            raise InvalidInput(f"le badge {entry.name} se délivre à une organisation")
    if structure_id is None and basis != Basis.PUBLIC:
        raise Forbidden("un badge se délivre au nom d'une structure de son réseau")
    networks = rt.networks_of(db, structure_id) if structure_id is not None else frozenset()
    for entry in entries.values():
        if basis != Basis.PUBLIC and entry.network not in networks:
            check_network(db, structure_id, entry.name, entry.network)  # re-reads: a miss
    if not places_locked:
        lock_places(db, _issuers(entries, badges, held))
    issued = issue_badges(
        db,
        entries,
        badges,
        recipient_id,
        enrollment_id,
        actor_id,
        now,
        held=held,
        evidence=evidence,
        email=email,
        contact=contact,
        urls=rt.urls,
        written=placed,
    )
    queue_issued(rt, db, issued, now)
    if shares and issued:
        share_issued(db, shares, issued, actor_id, now)
    events.collect(db, *(events.BadgeIssued(a, b, r) for a, b, r in issued))
    return issued


def _issuers(
    entries: Mapping[str, CatalogueEntry], badges: Iterable[str], held: frozenset[str] | None
) -> list[int]:
    """The issuers, in ascending id, of the badges about to be issued (those not held)."""
    ids = {
        entries[b].issuer_id
        for b in badges
        if (held is None or b not in held) and entries[b].issuer_id is not None
    }
    return sorted(ids)  # type: ignore[type-var]


def issuers_of(
    rt: Runtime, db: Db, badges: Iterable[str], held: frozenset[str] | None
) -> list[int]:
    """The issuers whose place locks `issue` takes for these badges, in ascending id: for a
    caller that takes them in a statement of its own (`enrollments.advance`)."""
    badges = list(dict.fromkeys(badges))
    return _issuers(_entries(rt, db, badges), badges, held)


def issue_to_organisation(
    rt: Runtime,
    db: Db,
    bc: BadgeClass,
    holder: Organisation,
    *,
    issuer_id: int,
    contact: str,
    actor_id: int | None,
    now: datetime,
    evidence: list[dict[str, Any]],
) -> str:
    """A badge recognising an organisation (a company hosting fragile publics): its e-mail,
    else its web address, hashed as the recipient; connectors and hooks hear of it as of any
    badge. The caller has checked who may award it."""
    sensitive.refuse_identifiers(sensitive.evidence_texts(evidence))
    assertion_id, salt = str(uuid.uuid4()), secrets.token_hex(16)
    db.execute(
        insert(Assertion).values(
            id=assertion_id,
            badge_class_id=bc.id,
            recipient_org_id=holder.id,
            issued_by=actor_id,
            issuer_id=issuer_id,
            issued_on=now,
            salt=salt,
            evidence=evidence,
            recipient_type="email" if holder.email else "url",
            recipient_identity=hash_identity(contact, salt, fold_case=bool(holder.email)),
        )
    )
    take_status_places(db, issuer_id, [assertion_id])
    issued = [(assertion_id, bc.slug, None)]
    queue_issued(rt, db, issued, now)  # type: ignore[arg-type]
    events.collect(db, events.BadgeIssued(assertion_id, bc.slug, None))
    return assertion_id


def reissue(
    rt: Runtime,
    db: Db,
    old_id: str,
    *,
    basis: Basis,
    reason: str,
    actor_id: int | None,
    now: datetime,
) -> tuple[str, str]:
    """Replace a person's badge by a new assertion, in the caller's transaction: the old one is
    revoked with `reason`, the new one (`replaces` = the old id) is bound to the person's
    contact as of now, keeps the parcours and evidence, and is shared with the same partners.
    `REISSUE` keeps the badge class version and expiry; `RENEWAL` issues the current version
    with a new period. The caller has checked who may do it and writes the audit event.
    Returns (new assertion id, badge class slug)."""
    if basis not in (Basis.REISSUE, Basis.RENEWAL):
        raise ValueError(f"not a basis for reissuing: {basis}")
    row = db.execute(
        select(Assertion, BadgeClass)
        .join(BadgeClass, BadgeClass.id == Assertion.badge_class_id)
        .where(Assertion.id == old_id)
    ).one_or_none()
    if row is None:
        raise NotFound(f"badge « {old_id} » introuvable")
    old, bc = row
    if old.revoked_at is not None:
        raise Conflict(f"le badge {bc.name} est révoqué : il ne peut être remplacé")
    if old.recipient_id is None:
        raise InvalidInput("ce badge reconnaît une organisation, pas une personne")
    badge_class_id, issuer_id, expires = bc.id, old.issuer_id, old.expires
    if basis == Basis.RENEWAL:
        entry = _entries(rt, db, [bc.slug])[bc.slug]
        if not entry.validity_days:
            raise InvalidInput(
                f"le badge {bc.name} n'a pas de durée de validité : il ne se renouvelle pas"
            )
        badge_class_id, issuer_id = entry.id, entry.issuer_id
        expires = now + timedelta(days=entry.validity_days)
    changed = db.execute(
        update(Assertion)
        .where(Assertion.id == old_id, Assertion.revoked_at.is_(None))
        .values(revoked_at=now, revocation_reason=reason)
    ).rowcount
    if changed != 1:
        raise Conflict(f"le badge {bc.name} vient d'être modifié par quelqu'un d'autre")
    contact = recipient_contact(db, old.recipient_id, rt.urls)
    new_id = reissue_row(
        db,
        old,
        badge_class_id=badge_class_id,  # type: ignore[arg-type]
        issuer_id=issuer_id,
        contact=contact,
        issued_by=actor_id,
        now=now,
        expires=expires,
    )
    take_status_places(db, issuer_id, [new_id])
    shares = db.execute(
        select(Share.organisation_id, Share.reason).where(Share.assertion_id == old_id)
    ).all()
    if shares:
        db.execute(
            insert(Share),
            [
                {
                    "assertion_id": new_id,
                    "organisation_id": org_id,
                    "reason": share_reason,
                    "shared_by": actor_id,
                    "shared_at": now,
                }
                for org_id, share_reason in shares
            ],
        )
        queue_shares(db, [(new_id, org_id) for org_id, _ in shares], now)
    issued = [(new_id, bc.slug, old.recipient_id)]
    queue_issued(rt, db, issued, now)
    events.collect(db, events.BadgeIssued(new_id, bc.slug, old.recipient_id))
    return new_id, bc.slug
