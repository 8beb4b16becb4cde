"""``pipedsl import`` on the command line: writes the project file (never half of one, never over
an existing one without --force) and prints the report; --audit lists every Jenkinsfile of a
folder; refusals are one error line. Through typer's runner and as a real subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from pipedsl import load_project, render_project
from pipedsl.cli import app

runner = CliRunner()
FIXTURES = Path(__file__).parent / "fixtures" / "jenkinsfiles"
SEED = [
    str(FIXTURES / "seed" / "backend.Jenkinsfile"),
    str(FIXTURES / "seed" / "frontend.Jenkinsfile"),
]


def test_import_writes_a_project_that_renders(tmp_path: Path) -> None:
    (tmp_path / "projects").mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "pipedsl", "import", *SEED, "--project", "lat32t"],
        cwd=tmp_path, capture_output=True, text=True, check=False,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    target = tmp_path / "projects" / "lat32t.py"
    last = done.stdout.splitlines()[-1]
    assert last.startswith(f"wrote {Path('projects') / 'lat32t.py'}: ")
    assert "converted: docker login -p" in done.stdout
    paths = {a.path for a in render_project(load_project(target))}
    assert {"lat32t/backend/Jenkinsfile", "lat32t/frontend/Jenkinsfile"} <= paths
    assert not list((tmp_path / "projects").glob(".*importing"))

    # Not over an existing file without --force.
    again = runner.invoke(app, ["import", *SEED, "--out", str(target)])
    assert again.exit_code == 2
    assert again.output == (
        f"error: {target} exists; give --force to replace it, or another --out\n"
    )
    forced = runner.invoke(app, ["import", *SEED, "--out", str(target), "--force"])
    assert forced.exit_code == 0, forced.output


def test_a_refused_jenkinsfile_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "x.py"
    result = runner.invoke(
        app, ["import", str(FIXTURES / "refused" / "scripted.Jenkinsfile"), "--out", str(out)]
    )
    assert result.exit_code == 2
    assert result.output.startswith("error: ")
    assert "a scripted pipeline (`node { }`) cannot be imported" in result.output
    assert not out.exists()


def test_audit_lists_every_jenkinsfile_of_a_folder() -> None:
    result = runner.invoke(app, ["import", "--audit", str(FIXTURES)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert (
        f"{FIXTURES / 'seed' / 'backend.Jenkinsfile'}: 30 steps, 30 converted, 0 raw (100 %)"
        in (lines)
    )
    assert any(": refused: " in line and "scripted" in line for line in lines)
    assert lines[-1].startswith("audit: ")
    assert lines[-1].endswith(" refused")


def test_usage_errors() -> None:
    assert runner.invoke(app, ["import"]).output == (
        "error: give the Jenkinsfiles to import (or --audit DIR)\n"
    )
    both = runner.invoke(app, ["import", *SEED, "--audit", str(FIXTURES)])
    assert both.exit_code == 2
    assert "--audit takes a folder, not Jenkinsfiles" in both.output


def test_audit_does_not_descend_into_dependencies(tmp_path: Path) -> None:
    good = (FIXTURES / "seed" / "backend.Jenkinsfile").read_text()
    (tmp_path / "ci").mkdir()
    (tmp_path / "ci" / "Jenkinsfile").write_text(good)
    for skipped in ("node_modules/lib", ".git/hooks", "generated/x"):
        (tmp_path / skipped).mkdir(parents=True)
        (tmp_path / skipped / "Jenkinsfile").write_text("node { }\n")
    result = runner.invoke(app, ["import", "--audit", str(tmp_path)])
    assert result.exit_code == 0, result.output
    rows = result.output.splitlines()[:-1]
    assert rows == [f"{tmp_path / 'ci' / 'Jenkinsfile'}: 30 steps, 30 converted, 0 raw (100 %)"]
