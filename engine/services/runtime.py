"""The Runtime binds a database, the loaded plugins and the caches every service call shares."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pluggy
from sqlalchemy import Connection, Engine, exists, func, select
from sqlalchemy.orm import aliased
from sqlmodel import Session

from engine.committees import CommitteeRule
from engine.errors import NotFound
from engine.hookspecs import GateCheck
from engine.openbadges.urls import PublicUrls, public_base_url
from engine.pathways.model import BadgeRequirement, Pathway
from engine.plugins import committee_rules, default_plugin_manager, gate_checks
from engine.services import events
from engine.statuses import BadgeClassStatus
from engine.store.database import make_engine, unit_of_work
from engine.store.tables import (
    BadgeClass,
    Membership,
    NetworkVersion,
    Organisation,
    PathwayVersion,
)

if TYPE_CHECKING:  # imported where first used: a read command needs neither (httpx, network models)
    from engine.connectors import Connector
    from engine.networks.model import NetworkDefinition

FRESHNESS = 2.0
"""Seconds a process trusts its copy of the published network definitions before checking."""

Db = Connection | Session
"""Helpers on the hot path take either; `advance` passes a bare Connection to skip the ORM."""


def default_networks_dir() -> Path:
    """PARCOURS_NETWORKS, else ./networks, else the networks/ folder beside the engine."""
    env = os.environ.get("PARCOURS_NETWORKS")
    if env:
        return Path(env)
    here = Path.cwd() / "networks"
    return here if here.is_dir() else Path(__file__).resolve().parents[2] / "networks"


def default_workflows_dir() -> Path:
    """PARCOURS_WORKFLOWS, else ./workflows, else the workflows/ folder beside the engine."""
    env = os.environ.get("PARCOURS_WORKFLOWS")
    if env:
        return Path(env)
    here = Path.cwd() / "workflows"
    return here if here.is_dir() else Path(__file__).resolve().parents[2] / "workflows"


@dataclass(frozen=True)
class CatalogueEntry:
    id: int
    slug: str
    name: str
    network: str
    issuer_id: int | None
    requires: BadgeRequirement | None
    recipient: str = "person"
    validity_days: int | None = None


class Runtime:
    def __init__(
        self,
        engine: Engine | None = None,
        pm: pluggy.PluginManager | None = None,
        workflows: Path | None = None,
        networks: Path | None = None,
    ):
        self.engine = engine or make_engine()
        self._pm = pm
        self._loading = threading.Lock()
        self.workflows = workflows or default_workflows_dir()
        self.networks_dir = networks or default_networks_dir()
        self._definitions: dict[str, NetworkDefinition] | None = None
        self._pathways: dict[int, Pathway] = {}
        self._catalogue: dict[str, CatalogueEntry] | None = None
        self._lookups: tuple[dict[str, str], dict[str, BadgeRequirement]] | None = None
        self._checks: dict[str, GateCheck] | None = None
        self._rules: dict[str, CommitteeRule] | None = None
        self._rule_networks: dict[str, str] = {}
        self._checked_at = -FRESHNESS
        self._generation: tuple[int | None, int | None] | None = None
        self._connectors: dict[str, Connector] | None = None
        self._networks_of: dict[int, frozenset[str]] = {}
        self.urls = PublicUrls(public_base_url())
        """Public addresses for what is sent out; the web app sets its own."""

    @property
    def pm(self) -> pluggy.PluginManager:
        """The plugins, loaded when first needed: listing pathways or reading a history needs
        none, and finding them reads every installed distribution's entry points."""
        if self._pm is None:
            with self._loading:  # the server's threads: one of them loads them, once
                if self._pm is None:
                    self._pm = default_plugin_manager()
        return self._pm

    @pm.setter
    def pm(self, pm: pluggy.PluginManager) -> None:
        self._pm = pm

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """One transaction; the events its work collected are dispatched once it commits."""
        with unit_of_work(self.engine) as session:
            yield session
            collected = events.take(session)
        if collected:  # a read collects none: the plugins need not be loaded for it
            events.dispatch(self.pm, collected)

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A Core-level unit of work for hot paths: one transaction, no ORM session; its events
        are dispatched after commit as `unit_of_work`'s are."""
        with self.engine.begin() as conn:
            events.take(conn)  # a pooled connection's info outlives a failed transaction
            yield conn
            collected = events.take(conn)
        if collected:
            events.dispatch(self.pm, collected)

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A connection for reads outside any transaction: who is calling, who may see an
        enrollment, where it stands. Each statement sees what is committed when it runs, as
        each does in PostgreSQL's READ COMMITTED transactions anyway; autocommit spares the
        BEGIN and ROLLBACK round trips. SQLite's driver opens no transaction for a read, and
        setting its level would cost a PRAGMA each way."""
        with self.engine.connect() as conn:
            if self.engine.dialect.name != "sqlite":
                conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            yield conn

    @property
    def gate_checks(self) -> dict[str, GateCheck]:
        if self._checks is None:
            self._checks = gate_checks(self.pm)
        return self._checks

    def pathway(self, db: Db, version_id: int) -> Pathway:
        """Published versions are immutable, so each is parsed once per process."""
        cached = self._pathways.get(version_id)
        if cached is None:
            definition = db.execute(
                select(PathwayVersion.definition).where(PathwayVersion.id == version_id)
            ).scalar_one_or_none()
            if definition is None:
                raise NotFound(f"version de parcours {version_id} introuvable")
            cached = self._pathways[version_id] = Pathway.model_validate(definition)
        return cached

    def _check_published(self, db: Db | None = None) -> None:
        """Another process (the CLI, another worker) may publish a network version: at most
        every FRESHNESS seconds, one small query tells whether anything was published since
        this process read the definitions, and if so they are read again."""
        now = time.monotonic()
        if now - self._checked_at < FRESHNESS:
            return
        self._checked_at = now
        query = select(
            select(func.max(NetworkVersion.id)).scalar_subquery(),
            select(func.max(BadgeClass.id)).scalar_subquery(),
        )
        if db is None:
            with self.engine.connect() as conn:
                generation = tuple(conn.execute(query).one())
        else:
            generation = tuple(db.execute(query).one())
        if generation != self._generation:
            if self._generation is not None:
                self.forget_networks()
            self._generation = generation

    def catalogue(self, db: Db) -> dict[str, CatalogueEntry]:
        self._check_published(db)
        if self._catalogue is None:
            issuers = dict(
                db.execute(
                    select(Organisation.slug, Organisation.id).where(Organisation.kind == "network")
                ).all()
            )
            self._catalogue = {
                row.slug: CatalogueEntry(
                    row.id,
                    row.slug,
                    row.name,
                    row.network,
                    issuers.get(row.network),
                    BadgeRequirement.model_validate(row.requires) if row.requires else None,
                    row.recipient_kind,
                    row.validity_days,
                )
                for row in db.execute(
                    select(
                        BadgeClass.id,
                        BadgeClass.slug,
                        BadgeClass.name,
                        BadgeClass.network,
                        BadgeClass.requires,
                        BadgeClass.recipient_kind,
                        BadgeClass.validity_days,
                    ).where(BadgeClass.status == BadgeClassStatus.ACTIVE)
                )
            }
        return self._catalogue

    def catalogue_entry(self, db: Db, slug: str) -> CatalogueEntry | None:
        """One badge class; a miss reloads the catalogue once, since a structure's project
        badge may have been approved by another process since this one cached it."""
        entry = self.catalogue(db).get(slug)
        if entry is None:
            self.forget_catalogue()
            entry = self.catalogue(db).get(slug)
        return entry

    def network_definitions(self) -> dict[str, NetworkDefinition]:
        """Each network's latest published definition. A server sees a version published by
        another process when it looks up something it does not know yet (`committee_rule`,
        `catalogue_entry`), or at once when this process published it."""
        self._check_published()
        if self._definitions is None:
            from engine.networks.model import NetworkDefinition

            newer = aliased(NetworkVersion)
            query = select(NetworkVersion.definition).where(
                ~exists().where(
                    newer.network == NetworkVersion.network, newer.version > NetworkVersion.version
                )
            )
            with self.engine.connect() as conn:
                self._definitions = {
                    d.id: d
                    for d in (
                        NetworkDefinition.model_validate(row)
                        for row in conn.execute(query).scalars()
                    )
                }
        return self._definitions

    @property
    def connectors(self) -> dict[str, Connector]:
        """Connectors the network files set (named `network.name`), and plugins' own."""
        self._check_published()
        if self._connectors is None:
            from engine.connectors import ObfConnector

            self._connectors = {}
            for d in self.network_definitions().values():
                for name, settings in d.connectors.items():
                    full = f"{d.id}.{name}"
                    self._connectors[full] = ObfConnector(
                        name=full,
                        network=d.id,
                        badges=dict(settings.badges),
                        email_subject=settings.email_subject,
                        email_body=settings.email_body,
                        email_link_text=settings.email_link_text,
                    )
            for provided in self.pm.hook.parcours_passport_connectors():
                self._connectors.update(provided)
        return self._connectors

    @property
    def plugin_committee_rules(self) -> dict[str, CommitteeRule]:
        return committee_rules(self.pm)

    @property
    def committee_rules(self) -> dict[str, CommitteeRule]:
        """Rules by committee kind: the network files' (`inae.croise`) and plugins' own."""
        self._check_published()
        if self._rules is None:
            rules = dict(self.plugin_committee_rules)
            self._rule_networks = {kind: kind.split(".", 1)[0] for kind in rules}
            for d in self.network_definitions().values():
                for kind, rule in d.committee_rules.items():
                    rules[kind] = rule
                    self._rule_networks[kind] = d.id
            self._rules = rules
        return self._rules

    def committee_rule(self, kind: str) -> CommitteeRule | None:
        """One rule; a miss re-reads the published networks once (another process may have
        published a new version since)."""
        rule = self.committee_rules.get(kind)
        if rule is None:
            self.forget_networks()
            rule = self.committee_rules.get(kind)
        return rule

    def committee_network(self, kind: str) -> str | None:
        """The network whose file (or plugin) declares this committee kind."""
        if self.committee_rule(kind) is None:
            return None
        return self._rule_networks.get(kind)

    def forget_networks(self) -> None:
        """After a network version is published: its rules, connectors and badges anew."""
        self._definitions = None
        self._rules = None
        self._connectors = None
        self.forget_catalogue()

    def badge_lookups(self, db: Db) -> tuple[dict[str, str], dict[str, BadgeRequirement]]:
        """Badge names and sub-badge requirements, derived once from the catalogue."""
        if self._lookups is None:
            catalogue = self.catalogue(db)
            self._lookups = (
                {slug: e.name for slug, e in catalogue.items()},
                {slug: e.requires for slug, e in catalogue.items() if e.requires},
            )
        return self._lookups

    def networks_of(self, db: Db, structure_id: int) -> frozenset[str]:
        """The networks a structure belongs to, as last read. Only a positive answer may be
        trusted from this cache (a membership is never removed, one added elsewhere is not
        seen yet): callers re-read on a miss, as `issuing.check_network` does."""
        cached = self._networks_of.get(structure_id)
        if cached is None:
            rows = db.execute(
                select(Organisation.slug)
                .join(Membership, Membership.network_id == Organisation.id)
                .where(Membership.structure_id == structure_id)
            ).scalars()
            cached = self._networks_of[structure_id] = frozenset(rows)
        return cached

    def forget_catalogue(self) -> None:
        self._catalogue = None
        self._lookups = None
