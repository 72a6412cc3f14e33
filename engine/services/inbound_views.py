"""What a network's administrators read of the partner platforms that send it events: the
sources its file declares, whether each has a secret, and the events received (those that
matched no enrollment first of all). No payload is kept, so none is shown."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from engine.errors import InvalidInput, NotFound
from engine.networks.model import NetworkDefinition
from engine.services import access
from engine.services.access import Action, Actor, Target
from engine.services.inbound import STATUS_LABELS, UNMATCHED
from engine.services.runtime import Runtime
from engine.store.tables import InboundEvent, InboundSource


@dataclass(frozen=True)
class SourceState:
    source: str
    mapping: str
    title: str | None
    secret_since: datetime | None
    """When its current secret was made; None: no secret yet, nothing is accepted."""
    unmatched: int


def sources(rt: Runtime, network: str, *, by: Actor) -> list[SourceState]:
    """The platforms the network's file declares, whether each has a secret, and how many of
    its events are waiting for a match."""
    definition: NetworkDefinition | None = rt.network_definitions().get(network)
    with rt.reading() as conn:
        access.ensure(conn, by, Action.INBOUND_MANAGE, Target(network=network))
        if definition is None:
            raise NotFound(f"réseau « {network} » introuvable (son fichier est-il publié ?)")
        made = dict(
            conn.execute(
                select(InboundSource.source, InboundSource.created_at).where(
                    InboundSource.network == network
                )
            ).all()
        )
        waiting: dict[str, int] = {}
        for (src,) in conn.execute(
            select(InboundEvent.source).where(
                InboundEvent.network == network, InboundEvent.status == UNMATCHED
            )
        ):
            waiting[src] = waiting.get(src, 0) + 1
    return [
        SourceState(s.source, s.mapping, s.title, made.get(s.source), waiting.get(s.source, 0))
        for s in definition.inbound
    ]


@dataclass(frozen=True)
class Received:
    """One event as its network's admins see it: no payload, nothing about the person."""

    id: int
    source: str
    event_id: str
    external_ref: str | None
    kind: str
    status: str
    enrollment_id: int | None
    evidence_id: int | None
    received_at: datetime

    @property
    def label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)


def events(
    rt: Runtime,
    network: str,
    *,
    by: Actor,
    status: str | None = None,
    before: int | None = None,
    limit: int = 50,
) -> list[Received]:
    """The network's received events, newest first (`before`: an id, for the next page)."""
    if status is not None and status not in STATUS_LABELS:
        raise InvalidInput(f"statut « {status} » inconnu (attendu : {', '.join(STATUS_LABELS)})")
    with rt.reading() as conn:
        access.ensure(conn, by, Action.INBOUND_MANAGE, Target(network=network))
        query = select(InboundEvent).where(InboundEvent.network == network)
        if status is not None:
            query = query.where(InboundEvent.status == status)
        if before is not None:
            query = query.where(InboundEvent.id < before)
        rows = conn.execute(query.order_by(InboundEvent.id.desc()).limit(limit)).mappings()
        return [
            Received(
                r["id"],
                r["source"],
                r["event_id"],
                r["external_ref"],
                r["kind"],
                r["status"],
                r["enrollment_id"],
                r["evidence_id"],
                r["received_at"],
            )
            for r in rows
        ]
