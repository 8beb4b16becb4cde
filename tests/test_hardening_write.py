"""Rendering interrupted at every point, and two renders at once, never damage ``generated/``.

The writer is made to fail (``OSError``, and ``KeyboardInterrupt`` as a Ctrl-C would) at the
k-th file write for every k, at every folder creation and at each of the two renames that swap
the new folder in; each time the previous output folder must be intact byte for byte and no
staging or retired folder may be left beside it. Then two real ``pipedsl render`` processes
write two different renders into one output folder at the same moment, several times: the
result must be exactly one of the two renders, with nothing else beside it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pipedsl import Artifact, load_project, render_projects, write_artifacts
from pipedsl import write as write_module
from pipedsl.errors import RenderError
from pipedsl.write import MARKER
from tests.conftest import SEED_PROJECT, seed_projects
from tests.support import tally

Snapshot = dict[str, bytes | None]  # relative path -> file bytes (None: a folder)


def snapshot(folder: Path) -> Snapshot:
    return {
        p.relative_to(folder).as_posix(): (None if p.is_dir() else p.read_bytes())
        for p in sorted(folder.rglob("*"))
    }


def seed_artifacts() -> list[Artifact]:
    return render_projects([load_project(SEED_PROJECT)])


def previous_output(parent: Path, artifacts: list[Artifact]) -> tuple[Path, Snapshot]:
    """An output folder holding an older render (every file differs from ``artifacts``)."""
    out = parent / "generated"
    older = [Artifact(a.path, a.text + "# older render\n", a.kind) for a in artifacts]
    older.append(
        Artifact("removed-component/Jenkinsfile", "gone in the new render\n", "jenkinsfile")
    )
    assert write_artifacts(older, out)
    return out, snapshot(out)


def failing_at(
    k: int,
    real: Callable[..., Any],
    error: BaseException,
    *,
    counting: Callable[..., bool] = lambda *args: True,
) -> Callable[..., Any]:
    """``real``, raising ``error`` instead at the k-th call that ``counting`` accepts."""
    calls = 0

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        counted = counting(*args)
        calls += counted
        if counted and calls == k:
            raise error
        return real(*args, **kwargs)

    return wrapper


def _in_staging(path: object, *args: Any) -> bool:
    """Whether ``path`` is a render's staging folder or is inside one."""
    return ".generated.new-" in str(path)


ERRORS: dict[str, Callable[[], BaseException]] = {
    "OSError": lambda: OSError(28, "No space left on device"),
    "KeyboardInterrupt": KeyboardInterrupt,
}


def _interrupt(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    artifacts: list[Artifact],
    patch: Callable[[pytest.MonkeyPatch, BaseException], None],
    error: BaseException,
) -> None:
    parent = tmp_path / f"case-{tally.COUNTS['render interruptions tried'] + 1}"
    parent.mkdir()
    out, before = previous_output(parent, artifacts)
    with monkeypatch.context() as patched:
        patch(patched, error)
        # A file system error is reported as a RenderError naming the path; Ctrl-C stays itself.
        expected = RenderError if isinstance(error, OSError) else type(error)
        with pytest.raises(expected):
            write_artifacts(artifacts, out)
    tally.add("render interruptions tried")
    assert snapshot(out) == before, "the previous output changed"
    assert [p.name for p in parent.iterdir()] == ["generated"], "staging left behind"
    # And the next render, uninterrupted, writes the new output completely.
    assert write_artifacts(artifacts, out)
    assert {p: t for p, t in snapshot(out).items() if t is not None and p != MARKER} == {
        a.path: a.text.encode("utf-8") for a in artifacts
    }


@pytest.mark.parametrize("error", sorted(ERRORS))
def test_interrupted_at_every_file_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: str
) -> None:
    artifacts = seed_artifacts()
    assert len(artifacts) >= 10
    real = write_module._write_file
    for k in range(1, len(artifacts) + 1):

        def patch(m: pytest.MonkeyPatch, e: BaseException, k: int = k) -> None:
            m.setattr(write_module, "_write_file", failing_at(k, real, e))

        _interrupt(tmp_path, monkeypatch, artifacts, patch, ERRORS[error]())


@pytest.mark.parametrize("error", sorted(ERRORS))
def test_interrupted_at_every_folder_creation_and_rename(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: str
) -> None:
    artifacts = seed_artifacts()
    folders = len(write_module._folders(a.path for a in artifacts) - {"."})
    # mkdir: the staging folder itself, then each folder in it (every folder of every file).
    for k in range(1, folders + 2):

        def patch_mkdir(m: pytest.MonkeyPatch, e: BaseException, k: int = k) -> None:
            m.setattr(os, "mkdir", failing_at(k, os.mkdir, e, counting=_in_staging))

        _interrupt(tmp_path, monkeypatch, artifacts, patch_mkdir, ERRORS[error]())
    # rename 1: the previous folder is retired; rename 2: the new folder takes its name.
    for k in (1, 2):

        def patch_rename(m: pytest.MonkeyPatch, e: BaseException, k: int = k) -> None:
            m.setattr(Path, "rename", failing_at(k, Path.rename, e))

        _interrupt(tmp_path, monkeypatch, artifacts, patch_rename, ERRORS[error]())


def _cli() -> str:
    return str(Path(sys.executable).parent / "pipedsl")


def test_two_renders_at_once_as_real_processes(tmp_path: Path) -> None:
    """Two ``pipedsl render`` processes, of two different project folders, into one output
    folder at the same moment: afterwards the folder is exactly one of the two renders."""
    first = tmp_path / "first"
    second = tmp_path / "second"
    seed_projects(first)
    seed_projects(second)
    lat32t = second / "lat32t.py"
    text = lat32t.read_text(encoding="utf-8")
    assert 'branch="develop"' in text
    lat32t.write_text(text.replace('branch="develop"', 'branch="main"'), encoding="utf-8")
    expected = []
    for projects in (first, second):
        out = tmp_path / f"expected-{projects.name}"
        subprocess.run(
            [_cli(), "render", "--projects", str(projects), "--out", str(out)],
            check=True,
            capture_output=True,
            timeout=120,
        )
        expected.append(snapshot(out))
    assert expected[0] != expected[1]
    outcomes = set()
    for round_ in range(6):
        parent = tmp_path / f"round-{round_}"
        parent.mkdir()
        out = parent / "generated"
        order = (first, second) if round_ % 2 == 0 else (second, first)
        processes = [
            subprocess.Popen(
                [_cli(), "render", "--projects", str(projects), "--out", str(out)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            for projects in order
        ]
        for process in processes:
            _, stderr = process.communicate(timeout=120)
            assert process.returncode == 0, stderr.decode()
        tally.add("concurrent render pairs (real processes, one output folder)")
        result = snapshot(out)
        assert result in expected, "the output is neither render"
        outcomes.add(expected.index(result))
        assert [p.name for p in parent.iterdir()] == ["generated"], "staging left behind"
