"""``pipedsl import`` on the command line: writes the project file (never half of one, never over
an existing one without --force) and prints the report; --audit lists every Jenkinsfile of a
folder; refusals are one error line. Through typer's runner and as a real subprocess."""

from __future__ import annotations

import shutil
from pathlib import Path

from typer.testing import CliRunner

from pipedsl import load_project, render_project
from pipedsl.cli import app
from tests.support.cli import run_pipedsl

runner = CliRunner()
FIXTURES = Path(__file__).parent / "fixtures" / "jenkinsfiles"
SEED = [
    str(FIXTURES / "seed" / "backend.Jenkinsfile"),
    str(FIXTURES / "seed" / "frontend.Jenkinsfile"),
]


def test_import_writes_a_project_that_renders(tmp_path: Path) -> None:
    (tmp_path / "projects").mkdir()
    done = run_pipedsl(
        "import", *SEED, "--project", "lat32t",
        cwd=tmp_path, PYTHONWARNINGS="ignore",
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


MANIFESTS = Path(__file__).parent / "fixtures" / "manifests" / "seed"


def test_manifests_folders_and_files_become_runtimes(tmp_path: Path) -> None:
    (tmp_path / "projects").mkdir()
    target = tmp_path / "projects" / "lat32t.py"
    done = run_pipedsl(
        "import", *SEED, "--out", str(target),
        "--manifests", str(MANIFESTS / "backend"), "--manifests", str(MANIFESTS / "frontend"),
        "--manifests", str(MANIFESTS / "db" / "mariadb.yaml"),
        cwd=tmp_path, PYTHONWARNINGS="ignore",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "converted: the manifests of backend — now its typed runtime=" in done.stdout
    project = load_project(target)
    assert [b.name for b in project.backing_services] == ["mariadb"]
    assert all(c.runtime is not None for c in project.components)


def test_manifests_that_are_not_yaml_write_nothing(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    target = tmp_path / "x.py"
    empty = runner.invoke(app, ["import", *SEED, "--out", str(target), "--manifests",
                                str(tmp_path / "empty")])  # fmt: skip
    assert empty.exit_code == 2
    assert (
        empty.output
        == f"error: --manifests {tmp_path / 'empty'}: no *.yaml or *.yml file below it\n"
    )
    broken = runner.invoke(app, ["import", *SEED, "--out", str(target), "--manifests", SEED[0]])
    assert broken.exit_code == 2
    assert broken.output.startswith(f"error: {SEED[0]}:")
    assert "not a YAML manifest" in broken.output
    assert not target.exists()


def test_without_manifests_it_says_which_shipped_files_would_import(tmp_path: Path) -> None:
    (tmp_path / "projects").mkdir()
    shutil.copytree(MANIFESTS / "backend", tmp_path / "backend")
    done = run_pipedsl(
        "import", *SEED, "--project", "lat32t",
        cwd=tmp_path, PYTHONWARNINGS="ignore",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    notes = [line for line in done.stdout.splitlines() if line.startswith("note:")]
    assert notes == [
        "note: the pipelines ship backend/k8s/*.yaml (2 file(s) here): `--manifests backend/k8s` "
        "imports them as a typed runtime= (docs/import.md)"
    ]
