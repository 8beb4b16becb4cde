"""Writing artifacts into the output folder, atomically, and checking it is up to date.

What a render does with what it finds on the file system:

- The output folder may be a symbolic link to a folder: the folder it points to is replaced
  (by the same rule as any output folder) and the link is kept. A link to nothing, or a loop
  of links, is an error. An output folder that is a file, a FIFO, a socket or a device is an
  error; none of them is ever opened.
- Inside the output folder nothing is followed or opened but regular files: a symbolic link,
  FIFO, socket, device or folder where a generated file goes counts as stale (``--check``
  says so; a render replaces the whole folder), and a file where a generated folder goes
  counts as extra. A regular file is read only if its size matches.
- A render interrupted by an exception (an ``OSError``, Ctrl-C, or SIGTERM and SIGHUP under
  :func:`signals_as_interrupt`) removes its staging folder and leaves the previous output as
  it was. A render killed outright (SIGKILL, power loss) leaves its staging folder (and, if
  killed between the two renames of the swap, the previous output under a retired name, the
  output folder being absent); the next render into that folder removes both.
"""

from __future__ import annotations

import contextlib
import difflib
import fcntl
import os
import re
import shutil
import signal
import stat
import sys
import tempfile
import threading
from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from types import FrameType

import attrs

from pipedsl.errors import RenderError
from pipedsl.record import Record
from pipedsl.render.artifacts import Artifact

__all__ = [
    "CheckResult",
    "Interrupted",
    "check_artifacts",
    "diff_lines",
    "signals_as_interrupt",
    "write_artifacts",
]


def _normal(path: str) -> str:
    """``PurePosixPath(path).as_posix()``, computed on the string: a render of a large project
    names thousands of files, and pathlib's parsing was most of the time spent writing them."""
    if type(path) is not str or path.startswith("/"):  # anything else as pathlib takes it
        return PurePosixPath(path).as_posix()
    if path and "//" not in path and "/." not in path and path[0] != "." and path[-1] != "/":
        return path  # no empty part and no "." part: normal already (what a render names)
    return "/".join(part for part in path.split("/") if part and part != ".") or "."


def _parents(path: str) -> list[str]:
    """``[q.as_posix() for q in PurePosixPath(path).parents]`` for a :func:`_normal` path."""
    if path.startswith("/"):
        return [q.as_posix() for q in PurePosixPath(path).parents]
    parts = path.split("/")
    found = ["/".join(parts[:end]) for end in range(len(parts) - 1, 0, -1)]
    return [*found, "."] if path != "." else []


def _folders(paths: Iterable[str]) -> set[str]:
    """``{q for p in paths for q in _parents(p)}`` for :func:`_normal` paths: each folder is
    climbed from once, however many files it holds."""
    found: set[str] = set()
    for path in paths:
        if path.startswith("/") or path == ".":
            found.update(_parents(path))
            continue
        found.add(".")
        folder = path.rpartition("/")[0]
        while folder and folder not in found:
            found.add(folder)
            folder = folder.rpartition("/")[0]
    return found


def _target(out: str, relative: str, artifact: Artifact) -> str:
    """Where ``artifact``, at the :func:`_normal` path ``relative``, is written below ``out``."""
    if relative.startswith("/") or relative == "." or "/../" in f"/{relative}/":
        raise RenderError(f"refusing to write outside the output folder: {artifact.path!r}")
    return f"{out}/{relative}"


MARKER = ".pipedsl"
"""The file that marks a folder as pipedsl's output, which a render may replace as a whole."""

MARKER_TEXT = (
    "This folder is written by `pipedsl render` and replaced as a whole on every render:\n"
    "do not keep anything else in it.\n"
)


def _output_folder(out: str | Path) -> Path:
    """``out`` made absolute, and a symbolic link to a folder replaced by that folder."""
    folder = Path(out).absolute()
    if not folder.is_symlink():
        return folder
    try:
        return folder.resolve(strict=True)
    except (OSError, RuntimeError):  # RuntimeError: a loop, before Python 3.13
        try:
            where = f" to {folder.readlink()}"
        except OSError:
            where = ""
        raise RenderError(
            f"{folder} is a symbolic link{where}, which leads to nothing (a missing target or "
            "a loop): remove the link or create the folder it points to"
        ) from None


Scope = Collection[str] | None
"""The projects a render covers (their subfolders of the output folder), or None: all of it."""


def _in_scope(path: str, scope: Scope) -> bool:
    return scope is None or path.split("/", 1)[0] in scope


