"""What a plugin's demo story may do (`parcours_demo`): the operations the built-in stories need,
on a simulated clock, and nothing more.

A story names staff by e-mail, as the command line does; the context turns each e-mail into the
acting `Actor` and calls the same services the API, the pages and the command line call, so a
demo is refused exactly where a person would be. The Runtime stays private: a story cannot reach
the database, the caches or the plugin manager around the services.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from engine import dates
from engine.roles import Role
from engine.services import access, committees, people, requests
from engine.services import enrollments as e
from engine.services.access import Actor
from engine.services.organisations import add_staff, upsert_organisation
from engine.services.runtime import Runtime

DEMO_START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
"""The simulated clock's first day: a Monday morning."""


@dataclass(frozen=True)
class RequestOutcome:
    """Where a badge request stands after a review, as a story may tell it."""

    status: str
    status_label: str
    decision_reason: str | None


class DemoContext:
    """Simulated time, remarks worth printing, and the story's operations."""

    def __init__(self, rt: Runtime, now: datetime = DEMO_START) -> None:
        self._rt = rt
        self.now = now
        """The simulated present: every operation happens at this time."""
        self.remarks: list[str] = []
        """What `say` recorded, dated, for the summary."""

    # --- time and remarks ------------------------------------------------------------------

    def wait(self, days: int) -> datetime:
        """Move the simulated clock forward, so a pathway's minimum durations pass."""
        self.now += timedelta(days=days)
        return self.now

    def say(self, text: str) -> None:
        """A remark worth printing in the summary, dated by the simulated clock."""
        self.remarks.append(f"  {dates.day(self.now)}  {text}")

    def _actor(self, by: str) -> Actor:
        with self._rt.reading() as conn:
            return access.actor_for(conn, by)

    # --- organisations and people ----------------------------------------------------------

    def add_structure(
        self, slug: str, name: str, structure_kind: str, *, networks: list[str]
    ) -> None:
        """A structure (SIAE: AI, ACI, EI, ETTI, EiTi, EA) member of the given networks."""
        with self._rt.unit_of_work() as session:
            upsert_organisation(
                session, slug, name, "structure", structure_kind=structure_kind, networks=networks
            )

    def add_staff(
        self, email: str, given_name: str, family_name: str, roles: list[tuple[str, Role | str]]
    ) -> None:
        """A staff member with roles at organisations, by slug: `[("sato-interim", "cip")]`."""
        with self._rt.unit_of_work() as session:
            add_staff(session, email, given_name, family_name, roles)

    def add_participant(
        self,
        structure: str,
        given_name: str,
        family_name: str,
        email: str | None = None,
        *,
        by: str,
    ) -> int:
        """Register a participant at a structure; returns their id."""
        return people.add_participant(
            self._rt, structure, given_name, family_name, email, by=self._actor(by)
        )

    # --- enrollments -----------------------------------------------------------------------

    def enroll(
        self,
        pathway: str,
        structure: str,
        given_name: str,
        family_name: str,
        *,
        by: str,
        email: str | None = None,
        note: str | None = None,
    ) -> int:
        """Start a participant (found again, or added) on a pathway; returns the enrollment id."""
        return e.enroll(
            self._rt,
            pathway,
            structure,
            e.Participant(given_name, family_name, email),
            by=self._actor(by),
            note=note,
            now=self.now,
        )

    def advance(
        self, enrollment_id: int, trigger: str, *, by: str, note: str | None = None
    ) -> list[str]:
        """Fire a transition; returns the badges it issued. Raises `GateRefused` with every
        unmet condition."""
        result = e.advance(
            self._rt, enrollment_id, trigger, by=self._actor(by), note=note, now=self.now
        )
        return result.awarded

    def add_evidence(
        self,
        enrollment_id: int,
        kind: str,
        *,
        by: str,
        narrative: str | None = None,
        context: str | None = None,
    ) -> int:
        """Attach a proof (a PMSMP convention, an assessment) to the enrollment's current stage."""
        return e.add_evidence(
            self._rt,
            enrollment_id,
            kind,
            by=self._actor(by),
            narrative=narrative,
            context=context,
            now=self.now,
        )

    def award(
        self, enrollment_id: int, badge: str, *, by: str, narrative: str | None = None
    ) -> str:
        """Issue one badge by hand; returns the assertion id."""
        return e.award(
            self._rt, enrollment_id, badge, by=self._actor(by), narrative=narrative, now=self.now
        )

    def record_decision(
        self, enrollment_id: int, trigger: str, approved: bool, reason: str, *, by: str
    ) -> int:
        """Record an attribution committee's reasoned decision on a transition that needs one."""
        return e.record_decision(
            self._rt, enrollment_id, trigger, approved, reason, by=self._actor(by), now=self.now
        )

    # --- committees and badge requests -----------------------------------------------------

    def create_committee(
        self, name: str, kind: str, *, by: str, structure: str | None = None
    ) -> int:
        """An attribution committee of a plugin's kind (`inae.croise`); returns its id."""
        return committees.create(
            self._rt, name, kind, by=self._actor(by), structure=structure, now=self.now
        )

    def add_committee_member(self, committee_id: int, member: str, *, by: str) -> None:
        """Seat a staff member (by e-mail) on a committee."""
        committees.add_member(self._rt, committee_id, member, by=self._actor(by))

    def submit_request(
        self,
        badge: str,
        *,
        by: str,
        participant_id: int,
        origin: str | None = None,
        narrative: str | None = None,
    ) -> int:
        """Staff ask for a badge on a participant's behalf; returns the request id."""
        return requests.submit(
            self._rt,
            badge,
            by=self._actor(by),
            participant_id=participant_id,
            origin=origin,
            narrative=narrative,
            now=self.now,
        )

    def add_request_evidence(
        self,
        request_id: int,
        kind: str,
        *,
        by: str,
        narrative: str | None = None,
        context: str | None = None,
    ) -> int:
        """Attach a proof (an AFEST observation grid) to a pending badge request."""
        return requests.add_evidence(
            self._rt,
            request_id,
            kind,
            by=self._actor(by),
            narrative=narrative,
            context=context,
            now=self.now,
        )

    def review_request(
        self, request_id: int, *, by: str, approve: bool, reason: str
    ) -> RequestOutcome:
        """A signature, an evaluation or a committee vote, with its reason. Raises `Forbidden`
        when `by` may not review this request."""
        view = requests.review(
            self._rt, request_id, by=self._actor(by), approve=approve, reason=reason, now=self.now
        )
        return RequestOutcome(view.status, view.status_label, view.decision_reason)

    def public_request(self, badge: str, *, given_name: str, family_name: str, email: str) -> str:
        """Anyone asks for a support badge through the public form; returns the assertion id."""
        return requests.public_request(
            self._rt,
            badge,
            given_name=given_name,
            family_name=family_name,
            email=email,
            now=self.now,
        )
