"""The ``pipedsl`` command pauses garbage collection while it imports, then freezes what it
imported and collects again while the project files run (garbage they make is collected) and
while it renders; the library and typer's test runner leave the caller's collector alone; a
render leaves nothing in reference cycles for the collector."""

from __future__ import annotations

import gc
import types
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipedsl import load_project, render_projects
from pipedsl.cli import app
from tests.conftest import ROOT, seed_projects
from tests.support.cli import run_main

FIXTURES = ROOT / "tests" / "fixtures" / "projects"

# A project file that notes whether collections run while it loads, and whether what was
# imported before it is frozen.
PROBE = """
import gc, os
from pathlib import Path
Path(os.environ["GC_PROBE"]).write_text(f"{gc.isenabled()} {gc.get_freeze_count() > 0}")
"""


@pytest.mark.parametrize("command", ["render", "lint --offline"])
def test_collections_pause_while_importing_only(tmp_path: Path, command: str) -> None:
    seed_projects(tmp_path / "projects")
    seed = next((tmp_path / "projects").glob("*.py"))
    seed.write_text(PROBE + seed.read_text())
    probe = tmp_path / "probe"
    after = "print(gc.isenabled(), gc.get_freeze_count() > 0)"
    done = run_main(*command.split(), cwd=tmp_path, after=after, GC_PROBE=str(probe))
    assert done.returncode == 0, done.stderr
    assert probe.read_text() == "True True"  # running, with the modules frozen
    assert done.stdout.splitlines()[-1] == "True True"


def test_the_test_runner_leaves_collections_alone(tmp_path: Path) -> None:
    seed_projects(tmp_path / "projects")
    frozen = gc.get_freeze_count()
    result = CliRunner().invoke(
        app, ["render", "--projects", str(tmp_path / "projects"), "--out", str(tmp_path / "g")]
    )
    assert result.exit_code == 0, result.output
    assert gc.isenabled()
    assert gc.get_freeze_count() == frozen


def test_sync_resumes_collections_and_leaves_the_freeze_to_the_render(tmp_path: Path) -> None:
    # sync loads and renders in one call: what it loads is frozen by the render before it
    # forks, which a freeze made earlier would stop (it leaves a caller's own freeze alone).
    seed_projects(tmp_path / "projects")
    before = (
        "import pipedsl.jenkins.syncing as syncing\n"
        "def run_sync(*args, **kwargs):\n"
        "    print('at sync:', gc.isenabled(), gc.get_freeze_count())\n"
        "    return 0\n"
        "syncing.run_sync = run_sync\n"
    )
    done = run_main("sync", "--dry-run", "--offline", cwd=tmp_path, before=before)
    assert done.returncode == 0, done.stderr
    assert "at sync: True 0" in done.stdout.splitlines()


def test_a_render_leaves_no_reference_cycles_of_its_own() -> None:
    # What a render leaves in reference cycles waits for the collector, with all it holds:
    # every component's walk would (see the recursive walks of pipeline, notify, setup and
    # configxml). Only ElementTree.indent's own nested function is left.
    projects = [load_project(p) for p in sorted(FIXTURES.glob("*.py"))]
    render_projects(projects)  # caches filled first
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        render_projects(projects)
        gc.collect()
        functions = {f.__qualname__ for f in gc.garbage if isinstance(f, types.FunctionType)}
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert functions <= {"indent.<locals>._indent_children"}
