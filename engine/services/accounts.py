"""Who is calling: staff and partners log in with a password (argon2), systems use API tokens,
participants come in through a single-use link. Only hashes of secrets are stored."""

from __future__ import annotations

import hashlib
import math
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from sqlalchemy import bindparam, case, delete, func, select, update

from engine.errors import Conflict, Forbidden, InvalidInput, NotFound
from engine.roles import OrganisationKind, Role
from engine.services import access, links
from engine.services.access import Action, Actor, ActorKind, Target
from engine.services.organisations import add_staff, find_staff, get_organisation
from engine.services.outbox import name_of
from engine.services.password_links import INVITATION_DAYS, RESET_MINUTES
from engine.services.runtime import Runtime
from engine.statuses import PersonKind
from engine.store.tables import (
    ApiToken,
    AuditEvent,
    CommitteeMember,
    Login,
    LoginAttempt,
    MagicLink,
    Organisation,
    PasswordLink,
    Person,
    StaffRole,
    WebSession,
    as_utc,
    full_name,
    utcnow,
)

SESSION_DAYS = 7
LINK_DAYS = links.LINK_DAYS
MIN_PASSWORD = 12
MAX_PASSWORD = 1000
"""What the login form and the API accept: a longer password could never be typed in."""
MIN_STRENGTH = 3
"""zxcvbn's score (0 to 4): 3 means « safely unguessable », about 10^8 guesses or more."""
_hasher = PasswordHasher()
_DUMMY = _hasher.hash("une phrase de passe factice")


_digest = links.digest


def password_problem(password: str, hints: Sequence[str] = ()) -> str | None:
    """Why `password` is refused, in French, or None. Blank-only, one character repeated, and
    the passwords people use most (zxcvbn's lists and patterns: « motdepasse123 »,
    « azertyuiop12 », a keyboard walk, the person's own name) are refused."""
    if not password.strip():
        return "mot de passe : il ne peut pas être fait que d'espaces"
    if len(password) < MIN_PASSWORD:
        return f"mot de passe : au moins {MIN_PASSWORD} caractères"
    if len(password) > MAX_PASSWORD:
        return f"mot de passe : {MAX_PASSWORD} caractères au plus"
    if len(set(password)) == 1:
        return "mot de passe : un seul caractère répété ne suffit pas"
    from zxcvbn import zxcvbn

    # zxcvbn's cost grows with the length; the first 100 characters tell enough
    if zxcvbn(password[:100], user_inputs=[h for h in hints if h])["score"] < MIN_STRENGTH:
        return (
            "mot de passe trop courant ou trop facile à deviner : choisissez une phrase de "
            "plusieurs mots peu courants, sans votre nom"
        )
    return None


def set_password(rt: Runtime, email: str, password: str, now: datetime | None = None) -> None:
    """Give (or change) a staff member's password, hashed with argon2; it ends their open
    sessions."""
    now = now or utcnow()
    with rt.unit_of_work() as session:
        person = find_staff(session, email)
        hints = [person.email or "", *(person.email or "").split("@"), person.given_name]
        problem = password_problem(password, [*hints, person.family_name, "parcours"])
        if problem:
            raise InvalidInput(problem)
        _store_password(session, person.id, password, now)  # type: ignore[arg-type]


