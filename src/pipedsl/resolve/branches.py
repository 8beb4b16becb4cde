"""Multibranch jobs: what only the deploy branch may do (pure).

In a multibranch job every branch and pull request builds the same Jenkinsfile. Building and
testing them all is the point; pushing their images, waiting for an approval or deploying is
not: a pull request must never overwrite what the deploy branch deployed. So every stage (the
innermost one, for nested stages) that pushes, ships or deploys something, or waits for an
approval, runs only when the build is for the component's deploy branch — unless its ``when``
already says which builds it runs for (a ``branch``, ``tag`` or ``change_request`` of its own:
the project's author decided; one only inside ``not_`` or ``any_of`` limits nothing, so the
deploy branch is still added). The condition is decided before the stage's agent is allocated
(unless an expression of the author's may need the workspace) and before an approval asks
anyone. A push or deploy in a ``post`` block is refused: a ``post`` block has no ``when``.
"""

from __future__ import annotations

import attrs

from pipedsl.errors import ModelError
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
from pipedsl.model.validate import walk_steps
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
        if any(isinstance(step, RELEASE_STEPS) for _, step in walk_steps(inner.steps, "")):
            return True
    return False


def _released_in_post(component: Component) -> str | None:
    """The place of a push, ship or deploy step in a ``post`` block, if any (a ``post`` block
    has no ``when``: it would run for every branch and pull request)."""
    places = [("post", component.pipeline.post)]
    places += [(f"{where}.post", stage.post) for where, stage in component.pipeline.walk_stages()]
    for where, post in places:
        for condition, steps in post.conditions():
            for place, step in walk_steps(steps, f"{where}.{condition}"):
                if isinstance(step, RELEASE_STEPS):
                    return f"components[{component.name}].pipeline.{place}"
    return None


def _decided(when: When) -> bool:
    """Whether ``when`` itself limits the builds a stage runs for to branches, tags or pull
    requests (all its conditions must hold: a ``branch``, ``tag`` or ``change_request`` of its
    own does; one inside ``not_`` or ``any_of`` does not)."""
    return when.branch is not None or when.tag is not None or when.change_request is not False


def on_deploy_branch(project: Project, component: Component) -> Component:
    """``component`` with its releasing stages limited to its deploy branch in a multibranch
    job (see the module docstring); unchanged for other jobs."""
    if not project.jenkins.multibranch:
        return component
    in_post = _released_in_post(component)
    if in_post is not None:
        raise ModelError(
            f"{in_post}: a push, ship or deploy in a post block would run for every branch and "
            "pull request of a multibranch job; put it in a stage (only the deploy branch runs "
            "those)"
        )
    branch = project.branch_of(component)
    stages = tuple(_limited(stage, branch) for stage in component.pipeline.stages)
    if all(a is b for a, b in zip(stages, component.pipeline.stages, strict=True)):
        return component
    return attrs.evolve(component, pipeline=attrs.evolve(component.pipeline, stages=stages))


def _limited(stage: Stage, branch: str) -> Stage:
    if not releases(stage):
        return stage
    if stage.substages and (stage.when is None or not _decided(stage.when)):
        # Only the nested stages that release are limited: the others build and test every
        # branch and pull request.
        return stage.with_substages(_limited(inner, branch) for inner in stage.substages)
    when = stage.when
    if when is None:
        when = When(branch=branch, before_agent=True, before_input=stage.approval is not None)
    elif not _decided(when):
        # Added to the author's conditions (all must hold). Decided before the agent starts
        # unless an expression may need the workspace.
        when = attrs.evolve(
            when,
            branch=branch,
            before_agent=when.before_agent or not _has_expression(when),
            before_input=stage.approval is not None,
        )
    else:
        return stage  # its author said which builds it runs for
    return attrs.evolve(stage, when=when)


def _has_expression(when: When) -> bool:
    nested = [*when.any_of, *when.all_of, *([when.not_] if when.not_ is not None else [])]
    return when.expression is not None or any(_has_expression(inner) for inner in nested)
