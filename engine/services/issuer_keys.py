"""Issuer signing keys: made when a network is published (or on first signature for other
organisations), rotated on demand; a retired key stays published so what it signed still
verifies. Reads (JWK set, key documents, status lists, profiles) never make a key."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import aliased
from sqlmodel import Session

from engine.errors import NotFound
from engine.networks.model import NetworkDefinition
from engine.openbadges import data_integrity as di
from engine.openbadges import keys
from engine.openbadges.urls import PublicUrls
from engine.services.organisations import get_organisation
from engine.services.runtime import Db, Runtime
from engine.store.tables import (
    IssuerKey,
    Organisation,
    utcnow,
)


def active_key_id(organisation_id: Any, algorithm: str = keys.ALGORITHM) -> Any:
    """The id of the organisation's active key of one algorithm (the newest not retired), as
    a scalar subquery: `organisation_id` may be a column, so a query about a badge reads its
    issuer's signing key in the same statement (`enrollments.award_portable`)."""
    k = aliased(IssuerKey)
    return (
        select(k.id)
        .where(
            k.organisation_id == organisation_id,
            k.algorithm == algorithm,
            k.retired_at.is_(None),
        )
        .order_by(k.created_at.desc(), k.id.desc())
        .limit(1)
        .scalar_subquery()
    )


_CURRENT = select(IssuerKey.kid, IssuerKey.private_pem).where(
    IssuerKey.id == active_key_id(bindparam("oid"), bindparam("alg"))
)


def _current(db: Db, org: Organisation, algorithm: str) -> Any:
    """(kid, private_pem) of the organisation's active key of one algorithm, if it has one;
    never makes one. Read in the caller's transaction each time: a key rotated by another
    process is never signed with again (only parsing the PEM is cached, by its bytes)."""
    return db.execute(_CURRENT, {"oid": org.id, "alg": algorithm}).first()


def signing_key(u: PublicUrls, slug: str, kid: str, private_pem: bytes) -> keys.SigningKey:
    return keys.SigningKey(u.key(slug, kid), keys.load_private(private_pem))


def active_key(session: Db, org: Organisation, u: PublicUrls) -> keys.SigningKey:
    """The RS256 key to sign with, made if the organisation has none: for signing paths only."""
    row = _current(session, org, keys.ALGORITHM) or new_key(session, org, utcnow())
    return signing_key(u, org.slug, row.kid, row.private_pem)


def existing_key(session: Db, org: Organisation, u: PublicUrls) -> keys.SigningKey | None:
    """The RS256 key to sign with, or None: for read paths, which never write."""
    row = _current(session, org, keys.ALGORITHM)
    if row is None:
        return None
    return signing_key(u, org.slug, row.kid, row.private_pem)


def proof_key(session: Session, org: Organisation, u: PublicUrls) -> keys.ProofKey:
    """The Ed25519 key that signs Data Integrity proofs, made if the organisation has none."""
    row = _current(session, org, keys.ED25519) or new_key(session, org, utcnow(), keys.ED25519)
    return keys.ProofKey(u.key(org.slug, row.kid), keys.load_ed25519(row.private_pem))


def algorithms(proofs: Iterable[str]) -> list[str]:
    """The key algorithms a network's credential proofs need: RS256 always (VC-JWT and the
    status lists), Ed25519 for `data-integrity`."""
    return [keys.ALGORITHM, *([keys.ED25519] if "data-integrity" in proofs else [])]


def ensure_keys(session: Session, org: Organisation, proofs: Iterable[str]) -> None:
    """Give the issuer an active key of each algorithm its proofs need, so its JWK set and
    profile list them before the first signature (called when a network is published)."""
    for algorithm in algorithms(proofs):
        if _current(session, org, algorithm) is None:
            new_key(session, org, utcnow(), algorithm)


def ensure_network_keys(session: Session, d: NetworkDefinition) -> None:
    """`ensure_keys` for a network being published (or published again, unchanged: a network
    published before keys were made at publication gets them then)."""
    ensure_keys(session, get_organisation(session, d.id), d.credentials.proofs)


