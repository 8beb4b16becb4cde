"""The errors pipedsl reports to its users.

Every error a user can cause derives from :class:`PipedslError`; the CLI prints those as a readable
block and exits non-zero. Any other exception is a bug in pipedsl and keeps its traceback.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs


class PipedslError(Exception):
    """Root of every error pipedsl reports to a user."""


@attrs.frozen
class Problem:
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


class SyncError(PipedslError):
    """Registering jobs on Jenkins failed; names the job where one is concerned."""

    def __init__(self, message: str, job: str | None = None) -> None:
        self.job = job
        super().__init__(f"{job}: {message}" if job else message)