def _open_session(
    session, person_id: int, now: datetime, days: int = SESSION_DAYS
) -> tuple[str, str]:
    """A session of `days` days; one longer than `SESSION_DAYS` is a participant's « rester
    connecté » session, which slides (`links.keep_alive`)."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    session.add(
        WebSession(
            token_hash=_digest(token),
            person_id=person_id,
            csrf=csrf,
            created_at=now,
            expires_at=now + timedelta(days=days),
        )
    )
    return token, csrf


def login(
    rt: Runtime,
    email: str,
    password: str,
    now: datetime | None = None,
    *,
    address: str | None = None,
) -> str:
    """A session token for a staff member or partner; the same error whatever was wrong.
    Failures are counted for the account and for the client's `address`: past a few, each
    attempt waits longer (`TooManyAttempts`), until a success or the window's end."""
    now = now or utcnow()
    keys = [("account", email.strip().lower())] + ([("address", address)] if address else [])
    attempt = _begin_attempt(rt, keys, now)
    token = None
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
            if row is not None:
                token, _ = _open_session(session, row[0], now)
                if _hasher.check_needs_rehash(row[1]):  # argon2's parameters were raised
                    login_row = session.get(Login, row[0])
                    login_row.password_hash = _hasher.hash(password)
        except (VerifyMismatchError, InvalidHashError):
            pass
    if token is None:
        raise Forbidden("adresse e-mail ou mot de passe incorrect")
    _succeeded(rt, attempt, reset="account")
    return token


# --- attempts: a guesser waits longer after each failure -----------------------------------

THROTTLE_WINDOW = timedelta(hours=1)
"""Failures older than this are forgotten: nobody is shut out for good."""
MAX_WAIT = timedelta(minutes=15)
FREE_FAILURES = {"account": 5, "address": 20, "link": 10, "reset": 3, "resetaddr": 20}
"""Failures allowed before any wait. An address is shared by a whole office behind one
router, hence more; then each failure doubles the wait (1 s, 2 s, 4 s...) up to `MAX_WAIT`.
`reset`/`resetaddr` count « mot de passe oublié » requests (each one counts), per e-mail and
per address."""


class TooManyAttempts(Forbidden):
    """Too many recent failures for this account or address: try again after `retry_after`
    seconds."""

    title = "Trop de tentatives"

    def __init__(self, retry_after: int):
        self.retry_after = retry_after
        minutes = math.ceil(retry_after / 60)
        wait = f"{retry_after} s" if retry_after < 60 else f"{minutes} min"
        super().__init__(
            f"trop de tentatives échouées : réessayez dans {wait} (le compteur repart à zéro "
            "après une connexion réussie ou une heure sans échec)"
        )


def _attempt_key(kind: str, value: str) -> str:
    return hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()


def _wait(kind: str, failures: int, last: datetime, now: datetime) -> int:
    """Seconds to wait before the next attempt after `failures` failures, the last at `last`."""
    free = FREE_FAILURES[kind]
    if failures < free or as_utc(last) + THROTTLE_WINDOW <= now:
        return 0
    delay = min(timedelta(seconds=2 ** min(failures - free, 20)), MAX_WAIT)
    return max(0, math.ceil((as_utc(last) + delay - now).total_seconds()))


