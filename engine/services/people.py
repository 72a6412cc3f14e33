"""Participants of a structure, with or without an enrollment on a pathway: INAÉ's badges are
asked for during any parcours, not only along a network's pathway."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from engine.errors import InvalidInput, NotFound
from engine.services import access, dashboard, keyset
from engine.services.access import Action, Actor, Target
from engine.services.organisations import find_or_add_participant, get_organisation
from engine.services.runtime import Runtime
from engine.statuses import PersonKind
from engine.store.tables import Organisation, Person


@dataclass(frozen=True)
class ParticipantRow:
    id: int
    name: str
    email: str | None
    structure: str


def add_participant(
    rt: Runtime,
    structure: str,
    given_name: str,
    family_name: str,
    email: str | None = None,
    *,
    by: Actor,
    phone: str | None = None,
) -> int:
    """Register a participant at a structure (found again by e-mail, or by name); `phone`, when
    that is how they are reached, binds their badges when they have no e-mail."""
    if not given_name.strip() or not family_name.strip():
        raise InvalidInput("prénom et nom : obligatoires")
    with rt.unit_of_work() as session:
        org = get_organisation(session, structure)
        if org.kind != "structure":
            raise InvalidInput(f"« {structure} » n'est pas une structure (SIAE)")
        access.ensure(session, by, Action.PARTICIPANT_CREATE, Target(structure_id=org.id))
        person = find_or_add_participant(session, org.id, given_name, family_name, email, phone)
        return person.id  # type: ignore[return-value]


_BY_NAME = [(Person.family_name, False), (Person.given_name, False), (Person.id, False)]
"""The participants list's order, as keyset keys (index `ix_person_name`)."""


def participants(
    rt: Runtime, who: Actor, *, page: int = 1, per_page: int = 20, after: str | None = None
) -> tuple[list[ParticipantRow], keyset.Count, str | None]:
    """The participants of the caller's structures (not erased), by name; the total counted
    up to `keyset.CAP`, and the cursor of the next page (`after`), None on the last."""
    with rt.reading() as session:
        # a network admin reaches thousands of structures: their networks' as subqueries
        # hashed once, not a list of ids that would cost more to send than the page
        reached = dashboard.in_reach(session, who, Person.structure_id)
        kept = [Person.kind == PersonKind.PARTICIPANT, Person.erased_at.is_(None), reached]
        total = keyset.count(session, select(Person.id).where(*kept))  # no join to count
        query = (
            select(
                Person.id, Person.given_name, Person.family_name, Person.email, Organisation.name
            )
            .join(Organisation, Organisation.id == Person.structure_id)
            .where(*kept)
        )
        if after is not None:
            query = query.where(keyset.after(_BY_NAME, keyset.decode(after, 3)))
        rows = session.execute(
            query.order_by(*keyset.order(_BY_NAME))
            .limit(per_page + 1)
            .offset(keyset.skipped(page, per_page, after))
        ).all()
    more = len(rows) > per_page
    rows = rows[:per_page]
    cursor = keyset.encode([rows[-1][2], rows[-1][1], rows[-1][0]]) if more and rows else None
    return [ParticipantRow(i, f"{g} {f}".strip(), e, o) for i, g, f, e, o in rows], total, cursor


def get_participant(rt: Runtime, participant_id: int, who: Actor) -> ParticipantRow:
    with rt.unit_of_work() as session:
        row = session.execute(
            select(
                Person.id,
                Person.given_name,
                Person.family_name,
                Person.email,
                Organisation.name,
                Person.structure_id,
            )
            .join(Organisation, Organisation.id == Person.structure_id)
            .where(Person.id == participant_id, Person.kind == PersonKind.PARTICIPANT)
        ).first()
        if row is None:
            raise NotFound(f"participant n° {participant_id} introuvable")
        access.ensure(
            session,
            who,
            Action.PARTICIPANT_READ,
            Target(structure_id=row[5], participant_id=participant_id),
        )
    return ParticipantRow(row[0], f"{row[1]} {row[2]}".strip(), row[3], row[4])
