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
import os, sys
from pipedsl.errors import RenderError
from pipedsl.render import parallel
assert parallel._workers() >= 2, "expected a fork-capable machine with several cores"

def fail_at(bad):
    def function(n):
        if n == bad:
            raise RenderError(f"item {n} cannot be rendered")
        return n
    return function

items = list(range(parallel.MIN_ITEMS * 2))
assert parallel.parallel_map(fail_at(-1), items) == items
for bad in (3, len(items) - 1):  # in a forked child's share, in the calling process's share
    try:
        parallel.parallel_map(fail_at(bad), items)
    except RenderError as error:
        print(error)
    try:
        os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        print("no child left")
"""


def test_an_error_in_any_share_is_raised_and_no_process_is_left() -> None:
    done = subprocess.run(
        [sys.executable, "-c", ERRORS], capture_output=True, text=True, check=True, cwd=ROOT
    )
    last = 2 * parallel.MIN_ITEMS - 1
    assert done.stdout.splitlines() == [
        "item 3 cannot be rendered",
        "no child left",
        f"item {last} cannot be rendered",
        "no child left",
    ]
