"""Odd things where the output folder, or a generated file in it, should be: symbolic links
(to a folder, to nothing, in a loop, to a FIFO), FIFOs, sockets, a folder where a file goes
and a file where a folder goes. Each case is a real ``pipedsl render`` (and ``--check``) with a
time limit, so a render that blocks (opening a FIFO does) fails the test instead of hanging
the suite. The rules are in the docstring of ``pipedsl.write``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path

import pytest

from pipedsl.write import MARKER
from tests.support import tally

PROJECT = """\
from pipedsl import Component, Pipeline, Project, Stage, sh
project = Project("app", repository="https://github.com/acme/app.git",
                  components=[Component("app", Pipeline([Stage("Build", [sh("make")])]))])
"""
JENKINSFILE = "app/app/Jenkinsfile"
CLI = str(Path(sys.executable).parent / "pipedsl")


def _pipedsl(projects: Path, out: Path, *args: str) -> tuple[int, str]:
    try:
        completed = subprocess.run(
            [CLI, "render", "--projects", str(projects), "--out", str(out), *args],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        pytest.fail(f"pipedsl render {' '.join(args)} hung")
    output = completed.stdout + completed.stderr
    assert "Traceback" not in output
    return completed.returncode, output


@pytest.fixture
def projects(tmp_path: Path) -> Path:
    folder = tmp_path / "projects"
    folder.mkdir()
    (folder / "app.py").write_text(PROJECT, encoding="utf-8")
    return folder


def _fresh(projects: Path, out: Path) -> dict[str, bytes]:
    code, output = _pipedsl(projects, out)
    assert code == 0, output
    return {
        p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()
    }


@contextmanager
def _socket_at(path: Path) -> Iterator[None]:
    # AF_UNIX paths are short (108 bytes): bind from the folder, by a relative name.
    cwd = Path.cwd()
    with socket.socket(socket.AF_UNIX) as server:
        os.chdir(path.parent)
        try:
            server.bind(path.name)
        finally:
            os.chdir(cwd)
        yield


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _link_to_fifo(path: Path) -> None:
    _fifo(path.with_name("fifo"))
    path.symlink_to(path.with_name("fifo"))


def _link_to_same_text(path: Path) -> None:
    path.with_name("copy").write_bytes(path.with_name("saved").read_bytes())
    path.symlink_to(path.with_name("copy"))


def _folder(path: Path) -> None:
    path.mkdir()
    (path / "inside").write_text("x\n", encoding="utf-8")


def _make(
    kind: str, path: Path, makers: dict[str, Callable[[Path], object]]
) -> AbstractContextManager[None]:
    """Make the odd thing ``kind`` at ``path``; a socket lives as long as the context."""
    if kind == "socket":
        return _socket_at(path)
    makers[kind](path)
    return nullcontext()


# -- the output folder itself ---------------------------------------------------------------


def test_a_symlink_to_an_output_folder_is_followed(projects: Path, tmp_path: Path) -> None:
    """The folder it points to is replaced; the link stays a link, nothing is left beside."""
    real = tmp_path / "elsewhere" / "generated"
    expected = _fresh(projects, tmp_path / "expected")
    real.mkdir(parents=True)
    (real / MARKER).write_text("old\n", encoding="utf-8")
    (real / "stale-file").write_text("old\n", encoding="utf-8")
    link = tmp_path / "out" / "generated"
    link.parent.mkdir()
    link.symlink_to(real)
    code, output = _pipedsl(projects, link)
    tally.add("odd-file cases tried")
    assert code == 0, output
    assert link.is_symlink()
    assert link.resolve() == real
    assert sorted(p.name for p in link.parent.iterdir()) == ["generated"]
    assert sorted(p.name for p in real.parent.iterdir()) == ["generated"]
    assert _fresh(projects, link) == expected
    assert _pipedsl(projects, link, "--check")[0] == 0


@pytest.mark.parametrize("kind", ["dangling", "loop"])
def test_a_symlink_to_nothing_is_refused(projects: Path, tmp_path: Path, kind: str) -> None:
    out = tmp_path / "generated"
    if kind == "dangling":
        out.symlink_to(tmp_path / "missing" / "generated")
    else:
        out.symlink_to(tmp_path / "other")
        (tmp_path / "other").symlink_to(out)
    code, output = _pipedsl(projects, out)
    tally.add("odd-file cases tried")
    assert code == 2, output
    assert output.startswith(f"error: {out} is a symbolic link to {tmp_path}"), output
    assert "which leads to nothing" in output
    assert out.is_symlink()
    assert not (tmp_path / "missing").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["generated", "projects", *(["other"] if kind == "loop" else [])]
    )
    # --check writes nothing and finds everything missing.
    code, output = _pipedsl(projects, out, "--check")
    assert code in (1, 2), output


MAKERS: dict[str, Callable[[Path], object]] = {
    "file": lambda p: p.write_text("x\n", encoding="utf-8"),
    "fifo": _fifo,
    "symlink-to-fifo": _link_to_fifo,
}


@pytest.mark.parametrize("kind", [*MAKERS, "socket"])
def test_an_output_folder_that_is_not_a_folder_is_refused(
    projects: Path, tmp_path: Path, kind: str
) -> None:
    out = tmp_path / "generated"
    with _make(kind, out, MAKERS):
        code, output = _pipedsl(projects, out)
        tally.add("odd-file cases tried")
        assert code == 2, output
        # A link is followed: the error names what it points to.
        shown = out.with_name("fifo") if kind == "symlink-to-fifo" else out
        assert output.startswith(f"error: {shown} exists and is not a folder"), output
        code, output = _pipedsl(projects, out, "--check")
        assert code == 1, output
    assert not any(p.name.startswith(".generated.") for p in tmp_path.iterdir())


def test_an_output_folder_inside_a_fifo_is_refused(projects: Path, tmp_path: Path) -> None:
    _fifo(tmp_path / "fifo")
    code, output = _pipedsl(projects, tmp_path / "fifo" / "generated")
    tally.add("odd-file cases tried")
    assert code == 2, output
    assert output.startswith("error: cannot write"), output


# -- inside the output folder ---------------------------------------------------------------


INSIDE: dict[str, Callable[[Path], object]] = {
    "fifo": _fifo,
    "symlink-to-fifo": MAKERS["symlink-to-fifo"],
    "dangling-symlink": lambda p: p.symlink_to(p.with_name("missing")),
    "symlink-to-itself": lambda p: p.symlink_to(p),
    "symlink-to-a-folder": lambda p: p.symlink_to(p.parent),
    "symlink-to-the-same-text": _link_to_same_text,
    "folder": _folder,
}


@pytest.mark.parametrize("kind", [*INSIDE, "socket"])
def test_an_odd_file_where_a_generated_file_goes(projects: Path, tmp_path: Path, kind: str) -> None:
    """It is stale (never opened, never followed): ``--check`` says so, a render replaces it."""
    out = tmp_path / "generated"
    expected = _fresh(projects, out)
    target = out / JENKINSFILE
    target.rename(target.with_name("saved"))
    with _make(kind, target, INSIDE):
        code, output = _pipedsl(projects, out, "--check")
        tally.add("odd-file cases tried")
        assert code == 1, output
        missing_or_stale = "missing:" if kind == "folder" else "stale:  "
        assert f"{missing_or_stale} {JENKINSFILE}" in output, output
        code, output = _pipedsl(projects, out)
        assert code == 0, output
    assert _fresh(projects, out) == expected
    assert sorted(p.name for p in tmp_path.iterdir()) == ["generated", "projects"]


def test_a_file_where_a_generated_folder_goes(projects: Path, tmp_path: Path) -> None:
    out = tmp_path / "generated"
    expected = _fresh(projects, out)
    folder = out / "app" / "jenkins"
    for file in folder.iterdir():
        file.unlink()
    folder.rmdir()
    folder.write_text("in the way\n", encoding="utf-8")
    code, output = _pipedsl(projects, out, "--check")
    tally.add("odd-file cases tried")
    assert code == 1, output
    assert "missing: app/jenkins/SETUP.md" in output
    assert "extra:   app/jenkins" in output
    assert _pipedsl(projects, out)[0] == 0
    assert _fresh(projects, out) == expected


def test_odd_things_named_like_leftovers_are_left_alone(projects: Path, tmp_path: Path) -> None:
    """Only folders with a staging or retired name are removed: not a FIFO, a file or a link."""
    out = tmp_path / "generated"
    _fresh(projects, out)
    _fifo(tmp_path / ".generated.new-fifo1234")
    (tmp_path / ".generated.old-file1234").write_text("mine\n", encoding="utf-8")
    (tmp_path / "kept").mkdir()
    (tmp_path / "kept" / "file").write_text("kept\n", encoding="utf-8")
    (tmp_path / ".generated.old-link1234").symlink_to(tmp_path / "kept")
    (projects / "app.py").write_text(PROJECT.replace('"make"', '"make all"'), encoding="utf-8")
    code, output = _pipedsl(projects, out)
    tally.add("odd-file cases tried")
    assert code == 0, output
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".generated.new-fifo1234",
        ".generated.old-file1234",
        ".generated.old-link1234",
        "generated",
        "kept",
        "projects",
    ]
    assert (tmp_path / "kept" / "file").read_text(encoding="utf-8") == "kept\n"
