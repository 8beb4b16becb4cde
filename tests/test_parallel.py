"""Rendering a large project on several cores gives exactly what one core gives."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from benchmarks.workload import write_project

from pipedsl import load_project, render_project
from pipedsl.render import parallel
from tests.conftest import ROOT

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
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(project_file)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    forked = json.loads(done.stdout)
    monkeypatch.setattr(parallel, "MIN_ITEMS", 10**9)  # here: one process
    sequential = [[a.path, a.text, a.kind] for a in render_project(load_project(project_file))]
    assert len(sequential) == 2 * components + 3  # Jenkinsfile and job each, setup files
    assert forked == sequential


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
        "freeze kept",
        "reaped elsewhere: True 0",
    ]
