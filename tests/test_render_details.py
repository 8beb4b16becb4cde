"""Details of rendered output that a real Jenkins or cluster would otherwise reject or misuse."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipedsl import (
    Component,
    ConfigMap,
    Credential,
    DockerBuild,
    DockerHub,
    DockerPush,
    GroovyExpr,
    ModelError,
    Pipeline,
    Project,
    Runtime,
    Stage,
    When,
    nginx_frontend,
    render_project,
    sh,
)
from pipedsl.model.k8s.config import looks_secret
from tests.support.declarative import descendants, only, walk

REPO = "https://github.com/acme/app.git"


def _jenkinsfile(pipeline: Pipeline) -> str:
    project = Project("demo", repository=REPO, components=[Component("app", pipeline)])
    return {a.path: a.text for a in render_project(project)}["demo/app/Jenkinsfile"]


def test_an_expression_in_environment_is_written_as_a_gstring() -> None:
    # Declarative accepts only string literals and GStrings (or calls) as environment values.
    pipeline = Pipeline(
        [Stage("Build", [sh("make")], environment={"WHO": GroovyExpr("env.JOB_NAME")},
               when=When(environment={"MODE": GroovyExpr("env.JOB_NAME")}))],
        environment={"SHORT": GroovyExpr("env.BUILD_NUMBER")},
    )  # fmt: skip
    text = _jenkinsfile(pipeline)
    assert 'SHORT = "${env.BUILD_NUMBER}"' in text
    assert 'WHO = "${env.JOB_NAME}"' in text
    assert 'value: "${env.JOB_NAME}"' in text
    (tree,) = walk({"f": text})["f"]
    env = {n["args"][0]: n["args"][1] for n in only(tree, "environment")["children"]}
    assert env["SHORT"] == "42"


def test_registry_login_uses_a_docker_config_of_its_own() -> None:
    image = DockerHub("acme/app", login=Credential.username_password("hub")).tagged()
    text = _jenkinsfile(
        Pipeline([Stage("Build", [DockerBuild(image)]), Stage("Push", [DockerPush(image)])])
    )
    (tree,) = walk({"f": text})["f"]
    (script,) = [
        n["args"][0]
        for n in descendants(tree)
        if n["name"] == "sh" and "docker login" in n["args"][0]
    ]
    lines = script.splitlines()
    assert lines[:4] == [
        'DOCKER_CONFIG="$(mktemp -d)"',
        "export DOCKER_CONFIG",
        "trap 'rm -rf \"$DOCKER_CONFIG\"' EXIT",
        "trap 'exit 143' HUP INT TERM",
    ]
    assert "--password-stdin" in lines[4]


@pytest.mark.parametrize(
    ("key", "secret"),
    [
        ("DB_PASSWORD", True), ("JWT_SECRET_KEY", True), ("SECRET_KEY_BASE", True),
        ("dbPass", True), ("DATABASE_PWD", True), ("api-token", True),
        ("MONKEY", False), ("KEYCLOAK_URL", False), ("TOKEN_TTL_SECONDS", False),
        ("PRIMARY_KEY_COLUMN", False), ("AWS_REGION", False), ("S3_BUCKET", False),
    ],
)  # fmt: skip
def test_which_config_keys_look_secret(key: str, secret: bool) -> None:
    assert looks_secret(key) is secret


def test_the_frontend_root_cannot_be_proxied() -> None:
    with pytest.raises(ModelError, match=r"proxy path '/' is not allowed: the frontend itself"):
        nginx_frontend(proxy={"/": object()})


def test_kinds_keeps_some_artifacts_but_everything_is_still_checked() -> None:
    project = Project(
        "demo", repository=REPO, components=[Component("app", Pipeline([Stage("A", [sh("make")])]))]
    )
    everything = render_project(project)
    jobs = render_project(project, kinds={"job"})
    assert jobs == [a for a in everything if a.kind == "job"]
    assert jobs
    leaky = Project(
        "demo",
        repository=REPO,
        components=[
            Component(
                "app", Pipeline([Stage("A", [sh("curl -H 'x: xoxb-1234567890-abcdefghij'")])])
            )
        ],
    )
    with pytest.raises(ModelError, match=r"demo/app/Jenkinsfile:\d+: looks like a Slack token"):
        render_project(leaky, kinds={"job"})


def _leaky(name: str) -> Component:
    hook = "https://hooks.slack.com/services/T01/B02/abcdef123"
    return Component(
        name,
        Pipeline([Stage("A", [sh(f"curl {hook}")])]),
        runtime=Runtime([ConfigMap(f"{name}-config", {"HOOK": hook})]),
    )


def test_problems_are_reported_in_the_order_of_the_files() -> None:
    # Jenkinsfiles and jobs of every component, then setup files, then manifests: however the
    # components are split between processes.
    project = Project("demo", repository=REPO, components=[_leaky("a"), _leaky("b")])
    with pytest.raises(ModelError) as caught:
        render_project(project)
    paths = [p.path.split(":")[0] for p in caught.value.problems]
    assert paths == [
        "demo/a/Jenkinsfile",
        "demo/b/Jenkinsfile",
        "demo/a/k8s/30-configmap-a-config.yaml",
        "demo/b/k8s/30-configmap-b-config.yaml",
    ]


def test_an_invalid_project_is_reported_before_a_template_problem(tmp_path: Path) -> None:
    invalid = Pipeline([Stage("A", [sh("make")]), Stage("A", [sh("make")])])
    project = Project("demo", repository=REPO, components=[Component("app", invalid)])
    broken = tmp_path / "jenkinsfile" / "steps"
    broken.mkdir(parents=True)
    (broken / "sh.groovy.j2").write_text("{% if %}\n")
    for templates in ([tmp_path / "missing"], [tmp_path]):
        with pytest.raises(ModelError, match="duplicate stage name"):
            render_project(project, templates=templates)
