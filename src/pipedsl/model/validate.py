"""Whole-project rules: the checks that need more than one object, reported all at once."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from pipedsl.errors import ModelError, Problem
from pipedsl.model.deploy import DeployManifests
from pipedsl.model.infra import Image
from pipedsl.model.k8s.validate import k8s_problems
from pipedsl.model.pipeline import Pipeline
from pipedsl.model.project import Component, Project
from pipedsl.model.steps import ApplyManifests, DockerBuild, DockerPush, KubectlApply, Step

# Variables Jenkins sets itself; a pipeline that assigns them breaks what reads them.
RESERVED_ENV = frozenset(
    {
        "BUILD_ID",
        "BUILD_NUMBER",
        "BUILD_TAG",
        "BUILD_URL",
        "EXECUTOR_NUMBER",
        "JENKINS_HOME",
        "JENKINS_URL",
        "JOB_NAME",
        "JOB_BASE_NAME",
        "JOB_URL",
        "NODE_NAME",
        "STAGE_NAME",
        "WORKSPACE",
        "GIT_COMMIT",
        "GIT_BRANCH",
        "PATH",
    }
)


def walk_steps(steps: tuple[Step, ...], path: str) -> Iterator[tuple[str, Step]]:
    """Every step with its object path, nested steps included, in document order."""
    for index, step in enumerate(steps):
        here = f"{path}[{index}]"
        yield here, step
        yield from walk_steps(step.children, f"{here}.steps")


def walk_pipeline(pipeline: Pipeline, path: str) -> Iterator[tuple[str, Step]]:
    """Every step of ``pipeline`` with its object path (under ``path``), in document order."""
    for where, steps in pipeline.step_lists():
        yield from walk_steps(steps, f"{path}.{where}")


def check_duplicate_components(project: Project) -> list[Problem]:
    seen: dict[str, int] = {}
    problems = []
    for index, component in enumerate(project.components):
        if component.name in seen:
            problems.append(
                Problem(
                    f"components[{index}].name",
                    f"duplicate component name {component.name!r} (also components[{seen[component.name]}])",
                )
            )
        seen.setdefault(component.name, index)
    # Backing services write their files under generated/<project>/<name>/ too.
    taken = {name: f"components[{index}]" for name, index in seen.items()}
    for index, service in enumerate(project.backing_services):
        if service.name in taken:
            problems.append(
                Problem(
                    f"backing_services[{index}].name",
                    f"duplicate name {service.name!r} (also {taken[service.name]})",
                )
            )
        taken.setdefault(service.name, f"backing_services[{index}]")
    return problems


def check_stage_names(pipeline: Pipeline, path: str) -> list[Problem]:
    """Stage names are unique in the whole pipeline, nested stages included (Jenkins refuses
    a pipeline whose stage names repeat)."""
    seen: set[str] = set()
    problems = []
    for where, stage in pipeline.walk_stages():
        if stage.name in seen:
            problems.append(Problem(f"{path}.{where}.name", f"duplicate stage name {stage.name!r}"))
        seen.add(stage.name)
    return problems


def check_environment(pipeline: Pipeline, path: str) -> list[Problem]:
    problems = []
    scopes = [(f"{path}.environment", pipeline.environment)] + [
        (f"{path}.{where}.environment", s.environment) for where, s in pipeline.walk_stages()
    ]
    for where, env in scopes:
        for name, _ in env:
            if name in RESERVED_ENV:
                problems.append(
                    Problem(where, f"{name} is set by Jenkins itself; choose another variable name")
                )
    return problems


def pipeline_images(component: Component) -> list[tuple[str, Image]]:
    """Every image the component's pipeline builds, pushes or deploys, with its path."""
    path = f"components[{component.name}].pipeline"
    return _pipeline_images(component, walk_pipeline(component.pipeline, path))


