"""Malformed project files that cannot live in tests/fixtures/broken (whose files are read as
UTF-8 text and each rendered alone): bytes that are not UTF-8, a file that raises
``SystemExit`` or ``KeyboardInterrupt``, a file importing another project file or a helper,
and values far larger than any output can carry. Run as a user runs them: a real ``pipedsl``
process, with a previous output folder that must survive every failure.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipedsl import Component, ModelError, Pipeline, Project, Stage, render_project, sh
from pipedsl.write import MARKER, MARKER_TEXT
from tests.support import tally
from tests.support.groovy import compile_groovy

PROJECT = """\
from pipedsl import Component, Pipeline, Project, Stage, sh
project = Project({name!r}, repository="https://github.com/acme/app.git",
                  components=[Component("app", Pipeline([Stage("Build", [sh("make")])]))])
"""


def _render(projects: Path, *args: str) -> tuple[int, str, Path]:
    """``pipedsl render`` as a process, into an output folder holding a previous render."""
    out = projects.parent / "generated"
    (out / "previous").mkdir(parents=True, exist_ok=True)
    (out / "previous" / "Jenkinsfile").write_text("kept\n", encoding="utf-8")
    (out / MARKER).write_text(MARKER_TEXT, encoding="utf-8")  # a previous pipedsl output
    completed = subprocess.run(
        [str(Path(sys.executable).parent / "pipedsl"), "render", "--projects", str(projects),
         "--out", str(out), *args],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    tally.add("malformed project files tried")
    return completed.returncode, completed.stdout + completed.stderr, out


def _untouched(out: Path) -> bool:
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    return (
        files == [MARKER, "previous/Jenkinsfile"]
        and (out / "previous" / "Jenkinsfile").read_text(encoding="utf-8") == "kept\n"
    )


def _folder(tmp_path: Path, files: dict[str, bytes]) -> Path:
    projects = tmp_path / "projects"
    projects.mkdir()
    for name, content in files.items():
        (projects / name).write_bytes(content)
    return projects


def test_bytes_that_are_not_utf8(tmp_path: Path) -> None:
    source = PROJECT.format(name="caf\xe9").encode("latin-1")
    code, output, out = _render(_folder(tmp_path, {"latin.py": source}))
    assert code == 2, output
    assert output.startswith("error: projects/latin.py:2: syntax error:"), output
    assert "can't decode byte 0xe9" in output
    assert "Traceback" not in output
    assert _untouched(out)


def test_keyboard_interrupt_in_a_project_file_is_an_interrupt(tmp_path: Path) -> None:
    """Indistinguishable from Ctrl-C while loading, so it is treated as one: the conventional
    exit code 130, no traceback, nothing written."""
    projects = _folder(tmp_path, {"ctrl_c.py": b"raise KeyboardInterrupt\n"})
    code, output, out = _render(projects)
    assert code == 130, output
    assert "Traceback" not in output
    assert _untouched(out)


@pytest.mark.parametrize("statement", ["sys.exit(0)", "sys.exit(3)", "sys.exit('bye')"])
@pytest.mark.parametrize("check", [False, True], ids=["render", "render --check"])
def test_system_exit_in_a_project_file_is_reported(
    tmp_path: Path, statement: str, check: bool
) -> None:
    source = f"import sys\n{statement}\n" + PROJECT.format(name="app")
    projects = _folder(tmp_path, {"leaves.py": source.encode()})
    code, output, out = _render(projects, *(["--check"] if check else []))
    assert code == 2, output
    assert output.startswith("error: projects/leaves.py:2: SystemExit"), output
    assert _untouched(out)


def test_a_project_importing_another_project_file(tmp_path: Path) -> None:
    """Either it works (the other file is importable) or it is an error naming the importing
    file and line; never a traceback, never a half-written output."""
    projects = _folder(
        tmp_path,
        {
            "other.py": PROJECT.format(name="other").encode(),
            "main.py": b"import attrs\nfrom other import project as base\n"
            b"project = attrs.evolve(base, name='main')\n",
        },
    )
    code, output, out = _render(projects)
    assert "Traceback" not in output
    if code == 2:
        assert output.startswith("error: projects/main.py:2: ModuleNotFoundError"), output
        assert _untouched(out)
    else:
        assert code == 0, output
        assert (out / "main" / "app" / "Jenkinsfile").is_file()


def test_a_project_importing_a_helper(tmp_path: Path) -> None:
    projects = _folder(
        tmp_path,
        {
            "_helpers.py": b"NAME = 'helped'\n",
            "main.py": b"from _helpers import NAME\n"
            + PROJECT.format(name="app").replace("'app'", "NAME").encode(),
        },
    )
    code, output, _ = _render(projects)
    assert code == 0, output


# -- huge values ------------------------------------------------------------------------------


def _one_stage(name: str, script: str = "make") -> Project:
    return Project(
        "app",
        repository="https://github.com/acme/app.git",
        components=[Component("app", Pipeline([Stage(name, [sh(script)])]))],
    )


def test_a_10_mb_stage_name_is_refused_quickly() -> None:
    """A 10 MB stage name is refused when the stage is built (no Groovy literal can hold it),
    at once and with a short message."""
    started = time.monotonic()
    with pytest.raises(ModelError) as info:
        _one_stage("x" * 10_000_000)
    assert time.monotonic() - started < 5
    assert "at most 20000 are allowed" in str(info.value)
    assert len(str(info.value)) < 300
    tally.add("huge values refused")


@pytest.mark.parametrize("field", ["stage name", "sh script"])
def test_a_literal_groovy_cannot_hold_is_refused(field: str) -> None:
    huge = "x" * 65_536
    try:
        project = _one_stage(huge) if field == "stage name" else _one_stage("Build", huge)
        text = {a.path: a.text for a in render_project(project)}["app/app/Jenkinsfile"]
    except ModelError:
        return
    assert compile_groovy({"Jenkinsfile": text}) == {"Jenkinsfile": None}


def test_the_error_for_a_huge_value_stays_short(tmp_path: Path) -> None:
    source = PROJECT.format(name="a" * 10_000_000 + "_").encode()
    code, output, _ = _render(_folder(tmp_path, {"huge.py": source}))
    assert code == 2
    assert len(output) < 10_000
