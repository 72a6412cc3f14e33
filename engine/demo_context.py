"""What a plugin's demo story may do (`parcours_demo`): the operations the built-in stories need,
on a simulated clock, and nothing more.

A story names staff by e-mail, as the command line does; the context turns each e-mail into the
acting `Actor` and calls the same services the API, the pages and the command line call, so a
demo is refused exactly where a person would be. The Runtime stays private: a story cannot reach
the database, the caches or the plugin manager around the services.

The clock runs in the past: a story sets it some days before the day the demo runs
(`days_ago`) and lets time pass (`wait`), never beyond the present, so what a visitor then sees
in the web app is dated as it would be for real (a deadline passed three weeks ago, a request
waiting since Monday). Partners' own systems are simulated too (`connect_partner`): a local
receiver takes their webhooks, checks the signatures and answers as the story says.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from sqlalchemy import func, select

from engine import dates, webhooks
from engine.exits import Exit
from engine.roles import Role
from engine.services import access, accounts, committees, outbox, people, requests, shares
from engine.services import enrollments as e
from engine.services.access import Actor
from engine.services.organisations import add_staff, upsert_organisation
from engine.services.runtime import Runtime
from engine.store.tables import Delivery, Enrollment, as_utc, utcnow

DEMO_DAYS = 240
"""Where the simulated clock starts: this many days before the demo runs."""


@dataclass(frozen=True)
class RequestOutcome:
    """Where a badge request stands after a review, as a story may tell it."""

    status: str
    status_label: str
    decision_reason: str | None


@dataclass(frozen=True)
class ParticipantLink:
    """A participant's sign-in link the summary prints: who, and the link's token."""

    participant: str
    token: str


class DemoContext:
    """Simulated time, remarks worth printing, the logins to offer a visitor, and the story's
    operations."""

    def __init__(self, rt: Runtime, present: datetime | None = None) -> None:
        self._rt = rt
        self.present = present or utcnow()
        """The moment the demo runs: the simulated clock never passes it."""
        self.now = self.present
        """The simulated present: every operation happens at this time."""
        self.days_ago(DEMO_DAYS)
        self._remarks: list[tuple[datetime, str]] = []
        self.logins: list[str] = []
        """Staff e-mails a visitor may sign in as (`offer_login`), in the story's order."""
        self.links: list[ParticipantLink] = []
        """Participants' sign-in links to print (`participant_link`)."""
        self._partners = _PartnerSystems()

    # --- time and remarks ------------------------------------------------------------------

    def days_ago(self, days: int) -> datetime:
        """Set the clock to 9 a.m., `days` days before the demo runs: each participant's story
        starts on a date of its own, so that when the demo ends some are done, some half-way,
        some late."""
        morning = (self.present - timedelta(days=days)).replace(
            hour=9, minute=0, second=0, microsecond=0
        )
        self.now = min(morning, self.present)
        return self.now

    def wait(self, days: int) -> datetime:
        """Move the simulated clock forward, so a pathway's minimum durations pass."""
        self._move_to(self.now + timedelta(days=days))
        return self.now

    def _move_to(self, moment: datetime) -> None:
        if moment > self.present:
            raise ValueError(
                f"démonstration : l'horloge simulée ne dépasse pas le présent "
                f"({dates.day(moment)} demandé)"
            )
        self.now = moment

    def say(self, text: str) -> None:
        """A remark worth printing in the summary, dated by the simulated clock."""
        self._remarks.append((self.now, text))

    @property
    def remarks(self) -> list[str]:
        """What `say` recorded, dated, in the order it happened, for the summary."""
        ordered = sorted(self._remarks, key=lambda remark: remark[0])
        return [f"  {dates.day(moment)}  {text}" for moment, text in ordered]

    def _actor(self, by: str) -> Actor:
        with self._rt.reading() as conn:
            return access.actor_for(conn, by)

    # --- what the visitor gets -------------------------------------------------------------

    def offer_login(self, email: str) -> None:
        """Print this staff member (their roles and organisations) among the logins a visitor
        may use in the web app, with the demo password."""
        if email not in self.logins:
            self.logins.append(email)

    def participant_link(self, enrollment_id: int, *, by: str) -> None:
        """A sign-in link into the participant's own page, made by `by` (their CIP) as the
        enrollment page makes one, valid from the present; the summary prints it."""
        with self._rt.reading() as conn:
            participant_id = conn.execute(
                select(Enrollment.participant_id).where(Enrollment.id == enrollment_id)
            ).scalar_one()
        actor = self._actor(by)
        token = accounts.magic_link(self._rt, participant_id, by=actor, now=self.present)
        person = people.get_participant(self._rt, participant_id, actor)
        self.links.append(ParticipantLink(person.name, token))

    # --- organisations and people ----------------------------------------------------------

    def add_structure(
        self, slug: str, name: str, structure_kind: str, *, networks: list[str]
    ) -> None:
        """A structure (SIAE: AI, ACI, EI, ETTI, EiTi) member of the given networks."""
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
        self,
        enrollment_id: int,
        trigger: str,
        *,
        by: str,
        note: str | None = None,
        outcome: str | None = None,
        employer: str | None = None,
    ) -> list[str]:
        """Fire a transition; into a final stage, `outcome` (an `engine.exits` code) and
        `employer` say how the person leaves, on the simulated day. Returns the badges
        issued; raises `GateRefused` with every unmet condition."""
        left = Exit(outcome, None, employer) if outcome else None
        result = e.advance(
            self._rt, enrollment_id, trigger, by=self._actor(by), note=note, now=self.now, exit=left
        )
        return result.awarded

    def record_exit(
        self,
        enrollment_id: int,
        outcome: str,
        *,
        by: str,
        days_ago: int = 0,
        employer: str | None = None,
        note: str | None = None,
    ) -> None:
        """Record (or correct) how a finished parcours' person left, on the simulated day:
        the exit happened `days_ago` days before it."""
        on = dates.local(self.now).date() - timedelta(days=days_ago)
        e.record_exit(
            self._rt,
            enrollment_id,
            Exit(outcome, on, employer),
            by=self._actor(by),
            note=note,
            now=self.now,
        )

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
        participant_id: int | None = None,
        enrollment_id: int | None = None,
        origin: str | None = None,
        narrative: str | None = None,
    ) -> int:
        """Staff ask for a badge on a participant's behalf (by participant, or by their
        enrollment); returns the request id."""
        return requests.submit(
            self._rt,
            badge,
            by=self._actor(by),
            participant_id=participant_id,
            enrollment_id=enrollment_id,
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

    # --- partners' systems and the outbox --------------------------------------------------

    def connect_partner(self, partner: str, *, by: str, url: str, answers: bool = True) -> None:
        """The partner's staff member `by` registers the partner's webhook, so badges shared
        with it from now on are delivered by the outbox. During the demo a simulated system of
        the partner receives them: it checks each signature and answers « reçu », or, with
        `answers=False`, « service indisponible » (HTTP 503). When the demo ends the webhook
        points at `url`, the partner's real address."""
        actor = self._actor(by)
        with self._partners.reachable():
            secret = shares.set_webhook(self._rt, partner, self._partners.url(partner), by=actor)
        self._partners.connect(partner, secret, answers, by, url)

    def deliver(self) -> tuple[int, int]:
        """Run the outbox as the scheduler would, on the simulated clock, until nothing is due:
        a delivery a partner refuses is tried again after the outbox's backoff, until it is
        abandoned for an administrator to retry. Returns (sent, abandoned)."""
        sent = 0
        with self._partners.reachable():
            while True:
                done, _failed = outbox.work(self._rt, now=self.now)
                sent += done
                with self._rt.reading() as conn:
                    due = conn.execute(
                        select(func.min(Delivery.next_attempt_at)).where(
                            Delivery.status == "pending"
                        )
                    ).scalar_one()
                if due is None:
                    break
                self._move_to(max(self.now, as_utc(due)))
            with self._rt.reading() as conn:
                dead = conn.execute(
                    select(func.count()).where(Delivery.status == "dead")
                ).scalar_one()
        return sent, dead

    def received(self, partner: str) -> int:
        """How many webhooks the partner's simulated system has taken."""
        return self._partners.received.get(partner, 0)

    def close(self) -> None:
        """The demo ends: the simulated partner systems stop, and each partner's webhook points
        at its real address."""
        for partner, by, url in self._partners.stop():
            shares.set_webhook(self._rt, partner, url, by=self._actor(by))


@dataclass
class _PartnerSystems:
    """One local HTTP receiver standing for every connected partner's system. The outbox only
    reaches public https addresses; while the demo delivers, it is allowed this receiver."""

    secrets: dict[str, str] = field(default_factory=dict)
    answers: dict[str, bool] = field(default_factory=dict)
    received: dict[str, int] = field(default_factory=dict)
    later: list[tuple[str, str, str]] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    def url(self, partner: str) -> str:
        if self._server is None:
            self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
            threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self._server.server_address[1]}/{partner}"

    def connect(self, partner: str, secret: str, answers: bool, by: str, url: str) -> None:
        self.secrets[partner], self.answers[partner] = secret, answers
        self.later.append((partner, by, url))

    @contextmanager
    def reachable(self) -> Iterator[None]:
        saved = {k: os.environ.get(k) for k in (webhooks.ALLOW_HTTP, webhooks.ALLOWED_HOSTS)}
        allowed = ",".join(filter(None, [saved[webhooks.ALLOWED_HOSTS], "127.0.0.1"]))
        os.environ[webhooks.ALLOW_HTTP], os.environ[webhooks.ALLOWED_HOSTS] = "1", allowed
        try:
            yield
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value

    def stop(self) -> list[tuple[str, str, str]]:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        later, self.later = self.later, []
        return later

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        systems = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                partner = self.path.strip("/")
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                secret = systems.secrets.get(partner, "")
                wrong = webhooks.verify(secret, self.headers, body, now=time.time())
                if wrong is None and systems.answers.get(partner):
                    systems.received[partner] = systems.received.get(partner, 0) + 1
                    self.send_response(200)
                else:
                    self.send_response(503 if wrong is None else 401)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler
