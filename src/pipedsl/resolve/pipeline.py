"""The pipeline a component's Jenkinsfile runs: deploy steps resolved against the rendered
manifests, an inline job's checkout by URL, each image's reference fixed once per build in the
environment, and the notification policies added to the ``post`` blocks. Pure model to model."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import attrs

from pipedsl.model.infra import Image
from pipedsl.model.k8s.runtime import Runtime
from pipedsl.model.pipeline import Pipeline
from pipedsl.model.project import Component, Project
from pipedsl.model.steps import Checkout, Git, Step
from pipedsl.model.validate import component_images
from pipedsl.model.values import GString
from pipedsl.resolve.deploy import deploy_step_change
from pipedsl.resolve.gates import with_gates
from pipedsl.resolve.notify import with_notifications


def final_pipeline(
    project: Project,
    component: Component,
    runtimes: Sequence[tuple[str | None, Runtime]] | None = None,
) -> Pipeline:
    """The pipeline exactly as its Jenkinsfile runs it: deploy steps resolved against the
    rendered manifests, an inline job's checkout by URL, image variables and notifications.
    ``runtimes``: the component's ``rendered_runtimes``, when the caller (render, which writes
    their manifests) has them already."""
    component = with_gates(project, component)
    # Both changes in one walk over the pipeline: the deploy steps made are no checkouts, and
    # neither change makes nested steps the other would change.
    changes = [
        change
        for change in (
            deploy_step_change(project, component, runtimes),
            _checkout_change(project, component)
            if project.jenkins.definition == "inline"
            else None,
        )
        if change is not None
    ]
    if changes:
        first, *rest = changes

        def change(step: Step) -> Step:
            step = first(step)
            for then in rest:
                step = then(step)
            return step

        component = attrs.evolve(component, pipeline=component.pipeline.map_steps(change))
    return effective_pipeline(component)


def effective_pipeline(component: Component) -> Pipeline:
    """The pipeline as it will run: image references fixed once in the environment, and the
    component's notification policies added to the ``post`` blocks."""
    pipeline = component.pipeline
    images = component_images(component)
    image_env = image_environment(images)
    if image_env:
        pipeline = attrs.evolve(pipeline, environment={**image_env, **dict(pipeline.environment)})
    image = component.image.var if component.image is not None else None
    return with_notifications(pipeline, component.notify, image)


def image_environment(images: list[Image]) -> dict[str, GString]:
    """The pipeline environment entries that fix each image's reference once per build."""
    return {image.var: image.reference() for image in images}


def checkout_by_url(project: Project, component: Component) -> Component:
    """An inline job has no SCM, so ``checkout scm`` would fail in it: check out the project's
    repository and branch by URL instead."""
    return attrs.evolve(
        component, pipeline=component.pipeline.map_steps(_checkout_change(project, component))
    )


def _checkout_change(project: Project, component: Component) -> Callable[[Step], Step]:
    git = _git(
        project.repository, project.branch_of(component), project.jenkins.checkout_credentials
    )

    def change(step: Step) -> Step:
        return git if isinstance(step, Checkout) else step

    return change


@functools.lru_cache(maxsize=64)
def _git(repository: str, branch: str, credentials: str | None) -> Git:
    return Git(repository, branch, credentials=credentials)
