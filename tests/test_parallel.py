"""Rendering a large project on several cores gives exactly what one core gives."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from benchmarks.workload import write_project

from pipedsl import load_project, render_project
from pipedsl.errors import ModelError
from pipedsl.render import parallel
from tests.conftest import ROOT
from tests.support.cli import run_python

SCRIPT = """
import json, sys
from pipedsl import load_project, render_project
from pipedsl.render import parallel
assert parallel._workers() >= 2, "expected a fork-capable machine with several cores"
artifacts = render_project(load_project(sys.argv[1]))
print(json.dumps([[a.path, a.text, a.kind] for a in artifacts]))
"""


def test_parallel_render_equals_sequential_render(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    components = parallel.MIN_ITEMS + 50
    project_file = write_project(tmp_path / "projects", components)
    # In a fresh single-threaded process the components are split between forked workers.
    done = run_python("-c", SCRIPT, str(project_file), cwd=ROOT)
    assert done.returncode == 0, done.stderr
    forked = json.loads(done.stdout)
    monkeypatch.setattr(parallel, "MIN_ITEMS", 10**9)  # here: one process
    sequential = [[a.path, a.text, a.kind] for a in render_project(load_project(project_file))]
    assert len(sequential) == 2 * components + 3  # Jenkinsfile and job each, setup files
    assert forked == sequential


INVALID = """
import sys
from pipedsl import load_project, render_project
from pipedsl.errors import ModelError
from pipedsl.render import parallel
assert parallel._workers() >= 2, "expected a fork-capable machine with several cores"
try:
    render_project(load_project(sys.argv[1]))
except ModelError as error:
    print(error)
"""


def test_a_project_wide_problem_is_reported_as_in_one_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Checked while the workers render the components: its error is the same.
    project_file = write_project(tmp_path / "projects", parallel.MIN_ITEMS + 50)
    text = project_file.read_text(encoding="utf-8")
    twice = 'f"svc-{i:04d}" if i != 7 else "svc-0003",\n            source='
    assert text.count('f"svc-{i:04d}",\n            source=') == 1
    project_file.write_text(
        text.replace('f"svc-{i:04d}",\n            source=', twice), encoding="utf-8"
    )
    done = run_python("-c", INVALID, str(project_file), cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert "duplicate component name 'svc-0003'" in done.stdout
    monkeypatch.setattr(parallel, "MIN_ITEMS", 10**9)  # here: one process
    with pytest.raises(ModelError) as one_process:
        render_project(load_project(project_file))
    assert done.stdout == f"{one_process.value}\n"


def test_small_inputs_stay_in_process() -> None:
    assert parallel.parallel_map(lambda n: n * 2, list(range(5))) == [0, 2, 4, 6, 8]


ERRORS = """
import gc, os, signal, sys
from pipedsl.errors import RenderError
from pipedsl.render import parallel
assert parallel._workers() >= 2, "expected a fork-capable machine with several cores"

def fail_at(*bad):
    def function(n):
        if n in bad:
            raise RenderError(f"item {n} cannot be rendered")
        return n
    return function

def no_child_left():
    try:
        os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        return "no child left"
    return "a child is left"

items = list(range(parallel.MIN_ITEMS * 2))
last = len(items) - 1
assert parallel.parallel_map(fail_at(), items) == items
# In a forked child's share, in the calling process's share, in both: the first item's error.
for bad in ((3,), (last,), (3, last)):
    try:
        parallel.parallel_map(fail_at(*bad), items)
    except RenderError as error:
        print(error, "|", no_child_left(), "|", gc.get_freeze_count())
# A failing check run meanwhile is raised, whatever the items give, and stops the children.
def check():
    raise RenderError("the project is invalid")
for bad in ((), (3,)):
    try:
        parallel.parallel_map(fail_at(*bad), items, meanwhile=check)
    except RenderError as error:
        print(error, "|", no_child_left(), "|", gc.get_freeze_count())
calls = []
assert parallel.parallel_map(fail_at(), items, meanwhile=lambda: calls.append(1)) == items
print("meanwhile called", len(calls), "time(s)")
# Where memory files are refused, temporary files carry the results; where those are refused
# too, the calling process renders everything itself.
import tempfile
memfd_create, temporary_file = os.memfd_create, tempfile.TemporaryFile
def refuse(*args, **kwargs):
    raise PermissionError(1, "refused by the sandbox")
os.memfd_create = refuse
assert parallel.parallel_map(fail_at(), items) == items
tempfile.TemporaryFile = refuse
assert parallel.parallel_map(fail_at(), items) == items
os.memfd_create, tempfile.TemporaryFile = memfd_create, temporary_file
print("fallbacks work |", no_child_left())
# A child that dies loses only the run it was on: an earlier item's error still comes first,
# and without one its death is reported.
import time
main = os.getpid()
def dies_at(*dying, bad=()):
    def function(n):
        if os.getpid() != main and (not dying or n in dying):
            os._exit(9)
        time.sleep(0.003)  # the child surely takes runs before the caller has done them all
        if n in bad:
            raise RenderError(f"item {n} cannot be rendered")
        return n
    return function
