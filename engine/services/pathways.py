"""Publishing pathway versions and migrating running enrollments between versions."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, bindparam, func, insert, inspect, select, update

from engine.errors import Conflict, InvalidInput, NotFound, PathwayInvalid, Problem
from engine.pathways.model import Pathway
from engine.roles import OrganisationKind
from engine.services import access
from engine.services.access import Action, Actor, Target
from engine.services.runtime import Runtime
from engine.statuses import EnrollmentStatus
from engine.store.tables import AuditEvent, Enrollment, Organisation, PathwayVersion, utcnow

if TYPE_CHECKING:  # loaded where first used: `parcours pathway list` parses no YAML
    from engine.networks.model import NetworkDefinition


def pathway_files(rt: Runtime) -> list[Path]:
    files = sorted(rt.workflows.glob("*.yaml")) + sorted(rt.workflows.glob("*.yml"))
    for provided in rt.pm.hook.parcours_pathways():
        files.extend(Path(p) for p in provided)
    return files


def known_references(
    rt: Runtime, networks: list[NetworkDefinition] | None = None
) -> dict[str, set[str]]:
    """What a pathway may name: the networks, partners and badges published in the database
    (project badges included), those of the network files on disk and of `networks` (files
    about to be published with it), and the plugins' gate checks."""
    from engine.services.networks import on_disk

    badges: set[str] = set()
    organisations: set[str] = set()
    network_slugs: set[str] = set()
    with rt.reading() as conn:
        if inspect(conn).has_table(Organisation.__tablename__):  # `pathway check` has no base
            badges, organisations, network_slugs = _published(rt, conn)
    for d in [*on_disk(rt), *(networks or [])]:
        badges |= {b.id for b in d.badges}
        organisations |= {d.id, *(p.id for p in d.partners)}
        network_slugs.add(d.id)
    return {
        "known_badges": badges,
        "known_checks": set(rt.gate_checks),
        "known_organisations": organisations,
        "known_networks": network_slugs,
    }


def _published(rt: Runtime, conn: Connection) -> tuple[set[str], set[str], set[str]]:
    """Badges; networks and partners; networks alone: what the database knows."""
    badges = set(rt.catalogue(conn))
    organisations = set(
        conn.execute(
            select(Organisation.slug).where(Organisation.kind != OrganisationKind.STRUCTURE)
        ).scalars()
    )
    network_slugs = set(
        conn.execute(
            select(Organisation.slug).where(Organisation.kind == OrganisationKind.NETWORK)
        ).scalars()
    )
    return badges, organisations, network_slugs


def check_file(rt: Runtime, path: Path, known: dict[str, set[str]] | None = None) -> Pathway:
    """Validate a file against the schema, its graph, and what it names (networks, partners,
    badges, gate checks)."""
    from engine.pathways.loader import load_pathway_file

    return load_pathway_file(path, **(known or known_references(rt)))


def check_text(rt: Runtime, text: str, file: str) -> Pathway:
    from engine.pathways.loader import load_pathway_text

    return load_pathway_text(text, file, **known_references(rt))