def rendered_from(out: str | Path, sources: Collection[str]) -> set[str]:
    """The project folders of ``out`` that one of the project files ``sources``
    (``projects/shop.py``) rendered, by the header of their files: after a project was
    renamed in its file, its previous folder is one of them, and a render of that file alone
    replaces it too."""
    folder = Path(out)
    if not sources or not folder.is_dir():
        return set()
    marks = [f"Generated by pipedsl from {source} (project ".encode() for source in sources]
    found: set[str] = set()
    for project in sorted(p for p in folder.iterdir() if _is_folder(p)):
        for file in sorted(project.rglob("*")):
            if _is_folder(file) or not file.is_file():
                continue
            try:
                with file.open("rb") as handle:
                    head = handle.read(512)
            except OSError:
                continue
            if b"Generated by pipedsl from " in head:  # the first file that names its source
                if any(mark in head for mark in marks):
                    found.add(project.name)
                break
    return found


def _existing_files(out: Path, scope: Scope = None) -> dict[str, Path]:
    """Everything in ``out`` that is not a folder (symbolic links are listed, not followed),
    within ``scope``."""
    if not out.is_dir():
        return {}
    found = {
        p.relative_to(out).as_posix(): p
        for p in sorted(out.rglob("*"))
        if not _is_folder(p) and p.relative_to(out).as_posix() != MARKER
    }
    return {k: v for k, v in found.items() if _in_scope(k, scope)}


def _is_folder(path: Path) -> bool:
    try:
        return stat.S_ISDIR(path.lstat().st_mode)
    except OSError:
        return False


def _holds(path: Path, data: bytes) -> bool:
    """Whether ``path`` is a regular file holding exactly ``data``. Nothing else is opened: a
    FIFO would block the render, a device might never end."""
    try:
        if not stat.S_ISREG(path.lstat().st_mode):
            return False
        # O_NOFOLLOW and O_NONBLOCK: if the file was swapped since, opening cannot block.
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return False
    with os.fdopen(fd, "rb") as file:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size != len(data):
            return False
        return file.read(len(data) + 1) == data


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


@attrs.frozen(eq=False, repr=False)
class CheckResult(Record):
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


def check_artifacts(
    artifacts: Sequence[Artifact], out: str | Path, *, scope: Scope = None
) -> CheckResult:
    """Compare ``out`` with ``artifacts`` without writing anything; with ``scope`` (project
    names), only those projects' subfolders. A file system error (an unreadable folder, say)
    is a :class:`RenderError` naming the path."""
    try:
        return _compare(artifacts, _output_folder(out), scope)
    except OSError as exc:
        raise RenderError(f"cannot read {exc.filename or out}: {exc.strerror or exc}") from None


def diff_lines(artifacts: Sequence[Artifact], out: str | Path, result: CheckResult) -> list[str]:
    """A unified diff from what ``out`` holds to a fresh render, for the files ``result``
    names (``a/`` the folder, ``b/`` the render; a missing or extra file against
    ``/dev/null``). A file that is not readable text is named, not shown."""
    folder = _output_folder(out)
    wanted = {a.path: a.text for a in artifacts}
    lines: list[str] = []
    for path in sorted({*result.missing, *result.stale, *result.extra}):
        old = _read_text(folder / path) if path not in result.missing else ""
        new = wanted.get(path, "")
        if old is None:
            lines.append(f"Binary or unreadable file {out}/{path} differs\n")
            continue
        lines += difflib.unified_diff(
            old.splitlines(keepends=True),
            new.splitlines(keepends=True),
            fromfile="/dev/null" if path in result.missing else f"a/{path}",
            tofile="/dev/null" if path in result.extra else f"b/{path}",
        )
    return [
        line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines
    ]


def _read_text(path: Path) -> str | None:
    try:
        if not stat.S_ISREG(path.lstat().st_mode):
            return None
        # Bytes decoded as they are: a CR the render would not write shows in the diff.
        return path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _compare(artifacts: Sequence[Artifact], folder: Path, scope: Scope = None) -> CheckResult:
    existing = _existing_files(folder, scope)
    wanted = {a.path: a for a in artifacts}
    missing = [p for p in wanted if p not in existing]
    stale = [
        p
        for p, a in wanted.items()
        if p in existing and not _holds(existing[p], a.text.encode("utf-8"))
    ]
    extra = [p for p in existing if p not in wanted]
    return CheckResult(tuple(sorted(missing)), tuple(sorted(stale)), tuple(sorted(extra)))


def _write_file(target: tuple[str | Path, str]) -> None:
    # A new file in a new folder: plain os calls (no buffered text layer, which would also
    # seek and ask whether the file is a terminal).
    path, text = target
    data = text.encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
    try:
        written = os.write(fd, data)
        if written < len(data):  # a short write: the rest, until all is written
            rest = memoryview(data)[written:]
            while rest:
                rest = rest[os.write(fd, rest) :]
    finally:
        os.close(fd)


