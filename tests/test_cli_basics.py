"""What users expect of any command line: --version, -h, rendering one project file, a diff of
what --check found stale, finding the repository from a subfolder, shell completion, help
without type-name metavars, a JSON and an offline dry run of sync, and a pre-commit hook. Each
through typer's runner and as a real subprocess."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from pipedsl.cli import app
from tests.conftest import FIXTURE_PROJECTS, ROOT, seed_projects
from tests.support.cli import run_pipedsl

runner = CliRunner()
KINDS = FIXTURE_PROJECTS / "cluster_kinds.py"


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_pipedsl(*args, cwd=cwd, PYTHONWARNINGS="ignore")


@pytest.fixture
def repository(tmp_path: Path) -> Path:
    """A team repository: the seed project and one more, rendered."""
    seed_projects(tmp_path / "projects")
    shutil.copy(KINDS, tmp_path / "projects" / "kinds.py")
    done = _cli("render", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    return tmp_path


def _files(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version(flag: str) -> None:
    result = runner.invoke(app, [flag])
    assert (result.exit_code, result.output) == (0, f"pipedsl {version('pipedsl')}\n")
    done = _cli(flag, cwd=ROOT)
    assert done.stdout == f"pipedsl {version('pipedsl')}\n"


@pytest.mark.parametrize("command", [[], ["render"], ["sync"], ["lint"], ["init"], ["import"]])
def test_short_help_and_no_type_name_metavars(command: list[str]) -> None:
    short = runner.invoke(app, [*command, "-h"])
    long = runner.invoke(app, [*command, "--help"])
    assert short.exit_code == long.exit_code == 0
    assert short.output == long.output
    options = [line for line in long.output.splitlines() if line.lstrip().startswith("-")]
    for type_name in ("<bool>", "BOOLEAN", "<str>", "<path>"):
        assert not [line for line in options if type_name in line], type_name
    if command in (["render"], ["sync"], ["lint"]):
        assert "--projects DIR" in long.output
        assert "--templates DIR" in long.output


def test_rendering_one_project_file_leaves_the_other_projects_alone(repository: Path) -> None:
    generated = repository / "generated"
    before = _files(generated)
    # The other project's files, edited by hand: a render of one file must not touch them.
    (generated / "lat32t" / "backend" / "Jenkinsfile").write_text("edited\n")
    (generated / "kinds" / "web" / "Jenkinsfile").write_text("stale\n")
    done = _cli("render", "projects/kinds.py", cwd=repository)
    assert done.returncode == 0, done.stderr
    after = _files(generated)
    assert after["lat32t/backend/Jenkinsfile"] == b"edited\n"
    assert after["kinds/web/Jenkinsfile"] == before["kinds/web/Jenkinsfile"]
    # --check of that file looks at its project only.
    assert _cli("render", "--check", "projects/kinds.py", cwd=repository).returncode == 0
    assert _cli("render", "--check", cwd=repository).returncode == 1


def test_rendering_a_renamed_project_replaces_its_old_folder(repository: Path) -> None:
    """The old folder's files name the project file that rendered them: a render of that file
    alone replaces it; other projects' folders stay."""
    source = repository / "projects" / "kinds.py"
    source.write_text(
        source.read_text().replace('Project(\n    "kinds",', 'Project(\n    "orders",')
    )
    done = _cli("render", "projects/kinds.py", cwd=repository)
    assert done.returncode == 0, done.stderr
    folders = sorted(p.name for p in (repository / "generated").iterdir() if p.is_dir())
    assert folders == ["lat32t", "orders"]
    assert _cli("render", "--check", cwd=repository).returncode == 0


def test_check_diff_shows_a_unified_diff_of_what_differs(repository: Path) -> None:
    generated = repository / "generated"
    jenkinsfile = generated / "kinds" / "web" / "Jenkinsfile"
    jenkinsfile.write_text(
        jenkinsfile.read_text().replace("pipeline {", "pipeline {  // edited", 1)
    )
    (generated / "kinds" / "extra.txt").write_text("left over\n")
    done = _cli("render", "--check", "--diff", cwd=repository)
    assert done.returncode == 1
    assert "  stale:   kinds/web/Jenkinsfile" in done.stderr
    assert "--- a/kinds/web/Jenkinsfile\n+++ b/kinds/web/Jenkinsfile\n" in done.stdout
    assert "-pipeline {  // edited\n+pipeline {\n" in done.stdout
    assert "--- a/kinds/extra.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-left over\n" in done.stdout
    # Without --check, --diff is a usage error; nothing is written.
    result = runner.invoke(app, ["render", "--diff", "--projects", str(repository / "projects")])
    assert result.exit_code == 2
    assert "--diff goes with --check" in result.output


