"""Writing artifacts into the output folder, atomically, and checking it is up to date."""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

import attrs

from pipedsl.errors import RenderError
from pipedsl.render.artifacts import Artifact

__all__ = ["CheckResult", "check_artifacts", "write_artifacts"]


def _target(out: Path, artifact: Artifact) -> Path:
    relative = PurePosixPath(artifact.path)
    if relative.is_absolute() or ".." in relative.parts or not relative.parts:
        raise RenderError(f"refusing to write outside the output folder: {artifact.path!r}")
    return out.joinpath(*relative.parts)


MARKER = ".pipedsl"
"""The file that marks a folder as pipedsl's output, which a render may replace as a whole."""

MARKER_TEXT = (
    "This folder is written by `pipedsl render` and replaced as a whole on every render:\n"
    "do not keep anything else in it.\n"
)


def _existing_files(out: Path) -> dict[str, Path]:
    if not out.is_dir():
        return {}
    return {
        p.relative_to(out).as_posix(): p
        for p in sorted(out.rglob("*"))
        if (p.is_file() or p.is_symlink()) and p.relative_to(out).as_posix() != MARKER
    }


def _may_replace(folder: Path) -> None:
    """Refuse to replace a folder pipedsl did not write: ``--out .`` must not delete a
    repository."""
    if not folder.exists():
        return
    if not folder.is_dir():
        raise RenderError(f"{folder} exists and is not a folder")
    if (folder / MARKER).is_file() or not any(folder.iterdir()):
        return
    raise RenderError(
        f"{folder} is not empty and was not written by pipedsl (it has no {MARKER} file); "
        "refusing to replace it: choose an empty or new output folder"
    )


@attrs.frozen
class CheckResult:
    """How the output folder differs from a fresh render."""

    missing: tuple[str, ...]
    stale: tuple[str, ...]
    extra: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not (self.missing or self.stale or self.extra)

    def lines(self) -> list[str]:
        return (
            [f"missing: {p}" for p in self.missing]
            + [f"stale:   {p}" for p in self.stale]
            + [f"extra:   {p}" for p in self.extra]
        )


def check_artifacts(artifacts: Sequence[Artifact], out: str | Path) -> CheckResult:
    """Compare ``out`` with ``artifacts`` without writing anything."""
    folder = Path(out)
    existing = _existing_files(folder)
    wanted = {a.path: a for a in artifacts}
    missing = [p for p in wanted if p not in existing]
    stale = [
        p
        for p, a in wanted.items()
        if p in existing and existing[p].read_bytes() != a.text.encode("utf-8")
    ]
    extra = [p for p in existing if p not in wanted]
    return CheckResult(tuple(sorted(missing)), tuple(sorted(stale)), tuple(sorted(extra)))


def _write_file(target: tuple[Path, str]) -> None:
    # A new file in a new folder: plain os calls (no buffered text layer, which would also
    # seek and ask whether the file is a terminal).
    path, text = target
    data = memoryview(text.encode("utf-8"))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
    try:
        while data:
            data = data[os.write(fd, data) :]
    finally:
        os.close(fd)


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    # Two renders at once take turns: the lock is on the folder that holds the output folder.
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def write_artifacts(artifacts: Sequence[Artifact], out: str | Path) -> bool:
    """Make ``out`` hold exactly ``artifacts``. Returns whether anything changed.

    Everything is written into a fresh sibling folder first, which then replaces ``out`` by two
    renames (for a moment between them ``out`` is absent); an error before that leaves the
    previous ``out`` untouched, and nothing half-written is ever visible under its name. An
    ``out`` that already matches is not touched at all. Only a folder that pipedsl wrote (it
    holds a ``.pipedsl`` marker) or an empty one is replaced; anything else is refused. A file
    system error is a :class:`RenderError` naming the path.
    """
    twice = sorted(p for p, n in Counter(a.path for a in artifacts).items() if n > 1)
    if twice:
        raise RenderError(f"two artifacts have the same path: {', '.join(twice)}")
    folder = Path(out).absolute()
    try:
        return _replace(artifacts, folder)
    except OSError as exc:
        where = exc.filename or folder
        raise RenderError(f"cannot write {where}: {exc.strerror or exc}") from None


def _replace(artifacts: Sequence[Artifact], folder: Path) -> bool:
    _may_replace(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    with _locked(folder.parent):
        _may_replace(folder)
        if check_artifacts(artifacts, folder).ok and (folder / MARKER).is_file():
            return False
        staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.new-", dir=folder.parent))
        # mkdtemp makes a private (0700) folder; the output folder gets the usual permissions.
        umask = os.umask(0)
        os.umask(umask)
        staging.chmod(0o777 & ~umask)
        try:
            targets = [(_target(staging, a), a.text) for a in artifacts]
            for folder_path in sorted({t.parent for t, _ in targets}):
                folder_path.mkdir(parents=True, exist_ok=True)
            for target in targets:
                _write_file(target)
            _write_file((staging / MARKER, MARKER_TEXT))
            retired = folder.parent / f".{folder.name}.old-{os.getpid()}"
            had_previous = folder.exists()
            if had_previous:
                folder.rename(retired)
            try:
                staging.rename(folder)
            except BaseException:
                if had_previous:
                    retired.rename(folder)
                raise
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        shutil.rmtree(retired, ignore_errors=True)
    return True
