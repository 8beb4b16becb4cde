"""Approval gates: what a pipeline with a stage-level approval needs to wait without holding an
executor or blocking later builds (pure).

A stage with an :class:`~pipedsl.Approval` runs on no agent; the stages around it run on
agents of their own (the Jenkinsfile groups them: see ``render/jenkinsfile.py``), so a stage
after a gate may run in another workspace. So:

- the component's rendered manifests are stashed before the first gate and unstashed right
  before each deploy after it (in the workspace that deploy runs in): what a later environment
  deploys is exactly what this build rendered, never a newer checkout;
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
from pipedsl.resolve.deploy import rendered_runtimes
from pipedsl.resolve.layout import NOTHING_SHARED, SHARED, Shared, is_shared, manifest_dir

STASH = "pipedsl_manifests"
DEPLOY_STEPS = (DeployManifests, ShipManifests, ApplyManifests)


def has_gates(pipeline: Pipeline) -> bool:
    return any(stage.approval is not None for stage in pipeline.stages)


def with_gates(
    project: Project, component: Component, shared: Shared = NOTHING_SHARED
) -> Component:
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
    patterns = [f"{folder}/**"]
    if any(
        is_shared(shared, environment, obj)
        for environment, runtime in rendered_runtimes(project, component)
        for obj in runtime.objects
    ):
        # The project's shared objects the deploys apply too.
        patterns.append(f"{project.repository_path(manifest_dir(project, SHARED))}/**")
    keeps = component.runtime is not None
    ordered: list[Stage] = []
    ordinal = 0
    for index, given in enumerate(stages):
        stage = given
        if index == first_gate and index > 0 and keeps:
            ordered.append(Stage("Stash Manifests", [Stash(STASH, patterns)]))
        if index > first_gate and keeps:
            # Right before each deploy, in the workspace that deploy runs in (a stage may run
            # on an agent of its own): the manifests this build stashed, never a newer checkout.
            stage = _unstashed_before_deploys(stage)
        if index < first_deploy:
            ordered.append(stage)
            continue
        ordinal += 1
        milestone = Milestone(ordinal, stage.name)
        if stage.parallel:
            # Parallel branches start together: the milestone passes in a stage before them.
            ordered.append(Stage(f"Before {stage.name}", [milestone], when=stage.when))
            ordered.append(stage)
        else:
            ordered.append(_starting_with(stage, (milestone,)))
    options = attrs.evolve(pipeline.options, disable_concurrent_builds=False)
    return attrs.evolve(component, pipeline=attrs.evolve(pipeline, stages=ordered, options=options))


def _unstashed_before_deploys(stage: Stage) -> Stage:
    """``stage`` with an ``unstash`` of the build's manifests right before each deploy step in
    it (in nested stages and inside ``dir``/``container`` blocks too)."""
    if stage.substages:
        return stage.with_substages(_unstashed_before_deploys(s) for s in stage.substages)
    steps = _unstashed(stage.steps)
    return stage if steps == stage.steps else attrs.evolve(stage, steps=steps)


def _unstashed(steps: tuple[Step, ...]) -> tuple[Step, ...]:
    out: list[Step] = []
    for step in steps:
        if isinstance(step, DEPLOY_STEPS):
            out += [Unstash(STASH), step]
        elif step.children:
            out.append(step.with_children(_unstashed(step.children)))
        else:
            out.append(step)
    return tuple(out)


def _starting_with(stage: Stage, steps: tuple[Step, ...]) -> Stage:
    """``stage`` with ``steps`` run before anything else in it (in its first nested stage when
    it holds sequential stages)."""
    if stage.stages:
        first, *rest = stage.stages
        return attrs.evolve(stage, stages=(_starting_with(first, steps), *rest))
    return attrs.evolve(stage, steps=(*steps, *stage.steps))
