"""How fast the command line starts: wall and user CPU time of whole `parcours` processes.

    python benchmarks/cli.py [--runs 5] [--db demo.sqlite] [--enrollment 1] [--against DIR]

Measured on a demo database (`parcours demo`, made in a temporary folder unless `--db` names
one): `parcours --help`, `parcours status ID`, `parcours history ID` and `parcours pathway
list`, each run as its own process (`python -m engine.cli`, what the `parcours` script runs),
the median of `--runs`. User CPU time (the child's own, from `wait4`) varies less than wall
time on a busy machine. Python writes its bytecode cache into a temporary folder, filled by
one unmeasured run of each command, as an installed Parcours has its `.pyc` files: otherwise
a machine with PYTHONDONTWRITEBYTECODE set would time the compiler.

`--against DIR` also times another copy of the code (for instance `git archive HEAD engine
plugins networks workflows | tar -x -C DIR`), its runs interleaved with this one's so that
both see the same load.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Timing:
    wall: float
    user: float


def timed(argv: list[str], env: dict[str, str], cwd: Path) -> Timing:
    """One whole process: wall time, and the user CPU time the kernel counted for it. `cwd` is
    not the repository: `python -m` would put it first on the path, before PYTHONPATH."""
    start = time.perf_counter()
    process = subprocess.Popen(
        argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    assert process.stderr is not None
    errors = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise SystemExit(f"{' '.join(argv)} : code {process.returncode}\n{errors.decode()}")
    return Timing(wall, usage.ru_utime)


def environment(source: Path, db: str, cache: Path) -> dict[str, str]:
    env = dict(os.environ, PARCOURS_DATABASE_URL=db, PYTHONPYCACHEPREFIX=str(cache))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPATH"] = os.pathsep.join([str(source), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def demo_database(folder: Path) -> str:
    path = folder / "demo.sqlite"
    print(f"parcours demo → {path} (about 20 s)", file=sys.stderr)
    subprocess.run(
        [sys.executable, "-m", "engine.cli", "demo", "--path", str(path)],
        cwd=folder,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return str(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--db", help="an existing demo database (default: a new one)")
    parser.add_argument("--enrollment", type=int, default=1)
    parser.add_argument("--against", type=Path, help="another copy of the code to compare")
    args = parser.parse_args()
    commands = {
        "parcours --help": ["--help"],
        f"parcours status {args.enrollment}": ["status", str(args.enrollment)],
        f"parcours history {args.enrollment}": ["history", str(args.enrollment)],
        "parcours pathway list": ["pathway", "list"],
    }
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        db = args.db or demo_database(folder)
        sources = {"this tree": ROOT}
        if args.against:
            sources[str(args.against)] = args.against.resolve()
        envs = {
            name: environment(source, db, folder / f"pycache-{i}")
            for i, (name, source) in enumerate(sources.items())
        }
        results: dict[tuple[str, str], list[Timing]] = {}
        for label, argv in commands.items():
            for env in envs.values():  # cold run: bytecode cache and file cache filled
                timed([sys.executable, "-m", "engine.cli", *argv], env, folder)
            for _ in range(args.runs):
                for name, env in envs.items():
                    run = timed([sys.executable, "-m", "engine.cli", *argv], env, folder)
                    results.setdefault((label, name), []).append(run)
        width = max(len(label) for label in commands)
        code = max(len(name) for name in sources)
        print(f"{'command':<{width}}  {'code':<{code}}  wall (median)  user CPU (median)")
        for (label, name), runs in results.items():
            wall = statistics.median(r.wall for r in runs)
            user = statistics.median(r.user for r in runs)
            print(f"{label:<{width}}  {name:<{code}}  {wall:>9.3f} s    {user:>12.3f} s")


if __name__ == "__main__":
    main()
