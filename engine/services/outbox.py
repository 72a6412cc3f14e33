"""The outbox: deliveries (partner webhooks, connectors, e-mail) are rows written in the same
transaction as the event that causes them, then sent by workers.

A worker claims due rows in one UPDATE (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so two
workers never claim the same row; SQLite has one writer at a time), sends them outside any
transaction, then marks each sent, or schedules a retry with exponential backoff, or, after
`MAX_ATTEMPTS`, leaves it dead for an administrator to retry. A worker that dies mid-delivery
leaves its claim to expire (`LEASE`); the row is sent again with the same idempotency key,
which the receiver uses to take it once. A row that cannot even be built (a template that
fails, a header the mail library refuses, a payload a connector chokes on) is treated like a
failed send: retried, then dead; the other rows go on.

An e-mail that carries a sign-in link is built when it is sent (`queue_link_email`): its row
holds the template, references to people and to the link, never a token; the worker mints the
link (only its hash is stored) and reads names as they are then, so an erased person's name
is not in the row.
"""

from __future__ import annotations

import os
import smtplib
import socket
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from functools import cache
from typing import Any

import httpx
from sqlalchemy import Connection, Text, bindparam, cast, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from engine import webhooks
from engine.connectors import DeliveryFailed, IssuedFor
from engine.errors import Forbidden, NotFound
from engine.services import access, keyset, links, password_links
from engine.services.access import Action, Actor, Target
from engine.services.runtime import Runtime
from engine.store.tables import (
    Assertion,
    BadgeClass,
    Delivery,
    Organisation,
    PartnerWebhook,
    Person,
    Share,
    utcnow,
)

BACKOFF = timedelta(seconds=30)
MAX_BACKOFF = timedelta(hours=6)
MAX_ATTEMPTS = 12  # about 35 hours of retries before a row is dead
LEASE = timedelta(minutes=5)

Db = Connection | Session


def backoff(attempts: int) -> timedelta:
    return min(BACKOFF * (2 ** max(attempts - 1, 0)), MAX_BACKOFF)


