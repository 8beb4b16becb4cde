"""Rendering the components of a large project on several cores.

Each component renders independently, so a project with many of them is split between forked
worker processes (which inherit the loaded project, so nothing but the results crosses between
processes). Small projects, machines with one core, and processes that already run threads
(forking those is unsafe) render in the calling process; the result is the same either way.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

# Below this many items, starting processes costs more than it saves.
MIN_ITEMS = 200

_TASK: tuple[Callable[[Any], Any], Sequence[Any]] | None = None


def _run(bounds: tuple[int, int]) -> list[Any]:
    assert _TASK is not None  # noqa: S101  (set before the workers are forked)
    function, items = _TASK
    return [function(item) for item in items[bounds[0] : bounds[1]]]


def _workers() -> int:
    if "fork" not in multiprocessing.get_all_start_methods() or threading.active_count() > 1:
        return 1
    return min(os.cpu_count() or 1, 8)


def parallel_map(function: Callable[[T], R], items: Sequence[T]) -> list[R]:
    """``[function(item) for item in items]``, in order, on several cores when worth it."""
    workers = _workers()
    if workers < 2 or len(items) < MIN_ITEMS:
        return [function(item) for item in items]
    global _TASK  # noqa: PLW0603  (the one way to hand unpicklable work to forked workers)
    _TASK = (function, items)
    try:
        size = -(-len(items) // workers)
        chunks = [(start, min(start + size, len(items))) for start in range(0, len(items), size)]
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=len(chunks), mp_context=context) as pool:
            return [result for chunk in pool.map(_run, chunks) for result in chunk]
    finally:
        _TASK = None
