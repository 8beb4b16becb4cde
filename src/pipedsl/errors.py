"""The errors pipedsl reports to its users.

Every error a user can cause derives from :class:`PipedslError`; the CLI prints those as a readable
block and exits non-zero. Any other exception is a bug in pipedsl and keeps its traceback.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import attrs

from pipedsl.record import Record


class PipedslError(Exception):
    """Root of every error pipedsl reports to a user."""


@attrs.frozen(eq=False, repr=False)
class Problem(Record):
    """One thing wrong with a model: where (an object path) and what."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class ModelError(PipedslError):
    """The model is invalid; carries every problem found, each with its object path."""

    def __init__(self, problems: Sequence[Problem] | str) -> None:
        if isinstance(problems, str):
            problems = [Problem("", problems)]
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class ProjectLoadError(PipedslError):
    """A project file could not be loaded: names the file and, where known, the line."""

    def __init__(self, file: str, message: str, line: int | None = None) -> None:
        self.file = file
        self.line = line
        self.detail = message
        where = f"{file}:{line}" if line is not None else file
        super().__init__(f"{where}: {message}")


class RenderError(PipedslError):
    """Rendering or writing the generated files failed."""


class PipedslWarning(UserWarning):
    """Something allowed but risky in a project (a host path volume, ...): shown by
    ``pipedsl render`` and Python's warnings machinery, never an error."""


class SyncError(PipedslError):
    """Registering jobs on Jenkins failed; names the job where one is concerned."""

    def __init__(self, message: str, job: str | None = None) -> None:
        self.job = job
        super().__init__(f"{job}: {message}" if job else message)


def line_in(exc: BaseException, file: str) -> int | None:
    """The last line of ``file`` in the traceback of ``exc``: where the project went wrong.
    ``file`` is an absolute path, or a path's ending (``projects/shop.py``) matched at a
    folder boundary."""
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        try:
            name = str(Path(frame.filename).resolve())
        except (OSError, ValueError, RuntimeError):  # a made-up file name: not the project's
            continue
        if name == file or name.endswith("/" + file.lstrip("/")):
            line = frame.lineno
    return line


MAX_MESSAGE = 2000
"""How much of an exception's message an error shows (a project file's own exceptions may
carry anything)."""

# Control characters would move the cursor or recolour the terminal; a newline or tab stays.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def shown_text(
    show: Callable[[Any], object], value: object, limit: int | None = MAX_MESSAGE
) -> str:
    """``show(value)`` as text fit for the terminal: at most ``limit`` characters, no control
    characters, encodable; a ``__str__`` or ``__repr__`` that raises (or returns no string) is
    said to be so."""
    try:
        text = show(value)
        if not isinstance(text, str):
            raise TypeError(f"not a string: {type(text).__name__}")  # noqa: TRY301
    except KeyboardInterrupt:
        raise
    except BaseException:  # anything a project's own class may raise
        return "<a message that cannot be shown: its __str__ or __repr__ fails>"
    if limit is not None and len(text) > limit:
        text = f"{text[:limit]}... ({len(text)} characters)"
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def describe_exception(exc: BaseException) -> str:
    """``Name: message`` of an exception a project file raised (``Name`` alone without one)."""
    name = shown_text(lambda cls: cls.__name__, type(exc))
    message = shown_text(str, exc)
    return f"{name}: {message}" if message else name
