"""Approval gates: what a pipeline with a stage-level approval needs to wait without holding an
executor or blocking later builds (pure).

A stage with an :class:`~pipedsl.Approval` runs on no agent; the stages around it run on
agents of their own (the Jenkinsfile groups them: see ``render/jenkinsfile.py``), so a stage
after a gate may run in another workspace. So:

- the component's rendered manifests are stashed before the first gate and unstashed by the
  first stage after each gate: what a later environment deploys is exactly what this build
  rendered, never a newer checkout;
- builds may overlap (``disableConcurrentBuilds`` would make the next build wait for the
  approval); instead every stage from the first deploy on starts with a ``milestone``, so deploys
  happen in build order, and a newer build that passes a gate aborts an older one still
  waiting there.
"""

from __future__ import annotations

import attrs

from pipedsl.model.deploy import DeployManifests
from pipedsl.model.pipeline import Pipeline, Stage
from pipedsl.model.project import Component, Project
from pipedsl.model.steps import ApplyManifests, Milestone, ShipManifests, Stash, Unstash
from pipedsl.resolve.layout import manifest_dir

STASH = "pipedsl_manifests"
DEPLOY_STEPS = (DeployManifests, ShipManifests, ApplyManifests)


def has_gates(pipeline: Pipeline) -> bool:
    return any(stage.approval is not None for stage in pipeline.stages)


def with_gates(project: Project, component: Component) -> Component:
    """``component`` with its pipeline made ready for its approval gates (see the module
    docstring); unchanged without gates."""
    pipeline = component.pipeline
    if not has_gates(pipeline):
        return component
    stages = pipeline.stages
    first_gate = next(i for i, s in enumerate(stages) if s.approval is not None)
    deploys = [
        i
        for i, s in enumerate(stages)
        if any(
            isinstance(step, DEPLOY_STEPS)
            for step in (*s.steps, *(x for branch in s.parallel for x in branch.steps))
        )
    ]
    first_deploy = min([first_gate, *deploys])
    folder = project.repository_path(manifest_dir(project, component.name))
    keeps = component.runtime is not None
    ordered: list[Stage] = []
    ordinal = 0
    after_gate = False
    for index, stage in enumerate(stages):
        if index == first_gate and index > 0 and keeps:
            ordered.append(Stage("Stash Manifests", [Stash(STASH, [f"{folder}/**"])]))
        steps = stage.steps
        if after_gate and stage.approval is None and keeps:
            steps = (Unstash(STASH), *steps)
            after_gate = False
        if index >= first_deploy:
            ordinal += 1
            steps = (Milestone(ordinal, stage.name), *steps)
        after_gate = after_gate or stage.approval is not None
        ordered.append(attrs.evolve(stage, steps=steps) if steps != stage.steps else stage)
    options = attrs.evolve(pipeline.options, disable_concurrent_builds=False)
    return attrs.evolve(component, pipeline=attrs.evolve(pipeline, stages=ordered, options=options))
