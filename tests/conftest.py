"""Shared fixtures: the projects under test, rendered once, and walked once by real Groovy."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest

from pipedsl import Artifact, Project, load_project, render_project
from pipedsl.render.templating import ENV_CACHE_DIR
from tests.support import tally
from tests.support.declarative import walk

ROOT = Path(__file__).resolve().parent.parent
FIXTURE_PROJECTS = ROOT / "tests" / "fixtures" / "projects"
# The seed team's project, by its one file: a team adding projects/<team>.py changes nothing
# the tests see (only test_generated, whose subject is the whole folder, renders them all).
SEED_PROJECT = ROOT / "projects" / "lat32t.py"
PROJECT_FILES = [SEED_PROJECT, *sorted(FIXTURE_PROJECTS.glob("*.py"))]


def seed_projects(folder: Path) -> Path:
    """``folder`` made a projects folder holding the seed project alone; returns it."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(SEED_PROJECT, folder / SEED_PROJECT.name)
    return folder


@pytest.fixture(scope="session")
def projects() -> dict[str, Project]:
    """Every project under test (the example projects and the fixture projects), by name."""
    loaded = [load_project(f) for f in PROJECT_FILES]
    return {p.name: p for p in loaded}


@pytest.fixture(scope="session")
def artifacts(projects: dict[str, Project]) -> dict[str, Artifact]:
    """Every artifact of every project under test, by path."""
    return {a.path: a for p in projects.values() for a in render_project(p)}


@pytest.fixture(scope="session")
def walked(artifacts: dict[str, Artifact]) -> dict[str, Any]:
    """Each Jenkinsfile's ``pipeline`` node, as Groovy ran it (see ``support/declarative``)."""
    files = {path: a.text for path, a in artifacts.items() if a.kind == "jenkinsfile"}
    trees = walk(files)
    result = {}
    for path, tree in trees.items():
        assert [n["name"] for n in tree] == ["pipeline"], f"{path}: top level must be one pipeline"
        result[path] = tree[0]
    return result


def pytest_configure(config: pytest.Config) -> None:
    # The controlling process makes the folder; xdist workers inherit the variable.
    if not hasattr(config, "workerinput"):
        os.environ[tally.ENV] = tempfile.mkdtemp(prefix="pipedsl-tally-")
        # Compiled templates go to a cache of the run, not the user's ~/.cache.
        os.environ[ENV_CACHE_DIR] = tempfile.mkdtemp(prefix="pipedsl-cache-")


def pytest_sessionfinish(session: pytest.Session) -> None:
    tally.flush()


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):
        return
    counts = tally.collect()
    if counts:
        terminalreporter.write_sep("-", "reliability figures")
        for name, count in sorted(counts.items()):
            terminalreporter.write_line(f"{name}: {count}")
    for variable in (tally.ENV, ENV_CACHE_DIR):
        folder = os.environ.get(variable)
        if folder:
            shutil.rmtree(folder, ignore_errors=True)
