"""Snapshot tests of a team's rendered files, for pytest (with syrupy).

A pytest plugin, loaded whenever pipedsl is installed. Project files are named relative to the
repository root (the nearest folder, from the test file up, that has a ``projects/`` folder),
so a test passes whatever folder pytest runs in::

    # tests/test_generated.py
    def test_rendered_files(pipedsl_snapshot):
        pipedsl_snapshot("projects/lat32t.py")  # one snapshot per rendered file, by its path

or one test per rendered file::

    from pipedsl.testing import artifact_cases

    @pytest.mark.parametrize("artifact", artifact_cases("projects/lat32t.py"))
    def test_rendered_file(artifact, snapshot):
        assert artifact.text == snapshot

``pytest --snapshot-update`` records the snapshots (and removes those of files a project no
longer renders); commit them with the project file. May import every layer below the CLI.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pipedsl.errors import PipedslError

__all__ = ["artifact_cases", "render_files", "repository_root"]


def repository_root(start: str | Path) -> Path:
    """The nearest folder from ``start`` up that has a ``projects/`` folder."""
    from pipedsl.load import find_repository_root

    root = find_repository_root(start)
    if root is None:
        raise PipedslError(
            f"no projects/ folder in {Path(start).absolute()} or any folder above it: "
            "pipedsl.testing names project files relative to the repository that holds projects/"
        )
    return root


def render_files(*project_files: str | Path, start: str | Path = ".") -> list[Any]:
    """The artifacts of ``project_files`` (relative to the repository root found from
    ``start``, or absolute), in render order."""
    from pipedsl.load import load_project
    from pipedsl.render import render_projects

    if not project_files:
        raise PipedslError("name at least one project file, such as 'projects/lat32t.py'")
    root = repository_root(start)
    return list(render_projects([load_project(root / Path(f)) for f in project_files]))


def artifact_cases(*project_files: str | Path) -> list[Any]:
    """``pytest.param`` of each artifact of ``project_files``, its path as the test id: for
    ``@pytest.mark.parametrize("artifact", artifact_cases(...))``. Paths are relative to the
    repository root found from the calling test file."""
    # The caller's file only: inspect.stack() would read the source of every frame.
    frame = inspect.currentframe()
    caller = frame.f_back.f_code.co_filename if frame is not None and frame.f_back else "."
    return [
        pytest.param(a, id=a.path) for a in render_files(*project_files, start=Path(caller).parent)
    ]


@pytest.fixture
def pipedsl_snapshot(request: pytest.FixtureRequest) -> Callable[..., None]:
    """``pipedsl_snapshot("projects/x.py", ...)`` compares every file the projects render with
    its snapshot (named by the file's path) and fails once, listing every file that differs."""
    try:
        snapshot = request.getfixturevalue("snapshot")
    except pytest.FixtureLookupError:
        raise pytest.UsageError(
            "pipedsl_snapshot needs syrupy's `snapshot` fixture: pip install syrupy"
        ) from None

    def check(*project_files: str | Path) -> None:
        artifacts = render_files(*project_files, start=request.path.parent)
        differ: list[str] = []
        for artifact in artifacts:
            try:
                assert artifact.text == snapshot(name=artifact.path)
            except AssertionError:
                differ.append(artifact.path)
        if differ:
            raise AssertionError(
                f"{len(differ)} rendered file(s) differ from their snapshots: "
                + ", ".join(differ)
                + " (run pytest --snapshot-update if the change is intended)"
            )

    return check
