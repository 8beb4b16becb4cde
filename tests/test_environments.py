"""Environments: one runtime with per-environment differences, manifests per environment, the
image one build pushed deployed to each in turn (a promotion, never a rebuild), and an approval
gate that waits on no agent. Deploy scripts run in a real sh against the fake kubectl."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import attrs
import pytest
import yaml

from pipedsl import (
    Component,
    ConfigMap,
    Credential,
    Environment,
    Kubectl,
    ModelError,
    Pipeline,
    Project,
    Registry,
    Stage,
    render_project,
    sh,
    spring_boot_backend,
    spring_boot_service,
)
from tests.support import tally
from tests.support.declarative import children, descendants, walk
from tests.test_deploy_targets import Agent, _pushed

PROJECT = "environments"


def _stage(pipeline: dict[str, Any], name: str) -> dict[str, Any]:
    (stage,) = [n for n in descendants(pipeline) if n["name"] == "stage" and n["args"][0] == name]
    return stage


def _script(stage: dict[str, Any]) -> str:
    (node,) = [n for n in descendants(stage) if n["name"] == "sh"]
    script: str = node["args"][0] if node["args"] else node["named"]["script"]
    return script


def _manifest(artifacts: dict[str, Any], path: str) -> dict[str, Any]:
    text = artifacts[f"{PROJECT}/{path}"].text
    data: dict[str, Any] = yaml.safe_load(text)
    return data


def test_each_environment_renders_its_own_manifests_from_one_runtime(
    artifacts: dict[str, Any],
) -> None:
    staging = _manifest(artifacts, "api/k8s/staging/50-deployment-api.yaml")
    production = _manifest(artifacts, "api/k8s/production/50-deployment-api.yaml")
    assert staging["metadata"]["namespace"] == "shop-staging"
    assert production["metadata"]["namespace"] == "shop-prod"
    assert (staging["spec"]["replicas"], production["spec"]["replicas"]) == (1, 3)
    (container,) = production["spec"]["template"]["spec"]["containers"]
    assert container["resources"]["requests"] == {"cpu": "500m", "memory": "1Gi"}
    config = {
        env: _manifest(artifacts, f"api/k8s/{env}/30-configmap-api-config.yaml")["data"]
        for env in ("staging", "production")
    }
    assert config == {
        "staging": {"LOG_LEVEL": "debug", "FEATURE_X": "true"},
        "production": {"LOG_LEVEL": "warn", "FEATURE_X": "true"},
    }
    # The frontend proxies to the backend's Service in the same environment.
    for env, namespace in (("staging", "shop-staging"), ("production", "shop-prod")):
        nginx = _manifest(artifacts, f"web/k8s/{env}/30-configmap-web-nginx.yaml")
        assert f"http://api.{namespace}.svc.cluster.local:8080" in nginx["data"]["default.conf"]
        # The namespace both components live in: written once, for both.
        assert f"{PROJECT}/_shared/k8s/{env}/00-namespace-{namespace}.yaml" in artifacts
        assert f"{PROJECT}/web/k8s/{env}/00-namespace-{namespace}.yaml" not in artifacts
    # No folder of manifests outside the environments'.
    assert not [p for p in artifacts if re.fullmatch(rf"{PROJECT}/api/k8s/[^/]+\.yaml", p)]


def test_the_approval_waits_on_no_agent_and_later_stages_get_this_builds_manifests(
    walked: dict[str, Any], artifacts: dict[str, Any]
) -> None:
    pipeline = walked[f"{PROJECT}/api/Jenkinsfile"]
    jenkinsfile = artifacts[f"{PROJECT}/api/Jenkinsfile"].text
    assert "\n    agent none\n" in jenkinsfile
    gate = _stage(pipeline, "Approve production")
    assert not children(gate, "agent")
    (approval,) = children(gate, "input")
    calls = {n["name"]: n["args"] for n in approval["children"]}
    assert calls["submitter"] == ["release-managers"]
    assert calls["message"] == ["Deploy api to production?"]
    (options,) = children(gate, "options")
    (timeout,) = [n for n in descendants(options) if n["name"] == "timeout"]
    assert timeout["named"] == {"time": 120, "unit": "MINUTES"}
    # The stages before and after the gate run on agents of their own; what the later one
    # deploys is what this build stashed, not a newer checkout.
    assert len([n for n in descendants(pipeline) if n["name"] == "stash"]) == 1
    assert (
        "stash(name: 'pipedsl_manifests', includes: "
        "'generated/environments/api/k8s/**,generated/environments/_shared/k8s/**')" in jenkinsfile
    )
    production = _stage(pipeline, "Deploy production")
    steps = [n["name"] for n in descendants(production) if n["name"] != "stage"]
    assert steps.index("unstash") < steps.index("sh")
    # No build waits behind an approval: concurrent builds are allowed and ordered by
    # milestones, the first one in the first deploy stage.
    text = str(pipeline)
    assert "disableConcurrentBuilds" not in text
    milestones = [n["named"]["ordinal"] for n in descendants(pipeline) if n["name"] == "milestone"]
    assert milestones == sorted(milestones)
    assert len(milestones) == 3


def test_production_deploys_the_image_staging_received(
    tmp_path: Path, projects: dict[str, Any], walked: dict[str, Any]
) -> None:
    pipeline = walked[f"{PROJECT}/api/Jenkinsfile"]
    image = _pushed(pipeline)
    states = {}
    for env in ("staging", "production"):
        agent = Agent(tmp_path / env, projects[PROJECT])
        done = agent.run(_script(_stage(pipeline, f"Deploy {env}")), image, KUBECONFIG="k")
        assert done.returncode == 0, done.stderr
        states[env] = agent.cluster
    for env, namespace in (("staging", "shop-staging"), ("production", "shop-prod")):
        live = states[env]["live"][f"deployment/{namespace}/api"]
        (container,) = live["spec"]["template"]["spec"]["containers"]
        assert container["image"] == image
        assert states[env]["rollouts"] == {f"deployment/{namespace}/api": [{"api": image}]}
    assert set(states["production"]["contexts"]) == {"prod"}
    tally.add("deploy target runs executed in a real sh", 2)


REGISTRY = Registry("registry.example.com", login=Credential.username_password("registry"))
TARGET = Kubectl.in_cluster()


def _api(*environments: Environment) -> Project:
    app = spring_boot_backend(
        "api",
        image=REGISTRY.repository("t/api").tagged("api-{build}"),
        runtime=spring_boot_service(
            port=8080, health="/h", config=ConfigMap("api-config", {"LEVEL": "info"})
        ),
        deploy=list(environments),
    )
    return Project("p", repository="https://github.com/acme/p.git", components=[app])


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda: render_project(
                _api(Environment("prod", deploy=TARGET, config={"other": {"LEVEL": "x"}}))
            ),
            r"components\[api\]\.environments\[prod\]\.config: no ConfigMap 'other'",
        ),
        (
            lambda: render_project(
                _api(Environment("prod", deploy=TARGET, config={"api-config": {"NEW": "x"}}))
            ),
            r"ConfigMap 'api-config' has no key 'NEW'",
        ),
        (
            lambda: _api(Environment("a", deploy=TARGET), Environment("a", deploy=TARGET)),
            "names repeat",
        ),
        (
            lambda: Component(
                "x",
                Pipeline([Stage("s", [sh("true")])]),
                environments=[Environment("a", deploy=TARGET)],
            ),
            "has no runtime to deploy",
        ),
        (lambda: Environment("prod", deploy="kubectl"), "Environment.deploy"),  # type: ignore[arg-type]
        (lambda: Environment("prod"), r"Environment\.deploy: expected a SshServer or a Kubectl"),
    ],
)
def test_environments_refuse_what_cannot_be_deployed(build: Any, message: str) -> None:
    with pytest.raises(ModelError, match=message):
        build()


def test_a_deploy_in_a_pod_container_after_the_gate_gets_the_stashed_manifests(
    projects: dict[str, Any],
) -> None:
    from pipedsl import Agent as Where  # noqa: PLC0415  (Agent here is the deploy test agent)
    from pipedsl import PodContainer  # noqa: PLC0415

    project = projects[PROJECT]
    (api,) = [c for c in project.components if c.name == "api"]
    pod = Where.kubernetes([PodContainer("kubectl", "bitnami/kubectl:1.30.2")])
    api = api.with_pipeline(
        lambda p: p.with_stage("Deploy production", agent=pod, container="kubectl")
    )
    changed = attrs.evolve(project, components=[api])
    (jenkinsfile,) = [a for a in render_project(changed) if a.path == f"{PROJECT}/api/Jenkinsfile"]
    ((tree,),) = walk({"Jenkinsfile": jenkinsfile.text}).values()
    production = _stage(tree, "Deploy production")
    (container,) = [n for n in descendants(production) if n["name"] == "container"]
    steps = [n["name"] for n in descendants(container)]
    # In the pod's own workspace, right before the deploy: this build's manifests.
    assert steps.index("unstash") < steps.index("sh")