def test_commands_find_the_repository_from_a_subfolder(repository: Path) -> None:
    deeper = repository / "src" / "main"
    deeper.mkdir(parents=True)
    done = _cli("render", "--check", cwd=deeper)
    assert done.returncode == 0, done.stderr
    assert f"{repository / 'generated'} is up to date" in done.stdout
    assert not (deeper / "generated").exists()
    plan = _cli("sync", "--dry-run", "--offline", cwd=deeper)
    assert plan.returncode == 0, plan.stderr
    assert "create    lat32t/backend" in plan.stdout


def test_sync_dry_run_offline_and_json(repository: Path) -> None:
    done = _cli("sync", "--dry-run", "--offline", cwd=repository)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[:3] == [
        "create    folder kinds",
        "create    folder lat32t",
        "create    kinds/orders",
    ]
    assert done.stdout.rstrip().endswith(
        "plan: 2 folder(s) to create, 5 to create (offline dry run: as if Jenkins had none of "
        "these jobs; no server was asked)"
    )
    as_json = _cli("sync", "--dry-run", "--offline", "--json", cwd=repository)
    assert as_json.returncode == 0, as_json.stderr
    document = json.loads(as_json.stdout)
    assert document["offline"] is True
    assert document["jenkins"] is None
    assert document["folders"] == ["kinds", "lat32t"]
    assert {(c["action"], c["job"]) for c in document["changes"]} == {
        ("create", "kinds/orders"),
        ("create", "kinds/web"),
        ("create", "kinds/tiers"),
        ("create", "lat32t/backend"),
        ("create", "lat32t/frontend"),
    }
    for flag in ("--offline", "--json"):
        refused = _cli("sync", flag, cwd=repository)
        assert refused.returncode == 2
        assert f"error: {flag} goes with --dry-run" in refused.stderr


def test_shell_completion_script() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pipedsl", "--show-completion", "bash"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"},
    )
    assert done.returncode == 0, done.stderr
    assert "complete -o default -F" in done.stdout
    assert "_COMPLETE=complete_bash" in done.stdout


def test_the_pre_commit_hook_runs_render_check() -> None:
    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "pipedsl-render-check"
    assert hook["entry"] == "pipedsl render --check"
    assert hook["pass_filenames"] is False
    assert hook["language"] == "python"


def test_rendering_a_folder_of_projects_leaves_the_others_byte_for_byte(repository: Path) -> None:
    generated = repository / "generated"
    setup = generated / "lat32t" / "jenkins" / "SETUP.md"
    setup.write_bytes(b"line1\r\nline2\rx\n")
    plugins = generated / "lat32t" / "jenkins" / "plugins.txt"
    plugins.chmod(0o755)
    other = repository / "more"
    other.mkdir()
    shutil.copy(KINDS, other / "kinds.py")
    done = _cli("render", "more", cwd=repository)
    assert done.returncode == 0, done.stderr
    assert setup.read_bytes() == b"line1\r\nline2\rx\n"
    assert plugins.stat().st_mode & 0o777 == 0o755
    # --check --diff shows the carriage returns a render would remove.
    diff = _cli("render", "--check", "--diff", "projects/lat32t.py", cwd=repository)
    assert diff.returncode == 1
    assert "--- a/lat32t/jenkins/SETUP.md\n+++ b/lat32t/jenkins/SETUP.md\n" in diff.stdout
    assert "-line1" in diff.stdout


def test_a_project_named_twice_renders_once(repository: Path) -> None:
    done = _cli("render", "--check", "projects/kinds.py", "projects", cwd=repository)
    assert done.returncode == 0, done.stderr
    assert "defined by both" not in done.stderr
