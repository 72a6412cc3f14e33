"""The public revocation documents (OB 2.0 revocation list, OB 3.0 status lists), served at the
same cost whatever the number of badges: every verifier fetches them, and anyone can.

Each is built from the issuer's revoked badges only when one of them changed, and kept (per
runtime, per worker process) with its ETag: a request costs the issuer's lookup and one
index read of its latest revocation (`max(revoked_at)`, index `ix_assertion_revoked`);
a client that sends the ETag back gets a 304. A badge is never un-revoked, so a new latest
revocation time is what changes a document made by another process; in this one, any
committed change to a badge (a revocation, an erasure rewriting a revocation's reason, with a
past time or not) drops what is kept at once (`_changed`). What the time check cannot see
from another process (two revocations committed out of order, an erasure's new reasons) is
rebuilt once `MAX_AGE` has passed.

A revocation list grows with the issuer's revocations (10.8 MB for 86,000 at national
scale): it is kept gzipped too, and sent so to clients that accept it (2.0 MB). One request
builds a document while the others wait for it, or are served the previous one when it was
only too old, instead of each building its own (at 100 requests/s, every request arriving
during a 3 s build started one)."""

from __future__ import annotations

import gzip
import hashlib
import json
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from engine.errors import NotFound
from engine.openbadges import ob2
from engine.openbadges.urls import PublicUrls
from engine.services import badge_documents
from engine.services.runtime import Runtime
from engine.store.tables import Assertion, IssuerKey, Organisation

MAX_AGE = 60.0
"""Seconds a kept document is trusted without a rebuild, whatever the check says."""
KEPT = 256
"""Documents kept per runtime (the least recently used go first)."""

CACHE_CONTROL = "public, no-cache"
"""Clients and proxies may keep a copy but ask each time (with its ETag): a revocation shows
at once, and an unchanged document costs a 304."""


GZIP_FROM = 1400
"""Bytes from which a document is also kept gzipped (below, it fits one packet anyway)."""


@dataclass(frozen=True)
class Document:
    body: bytes
    etag: str
    media_type: str
    built: float
    gzipped: bytes | None = None
    """The body gzipped, when that makes it a fifth smaller or more."""

    @property
    def gzip_etag(self) -> str:
        """The gzipped body's ETag: another representation, another tag."""
        return self.etag[:-1] + '-gz"'


_kept: weakref.WeakKeyDictionary[Runtime, OrderedDict[tuple, Document]] = (
    weakref.WeakKeyDictionary()
)
_building: weakref.WeakKeyDictionary[Runtime, dict[tuple, _Flight]] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


_generation = [0]
"""Bumped at each commit in this process that changed a badge: part of every key."""


@event.listens_for(Session, "do_orm_execute")
def _bulk_change(state: Any) -> None:
    table = getattr(state.statement, "table", None)
    if (state.is_update or state.is_delete) and getattr(table, "name", None) == "assertion":
        state.session.info["badges_changed"] = True


@event.listens_for(Session, "before_flush")
def _flushed_change(session: Session, _context: Any, _instances: Any) -> None:
    if any(isinstance(o, Assertion) for o in list(session.dirty) + list(session.deleted)):
        session.info["badges_changed"] = True


@event.listens_for(Session, "after_commit")
def _changed(session: Session) -> None:
    if session.info.pop("badges_changed", False):
        with _lock:
            _generation[0] += 1


@event.listens_for(Session, "after_rollback")
def _unchanged(session: Session) -> None:
    session.info.pop("badges_changed", None)


def _stamp(rt: Runtime, slug: str) -> tuple[int, str]:
    """The issuer's id, and the time of its latest revocation with this process's generation."""
    with rt.reading() as conn:
        org_id = conn.execute(
            select(Organisation.id).where(Organisation.slug == slug)
        ).scalar_one_or_none()
        if org_id is None:
            raise NotFound(f"organisation « {slug} » introuvable")
        seen = _generation[0]  # read first: a change committed meanwhile is not missed
        latest = conn.execute(
            select(func.max(Assertion.revoked_at)).where(
                Assertion.issuer_id == org_id, Assertion.revoked_at.is_not(None)
            )
        ).scalar_one()
    return org_id, f"{latest}/{seen}"


@dataclass
class _Flight:
    """A document being built: the requests that need it wait for it, or for its error."""

    done: threading.Event = field(default_factory=threading.Event)
    doc: Document | None = None
    error: BaseException | None = None