def enqueue(
    db: Db,
    *,
    key: str,
    channel: str,
    target: str,
    payload: dict[str, Any],
    now: datetime,
    network: str | None = None,
) -> None:
    """Queue one delivery in the caller's transaction; a key already queued is left as it is.
    `network` is the network the delivery is about: its admins see and retry it."""
    dialect = db.get_bind().dialect.name if isinstance(db, Session) else db.dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    db.execute(
        insert(Delivery)
        .values(
            key=key,
            channel=channel,
            target=target,
            network=network,
            payload=payload,
            status="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["key"])
    )


def queue_issued(
    rt: Runtime, db: Db, issued: Iterable[tuple[str, str, int]], now: datetime
) -> None:
    """Connector deliveries for badges just issued (a participant's Passport, OBF...)."""
    connectors = [c for c in rt.connectors.values() if c.enabled()]
    if not connectors:
        return
    from engine.badges.assertions import recipient_email

    catalogue = rt.catalogue(db)
    for assertion_id, badge, recipient in issued:
        entry = catalogue.get(badge)
        for connector in connectors:
            if entry is None or connector.network != entry.network:
                continue
            payload = connector.payload(
                IssuedFor(
                    assertion_id,
                    badge,
                    entry.network,
                    recipient_email(db, recipient),
                    rt.urls.assertion(assertion_id),
                    int(now.timestamp()),
                )
            )
            if payload is not None:
                enqueue(
                    db,
                    key=f"{connector.name}:{assertion_id}",
                    channel="connector",
                    target=connector.name,
                    payload=payload,
                    now=now,
                    network=entry.network,
                )


def queue_shares(db: Db, shares: list[tuple[str, int]], now: datetime) -> None:
    """Webhook deliveries for badges shared with partners that have a webhook; each belongs to
    the network of the badge shared."""
    if not shares:
        return
    hooked = dict(
        db.execute(
            select(PartnerWebhook.organisation_id, Organisation.slug)
            .join(Organisation, Organisation.id == PartnerWebhook.organisation_id)
            .where(PartnerWebhook.organisation_id.in_({org for _, org in shares}))
        ).all()
    )
    wanted = [(assertion_id, org) for assertion_id, org in shares if org in hooked]
    if not wanted:
        return
    networks = dict(
        db.execute(
            select(Assertion.id, BadgeClass.network)
            .join(BadgeClass, BadgeClass.id == Assertion.badge_class_id)
            .where(Assertion.id.in_({assertion_id for assertion_id, _ in wanted}))
        ).all()
    )
    for assertion_id, org in wanted:
        enqueue(
            db,
            key=f"webhook:{hooked[org]}:{assertion_id}",
            channel="webhook",
            target=hooked[org],
            payload={"assertion_id": assertion_id},
            now=now,
            network=networks.get(assertion_id),
        )


def name_of(person_id: int, part: str = "full") -> dict[str, Any]:
    """A person's name in the context of an e-mail built when sent (`queue_link_email`): read
    then, so the row holds an id, not a name. `part`: "full", "given" or "email"."""
    return {"$person": person_id, "part": part}


def queue_link_email(
    db: Db,
    *,
    key: str,
    to: str,
    template: str,
    person_id: int,
    created_by: int | None,
    now: datetime,
    network: str | None = None,
    link: dict[str, Any] | None = None,
    **context: Any,
) -> None:
    """Queue an e-mail whose `url` is a sign-in link into `person_id`'s space (or, with `link`
    `{"kind": "password", "purpose": ...}`, a link to choose a password), minted by the worker
    when it sends (as `created_by`, or the system when None): the row holds no token and no
    name (`context` takes plain values and `name_of` references), and the link's life starts
    when it leaves."""
    enqueue(
        db,
        key=key,
        channel="email",
        target=to,
        payload={
            "template": template,
            "context": context,
            "link": {"person": person_id, "by": created_by, **(link or {})},
        },
        now=now,
        network=network,
    )


def queue_email(
    db: Db,
    *,
    key: str,
    to: str,
    template: str,
    now: datetime,
    network: str | None = None,
    **context: Any,
) -> None:
    """Queue one e-mail rendered from a French template of `engine.mail`; `network` is the
    network of what it is about (a badge's, a request's), when there is one."""
    from engine import mail

    subject, body = mail.render(template, **context)
    enqueue(
        db,
        key=key,
        channel="email",
        target=to,
        payload={"subject": subject, "body": body},
        now=now,
        network=network,
    )


# --- sending ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Claimed:
    id: int
    key: str
    channel: str
    target: str
    payload: dict[str, Any]
    attempts: int


def claim(rt: Runtime, worker: str, now: datetime, limit: int = 50) -> list[Claimed]:
    """Take up to `limit` due rows for this worker, atomically; expired claims come back."""
    with rt.transaction() as conn:
        conn.execute(
            update(Delivery)
            .where(Delivery.status == "sending", Delivery.claimed_at < now - LEASE)
            .values(status="pending", claimed_by=None)
        )
        due = (
            select(Delivery.id)
            .where(Delivery.status == "pending", Delivery.next_attempt_at <= now)
            .order_by(Delivery.next_attempt_at, Delivery.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        rows = conn.execute(
            update(Delivery)
            .where(Delivery.id.in_(due.scalar_subquery()))
            .values(status="sending", claimed_by=worker, claimed_at=now)
            .returning(
                Delivery.id,
                Delivery.key,
                Delivery.channel,
                Delivery.target,
                Delivery.payload,
                Delivery.attempts,
            )
        ).all()
    return sorted((Claimed(*row) for row in rows), key=lambda c: c.id)


def _finish(rt: Runtime, item: Claimed, worker: str, now: datetime, error: str | None) -> None:
    with rt.transaction() as conn:
        mine = (Delivery.id == item.id) & (Delivery.claimed_by == worker)
        if error is None:
            conn.execute(
                update(Delivery)
                .where(mine)
                .values(status="sent", sent_at=now, attempts=item.attempts + 1, last_error=None)
            )
            return
        attempts = item.attempts + 1
        conn.execute(
            update(Delivery)
            .where(mine)
            .values(
                status="dead" if attempts >= MAX_ATTEMPTS else "pending",
                attempts=attempts,
                next_attempt_at=now + backoff(attempts),
                claimed_by=None,
                last_error=error[:2000],
            )
        )


def work(
    rt: Runtime,
    *,
    now: datetime | None = None,
    worker: str | None = None,
    limit: int = 50,
    clock: Callable[[], datetime] | None = None,
) -> tuple[int, int]:
    """One pass: claim due rows and send them. Returns (sent, failed)."""
    worker = worker or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    now = now or utcnow()
    sent = failed = 0
    for item in claim(rt, worker, now, limit):
        try:
            _send(rt, item, _http())
            error = None
            sent += 1
        except Exception as exc:  # one row that cannot be built or sent never blocks the others
            error = _error_text(exc)
            failed += 1
        _finish(rt, item, worker, clock() if clock else now, error)
    return sent, failed


def _error_text(exc: Exception) -> str:
    """What an administrator reads on a failed row: printable (PostgreSQL refuses a NUL)."""
    text = f"{type(exc).__name__}: {exc}"
    return "".join(c if c.isprintable() else " " for c in text)


def run(rt: Runtime, *, interval: float = 2.0, stop: Callable[[], bool] = lambda: False) -> None:
    """A worker loop (`parcours outbox work`): pass after pass, resting when idle."""
    worker = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    while not stop():
        sent, failed = work(rt, worker=worker)
        if not sent and not failed:
            time.sleep(interval)


@cache
def _http() -> httpx.Client:
    """One client per process: building one (its TLS context) costs more than a delivery. It
    checks each partner address when it connects (no loopback or private networks: SSRF and
    DNS rebinding), see `engine.webhooks.client`."""
    return webhooks.client(timeout=10)


def _send(rt: Runtime, item: Claimed, http: httpx.Client) -> None:
    if item.channel == "webhook":
        _send_webhook(rt, item, http)
    elif item.channel == "connector":
        connector = rt.connectors.get(item.target)
        if connector is None:
            raise DeliveryFailed(f"connecteur « {item.target} » absent (plugin non chargé)")
        connector.send(item.payload, item.key)
    elif item.channel == "email":
        _send_email(item, *compose(rt, item.payload))
    else:
        raise DeliveryFailed(f"canal inconnu « {item.channel} »")


def webhook_payload(rt: Runtime, item_key: str, partner: str, assertion_id: str) -> dict[str, Any]:
    """The documented webhook body (type ``badge.shared``), read when it is sent."""
    with rt.unit_of_work() as s:
        row = s.execute(
            select(Assertion, BadgeClass.slug, BadgeClass.name, Person, Share.reason)
            .join(BadgeClass, BadgeClass.id == Assertion.badge_class_id)
            .join(Person, Person.id == Assertion.recipient_id)
            .join(Share, Share.assertion_id == Assertion.id)
            .join(Organisation, Organisation.id == Share.organisation_id)
            .where(Assertion.id == assertion_id, Organisation.slug == partner)
        ).first()
    if row is None:
        raise DeliveryFailed(f"badge {assertion_id} non partagé avec {partner}")
    a, slug, name, person, reason = row
    u = rt.urls
    return {
        "type": "badge.shared",
        "id": item_key,
        "partner": partner,
        "reason": reason,
        "badge": {
            "assertion_id": a.id,
            "badge_class": slug,
            "name": name,
            "issued_on": a.issued_on.isoformat(),
            "revoked": a.revoked_at is not None,
            "assertion_url": u.assertion(a.id),
            "credential_url": u.credential(a.id),
            "page_url": u.page(a.id),
        },
        "recipient": {"name": person.display_name},
    }


def _send_webhook(rt: Runtime, item: Claimed, http: httpx.Client) -> None:
    with rt.unit_of_work() as s:
        hook = s.execute(
            select(PartnerWebhook)
            .join(Organisation, Organisation.id == PartnerWebhook.organisation_id)
            .where(Organisation.slug == item.target)
        ).scalar_one_or_none()
    if hook is None:
        raise DeliveryFailed(f"aucun webhook pour {item.target}")
    body = webhooks.body_of(
        webhook_payload(rt, item.key, item.target, item.payload["assertion_id"])
    )
    headers = webhooks.headers(hook.secret, int(time.time()), body, item.key)
    resp = http.post(hook.url, content=body, headers=headers)
    if resp.status_code >= 300 and resp.status_code != 409:  # 409: already taken
        raise DeliveryFailed(f"webhook {item.target} : HTTP {resp.status_code}")


def compose(rt: Runtime, payload: dict[str, Any]) -> tuple[str, str]:
    """(subject, body) of a queued e-mail: as queued, or, for one built when sent, rendered now
    with the names read now and, when it carries a link, a link minted now."""
    if "template" not in payload:
        if not payload:
            raise DeliveryFailed("contenu purgé (durée de conservation dépassée)")
        return payload["subject"], payload["body"]
    from engine import mail

    context = dict(payload.get("context") or {})
    wanted: set[int] = set()
    _references(context, wanted)
    names: dict[int, Person] = {}
    if wanted:
        with rt.unit_of_work() as s:
            names = {
                p.id: p  # type: ignore[misc]
                for p in s.execute(select(Person).where(Person.id.in_(wanted))).scalars()
            }
    context = _resolved(context, names)
    link = payload.get("link")
    if link:
        with rt.unit_of_work() as session:
            creator = (
                Actor.system() if link.get("by") is None else access.actor_for(session, link["by"])
            )
            if link.get("kind") == "password":
                token = password_links.mint(
                    session, link["person"], link["purpose"], creator, utcnow()
                )
                context["url"] = f"{rt.urls.base}{password_links.PASSWORD_PATH}{token}"
            else:
                token, _ = links.mint(session, link["person"], by=creator, now=utcnow())
                context["url"] = f"{rt.urls.base}/lien/{token}"
    return mail.render(payload["template"], **context)


def _references(value: Any, found: set[int]) -> None:
    if isinstance(value, dict):
        if "$person" in value:
            found.add(value["$person"])
        else:
            for v in value.values():
                _references(v, found)
    elif isinstance(value, list):
        for v in value:
            _references(v, found)


def _resolved(value: Any, people: dict[int, Person]) -> Any:
    if isinstance(value, dict):
        if "$person" in value:
            person = people.get(value["$person"])
            if person is None:
                return ""
            part = value.get("part")
            if part == "email":
                return person.email or ""
            return person.given_name if part == "given" else person.display_name
        return {k: _resolved(v, people) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolved(v, people) for v in value]
    return value


def _send_email(item: Claimed, subject: str, body: str) -> None:
    message = EmailMessage()
    message["From"] = os.environ.get(
        "PARCOURS_SMTP_FROM", "Parcours <ne-pas-repondre@parcours.local>"
    )
    message["To"] = item.target
    message["Subject"] = subject
    message["Message-ID"] = f"<{uuid.uuid5(uuid.NAMESPACE_URL, item.key)}@parcours>"
    message.set_content(body)
    host = os.environ.get("PARCOURS_SMTP_HOST", "127.0.0.1")
    port = int(os.environ.get("PARCOURS_SMTP_PORT", "25"))
    with smtplib.SMTP(host, port, timeout=10) as smtp:
        if os.environ.get("PARCOURS_SMTP_STARTTLS") == "1":
            smtp.starttls()
        if os.environ.get("PARCOURS_SMTP_USER"):
            smtp.login(
                os.environ["PARCOURS_SMTP_USER"], os.environ.get("PARCOURS_SMTP_PASSWORD", "")
            )
        smtp.send_message(message)


# --- administration -----------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryRow:
    id: int
    key: str
    channel: str
    target: str
    network: str | None
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


def listing(
    rt: Runtime,
    who: Actor,
    *,
    status: str | None = None,
    page: int = 1,
    per_page: int = 50,
    after: str | None = None,
) -> tuple[list[DeliveryRow], keyset.Count]:
    """Deliveries `who` may see, newest first: every one for the system (the scheduler, the
    operator's command line), their networks' for a network admin. The total is counted up
    to `keyset.CAP`; `after` (the id of the last row shown, as `keyset.encode([id])`)
    resumes after it (index `ix_delivery_network_status_id`)."""
    with rt.unit_of_work() as session:
        query = select(Delivery)
        if not who.is_system:
            # A network admin's own networks; rows of no known network stay with the system.
            networks = list(
                session.execute(
                    access.networks_administered(bindparam("pid", who.person_id))
                ).scalars()
            )
            if not who.is_staff or not networks:
                raise Forbidden(access.refusal(Action.DELIVERY_READ, who))
            query = query.where(Delivery.network.in_(networks))
        if status:
            query = query.where(Delivery.status == status)
        total = keyset.count(session, query)
        if after is not None:
            query = query.where(Delivery.id < keyset.decode(after, 1)[0])
        rows = session.execute(
            query.order_by(Delivery.id.desc())
            .limit(per_page)
            .offset(keyset.skipped(page, per_page, after))
        ).scalars()
        return [
            DeliveryRow(
                d.id,  # type: ignore[arg-type]
                d.key,
                d.channel,
                d.target,
                d.network,
                d.status,
                d.attempts,
                d.next_attempt_at,
                d.last_error,
                d.created_at,
                d.sent_at,
            )
            for d in rows
        ], total


def retry(rt: Runtime, delivery_id: int, who: Actor, now: datetime | None = None) -> None:
    """Send a dead (or waiting) delivery again at once, with the same idempotency key: the
    system, or an admin of the delivery's network."""
    with rt.unit_of_work() as session:
        row = session.get(Delivery, delivery_id)
        if row is None:
            raise NotFound(f"envoi n° {delivery_id} introuvable")
        access.ensure(session, who, Action.DELIVERY_RETRY, Target(network=row.network))
        if row.status in ("sent", "sending"):
            raise Forbidden(f"l'envoi n° {delivery_id} est {row.status}")
        if not row.payload:
            raise Forbidden(
                f"l'envoi n° {delivery_id} a été purgé (durée de conservation dépassée)"
            )
        row.status, row.attempts, row.next_attempt_at = "pending", 0, now or utcnow()
        session.add(row)


# --- retention ----------------------------------------------------------------------------

PURGED_TARGET = "(purgé)"


def purge(db: Db, before: datetime) -> int:
    """Minimise what was delivered (or abandoned) before `before`: the payload goes, and an
    e-mail's address with it; key, channel, network, status and dates stay, so what was sent
    when is still known and a job that queues the same key again sends nothing twice. Returns
    the rows minimised."""
    old = or_(
        (Delivery.status == "sent") & (Delivery.sent_at < before),
        (Delivery.status == "dead") & (Delivery.next_attempt_at < before),
    )
    old = old & (cast(Delivery.payload, Text) != "{}")
    emails = db.execute(
        update(Delivery)
        .where(old, Delivery.channel == "email")
        .values(payload={}, target=PURGED_TARGET, last_error=None)
    ).rowcount
    others = db.execute(
        update(Delivery).where(old, Delivery.channel != "email").values(payload={}, last_error=None)
    ).rowcount
    return (emails or 0) + (others or 0)
