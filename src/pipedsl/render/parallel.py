"""Rendering the components of a large project on several cores.

Each component renders independently, so a project with many of them is split between the
calling process and forked children (which inherit the loaded project, so nothing but the
results crosses between processes: each child writes what it rendered, pickled run by run as
it goes, into a file in memory that the calling process reads once the child is done). The
items are cut into small runs, which the processes take one at a time from a pipe holding their
numbers: a process that is slowed (a forked child pays for the pages it shares with its parent
as it writes to them; the machine may be busy) takes fewer, so that all finish together. Small
projects, machines with one core, and processes that already run threads (forking those is
unsafe) render in the calling process; the result is the same either way, and so is the error
raised when items fail: the one of the first failing item.
"""

from __future__ import annotations

import contextlib
import gc
import os
import pickle
import signal
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import IO, Any, NoReturn, TypeVar

T = TypeVar("T")
R = TypeVar("R")

# Below this many items, starting processes costs more than it saves.
MIN_ITEMS = 200

# Runs per process: enough that the last run taken delays the end little.
RUNS_PER_WORKER = 32

_RUN_NUMBER = 4  # bytes of a run's number in the pipe of runs


def _workers() -> int:
    if not hasattr(os, "fork") or threading.active_count() > 1:
        return 1
    return min(os.cpu_count() or 1, 8)