def _document(
    rt: Runtime, key: tuple, build: Callable[[], tuple[bytes, str]], now: float | None = None
) -> Document:
    """The document kept under `key`, built when missing or older than `MAX_AGE`. One
    request builds it; the others wait for that build (and share its error) rather than each
    start their own; while a document only too old is rebuilt, they are served the old one."""
    now = time.monotonic() if now is None else now
    with _lock:
        kept = _kept.setdefault(rt, OrderedDict())
        found = kept.get(key)
        flights = _building.setdefault(rt, {})
        flight = flights.get(key)
        if found is not None:
            kept.move_to_end(key)
            if now - found.built < MAX_AGE or flight is not None:
                return found
        building = flight is None
        if building:
            flight = flights[key] = _Flight()
    assert flight is not None
    if not building:
        flight.done.wait()
        if flight.error is not None:
            raise flight.error
        assert flight.doc is not None
        return flight.doc
    try:
        flight.doc = _built(build, now)
        with _lock:
            kept[key] = flight.doc
            kept.move_to_end(key)
            while len(kept) > KEPT:
                kept.popitem(last=False)
        return flight.doc
    except BaseException as exc:
        flight.error = exc
        raise
    finally:
        with _lock:
            if flights.get(key) is flight:
                del flights[key]
        flight.done.set()


def _built(build: Callable[[], tuple[bytes, str]], now: float) -> Document:
    body, media_type = build()
    packed = gzip.compress(body, 6, mtime=0) if len(body) >= GZIP_FROM else None
    return Document(
        body,
        '"' + hashlib.sha256(body).hexdigest()[:32] + '"',
        media_type,
        now,
        packed if packed is not None and len(packed) <= 0.8 * len(body) else None,
    )


def revocation_list(rt: Runtime, slug: str, u: PublicUrls) -> Document:
    """The issuer's OB 2.0 RevocationList (JSON-LD)."""
    org_id, latest = _stamp(rt, slug)

    def build() -> tuple[bytes, str]:
        doc = badge_documents.revocation_list(rt, slug, u)
        return json.dumps(doc, ensure_ascii=False).encode(), ob2.CONTENT_TYPE

    return _document(rt, ("ob2-revocations", u.base, org_id, latest), build)


def status_list(rt: Runtime, slug: str, number: int, u: PublicUrls) -> Document:
    """The issuer's signed OB 3.0 Bitstring Status List `number` (VC-JWT)."""
    from engine.openbadges import ob3

    org_id, latest = _stamp(rt, slug)
    with rt.reading() as conn:  # the keys it is signed with: a few rows
        keys = tuple(
            conn.execute(
                select(IssuerKey.id, IssuerKey.retired_at).where(
                    IssuerKey.organisation_id == org_id
                )
            ).all()
        )

    def build() -> tuple[bytes, str]:
        return badge_documents.status_list_jwt(rt, slug, number, u).encode(), ob3.CONTENT_TYPE

    return _document(rt, ("ob3-status", u.base, org_id, number, latest, keys), build)


def forget(rt: Runtime) -> None:
    """Drop what is kept for `rt` (tests, a restore of the database)."""
    with _lock:
        _kept.pop(rt, None)


def matches(if_none_match: str | None, etag: str) -> bool:
    """Whether a request's `If-None-Match` names this ETag (or `*`)."""
    if not if_none_match:
        return False
    sent = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
    return "*" in sent or etag in sent


def accepts_gzip(accept_encoding: str | None) -> bool:
    """Whether an `Accept-Encoding` header admits gzip: its weight if listed (`gzip` or
    `x-gzip`), else that of `*`; a weight of 0 refuses it (RFC 9110, 12.5.3)."""
    weights: dict[str, float] = {}
    for part in (accept_encoding or "").split(","):
        coding, *params = (p.strip() for p in part.split(";"))
        if not coding:
            continue
        weight = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(value.strip())
                except ValueError:
                    weight = 0.0
        weights[coding.lower()] = weight
    for coding in ("gzip", "x-gzip"):
        if coding in weights:
            return weights[coding] > 0
    return weights.get("*", 0.0) > 0


def response(
    doc: Document, if_none_match: str | None, accept_encoding: str | None
) -> tuple[int, bytes, dict[str, str]]:
    """Status, body and headers for `doc`: the body, gzipped for a client that accepts it, or
    304 when the client holds the representation it would be sent."""
    packed = doc.gzipped is not None and accepts_gzip(accept_encoding)
    etag = doc.gzip_etag if packed else doc.etag
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL, "Vary": "Accept-Encoding"}
    if matches(if_none_match, etag):
        return 304, b"", headers
    if packed:
        headers["Content-Encoding"] = "gzip"
        return 200, doc.gzipped, headers  # type: ignore[return-value]
    return 200, doc.body, headers
