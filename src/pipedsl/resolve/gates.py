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
from pipedsl.model.steps import ApplyManifests, Milestone, ShipManifests, Stash, Step, Unstash
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
        if any(isinstance(step, DEPLOY_STEPS) for _, inner in s.walk("") for step in inner.steps)
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
        first: list[Step] = []
        if index >= first_deploy:
            ordinal += 1
            first.append(Milestone(ordinal, stage.name))
        if after_gate and stage.approval is None and keeps:
            first.append(Unstash(STASH))
            after_gate = False
        after_gate = after_gate or stage.approval is not None
        if not first:
            ordered.append(stage)
        elif stage.parallel:
            # Parallel branches start together: what must come first runs in a stage before.
            ordered.append(Stage(f"Before {stage.name}", first, when=stage.when))
            ordered.append(stage)
        else:
            ordered.append(_starting_with(stage, tuple(first)))
    options = attrs.evolve(pipeline.options, disable_concurrent_builds=False)
    return attrs.evolve(component, pipeline=attrs.evolve(pipeline, stages=ordered, options=options))


def _starting_with(stage: Stage, steps: tuple[Step, ...]) -> Stage:
    """``stage`` with ``steps`` run before anything else in it (in its first nested stage when
    it holds sequential stages)."""
    if stage.stages:
        first, *rest = stage.stages
        return attrs.evolve(stage, stages=(_starting_with(first, steps), *rest))
    return attrs.evolve(stage, steps=(*steps, *stage.steps))