def _pipeline_images(
    component: Component, steps: Iterable[tuple[str, Step]]
) -> list[tuple[str, Image]]:
    found: list[tuple[str, Image]] = []
    if component.image is not None:
        found.append((f"components[{component.name}].image", component.image))
    for where, step in steps:
        image = step_image(step)
        if image is not None:
            field = "rollout.image" if isinstance(step, KubectlApply) else "image"
            found.append((f"{where}.{field}", image))
    return found


def step_image(step: Step) -> Image | None:
    """The image a step builds, pushes or deploys, if any."""
    if isinstance(step, DockerBuild | DockerPush):
        return step.image
    if isinstance(step, KubectlApply) and step.rollout is not None:
        return step.rollout.image
    return None


def component_images(component: Component) -> list[Image]:
    """The distinct images of :func:`pipeline_images`, in order, without their paths."""
    found = [] if component.image is None else [component.image]
    found += [image for step in component.pipeline.all_steps() if (image := step_image(step))]
    return list(dict.fromkeys(found))


def check_images(component: Component) -> list[Problem]:
    # Checked first without the steps' paths (most components pass, and writing every step's
    # path was most of the cost), then again with them when there is something to report.
    unplaced = [("", step) for step in component.pipeline.all_steps()]
    if not _check_images(component, unplaced):
        return []
    path = f"components[{component.name}].pipeline"
    return _check_images(component, list(walk_pipeline(component.pipeline, path)))


def _check_images(component: Component, steps: list[tuple[str, Step]]) -> list[Problem]:
    """The problems of :func:`check_images`, found over ``steps`` (each with its path)."""
    problems = []
    by_var: dict[str, Image] = {}
    env_names = {name for name, _ in component.pipeline.environment}
    for where, image in _pipeline_images(component, steps):
        other = by_var.setdefault(image.var, image)
        if other != image:
            problems.append(
                Problem(
                    where,
                    f"{image.repository.reference}:{image.tag} and "
                    f"{other.repository.reference}:{other.tag} both use the variable {image.var}; "
                    "give one of them another var=",
                )
            )
        if image.var in env_names:
            problems.append(
                Problem(
                    where, f"the variable {image.var} is also set in the pipeline's environment"
                )
            )

    built: set[Image] = set()
    pushed: set[Image] = set()
    for where, step in steps:
        if isinstance(step, DockerBuild):
            built.add(step.image)
        elif isinstance(step, DockerPush):
            if step.image not in built:
                problems.append(
                    Problem(
                        where,
                        f"pushes {step.image.repository.reference} before any DockerBuild of it",
                    )
                )
            if not step.image.repository.registry.has_login:
                problems.append(
                    Problem(
                        f"{where}.image",
                        f"registry {step.image.repository.registry.host} has no login: give it "
                        "login=Credential.username_password(...)",
                    )
                )
            pushed.add(step.image)
        elif (
            isinstance(step, ApplyManifests | DeployManifests)
            and component.image is not None
            and component.image not in pushed
        ):
            image = component.image
            problems.append(
                Problem(
                    where,
                    f"deploys {image.repository.reference}:{image.tag}, which this pipeline does "
                    "not push before this step; deploy the image a DockerPush pushed",
                )
            )
        elif isinstance(step, KubectlApply) and step.rollout is not None:
            image = step.rollout.image
            if image not in pushed:
                problems.append(
                    Problem(
                        f"{where}.rollout.image",
                        f"deploys {image.repository.reference}:{image.tag}, which this pipeline does "
                        "not push before this step; deploy the image a DockerPush pushed",
                    )
                )
    return problems


GITHUB_REPOSITORY = re.compile(
    r"(?:https://github\.com/|git@github\.com:|ssh://git@github\.com/)"
    r"([A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))/([A-Za-z0-9._-]+?)(?:\.git)?/?"
)
"""A GitHub repository URL: its owner and name."""


def github_coordinates(repository: str) -> tuple[str, str] | None:
    """``(owner, name)`` of a GitHub repository URL, None for any other URL."""
    match = GITHUB_REPOSITORY.fullmatch(repository)
    return (match.group(1), match.group(2)) if match else None


