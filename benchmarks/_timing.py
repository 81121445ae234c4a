"""Timing helper shared by the benchmark scripts (imported as ``from _timing import best``:
a script run as ``python benchmarks/<name>.py`` has ``benchmarks/`` on ``sys.path``)."""

from __future__ import annotations

import time
from collections.abc import Callable


def best(fn: Callable[[], object], repeat: int, *, warmup: bool = True) -> float:
    """Wall time (s) of the fastest of ``repeat`` calls of ``fn``, after one untimed call
    when ``warmup`` (lazy tables, allocator, caches)."""
    if warmup:
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)
