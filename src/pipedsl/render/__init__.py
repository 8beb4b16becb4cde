"""Rendering: model to artifacts, pure (no files are read or written here)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from pipedsl.errors import ModelError, Problem
from pipedsl.model.project import Project
from pipedsl.model.validate import validate_project
from pipedsl.render.artifacts import Artifact
from pipedsl.render.jenkinsfile import render_jenkinsfile
from pipedsl.render.jobs import render_jobs
from pipedsl.render.templating import template_dirs as _template_dirs

__all__ = ["Artifact", "jenkinsfile_path", "render_project", "render_projects"]


def jenkinsfile_path(project: Project, component_name: str) -> str:
    """Where the Jenkinsfile of a component is written, relative to the output folder."""
    return f"{project.name}/{component_name}/Jenkinsfile"


def render_project(
    project: Project, *, templates: Sequence[Path | str] | None = None
) -> list[Artifact]:
    """Every file of ``project``, in a stable order. Validates the project first.

    ``templates`` are folders whose files override the built-in templates of the same name::

        for artifact in render_project(load_project("projects/lat32t.py")):
            print(artifact.path)
    """
    validate_project(project)
    dirs = _template_dirs(templates)
    artifacts = [
        Artifact(
            jenkinsfile_path(project, c.name), render_jenkinsfile(project, c, dirs), "jenkinsfile"
        )
        for c in project.components
    ]
    artifacts += render_jobs(project, {a.path: a.text for a in artifacts})
    return sorted(artifacts, key=lambda a: a.path)


def render_projects(
    projects: Iterable[Project], *, templates: Sequence[Path | str] | None = None
) -> list[Artifact]:
    """The artifacts of several projects; their names (hence folders) must differ."""
    seen: dict[str, str | None] = {}
    artifacts: list[Artifact] = []
    problems: list[Problem] = []
    for project in projects:
        if project.name in seen:
            problems.append(
                Problem(
                    f"project {project.name!r}",
                    f"defined by both {seen[project.name]} and {project.source}; project names must differ",
                )
            )
            continue
        seen[project.name] = project.source
        try:
            artifacts += render_project(project, templates=templates)
        except ModelError as exc:
            where = project.source or project.name
            problems += [
                Problem(f"{where}: {p.path}" if p.path else where, p.message) for p in exc.problems
            ]
    if problems:
        raise ModelError(problems)
    return sorted(artifacts, key=lambda a: a.path)
