"""A component's pipeline to its declarative Jenkinsfile."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import attrs
import jinja2

from pipedsl.errors import RenderError
from pipedsl.model.agents import Agent
from pipedsl.model.pipeline import Pipeline, Post, Stage, When
from pipedsl.model.project import Component, Project
from pipedsl.model.steps import Step
from pipedsl.record import Record
from pipedsl.render import groovy, lower
from pipedsl.render.agents import pod_yaml
from pipedsl.render.escape import GroovyCode
from pipedsl.render.templating import groovy_environment
from pipedsl.resolve import final_pipeline


def _template_name(step: Step) -> str:
    snake = re.sub(r"(?<!^)(?=[A-Z])", "_", type(step).__name__).lower()
    return f"jenkinsfile/steps/{snake}.groovy.j2"


class _StepWriter:
    def __init__(self, env: jinja2.Environment) -> None:
        self.env = env
        # Steps are frozen values and repeat a lot (the same notification in every stage's
        # post, the same commands across components): each distinct one is rendered once.
        self.memo: dict[Step, GroovyCode] = {}
        self.blocks: dict[tuple[tuple[Step, ...], int], GroovyCode] = {}
        self.posts: dict[tuple[Post, int], GroovyCode] = {}
        self.agents: dict[tuple[Agent, int], GroovyCode] = {}
        # The environment's own lookup makes a weak reference and takes a lock on each call;
        # its templates never change during a render (no auto_reload).
        self.templates: dict[str, jinja2.Template] = {}

    def template(self, name: str) -> jinja2.Template:
        """The environment's template ``name`` (``jinja2.TemplateNotFound`` if none)."""
        template = self.templates.get(name)
        if template is None:
            template = self.templates[name] = self.env.get_template(name)
        return template

    def step(self, step: Step) -> GroovyCode:
        code = self.memo.get(step)
        if code is None:
            code = self.memo[step] = self._render(step)
        return code

    def _render(self, step: Step) -> GroovyCode:
        primitive = lower.lower(step)
        name = _template_name(primitive)
        try:
            template = self.template(name)
        except jinja2.TemplateNotFound:
            raise RenderError(
                f"no template {name} for the step {type(primitive).__name__}; add one to a "
                "template folder"
            ) from None
        return GroovyCode(template.render(step=primitive, body=self.body).rstrip("\n"))

    def steps(self, steps: tuple[Step, ...], width: int) -> GroovyCode:
        key = (steps, width)
        code = self.blocks.get(key)
        if code is None:
            code = self.blocks[key] = groovy.indent(
                GroovyCode("\n".join(self.step(s) for s in steps)), width
            )
        return code

    def body(self, steps: tuple[Step, ...]) -> GroovyCode:
        return self.steps(steps, 4)

    def post(self, post: Post, width: int) -> GroovyCode:
        """A newline and a ``post`` block indented by ``width`` (nothing for an empty one);
        the same block recurs in every stage, so each distinct one is rendered once."""
        key = (post, width)
        code = self.posts.get(key)
        if code is None:
            if post.conditions():
                text = self.template("jenkinsfile/post.groovy.j2").render(
                    post=post, steps=self.steps
                )
                code = GroovyCode("\n" + groovy.indent(GroovyCode(text.rstrip("\n")), width))
            else:
                code = GroovyCode("")
            self.posts[key] = code
        return code

    def agent(self, agent: Agent, width: int) -> GroovyCode:
        """An ``agent`` directive indented by ``width`` (its first line not indented)."""
        key = (agent, width)
        code = self.agents.get(key)
        if code is None:
            text = self.template("jenkinsfile/agent.groovy.j2").render(
                agent=agent, pod_yaml=pod_yaml
            )
            code = self.agents[key] = GroovyCode(
                groovy.indent(GroovyCode(text.rstrip("\n")), width).lstrip(" ")
            )
        return code

    def conditions(self, when: When, width: int) -> GroovyCode:
        """The conditions of a ``when`` (nested ``anyOf``/``allOf``/``not`` included), indented
        by ``width``."""
        text = self.template("jenkinsfile/when.groovy.j2").render(
            when=when, conditions=self.conditions
        )
        return groovy.indent(GroovyCode(text.rstrip("\n")), width)

    def stages(self, stages: Sequence[Stage], width: int) -> GroovyCode:
        """``stage`` blocks, one after the other, indented by ``width`` (one render for all)."""
        text = self.template("jenkinsfile/stages.groovy.j2").render(
            stages=stages,
            steps=self.steps,
            post=self.post,
            conditions=self.conditions,
            stage_list=self.stages,
            agent=self.agent,
        )
        return groovy.indent(GroovyCode(text.rstrip("\n")), width)


@attrs.frozen(eq=False, repr=False)
class Segment(Record):
    """Stages run on one agent (``gate`` is None) or an approval stage run on none."""

    name: str
    stages: tuple[Stage, ...] = ()
    gate: Stage | None = None


def segments(pipeline: Pipeline) -> list[Segment] | None:
    """For a pipeline with approval stages: its stages grouped into runs on one agent each,
    between the approvals, which run on no agent (so waiting holds no executor). Each group
    is named after its first and last stages (``Run: Checkout .. Deploy staging``). None for a
    pipeline without approvals."""
    if not any(s.approval is not None for s in pipeline.stages):
        return None
    found: list[Segment] = []
    run: list[Stage] = []

    def close() -> None:
        if run:
            # Unique: stage names may not repeat, and no stage of the model starts so.
            name = f"Run: {run[0].name}" + (f" .. {run[-1].name}" if len(run) > 1 else "")
            found.append(Segment(name, tuple(run)))
            run.clear()

    for stage in pipeline.stages:
        if stage.approval is not None:
            close()
            found.append(Segment(stage.name, gate=stage))
        else:
            run.append(stage)
    close()
    return found


def render_jenkinsfile(
    project: Project,
    component: Component,
    template_dirs: tuple[Path, ...] = (),
    *,
    pipeline: Pipeline | None = None,
    writer: _StepWriter | None = None,
) -> str:
    """The Jenkinsfile text of ``component``. A render passes the ``pipeline`` it computed with
    :func:`final_pipeline` and one ``writer`` (from :func:`step_writer`) for all components, so
    that nothing is computed twice."""
    env = groovy_environment(template_dirs)
    writer = writer if writer is not None and writer.env is env else _StepWriter(env)
    pipeline = pipeline if pipeline is not None else final_pipeline(project, component)
    text = writer.template("jenkinsfile/Jenkinsfile.groovy.j2").render(
        header=header(project, component),
        project=project,
        component=component,
        pipeline=pipeline,
        steps=writer.steps,
        post=writer.post,
        stage_list=writer.stages,
        agent=writer.agent,
        segments=segments(pipeline),
    )
    return groovy.finish(text)


def step_writer(template_dirs: tuple[Path, ...] = ()) -> _StepWriter:
    """A step renderer to share between the Jenkinsfiles of one render."""
    return _StepWriter(groovy_environment(template_dirs))


def header(project: Project, component: Component) -> str:
    source = project.source or "a Python project description"
    return (
        f"Generated by pipedsl from {source} (project {project.name}, component "
        f"{component.name}).\nDo not edit: change the project file and run `pipedsl render`."
    )
