"""Badges printed per second: one badge's PDF, and the livret of a parcours with 10 badges.

    python benchmarks/printing.py [--seconds 5]

Served: what the routes do (read from SQLite, then draw): `printing.badge` for one badge and
`printing.livret` for an enrollment holding every badge SATO's encadrant technique awards
alone (7). Drawn only: `engine.openbadges.printing` on the same data, and a livret of 10 badges
(those 7 and 3 more copies with their own addresses and QR codes). One process, one thread.
"""

from __future__ import annotations

import sys
from pathlib import Path

# benchmarks/transitions.py would shadow the `transitions` package: drop this folder from the path.
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)

import argparse
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy import select

from engine.openbadges.printing import Livret, badge_pdf, livret_pdf
from engine.services import access, badges, printing
from engine.services import enrollments as e
from engine.services.bootstrap import initialise
from engine.services.organisations import add_staff, upsert_organisation
from engine.services.runtime import Runtime
from engine.store.database import make_engine, upgrade
from engine.store.tables import BadgeClass

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def per_second(seconds: float, work: Callable[[], bytes]) -> tuple[float, int, int]:
    """(documents per second, pages of the last one, its size in bytes)."""
    work()  # warm: fonts parsed, pictures converted, QR codes drawn once per process
    n, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        pdf = work()
        n += 1
    return n / elapsed, pdf.count(b"/Type /Page\n"), len(pdf)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    seconds = parser.parse_args().seconds
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(str(Path(tmp) / "bench.sqlite"))
        upgrade(engine)
        rt = Runtime(engine)
        initialise(rt)
        with rt.unit_of_work() as s:
            upsert_organisation(
                s, "siae", "SATO Intérim", "structure", structure_kind="ETTI", networks=["sato"]
            )
            add_staff(s, "et@siae.fr", "Marc", "Le Gall", [("siae", "encadrant_technique")])
            direct = [
                slug
                for slug, evaluation in s.execute(
                    select(BadgeClass.slug, BadgeClass.evaluation).where(
                        BadgeClass.network == "sato", BadgeClass.status == "active"
                    )
                )
                if "encadrant_technique" in ((evaluation or {}).get("direct") or [])
            ]
        with rt.reading() as c:
            staff = access.actor_for(c, "et@siae.fr")
        eid = e.enroll(
            rt,
            "sato-femmes-metallurgie",
            "siae",
            e.Participant("Awa", "Diallo", "awa@example.org"),
            by=staff,
            now=T0,
        )
        for slug in direct:
            e.award(rt, eid, slug, by=staff, now=T0, narrative="Observé à l'atelier « soudure »")
        ids = [i for i, _, _ in badges.badges_of(rt, eid, by=staff)]
        u = badges.urls("https://badges.example.org")

        served_badge = per_second(seconds, lambda: printing.badge(rt, ids[0], u))
        served_livret = per_second(seconds, lambda: printing.livret(rt, eid, u, by=staff))

        captured: list[Livret] = []
        real = printing.livret_pdf
        printing.livret_pdf = lambda doc: captured.append(doc) or real(doc)  # type: ignore[assignment]
        printing.livret(rt, eid, u, by=staff)
        printing.livret_pdf = real  # type: ignore[assignment]
        livret = captured[0]
        extra = [
            replace(b, page_url=f"{b.page_url}-{k}")
            for k, b in enumerate(livret.badges[: 10 - len(livret.badges)])
        ]
        ten = replace(livret, badges=[*livret.badges, *extra])
        drawn_badge = per_second(seconds, lambda: badge_pdf(livret.badges[0]))
        drawn_ten = per_second(seconds, lambda: livret_pdf(ten))

    def line(label: str, figures: tuple[float, int, int]) -> str:
        rate, pages, size = figures
        return f"{label:<52} {rate:7.1f}/s  ({pages} p., {size // 1024} KiB)"

    print(f"SQLite, one thread, {seconds:.0f} s each, fpdf2, DejaVu Sans cut to Latin")
    print(line("badge PDF served (load + draw)", served_badge))
    print(line(f"livret served, {len(ids)} badges (load + draw)", served_livret))
    print(line("badge PDF drawn only", drawn_badge))
    print(line(f"livret drawn only, {len(ten.badges)} badges", drawn_ten))


if __name__ == "__main__":
    main()