def _wildcard(pattern: str) -> re.Pattern[str]:
    """A branch source wildcard (``*`` is any run of characters, ``/`` included)."""
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")))


def check_multibranch(project: Project) -> list[Problem]:
    """Multibranch jobs discover branches and pull requests through GitHub's API; schedules
    belong to single-branch jobs (a multibranch job re-scans on its own schedule)."""
    if not project.jenkins.multibranch:
        return []
    problems = []
    if github_coordinates(project.repository) is None:
        problems.append(
            Problem(
                "jenkins.definition",
                f"multibranch jobs need a GitHub repository (https://github.com/<owner>/<name>"
                f" or git@github.com:<owner>/<name>.git); the repository is "
                f"{project.repository!r}",
            )
        )
    include = project.jenkins.branch_selection.include
    for component in project.components:
        deploy = project.branch_of(component)
        if include and not any(_wildcard(pattern).fullmatch(deploy) for pattern in include):
            problems.append(
                Problem(
                    "jenkins.branches.include",
                    f"component {component.name!r} deploys from {deploy!r}, which none of "
                    f"{list(include)} selects: its deploy branch would never build",
                )
            )
        if component.triggers is not None:
            problems.append(
                Problem(
                    f"components[{component.name}].triggers",
                    "a multibranch job has no cron or polling triggers of its own: it builds "
                    "on GitHub's webhook and re-scans every Branches(scan_hours=...) hours",
                )
            )
    return problems


def check_branch_conditions(project: Project) -> list[Problem]:
    """``when`` conditions on a build's branch, pull request or tag hold only in multibranch
    jobs (Jenkins sets ``BRANCH_NAME``, ``CHANGE_ID`` and ``TAG_NAME`` nowhere else), and tag
    conditions only where tags are built: elsewhere they would silently never hold."""
    if project.jenkins.multibranch:
        if project.jenkins.branch_selection.tags:
            return []
        return [
            Problem(
                condition,
                "never holds here: this project's multibranch jobs build no tags; give "
                "JenkinsJobs(branches=Branches(tags=['v*'])) to build them",
            )
            for component in project.components
            for where, stage in component.pipeline.walk_stages()
            if stage.when is not None
            for condition in stage.when.branch_conditions(
                f"components[{component.name}].pipeline.{where}.when"
            )
            if condition.endswith(".tag")
        ]
    problems = []
    for component in project.components:
        for where, stage in component.pipeline.walk_stages():
            if stage.when is None:
                continue
            path = f"components[{component.name}].pipeline.{where}.when"
            for condition in stage.when.branch_conditions(path):
                problems.append(
                    Problem(
                        condition,
                        "never holds here: Jenkins tells a build's branch, pull request or tag "
                        "only to multibranch jobs, and this job builds one branch "
                        f"({project.branch_of(component)!r}); use "
                        "JenkinsJobs(definition='multibranch') or drop the condition",
                    )
                )
    return problems


def validate_project(project: Project) -> None:
    """Check the rules that span objects; raise :class:`ModelError` listing every problem."""
    problems = (
        check_duplicate_components(project)
        + check_multibranch(project)
        + check_branch_conditions(project)
    )
    for component in project.components:
        problems += component_problems(component)
    problems += k8s_problems(project)
    if problems:
        raise ModelError(problems)


def component_problems(component: Component) -> list[Problem]:
    """The problems of one component's pipeline on its own (stage names, environment, images):
    independent of the other components, so they can be checked wherever it is rendered."""
    path = f"components[{component.name}].pipeline"
    return (
        check_stage_names(component.pipeline, path)
        + check_environment(component.pipeline, path)
        + check_images(component)
    )


def project_problems(project: Project) -> list[Problem]:
    """The problems that span components: duplicate names and the Kubernetes objects."""
    return (
        check_duplicate_components(project)
        + check_multibranch(project)
        + check_branch_conditions(project)
        + k8s_problems(project)
    )
