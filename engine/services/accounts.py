"""Who is calling: staff and partners log in with a password (argon2), systems use API tokens,
participants come in through a single-use link. Only hashes of secrets are stored."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from sqlalchemy import bindparam, delete, func, select, update

from engine.errors import Forbidden, InvalidInput, NotFound
from engine.services import access
from engine.services.access import Action, Actor, ActorKind, Target
from engine.services.organisations import find_staff
from engine.services.runtime import Runtime
from engine.statuses import PersonKind
from engine.store.tables import (
    ApiToken,
    Login,
    MagicLink,
    Person,
    WebSession,
    as_utc,
    full_name,
    utcnow,
)

SESSION_DAYS = 7
LINK_DAYS = 7
MIN_PASSWORD = 12
_hasher = PasswordHasher()
_DUMMY = _hasher.hash("une phrase de passe factice")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def set_password(rt: Runtime, email: str, password: str, now: datetime | None = None) -> None:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"mot de passe : au moins {MIN_PASSWORD} caractères")
    now = now or utcnow()
    with rt.unit_of_work() as session:
        person = find_staff(session, email)
        login = session.get(Login, person.id)
        if login is None:
            session.add(
                Login(person_id=person.id, password_hash=_hasher.hash(password), changed_at=now)
            )
        else:
            login.password_hash = _hasher.hash(password)
            login.changed_at = now
        # a new password ends every open session
        session.execute(delete(WebSession).where(WebSession.person_id == person.id))


def _open_session(session, person_id: int, now: datetime) -> tuple[str, str]:
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    session.add(
        WebSession(
            token_hash=_digest(token),
            person_id=person_id,
            csrf=csrf,
            created_at=now,
            expires_at=now + timedelta(days=SESSION_DAYS),
        )
    )
    return token, csrf


def login(rt: Runtime, email: str, password: str, now: datetime | None = None) -> str:
    """A session token for a staff member or partner; the same error whatever was wrong."""
    now = now or utcnow()
    refused = Forbidden("adresse e-mail ou mot de passe incorrect")
    with rt.unit_of_work() as session:
        row = session.execute(
            select(Person.id, Login.password_hash)
            .join(Login, Login.person_id == Person.id)
            .where(
                Person.kind == PersonKind.STAFF, func.lower(Person.email) == email.strip().lower()
            )
        ).first()
        try:
            _hasher.verify(row[1] if row else _DUMMY, password)
        except (VerifyMismatchError, InvalidHashError):
            raise refused from None
        if row is None:
            raise refused
        token, _ = _open_session(session, row[0], now)
        return token


def logout(rt: Runtime, token: str) -> None:
    with rt.unit_of_work() as session:
        session.execute(delete(WebSession).where(WebSession.token_hash == _digest(token)))


_WHO = (Person.id, Person.kind, Person.given_name, Person.family_name, Person.email)
# Both lookups start from the credential's unique index and reach the person by primary key,
# and check `erased_at` in Python: a filter on person in SQL let PostgreSQL, before its first
# ANALYZE of a freshly loaded table, plan a scan of every person per request (2.7 ms of the
# server's time at 1,400 people).
_BY_TOKEN = select(*_WHO, Person.erased_at).where(
    Person.id
    == select(ApiToken.person_id)
    .where(ApiToken.token_hash == bindparam("digest"), ApiToken.revoked_at.is_(None))
    .scalar_subquery()
)
_BY_SESSION = select(*_WHO, Person.erased_at, WebSession.csrf, WebSession.expires_at).where(
    Person.id == WebSession.person_id, WebSession.token_hash == bindparam("digest")
)


def _principal(who: Person | Any, csrf: str | None) -> Actor:
    """From a Person or a row of `_WHO` columns."""
    return Actor(
        who.id, ActorKind(who.kind), full_name(who.given_name, who.family_name), who.email, csrf
    )


def from_session(rt: Runtime, token: str, now: datetime | None = None) -> Actor | None:
    """Asked on every page and cookie request: one Core read, no ORM session or commit."""
    now = now or utcnow()
    with rt.reading() as conn:
        row = conn.execute(_BY_SESSION, {"digest": _digest(token)}).first()
    if row is None or row.erased_at is not None or as_utc(row.expires_at) <= now:
        return None
    return _principal(row, row.csrf)


@dataclass(frozen=True)
class TokenView:
    """An API token as its owner's administrator sees it: never the secret itself."""

    id: int
    name: str
    created_at: datetime
    revoked_at: datetime | None


def create_api_token(rt: Runtime, staff: str | int, name: str, now: datetime | None = None) -> str:
    name = name.strip()
    if not name:
        raise InvalidInput("nom du jeton : obligatoire (par ex. le système qui l'utilise)")
    if len(name) > 100:
        raise InvalidInput("nom du jeton : 100 caractères au plus")
    now = now or utcnow()
    token = "prc_" + secrets.token_urlsafe(32)
    with rt.unit_of_work() as session:
        person = find_staff(session, staff)
        session.add(
            ApiToken(person_id=person.id, name=name, token_hash=_digest(token), created_at=now)
        )
    return token


