"""The test helpers must hold on a fresh machine: two first runs build the IMS validator's
virtualenv once, not twice over each other, and a validator that fails says what it printed."""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests import third_party


def test_two_first_runs_build_the_validator_once(tmp_path: Path, monkeypatch) -> None:
    """On a fresh machine two test sessions started together each saw no virtualenv, each
    built it with clear=True, wiping the other's half-built one: 4 validator tests failed."""
    monkeypatch.setenv("PARCOURS_TEST_CACHE", str(tmp_path))
    builds: list[Path] = []

    def create(home, *, with_pip: bool, clear: bool) -> None:  # type: ignore[no-untyped-def]
        builds.append(Path(home))
        (Path(home) / "bin").mkdir(parents=True, exist_ok=True)
        (Path(home) / "bin" / "python").write_text(f"build {len(builds)}")
        time.sleep(0.2)

    def run(args, **kwargs):  # type: ignore[no-untyped-def]
        time.sleep(0.05)  # pip at work
        return subprocess.CompletedProcess(args, 0, "", "")

    monkeypatch.setattr(third_party.venv, "create", create)
    monkeypatch.setattr(third_party.subprocess, "run", run)
    start = threading.Barrier(2)
    results: list[Path | BaseException] = []

    def first_run() -> None:
        start.wait()
        try:
            results.append(third_party.ims_validator_python())
        except BaseException as exc:
            results.append(exc)

    threads = [threading.Thread(target=first_run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    assert len(builds) == 1
    assert len(results) == 2 and len(set(results)) == 1
    python = results[0]
    assert isinstance(python, Path) and python.read_text() == "build 1"
    assert (python.parent.parent / ".ready").exists()
    assert third_party.ims_validator_python() == python  # later runs reuse it


def test_a_failing_validator_shows_its_own_output(tmp_path: Path) -> None:
    broken = tmp_path / "python"
    broken.write_text(
        "#!/bin/sh\necho 'rapport partiel'\necho 'Traceback: pyld.jsonld.JsonLdError' >&2\nexit 3\n"
    )
    broken.chmod(0o755)
    with pytest.raises(AssertionError) as failed:
        third_party.ims_validate(broken, "http://127.0.0.1:1/badge")
    message = str(failed.value)
    assert "code 3" in message
    assert "rapport partiel" in message
    assert "Traceback: pyld.jsonld.JsonLdError" in message
