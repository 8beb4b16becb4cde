"""Writing generated files: atomic replacement, no partial output, no needless rewrites."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

from pipedsl import Artifact, RenderError, check_artifacts, write_artifacts
from pipedsl.write import signals_as_interrupt


def _files(folder: Path) -> dict[str, str]:
    """The generated files (not the folder's marker)."""
    return {
        p.relative_to(folder).as_posix(): p.read_text()
        for p in folder.rglob("*")
        if p.is_file() and p.name != ".pipedsl"
    }


def test_write_replaces_the_folder_exactly(tmp_path: Path) -> None:
    out = tmp_path / "generated"
    assert write_artifacts(
        [Artifact("a/one", "1\n", "jenkinsfile"), Artifact("b/two", "2\n", "jenkinsfile")], out
    )
    assert write_artifacts([Artifact("a/one", "one\n", "jenkinsfile")], out)
    assert _files(out) == {"a/one": "one\n"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["generated"]  # no staging left over


def test_output_folder_gets_ordinary_permissions(tmp_path: Path) -> None:
    out = tmp_path / "generated"
    write_artifacts([Artifact("a/one", "1\n", "jenkinsfile")], out)
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o777 & ~umask


def test_unchanged_output_is_not_rewritten(tmp_path: Path) -> None:
    out = tmp_path / "generated"
    artifacts = [Artifact("a/one", "1\n", "jenkinsfile")]
    write_artifacts(artifacts, out)
    before = (out / "a" / "one").stat().st_mtime_ns
    assert write_artifacts(artifacts, out) is False
    assert (out / "a" / "one").stat().st_mtime_ns == before


def test_failure_while_writing_leaves_previous_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "generated"
    write_artifacts([Artifact("a/one", "old\n", "jenkinsfile")], out)
    real_open = os.open

    def failing_open(path: Any, *args: Any, **kwargs: Any) -> Any:
        if Path(path).name == "two":
            raise OSError(28, "disk full", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", failing_open)
    with pytest.raises(RenderError, match="disk full"):
        write_artifacts(
            [Artifact("a/one", "new\n", "jenkinsfile"), Artifact("a/two", "2\n", "jenkinsfile")],
            out,
        )
    monkeypatch.undo()
    assert _files(out) == {"a/one": "old\n"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["generated"]


def test_paths_outside_the_folder_are_refused(tmp_path: Path) -> None:
    with pytest.raises(RenderError, match="outside the output folder"):
        write_artifacts([Artifact("../escape", "x\n", "jenkinsfile")], tmp_path / "g")
    assert not (tmp_path / "escape").exists()


def test_concurrent_writes_do_not_corrupt(tmp_path: Path) -> None:
    out = tmp_path / "generated"
    sets = [
        [Artifact(f"p/{n}", f"{n}\n" * 1000, "jenkinsfile") for n in range(20)] for _ in range(2)
    ]
    sets[1] = [Artifact(a.path, a.text.upper() + "x\n", "jenkinsfile") for a in sets[0]]
    errors: list[BaseException] = []

    def run(artifacts: list[Artifact]) -> None:
        try:
            for _ in range(5):
                write_artifacts(artifacts, out)
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(s,)) for s in sets]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert check_artifacts(sets[0], out).ok or check_artifacts(sets[1], out).ok


def test_a_folder_pipedsl_did_not_write_is_never_replaced(tmp_path: Path) -> None:
    (tmp_path / "projects").mkdir()
    (tmp_path / "IMPORTANT.txt").write_text("keep\n")
    with pytest.raises(RenderError, match=r"is not empty and was not written by pipedsl"):
        write_artifacts([Artifact("a/one", "1\n", "jenkinsfile")], tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["IMPORTANT.txt", "projects"]


def test_output_is_marked_and_the_mark_is_not_an_extra_file(tmp_path: Path) -> None:
    out = tmp_path / "generated"
    artifacts = [Artifact("a/one", "1\n", "jenkinsfile")]
    write_artifacts(artifacts, out)
    assert (out / ".pipedsl").is_file()
    assert check_artifacts(artifacts, out).ok
    assert write_artifacts([Artifact("a/two", "2\n", "jenkinsfile")], out)  # marked: replaced


def test_file_system_errors_are_render_errors_naming_the_path(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x\n")
    with pytest.raises(RenderError, match=r"cannot write .*afile"):
        write_artifacts([Artifact("a/one", "1\n", "jenkinsfile")], tmp_path / "afile" / "out")


def test_two_artifacts_with_one_path_are_refused(tmp_path: Path) -> None:
    out = tmp_path / "generated"
    with pytest.raises(RenderError, match="two artifacts have the same path: a/x"):
        write_artifacts([Artifact("a/x", "1\n", "job"), Artifact("a/x", "2\n", "job")], out)
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_a_path_that_is_the_folder_of_another_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "generated"
    with pytest.raises(RenderError, match="the folder of another artifact: a/x"):
        write_artifacts([Artifact("a/x", "1\n", "job"), Artifact("a/x/y", "2\n", "job")], out)
    assert list(tmp_path.iterdir()) == []


def test_a_path_given_as_a_path_object_is_written_as_its_text(tmp_path: Path) -> None:
    out = tmp_path / "generated"
    artifact = Artifact(PurePosixPath("a/./b"), "1\n", "job")  # type: ignore[arg-type]
    assert write_artifacts([artifact], out)
    assert (out / "a" / "b").read_text() == "1\n"


def test_leftovers_of_a_killed_render_are_removed_even_when_up_to_date(tmp_path: Path) -> None:
    out = tmp_path / "generated"
    artifacts = [Artifact("a/one", "1\n", "jenkinsfile")]
    write_artifacts(artifacts, out)
    for name in (".generated.new-k1ll3d_x", ".generated.old-4242", ".other.new-k1ll3d_x"):
        (tmp_path / name / "a").mkdir(parents=True)
        (tmp_path / name / "a" / "one").write_text("half\n")
    assert write_artifacts(artifacts, out) is False
    assert sorted(p.name for p in tmp_path.iterdir()) == [".other.new-k1ll3d_x", "generated"]


def test_a_signal_in_the_block_exits_with_its_code(tmp_path: Path) -> None:
    before = signal.getsignal(signal.SIGTERM)
    reached: list[bool] = []

    def stopped() -> None:
        with signals_as_interrupt():
            os.kill(os.getpid(), signal.SIGTERM)
            reached.append(True)

    with pytest.raises(SystemExit) as info:
        stopped()
    assert info.value.code == 128 + signal.SIGTERM
    assert reached == []
    assert signal.getsignal(signal.SIGTERM) is before


def test_a_keyboard_interrupt_raised_by_code_stays_itself() -> None:
    with pytest.raises(KeyboardInterrupt), signals_as_interrupt():
        raise KeyboardInterrupt


def test_signals_are_left_alone_outside_the_main_thread() -> None:
    seen: list[object] = []

    def run() -> None:
        with signals_as_interrupt():
            seen.append(signal.getsignal(signal.SIGTERM))

    before = signal.getsignal(signal.SIGTERM)
    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    assert seen == [before]


def test_files_are_written_whole_through_short_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A write may take fewer bytes than asked (a signal, a full pipe): the rest follows.
    real_write = os.write
    calls: list[int] = []

    def short_write(fd: int, data: Any) -> int:
        calls.append(len(data))
        return real_write(fd, bytes(data[:7]))

    monkeypatch.setattr(os, "write", short_write)
    text = "é" * 40 + "\n"
    write_artifacts(
        [Artifact("a/b/c/one", text, "jenkinsfile"), Artifact("a/two", "2\n", "job")],
        tmp_path / "out",
    )
    monkeypatch.undo()
    assert _files(tmp_path / "out") == {"a/b/c/one": text, "a/two": "2\n"}
    assert len(calls) > 12


def test_every_folder_of_the_files_is_made_and_nothing_else(tmp_path: Path) -> None:
    paths = ["z/one", "a-b/two", "a/c/three", "a/c/d/e/four", "a/five", "./x//y/six", "top"]
    write_artifacts([Artifact(p, p + "\n", "job") for p in paths], tmp_path / "out")
    made = {p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*")}
    files = {PurePosixPath(p).as_posix() for p in paths}
    assert made - files == {"z", "a-b", "a", "a/c", "a/c/d", "a/c/d/e", "x", "x/y", ".pipedsl"}


def test_folders_differing_only_in_case_share_one_where_the_file_system_ignores_case(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As on macOS's default file system: mkdir, isdir and open below tmp_path find an entry
    # whatever the case of its name.
    real_mkdir, real_open, real_isdir = os.mkdir, os.open, os.path.isdir

    def found(path: Any) -> str:
        text: str = os.fspath(path)
        if not text.startswith(f"{tmp_path}/"):
            return text
        where = str(tmp_path)
        for part in text[len(str(tmp_path)) + 1 :].split("/"):
            names = [p.name for p in Path(where).iterdir()] if real_isdir(where) else []
            where += "/" + next((n for n in names if n.lower() == part.lower()), part)
        return where

    def mkdir(path: Any, mode: int = 0o777) -> None:
        if found(path) != os.fspath(path) and os.path.lexists(found(path)):
            raise FileExistsError(17, "File exists", os.fspath(path))
        real_mkdir(found(path), mode)

    monkeypatch.setattr(os, "mkdir", mkdir)
    monkeypatch.setattr(os.path, "isdir", lambda path: real_isdir(found(path)))
    monkeypatch.setattr(os, "open", lambda path, *args, **kw: real_open(found(path), *args, **kw))
    out = tmp_path / "out"
    write_artifacts([Artifact("Docs/a", "a\n", "job"), Artifact("docs/b", "b\n", "job")], out)
    monkeypatch.undo()
    assert _files(out) == {"Docs/a": "a\n", "Docs/b": "b\n"}