def new_key(
    db: Db, org: Organisation | Any, now: datetime, algorithm: str = keys.ALGORITHM
) -> IssuerKey:
    """A new active key for `org` (anything with its `id`), written at once in the caller's
    transaction (a Session or a bare Connection); returns its row, unattached."""
    new = keys.generate(algorithm)
    row = IssuerKey(
        organisation_id=org.id,
        kid=new.kid,
        algorithm=algorithm,
        public_jwk=new.public_jwk,
        private_pem=new.private_pem,
        created_at=now,
    )
    row.id = db.execute(
        insert(IssuerKey)
        .values(
            organisation_id=org.id,
            kid=new.kid,
            algorithm=algorithm,
            public_jwk=new.public_jwk,
            private_pem=new.private_pem,
            created_at=now,
        )
        .returning(IssuerKey.id)
    ).scalar_one()
    return row


def rotate_key(rt: Runtime, slug: str, now: datetime | None = None) -> str:
    """Retire the issuer's signing key and make a new one; returns the new key id. What the old
    key signed still verifies: retired keys stay published."""
    now = now or utcnow()
    with rt.unit_of_work() as session:
        org = get_organisation(session, slug)
        retired = set(
            session.execute(
                select(IssuerKey.algorithm).where(
                    IssuerKey.organisation_id == org.id, IssuerKey.retired_at.is_(None)
                )
            ).scalars()
        )
        session.execute(
            update(IssuerKey)
            .where(IssuerKey.organisation_id == org.id, IssuerKey.retired_at.is_(None))
            .values(retired_at=now)
        )
        for algorithm in sorted(retired - {keys.ALGORITHM}):  # an Ed25519 key is renewed too
            new_key(session, org, now, algorithm)
        return new_key(session, org, now).kid


def public_key(rt: Runtime, slug: str, kid: str, u: PublicUrls) -> dict[str, Any]:
    """What a key's URL answers: the public JWK of an RS256 key; for an Ed25519 key, its
    Multikey verification method."""
    with rt.unit_of_work() as session:
        org = get_organisation(session, slug)
        row = session.execute(
            select(IssuerKey.algorithm, IssuerKey.public_jwk).where(
                IssuerKey.organisation_id == org.id, IssuerKey.kid == kid
            )
        ).first()
    if row is None:
        raise NotFound(f"clé « {kid} » introuvable pour « {slug} »")
    if row.algorithm == keys.ED25519:
        return {"@context": di.MULTIKEY_CONTEXT, **_multikey(slug, row.public_jwk, u)}
    return row.public_jwk


def _multikey(slug: str, jwk: dict[str, Any], u: PublicUrls) -> dict[str, Any]:
    return di.multikey(u.key(slug, jwk["kid"]), u.profile3(slug), keys.ed25519_public(jwk))


def verification_methods(session: Session, org: Organisation, u: PublicUrls) -> list[dict]:
    """The issuer's Ed25519 keys as Multikey verification methods, retired ones included (what
    they signed still verifies), oldest first. Never makes a key."""
    found = session.execute(
        select(IssuerKey.public_jwk)
        .where(IssuerKey.organisation_id == org.id, IssuerKey.algorithm == keys.ED25519)
        .order_by(IssuerKey.created_at, IssuerKey.id)
    ).scalars()
    return [_multikey(org.slug, jwk, u) for jwk in found]


def jwks(rt: Runtime, slug: str) -> dict[str, Any]:
    """The issuer's RS256 keys (VC-JWT), retired ones included. Networks get theirs when
    published, so the set is never empty for an issuer."""
    with rt.unit_of_work() as session:
        org = get_organisation(session, slug)
        found = session.execute(
            select(IssuerKey.public_jwk)
            .where(IssuerKey.organisation_id == org.id, IssuerKey.algorithm == keys.ALGORITHM)
            .order_by(IssuerKey.created_at, IssuerKey.id)
        ).scalars()
        return {"keys": list(found)}
