"""Validation errors, by exact message: each names the object path or field and what is allowed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from pipedsl import (
    Component,
    Credential,
    DockerBuild,
    DockerHub,
    DockerPush,
    KubectlApply,
    ModelError,
    Pipeline,
    Project,
    Rollout,
    Slack,
    SshServer,
    Stage,
    When,
    sh,
    spring_boot_backend,
    validate_project,
)
from pipedsl.load import load_project
from pipedsl.model.validate import component_images, pipeline_images, walk_pipeline
from tests.conftest import PROJECT_FILES

HUB = DockerHub("acme/app", login=Credential.username_password("hub"))
REPO = "https://github.com/acme/app.git"


def _project(*components: Component) -> Project:
    return Project("demo", repository=REPO, components=list(components))


def _raises(build: Callable[[], object]) -> str:
    with pytest.raises(ModelError) as info:
        build()
    return str(info.value)


CONSTRUCTION = {
    "empty stage name": (lambda: Stage("", [sh("x")]), "Stage.name: must not be empty"),
    "stage without steps": (
        lambda: Stage("Build", []),
        "Stage 'Build': steps must not be empty (Jenkins rejects an empty stage)",
    ),
    "wrong step type": (
        lambda: Stage("Build", ["mvn package"]),  # type: ignore[list-item]
        "Stage.steps: item 0: expected a Step, got str 'mvn package'",
    ),
    "component name": (
        lambda: Component("Back_End", Pipeline([Stage("a", [sh("x")])])),
        "Component.name: 'Back_End' is not allowed: a DNS-1123 label: lower-case letters, digits "
        "and '-', starting and ending with a letter or digit, at most 63 characters",
    ),
    "credential id": (
        lambda: Credential.secret_text("has space"),
        "Credential.id: 'has space' is not allowed: letters, digits, '_', '.', '-'",
    ),
    "slack token kind": (
        lambda: Slack(channel="#c", token=Credential.username_password("u")),
        "Slack.token: expected Credential.secret_text(...) (its id, never the token)",
    ),
    "slack placeholder": (
        lambda: Slack(channel="#c", token=Credential.secret_text("t"), message="{stage} {branch}"),
        "Slack.message: unknown placeholder {branch} in '{stage} {branch}'; allowed: {status}, "
        "{stage}, {job}, {build}, {url}, {duration}, {commit}, {image} (for per='stage' "
        "notifications)",
    ),
    "stage placeholder at pipeline level": (
        lambda: Slack(
            channel="#c", token=Credential.secret_text("t"), per="pipeline", message="{stage}"
        ),
        "Slack.message: unknown placeholder {stage} in '{stage}'; allowed: {status}, {job}, "
        "{build}, {url}, {duration}, {commit}, {failed_stage}, {image} (for per='pipeline' "
        "notifications)",
    ),
    "unknown post condition": (
        lambda: Slack(channel="#c", token=Credential.secret_text("t"), on=["succes"]),
        "Slack.on: unknown condition 'succes'; allowed: always, changed, fixed, regression, "
        "aborted, failure, success, unstable, unsuccessful, cleanup",
    ),
    "tag placeholder": (
        lambda: HUB.tagged("{sha}"),
        "Image.tag: unknown placeholder {sha}; allowed: {build}, {commit}, {date}, {time}, "
        "{branch}",
    ),
    "tag characters": (
        lambda: HUB.tagged("v 1"),
        "Image.tag: 'v 1': a tag may only contain letters, digits, '_', '.', '-' and {build}, "
        "{commit}, {date}, {time}, {branch}",
    ),
    "registry login kind": (
        lambda: DockerHub("acme/app", login=Credential.secret_text("t")),
        "Registry.login: expected Credential.username_password(...) (registry login)",
    ),
    "environment variable name": (
        lambda: Pipeline([Stage("a", [sh("x")])], environment={"1X": "y"}),
        "Pipeline.environment: '1X' is not allowed: a shell/Groovy identifier: letters, digits, '_'",
    ),
    "empty when": (
        When,
        "When: give at least one of branch, change_request, tag, expression, environment, "
        "changeset, any_of, all_of, not_",
    ),
    "unknown stage to edit": (
        lambda: Pipeline([Stage("a", [sh("x")])]).without("b"),
        "Pipeline: no stage named 'b'; stages are 'a'",
    ),
    "unknown preset option": (
        lambda: spring_boot_backend("api", image=HUB.tagged(), colour="red"),  # type: ignore[call-arg]
        "spring_boot_backend: unknown option(s) colour; allowed: image, source, deploy, notify, "
        "manifests, remote_directory, deployment, container, maven, jdk, wrapper, build, gradle, "
        "agent, runtime, branch, triggers",
    ),
    "literal secret is not a field": (
        lambda: Credential("x", "password"),  # type: ignore[arg-type]
        "Credential.kind: 'password' is not one of 'username_password', 'secret_text', "
        "'secret_file', 'ssh_key'",
    ),
    "NUL in a script": (
        lambda: sh("echo \x00"),
        "Sh.script: must not contain a NUL character, which no generated file can hold",
    ),
    "repository URL": (
        lambda: Project("demo", repository="not a url", components=[]),
        "Project.repository: 'not a url' is not allowed: a Git URL such as "
        "https://github.com/org/repo.git or git@github.com:org/repo.git",
    ),
}


@pytest.mark.parametrize("case", sorted(CONSTRUCTION))
def test_construction_error_message(case: str) -> None:
    build, message = CONSTRUCTION[case]
    assert _raises(build) == message


def test_project_rules_are_all_reported_with_paths() -> None:
    other = DockerHub("acme/other", login=Credential.username_password("hub")).tagged()
    no_login = DockerHub("acme/nologin").tagged(var="NOLOGIN")
    image = HUB.tagged("{build}")
    pipeline = Pipeline(
        [
            Stage("Build", [DockerBuild(image)]),
            Stage("Build", [DockerBuild(other)]),
            Stage("Push", [DockerPush(no_login)]),
            Stage(
                "Deploy",
                [KubectlApply(SshServer("m"), "k8s", rollout=Rollout("app", "app", image))],
            ),
        ],
        environment={"BUILD_NUMBER": "1"},
    )
    message = _raises(lambda: validate_project(_project(Component("app", pipeline))))
    assert message.splitlines() == [
        "components[app].pipeline.stages[2 'Build'].name: duplicate stage name 'Build'",
        "components[app].pipeline.environment: BUILD_NUMBER is set by Jenkins itself; choose another variable name",
        "components[app].pipeline.stages[2 'Build'].steps[0].image: acme/other:{build} and acme/app:{build} both use the variable IMAGE; give one of them another var=",
        "components[app].pipeline.stages[3 'Push'].steps[0]: pushes acme/nologin before any DockerBuild of it",
        "components[app].pipeline.stages[3 'Push'].steps[0].image: registry docker.io has no login: give it login=Credential.username_password(...)",
        "components[app].pipeline.stages[4 'Deploy'].steps[0].rollout.image: deploys acme/app:{build}, which this pipeline does not push before this step; deploy the image a DockerPush pushed",
    ]


def test_a_tag_pushed_is_the_tag_deployed() -> None:
    pushed = HUB.tagged("1.{build}")
    deployed = HUB.tagged("2.{build}", var="OTHER")
    pipeline = Pipeline(
        [
            Stage("Build", [DockerBuild(pushed)]),
            Stage("Push", [DockerPush(pushed)]),
            Stage(
                "Deploy",
                [KubectlApply(SshServer("m"), "k8s", rollout=Rollout("app", "app", deployed))],
            ),
        ]
    )
    message = _raises(lambda: validate_project(_project(Component("app", pipeline))))
    assert "deploys acme/app:2.{build}, which this pipeline does not push" in message


def test_seed_presets_validate() -> None:
    backend = spring_boot_backend(
        "backend", image=HUB.tagged("b-{build}"), deploy=SshServer("master")
    )
    validate_project(_project(backend))


@pytest.mark.parametrize("file", PROJECT_FILES, ids=[f.stem for f in PROJECT_FILES])
def test_every_walk_over_the_steps_sees_them_in_one_order(file: Path) -> None:
    # Validation (with object paths) and image collection for the Jenkinsfile both walk the
    # pipeline's step lists; the Jenkinsfile's environment order depends on their agreeing.
    project = load_project(file)
    for component in project.components:
        pipeline = component.pipeline
        walked = list(walk_pipeline(pipeline, "p"))
        assert [step for _, step in walked] == list(pipeline.all_steps())
        assert [steps for _, steps in pipeline.step_lists()] == list(pipeline.step_groups())
        assert all(path.startswith(("p.stages[", "p.post.")) for path, _ in walked)
        with_paths = dict.fromkeys(image for _, image in pipeline_images(component))
        assert component_images(component) == list(with_paths)