def parallel_map(
    function: Callable[[T], R],
    items: Sequence[T],
    *,
    meanwhile: Callable[[], object] | None = None,
) -> list[R]:
    """``[function(item) for item in items]``, in order, on several cores when worth it. If
    ``function`` raises for some items, the exception of the first of them is raised. Each
    process calls ``function`` on its share of the items in their order, so that what it keeps
    from one call to the next has seen every earlier item of that process.

    ``meanwhile`` is called first, in the calling process: while the other processes have
    started on the items, if there are any. An exception it raises is raised at once (what
    the others did is dropped)."""
    workers = _workers()
    files = _memory_files(workers - 1) if workers >= 2 and len(items) >= MIN_ITEMS else None
    if files is None:
        if meanwhile is not None:
            meanwhile()
        return [function(item) for item in items]
    size = -(-len(items) // (workers * RUNS_PER_WORKER))
    runs = [range(start, min(start + size, len(items))) for start in range(0, len(items), size)]
    try:
        numbers = _numbers(len(runs))
    except BaseException:
        for file in files:
            file.close()
        raise

    def work(done: Callable[[Record], None]) -> None:
        """Take runs until none is left, handing ``done`` each one rendered (or the exception
        of its first failing item)."""
        while number := os.read(numbers, _RUN_NUMBER):
            run = int.from_bytes(number, "little")
            try:
                done((run, True, [function(items[i]) for i in runs[run]]))
            except Exception as exc:  # raised by the caller, in item order
                done((run, False, exc))

    children: list[_Child] = []
    with _frozen():
        try:
            while files:
                children.append(_Child(work, files.pop()))
            if meanwhile is not None:
                meanwhile()
            # The calling process takes runs itself rather than wait idle.
            rendered: dict[int, tuple[bool, Any]] = {}
            work(lambda record: rendered.__setitem__(record[0], record[1:]))
            failures: list[BaseException] = []
            for child in children:
                records, failure = child.result()
                rendered.update({run: (ok, value) for run, ok, value in records})
                if failure is not None:
                    failures.append(failure)
            return _in_order(len(runs), rendered, failures)
        finally:
            os.close(numbers)
            for file in files:  # not handed to a child (fork failed)
                file.close()
            for child in children:  # any still running after an error are stopped
                child.stop()


Record = tuple[int, bool, Any]
"""A run's number, and its results (True) or the exception of its first failing item."""


def _numbers(count: int) -> int:
    """The reading end of a pipe holding the numbers ``0 .. count - 1``. All are in it before
    any process reads (a few hundred bytes: far below what a pipe holds), and each read of
    ``_RUN_NUMBER`` bytes takes exactly one."""
    reader, writer = os.pipe()
    try:
        os.write(writer, b"".join(n.to_bytes(_RUN_NUMBER, "little") for n in range(count)))
    except BaseException:
        os.close(reader)
        raise
    finally:
        os.close(writer)
    return reader


def _in_order(
    count: int, rendered: dict[int, tuple[bool, Any]], failures: list[BaseException]
) -> list[Any]:
    """The results of runs ``0 .. count - 1`` joined, or, in item order, the first failing
    item's error; for runs a failed child did not record, the first child failure (an earlier
    item's error still comes first)."""
    results: list[Any] = []
    for run in range(count):
        if run not in rendered:  # taken by a child that failed
            raise failures[0] if failures else RuntimeError(f"no process rendered run {run}")
        ok, value = rendered[run]
        if not ok:
            raise value
        results += value
    if failures:
        raise failures[0]
    return results


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


@contextlib.contextmanager
def _no_collections() -> Iterator[None]:
    # Unpickling a child's results makes many objects and no garbage, but would set off
    # collections that walk everything the calling process made (no other thread runs: see
    # _workers).
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


class _Child:
    """A forked process calling ``task`` with a function that records each run it completes,
    in a file in memory the calling process reads once the child has ended."""

    def __init__(self, task: Callable[[Callable[[Record], None]], None], file: IO[bytes]) -> None:
        self.file: IO[bytes] | None = file
        # No signal handler may run in the child before it is inside its own code.
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        try:
            pid = os.fork()
        except BaseException:
            self.file.close()
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
            raise
        if not pid:
            _child(task, self.file, blocked)
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        self.pid: int | None = pid

    def result(self) -> tuple[list[Record], BaseException | None]:
        """The runs the child recorded, and how it failed if it did (an exception it raised, or
        its ending without its last record); the child is reaped first."""
        assert self.file is not None  # noqa: S101  (result is read once)
        status = self._reap()
        records: list[Any] = []
        with self.file as file, _no_collections():
            self.file = None
            size = file.seek(0, os.SEEK_END)
            file.seek(0)
            while file.tell() < size:  # one pickle per record, each with its own memo
                try:
                    records.append(pickle.load(file))  # noqa: S301  (our own forked child's)
                except (EOFError, pickle.UnpicklingError):
                    break  # cut short by the child's end
        # Reaped elsewhere (status unknown), it has ended all the same: its records tell.
        if status in (0, None) and records and records[-1][0] == _END:
            _, ok, failure = records.pop()
            return records, None if ok else failure
        ended = "" if status is None else f" (status {status})"
        return records, RuntimeError(f"a rendering process ended without a result{ended}")

    def stop(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None
        if self.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            self._reap()

    def _reap(self) -> int | None:
        """Wait for the child to end: its exit status, or None when someone else reaped it
        (SIGCHLD ignored, say). Until it is reaped the child is still known, so that an
        exception raised during the wait (Ctrl-C) leaves it to :meth:`stop`."""
        if self.pid is None:
            return None
        try:
            _, status = os.waitpid(self.pid, 0)
        except ChildProcessError:
            self.pid = None
            return None
        self.pid = None
        return os.waitstatus_to_exitcode(status)


_END = -1
"""The run number of a child's last record: whether its task ended normally, or how not."""


def _memory_files(count: int) -> list[IO[bytes]] | None:
    """``count`` anonymous files, in memory where the system allows (else temporary files),
    for children to hand their results back through; None if they cannot be made (a sandbox
    refusing both, say): the items are then rendered in the calling process."""
    files: list[IO[bytes]] = []
    try:
        while len(files) < count:
            try:
                fd = os.memfd_create("pipedsl-render", os.MFD_CLOEXEC)
                files.append(os.fdopen(fd, "w+b"))
            except (AttributeError, OSError):  # no memfd here, or refused
                files.append(tempfile.TemporaryFile())  # noqa: SIM115  (a child's, closed by result or stop)
    except OSError:
        for file in files:
            file.close()
        return None
    return files


def _child(
    task: Callable[[Callable[[Record], None]], None],
    file: IO[bytes],
    blocked: set[int | signal.Signals],
) -> NoReturn:
    """The child: compute, recording as it goes, and leave without running the parent's exit
    handlers."""
    status = 1
    try:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)

        def record(item: Record) -> None:
            try:
                data = pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL)
            except Exception as exc:  # a result or an exception that cannot be pickled
                what = exc if item[1] else item[2]
                failure = RuntimeError(f"{type(what).__name__}: {what}"[:2000])
                data = pickle.dumps((item[0], False, failure), protocol=pickle.HIGHEST_PROTOCOL)
            file.write(data)
            file.flush()  # a crash later loses only the run under way

        try:
            task(record)
            end: Record = (_END, True, None)
        except BaseException as exc:  # handed to the parent, which raises it
            end = (_END, False, exc)
        record(end)
        status = 0
    finally:
        os._exit(status)
