"""The Jenkins side of a project's artifacts: one config.xml per job and the setup files."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pipedsl.model.k8s.runtime import Runtime
from pipedsl.model.project import Component, Project
from pipedsl.model.steps import Step
from pipedsl.render.artifacts import Artifact
from pipedsl.render.configxml import render_job_config
from pipedsl.render.setup import render_casc, render_plugins, render_setup_notes
from pipedsl.resolve.layout import jenkinsfile_path, job_config_path, setup_path


def render_job(project: Project, component: Component, jenkinsfile: str) -> Artifact:
    """The config.xml of the component's job (``jenkinsfile`` is its rendered Jenkinsfile)."""
    script_path = project.repository_path(jenkinsfile_path(project, component.name))
    config = render_job_config(project, component, project.jenkins, jenkinsfile, script_path)
    return Artifact(job_config_path(project, component.name), config, "job")


def render_setup(
    project: Project,
    steps: list[Step],
    runtimes: Sequence[Runtime] = (),
    *,
    notes: Callable[[], Artifact] | None = None,
) -> list[Artifact]:
    """``jenkins/plugins.txt``, ``jenkins/jenkins.yaml`` and ``jenkins/SETUP.md``, from the
    primitive ``steps`` the components' pipelines run (see ``primitive_steps``) and the
    components' ``runtimes`` as rendered; ``notes`` gives ``SETUP.md`` where it was rendered
    beforehand (by :func:`render_setup_notes_file`, which needs no steps)."""
    return [
        Artifact(setup_path(project, "plugins.txt"), render_plugins(project, steps), "setup"),
        Artifact(setup_path(project, "jenkins.yaml"), render_casc(project, steps), "setup"),
        notes() if notes is not None else render_setup_notes_file(project, runtimes),
    ]


def render_setup_notes_file(project: Project, runtimes: Sequence[Runtime] = ()) -> Artifact:
    """``jenkins/SETUP.md`` (see :func:`render_setup`)."""
    return Artifact(setup_path(project, "SETUP.md"), render_setup_notes(project, runtimes), "setup")
