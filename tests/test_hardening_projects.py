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


# -- exceptions that are not Exceptions, or that cannot be shown ------------------------------


# Source raising something awkward, and how the error must begin (after the file name).
RAISES = {
    "CancelledError": ("import asyncio\nraise asyncio.CancelledError()\n", "2: CancelledError"),
    "GeneratorExit": ("raise GeneratorExit\n", "1: GeneratorExit"),
    "own BaseException": (
        "class Stop(BaseException):\n    pass\nraise Stop('halt')\n",
        "3: Stop: halt",
    ),
    "BaseExceptionGroup": (
        "raise BaseExceptionGroup('g', [GeneratorExit()])\n",
        "1: BaseExceptionGroup: g (1 sub-exception)",
    ),
    "__str__ raises": (
        "class E(Exception):\n    def __str__(self):\n        raise ValueError\nraise E()\n",
        "4: E: <a message that cannot be shown",
    ),
    "__str__ raises a BaseException": (
        "class E(Exception):\n    def __str__(self):\n        raise SystemExit(9)\nraise E()\n",
        "4: E: <a message that cannot be shown",
    ),
    "__str__ returns no string": (
        "class E(Exception):\n    def __str__(self):\n        return 7\nraise E()\n",
        "4: E: <a message that cannot be shown",
    ),
    "exit code whose __repr__ raises": (
        "import sys\nclass C:\n    def __repr__(self):\n        raise ValueError\nsys.exit(C())\n",
        "5: SystemExit: the project file called sys.exit(<a message that cannot be shown",
    ),
    "SyntaxError raised by hand": ("raise SyntaxError(None)\n", "1: syntax error: None"),
}


@pytest.mark.parametrize("name", sorted(RAISES))
def test_an_awkward_exception_is_reported(tmp_path: Path, name: str) -> None:
    """A clear error naming the file and line, exit code 2, no traceback, nothing written."""
    source, expected = RAISES[name]
    projects = _folder(tmp_path, {"odd.py": (source + PROJECT.format(name="app")).encode()})
    code, output, out = _render(projects)
    tally.add("project files raising awkward exceptions tried")
    if name in {"CancelledError", "GeneratorExit", "own BaseException", "BaseExceptionGroup"}:
        tally.add("project files raising a BaseException that is not an Exception")
    assert code == 2, output
    assert output.startswith(f"error: projects/odd.py:{expected}"), output
    assert "Traceback" not in output
    assert _untouched(out)


def test_a_huge_odd_message_is_cut_short_and_escaped(tmp_path: Path) -> None:
    source = "raise ValueError('\\x1b[2J\\r' + 'x' * 10_000_000 + '\\udcff')\n"
    code, output, out = _render(_folder(tmp_path, {"odd.py": source.encode()}))
    assert code == 2, output
    assert output.startswith("error: projects/odd.py:1: ValueError: \\x1b[2J\\x0dxxx"), output
    assert output.rstrip().endswith("... (10000006 characters)"), output[-200:]
    assert len(output) < 3000
    assert "\x1b" not in output
    assert _untouched(out)


# -- project files that change the process around them -------------------------------------


def test_a_project_changing_the_working_folder(tmp_path: Path) -> None:
    """Relative paths given on the command line keep their meaning: the output goes where
    ``--out`` said, and the next project file is found."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    first = f"import os\nos.chdir({str(elsewhere)!r})\n" + PROJECT.format(name="first")
    projects = _folder(
        tmp_path, {"a.py": first.encode(), "b.py": PROJECT.format(name="second").encode()}
    )
    completed = subprocess.run(
        [str(Path(sys.executable).parent / "pipedsl"), "render", "--projects", "projects",
         "--out", "generated"],
        capture_output=True, text=True, timeout=120, check=False, cwd=projects.parent,
    )  # fmt: skip
    tally.add("malformed project files tried")
    assert completed.returncode == 0, completed.stderr
    assert (tmp_path / "generated" / "first" / "app" / "Jenkinsfile").is_file()
    assert (tmp_path / "generated" / "second" / "app" / "Jenkinsfile").is_file()
    assert list(elsewhere.iterdir()) == []


def test_a_project_starting_threads_renders_the_same(tmp_path: Path) -> None:
    """Threads still running make the render serial; the output is the same as without."""
    plain = _folder(tmp_path, {"app.py": PROJECT.format(name="app").encode()})
    code, output, out = _render(plain)
    assert code == 0, output
    expected = {
        p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()
    }
    threaded = tmp_path / "second" / "projects"  # the same name: it is in the headers
    threaded.mkdir(parents=True)
    (threaded / "app.py").write_text(
        "import threading, time\n"
        "for _ in range(4):\n"
        "    threading.Thread(target=time.sleep, args=(1,), daemon=True).start()\n"
        + PROJECT.format(name="app"),
        encoding="utf-8",
    )
    code, output, out = _render(threaded)
    assert code == 0, output
    got = {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert got == expected


def test_project_code_that_raises_while_rendering_is_reported_at_its_line(
    tmp_path: Path,
) -> None:
    """Code of the project file's own that runs only at render time (a property of a Project
    subclass) is reported like code that raises while the file loads."""
    source = (
        "from pipedsl import Component, Pipeline, Project, Stage, sh\n"
        "class Odd(Project):\n"
        "    @property\n"
        "    def jenkins_folder(self):\n"
        "        raise RuntimeError('boom')\n"
        "project = Odd('odd', repository='https://github.com/acme/odd.git',\n"
        "    components=[Component('app', Pipeline([Stage('Build', [sh('make')])]))])\n"
    )
    projects = _folder(tmp_path, {"odd.py": source.encode()})
    code, output, out = _render(projects)
    assert code == 2, output
    assert output.startswith("error: projects/odd.py:5: RuntimeError: boom"), output
    assert "Traceback" not in output
    assert _untouched(out)
