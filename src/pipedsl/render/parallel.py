"""Rendering the components of a large project on several cores.

Each component renders independently, so a project with many of them is split between the
calling process and forked children (which inherit the loaded project, so nothing but the
results crosses between processes: each child sends its share back, pickled, through a pipe).
Small projects, machines with one core, and processes that already run threads (forking those
is unsafe) render in the calling process; the result is the same either way.
"""

from __future__ import annotations

import gc
import os
import pickle
import signal
import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

# Below this many items, starting processes costs more than it saves.
MIN_ITEMS = 200


def _workers() -> int:
    if not hasattr(os, "fork") or threading.active_count() > 1:
        return 1
    return min(os.cpu_count() or 1, 8)


def parallel_map(function: Callable[[T], R], items: Sequence[T]) -> list[R]:
    """``[function(item) for item in items]``, in order, on several cores when worth it. An
    exception raised for any item is raised here."""
    workers = _workers()
    if workers < 2 or len(items) < MIN_ITEMS:
        return [function(item) for item in items]
    size = -(-len(items) // workers)
    shares = [items[start : start + size] for start in range(0, len(items), size)]
    children: list[tuple[int, int]] = []
    # What exists now lives on in every process: kept out of garbage collections, which would
    # otherwise walk it in each of them (and, writing to every object's header, copy each
    # page of memory the processes share). The Python documentation's advice for fork.
    gc.freeze()
    try:
        children = [_fork(function, share) for share in shares[:-1]]
        # The calling process takes the last share itself rather than wait idle.
        own = [function(item) for item in shares[-1]]
        results: list[R] = []
        while children:
            results += _collect(children.pop(0))
        return results + own
    finally:
        for pid, reader in children:  # only left after an error: stop the others
            os.close(reader)
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        gc.unfreeze()


def _fork(function: Callable[[Any], Any], share: Sequence[Any]) -> tuple[int, int]:
    reader, writer = os.pipe()
    pid = os.fork()
    if pid:
        os.close(writer)
        return pid, reader
    # The child: compute, send, and leave without running the parent's exit handlers.
    status = 1
    try:
        os.close(reader)
        try:
            payload: tuple[bool, Any] = (True, [function(item) for item in share])
        except BaseException as exc:  # handed to the parent, which raises it
            payload = (False, exc)
        try:
            data = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # a result or an exception that cannot be pickled: describe it
            what = exc if payload[0] else payload[1]
            failure = RuntimeError(f"{type(what).__name__}: {what}"[:2000])
            data = pickle.dumps((False, failure), protocol=pickle.HIGHEST_PROTOCOL)
        with os.fdopen(writer, "wb") as out:
            out.write(data)
        status = 0
    finally:
        os._exit(status)


def _collect(child: tuple[int, int]) -> list[Any]:
    pid, reader = child
    with os.fdopen(reader, "rb") as source:
        data = source.read()
    _, status = os.waitpid(pid, 0)
    if not data:
        raise RuntimeError(f"a rendering process ended without a result (status {status})")
    ok, value = pickle.loads(data)  # noqa: S301  (written by our own forked child)
    if not ok:
        raise value
    return list(value)
