"""Lists, pages and feeds at the national scale, against the same at a small one.

    python benchmarks/scale.py [--scale 0.01] [--reference 0.001] [--requests 200]
        [--no-indexes] [--keep | --reuse] [--pg postgresql://postgres@127.0.0.1:5432/postgres]
        [--rate 100 [--rate-requests 1000] [--workers 2]]

Loads two PostgreSQL databases through the project's own schema (its Alembic migrations, then
the three networks' files and the pathways of `workflows/`), fills them by COPY at `--scale`
(1.0: the national scale after three years: 1.0M enrollments and people, 7.2M audit events,
4.3M assertions, 0.95M deliveries, 0.75M shares, 4,220 organisations) and at `--reference`,
ANALYZEs them, then times each operation below as sequential HTTP requests through the ASGI
app (no network between), one at each scale in turn (so a busy machine slows both alike), and
prints p50/p99 at both scales and their ratio.

The data is skewed as the IAE is: structure sizes follow a long tail (the biggest has ~0.3% of
all enrollments, ~3,100 at national scale, ~500 of them active), all structures belong to
SATO (one network admin sees everything: the worst case), shares and deliveries cluster on
a few partners. A structure's CIP and SATO's admin are the two staff members measured.
`--no-indexes` leaves out the indexes of migrations 0016 to 0020 (`scale_indexes`): the "before".

`--rate 100` then paces a few operations (`RATED`) at that many requests per second against
`parcours serve --workers 2` on each database in turn, as production serves them: achieved
rate, p50 and p99 from each request's slot, and errors (a 409 on a public GET among them).
"""

from __future__ import annotations

import argparse
import base64
import io
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, make_url, text

ROOT = Path(__file__).resolve().parents[1]
sys.path[0] = str(ROOT)  # not benchmarks/: its transitions.py would shadow the library

PG = "postgresql://postgres@127.0.0.1:5432/postgres"
PASSWORD = "mesure-de-charge-2026"
NOW = datetime.now(UTC).replace(microsecond=0)
START = NOW - timedelta(days=3 * 365)


def scale_indexes() -> list[str]:
    """The indexes of migrations 0016_scale_indexes to 0020_revoked_badges, as DDL."""
    return [
        "CREATE INDEX IF NOT EXISTS ix_share_org_shared ON share (organisation_id, shared_at, id)",
        "CREATE INDEX IF NOT EXISTS ix_delivery_network_status_id "
        "ON delivery (network, status, id)",
        "CREATE INDEX IF NOT EXISTS ix_assertion_revoked ON assertion (issuer_id, revoked_at) "
        "INCLUDE (id, revocation_reason, status_index) WHERE revoked_at IS NOT NULL",
        "CREATE INDEX IF NOT EXISTS ix_assertion_enrollment_held "
        "ON assertion (enrollment_id, revoked_at, badge_class_id, recipient_id)",
        "CREATE INDEX IF NOT EXISTS ix_enrollment_structure_id_id ON enrollment (structure_id, id)",
        "CREATE INDEX IF NOT EXISTS ix_enrollment_stage_entered "
        "ON enrollment (pathway_version_id, stage, status, stage_entered_at, id)",
        "CREATE INDEX IF NOT EXISTS ix_badgerequest_structure_status_submitted "
        "ON badgerequest (structure_id, status, submitted_at, id)",
        "CREATE INDEX IF NOT EXISTS ix_badgerequest_status_submitted "
        "ON badgerequest (status, submitted_at, id)",
        "CREATE INDEX IF NOT EXISTS ix_enrollment_structure_stage_entered "
        "ON enrollment (structure_id, status, pathway_version_id, stage, stage_entered_at)",
        "CREATE INDEX IF NOT EXISTS ix_person_phone ON person (phone)",
        "CREATE INDEX IF NOT EXISTS ix_person_name ON person (family_name, given_name, id)",
        "CREATE INDEX IF NOT EXISTS ix_person_lower_email ON person (lower(email))",
        "CREATE INDEX IF NOT EXISTS ix_person_folded ON person (folded_family, folded_given, id)",
        "CREATE INDEX IF NOT EXISTS ix_organisation_kind_name ON organisation (kind, name, id)",
    ]


# --- the data -------------------------------------------------------------------------------


