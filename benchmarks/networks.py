"""Network files: how long checking and publishing take, for the built-in files and for a
national-scale catalogue, and what a running process pays to notice another one's publication.

    python benchmarks/networks.py [--badges 500] [--db URL]

Check: parse, validate and check a file (schema, sub-badges, committees, pictures).
Publish: one transaction writing the version, organisations and badge classes (first
publication, then a new version where every tenth badge changed).
Freshness: `Runtime.catalogue()` calls per second when the two-second check is due on every
call (its worst case) against the cached path.
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

from engine.networks import load_network_text
from engine.services import networks
from engine.services.access import Actor
from engine.services.runtime import Runtime
from engine.store.database import make_engine, upgrade

FILES = Path(__file__).resolve().parents[1] / "networks"


def synthetic(badges: int, version: int = 1, changed_every: int = 0) -> str:
    """A network with `badges` badges, every fifth with three sub-badges among the others."""
    lines = [
        "id: national",
        f"version: {version}",
        "name: Réseau national",
        "url: https://national.example",
        "email: contact@national.example",
        "committees:",
        "  croise: {title: Comité croisé, crossed: true, quorum: 3, min_structures: 2}",
        "badges:",
    ]
    for i in range(badges):
        criteria = f"Critère {i}" + (
            " (révisé)" if changed_every and i % changed_every == 0 else ""
        )
        lines += [
            f"  - id: national.b{i}",
            f"    name: Badge {i}",
            f"    description: Description du badge {i}.",
            f"    criteria: {criteria}.",
            "    evaluation: {modes: [committee, signatures], committees: [croise]}",
        ]
        if i % 5 == 4:
            lines.append(
                f"    requires: {{of: [national.b{i - 1}, national.b{i - 2}, national.b{i - 3}]}}"
            )
    return "\n".join(lines) + "\n"


def timed(fn, repeat: int = 1) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) / repeat


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--badges", type=int, default=500)
    parser.add_argument("--db", default=None, help="database URL (default: a temporary SQLite)")
    args = parser.parse_args()
    folder = tempfile.mkdtemp()
    url = args.db or f"sqlite:///{folder}/bench.sqlite"
    rt = Runtime(make_engine(url))
    upgrade(rt.engine)
    system = Actor.system()

    print(f"database: {rt.engine.dialect.name}")
    for path in sorted(FILES.glob("*.yaml")):
        check = timed(lambda p=path: networks.check_file(rt, p), repeat=20)
        loaded = networks.check_file(rt, path)
        publish = timed(lambda one=loaded: networks.publish(rt, one, by=system))
        badges = len(loaded.definition.badges)
        print(
            f"{path.name:28} {badges:3} badges  check {check * 1000:6.1f} ms  "
            f"publish {publish * 1000:6.1f} ms"
        )

    text = synthetic(args.badges)
    check = timed(lambda: load_network_text(text, "national.yaml"), repeat=3)
    loaded = load_network_text(text, "national.yaml")
    first = timed(lambda: networks.publish(rt, loaded, by=system))
    again = load_network_text(synthetic(args.badges, 2, changed_every=10), "national.yaml")
    second = timed(lambda: networks.publish(rt, again, by=system))
    print(
        f"synthetic, {args.badges} badges: check {check * 1000:.0f} ms, first publication "
        f"{first * 1000:.0f} ms, version 2 with {args.badges // 10} badges changed "
        f"{second * 1000:.0f} ms"
    )

    with rt.reading() as conn:
        rt.catalogue(conn)
        calls = 20_000
        cached = timed(lambda: rt.catalogue(conn), repeat=calls)

        def due() -> None:
            rt._checked_at = float("-inf")  # the two-second check due on every call
            rt.catalogue(conn)

        checking = timed(due, repeat=2_000)
    print(
        f"catalogue lookups: {1 / cached:,.0f}/s cached, {1 / checking:,.0f}/s when the "
        f"freshness check runs ({checking * 1e6:.0f} µs each, at most once per "
        "2 s per process)"
    )


if __name__ == "__main__":
    main()
