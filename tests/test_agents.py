"""Agents: labels, Docker containers and Kubernetes pods per pipeline and per stage, as
declarative Jenkins reads them (the walk); the pod YAML generated from typed containers passes
strict Kubernetes schema validation; images are built and pushed on a pod by a daemonless
BuildKit run in a real sh against a recording fake builder, the login never on a command line,
in the trace or in the build context."""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from pipedsl import (
    Agent,
    Approval,
    BuildKit,
    Checkout,
    Component,
    Credential,
    DockerBuild,
    DockerHub,
    DockerPush,
    InContainer,
    KubernetesPod,
    ModelError,
    Pipeline,
    PodContainer,
    Project,
    Registry,
    Stage,
    Tools,
    render_project,
    sh,
)
from pipedsl.model.steps import BuildkitImage, Sh, WithCredentials
from pipedsl.render.lower import lower
from tests.support.declarative import children, descendants

KUBERNETES_VERSION = "1.30.0"
AGENTS = "agents"


def _stage(tree: dict[str, Any], name: str) -> dict[str, Any]:
    (node,) = [n for n in descendants(tree) if n["name"] == "stage" and n["args"][0] == name]
    return node


def _agent(node: dict[str, Any]) -> dict[str, Any]:
    (agent,) = children(node, "agent")
    return agent


def test_every_agent_form_is_declared_as_jenkins_reads_it(walked: dict[str, Any]) -> None:
    web = walked[f"{AGENTS}/web/Jenkinsfile"]
    assert (_agent(web)["args"], _agent(web)["children"]) == (["none"], [])
    label = _agent(_stage(web, "Checkout"))
    assert [(c["name"], c["args"]) for c in label["children"]] == [("label", ["linux"])]
    (docker,) = children(_agent(_stage(web, "Install")), "docker")
    assert {c["name"]: c["args"] for c in docker["children"]} == {
        "image": ["node:20.10.0-alpine3.19"],
        "label": ["docker"],
        "args": ["-v npm-cache:/root/.npm"],
    }
    (pod,) = children(_agent(_stage(web, "Image")), "kubernetes")
    # Nothing is inherited from pod templates an administrator configured.
    assert {c["name"]: c["args"] for c in pod["children"]}["inheritFrom"] == [""]
    # The nested stages run on the stage's pod; named containers run their steps.
    bundle = _stage(web, "Bundle")
    (container,) = [n for n in descendants(bundle) if n["name"] == "container"]
    assert container["args"] == ["node"]
    api = walked[f"{AGENTS}/api/Jenkinsfile"]
    (pod,) = children(_agent(api), "kubernetes")
    options = {c["name"]: c["args"] for c in pod["children"]}
    assert options["defaultContainer"] == ["maven"]
    assert options["serviceAccount"] == ["jenkins-agent"]
    assert options["namespace"] == ["ci"]
    # With a default build container, the checkout (and the commit read for the tag) run in
    # the agent's own container, which has git.
    checkout = _stage(api, "Checkout")
    (jnlp,) = [n for n in descendants(checkout) if n["name"] == "container"]
    assert jnlp["args"] == ["jnlp"]
    assert [n["name"] for n in jnlp["children"]] == ["checkout", "script"]


def _pods(walked: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for tree in walked.values():
        for node in descendants(tree):
            if node["name"] == "kubernetes":
                (text,) = [c["args"][0] for c in node["children"] if c["name"] == "yaml"]
                found.append(yaml.safe_load(text))
    return found


def test_pod_yaml_passes_strict_schema_validation(walked: dict[str, Any]) -> None:
    pods = _pods(walked)
    assert len(pods) >= 2
    for pod in pods:
        kubernetes_validate.validate(pod, KUBERNETES_VERSION, strict=True)
        for container in pod["spec"]["containers"]:
            # No docker.sock, nothing privileged: the builder is daemonless and rootless.
            assert "privileged" not in json.dumps(container)
        assert "hostPath" not in json.dumps(pod)
    builders = [c for p in pods for c in p["spec"]["containers"] if c["name"] == "buildkit"]
    assert builders
    for builder in builders:
        assert builder["securityContext"]["runAsUser"] == 1000
        assert builder["securityContext"]["seccompProfile"] == {"type": "Unconfined"}


def test_strict_validation_catches_a_misspelt_pod_field() -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "spec": {"containers": [{"name": "x", "image": "x:1", "ttty": True}]},
    }
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(pod, KUBERNETES_VERSION, strict=True)


