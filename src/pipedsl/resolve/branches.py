"""Multibranch jobs: what only the deploy branch may do (pure).

In a multibranch job every branch and pull request builds the same Jenkinsfile. Building and
testing them all is the point; pushing their images, waiting for an approval or deploying is
not: a pull request must never overwrite what the deploy branch deployed. So every top-level
stage (the innermost one, for nested stages) that pushes, ships or deploys something, or waits
for an approval, runs only when the build is for the component's deploy branch — unless its ``when`` already says which branches
it runs for (the project's author decided). The condition is decided before the stage's agent
is allocated and before an approval asks anyone.
"""

from __future__ import annotations

import attrs

from pipedsl.model.deploy import DeployManifests, KubernetesDeploy
from pipedsl.model.pipeline import Stage, When
from pipedsl.model.project import Component, Project
from pipedsl.model.steps import (
    ApplyManifests,
    DockerPush,
    KubectlApply,
    ShipFiles,
    ShipManifests,
    SshPublish,
)
from pipedsl.model.values import GroovyExpr

RELEASE_STEPS = (
    DockerPush,
    ShipFiles,
    SshPublish,
    KubectlApply,
    ShipManifests,
    ApplyManifests,
    DeployManifests,
    KubernetesDeploy,
)
"""Steps that change something outside the build: only the deploy branch runs them."""

BRANCH_TAG = GroovyExpr("env.BRANCH_NAME.replaceAll('[^A-Za-z0-9_.-]', '-')")
"""A multibranch build's branch (or ``PR-12``) as tag characters, for ``{branch}`` in tags."""


def releases(stage: Stage) -> bool:
    """Whether ``stage`` (or a stage in it) pushes, ships or deploys, or waits for approval."""
    for _, inner in stage.walk(""):
        if inner.approval is not None:
            return True
        for step in inner.steps:
            if isinstance(step, RELEASE_STEPS) or any(
                isinstance(child, RELEASE_STEPS) for child in _nested(step.children)
            ):
                return True
    return False


def _nested(steps: tuple[object, ...]) -> list[object]:
    found: list[object] = []
    for step in steps:
        found.append(step)
        children = getattr(step, "children", ())
        if children:
            found += _nested(children)
    return found


def on_deploy_branch(project: Project, component: Component) -> Component:
    """``component`` with its releasing stages limited to its deploy branch in a multibranch
    job (see the module docstring); unchanged for other jobs."""
    if not project.jenkins.multibranch:
        return component
    branch = project.branch_of(component)
    stages = tuple(_limited(stage, branch) for stage in component.pipeline.stages)
    if all(a is b for a, b in zip(stages, component.pipeline.stages, strict=True)):
        return component
    return attrs.evolve(component, pipeline=attrs.evolve(component.pipeline, stages=stages))


def _limited(stage: Stage, branch: str) -> Stage:
    if not releases(stage):
        return stage
    if stage.substages and (
        stage.when is None or next(stage.when.branch_conditions(""), None) is None
    ):
        # Only the nested stages that release are limited: the others build and test every
        # branch and pull request.
        return stage.with_substages(_limited(inner, branch) for inner in stage.substages)
    when = stage.when
    if when is None:
        when = When(branch=branch, before_agent=True, before_input=stage.approval is not None)
    elif next(when.branch_conditions("when"), None) is None:
        when = attrs.evolve(when, branch=branch, before_input=stage.approval is not None)
    else:
        return stage  # its author said which builds it runs for
    return attrs.evolve(stage, when=when)