def _make_folder(path: str) -> None:
    """Make the folder ``path`` in the staging folder (its parent is made already), or accept
    the folder found there under that name: on a file system that ignores case, ``Docs`` and
    ``docs`` are one folder, as ``Path.mkdir(exist_ok=True)`` took them."""
    try:
        os.mkdir(path)  # noqa: PTH102  (thousands of folders: plain os calls)
    except FileExistsError:
        if not os.path.isdir(path):  # noqa: PTH112
            raise


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    # Two renders at once take turns: the lock is on the folder that holds the output folder.
    # O_DIRECTORY: a FIFO in its place fails at once instead of blocking the open.
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _leftovers(folder: Path) -> re.Pattern[str]:
    """The names of the staging (``new``) and retired (``old``) folders of ``folder``."""
    return re.compile(re.escape(f".{folder.name}.") + r"(?:new|old)-[A-Za-z0-9_]+")


def _remove_leftovers(folder: Path) -> None:
    """Remove staging and retired folders a killed render left beside ``folder``.

    Called with the lock held. Every render makes and removes its own staging and retired
    folders while it holds that lock, so any found now belong to a render that no longer runs
    (a live one waits for the lock before it makes any). Only folders with those exact names
    are removed; a symbolic link or file of such a name is left alone.
    """
    names = _leftovers(folder)
    with os.scandir(folder.parent) as entries:
        found = [e.path for e in entries if names.fullmatch(e.name) and _is_folder(Path(e.path))]
    for path in found:
        shutil.rmtree(path, ignore_errors=True)


def write_artifacts(artifacts: Sequence[Artifact], out: str | Path, *, scope: Scope = None) -> bool:
    """Make ``out`` hold exactly ``artifacts``. Returns whether anything changed. With
    ``scope`` (project names), only those projects' subfolders are rendered anew: the rest of
    ``out`` is carried over unchanged.

    Everything is written into a fresh sibling folder first, which then replaces ``out`` by two
    renames (for a moment between them ``out`` is absent); an error before that leaves the
    previous ``out`` untouched, and nothing half-written is ever visible under its name. An
    ``out`` that already matches is not touched at all. Only a folder that pipedsl wrote (it
    holds a ``.pipedsl`` marker) or an empty one is replaced; anything else is refused. A file
    system error is a :class:`RenderError` naming the path. The module's docstring says what
    is done with symbolic links, FIFOs and other odd files, and after a render was killed.
    """
    normal = [_normal(a.path) for a in artifacts]
    paths = Counter(normal)
    twice = sorted(p for p, n in paths.items() if n > 1)
    if twice:
        raise RenderError(f"two artifacts have the same path: {', '.join(twice)}")
    folders = _folders(paths)
    both = sorted(p for p in paths if p in folders)
    if both:
        raise RenderError(
            f"an artifact's path is the folder of another artifact: {', '.join(both)}"
        )
    try:
        return _replace(artifacts, _output_folder(out), scope, (normal, folders))
    except OSError as exc:
        where = exc.filename or out
        raise RenderError(f"cannot write {where}: {exc.strerror or exc}") from None


def _replace(
    artifacts: Sequence[Artifact],
    folder: Path,
    scope: Scope,
    layout: tuple[list[str], set[str]],
) -> bool:
    # ``layout``: the artifacts' normal paths, and every folder they are in (see _folders).
    # Checked under the lock only: outside it, another render's swap may be half done.
    folder.parent.mkdir(parents=True, exist_ok=True)
    with _locked(folder.parent):
        _remove_leftovers(folder)
        _may_replace(folder)
        if _compare(artifacts, folder, scope).ok and (folder / MARKER).is_file():
            return False
        kept = _kept(folder, scope) if scope is not None else []
        staging: Path | None = None
        try:
            with _uninterrupted():
                staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.new-", dir=folder.parent))
            # mkdtemp makes a private (0700) folder; the output folder gets the usual
            # permissions.
            umask = os.umask(0)
            os.umask(umask)
            staging.chmod(0o777 & ~umask)
            normal, folders = layout
            root = str(staging)
            targets = [
                (_target(root, p, a), a.text) for p, a in zip(normal, artifacts, strict=True)
            ]
            copies = [(staging.joinpath(*PurePosixPath(p).parts), file) for p, file in kept]
            # Into the new, empty staging folder: each folder after the one holding it (a
            # folder's name sorts before the names below it).
            for folder_path in sorted(folders - {"."}):
                _make_folder(f"{root}/{folder_path}")
            for copy, _ in copies:
                copy.parent.mkdir(parents=True, exist_ok=True)
            for target in targets:
                _write_file(target)
            for copy, original in copies:
                # Byte for byte, with its mode: the other projects' files are not re-rendered.
                shutil.copy2(original, copy, follow_symlinks=False)
            _write_file((staging / MARKER, MARKER_TEXT))
            with _uninterrupted():
                _swap(staging, folder)
                staging = None
        except BaseException:
            with _uninterrupted():
                if staging is not None:
                    shutil.rmtree(staging, ignore_errors=True)
            raise
    return True


