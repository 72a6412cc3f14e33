"""The speed of the machine a benchmark ran on, printed with its figures.

This shared machine's speed moves by half again between runs minutes apart (and by more
between sessions), and every absolute figure moves with it: a figure is read beside this
reference, ratios measured in one run hold regardless."""

from __future__ import annotations

import time


def reference() -> float:
    """CPU seconds for a fixed pure-Python loop (5 million additions)."""
    start = time.process_time()
    total = 0
    for i in range(5_000_000):
        total += i
    return time.process_time() - start


def said() -> str:
    return f"Machine: a reference Python loop (5 million additions) took {reference():.2f} s"
