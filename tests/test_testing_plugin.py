"""pipedsl.testing as a team uses it: a test file in a team's repository snapshots every
rendered file by its path, finds the project from the repository root whatever folder pytest
runs in, records with --snapshot-update and fails naming the files a change alters. Run as a
real pytest in a fresh repository."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.conftest import seed_projects
from tests.support.cli import run_python

TEAM_TEST = """
import pytest
from pipedsl.testing import artifact_cases


def test_rendered_files(pipedsl_snapshot):
    pipedsl_snapshot("projects/lat32t.py")


@pytest.mark.parametrize("artifact", artifact_cases("projects/lat32t.py"))
def test_rendered_file(artifact, snapshot):
    assert artifact.text == snapshot
"""


def _pytest(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    pytest = ("-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist")
    return run_python(*pytest, *args, cwd=cwd, PYTHONDONTWRITEBYTECODE="1")


def test_a_team_snapshots_its_rendered_files(tmp_path: Path) -> None:
    seed_projects(tmp_path / "projects")
    tests = tmp_path / "tests"
    tests.mkdir()
    (tests / "test_generated.py").write_text(TEAM_TEST)

    # Recorded from the tests folder, not the repository root.
    first = _pytest(tests, "--snapshot-update")
    assert first.returncode == 0, first.stdout + first.stderr
    recorded = (tests / "__snapshots__" / "test_generated.ambr").read_text()
    assert "# name: test_rendered_files[lat32t/backend/Jenkinsfile]" in recorded
    assert "# name: test_rendered_file[lat32t/backend/Jenkinsfile]" in recorded
    assert "# name: test_rendered_files[lat32t/mariadb/k8s/60-statefulset-mariadb.yaml]" in recorded

    again = _pytest(tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr

    # A change to the project: both forms fail, naming the files it changes.
    project = tmp_path / "projects" / "lat32t.py"
    project.write_text(project.read_text().replace("#slack-notification", "#deploys"))
    changed = _pytest(tmp_path)
    assert changed.returncode == 1
    assert "rendered file(s) differ from their snapshots: lat32t/backend/Jenkinsfile" in (
        changed.stdout
    )
    assert "(run pytest --snapshot-update if the change is intended)" in changed.stdout
    assert "FAILED tests/test_generated.py::test_rendered_file[lat32t/frontend/Jenkinsfile]" in (
        changed.stdout
    )


def test_a_repository_without_projects_is_named(tmp_path: Path) -> None:
    (tmp_path / "test_x.py").write_text(
        "def test_x(pipedsl_snapshot):\n    pipedsl_snapshot('projects/x.py')\n"
    )
    done = _pytest(tmp_path)
    assert done.returncode == 1
    assert "no projects/ folder in" in done.stdout
