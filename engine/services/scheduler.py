"""Time: `parcours scheduler` runs APScheduler, one process per database, with its job store in
that database (so a restart loses no job) and a lock row that keeps a second scheduler from
starting while the first is alive (API workers never run jobs).

Every job only queues e-mails in the outbox under idempotency keys, so running a job twice, or
late after a restart, sends nothing twice. Keys name people by id, never by address: a key
outlives the retention purge of its row's payload.

A daily job applies the retention periods (`privacy.purge`).
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import uuid
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import delete, select, update

from engine import dates
from engine.errors import Conflict
from engine.roles import Role
from engine.services import enrollment_views, outbox, privacy
from engine.services.access import Actor
from engine.services.runtime import Runtime
from engine.store.database import make_engine
from engine.store.tables import (
    Assertion,
    BadgeClass,
    BadgeRequest,
    Committee,
    CommitteeMember,
    Enrollment,
    Organisation,
    Person,
    SchedulerLock,
    StaffRole,
    as_utc,
    utcnow,
)

ESCALATE_AFTER = timedelta(days=7)
REQUEST_REMINDER_DAYS = 14
EXPIRY_NOTICE = timedelta(days=30)
LOCK_TTL = timedelta(seconds=60)


def _staff(rt: Runtime, roles: set[Role]) -> dict[int, list[tuple[str, str, str, int]]]:
    """structure id -> [(role, e-mail, given name, person id)] for staff holding `roles`
    there."""
    out: dict[int, list[tuple[str, str, str, int]]] = {}
    with rt.unit_of_work() as s:
        rows = s.execute(
            select(
                StaffRole.organisation_id,
                StaffRole.role,
                Person.email,
                Person.given_name,
                Person.id,
            )
            .join(Person, Person.id == StaffRole.person_id)
            .where(StaffRole.role.in_([r.value for r in roles]), Person.email.is_not(None))
        ).all()
    for org, role, email, given, pid in rows:
        out.setdefault(org, []).append((role, email, given, pid))
    return out


def deadlines(rt: Runtime, now: datetime | None = None) -> int:
    """Stage deadlines (a stage's `deadline_days`): a reminder to the CIP once it is passed,
    then to the director a week later. Returns the e-mails queued (new or not)."""
    now = now or utcnow()
    staff = _staff(rt, {Role.CIP, Role.DIRECTEUR})
    queued = 0
    with rt.transaction() as conn:
        names = dict(
            conn.execute(
                select(Enrollment.id, Person.given_name + " " + Person.family_name)
                .join(Person, Person.id == Enrollment.participant_id)
                .where(Enrollment.status == "active")
            ).all()
        )
        for st in enrollment_views.states(rt):
            pathway = rt.pathway(conn, st.pathway_version_id)
            stage = pathway.stage(st.stage)
            if stage.deadline_days is None:
                continue
            deadline = as_utc(st.stage_entered_at) + timedelta(days=stage.deadline_days)
            if now < deadline:
                continue
            roles = ["cip"] + (["directeur"] if now >= deadline + ESCALATE_AFTER else [])
            for role, email, given, pid in staff.get(st.structure_id, []):
                if role not in roles:
                    continue
                outbox.queue_email(
                    conn,
                    key=f"echeance:{st.id}:{st.revision}:{role}:{pid}",
                    to=email,
                    now=now,
                    network=pathway.network,
                    template="echeance",
                    escalade=role == "directeur",
                    given_name=given,
                    participant=names.get(st.id, ""),
                    stage=stage.title,
                    pathway=pathway.title,
                    days=(now - as_utc(st.stage_entered_at)).days,
                    deadline=dates.day(deadline),
                    url=f"{rt.urls.base}/parcours/{st.id}",
                )
                queued += 1
    return queued


def request_reminders(rt: Runtime, now: datetime | None = None) -> int:
    """Badge requests waiting more than two weeks: a weekly reminder to those who decide."""
    now = now or utcnow()
    staff = _staff(rt, set(Role))
    queued = 0
    with rt.unit_of_work() as s:
        rows = s.execute(
            select(BadgeRequest, BadgeClass.name, BadgeClass.network, Person)
            .join(BadgeClass, BadgeClass.id == BadgeRequest.badge_class_id)
            .join(Person, Person.id == BadgeRequest.participant_id)
            .where(
                BadgeRequest.status == "pending",
                BadgeRequest.submitted_at <= now - timedelta(days=REQUEST_REMINDER_DAYS),
            )
        ).all()
        networks = dict(s.execute(select(Organisation.slug, Organisation.id)).all())
        for req, badge, network, person in rows:
            if req.mode == "committee":
                recipients = s.execute(
                    select(Person.email, Person.given_name, Person.id)
                    .join(CommitteeMember, CommitteeMember.person_id == Person.id)
                    .where(
                        CommitteeMember.committee_id == req.committee_id,
                        Person.email.is_not(None),
                    )
                ).all()
            elif req.mode == "network":
                recipients = [
                    (email, given, pid)
                    for role, email, given, pid in staff.get(networks.get(network, -1), [])
                    if role == Role.NETWORK_ADMIN
                ]
            else:
                recipients = [
                    (email, given, pid)
                    for role, email, given, pid in staff.get(req.structure_id or -1, [])
                    if role in (Role.CIP, Role.ENCADRANT, Role.DIRECTEUR)
                ]
            days = (now - as_utc(req.submitted_at)).days
            for email, given, pid in recipients:
                outbox.queue_email(
                    s,
                    key=f"demande:{req.id}:{days // 7}:{pid}",
                    to=email,
                    now=now,
                    network=network,
                    template="demande",
                    days=days,
                    badge=badge,
                    given_name=given,
                    participant=person.display_name,
                    submitted=dates.day(req.submitted_at),
                    url=f"{rt.urls.base}/demandes/{req.id}",
                )
                queued += 1
    return queued


def committee_sessions(rt: Runtime, now: datetime | None = None) -> int:
    """A session agenda for each committee with pending requests, sent to its members."""
    now = now or utcnow()
    queued = 0
    with rt.unit_of_work() as s:
        committees = s.execute(select(Committee)).scalars().all()
        for committee in committees:
            pending = s.execute(
                select(BadgeRequest, BadgeClass.name, Person, Organisation.name)
                .join(BadgeClass, BadgeClass.id == BadgeRequest.badge_class_id)
                .join(Person, Person.id == BadgeRequest.participant_id)
                .outerjoin(Organisation, Organisation.id == BadgeRequest.structure_id)
                .where(BadgeRequest.committee_id == committee.id, BadgeRequest.status == "pending")
                .order_by(BadgeRequest.submitted_at)
            ).all()
            if not pending:
                continue
            agenda = [
                {
                    "badge": badge,
                    "participant": person.display_name,
                    "structure": structure or "",
                    "submitted": dates.day(req.submitted_at),
                    "url": f"{rt.urls.base}/demandes/{req.id}",
                }
                for req, badge, person, structure in pending
            ]
            rule = rt.committee_rule(committee.kind)
            members = s.execute(
                select(Person.email, Person.given_name, Person.id)
                .join(CommitteeMember, CommitteeMember.person_id == Person.id)
                .where(CommitteeMember.committee_id == committee.id, Person.email.is_not(None))
            ).all()
            for email, given, pid in members:
                outbox.queue_email(
                    s,
                    key=f"comite:{committee.id}:{now.date().isoformat()}:{pid}",
                    to=email,
                    now=now,
                    network=committee.network,
                    template="comite",
                    committee=committee.name,
                    session=dates.day(now),
                    given_name=given,
                    count=len(agenda),
                    requests=agenda,
                    rule=rule.explain() if rule else committee.kind,
                )
                queued += 1
    return queued


def expiry_notices(rt: Runtime, now: datetime | None = None) -> int:
    """Tell holders a month before a badge of theirs expires."""
    now = now or utcnow()
    queued = 0
    with rt.unit_of_work() as s:
        rows = s.execute(
            select(Assertion.id, Assertion.expires, BadgeClass.name, BadgeClass.network, Person)
            .join(BadgeClass, BadgeClass.id == Assertion.badge_class_id)
            .join(Person, Person.id == Assertion.recipient_id)
            .where(
                Assertion.revoked_at.is_(None),
                Assertion.expires.is_not(None),
                Assertion.expires > now,
                Assertion.expires <= now + EXPIRY_NOTICE,
                Person.email.is_not(None),
            )
        ).all()
        for aid, expires, badge, network, person in rows:
            outbox.queue_email(
                s,
                key=f"expiration:{aid}",
                to=person.email,
                now=now,
                network=network,
                template="expiration",
                badge=badge,
                given_name=person.given_name,
                expires=dates.day(expires),
                url=rt.urls.page(aid),
            )
            queued += 1
    return queued


# --- the scheduler process --------------------------------------------------------------------


@cache
def _runtime(url: str) -> Runtime:
    return Runtime(make_engine(url))


def retention(rt: Runtime, now: datetime | None = None) -> privacy.PurgeReport:
    """The retention periods, applied by the system (see `privacy.purge`)."""
    return privacy.purge(rt, by=Actor.system(), now=now)


def _job(name: str, url: str) -> None:
    """What the job store keeps: a module-level function and plain arguments."""
    rt = _runtime(url)
    {
        "deadlines": deadlines,
        "request_reminders": request_reminders,
        "committee_sessions": committee_sessions,
        "expiry_notices": expiry_notices,
        "retention": retention,
        "outbox": lambda r: outbox.work(r),
    }[name](rt)


JOBS: dict[str, dict[str, Any]] = {
    "deadlines": {"trigger": "interval", "hours": 1},
    "request_reminders": {"trigger": "cron", "hour": 8, "minute": 0},
    "committee_sessions": {"trigger": "cron", "day_of_week": "mon", "hour": 9, "minute": 0},
    "expiry_notices": {"trigger": "cron", "hour": 7, "minute": 0},
    "retention": {"trigger": "cron", "hour": 3, "minute": 30},
}


def acquire(rt: Runtime, holder: str, now: datetime | None = None) -> None:
    """Take the scheduler lock, or Conflict while another live scheduler holds it."""
    now = now or utcnow()
    with rt.unit_of_work() as s:
        row = s.execute(
            select(SchedulerLock).where(SchedulerLock.name == "scheduler").with_for_update()
        ).scalar_one_or_none()
        if row is not None and row.holder != holder and as_utc(row.heartbeat_at) > now - LOCK_TTL:
            raise Conflict(
                f"un planificateur tourne déjà ({row.holder}) : un seul par base de données"
            )
        if row is None:
            s.add(SchedulerLock(name="scheduler", holder=holder, heartbeat_at=now))
        else:
            row.holder, row.heartbeat_at = holder, now
            s.add(row)


def heartbeat(rt: Runtime, holder: str) -> bool:
    with rt.transaction() as conn:
        return (
            conn.execute(
                update(SchedulerLock)
                .where(SchedulerLock.name == "scheduler", SchedulerLock.holder == holder)
                .values(heartbeat_at=utcnow())
            ).rowcount
            == 1
        )


def release(rt: Runtime, holder: str) -> None:
    with rt.transaction() as conn:
        conn.execute(delete(SchedulerLock).where(SchedulerLock.holder == holder))


def start(rt: Runtime, *, tick: float = 5.0, holder: str | None = None) -> BackgroundScheduler:
    """Start the scheduler in this process (after taking the lock); jobs already in the store
    keep their next run time, missed runs are run once (coalesced)."""
    holder = holder or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
    acquire(rt, holder)
    url = rt.engine.url.render_as_string(hide_password=False)
    scheduler = BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(engine=rt.engine, tablename="scheduler_job")},
        job_defaults={"coalesce": True, "misfire_grace_time": None, "max_instances": 1},
        timezone=dates.zone(),
    )
    scheduler.start(paused=True)
    for name, spec in {**JOBS, "outbox": {"trigger": "interval", "seconds": tick}}.items():
        if scheduler.get_job(name) is None:  # a restart keeps the stored job and its next run
            scheduler.add_job(_job, id=name, args=[name, url], **spec)
    scheduler.resume()
    scheduler.parcours_holder = holder  # type: ignore[attr-defined]
    return scheduler


def run(rt: Runtime, *, tick: float = 5.0) -> None:
    """`parcours scheduler`: run until interrupted, keeping the lock alive."""
    scheduler = start(rt, tick=tick)
    holder = scheduler.parcours_holder  # type: ignore[attr-defined]
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())  # a service manager's stop: clean exit
    try:
        while not stop.wait(15):
            if not heartbeat(rt, holder):
                raise Conflict("verrou du planificateur perdu : arrêt")
    except KeyboardInterrupt:
        pass
    finally:
        scheduler.shutdown(wait=True)
        release(rt, holder)