def _digest(pathway: Pathway) -> str:
    canonical = json.dumps(pathway.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def publish(
    rt: Runtime, pathway: Pathway, source: str, *, by: Actor | None = None
) -> tuple[PathwayVersion, bool]:
    """Store a version; (row, True) when new. Re-publishing identical content is a no-op; a
    changed definition under an already published number is refused. Only the pathway's
    network (its admins, or the operator) publishes it."""
    digest = _digest(pathway)
    with rt.unit_of_work() as session:
        access.ensure(
            session, by or Actor.system(), Action.PATHWAY_PUBLISH, Target(network=pathway.network)
        )
        row = session.execute(
            select(PathwayVersion).where(
                PathwayVersion.pathway_id == pathway.id, PathwayVersion.version == pathway.version
            )
        ).scalar_one_or_none()
        if row is not None:
            # A definition stored before Parcours added an optional field reads back equal.
            if row.digest != digest and Pathway.model_validate(row.definition) != pathway:
                raise InvalidInput(
                    f"le parcours « {pathway.id} » version {pathway.version} est déjà publié avec "
                    f"un autre contenu : incrémentez « version » pour publier la modification"
                )
            return row, False
        row = PathwayVersion(
            pathway_id=pathway.id,
            version=pathway.version,
            network=pathway.network,
            title=pathway.title,
            digest=digest,
            source=source,
            definition=pathway.model_dump(mode="json"),
        )
        session.add(row)
    return row, True


def publish_all(
    rt: Runtime, files: list[Path] | None = None, *, by: Actor | None = None
) -> list[tuple[PathwayVersion, bool]]:
    """Check every pathway file (by default those of workflows/ and the plugins) first, then
    publish; one bad file publishes nothing."""
    problems: list[Problem] = []
    loaded: list[tuple[Pathway, str]] = []
    known = known_references(rt)
    for path in files or pathway_files(rt):
        try:
            loaded.append((check_file(rt, path, known), path.read_text(encoding="utf-8")))
        except PathwayInvalid as exc:
            problems += exc.problems
    if problems:
        raise PathwayInvalid(problems)
    return [publish(rt, p, src, by=by) for p, src in loaded]


def latest_version(rt: Runtime, pathway_id: str, version: int | None = None) -> PathwayVersion:
    with rt.unit_of_work() as session:
        query = select(PathwayVersion).where(PathwayVersion.pathway_id == pathway_id)
        if version is not None:
            query = query.where(PathwayVersion.version == version)
        row = session.execute(
            query.order_by(PathwayVersion.version.desc()).limit(1)
        ).scalar_one_or_none()
    if row is None:
        suffix = f" version {version}" if version else ""
        raise NotFound(f"parcours « {pathway_id} »{suffix} introuvable (publié ?)")
    return row


def list_versions(rt: Runtime) -> list[PathwayVersion]:
    with rt.unit_of_work() as session:
        return list(
            session.execute(
                select(PathwayVersion).order_by(PathwayVersion.pathway_id, PathwayVersion.version)
            ).scalars()
        )


@dataclass(frozen=True)
class MigrationReport:
    pathway_id: str
    to_version: int
    moved: int
    by_stage: dict[str, str]


def migrate(
    rt: Runtime,
    pathway_id: str,
    to_version: int,
    mapping: dict[str, str],
    *,
    by: Actor,
    note: str | None = None,
    now: datetime | None = None,
) -> MigrationReport:
    """Move every active enrollment of older versions onto `to_version`, in one transaction.

    A stage kept under the same id needs no mapping; a stage that no longer exists must be
    mapped, otherwise nothing moves and the unmapped stages are listed.
    """
    now = now or utcnow()
    target_row = latest_version(rt, pathway_id, to_version)
    with rt.unit_of_work() as session:
        access.ensure(session, by, Action.PATHWAY_MIGRATE, Target(network=target_row.network))
        target = rt.pathway(session, target_row.id)
        stages = set(target.stage_ids)
        for old, new in mapping.items():
            if new not in stages:
                raise InvalidInput(
                    f"correspondance {old}={new} : l'étape « {new} » n'existe pas "
                    f"dans la version {to_version}"
                )
        older = select(PathwayVersion.id).where(
            PathwayVersion.pathway_id == pathway_id, PathwayVersion.id != target_row.id
        )
        counts = session.execute(
            select(Enrollment.stage, func.count())
            .where(
                Enrollment.pathway_version_id.in_(older),
                Enrollment.status == EnrollmentStatus.ACTIVE,
            )
            .group_by(Enrollment.stage)
        ).all()
        unmapped = [
            f"« {stage} » ({n} parcours)"
            for stage, n in counts
            if mapping.get(stage, stage) not in stages
        ]
        if unmapped:
            raise InvalidInput(
                "étapes absentes de la version "
                f"{to_version} sans correspondance : {', '.join(unmapped)} ; "
                "ajoutez --map ancienne=nouvelle"
            )
        rows = session.execute(
            select(
                Enrollment.id, Enrollment.stage, Enrollment.revision, Enrollment.pathway_version_id
            ).where(
                Enrollment.pathway_version_id.in_(older),
                Enrollment.status == EnrollmentStatus.ACTIVE,
            )
        ).all()
        if rows:
            moved = session.connection().execute(
                update(Enrollment)
                .where(Enrollment.id == bindparam("eid"), Enrollment.revision == bindparam("rev"))
                .values(
                    pathway_version_id=target_row.id,
                    stage=bindparam("new_stage"),
                    revision=bindparam("rev") + 1,
                ),
                [
                    {"eid": r.id, "rev": r.revision, "new_stage": mapping.get(r.stage, r.stage)}
                    for r in rows
                ],
            )
            if moved.rowcount not in (-1, len(rows)):
                raise Conflict("des parcours ont changé pendant la migration : relancez-la")
            session.execute(
                insert(AuditEvent),
                [
                    {
                        "enrollment_id": r.id,
                        "at": now,
                        "actor_id": by.person_id,
                        "kind": "migration",
                        "from_stage": r.stage,
                        "to_stage": mapping.get(r.stage, r.stage),
                        "note": note,
                        "details": {
                            "from_version_id": r.pathway_version_id,
                            "to_version": to_version,
                        },
                    }
                    for r in rows
                ],
            )
    return MigrationReport(
        pathway_id, to_version, len(rows), {s: mapping.get(s, s) for s, _ in counts}
    )