def _upsert(conn: Any, rows: list[dict[str, Any]]) -> None:
    """Insert the rows that do not exist yet (PostgreSQL and SQLite speak the same clause)."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    conn.execute(insert(LoginAttempt).values(rows).on_conflict_do_nothing(index_elements=["key"]))


def _begin_attempt(rt: Runtime, keys: list[tuple[str, str]], now: datetime) -> list[str]:
    """Refuse the attempt while a key must wait; otherwise count it as a failure now, before
    the password is checked, so a burst of parallel guesses cannot all slip through between
    a check and its count. A success takes it back (`_succeeded`)."""
    rows = dict(sorted((_attempt_key(kind, value), kind) for kind, value in keys))
    stale = now - THROTTLE_WINDOW
    with rt.transaction() as conn:
        # the insert takes the write lock (SQLite) and FOR UPDATE the rows (PostgreSQL): two
        # attempts on one key are counted one after the other
        fresh = {"failures": 0, "last_failure_at": now}
        _upsert(conn, [{"key": key, "kind": kind, **fresh} for key, kind in rows.items()])
        found = conn.execute(
            select(LoginAttempt.key, LoginAttempt.failures, LoginAttempt.last_failure_at)
            .where(LoginAttempt.key.in_(rows))
            .order_by(LoginAttempt.key)
            .with_for_update()
        ).all()
        wait = max((_wait(rows[k], n, last, now) for k, n, last in found), default=0)
        if wait:
            raise TooManyAttempts(wait)
        conn.execute(
            update(LoginAttempt)
            .where(LoginAttempt.key.in_(rows))
            .values(
                failures=case(
                    (LoginAttempt.last_failure_at < stale, 1), else_=LoginAttempt.failures + 1
                ),
                last_failure_at=now,
            )
        )
        # forget old failures; rows another attempt holds are left for the next one
        forgotten = (
            select(LoginAttempt.key)
            .where(LoginAttempt.last_failure_at < stale)
            .limit(500)
            .with_for_update(skip_locked=True)
        )
        conn.execute(delete(LoginAttempt).where(LoginAttempt.key.in_(forgotten)))
    return list(rows)


def _succeeded(rt: Runtime, keys: list[str], reset: str | None = None) -> None:
    """Take back the failure `_begin_attempt` counted; `reset` kind's counter restarts."""
    with rt.transaction() as conn:
        conn.execute(
            update(LoginAttempt)
            .where(LoginAttempt.key.in_(keys), LoginAttempt.failures > 0)
            .values(failures=LoginAttempt.failures - 1)
        )
        if reset:
            conn.execute(
                delete(LoginAttempt).where(LoginAttempt.key.in_(keys), LoginAttempt.kind == reset)
            )


def open_link(
    rt: Runtime,
    token: str,
    *,
    address: str | None,
    now: datetime | None = None,
    remember: bool = False,
) -> str:
    """`use_magic_link`, with failed uses counted per client address: whoever tries link after
    link waits longer and longer."""
    now = now or utcnow()
    attempt = _begin_attempt(rt, [("link", address)], now) if address else []
    session_token = use_magic_link(rt, token, now=now, remember=remember)
    _succeeded(rt, attempt)
    return session_token


def logout(rt: Runtime, token: str, *, everywhere: bool = False) -> int:
    """End this session, or with `everywhere` every session of its person (a phone lost, a
    « rester connecté » left on a shared computer). Returns how many sessions ended."""
    with rt.unit_of_work() as session:
        mine = WebSession.token_hash == _digest(token)
        if everywhere:
            owner = select(WebSession.person_id).where(mine).scalar_subquery()
            mine = WebSession.person_id == owner
        return session.execute(delete(WebSession).where(mine)).rowcount


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


_OPERATOR = Actor.system()


def _own_account(session: Any, by: Actor, staff: str | int) -> Person:
    """The staff account `staff`, if `by` may manage it (`ACCOUNT_MANAGE`: its holder, or the
    server's operator)."""
    person = find_staff(session, staff)
    access.ensure(session, by, Action.ACCOUNT_MANAGE, Target(account_id=person.id))
    return person


def create_api_token(
    rt: Runtime,
    staff: str | int,
    name: str,
    now: datetime | None = None,
    *,
    by: Actor = _OPERATOR,
) -> str:
    """A new API token acting as `staff`; only its hash is kept, so it is shown once. `by`
    defaults to the operator's command line; the web passes the signed-in member."""
    name = name.strip()
    if not name:
        raise InvalidInput("nom du jeton : obligatoire (par ex. le système qui l'utilise)")
    if len(name) > 100:
        raise InvalidInput("nom du jeton : 100 caractères au plus")
    now = now or utcnow()
    token = "prc_" + secrets.token_urlsafe(32)
    with rt.unit_of_work() as session:
        person = _own_account(session, by, staff)
        session.add(
            ApiToken(person_id=person.id, name=name, token_hash=_digest(token), created_at=now)
        )
        if by.is_staff:  # from « Mon compte »; the operator's tokens are set up on the server
            _audit_staff(session, by, "api_token_created", now, person_id=person.id)
    return token


