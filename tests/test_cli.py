"""The command line, through typer's runner and as a real subprocess."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipedsl.cli import app
from tests.conftest import ROOT, seed_projects
from tests.support.cli import run_pipedsl

runner = CliRunner()


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    seed_projects(tmp_path / "projects")
    return tmp_path


def _render(workdir: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(
        app,
        [
            "render",
            "--projects",
            str(workdir / "projects"),
            "--out",
            str(workdir / "generated"),
            *args,
        ],
    )
    return result.exit_code, result.output


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def test_render_then_check(workdir: Path) -> None:
    code, out = _render(workdir)
    assert code == 0, out
    assert "files written" in out
    assert _snapshot(workdir / "generated" / "lat32t") == _snapshot(ROOT / "generated" / "lat32t")
    code, out = _render(workdir, "--check")
    assert code == 0, out
    assert "up to date" in out
    code, out = _render(workdir)
    assert code == 0
    assert "already up to date" in out


def test_check_lists_missing_stale_and_extra_files(workdir: Path) -> None:
    assert _render(workdir)[0] == 0
    generated = workdir / "generated"
    (generated / "lat32t" / "backend" / "Jenkinsfile").write_text("stale\n")
    (generated / "lat32t" / "frontend" / "Jenkinsfile").unlink()
    (generated / "lat32t" / "leftover.txt").write_text("x\n")
    before = _snapshot(generated)
    code, out = _render(workdir, "--check")
    assert code == 1
    assert "stale:   lat32t/backend/Jenkinsfile" in out
    assert "missing: lat32t/frontend/Jenkinsfile" in out
    assert "extra:   lat32t/leftover.txt" in out
    assert _snapshot(generated) == before  # --check writes nothing


def test_check_without_output_folder_fails(workdir: Path) -> None:
    code, out = _render(workdir, "--check")
    assert code == 1
    assert "missing: lat32t/backend/Jenkinsfile" in out


BROKEN = {
    "syntax.py": ("project = Project(\n", "broken/syntax.py:1: syntax error: '(' was never closed"),
    "noproject.py": ("x = 1\n", "broken/noproject.py: defines no `project`"),
    "wrongtype.py": (
        "from pipedsl import Stage, sh\n\nstage = Stage(3, [sh('true')])\n",
        "broken/wrongtype.py:3: Stage.name: expected a str, got int 3",
    ),
    "option.py": (
        "from pipedsl import DockerHub, spring_boot_backend\n"
        "b = spring_boot_backend('api', image=DockerHub('a/b').tagged(), colour='red')\n",
        "broken/option.py:2: spring_boot_backend: unknown option(s) colour; allowed: image,",
    ),
    "notproject.py": (
        "project = 42\n",
        "broken/notproject.py: `project` must be a pipedsl Project, got int",
    ),
    "crash.py": (
        "import nonexistent_module_xyz\n",
        "broken/crash.py:1: ModuleNotFoundError: No module named 'nonexistent_module_xyz'",
    ),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_bad_project_exits_2_and_leaves_generated_untouched(tmp_path: Path, name: str) -> None:
    source, expected = BROKEN[name]
    projects = tmp_path / "broken"
    projects.mkdir()
    (projects / name).write_text(source)
    out_dir = tmp_path / "generated"
    (out_dir / "keep").mkdir(parents=True)
    (out_dir / "keep" / "file").write_text("previous\n")
    result = runner.invoke(app, ["render", "--projects", str(projects), "--out", str(out_dir)])
    assert result.exit_code == 2
    assert expected in result.output
    assert "Traceback" not in result.output
    assert _snapshot(out_dir) == {"keep/file": b"previous\n"}


def test_duplicate_names_are_all_reported(tmp_path: Path) -> None:
    projects = tmp_path / "projects"
    projects.mkdir()
    (projects / "dup.py").write_text(
        "from pipedsl import Component, Pipeline, Project, Stage, sh\n"
        "p = Pipeline([Stage('Build', [sh('make')]), Stage('Build', [sh('make')])])\n"
        "project = Project('dup', repository='https://github.com/a/b.git',\n"
        "                  components=[Component('api', p), Component('api', p)])\n"
    )
    result = runner.invoke(
        app, ["render", "--projects", str(projects), "--out", str(tmp_path / "g")]
    )
    assert result.exit_code == 2
    assert (
        "projects/dup.py: components[1].name: duplicate component name 'api' (also components[0])"
        in result.output
    )
    assert (
        "projects/dup.py: components[api].pipeline.stages[2 'Build'].name: duplicate stage name 'Build'"
        in result.output
    )
    assert not (tmp_path / "g").exists()


def test_missing_projects_folder_is_a_usage_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["render", "--projects", str(tmp_path / "nope")])
    assert result.exit_code == 2


def test_subprocess_render_and_check(workdir: Path) -> None:
    done = run_pipedsl("render", cwd=workdir)
    assert done.returncode == 0, done.stderr
    assert _snapshot(workdir / "generated" / "lat32t") == _snapshot(ROOT / "generated" / "lat32t")
    assert run_pipedsl("render", "--check", cwd=workdir).returncode == 0
    (workdir / "generated" / "lat32t" / "backend" / "Jenkinsfile").write_text("x\n")
    done = run_pipedsl("render", "--check", cwd=workdir)
    assert done.returncode == 1
    assert "stale:   lat32t/backend/Jenkinsfile" in done.stderr


def test_subprocess_bad_project(tmp_path: Path) -> None:
    (tmp_path / "projects").mkdir()
    (tmp_path / "projects" / "bad.py").write_text("project = Project(\n")
    done = run_pipedsl("render", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith("error: projects/bad.py:1: syntax error")
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "generated").exists()


def test_console_script_help() -> None:
    script = Path(sys.executable).with_name("pipedsl")
    done = subprocess.run([str(script), "--help"], capture_output=True, text=True, check=False)
    assert done.returncode == 0
    assert "render" in done.stdout


def test_rendering_elsewhere_than_generated_dir_is_pointed_out(workdir: Path) -> None:
    code, out = _render(workdir)
    assert code == 0
    assert "note:" not in out
    result = runner.invoke(
        app, ["render", "--projects", str(workdir / "projects"), "--out", str(workdir / "preview")]
    )
    assert result.exit_code == 0
    assert (
        "note: the jobs and deploy stages of lat32t read its files from generated/" in result.output
    )
