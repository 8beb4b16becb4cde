"""A component's pipeline to its declarative Jenkinsfile."""

from __future__ import annotations

import functools
import re
from pathlib import Path

import attrs
import jinja2

from pipedsl.errors import RenderError
from pipedsl.k8s.deploy import resolve_deploy_steps
from pipedsl.model.notify import with_notifications
from pipedsl.model.pipeline import Pipeline, Post
from pipedsl.model.project import Component, Project
from pipedsl.model.steps import Checkout, Git, Step
from pipedsl.model.validate import component_images
from pipedsl.render import groovy, lower
from pipedsl.render.escape import GroovyCode
from pipedsl.render.templating import groovy_environment


def effective_pipeline(component: Component) -> Pipeline:
    """The pipeline as it will run: image references fixed once in the environment, and the
    component's notification policies added to the ``post`` blocks."""
    pipeline = component.pipeline
    images = component_images(component)
    image_env = lower.image_environment(images)
    if image_env:
        pipeline = attrs.evolve(pipeline, environment={**image_env, **dict(pipeline.environment)})
    return with_notifications(pipeline, component.notify)


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

    def step(self, step: Step) -> GroovyCode:
        code = self.memo.get(step)
        if code is None:
            code = self.memo[step] = self._render(step)
        return code

    def _render(self, step: Step) -> GroovyCode:
        primitive = lower.lower(step)
        name = _template_name(primitive)
        try:
            template = self.env.get_template(name)
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
                text = self.env.get_template("jenkinsfile/post.groovy.j2").render(
                    post=post, steps=self.steps
                )
                code = GroovyCode("\n" + groovy.indent(GroovyCode(text.rstrip("\n")), width))
            else:
                code = GroovyCode("")
            self.posts[key] = code
        return code


def final_pipeline(project: Project, component: Component) -> Pipeline:
    """The pipeline exactly as its Jenkinsfile runs it: deploy steps resolved against the
    rendered manifests, an inline job's checkout by URL, image variables and notifications."""
    component = resolve_deploy_steps(project, component)
    if project.jenkins.definition == "inline":
        component = checkout_by_url(project, component)
    return effective_pipeline(component)


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
    text = env.get_template("jenkinsfile/Jenkinsfile.groovy.j2").render(
        header=header(project, component),
        project=project,
        component=component,
        pipeline=pipeline if pipeline is not None else final_pipeline(project, component),
        steps=writer.steps,
        post=writer.post,
    )
    return groovy.finish(text)


def step_writer(template_dirs: tuple[Path, ...] = ()) -> _StepWriter:
    """A step renderer to share between the Jenkinsfiles of one render."""
    return _StepWriter(groovy_environment(template_dirs))


def checkout_by_url(project: Project, component: Component) -> Component:
    """An inline job has no SCM, so ``checkout scm`` would fail in it: check out the project's
    repository and branch by URL instead."""
    git = _git(project.repository, project.branch, project.jenkins.checkout_credentials)

    def change(step: Step) -> Step:
        return git if isinstance(step, Checkout) else step

    return attrs.evolve(component, pipeline=component.pipeline.map_steps(change))


@functools.lru_cache(maxsize=64)
def _git(repository: str, branch: str, credentials: str | None) -> Git:
    return Git(repository, branch, credentials=credentials)


def header(project: Project, component: Component) -> str:
    source = project.source or "a Python project description"
    return (
        f"Generated by pipedsl from {source} (project {project.name}, component "
        f"{component.name}).\nDo not edit: change the project file and run `pipedsl render`."
    )