def _view(token: ApiToken) -> TokenView:
    revoked = as_utc(token.revoked_at) if token.revoked_at else None
    return TokenView(token.id, token.name, as_utc(token.created_at), revoked)


def api_tokens(rt: Runtime, staff: str | int, *, by: Actor = _OPERATOR) -> list[TokenView]:
    """A staff member's tokens, oldest first, revoked ones included (they say when)."""
    with rt.unit_of_work() as session:
        person = _own_account(session, by, staff)
        rows = session.execute(
            select(ApiToken).where(ApiToken.person_id == person.id).order_by(ApiToken.id)
        ).scalars()
        return [_view(t) for t in rows]


def revoke_api_token(
    rt: Runtime, token_id: int, now: datetime | None = None, *, by: Actor = _OPERATOR
) -> TokenView:
    """Stops the token at once, in every process: it is checked on each call. Revoking it again
    changes nothing. Someone else's token is « introuvable », as if it did not exist."""
    now = now or utcnow()
    with rt.unit_of_work() as session:
        token = session.get(ApiToken, token_id)
        allowed = token is not None and access.check(
            session, by, Action.ACCOUNT_MANAGE, Target(account_id=token.person_id)
        )
        if token is None or not allowed:
            raise NotFound(f"jeton d'API n° {token_id} introuvable")
        if token.revoked_at is None:
            token.revoked_at = now
            if by.is_staff:  # as on creation: « Mon compte »'s changes are audited
                _audit_staff(
                    session, by, "api_token_revoked", now, person_id=token.person_id, token=token.id
                )
        return _view(token)


# --- offboarding: a role removed, an account disabled ---------------------------------------


@dataclass(frozen=True)
class TeamRole:
    organisation: str
    organisation_name: str
    role: str
    label: str


@dataclass(frozen=True)
class TeamMember:
    """A staff member as those who manage the team see them, with the roles they may remove."""

    id: int
    name: str
    email: str | None
    roles: list[TeamRole]


@dataclass(frozen=True)
class Disabled:
    """What disabling an account ended."""

    roles: int
    sessions: int
    tokens: int


def team(rt: Runtime, *, by: Actor) -> list[TeamMember]:
    """The staff holding a role at an organisation `by` may manage (`STAFF_MANAGE`: a
    director's structure, the structures and partners of a network admin's network), with
    those roles only."""
    rule = access.PERMISSIONS[Action.STAFF_MANAGE]
    query = (
        select(Person.id, Person.given_name, Person.family_name, Person.email)
        .add_columns(Organisation.slug, Organisation.name, StaffRole.role)
        .join(StaffRole, StaffRole.person_id == Person.id)
        .join(Organisation, Organisation.id == StaffRole.organisation_id)
        .where(Person.kind == PersonKind.STAFF, Person.erased_at.is_(None))
        .order_by(Person.family_name, Person.given_name, Person.id, Organisation.name)
    )
    if not by.is_system:
        if not by.is_staff or by.person_id is None:
            raise Forbidden(access.refusal(Action.STAFF_MANAGE, by))
        reached = access.structures_staffed(by.person_id, rule.roles)
        if rule.network_admin:
            reached = reached.union(access.structures_administered(by.person_id))
        query = query.where(StaffRole.organisation_id.in_(reached))
    members: dict[int, TeamMember] = {}
    with rt.reading() as conn:
        for pid, given, family, email, slug, org_name, role in conn.execute(query):
            member = members.setdefault(pid, TeamMember(pid, full_name(given, family), email, []))
            member.roles.append(TeamRole(slug, org_name, role, Role(role).label))
    return list(members.values())


def _audit_staff(session: Any, by: Actor, kind: str, now: datetime, **details: Any) -> None:
    # ids and slugs only: the audit log keeps no name or e-mail
    session.add(AuditEvent(at=now, actor_id=by.person_id, kind=kind, details=details))


