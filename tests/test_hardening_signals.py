"""SIGTERM, SIGHUP and SIGINT during a render, SIGKILL, and a render beside a live one.

Each case runs a real process. A start-up hook (a ``sitecustomize`` module on ``PYTHONPATH``)
makes the process send itself the signal at the k-th file it writes, or at the k-th rename of
the swap, so the signal arrives exactly there. A signal while files are written must leave the
previous output byte for byte and nothing beside it, with exit code 128 + the signal's number
and one line on stderr; a signal during the swap lets the swap finish (the new output, whole).
A render killed by SIGKILL leaves its staging folder; the next render removes it, but never
the staging folder of a render that is still running.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipedsl import load_project, render_projects, write_artifacts
from tests.conftest import ROOT, SEED_PROJECT, seed_projects
from tests.support import tally

HOOK = """\
import os
import signal
import time
from pathlib import Path

_hook = os.environ.get("PIPEDSL_TEST_HOOK")
if _hook:
    from pipedsl import write

    _at = int(os.environ["PIPEDSL_TEST_AT"])
    _calls = [0]

    def _fire():
        _calls[0] += 1
        if _calls[0] != _at:
            return
        if _hook.startswith("pause"):
            Path(os.environ["PIPEDSL_TEST_PAUSED"]).touch()
            while not Path(os.environ["PIPEDSL_TEST_GO"]).exists():
                time.sleep(0.01)
        else:
            os.kill(os.getpid(), getattr(signal, os.environ["PIPEDSL_TEST_SIGNAL"]))

    if _hook.endswith("write"):
        _real_write = write._write_file

        def _write_file(target):
            _fire()
            return _real_write(target)

        write._write_file = _write_file
    else:
        _real_rename = Path.rename

        def _rename(self, target):
            _fire()
            return _real_rename(self, target)

        Path.rename = _rename
"""

CLI = str(Path(sys.executable).parent / "pipedsl")

Snapshot = dict[str, bytes | None]


def snapshot(folder: Path) -> Snapshot:
    return {
        p.relative_to(folder).as_posix(): (None if p.is_dir() else p.read_bytes())
        for p in sorted(folder.rglob("*"))
    }


def _env(tmp_path: Path, **hook: str) -> dict[str, str]:
    hooks = tmp_path / "hook"
    hooks.mkdir(exist_ok=True)
    (hooks / "sitecustomize.py").write_text(HOOK, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIPEDSL_TEST_")}
    env["PYTHONPATH"] = os.pathsep.join([str(hooks), str(ROOT / "src")])
    env.update({f"PIPEDSL_TEST_{k.upper()}": v for k, v in hook.items()})
    return env


def _command(projects: Path, out: Path) -> list[str]:
    return [CLI, "render", "--projects", str(projects), "--out", str(out)]


def _run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=120, check=False
    )


class Case:
    """A projects folder, an output folder holding an older render, and the fresh render."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.projects = seed_projects(tmp_path / "projects")
        self.parent = tmp_path / "parent"
        self.parent.mkdir()
        self.out = self.parent / "generated"
        project = self.projects / SEED_PROJECT.name
        assert write_artifacts(render_projects([load_project(project)]), self.out)
        self.before = snapshot(self.out)
        # The render under test differs in every Jenkinsfile and job from the one on disk.
        text = project.read_text(encoding="utf-8")
        assert 'branch="develop"' in text
        project.write_text(text.replace('branch="develop"', 'branch="main"'), encoding="utf-8")
        self.after = {
            a.path: a.text.encode("utf-8") for a in render_projects([load_project(project)])
        }

    def files(self) -> dict[str, bytes]:
        return {p: t for p, t in snapshot(self.out).items() if t is not None and p != ".pipedsl"}

    def beside(self) -> list[str]:
        return sorted(p.name for p in self.parent.iterdir())


ARTIFACTS = len(render_projects([load_project(SEED_PROJECT)]))