def _kept(folder: Path, scope: Collection[str]) -> list[tuple[str, Path]]:
    """The files of ``folder`` outside ``scope``, to be copied as they are (regular files only:
    the folder holds nothing else that pipedsl wrote)."""
    kept = []
    for path, file in _existing_files(folder).items():
        if _in_scope(path, scope):
            continue
        if not stat.S_ISREG(file.lstat().st_mode):
            raise RenderError(
                f"{file} is not a regular file, so not one pipedsl wrote; render every project "
                "(without paths) to replace the whole folder"
            )
        kept.append((path, file))
    return kept


def _swap(staging: Path, folder: Path) -> None:
    """Put ``staging`` in the place of ``folder``, and remove the previous ``folder``."""
    if not folder.exists():
        staging.rename(folder)
        return
    retired = Path(tempfile.mkdtemp(prefix=f".{folder.name}.old-", dir=folder.parent))
    try:
        folder.rename(retired)  # onto the empty folder just made, which it replaces
    except BaseException:
        retired.rmdir()
        raise
    try:
        staging.rename(folder)
    except BaseException:
        retired.rename(folder)
        raise
    shutil.rmtree(retired, ignore_errors=True)


# -- signals ---------------------------------------------------------------------------------

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
"""The signals :func:`signals_as_interrupt` turns into :class:`Interrupted`."""

# Signal handlers run in the main thread, so this is the main thread's state when they read it.
_state = threading.local()


class Interrupted(KeyboardInterrupt):
    """A stop signal arrived: raised like Ctrl-C's ``KeyboardInterrupt``, so every clean-up
    that runs for Ctrl-C runs for it."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(signal.Signals(signum).name)


@contextmanager
def _uninterrupted() -> Iterator[None]:
    """A stop signal arriving in the block takes effect when the block is done: a folder is
    made and named, or swapped in, or removed, as a whole."""
    depth = getattr(_state, "depth", 0)
    _state.depth = depth + 1
    try:
        yield
    finally:
        _state.depth = depth
    pending = getattr(_state, "pending", None)
    if depth == 0 and pending is not None:
        _state.pending = None
        raise Interrupted(pending)


@contextmanager
def signals_as_interrupt() -> Iterator[None]:
    """In the block, SIGINT, SIGTERM and SIGHUP raise :class:`Interrupted`; the process then
    leaves with the conventional exit code (128 + the signal's number) and one line on stderr.

    The exception unwinds like Ctrl-C: a render being written removes its staging folder and
    the previous output stays as it was. A signal that arrives while a folder is made, swapped
    in or removed takes effect when that is done, so the output folder always holds one
    complete render (the previous one or, if the swap had begun, the new one). A second signal
    while the first is handled is ignored, so the clean-up is not cut short. Outside the main
    thread (where no handler can be installed) the block runs unchanged::

        with signals_as_interrupt():
            write_artifacts(artifacts, "generated")
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []

    def handler(signum: int, frame: FrameType | None) -> None:
        if received:
            return
        received.append(signum)
        if getattr(_state, "depth", 0):
            _state.pending = signum
            return
        raise Interrupted(signum)

    previous = {s: signal.signal(s, handler) for s in STOP_SIGNALS}
    try:
        yield
    except (KeyboardInterrupt, SystemExit):
        # What the signal became on its way out (a command line library may have made Ctrl-C's
        # exception an exit of its own) gives way to the signal's exit code; without a signal
        # (code raising KeyboardInterrupt, or exiting) it is left as it is.
        if not received:
            raise
    finally:
        _state.pending = None
        for s, old in previous.items():
            signal.signal(s, old if old is not None else signal.SIG_DFL)
    if received:
        if sys.stderr is not None:
            # After SIGHUP the terminal may be gone: the exit code still tells.
            with contextlib.suppress(OSError, ValueError):
                print(f"interrupted by {signal.Signals(received[0]).name}", file=sys.stderr)
                sys.stderr.flush()
        raise SystemExit(128 + received[0])