def _view(token: ApiToken) -> TokenView:
    revoked = as_utc(token.revoked_at) if token.revoked_at else None
    return TokenView(token.id, token.name, as_utc(token.created_at), revoked)


def api_tokens(rt: Runtime, staff: str | int) -> list[TokenView]:
    """A staff member's tokens, oldest first, revoked ones included (they say when)."""
    with rt.unit_of_work() as session:
        person = find_staff(session, staff)
        rows = session.execute(
            select(ApiToken).where(ApiToken.person_id == person.id).order_by(ApiToken.id)
        ).scalars()
        return [_view(t) for t in rows]


def revoke_api_token(rt: Runtime, token_id: int, now: datetime | None = None) -> TokenView:
    """Stops the token at once, in every process: it is checked on each call. Revoking it again
    changes nothing."""
    now = now or utcnow()
    with rt.unit_of_work() as session:
        token = session.get(ApiToken, token_id)
        if token is None:
            raise NotFound(f"jeton d'API n° {token_id} introuvable")
        if token.revoked_at is None:
            token.revoked_at = now
        return _view(token)


def principal(rt: Runtime, ref: str | int) -> Actor:
    """The Actor of a person by id or a staff member by e-mail (CLI `--by`, scripts)."""
    with rt.unit_of_work() as session:
        if isinstance(ref, int) or str(ref).isdigit():
            person = session.get(Person, int(ref))
            if person is None or person.erased_at is not None:
                raise NotFound(f"personne n° {ref} introuvable")
        else:
            person = find_staff(session, ref)
        return _principal(person, None)


def from_api_token(rt: Runtime, token: str) -> Actor | None:
    """Asked on every API call with a bearer: one Core read, no ORM session or commit."""
    with rt.reading() as conn:
        row = conn.execute(_BY_TOKEN, {"digest": _digest(token)}).first()
    return _principal(row, None) if row and row.erased_at is None else None


def magic_link(
    rt: Runtime,
    participant_id: int,
    *,
    by: Actor,
    now: datetime | None = None,
    send: bool = False,
) -> str:
    """A link token for a participant, made by staff of the participant's structure (or for a
    supporter, by the system when they ask, see `privacy`). With `send`, a link also leaves by
    e-mail when the person has an address: the outbox row holds a reference, and the worker
    mints that link when it sends (`outbox.queue_link_email`), so no token is ever stored in
    clear; the token returned is another one, for the screen."""
    from engine.services.outbox import name_of, queue_link_email
    from engine.store.tables import Organisation

    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    with rt.unit_of_work() as session:
        person = session.get(Person, participant_id)
        kinds = (PersonKind.PARTICIPANT, PersonKind.SUPPORTER)
        if person is None or person.kind not in kinds or person.erased_at:
            raise NotFound(f"participant n° {participant_id} introuvable")
        access.ensure(
            session,
            by,
            Action.PARTICIPANT_LINK,
            Target(structure_id=person.structure_id, participant_id=person.id),
        )
        actor_id = by.person_id
        session.add(
            MagicLink(
                token_hash=_digest(token),
                person_id=person.id,
                created_by=actor_id,
                created_at=now,
                expires_at=now + timedelta(days=LINK_DAYS),
            )
        )
        if send and person.email:
            structure = (
                session.get(Organisation, person.structure_id) if person.structure_id else None
            )
            queue_link_email(
                session,
                key=f"lien:{person.id}:{secrets.token_hex(8)}",
                to=person.email,
                now=now,
                template="lien",
                person_id=person.id,  # type: ignore[arg-type]
                created_by=actor_id,
                given_name=name_of(person.id, "given"),  # type: ignore[arg-type]
                structure=structure.name if structure else "Votre structure",
                days=LINK_DAYS,
            )
    return token


def use_magic_link(rt: Runtime, token: str, now: datetime | None = None) -> str:
    """Trade a link for a session, once."""
    now = now or utcnow()
    with rt.unit_of_work() as session:
        link = session.get(MagicLink, _digest(token))
        if link is None or link.used_at is not None or as_utc(link.expires_at) <= now:
            raise Forbidden("ce lien n'est plus valable : demandez-en un autre à votre CIP")
        done = session.execute(
            update(MagicLink)
            .where(MagicLink.token_hash == link.token_hash, MagicLink.used_at.is_(None))
            .values(used_at=now)
        )
        if done.rowcount != 1:
            raise Forbidden("ce lien a déjà servi : demandez-en un nouveau à votre conseiller")
        session_token, _ = _open_session(session, link.person_id, now)
        return session_token
