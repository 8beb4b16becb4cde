"""The pipeline a component's Jenkinsfile runs: deploy steps resolved against the rendered
manifests, an inline job's checkout by URL, each image's reference fixed once per build in the
environment, and the notification policies added to the ``post`` blocks. Pure model to model."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import attrs

from pipedsl.errors import ModelError
from pipedsl.model.infra import Image
from pipedsl.model.k8s.runtime import Runtime
from pipedsl.model.notify import COMMIT_VAR
from pipedsl.model.pipeline import Pipeline, Stage, stage_place
from pipedsl.model.project import Component, Project
from pipedsl.model.steps import Checkout, FixImages, Git, Step
from pipedsl.model.validate import component_images, walk_steps
from pipedsl.model.values import GroovyExpr, GString
from pipedsl.resolve.agents import for_agents
from pipedsl.resolve.branches import BRANCH_TAG, on_deploy_branch
from pipedsl.resolve.deploy import deploy_step_change, shared_objects
from pipedsl.resolve.gates import with_gates
from pipedsl.resolve.layout import NOTHING_SHARED, Shared
from pipedsl.resolve.notify import with_notifications


def final_pipeline(
    project: Project,
    component: Component,
    runtimes: Sequence[tuple[str | None, Runtime]] | None = None,
    shared: Shared | None = None,
) -> Pipeline:
    """The pipeline exactly as its Jenkinsfile runs it: deploy steps resolved against the
    rendered manifests, an inline job's checkout by URL, image variables and notifications.
    ``runtimes``: the component's ``rendered_runtimes``, when the caller (render, which writes
    their manifests) has them already, and ``shared``: the project's ``shared_objects``."""
    if shared is None and component.runtime is not None:
        given = {component.name: list(runtimes)} if runtimes is not None else None
        shared = shared_objects(project, given)
    component = with_gates(
        project, for_agents(on_deploy_branch(project, component)), shared or NOTHING_SHARED
    )
    # Both changes in one walk over the pipeline: the deploy steps made are no checkouts, and
    # neither change makes nested steps the other would change.
    changes = [
        change
        for change in (
            deploy_step_change(project, component, runtimes, shared),
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
    branch = BRANCH_TAG if project.jenkins.multibranch else project.branch_of(component)
    return effective_pipeline(component, branch)


def effective_pipeline(component: Component, branch: str | GroovyExpr | None = None) -> Pipeline:
    """The pipeline as it will run: image references fixed once per build (in the environment,
    or right after the checkout for tags that need the commit or the clock), and the
    component's notification policies added to the ``post`` blocks. ``branch`` is the branch
    the job builds (for tags with ``{branch}``; an expression in a multibranch job)."""
    pipeline = component.pipeline
    images = component_images(component)
    image_env = image_environment([i for i in images if i.fixed_at_start], branch)
    if image_env:
        pipeline = attrs.evolve(pipeline, environment={**image_env, **dict(pipeline.environment)})
    later = [i for i in images if not i.fixed_at_start]
    commit_var = COMMIT_VAR if any(n.uses("commit") for n in component.notify) else None
    if later or commit_var is not None:
        tagged_by_commit = any("commit" in i.placeholders for i in later)
        step = attrs.evolve(
            fix_images(later, branch),
            commit=tagged_by_commit or commit_var is not None,
            commit_var=commit_var,
        )
        if tagged_by_commit or later or _has_checkout(pipeline):
            pipeline = _with_step_after_checkout(
                pipeline, step, f"components[{component.name}]", needs_checkout=tagged_by_commit
            )
    image = component.image.var if component.image is not None else None
    return with_notifications(pipeline, component.notify, image)


def image_environment(
    images: list[Image], branch: str | GroovyExpr | None = None
) -> dict[str, GString]:
    """The pipeline environment entries that fix each image's reference once per build."""
    return {image.var: image.reference(branch) for image in images}


def fix_images(images: list[Image], branch: str | GroovyExpr | None) -> FixImages:
    """The step that fixes the references of ``images`` once the build has checked out."""
    used = frozenset[str]().union(*(image.placeholders for image in images))
    return FixImages(
        tuple((image.var, image.reference(branch)) for image in images),
        commit="commit" in used,
        clock=bool(used & {"date", "time"}),
    )


def _has_checkout(pipeline: Pipeline) -> bool:
    return any(isinstance(step, Checkout | Git) for step in pipeline.all_steps())


def _with_step_after_checkout(
    pipeline: Pipeline, step: Step, where: str, *, needs_checkout: bool
) -> Pipeline:
    """``pipeline`` with ``step`` right after its first checkout (in document order, nested
    steps included), or, when it needs no commit and there is no checkout, first in the first
    stage that has steps. Refused where that stage may not run (a ``when``, parallel stages):
    every later step reads what ``step`` sets."""
    leaves = [(path, s) for path, s in pipeline.walk_stages() if s.steps]
    target = next(
        (path for path, s in leaves if any(_is_checkout(x) for _, x in walk_steps(s.steps, ""))),
        None,
    )
    if target is None and needs_checkout:
        raise ModelError(
            f"{where}: an image tag with {{commit}} needs the commit checked out first, but the "
            "pipeline's stages have no Checkout or Git step"
        )
    place = target if target is not None else leaves[0][0]
    unsure = [
        (path, "has a when" if s.when is not None else "runs it in parallel")
        for path, s in pipeline.walk_stages()
        if (place == path or place.startswith(path + ".")) and (s.when is not None or s.parallel)
    ]
    if unsure:
        (path, why), *_ = unsure
        problem = (
            f"{place} checks out first, but {path} {why}"
            if target is not None
            else f"the first stage with steps, {place}, may not run ({path})"
        )
        raise ModelError(
            f"{where}: the image reference is fixed once, where the build first checks out (or, "
            "without a checkout, in the first stage with steps), and every later step reads it; "
            f"{problem}: give that a stage of its own that always runs, before the others"
        )

    def insert(steps: tuple[Step, ...]) -> tuple[Step, ...]:
        return _after_first_checkout(steps, step)[0] if target is not None else (step, *steps)

    return attrs.evolve(
        pipeline,
        stages=tuple(
            _in_stage_at(s, place, stage_place("stages", i, s), insert)
            for i, s in enumerate(pipeline.stages)
        ),
    )


def _is_checkout(step: Step) -> bool:
    return isinstance(step, Checkout | Git)


def _after_first_checkout(steps: tuple[Step, ...], step: Step) -> tuple[tuple[Step, ...], bool]:
    """``steps`` with ``step`` right after the first checkout among them (nested ones
    included), and whether there was one."""
    out: list[Step] = []
    for index, item in enumerate(steps):
        if _is_checkout(item):
            return (*out, item, step, *steps[index + 1 :]), True
        if item.children:
            children, found = _after_first_checkout(item.children, step)
            if found:
                return (*out, item.with_children(children), *steps[index + 1 :]), True
        out.append(item)
    return steps, False


def _in_stage_at(
    stage: Stage, target: str, path: str, change: Callable[[tuple[Step, ...]], tuple[Step, ...]]
) -> Stage:
    """``stage`` (at ``path``) with ``change`` applied to the steps of the stage at ``target``."""
    if path == target:
        return attrs.evolve(stage, steps=change(stage.steps))
    if not target.startswith(path + "."):
        return stage
    kind = stage.substage_kind
    return stage.with_substages(
        _in_stage_at(s, target, f"{path}.{stage_place(kind, i, s)}", change)
        for i, s in enumerate(stage.substages)
    )


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