def _leave_committees(session: Any, person_id: int, organisation_id: int | None = None) -> None:
    """The committee seats a person held for a structure (all of them without one)."""
    gone = delete(CommitteeMember).where(CommitteeMember.person_id == person_id)
    if organisation_id is not None:
        gone = gone.where(CommitteeMember.structure_id == organisation_id)
    session.execute(gone)


def remove_role(
    rt: Runtime,
    staff: str | int,
    organisation: str,
    role: str,
    *,
    by: Actor,
    now: datetime | None = None,
) -> None:
    """Take one role away from a staff member, at once: every request reads roles afresh. Once
    they hold no role left at the structure, their committee seats for it go too."""
    now = now or utcnow()
    with rt.unit_of_work() as session:
        org = get_organisation(session, organisation)
        access.ensure(session, by, Action.STAFF_MANAGE, Target(structure_id=org.id))
        person = find_staff(session, staff)
        held = session.execute(
            select(StaffRole).where(
                StaffRole.person_id == person.id,
                StaffRole.organisation_id == org.id,
                StaffRole.role == role,
            )
        ).scalar_one_or_none()
        if held is None:
            raise NotFound(f"{person.display_name} n'a pas le rôle « {role} » à {org.name}")
        session.delete(held)
        session.flush()
        left = session.execute(
            select(StaffRole.id).where(
                StaffRole.person_id == person.id, StaffRole.organisation_id == org.id
            )
        ).first()
        if left is None:
            _leave_committees(session, person.id, org.id)
        what = {"person_id": person.id, "organisation": org.slug, "role": role}
        _audit_staff(session, by, "staff_role_removed", now, **what)


