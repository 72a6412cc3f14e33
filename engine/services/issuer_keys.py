"""Issuer signing keys: made on first need, rotated on demand; a retired key stays published
so what it signed still verifies."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlmodel import Session

from engine.errors import NotFound
from engine.openbadges import keys
from engine.openbadges.urls import PublicUrls
from engine.services.organisations import get_organisation
from engine.services.runtime import Runtime
from engine.store.tables import (
    IssuerKey,
    Organisation,
    utcnow,
)


def active_key(session: Session, org: Organisation, u: PublicUrls) -> keys.SigningKey:
    row = session.execute(
        select(IssuerKey)
        .where(IssuerKey.organisation_id == org.id, IssuerKey.retired_at.is_(None))
        .order_by(IssuerKey.created_at.desc(), IssuerKey.id.desc())
    ).first()
    row_obj = row[0] if row is not None else new_key(session, org, utcnow())
    return keys.SigningKey(u.key(org.slug, row_obj.kid), keys.load_private(row_obj.private_pem))


def new_key(session: Session, org: Organisation, now: datetime) -> IssuerKey:
    new = keys.generate()
    row = IssuerKey(
        organisation_id=org.id,
        kid=new.kid,
        algorithm=keys.ALGORITHM,
        public_jwk=new.public_jwk,
        private_pem=new.private_pem,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row


def rotate_key(rt: Runtime, slug: str, now: datetime | None = None) -> str:
    """Retire the issuer's signing key and make a new one; returns the new key id. What the old
    key signed still verifies: retired keys stay published."""
    now = now or utcnow()
    with rt.unit_of_work() as session:
        org = get_organisation(session, slug)
        session.execute(
            update(IssuerKey)
            .where(IssuerKey.organisation_id == org.id, IssuerKey.retired_at.is_(None))
            .values(retired_at=now)
        )
        new = new_key(session, org, now)
        return new.kid


def public_key(rt: Runtime, slug: str, kid: str) -> dict[str, Any]:
    with rt.unit_of_work() as session:
        org = get_organisation(session, slug)
        jwk = session.execute(
            select(IssuerKey.public_jwk).where(
                IssuerKey.organisation_id == org.id, IssuerKey.kid == kid
            )
        ).scalar_one_or_none()
    if jwk is None:
        raise NotFound(f"clé « {kid} » introuvable pour « {slug} »")
    return jwk


def jwks(rt: Runtime, slug: str) -> dict[str, Any]:
    with rt.unit_of_work() as session:
        org = get_organisation(session, slug)
        found = session.execute(
            select(IssuerKey.public_jwk)
            .where(IssuerKey.organisation_id == org.id)
            .order_by(IssuerKey.created_at)
        ).scalars()
        return {"keys": list(found)}