_WRAPPER = """#!/bin/sh
printf '%s\\n' "$(basename "$0") $*" >> "$RECORD"
exec {real} "$@"
"""
_BUILDCTL = """#!/bin/sh
printf '%s\\n' "buildctl-daemonless.sh $*" >> "$RECORD"
if [ -n "$DOCKER_CONFIG" ]; then
  cp "$DOCKER_CONFIG/config.json" "$SEEN_CONFIG"
  printf '%s\\n' "$DOCKER_CONFIG" > "$SEEN_DIR"
fi
"""


def _script(step: object) -> str:
    while not isinstance(step, Sh):
        (step,) = step.children  # type: ignore[attr-defined]
    return step.script if isinstance(step.script, str) else str(step.script)


def _run(script: str, tmp_path: Path, **env: str) -> tuple[list[str], str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("mktemp", "base64", "tr", "rm"):
        real = shutil.which(tool)
        assert real is not None
        (bin_dir / tool).write_text(_WRAPPER.format(real=real))
        (bin_dir / tool).chmod(0o755)
    (bin_dir / "buildctl-daemonless.sh").write_text(_BUILDCTL)
    (bin_dir / "buildctl-daemonless.sh").chmod(0o755)
    record = tmp_path / "record"
    done = subprocess.run(
        ["sh", "-xe", "-c", script],  # as Jenkins runs sh steps: with -x
        env={
            "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
            "RECORD": str(record),
            "SEEN_CONFIG": str(tmp_path / "config.json"),
            "SEEN_DIR": str(tmp_path / "dir"),
            "IMAGE": "ghcr.io/acme/api:main-abc1234",
            **env,
        },
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    return record.read_text().splitlines(), done.stderr


def test_the_push_logs_in_without_a_command_line_and_pushes_the_built_reference(
    tmp_path: Path,
) -> None:
    registry = Registry("ghcr.io", login=Credential.username_password("ghcr"))
    image = registry.repository("acme/api").tagged("{branch}-{commit}")
    build = DockerBuild(image, "api", build_args={"VERSION": "1.2"}, target="runtime")
    step = lower(BuildkitImage(build, DockerPush(image, extra_tags=["edge"])))
    (inner,) = step.children
    assert isinstance(inner, WithCredentials)
    password = "s3cr3t pass'word"  # noqa: S105  (a test value)
    calls, trace = _run(_script(step), tmp_path, REGISTRY_USER="bot", REGISTRY_PASSWORD=password)
    login = base64.b64encode(f"bot:{password}".encode()).decode()
    for text in (*calls, trace):
        assert password not in text
        assert login not in text
    config = json.loads((tmp_path / "config.json").read_text())
    assert config == {"auths": {"ghcr.io": {"auth": login}}}
    # The login lived outside the build context and is gone when the script ends.
    folder = Path((tmp_path / "dir").read_text().strip())
    assert not folder.exists()
    assert not folder.is_relative_to(tmp_path / "api")
    (buildctl,) = [c for c in calls if c.startswith("buildctl-daemonless.sh ")]
    assert buildctl.endswith(
        '--output type=image,"name=ghcr.io/acme/api:main-abc1234,ghcr.io/acme/api:edge",push=true'
    )
    assert "--opt build-arg:VERSION=1.2 " in buildctl
    assert "--opt target=runtime " in buildctl
    assert "--local context=api --local dockerfile=api --opt filename=Dockerfile" in buildctl


def test_the_build_step_builds_without_pushing_or_logging_in(tmp_path: Path) -> None:
    image = DockerHub("acme/web").tagged("{build}")
    step = lower(BuildkitImage(DockerBuild(image, dockerfile="docker/Web.Dockerfile")))
    calls, _ = _run(_script(step), tmp_path)
    (buildctl,) = calls
    assert "--local dockerfile=docker --opt filename=Web.Dockerfile" in buildctl
    assert buildctl.endswith("--output type=image,name=ghcr.io/acme/api:main-abc1234,push=false")
    assert not (tmp_path / "config.json").exists()


def _project(pipeline: Pipeline) -> Project:
    image = DockerHub("acme/app", login=Credential.username_password("hub")).tagged()
    return Project(
        "p",
        repository="https://github.com/acme/p.git",
        components=[Component("app", pipeline, image=image)],
    )


IMAGE = DockerHub("acme/app", login=Credential.username_password("hub")).tagged()
POD = Agent.kubernetes([PodContainer("jdk", "eclipse-temurin:21-jdk")])
BUILDER = Agent.kubernetes([PodContainer("jdk", "eclipse-temurin:21-jdk")], builder=BuildKit())
OTHER_BUILDER = Agent.kubernetes([PodContainer("x", "alpine:3.20")], builder=BuildKit())


@pytest.mark.parametrize(
    ("pipeline", "message"),
    [
        (
            lambda: Pipeline([Stage("B", [DockerBuild(IMAGE)])], agent=POD),
            "components[app].pipeline.stages[1 'B'].steps[0]: DockerBuild on a Kubernetes pod agent "
            "needs a daemonless builder",
        ),
        (
            lambda: Pipeline(
                [Stage("B", [DockerBuild(IMAGE)], agent=Agent.docker("docker:27.3.1-cli"))]
            ),
            "DockerBuild in a stage that runs in a Docker container",
        ),
        (
            lambda: Pipeline([Stage("B", [InContainer("node", [sh("x")])])], agent=POD),
            "stages[1 'B'].steps[0]: the stage's pod has no container 'node'; it has ['jnlp', 'jdk']",
        ),
        (
            lambda: Pipeline([Stage("B", [InContainer("jdk", [sh("x")])])]),
            "stages[1 'B'].steps[0]: container 'jdk' needs a Kubernetes pod agent; this stage "
            "runs on 'any'",
        ),
        (
            lambda: Pipeline([Stage("B", [sh("x")], container="node")], agent=POD),
            "stages[1 'B'].container: the stage's pod has no container 'node'",
        ),
        (
            lambda: Pipeline(
                [
                    Stage("B", [DockerBuild(IMAGE)], agent=BUILDER),
                    Stage("P", [DockerPush(IMAGE)], agent=OTHER_BUILDER),
                ],
                agent=Agent.none(),
            ),
            "stages[2 'P'].steps[0]: DockerPush of acme/app needs its DockerBuild earlier in the "
            "same pod",
        ),
        (
            lambda: Pipeline(
                [
                    Stage("B", [DockerBuild(IMAGE)], agent=Agent.on("docker")),
                    Stage("P", [DockerPush(IMAGE)], agent=BUILDER),
                ],
                agent=Agent.none(),
            ),
            "DockerPush of acme/app runs on a Kubernetes pod, but its DockerBuild "
            "(components[app].pipeline.stages[1 'B'].steps[0]) ran with Docker",
        ),
        (
            lambda: Pipeline(
                [Stage("B", [DockerBuild(IMAGE)], agent=BUILDER), Stage("P", [DockerPush(IMAGE)])]
            ),
            "DockerPush of acme/app runs on an agent with Docker, but its DockerBuild",
        ),
        (
            lambda: Pipeline(
                [
                    Stage("B", [DockerBuild(IMAGE)]),
                    Stage("OK", [sh("true")], approval=Approval(["ops"])),
                    Stage("P", [DockerPush(IMAGE)]),
                ],
                agent=BUILDER,
            ),
            "stages[3 'P'].steps[0]: DockerPush of acme/app needs its DockerBuild earlier in the "
            "same pod",
        ),
        (
            lambda: Pipeline(
                [
                    Stage("B", [DockerBuild(IMAGE, build_args={"TOKEN": "$NPM_TOKEN"})]),
                    Stage("P", [DockerPush(IMAGE)]),
                ],
                agent=BUILDER,
            ),
            "stages[1 'B'].steps[0].build_args: TOKEN reads a variable",
        ),
        (
            lambda: Pipeline([Stage("B", [sh("x")])], agent=Agent.none()),
            "stages[1 'B']: stage 'B' runs on no agent",
        ),
        (
            lambda: Pipeline(
                [Stage("B", [sh("x")], agent=POD)], agent=Agent.none(), tools=Tools(maven="m")
            ),
            "pipeline.tools: tools are installed on the pipeline's agent",
        ),
    ],
)
def test_agents_refuse_what_cannot_run(pipeline: Any, message: str) -> None:
    with pytest.raises(ModelError) as caught:
        render_project(_project(pipeline()))
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Agent.docker("node:latest"), "':latest' changes between builds"),
        (lambda: Agent.docker("node"), "expected an image with an explicit tag"),
        (
            lambda: Agent.docker("docker:27.3.1", args=["-v", "/var/run/docker.sock:/x"]),
            "mounts a path of the agent's host",
        ),
        (lambda: Agent.docker("a:1", args=["-v", "/:/host"]), "mounts a path of the agent's"),
        (lambda: Agent.docker("a:1", args=["--volume=/run:/r"]), "mounts a path of the agent"),
        (
            lambda: Agent.docker("a:1", args=["--mount", "type=bind,source=/run,target=/r"]),
            "mounts a path of the agent's host",
        ),
        (lambda: Agent.docker("a:1", args=["--privileged"]), "gives the build the agent's host"),
        (lambda: Agent.docker("a:1", args=["--pid=host"]), "gives the build the agent's host"),
        (lambda: Agent.docker("node:20", args=["a b"]), "one `docker run` word per item"),
        (
            lambda: KubernetesPod([PodContainer("a", "x:1"), PodContainer("a", "y:1")]),
            "names repeat: ['a']",
        ),
        (
            lambda: KubernetesPod([PodContainer("a", "x:1")], default_container="b"),
            "no container 'b'",
        ),
        (lambda: Agent(label="x", is_none=True), "give one of label, docker, kubernetes"),
        (lambda: KubernetesPod(builder=BuildKit(name="jnlp")), "the agent's own container"),
    ],
)
def test_agent_settings_refuse_what_cannot_work(build: Any, message: str) -> None:
    with pytest.raises(ModelError) as caught:
        build()
    assert message in str(caught.value)