def _copy(raw, table: str, columns: list[str], rows) -> int:
    """COPY rows (tuples; None for NULL) into `table`, in chunks of text format."""
    n = 0
    with raw.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        buf = io.StringIO()
        for row in rows:
            buf.write("\t".join("\\N" if v is None else str(v) for v in row))
            buf.write("\n")
            n += 1
            if n % 50_000 == 0:
                copy.write(buf.getvalue())
                buf = io.StringIO()
        copy.write(buf.getvalue())
    return n


def _at(rng: random.Random, days_back: float = 3 * 365) -> datetime:
    return NOW - timedelta(seconds=rng.random() * days_back * 86400)


def _ts(moment: datetime) -> str:
    return moment.isoformat()


def load(url: str, scale: float, indexes: bool) -> dict:
    """A fresh database at `url` with the schema, the networks and pathways, then the data."""
    from engine.services.bootstrap import initialise
    from engine.services.organisations import add_staff, upsert_organisation
    from engine.services.runtime import Runtime
    from engine.store.database import make_engine

    rng = random.Random(2026)
    rt = Runtime(make_engine(url), workflows=ROOT / "workflows")
    initialise(rt)  # the schema's newest version, indexes included
    if not indexes:
        with rt.engine.begin() as c:
            for ddl in scale_indexes():  # "CREATE INDEX IF NOT EXISTS name ON ..."
                c.exec_driver_sql(f"DROP INDEX IF EXISTS {ddl.split()[5]}")
    n_enr = max(2000, int(1_000_000 * scale))
    n_struct = max(40, int(4000 * scale))
    n_partner = max(10, int(217 * scale))
    with rt.unit_of_work() as s:
        for i in range(n_struct):
            upsert_organisation(
                s, f"siae-{i}", f"SIAE n° {i}", "structure", structure_kind="ACI", networks=["sato"]
            )
        for i in range(n_partner):
            upsert_organisation(s, f"partenaire-{i}", f"GEIQ n° {i}", "partner", networks=["sato"])
        add_staff(s, "cip@mesure.example", "Claire", "Mesure", [("siae-0", "cip")])
        add_staff(s, "admin@mesure.example", "Alix", "Réseau", [("sato", "network_admin")])
        add_staff(s, "geiq@mesure.example", "Gaël", "Partenaire", [("partenaire-0", "partner")])
    with rt.engine.connect() as c:
        q = c.execute
        sato = q(text("SELECT id FROM organisation WHERE slug='sato'")).scalar_one()
        structures = [
            r[0]
            for r in q(
                text("SELECT id FROM organisation WHERE slug LIKE 'siae-%' ORDER BY id")
            ).all()
        ]
        partners = [
            r[0]
            for r in q(
                text("SELECT id FROM organisation WHERE slug LIKE 'partenaire-%' ORDER BY id")
            ).all()
        ]
        cip = q(text("SELECT id FROM person WHERE email='cip@mesure.example'")).scalar_one()
        versions = q(
            text("SELECT id, definition FROM pathwayversion WHERE network='sato' ORDER BY id")
        ).all()
        classes = [
            r[0]
            for r in q(
                text(
                    "SELECT id FROM badgeclass WHERE network='sato' AND status='active' "
                    "AND recipient_kind='person'"
                )
            ).all()
        ]
        person0 = q(text("SELECT coalesce(max(id), 0) FROM person")).scalar_one() + 1
        enr0 = q(text("SELECT coalesce(max(id), 0) FROM enrollment")).scalar_one() + 1
    stages = [(vid, [s["id"] for s in d["stages"]]) for vid, d in versions]
    # the long tail: structure k weighs 1/(k+20)^0.6; the first gets ~0.3% of everything
    weights = [1 / (k + 20) ** 0.6 for k in range(len(structures))]
    where = rng.choices(structures, weights, k=n_enr)
    where[: max(1, n_enr // 330)] = [structures[0]] * max(1, n_enr // 330)
    raw = rt.engine.raw_connection()
    try:
        driver = raw.driver_connection
        t0 = time.perf_counter()
        people = [
            (
                person0 + i,
                "participant",
                f"Prénom{i % 997}",
                f"Nom{i}",
                f"p{i}@exemple.fr" if i % 3 else None,
                f"+3361{i:07d}"[:12] if i % 3 == 0 else None,
                str(uuid.UUID(int=rng.getrandbits(128))),
                where[i],
                _ts(_at(rng)),
            )
            for i in range(n_enr)
        ]
        _copy(
            driver,
            "person",
            [
                "id",
                "kind",
                "given_name",
                "family_name",
                "email",
                "phone",
                "subject",
                "structure_id",
                "created_at",
            ],
            people,
        )
        del people
        enrollments = []
        for i in range(n_enr):
            vid, names = stages[i % len(stages)]
            started = _at(rng)
            roll = rng.random()
            status = "active" if roll < 0.16 else "completed" if roll < 0.85 else "withdrawn"
            stage = names[rng.randrange(len(names) - 1)] if status == "active" else names[-1]
            enrollments.append(
                (
                    enr0 + i,
                    person0 + i,
                    where[i],
                    vid,
                    stage,
                    status,
                    1,
                    _ts(started),
                    _ts(started + timedelta(days=rng.random() * 60)),
                    None if status == "active" else _ts(started + timedelta(days=200)),
                    str(uuid.UUID(int=rng.getrandbits(128))),
                )
            )
        _copy(
            driver,
            "enrollment",
            [
                "id",
                "participant_id",
                "structure_id",
                "pathway_version_id",
                "stage",
                "status",
                "revision",
                "started_at",
                "stage_entered_at",
                "completed_at",
                "public_id",
            ],
            enrollments,
        )
        _copy(
            driver,
            "auditevent",
            ["enrollment_id", "at", "actor_id", "kind", "trigger", "from_stage", "to_stage"],
            (
                (enr0 + (i // 7.2).__int__() % n_enr, _ts(_at(rng)), cip, "advanced", "t", "a", "b")
                for i in range(int(7.2 * n_enr))
            ),
        )
        n_assert = int(4.3 * n_enr)
        ids = [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(n_assert)]
        revoked = set(rng.sample(range(n_assert), n_assert // 50))  # 2%

        def assertions(ids: list[str]):
            for i, aid in enumerate(ids):
                e = i * n_enr // n_assert
                on = _at(rng)
                gone = i in revoked
                yield (
                    aid,
                    classes[i % len(classes)],
                    person0 + e,
                    enr0 + e,
                    cip,
                    sato,
                    _ts(on),
                    "sel",
                    "[]",
                    _ts(on + timedelta(days=30)) if gone else None,
                    "erreur de saisie" if gone else None,
                    "email",
                    "sha256$" + aid.replace("-", ""),
                    i,
                )

        _copy(
            driver,
            "assertion",
            [
                "id",
                "badge_class_id",
                "recipient_id",
                "enrollment_id",
                "issued_by",
                "issuer_id",
                "issued_on",
                "salt",
                "evidence",
                "revoked_at",
                "revocation_reason",
                "recipient_type",
                "recipient_identity",
                "status_index",
            ],
            assertions(ids),
        )
        pweights = [1 / (k + 1) for k in range(len(partners))]
        _copy(
            driver,
            "share",
            ["assertion_id", "organisation_id", "reason", "shared_by", "shared_at"],
            (
                (ids[i * 5], org, "pathway", cip, _ts(_at(rng)))
                for i, org in enumerate(rng.choices(partners, pweights, k=int(0.75 * n_enr)))
            ),
        )
        _copy(
            driver,
            "delivery",
            [
                "key",
                "channel",
                "target",
                "network",
                "payload",
                "status",
                "attempts",
                "next_attempt_at",
                "created_at",
                "sent_at",
            ],
            (
                (
                    f"mesure-{i}",
                    "webhook",
                    "https://geiq.example/badges",
                    "sato",
                    "{}",
                    st,
                    1,
                    _ts(at),
                    _ts(at),
                    _ts(at) if st == "sent" else None,
                )
                for i in range(int(0.95 * n_enr))
                for at in [_at(rng)]
                for st in [rng.choices(["sent", "pending", "dead"], [97, 2, 1])[0]]
            ),
        )
        _copy(
            driver,
            "badgerequest",
            [
                "badge_class_id",
                "participant_id",
                "structure_id",
                "enrollment_id",
                "origin",
                "mode",
                "status",
                "submitted_by",
                "submitted_at",
            ],
            (
                (
                    classes[i % len(classes)],
                    person0 + e,
                    where[e],
                    enr0 + e,
                    "suivi",
                    "signatures",
                    "pending" if rng.random() < 0.3 else "approved",
                    cip,
                    _ts(_at(rng)),
                )
                for i in range(n_enr // 5)
                for e in [rng.randrange(n_enr)]
            ),
        )
        raw.commit()
        loaded = time.perf_counter() - t0
    finally:
        raw.close()
    with rt.engine.connect() as c:
        c = c.execution_options(isolation_level="AUTOCOMMIT")
        for table in ["person", "enrollment", "auditevent", "share", "delivery", "badgerequest"]:
            c.exec_driver_sql(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
        if indexes:
            for ddl in scale_indexes():
                c.exec_driver_sql(ddl)
        c.exec_driver_sql("VACUUM ANALYZE")
    return {"rt": rt, "loaded": loaded, "enrollments": n_enr, "big": structures[0]}


# --- the measures ---------------------------------------------------------------------------


def operations(rt, ctx: dict) -> list[tuple[str, str, str]]:
    """(label, who, path) of each operation measured."""
    from engine.services import keyset

    n = ctx["enrollments"]
    with rt.engine.connect() as c:
        last_enr = c.execute(text("SELECT max(id) FROM enrollment")).scalar_one()
        first_enr = c.execute(text("SELECT min(id) FROM enrollment")).scalar_one()
        badge = c.execute(
            text("SELECT id FROM assertion WHERE revoked_at IS NULL ORDER BY id LIMIT 1")
        ).scalar_one()
    # the cursor of a row near the end (as `engine.services.keyset` writes it): the last pages
    deep = base64.urlsafe_b64encode(f"[{first_enr + 40}]".encode()).decode().rstrip("=")
    since = (NOW - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%S")
    # the deepest numbered page (OFFSET) a list serves; deeper, it says to follow the cursors
    last_page = min(keyset.MAX_SKIP // 20 + 1, max(1, n // 20))
    return [
        ("OB 2.0 revocation list (public)", "", "/ob/v2/issuers/sato/revocations"),
        ("OB 3.0 status list (public)", "", "/ob/v3/issuers/sato/status/0"),
        ("partner feed, since 30 days (GEIQ)", "geiq", f"/api/v1/partner/feed?since={since}"),
        ("enrollments list, page 1 (admin)", "admin", "/api/v1/enrollments"),
        ("enrollments list, page 50 (admin)", "admin", "/api/v1/enrollments?page=50"),
        (
            "enrollments list, last pages by cursor (admin)",
            "admin",
            f"/api/v1/enrollments?after={deep}",
        ),
        (
            "enrollments list, deepest numbered page (OFFSET, admin)",
            "admin",
            f"/api/v1/enrollments?page={last_page}",
        ),
        ("participants list, page 1 (admin)", "admin", "/api/v1/participants"),
        ("deliveries page 1 (admin)", "admin", "/api/v1/deliveries"),
        ("dashboard page (admin)", "admin", "/tableau-de-bord"),
        ("dashboard page (CIP, biggest structure)", "cip", "/tableau-de-bord"),
        ("badge requests list (CIP)", "cip", "/api/v1/badge-requests"),
        ("enrollment (GET, admin)", "admin", f"/api/v1/enrollments/{last_enr}"),
        ("public badge page", "", f"/badges/{badge}"),
        ("hosted OB 2.0 assertion", "", f"/ob/v2/assertions/{badge}"),
    ]


def _client(rt, ctx: dict):
    """A client of the app on `rt`, and the three people's session cookies."""
    from fastapi.testclient import TestClient

    from engine.api.app import create_app

    cookies = _cookies(rt)
    client = TestClient(create_app(rt, "http://parcours.test"), base_url="http://parcours.test")
    # the server's work, in-process: unpacking a gzipped answer is the client's (10.8 MB for
    # the national revocation list); what sending it costs shows in the paced run (`--rate`)
    client.headers["Accept-Encoding"] = "identity"
    return client, cookies, operations(rt, ctx)


def measure(contexts: list[dict], requests: int) -> list[dict[str, tuple[float, float, int]]]:
    """Each operation at every scale, the requests interleaved (one at each scale in turn,
    the order swapped every other round): what the machine's other work costs falls on all
    scales alike, so the ratios hold on a busy machine. The first 5 of each are not counted
    (they fill the caches and pools)."""
    clients = [_client(ctx["rt"], ctx) for ctx in contexts]
    out: list[dict[str, tuple[float, float, int]]] = [{} for _ in contexts]
    for k in range(len(clients[0][2])):
        times: list[list[float]] = [[] for _ in contexts]
        status = [0] * len(contexts)
        for i in range(requests + 5):
            order = range(len(contexts)) if i % 2 else reversed(range(len(contexts)))
            for j in order:
                client, cookies, ops = clients[j]
                label, who, path = ops[k]
                client.cookies.clear()
                if who:
                    client.cookies.set("parcours_session", cookies[who])
                t = time.perf_counter()
                resp = client.get(path)
                if i >= 5:
                    times[j].append(time.perf_counter() - t)
                status[j] = resp.status_code
        for j, taken in enumerate(times):
            taken.sort()
            out[j][label] = (
                statistics.median(taken) * 1000,
                taken[min(len(taken) - 1, int(len(taken) * 0.99))] * 1000,
                status[j],
            )
        said = " / ".join(f"{o[label][0]:.1f} ms (HTTP {o[label][2]})" for o in out)
        print(f"  {label}: {said}", file=sys.stderr, flush=True)
    return out


def _cookies(rt) -> dict[str, str]:
    """The session cookies of the three people measured."""
    from engine.services import accounts

    for email in ["cip@mesure.example", "admin@mesure.example", "geiq@mesure.example"]:
        accounts.set_password(rt, email, PASSWORD)
    return {
        who: accounts.login(rt, f"{who}@mesure.example", PASSWORD)
        for who in ["cip", "admin", "geiq"]
    }


RATED = [
    ("enrollments list, page 1 (CIP)", "cip", "/api/v1/enrollments", 1.0),
    ("partner feed, since 30 days (GEIQ)", "geiq", "/api/v1/partner/feed?since={since}", 1.0),
    ("dashboard page (CIP)", "cip", "/tableau-de-bord", 0.5),
    ("OB 2.0 revocation list (public)", "", "/ob/v2/issuers/sato/revocations", 1.0),
    ("OB 3.0 credential, first fetch (public)", "", "/ob/v3/credentials/{fresh}", 1.0),
]
"""What `--rate` paces, and at what share of the rate: the lists that fell behind at national
scale before this work (the CIP's enrollments, the partner feed), public documents (each
credential one never fetched before: a random badge, signed at its first fetch), and a page
at half the rate: a dashboard costs 13 to 16 ms of CPU, so 100 a second would take most of
two cores and measure the queue rather than the page."""


def at_rate(
    ctx: dict, rate: float, requests: int, warm: int, workers: int
) -> dict[str, tuple[float, float, float, int, float]]:
    """Each operation of `RATED` paced at `rate` against `parcours serve --workers` on the
    database of `ctx`: achieved requests/s, p50 and p99 in ms, errors (HTTP 4xx/5xx), and the
    CPU ms per request of the server and PostgreSQL together."""
    from benchmarks import paced

    rt = ctx["rt"]
    cookies = _cookies(rt)
    wanted_ids = requests + warm
    with rt.engine.connect() as c:
        # a random sample of badges: the pages PostgreSQL's SYSTEM sampling picks, shuffled
        rows = c.execute(text("SELECT reltuples FROM pg_class WHERE relname = 'assertion'"))
        share = min(100.0, 300.0 * wanted_ids / max(1.0, rows.scalar_one()))
        fresh = list(
            c.execute(
                text(
                    f"SELECT id FROM assertion TABLESAMPLE SYSTEM ({share:.6f}) "
                    "WHERE revoked_at IS NULL"
                )
            ).scalars()
        )
    random.shuffle(fresh)
    fresh = fresh[:wanted_ids]
    since = (NOW - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%S")
    url = rt.engine.url.render_as_string(hide_password=False)
    out = {}
    with paced.served(url, workers, {"PARCOURS_WORKFLOWS": str(ROOT / "workflows")}) as (
        server,
        port,
    ):
        for label, who, path, share in RATED:
            if share != 1.0:
                label = f"{label} at {rate * share:g} req/s"
            headers = {"Accept-Encoding": "gzip"}  # as browsers and HTTP libraries send
            if who:
                headers["Cookie"] = f"parcours_session={cookies[who]}"
            wanted = [
                paced.request("GET", path.format(since=since, fresh=fresh[i % len(fresh)]), headers)
                for i in range(wanted_ids)
            ]
            out[label] = paced.measure(label, server, port, wanted, rate * share, warm)
    return out


def _database(base: str, name: str) -> str:
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        c.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return make_url(base).set(database=name).render_as_string(hide_password=False)


def _kept(base: str, name: str, scale: float) -> dict:
    """The context of a database an earlier `--keep` run loaded (migrated to the newest)."""
    from engine.services.bootstrap import initialise
    from engine.services.runtime import Runtime
    from engine.store.database import make_engine

    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    rt = Runtime(make_engine(url), workflows=ROOT / "workflows")
    initialise(rt)
    return {"rt": rt, "loaded": 0.0, "enrollments": max(2000, int(1_000_000 * scale))}


def _drop(base: str, name: str) -> None:
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", type=float, default=0.01)
    ap.add_argument("--reference", type=float, default=0.001)
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--no-indexes", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the two databases")
    ap.add_argument(
        "--reuse", action="store_true", help="measure the databases a --keep run left, unloaded"
    )
    ap.add_argument("--pg", default=PG)
    ap.add_argument(
        "--rate",
        type=float,
        default=0,
        help="then pace some operations at this many requests/s against parcours serve",
    )
    ap.add_argument("--rate-requests", type=int, default=1000, help="counted, per operation")
    ap.add_argument("--workers", type=int, default=2, help="parcours serve --workers")
    args = ap.parse_args()
    from benchmarks import machine

    contexts, names = [], []
    for scale in (args.reference, args.scale):
        name = f"parcours_scale_{str(scale).replace('.', '_')}"
        names.append(name)
        if args.reuse:
            contexts.append(_kept(args.pg, name, scale))
            continue
        url = _database(args.pg, name)
        t = time.perf_counter()
        contexts.append(load(url, scale, not args.no_indexes))
        print(
            f"scale {scale}: {contexts[-1]['enrollments']:,} enrollments loaded in "
            f"{time.perf_counter() - t:.0f} s (COPY {contexts[-1]['loaded']:.0f} s)",
            file=sys.stderr,
            flush=True,
        )
    print(machine.said(), file=sys.stderr, flush=True)
    small, big = measure(contexts, args.requests)
    speed = machine.said()
    rated = []
    for ctx, scale in zip(contexts, (args.reference, args.scale), strict=True):
        if args.rate:
            print(f"scale {scale}, {args.rate:g} req/s:", file=sys.stderr, flush=True)
            warm = max(50, args.rate_requests // 5)
            rated.append(at_rate(ctx, args.rate, args.rate_requests, warm, args.workers))
    for ctx, name in zip(contexts, names, strict=True):
        ctx["rt"].engine.dispose()
        if not (args.keep or args.reuse):
            _drop(args.pg, name)
    print(
        f"\n| operation (PostgreSQL, sequential, {args.requests} requests) "
        f"| {args.reference:g} p50 / p99 | {args.scale:g} p50 / p99 | ratio p50 |"
    )
    print("|---|---|---|---|")
    for label in small:
        a, b = small[label], big[label]
        print(
            f"| {label} | {a[0]:.1f} / {a[1]:.1f} ms | {b[0]:.1f} / {b[1]:.1f} ms "
            f"| {b[0] / a[0]:.2f}x |"
        )
    if rated:
        print(
            f"\n| operation ({args.rate:g} req/s paced, {args.rate_requests} requests, "
            f"{args.workers} workers) | {args.reference:g}: req/s, p50 / p99 "
            f"| {args.scale:g}: req/s, p50 / p99 | errors | CPU ms/request (server + PostgreSQL) |"
        )
        print("|---|---|---|---|---|")
        for label in rated[0]:
            a, b = rated[0][label], rated[1][label]
            print(
                f"| {label} | {a[0]:.0f}, {a[1]:.1f} / {a[2]:.1f} ms "
                f"| {b[0]:.0f}, {b[1]:.1f} / {b[2]:.1f} ms | {a[3]} / {b[3]} "
                f"| {a[4]:.1f} / {b[4]:.1f} |"
            )
    print(f"\n{speed} after the measures")


if __name__ == "__main__":
    main()
