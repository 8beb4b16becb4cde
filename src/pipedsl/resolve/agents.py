"""Steps made to fit the agent their stage runs on (pure).

- On a Kubernetes pod agent with a BuildKit builder, ``DockerBuild`` and ``DockerPush`` run
  in the builder's container (:class:`~pipedsl.model.steps.BuildkitImage`); without one they
  are refused: a pod has no Docker daemon, and mounting the host's ``docker.sock`` would give
  every build root on the node. The push builds again from the pod's BuildKit cache, so it
  must run in the same pod as the build (the same agent, no approval between them), and the
  build may not read variables (a credential bound around the build would be missing, or
  another bound around the push present, when the push builds again).
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
from pipedsl.model.pipeline import Pipeline, Post, Stage, stage_place
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
    fitter = _Fitter()
    stages = []
    segment = 0
    for index, stage in enumerate(pipeline.stages):
        if stage.approval is not None:
            segment += 1  # the stages after an approval run on a new agent (a new pod)
        stages.append(
            fitter.stage(
                stage,
                pipeline.agent,
                f"pipeline/{segment}",
                f"{where}.{stage_place('stages', index, stage)}",
            )
        )
    post = fitter.post(pipeline.post, pipeline.agent, "pipeline-post", f"{where}.post")
    return attrs.evolve(component, pipeline=attrs.evolve(pipeline, stages=tuple(stages), post=post))


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


class _Fitter:
    """One walk over a pipeline in document order. ``scope`` names the agent instance a step
    runs on (the stage that declared it, or the pipeline's agent between two approvals): a
    BuildKit push must run where its image was built."""

    def __init__(self) -> None:
        self.built: dict[Image, tuple[DockerBuild, str, str]] = {}

    def stage(self, stage: Stage, agent: Agent, scope: str, path: str) -> Stage:
        if stage.agent is not None:
            agent, scope = stage.agent, path
        if stage.substages:
            kind = stage.substage_kind
            inner = stage.with_substages(
                self.stage(sub, agent, scope, f"{path}.{stage_place(kind, index, sub)}")
                for index, sub in enumerate(stage.substages)
            )
            post = self.post(stage.post, agent, scope, f"{path}.post")
            return inner if post is stage.post else attrs.evolve(inner, post=post)
        if agent.is_none and stage.approval is None:
            raise ModelError(
                f"{path}: stage {stage.name!r} runs on no agent (the pipeline's agent is "
                "Agent.none()); give it one with Stage(agent=...)"
            )
        steps = self.steps(stage.steps, agent, scope, f"{path}.steps")
        if stage.container is not None:
            # As if its steps were written inside InContainer(container, [...]).
            _in_container(stage.container, agent, f"{path}.container")
            steps = (InContainer(stage.container, steps),)
        post = self.post(stage.post, agent, scope, f"{path}.post")
        if steps == stage.steps and post is stage.post:
            return stage
        return attrs.evolve(stage, steps=steps, post=post)

    def post(self, post: Post, agent: Agent, scope: str, path: str) -> Post:
        changed = {}
        for condition, steps in post.conditions():
            where = f"{path}.{condition}"
            for index, step in enumerate(steps):
                if isinstance(step, DockerBuild | DockerPush) and agent.kind != "any":
                    raise ModelError(
                        f"{where}[{index}]: {type(step).__name__} in a post block; build and "
                        "push images in a stage"
                    )
            fitted = self.steps(steps, agent, scope, where)
            if fitted != steps:
                changed[condition] = fitted
        return attrs.evolve(post, **changed) if changed else post

    def steps(
        self, steps: tuple[Step, ...], agent: Agent, scope: str, path: str
    ) -> tuple[Step, ...]:
        return tuple(
            self.step(step, agent, scope, f"{path}[{index}]") for index, step in enumerate(steps)
        )

    def step(self, step: Step, agent: Agent, scope: str, path: str) -> Step:
        if step.children:
            children = self.steps(step.children, agent, scope, f"{path}.steps")
            if children != step.children:
                step = step.with_children(children)
        pod = agent.pod
        if isinstance(step, InContainer):
            _in_container(step.name, agent, path)
            return step
        if isinstance(step, DockerBuild | DockerPush):
            return self.image_step(step, agent, scope, path)
        if (
            isinstance(step, Checkout | Git)
            and pod is not None
            and pod.default_container not in (None, AGENT_CONTAINER)
        ):
            return InContainer(AGENT_CONTAINER, [step])
        return step

    def image_step(
        self, step: DockerBuild | DockerPush, agent: Agent, scope: str, path: str
    ) -> Step:
        what = type(step).__name__
        pod = agent.pod
        if agent.docker_agent is not None:
            raise ModelError(
                f"{path}: {what} in a stage that runs in a Docker container: there is no "
                "Docker daemon inside it (and mounting the host's docker.sock would give the "
                "build root on the host); build on the agent itself or on a Kubernetes pod "
                "agent with builder=BuildKit()"
            )
        earlier = self.built.get(step.image)
        if (
            isinstance(step, DockerPush)
            and earlier is not None
            and (pod is None) != (earlier[1] == "docker")
        ):
            raise ModelError(
                f"{path}: DockerPush of {step.image.repository.reference} runs "
                + ("on an agent with Docker" if pod is None else "on a Kubernetes pod")
                + f", but its DockerBuild ({earlier[2]}) "
                + ("ran on a pod's BuildKit" if pod is None else "ran with Docker")
                + ": the image to push is not there; build and push on the same agent"
            )
        if pod is None:
            if isinstance(step, DockerBuild):
                self.built[step.image] = (step, "docker", path)
            return step
        if pod.builder is None:
            raise ModelError(
                f"{path}: {what} on a Kubernetes pod agent needs a daemonless builder: "
                "Agent.kubernetes(..., builder=BuildKit()) (a pod has no Docker daemon, and "
                "mounting the host's docker.sock would give every build root on the node)"
            )
        if isinstance(step.image.repository.registry, EcrRegistry):
            raise ModelError(
                f"{path}: pushing to Amazon ECR with the BuildKit builder is not supported "
                "(its login needs the AWS CLI in the builder); push from an agent with Docker"
            )
        if isinstance(step, DockerBuild):
            variables = [name for name, value in step.build_args if "$" in value]
            if variables:
                raise ModelError(
                    f"{path}.build_args: {variables[0]} reads a variable; with the BuildKit "
                    "builder the push builds the image again, where that variable is not "
                    "what the build saw (pass fixed values)"
                )
            self.built[step.image] = (step, scope, path)
            return BuildkitImage(step, container=pod.builder.name)
        if earlier is None or earlier[1] != scope:
            raise ModelError(
                f"{path}: DockerPush of {step.image.repository.reference} needs its "
                "DockerBuild earlier in the same pod (BuildKit pushes what that pod built; "
                "the push builds again from its cache): "
                + (
                    "there is none before it"
                    if earlier is None
                    else f"it ran in another ({earlier[2]}); build and push on the same pod "
                    "agent, with no approval between them"
                )
            )
        return BuildkitImage(earlier[0], step, container=pod.builder.name)
