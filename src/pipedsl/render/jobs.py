"""The Jenkins side of a project's artifacts: one config.xml per job and the setup files."""

from __future__ import annotations

from collections.abc import Iterable

from pipedsl.jenkins.configxml import render_job_config
from pipedsl.jenkins.setup import primitive_steps, render_casc, render_plugins, render_setup_notes
from pipedsl.model.pipeline import Pipeline
from pipedsl.model.project import Project
from pipedsl.render.artifacts import Artifact


def job_config_path(project: Project, component_name: str) -> str:
    return f"{project.name}/{component_name}/config.xml"


def render_jobs(
    project: Project, jenkinsfiles: dict[str, str], pipelines: Iterable[Pipeline]
) -> list[Artifact]:
    """config.xml of each component's job (its Jenkinsfile from ``jenkinsfiles``, by artifact
    path), plus ``jenkins/plugins.txt``, ``jenkins/jenkins.yaml`` and ``jenkins/SETUP.md``
    (from the final ``pipelines`` of the components)."""
    artifacts = []
    for component in project.components:
        path = f"{project.name}/{component.name}/Jenkinsfile"
        if path not in jenkinsfiles:
            continue
        script_path = f"{project.generated_dir.rstrip('/')}/{path}"
        config = render_job_config(
            project, component, project.jenkins, jenkinsfiles[path], script_path
        )
        artifacts.append(Artifact(job_config_path(project, component.name), config, "job"))
    steps = primitive_steps(pipelines)
    artifacts += [
        Artifact(f"{project.name}/jenkins/plugins.txt", render_plugins(project, steps), "setup"),
        Artifact(f"{project.name}/jenkins/jenkins.yaml", render_casc(project, steps), "setup"),
        Artifact(f"{project.name}/jenkins/SETUP.md", render_setup_notes(project), "setup"),
    ]
    return artifacts
