"""Third-party checkers the tests run on what Parcours issues, and a real HTTP server for them.

IMS Global's `openbadges` validator pins libraries from 2017 that clash with ours, so it lives in
a virtualenv of its own, built once per machine from PyPI into a cache folder
(PARCOURS_TEST_CACHE, else ~/.cache/parcours), under a file lock, and reused by later runs.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import venv
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from filelock import FileLock

DATA = Path(__file__).parent / "data"
VALIDATOR_RUNNER = DATA / "ims_validator" / "run.py"

# openbadges 1.1.2 is the last release; its exact pins no longer build on current Pythons,
# so its dependencies are installed in these steps (newest that still work), in this order.
_VALIDATOR_STEPS = [
    ["openbadges==1.1.2"],
    ["--no-deps", "openbadges-bakery==2.0.0", "pypng", "defusedxml"],
    ["--no-deps", "--force-reinstall", "pycryptodome>=3.20", "pyld==1.0.5"],
    ["python-jose>=3.3", "-U", "pytz", "requests-cache<1"],
]


def cache_dir() -> Path:
    return Path(os.environ.get("PARCOURS_TEST_CACHE") or Path.home() / ".cache" / "parcours")


def ims_validator_python() -> Path:
    """The validator's interpreter, building its virtualenv on first use. The build holds a
    file lock beside the cache: two test runs (or xdist workers) starting on a fresh machine
    once built it at the same time, each wiping the other's, and the validator tests failed."""
    tag = f"py{sys.version_info.major}{sys.version_info.minor}"
    home = cache_dir() / f"ims-openbadges-1.1.2-{tag}"
    python = home / "bin" / "python"
    ready = home / ".ready"
    if ready.exists():
        return python
    home.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(home.with_name(home.name + ".lock"), timeout=1800):
        if ready.exists():  # built by whoever held the lock before us
            return python
        venv.create(home, with_pip=True, clear=True)
        for step in _VALIDATOR_STEPS:
            _run_or_explain([str(python), "-m", "pip", "install", "--quiet", *step])
        _run_or_explain([str(python), "-c", "import openbadges.verifier"])
        ready.touch()
    return python


def _run_or_explain(args: list[str]) -> None:
    done = subprocess.run(args, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(
            f"construction du validateur IMS : {' '.join(args)} a échoué "
            f"(code {done.returncode})\n{_outputs(done.stdout, done.stderr)}"
        )


def _outputs(stdout: str | bytes | None, stderr: str | bytes | None) -> str:
    def text(out: str | bytes | None) -> str:
        return out.decode(errors="replace") if isinstance(out, bytes) else (out or "")

    return f"--- sortie ---\n{text(stdout)}\n--- erreurs ---\n{text(stderr)}"


def ims_validate(python: Path, target: str, email: str | None = None) -> dict:
    """The validator's report on a URL or a baked PNG file. When the validator itself fails,
    the assertion shows what it printed, not a bare CalledProcessError."""
    args = [str(python), str(VALIDATOR_RUNNER), target] + ([email] if email else [])
    try:
        out = subprocess.run(args, capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(
            f"le validateur IMS n'a pas répondu en 120 s sur {target}\n"
            f"{_outputs(exc.stdout, exc.stderr)}"
        ) from None
    if out.returncode != 0:
        raise AssertionError(
            f"le validateur IMS a échoué (code {out.returncode}) sur {target}\n"
            f"{_outputs(out.stdout, out.stderr)}"
        )
    try:
        return json.loads(out.stdout)
    except json.JSONDecodeError:
        raise AssertionError(
            f"le validateur IMS n'a pas rendu de JSON sur {target}\n"
            f"{_outputs(out.stdout, out.stderr)}"
        ) from None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(app: FastAPI, port: int) -> Iterator[str]:
    """The app on a real socket at 127.0.0.1:port, in a thread, for the length of the block."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"le serveur de test n'a pas démarré sur le port {port}")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
