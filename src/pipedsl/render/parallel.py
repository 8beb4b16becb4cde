"""Rendering the components of a large project on several cores.

Each component renders independently, so a project with many of them is split between the
calling process and forked children (which inherit the loaded project, so nothing but the
results crosses between processes: each child sends its share back, pickled, through a pipe).
Small projects, machines with one core, and processes that already run threads (forking those
is unsafe) render in the calling process; the result is the same either way, and so is the
error raised when items fail: the one of the first failing item.
"""

from __future__ import annotations

import contextlib
import gc
import os
import pickle
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any, NoReturn, TypeVar

T = TypeVar("T")
R = TypeVar("R")

# Below this many items, starting processes costs more than it saves.
MIN_ITEMS = 200


def _workers() -> int:
    if not hasattr(os, "fork") or threading.active_count() > 1:
        return 1
    return min(os.cpu_count() or 1, 8)


def parallel_map(function: Callable[[T], R], items: Sequence[T]) -> list[R]:
    """``[function(item) for item in items]``, in order, on several cores when worth it. If
    ``function`` raises for some items, the exception of the first of them is raised."""
    workers = _workers()
    if workers < 2 or len(items) < MIN_ITEMS:
        return [function(item) for item in items]
    size = -(-len(items) // workers)
    shares = [items[start : start + size] for start in range(0, len(items), size)]
    children: list[_Child] = []
    with _frozen():
        try:
            for share in shares[:-1]:
                children.append(_Child(function, share))
            # The calling process takes the last share itself rather than wait idle; an error
            # there is raised only if no child's (earlier) share failed.
            try:
                own: list[Any] = [function(item) for item in shares[-1]]
                failure: BaseException | None = None
            except Exception as exc:  # raised below, in item order
                own, failure = [], exc
            results: list[R] = []
            for child in children:
                results += child.result()  # raises the child's error
            if failure is not None:
                raise failure
            return results + own
        finally:
            for child in children:  # any still running after an error are stopped
                child.stop()


@contextlib.contextmanager
def _frozen() -> Iterator[None]:
    # What exists now lives on in every process: kept out of garbage collections, which would
    # otherwise walk it in each of them (and, writing to every object's header, copy each page
    # the processes share): Python's advice for fork without exec. A caller's own freeze is
    # left alone.
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


class _Child:
    """A forked process computing ``function`` over ``share`` and sending the results."""

    def __init__(self, function: Callable[[Any], Any], share: Sequence[Any]) -> None:
        reader, writer = os.pipe()
        # No signal handler may run in the child before it is inside its own code.
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        try:
            pid = os.fork()
        except BaseException:
            os.close(reader)
            os.close(writer)
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
            raise
        if not pid:
            _child(function, share, reader, writer, blocked)
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        os.close(writer)
        self.pid: int | None = pid
        self.reader: int | None = reader

    def result(self) -> list[Any]:
        """The child's results (or its exception, raised); the child is reaped."""
        assert self.reader is not None  # noqa: S101  (result is read once)
        with os.fdopen(self.reader, "rb") as source:
            self.reader = None
            data = source.read()
        status = self._reap()
        if status != 0 or not data:
            raise RuntimeError(f"a rendering process ended without a result (status {status})")
        ok, value = pickle.loads(data)  # noqa: S301  (written by our own forked child)
        if not ok:
            raise value
        return list(value)

    def stop(self) -> None:
        if self.reader is not None:
            os.close(self.reader)
            self.reader = None
        if self.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            self._reap()

    def _reap(self) -> int | None:
        pid, self.pid = self.pid, None
        if pid is None:
            return None
        try:
            _, status = os.waitpid(pid, 0)
        except ChildProcessError:  # reaped by someone else (SIGCHLD ignored, say)
            return 0
        return os.waitstatus_to_exitcode(status)


def _child(
    function: Callable[[Any], Any],
    share: Sequence[Any],
    reader: int,
    writer: int,
    blocked: set[int | signal.Signals],
) -> NoReturn:
    """The child: compute, send, and leave without running the parent's exit handlers."""
    status = 1
    try:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
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
