"""``pipedsl lint``: every rendered Jenkinsfile checked by the team's Jenkins (its declarative
linter, which knows its plugins and tool installations) and, where ``groovy`` is installed,
compiled locally."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from pipedsl.compile import GroovyMissing, compile_jenkinsfiles
from pipedsl.model.project import Project
from pipedsl.render import render_projects

Echo = Callable[..., None]


class Linter(Protocol):
    """A Jenkins that lints: :class:`~pipedsl.jenkins.client.PythonJenkinsClient`."""

    shown_url: str

    def check_access(self) -> str: ...
    def check_jenkinsfile(self, text: str) -> list[str]: ...


def run_lint(
    projects: Sequence[Project],
    *,
    linter: Linter | None,
    local: bool,
    echo: Echo,
    templates: Sequence[Path] | None = None,
) -> int:
    """Lint the projects' Jenkinsfiles; returns the exit code (0 all valid, 1 a Jenkinsfile is
    refused). ``linter`` is None: Jenkins is not asked (``--offline``)."""
    artifacts = render_projects(projects, templates=templates)
    jenkinsfiles = {a.path: a.text for a in artifacts if a.kind == "jenkinsfile"}
    refused: set[str] = set()
    checks: list[str] = []
    if linter is not None:
        linter.check_access()
        checks.append(f"Jenkins' linter at {linter.shown_url}")
        for path, text in jenkinsfiles.items():
            for message in linter.check_jenkinsfile(text):
                refused.add(path)
                echo(f"{path}: Jenkins: {message}", err=True)
    if local:
        try:
            failures = compile_jenkinsfiles(jenkinsfiles)
        except GroovyMissing:
            echo("note: no `groovy` command here: Jenkinsfiles not compiled locally", err=True)
        except (OSError, subprocess.SubprocessError) as error:
            echo(f"note: the local Groovy could not run ({error}): not compiled locally", err=True)
        else:
            checks.append("the local Groovy compiler")
            for path, message in failures.items():
                refused.add(path)
                first = message.strip().splitlines()[0] if message.strip() else "does not compile"
                echo(f"{path}: groovy: {first}", err=True)
    if not checks:
        echo("error: nothing checked the Jenkinsfiles (offline, and no groovy)", err=True)
        return 2
    valid = len(jenkinsfiles) - len(refused)
    echo(f"lint: {valid} of {len(jenkinsfiles)} Jenkinsfile(s) valid ({', '.join(checks)})")
    return 1 if refused else 0
