"""What an import tells its user: report lines, audit rows, the result, and the refusal."""

from __future__ import annotations

from typing import Literal

import attrs

from pipedsl.errors import PipedslError
from pipedsl.record import Record

Kind = Literal["converted", "raw", "dropped"]
KINDS: tuple[Kind, ...] = ("converted", "raw", "dropped")


class ImportRefused(PipedslError):  # noqa: N818  (the name the CLI and its users know)
    """A Jenkinsfile that cannot be imported at all: a scripted pipeline (``node { }``), text
    that is not a Jenkinsfile, or one that does not parse. The message names the file and
    line and says what is accepted."""


@attrs.frozen(eq=False, repr=False)
class ReportLine(Record):
    """One thing the import changed or could not convert, where it was and why.

    ``kind`` is ``"converted"`` (a defect turned into the safe form), ``"raw"`` (kept as a
    marked raw step) or ``"dropped"`` (left out, e.g. a retyped Slack block replaced by the
    component's notifier)::

        backend.Jenkinsfile:12: converted: docker login -p — ...
    """

    file: str
    line: int
    kind: Kind = attrs.field(validator=attrs.validators.in_(KINDS))
    what: str
    why: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.kind}: {self.what} — {self.why}"


@attrs.frozen(eq=False, repr=False)
class ImportResult(Record):
    """The project file an import wrote (``source``, complete: ``pipedsl render`` accepts it as
    is) and its report, in file and line order."""

    source: str
    report: list[ReportLine]
    shipped: tuple[str, ...] = ()
    """The manifest files (Ant patterns, from the workspace) the imported pipelines ship and
    apply: what ``manifests=`` would turn into typed runtimes."""


@attrs.frozen(eq=False, repr=False)
class AuditRow(Record):
    """How much of one Jenkinsfile converts: its steps, how many became typed steps or part of
    a preset, how many stay raw, and whether the file was refused (``refused`` is then the
    reason and every count is zero)."""

    file: str
    steps: int
    converted: int
    raw: int
    refused: str | None = None

    @property
    def percent(self) -> int:
        """The share of steps that converted, rounded down (0 for a refused or empty file)."""
        if self.refused is not None or self.steps == 0:
            return 0
        return self.converted * 100 // self.steps

    def __str__(self) -> str:
        if self.refused is not None:
            return f"{self.file}: refused: {self.refused}"
        return (
            f"{self.file}: {self.steps} steps, {self.converted} converted, "
            f"{self.raw} raw ({self.percent} %)"
        )
