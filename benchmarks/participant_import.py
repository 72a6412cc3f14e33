"""Time to import 5,000 participants from a CSV file (issue 20), on SQLite and PostgreSQL.

    python benchmarks/participant_import.py [--lines 5000]

Each line has names, an e-mail, a telephone, a birth year and a PASS IAE number. Timed: the
dry run (read, check every cell, match against the structure's participants), the import
itself (one transaction: batched inserts, one audit event), the same file imported again
(everyone « déjà présent », nothing written but the audit event), and an import that also
enrolls every line on a pathway. PostgreSQL runs when 127.0.0.1:5432 answers (or
PARCOURS_BENCH_PG_URL is set), in a database of its own, dropped afterwards.
"""

from __future__ import annotations

import sys
from pathlib import Path

# benchmarks/transitions.py would shadow the `transitions` package: the repository replaces
# this folder on the import path.
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path[0] = str(Path(__file__).resolve().parents[1])  # the repository instead

import argparse
import tempfile
import time
from collections.abc import Callable

from benchmarks.databases import fresh_pg_database, postgres_url
from engine.services import access
from engine.services import participant_import as pi
from engine.services.bootstrap import initialise
from engine.services.organisations import add_staff, upsert_organisation
from engine.services.runtime import Runtime
from engine.store.database import make_engine, upgrade


def table(lines: int, pathway: str | None = None) -> bytes:
    header = "prenom;nom;email;telephone;annee_naissance;pass_iae" + (
        ";parcours" if pathway else ""
    )
    rows = [header]
    for i in range(lines):
        row = (
            f"Prénom{i};Nom{i};p{i}@exemple.org;06 {i // 10000 % 100:02d} {i // 100 % 100:02d} "
            f"{i % 100:02d} 00;{1960 + i % 45};99999 {i:07d}"
        )
        rows.append(row + (f";{pathway}" if pathway else ""))
    return ("\r\n".join(rows) + "\r\n").encode()


def prepare(url: str) -> tuple[Runtime, access.Actor]:
    engine = make_engine(url)
    upgrade(engine)
    rt = Runtime(engine)
    initialise(rt)
    with rt.unit_of_work() as s:
        for slug in ("siae", "siae-2"):
            upsert_organisation(s, slug, slug, "structure", structure_kind="ACI", networks=["sato"])
        add_staff(s, "cip@siae.fr", "Claire", "Martin", [("siae", "cip"), ("siae-2", "cip")])
    with rt.reading() as c:
        return rt, access.actor_for(c, "cip@siae.fr")


def timed(fn: Callable[[], pi.ImportReport]) -> tuple[float, pi.ImportReport]:
    start = time.perf_counter()
    report = fn()
    return time.perf_counter() - start, report


def run(label: str, url: str, lines: int) -> None:
    rt, cip = prepare(url)
    content = table(lines)

    def go(structure: str, data: bytes, dry_run: bool = False) -> pi.ImportReport:
        return pi.import_participants(
            rt, "liste.csv", data, structure=structure, by=cip, dry_run=dry_run
        )

    dry, report = timed(lambda: go("siae", content, True))
    assert report.created == lines and not report.problems
    first, report = timed(lambda: go("siae", content))
    assert report.created == lines
    again, report = timed(lambda: go("siae", content))
    assert report.created == 0 and report.present == lines
    enrolled, report = timed(lambda: go("siae-2", table(lines, "sato-eiti")))
    assert report.enrolled == lines
    print(f"{label:<11} {lines} lines, {len(content) / 1024:.0f} kB")
    print(f"{label:<11} dry run (read, check, match)           {dry:6.2f} s")
    print(f"{label:<11} import (one transaction)               {first:6.2f} s")
    print(f"{label:<11} same file again (all « déjà présent »)  {again:6.2f} s")
    print(f"{label:<11} import and enroll each on a pathway    {enrolled:6.2f} s")
    rt.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=5000)
    lines = parser.parse_args().lines
    with tempfile.TemporaryDirectory() as tmp:
        run("SQLite WAL", f"sqlite:///{Path(tmp) / 'bench.sqlite'}", lines)
    pg = postgres_url()
    if pg is None:
        print("PostgreSQL  not reachable on 127.0.0.1:5432: skipped")
        return
    url, drop = fresh_pg_database(pg)
    try:
        run("PostgreSQL", url, lines)
    finally:
        drop()


if __name__ == "__main__":
    main()