for function in (dies_at(last, bad=(3,)), dies_at()):
    try:
        parallel.parallel_map(function, items)
    except (RenderError, RuntimeError) as error:
        print(error, "|", no_child_left())
# Interrupted while it waits for a child, the caller stops and reaps it.
def slow_in_child(n):
    time.sleep(30 if os.getpid() != main else 0.003)  # the caller is done in about 1.2 s
    return n
def interrupt(signum, frame):
    raise KeyboardInterrupt
signal.signal(signal.SIGALRM, interrupt)
signal.setitimer(signal.ITIMER_REAL, 2.5)
started = time.monotonic()
try:
    parallel.parallel_map(slow_in_child, items)
    outcome = "not interrupted"
except KeyboardInterrupt:
    outcome = "interrupted"
finally:
    signal.setitimer(signal.ITIMER_REAL, 0)
print(outcome, "|", no_child_left(), "|", time.monotonic() - started < 10)
# A caller's own freeze is kept; a process that lets the system reap its children still works.
gc.freeze()
frozen = gc.get_freeze_count()
assert parallel.parallel_map(fail_at(), items) == items
print("freeze kept" if gc.get_freeze_count() == frozen else "freeze lost")
gc.unfreeze()
signal.signal(signal.SIGCHLD, signal.SIG_IGN)
print("reaped elsewhere:", parallel.parallel_map(fail_at(), items) == items, gc.get_freeze_count())
"""


def test_errors_freezes_and_reaping_are_handled_as_in_one_process() -> None:
    done = subprocess.run(
        [sys.executable, "-c", ERRORS], capture_output=True, text=True, check=True, cwd=ROOT
    )
    last = 2 * parallel.MIN_ITEMS - 1
    assert done.stdout.splitlines() == [
        "item 3 cannot be rendered | no child left | 0",
        f"item {last} cannot be rendered | no child left | 0",
        "item 3 cannot be rendered | no child left | 0",
        "the project is invalid | no child left | 0",
        "the project is invalid | no child left | 0",
        "meanwhile called 1 time(s)",
        "fallbacks work | no child left",
        "item 3 cannot be rendered | no child left",
        "a rendering process ended without a result (status 9) | no child left",
        "interrupted | no child left | True",
        "freeze kept",
        "reaped elsewhere: True 0",
    ]


COLLECTIONS = """
import gc
from pipedsl.render import parallel
assert parallel._workers() >= 2, "expected a fork-capable machine with several cores"
seen = []
def note():
    seen.append(gc.isenabled())
    return "read"
class Probe:  # read back in the calling process by calling note()
    def __reduce__(self):
        return note, ()
import os, time
main = os.getpid()
def probe(n):
    if os.getpid() == main:
        time.sleep(0.003)  # the child surely takes runs before the caller has done them all
    return Probe()
items = list(range(parallel.MIN_ITEMS * 2))
results = parallel.parallel_map(probe, items)
print(len(seen) > 0, "read" in results, any(seen), gc.isenabled())
gc.disable()
parallel.parallel_map(probe, items)
print(gc.isenabled())
"""


def test_results_are_read_back_without_collections() -> None:
    # Reading a child's results makes many objects and no garbage: no collection walks the
    # calling process's objects meanwhile, and the caller's setting is restored.
    done = subprocess.run(
        [sys.executable, "-c", COLLECTIONS], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert done.stdout.splitlines() == ["True True False True", "False"]


ORDER = """
import itertools, json, os, time
from pipedsl.render import parallel
assert parallel._workers() >= 2, "expected a fork-capable machine with several cores"
calls = itertools.count()  # each process counts its own calls
parent = os.getpid()

def call(n):
    # The calling process slower: the others take runs even if they start late.
    time.sleep(0.01 if os.getpid() == parent else 0.002)
    return [os.getpid(), next(calls), n]

print(json.dumps(parallel.parallel_map(call, range(400))))
"""


def test_each_process_takes_its_items_in_order() -> None:
    # What render_project keeps from one component to the next (the steps already listed)
    # rests on this.
    done = run_python("-c", ORDER, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)
    assert [n for _, _, n in results] == list(range(400))
    calls: dict[int, list[tuple[int, int]]] = {}
    for pid, call, n in results:
        calls.setdefault(pid, []).append((call, n))
    assert len(calls) >= 2
    for made in calls.values():  # by call: the items' numbers grow
        numbers = [n for _, n in sorted(made)]
        assert numbers == sorted(numbers)