# At the first file, one in the middle, and the marker (written last); Ctrl-C once, as a check
# that it still behaves as the other two.
POINTS = {"first": 1, "middle": ARTIFACTS // 2, "marker": ARTIFACTS + 1}
WHILE_WRITING = [
    pytest.param(name, at, id=f"{name}-{point}")
    for name in ("SIGTERM", "SIGHUP")
    for point, at in POINTS.items()
] + [pytest.param("SIGINT", POINTS["middle"], id="SIGINT-middle")]


@pytest.mark.parametrize(("name", "at"), WHILE_WRITING)
def test_a_signal_while_files_are_written_changes_nothing(
    tmp_path: Path, name: str, at: int
) -> None:
    case = Case(tmp_path)
    completed = _run(
        _command(case.projects, case.out),
        _env(tmp_path, hook="write", at=str(at), signal=name),
    )
    tally.add("signals tried (real processes)")
    signum = getattr(signal, name)
    assert completed.returncode == 128 + signum, completed.stderr
    assert completed.stderr == f"interrupted by {name}\n"
    assert "Traceback" not in completed.stdout + completed.stderr
    assert snapshot(case.out) == case.before, "the previous output changed"
    assert case.beside() == ["generated"], "staging left behind"


@pytest.mark.parametrize("name", ["SIGTERM", "SIGHUP"])
@pytest.mark.parametrize("at", [1, 2], ids=["before-retiring", "before-swapping-in"])
def test_a_signal_during_the_swap_lets_it_finish(tmp_path: Path, name: str, at: int) -> None:
    case = Case(tmp_path)
    completed = _run(
        _command(case.projects, case.out),
        _env(tmp_path, hook="rename", at=str(at), signal=name),
    )
    tally.add("signals tried (real processes)")
    assert completed.returncode == 128 + getattr(signal, name), completed.stderr
    assert completed.stderr == f"interrupted by {name}\n"
    assert case.files() == case.after, "the new output is not whole"
    assert case.beside() == ["generated"], "staging or retired folder left behind"


@pytest.mark.parametrize("name", ["SIGTERM", "SIGHUP"])
def test_the_pipedsl_command_itself(tmp_path: Path, name: str) -> None:
    case = Case(tmp_path)
    completed = _run(
        _command(case.projects, case.out),
        _env(tmp_path, hook="write", at=str(ARTIFACTS // 2), signal=name),
    )
    tally.add("signals tried (real processes)")
    assert completed.returncode == 128 + getattr(signal, name), completed.stderr
    assert completed.stderr == f"interrupted by {name}\n"
    assert snapshot(case.out) == case.before
    assert case.beside() == ["generated"]


@pytest.mark.parametrize(
    ("hook", "at", "left"),
    [
        ("write", ARTIFACTS // 2, ["generated"]),
        # Between the two renames the output folder is absent: the previous one is retired.
        ("rename", 2, []),
    ],
    ids=["while-writing", "between-the-renames"],
)
def test_after_sigkill_the_next_render_removes_what_was_left(
    tmp_path: Path, hook: str, at: int, left: list[str]
) -> None:
    case = Case(tmp_path)
    killed = _run(
        _command(case.projects, case.out),
        _env(tmp_path, hook=hook, at=str(at), signal="SIGKILL"),
    )
    tally.add("signals tried (real processes)")
    assert killed.returncode == -signal.SIGKILL
    leftovers = [n for n in case.beside() if n != "generated"]
    assert leftovers, "the killed render left nothing: the case tests nothing"
    assert all(n.startswith((".generated.new-", ".generated.old-")) for n in leftovers)
    assert [n for n in case.beside() if n == "generated"] == left
    if left:
        assert snapshot(case.out) == case.before
    completed = _run(_command(case.projects, case.out), _env(tmp_path))
    assert completed.returncode == 0, completed.stderr
    assert case.files() == case.after
    assert case.beside() == ["generated"], "the leftovers were not removed"


def _waits_for_lock(pid: int) -> bool:
    """Whether process ``pid`` is blocked waiting for a file lock (Linux's /proc/locks)."""
    locks = Path("/proc/locks").read_text(encoding="utf-8").splitlines()
    return any("->" in line and f" {pid} " in line for line in locks)


@pytest.mark.skipif(not Path("/proc/locks").exists(), reason="needs Linux's /proc/locks")
def test_a_live_renders_staging_folder_is_left_alone(tmp_path: Path) -> None:
    """A render paused while writing, and a second render of the same folder started then:
    the second waits for the first and removes nothing of it; both succeed."""
    case = Case(tmp_path)
    paused, go = tmp_path / "paused", tmp_path / "go"
    first = subprocess.Popen(
        _command(case.projects, case.out),
        env=_env(tmp_path, hook="pause-write", at="2", paused=str(paused), go=str(go)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    second: subprocess.Popen[bytes] | None = None
    try:
        deadline = time.monotonic() + 60
        while not paused.exists():
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline, "the first render never paused"
            time.sleep(0.01)
        staging = [n for n in case.beside() if n.startswith(".generated.new-")]
        assert len(staging) == 1
        second = subprocess.Popen(
            _command(case.projects, case.out),
            env=_env(tmp_path),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        while not _waits_for_lock(second.pid):
            assert second.poll() is None, second.communicate()
            assert time.monotonic() < deadline, "the second render never waited for the lock"
            time.sleep(0.01)
        assert staging[0] in case.beside(), "a live render's staging folder was removed"
        go.touch()
        for done in (first, second):
            _, stderr = done.communicate(timeout=120)
            assert done.returncode == 0, stderr.decode()
    finally:
        go.touch()
        for left in (first, second):
            if left is not None and left.poll() is None:
                left.kill()
                left.wait()
    assert case.files() == case.after
    assert case.beside() == ["generated"]