def test_named_volumes_are_fine_for_docker_agents() -> None:
    agent = Agent.docker(
        "node:20.10.0",
        args=["-v", "npm-cache:/root/.npm", "--mount", "type=volume,source=m,target=/m"],
    )
    assert agent.docker_agent is not None


def test_checkout_keeps_the_default_agent_without_a_default_container() -> None:
    pipeline = Pipeline([Stage("Checkout", [Checkout()])], agent=POD)
    (jenkinsfile,) = [a for a in render_project(_project(pipeline)) if a.kind == "jenkinsfile"]
    assert "container('jnlp')" not in jenkinsfile.text


def test_a_stage_runs_all_its_steps_in_a_container() -> None:
    pipeline = Pipeline([Stage("B", [sh("java -version"), sh("ls")], container="jdk")], agent=POD)
    (jenkinsfile,) = [a for a in render_project(_project(pipeline)) if a.kind == "jenkinsfile"]
    assert "container('jdk') {\n                    sh 'java -version'\n" in jenkinsfile.text
    with pytest.raises(ModelError, match="container= runs a stage's steps"):
        Stage("B", [], stages=[Stage("C", [sh("x")])], container="jdk")


def test_an_aborted_push_leaves_no_login_behind(tmp_path: Path) -> None:
    registry = Registry("ghcr.io", login=Credential.username_password("ghcr"))
    image = registry.repository("acme/api").tagged("{build}")
    script = _script(lower(BuildkitImage(DockerBuild(image), DockerPush(image))))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "buildctl-daemonless.sh").write_text(
        '#!/bin/sh\nprintf "%s\\n" "$DOCKER_CONFIG" > "$SEEN_DIR"\nexec sleep 30\n'
    )
    (bin_dir / "buildctl-daemonless.sh").chmod(0o755)
    seen = tmp_path / "dir"
    # Jenkins aborts a build by signalling the step's process group.
    process = subprocess.Popen(
        ["sh", "-xe", "-c", script],
        env={
            "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
            "SEEN_DIR": str(seen),
            "IMAGE": "ghcr.io/acme/api:42",
            "REGISTRY_USER": "bot",
            "REGISTRY_PASSWORD": "pw",
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        for _ in range(200):
            if seen.exists() and seen.read_text().strip():
                break
            time.sleep(0.05)
        folder = Path(seen.read_text().strip())
        assert (folder / "config.json").exists()
        os.killpg(process.pid, signal.SIGTERM)
        assert process.wait(timeout=20) != 0
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert not folder.exists()


def test_the_jenkins_side_of_pod_and_docker_agents_is_generated(
    artifacts: dict[str, Any],
) -> None:
    plugins = artifacts[f"{AGENTS}/jenkins/plugins.txt"].text.split()
    assert {"kubernetes", "docker-workflow"} <= set(plugins)
    casc = yaml.safe_load(artifacts[f"{AGENTS}/jenkins/jenkins.yaml"].text)
    (cloud,) = casc["jenkins"]["clouds"]
    # Agents connect over WebSocket through Jenkins' own URL: no agent port to open.
    assert cloud["kubernetes"] == {
        "name": "kubernetes",
        "jenkinsUrl": "${JENKINS_URL}",
        "webSocket": True,
        "namespace": "ci",
    }
    setup = artifacts[f"{AGENTS}/jenkins/SETUP.md"].text
    assert "Kubernetes cloud `kubernetes`" in setup
    assert "service account(s) `jenkins-agent`" in setup
    assert "unprivileged user\n   namespaces" in setup
    # A project with no pod agents gets no cloud and no kubernetes plugin.
    seed = artifacts["lat32t/jenkins/plugins.txt"].text.split()
    assert "kubernetes" not in seed
    assert "clouds" not in artifacts["lat32t/jenkins/jenkins.yaml"].text