def disable(rt: Runtime, staff: str | int, *, by: Actor, now: datetime | None = None) -> Disabled:
    """Offboard a staff member at once: every role and committee seat goes, the password is
    removed, open sessions end and API tokens are revoked, in every server process (each
    request checks them). Whoever disables must manage every organisation where the person
    holds a role. Giving a role and a password again (`parcours staff add`, `staff password`)
    brings them back."""
    now = now or utcnow()
    with rt.unit_of_work() as session:
        person = find_staff(session, staff)
        held_roles = select(StaffRole).where(StaffRole.person_id == person.id)
        roles = session.execute(held_roles).scalars().all()
        if not roles and not by.is_system:
            raise Forbidden(access.refusal(Action.STAFF_MANAGE, by))
        for organisation_id in sorted({r.organisation_id for r in roles}):
            access.ensure(session, by, Action.STAFF_MANAGE, Target(structure_id=organisation_id))
        for held in roles:
            session.delete(held)
        _leave_committees(session, person.id)
        session.execute(delete(Login).where(Login.person_id == person.id))
        sessions = session.execute(delete(WebSession).where(WebSession.person_id == person.id))
        tokens = session.execute(
            update(ApiToken)
            .where(ApiToken.person_id == person.id, ApiToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        _audit_staff(session, by, "staff_disabled", now, person_id=person.id, roles=len(roles))
        return Disabled(len(roles), sessions.rowcount, tokens.rowcount)


# --- staff accounts from the web: roles given, invitations, password links (issue 19) -------

GRANTABLE = {
    OrganisationKind.STRUCTURE.value: (Role.CIP, Role.ENCADRANT, Role.DIRECTEUR),
    OrganisationKind.PARTNER.value: (Role.PARTNER,),
}
"""The roles given from the web, by kind of organisation; a network admin is named by the
server's operator (`parcours staff add`)."""


@dataclass(frozen=True)
class Granted:
    person_id: int
    invited: bool
    """True when an invitation to choose a password left by e-mail (no password yet)."""


def _email_problem(email: str) -> str | None:
    local, at, domain = email.partition("@")
    if not at or not local or "." not in domain or " " in email or len(email) > 254:
        return f"adresse e-mail : « {email} » n'est pas une adresse valide"
    return None


def _staff_by_email(session: Any, email: str) -> Person | None:
    return (
        session.execute(
            select(Person).where(
                Person.kind == PersonKind.STAFF,
                func.lower(Person.email) == email.lower(),
                Person.erased_at.is_(None),
            )
        )
        .scalars()
        .first()
    )


def _queue_password_mail(
    rt: Runtime,
    session: Any,
    person: Person,
    purpose: str,
    by: Actor,
    now: datetime,
    **context: Any,
) -> None:
    """An e-mail with a link for `person` to choose a password, through the outbox: the link is
    minted when the mail leaves (`password_links.mint`), so the queued row holds neither the
    token nor the person's name, and a mail held back by a mail server outage does not arrive
    with a link already expired."""
    from engine.services.outbox import queue_link_email

    queue_link_email(
        session,
        key=f"{purpose}:{person.id}:{secrets.token_hex(8)}",
        to=person.email,  # type: ignore[arg-type]
        template="motdepasse" if purpose == "reset" else "invitation",
        person_id=person.id,  # type: ignore[arg-type]
        created_by=by.person_id,
        now=now,
        link={"kind": "password", "purpose": purpose},
        given_name=name_of(person.id, "given"),  # type: ignore[arg-type]
        email=name_of(person.id, "email"),  # type: ignore[arg-type]
        **context,
    )


def grant_role(
    rt: Runtime,
    email: str,
    organisation: str,
    role: str,
    *,
    by: Actor,
    given_name: str = "",
    family_name: str = "",
    now: datetime | None = None,
) -> Granted:
    """Give a role at an organisation `by` manages (`STAFF_GRANT`: a director at their
    structure, a network admin at their network's structures and partners), creating the
    account when the e-mail has none. Whoever has no password yet (a new account, a disabled
    one) is invited by e-mail to choose one: nobody types a password for someone else."""
    now = now or utcnow()
    email, given_name, family_name = email.strip(), given_name.strip(), family_name.strip()
    problem = _email_problem(email)
    if problem:
        raise InvalidInput(problem)
    with rt.unit_of_work() as session:
        org = get_organisation(session, organisation)
        access.ensure(session, by, Action.STAFF_GRANT, Target(structure_id=org.id))
        allowed = GRANTABLE.get(org.kind, ())
        if role not in {r.value for r in allowed}:
            labels = ", ".join(r.label for r in allowed) or "aucun"
            raise InvalidInput(f"rôle : à {org.name}, on peut donner : {labels}")
        person = _staff_by_email(session, email)
        if person is None:
            if not given_name or not family_name:
                raise InvalidInput("prénom et nom : obligatoires pour un nouveau compte")
            if len(given_name) > 100 or len(family_name) > 100:
                raise InvalidInput("prénom et nom : 100 caractères au plus chacun")
        else:
            held = session.execute(
                select(StaffRole.id).where(
                    StaffRole.person_id == person.id,
                    StaffRole.organisation_id == org.id,
                    StaffRole.role == role,
                )
            ).first()
            if held is not None:
                raise Conflict(
                    f"{person.display_name} a déjà le rôle {Role(role).label} à {org.name}"
                )
        person = add_staff(
            session,
            person.email if person else email,  # type: ignore[arg-type]
            given_name,
            family_name,
            [(org.slug, role)],
        )
        invited = session.get(Login, person.id) is None
        if invited:
            _queue_password_mail(
                rt,
                session,
                person,
                "invitation",
                by,
                now,
                organisation=org.name,
                role=Role(role).label,
                inviter=(
                    name_of(by.person_id) if by.is_staff and by.person_id else "L'équipe Parcours"
                ),
                days=INVITATION_DAYS,
            )
        what = {"person_id": person.id, "organisation": org.slug, "role": role}
        _audit_staff(session, by, "staff_role_granted", now, invited=invited, **what)
        return Granted(person.id, invited)  # type: ignore[arg-type]


@dataclass(frozen=True)
class RoleChoice:
    """A role `by` may give at an organisation, as the team page offers it."""

    organisation: str
    organisation_name: str
    role: str
    label: str


def role_choices(rt: Runtime, *, by: Actor) -> list[RoleChoice]:
    """The roles `by` may give (`STAFF_GRANT`), at the organisations they manage: the list
    form of `grant_role`'s check."""
    if not by.is_staff or by.person_id is None:
        return []
    rule = access.PERMISSIONS[Action.STAFF_GRANT]
    reached = access.structures_staffed(by.person_id, rule.roles)
    if rule.network_admin:
        reached = reached.union(access.structures_administered(by.person_id))
    with rt.reading() as conn:
        rows = conn.execute(
            select(Organisation.slug, Organisation.name, Organisation.kind)
            .where(Organisation.id.in_(reached))
            .order_by(Organisation.kind.desc(), Organisation.name)  # structures, then partners
        ).all()
    return [
        RoleChoice(slug, name, role.value, role.label)
        for slug, name, kind in rows
        for role in GRANTABLE.get(kind, ())
    ]


def ask_password_reset(
    rt: Runtime, email: str, *, address: str | None = None, now: datetime | None = None
) -> None:
    """« Mot de passe oublié »: when `email` is an active staff account's (one that holds a
    role), a one-hour, single-use link leaves by e-mail. The caller learns nothing either way:
    the same answer, and each request counts towards a wait, per e-mail and per address, so
    nobody floods a mailbox."""
    now = now or utcnow()
    email = email.strip()
    keys = [("reset", email.lower())] + ([("resetaddr", address)] if address else [])
    _begin_attempt(rt, keys, now)  # never taken back: every request counts
    if _email_problem(email):
        return
    with rt.unit_of_work() as session:
        person = _staff_by_email(session, email)
        active = person is not None and (
            session.execute(select(StaffRole.id).where(StaffRole.person_id == person.id)).first()
        )
        if not active:
            return
        _queue_password_mail(
            rt,
            session,
            person,
            "reset",
            Actor.anonymous(),
            now,  # type: ignore[arg-type]
            minutes=RESET_MINUTES,
        )
        _audit_staff(session, Actor.anonymous(), "password_reset_asked", now, person_id=person.id)  # type: ignore[union-attr]


@dataclass(frozen=True)
class PasswordLinkView:
    """Who a valid password link is for, as its page greets them."""

    given_name: str
    email: str
    purpose: str


_LINK_GONE = (
    "ce lien n'est plus valable (il a déjà servi, ou il a expiré) : demandez-en un autre avec "
    "« Mot de passe oublié » sur la page de connexion"
)


def _valid_link(session: Any, token: str, now: datetime) -> PasswordLink:
    link = session.get(PasswordLink, _digest(token))
    if link is None or link.used_at is not None or as_utc(link.expires_at) <= now:
        raise Forbidden(_LINK_GONE)
    return link


def password_link(rt: Runtime, token: str, now: datetime | None = None) -> PasswordLinkView:
    """The account a password link opens, or Forbidden when it is used, expired or unknown."""
    now = now or utcnow()
    with rt.unit_of_work() as session:
        link = _valid_link(session, token, now)
        person = session.get(Person, link.person_id)
        return PasswordLinkView(person.given_name, person.email or "", link.purpose)  # type: ignore[union-attr]


def use_password_link(
    rt: Runtime,
    token: str,
    password: str,
    *,
    address: str | None = None,
    now: datetime | None = None,
) -> str:
    """Choose a password with a link, once: the person's open sessions end (someone who knew
    the old password is out), and their e-mail is returned for the login form. Failed uses
    count per address, like participants' links."""
    now = now or utcnow()
    attempt = _begin_attempt(rt, [("link", address)], now) if address else []
    with rt.unit_of_work() as session:
        _valid_link(session, token, now)
    _succeeded(rt, attempt)  # the link was good: a refused password is no guess
    with rt.unit_of_work() as session:
        link = _valid_link(session, token, now)
        person = session.get(Person, link.person_id)
        assert person is not None and person.id is not None
        hints = [person.email or "", *(person.email or "").split("@"), person.given_name]
        problem = password_problem(password, [*hints, person.family_name, "parcours"])
        if problem:
            raise InvalidInput(problem)
        done = session.execute(
            update(PasswordLink)
            .where(PasswordLink.token_hash == link.token_hash, PasswordLink.used_at.is_(None))
            .values(used_at=now)
        )
        if done.rowcount != 1:
            raise Forbidden(_LINK_GONE)
        _store_password(session, person.id, password, now)
        me = Actor(person.id, ActorKind.STAFF)
        _audit_staff(session, me, "password_chosen", now, person_id=person.id, purpose=link.purpose)
        return person.email or ""


def _store_password(session: Any, person_id: int, password: str, now: datetime) -> None:
    """The new hash; a new password ends every open session."""
    login = session.get(Login, person_id)
    if login is None:
        session.add(
            Login(person_id=person_id, password_hash=_hasher.hash(password), changed_at=now)
        )
    else:
        login.password_hash = _hasher.hash(password)
        login.changed_at = now
    session.execute(delete(WebSession).where(WebSession.person_id == person_id))


def change_password(
    rt: Runtime, current: str, new: str, *, by: Actor, now: datetime | None = None
) -> None:
    """A signed-in member changes their own password, giving the current one: a session left
    open on a shared computer cannot lock its owner out. Every session ends, this one too."""
    now = now or utcnow()
    with rt.unit_of_work() as session:
        if by.person_id is None:
            raise Forbidden(access.refusal(Action.ACCOUNT_MANAGE, by))
        person = _own_account(session, by, by.person_id)
        login = session.get(Login, person.id)
        try:
            _hasher.verify(login.password_hash if login else _DUMMY, current)
            if login is None:
                raise VerifyMismatchError
        except (VerifyMismatchError, InvalidHashError):
            raise InvalidInput("mot de passe actuel : incorrect") from None
        hints = [person.email or "", *(person.email or "").split("@"), person.given_name]
        problem = password_problem(new, [*hints, person.family_name, "parcours"])
        if problem:
            raise InvalidInput(f"nouveau {problem}")
        _store_password(session, person.id, new, now)  # type: ignore[arg-type]
        _audit_staff(session, by, "password_changed", now, person_id=person.id)


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
    from engine.services.outbox import queue_link_email
    from engine.store.tables import Organisation

    now = now or utcnow()
    with rt.unit_of_work() as session:
        token, person = links.mint(session, participant_id, by=by, now=now)
        actor_id = by.person_id
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


def use_magic_link(
    rt: Runtime, token: str, now: datetime | None = None, *, remember: bool = False
) -> str:
    """Trade a link for a session, once. `remember` (« rester connecté sur ce téléphone »)
    makes it a long, sliding session (`links.LONG_SESSION_DAYS`)."""
    now = now or utcnow()
    with rt.unit_of_work() as session:
        link = session.get(MagicLink, _digest(token))
        if link is None or link.used_at is not None or as_utc(link.expires_at) <= now:
            raise Forbidden(
                "ce lien n'est plus valable : demandez-en un nouveau ci-dessous, ou à votre CIP"
            )
        done = session.execute(
            update(MagicLink)
            .where(MagicLink.token_hash == link.token_hash, MagicLink.used_at.is_(None))
            .values(used_at=now)
        )
        if done.rowcount != 1:
            raise Forbidden(
                "ce lien a déjà servi : demandez-en un nouveau ci-dessous, ou à votre CIP"
            )
        days = links.LONG_SESSION_DAYS if remember else SESSION_DAYS
        session_token, _ = _open_session(session, link.person_id, now, days)
        return session_token
