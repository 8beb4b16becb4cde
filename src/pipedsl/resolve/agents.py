"""Steps made to fit the agent their stage runs on (pure).

- On a Kubernetes pod agent with a BuildKit builder, ``DockerBuild`` and ``DockerPush`` run
  in the builder's container (:class:`~pipedsl.model.steps.BuildkitImage`); without one they
  are refused: a pod has no Docker daemon, and mounting the host's ``docker.sock`` would give
  every build root on the node.
- In a Docker container agent there is no Docker daemon either: image steps are refused.
- With a pod's ``default_container``, checkouts still run in the agent's own container
  (which has ``git``; the image of a build container need not).
- ``InContainer`` names a container of the pod the stage runs in.
"""

from __future__ import annotations

import attrs

from pipedsl.errors import ModelError
from pipedsl.model.agents import AGENT_CONTAINER, Agent
from pipedsl.model.infra import EcrRegistry, Image
from pipedsl.model.pipeline import Pipeline, Stage
from pipedsl.model.project import Component
from pipedsl.model.steps import (
    BuildkitImage,
    Checkout,
    DockerBuild,
    DockerPush,
    Git,
    InContainer,
    Step,
)


def for_agents(component: Component) -> Component:
    """``component`` with its steps fitted to the agents their stages run on (see the module
    docstring); unchanged when every stage runs on a plain agent."""
    pipeline = component.pipeline
    if not _special(pipeline):
        return component
    builds = {step.image: step for step in pipeline.all_steps() if isinstance(step, DockerBuild)}
    where = f"components[{component.name}].pipeline"
    if pipeline.agent.is_none and any(s.approval is not None for s in pipeline.stages):
        raise ModelError(
            f"{where}.agent: a pipeline with approval stages runs the stages between them on "
            "its own agent (so the wait holds none); give the pipeline an agent, not "
            "Agent.none()"
        )
    if pipeline.agent.is_none and pipeline.tools.items():
        raise ModelError(
            f"{where}.tools: tools are installed on the pipeline's agent; with Agent.none() "
            "there is none (use images that have the tools, or a pipeline agent)"
        )
    stages = tuple(
        _stage(stage, pipeline.agent, builds, f"{where}.stages[{index}]")
        for index, stage in enumerate(pipeline.stages)
    )
    return attrs.evolve(component, pipeline=attrs.evolve(pipeline, stages=stages))


def _special(pipeline: Pipeline) -> bool:
    """Whether any stage runs on more than a plain agent or names a container."""
    return (
        pipeline.agent.kind in ("kubernetes", "docker", "none")
        or any(
            stage.agent is not None or stage.container is not None
            for _, stage in pipeline.walk_stages()
        )
        or any(isinstance(step, InContainer) for step in pipeline.all_steps())
    )


def _stage(stage: Stage, agent: Agent, builds: dict[Image, DockerBuild], path: str) -> Stage:
    agent = stage.agent if stage.agent is not None else agent
    if stage.substages:
        kind = "parallel" if stage.parallel else "stages"
        return stage.with_substages(
            _stage(inner, agent, builds, f"{path}.{kind}[{index}]")
            for index, inner in enumerate(stage.substages)
        )
    if agent.is_none and stage.approval is None:
        raise ModelError(
            f"{path}: stage {stage.name!r} runs on no agent (the pipeline's agent is "
            "Agent.none()); give it one with Stage(agent=...)"
        )
    steps = tuple(
        _step(step, agent, builds, f"{path}.steps[{index}]")
        for index, step in enumerate(stage.steps)
    )
    if stage.container is not None:
        # As if its steps were written inside InContainer(container, [...]).
        _in_container(stage.container, agent, f"{path}.container")
        steps = (InContainer(stage.container, steps),)
    return stage if steps == stage.steps else attrs.evolve(stage, steps=steps)


def _in_container(name: str, agent: Agent, path: str) -> None:
    """Refuse a container the stage's agent does not have."""
    if agent.pod is None:
        raise ModelError(
            f"{path}: container {name!r} needs a Kubernetes pod agent; this stage runs on "
            f"{agent.kind!r}"
        )
    if name not in agent.pod.container_names():
        raise ModelError(
            f"{path}: the stage's pod has no container {name!r}; it has "
            f"{agent.pod.container_names()}"
        )


def _step(step: Step, agent: Agent, builds: dict[Image, DockerBuild], path: str) -> Step:
    if step.children:
        children = tuple(
            _step(child, agent, builds, f"{path}.steps[{index}]")
            for index, child in enumerate(step.children)
        )
        if children != step.children:
            step = step.with_children(children)
    pod = agent.pod
    if isinstance(step, InContainer):
        _in_container(step.name, agent, path)
        return step
    if isinstance(step, DockerBuild | DockerPush):
        if agent.docker_agent is not None:
            raise ModelError(
                f"{path}: {type(step).__name__} in a stage that runs in a Docker container: "
                "there is no Docker daemon inside it (and mounting the host's docker.sock "
                "would give the build root on the host); build on the agent itself or on a "
                "Kubernetes pod agent with builder=BuildKit()"
            )
        if pod is None:
            return step
        if pod.builder is None:
            raise ModelError(
                f"{path}: {type(step).__name__} on a Kubernetes pod agent needs a daemonless "
                "builder: Agent.kubernetes(..., builder=BuildKit()) (a pod has no Docker "
                "daemon, and mounting the host's docker.sock would give every build root on "
                "the node)"
            )
        if isinstance(step.image.repository.registry, EcrRegistry):
            raise ModelError(
                f"{path}: pushing to Amazon ECR with the BuildKit builder is not supported "
                "(its login needs the AWS CLI in the builder); push from an agent with Docker"
            )
        if isinstance(step, DockerBuild):
            return BuildkitImage(step, container=pod.builder.name)
        return BuildkitImage(builds[step.image], step, container=pod.builder.name)
    if (
        isinstance(step, Checkout | Git)
        and pod is not None
        and pod.default_container not in (None, AGENT_CONTAINER)
    ):
        return InContainer(AGENT_CONTAINER, [step])
    return step
