"""Rendered Jenkinsfiles, read as declarative Jenkins reads them (run by real Groovy)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from pipedsl import Project
from pipedsl.model.pipeline import POST_CONDITIONS
from pipedsl.resolve.pipeline import effective_pipeline, final_pipeline
from tests.support.declarative import DEFAULT_ENV, children, descendants, only

PIPELINE_SECTIONS = {"agent", "tools", "options", "environment", "stages", "post"}
STAGE_SECTIONS = {"agent", "when", "environment", "steps", "post", "options", "input"}
# A stage whose branches run in parallel.
PARALLEL_SECTIONS = {"agent", "when", "environment", "post", "options", "failFast", "parallel"}
# A stage whose stages run one after the other.
SEQUENCE_SECTIONS = {"agent", "when", "environment", "post", "options", "stages"}
# A stage that groups stages run on one agent (a pipeline with an approval gate).
GROUP_SECTIONS = {"agent", "tools", "stages"}
KNOWN_STEPS = {
    "milestone",
    "junit",
    "archiveArtifacts",
    "stash",
    "unstash",
    "sh",
    "echo",
    "dir",
    "checkout",
    "withCredentials",
    "slackSend",
    "discordSend",
    "sshPublisher",
    "script",
    "container",
}


def _jenkinsfiles(projects: dict[str, Project]) -> list[tuple[str, str]]:
    return [(p.name, c.name) for p in projects.values() for c in p.components]


def test_every_pipeline_has_declarative_structure(
    projects: dict[str, Project], walked: dict[str, Any]
) -> None:
    for project_name, component_name in _jenkinsfiles(projects):
        component = projects[project_name].component(component_name)
        pipeline = walked[f"{project_name}/{component_name}/Jenkinsfile"]
        sections = [c["name"] for c in pipeline["children"]]
        assert set(sections) <= PIPELINE_SECTIONS
        assert sections.count("agent") == 1
        assert sections.count("stages") == 1
        outer = only(pipeline, "stages")["children"]
        assert {s["name"] for s in outer} == {"stage"}
        stages = []
        for stage in outer:
            if stage["args"][0].startswith("Run: "):  # a group on one agent
                assert {c["name"] for c in stage["children"]} <= GROUP_SECTIONS
                stages += only(stage, "stages")["children"]
            else:
                stages.append(stage)
        # Stages in the model's order, each once (with what a gate adds).
        final = final_pipeline(projects[project_name], component)
        assert [s["args"][0] for s in stages] == final.stage_names
        names = [s["args"][0] for s in descendants(pipeline) if s["name"] == "stage"]
        assert len(names) == len(set(names)), "stage names repeat"
        leaves = []
        pending = list(stages)
        while pending:
            stage = pending.pop(0)
            for kind, allowed in (("parallel", PARALLEL_SECTIONS), ("stages", SEQUENCE_SECTIONS)):
                if children(stage, kind):  # stages side by side or one after the other
                    assert {c["name"] for c in stage["children"]} <= allowed
                    inner = only(stage, kind)["children"]
                    assert inner
                    assert {b["name"] for b in inner} == {"stage"}
                    pending += inner
                    break
            else:
                leaves.append(stage)
        for stage in leaves:
            names = [c["name"] for c in stage["children"]]
            assert set(names) <= STAGE_SECTIONS, stage["args"]
            assert names.count("steps") == 1
            steps = only(stage, "steps")
            assert steps["children"], f"stage {stage['args'][0]} has no steps"
            for step in steps["children"]:
                assert step["name"] in KNOWN_STEPS
            for post in children(stage, "post"):
                assert {c["name"] for c in post["children"]} <= set(POST_CONDITIONS)
        for post in children(pipeline, "post"):
            conditions = [c["name"] for c in post["children"]]
            assert set(conditions) <= set(POST_CONDITIONS)
            # Jenkins runs post conditions in a fixed order; we write them in that order.
            assert conditions == sorted(conditions, key=POST_CONDITIONS.index)


@pytest.mark.parametrize("component", ["backend", "frontend"])
def test_seed_reports_every_stage_to_slack(
    walked: dict[str, Any], projects: dict[str, Project], component: str
) -> None:
    pipeline = walked[f"lat32t/{component}/Jenkinsfile"]
    stages = only(pipeline, "stages")["children"]
    assert len(stages) >= 8
    for stage in stages:
        name = stage["args"][0]
        post = only(stage, "post")
        for condition, color, status in (
            ("success", "good", "SUCCESS"),
            ("failure", "danger", "FAILURE"),
        ):
            (send,) = [n for n in only(post, condition)["children"] if n["name"] == "slackSend"]
            args = send["named"]
            assert args["channel"] == "#slack-notification"
            assert args["teamDomain"] == "lat32t"
            assert args["tokenCredentialId"] == "slack-token"
            assert "token" not in args
            assert args["color"] == color
            message = args["message"]
            # The stage name comes from Jenkins (env.STAGE_NAME), so it is this stage's own.
            assert status in message
            assert f"'{name}'" in message
            assert DEFAULT_ENV["JOB_NAME"] in message
            assert f"#{DEFAULT_ENV['BUILD_NUMBER']}" in message
            assert DEFAULT_ENV["BUILD_URL"] in message


@pytest.mark.parametrize("component", ["backend", "frontend"])
def test_seed_logs_in_without_exposing_the_password(walked: dict[str, Any], component: str) -> None:
    pipeline = walked[f"lat32t/{component}/Jenkinsfile"]
    nodes = descendants(pipeline)
    (binding,) = [n for n in nodes if n["name"] == "withCredentials"]
    (credential,) = binding["args"][0]
    assert credential["name"] == "usernamePassword"
    assert credential["named"]["credentialsId"] == "dockerhub"
    scripts = [c["args"][0] for c in binding["children"] if c["name"] == "sh"]
    (script,) = scripts
    assert "--password-stdin" in script
    assert " -p " not in script
    assert "--password " not in script
    # The shell reads the variables; Groovy left them alone (single-quoted strings).
    assert '"$REGISTRY_PASSWORD"' in script
    assert '"$REGISTRY_USER"' in script


@pytest.mark.parametrize("component", ["backend", "frontend"])
def test_seed_deploys_the_image_it_pushed(walked: dict[str, Any], component: str) -> None:
    pipeline = walked[f"lat32t/{component}/Jenkinsfile"]
    (env,) = children(pipeline, "environment")
    image = {n["args"][0]: n["args"][1] for n in env["children"]}["IMAGE"]
    assert image == f"hosin/lat32t:{component}-{DEFAULT_ENV['BUILD_NUMBER']}"
    nodes = descendants(pipeline)
    shell = "\n".join(
        n["args"][0] if n["args"] else n["named"]["script"] for n in nodes if n["name"] == "sh"
    )
    assert 'docker build -t "$IMAGE"' in shell
    assert 'docker push "$IMAGE"' in shell
    publishers = [n for n in nodes if n["name"] == "sshPublisher"]
    assert len(publishers) == 2
    for publisher in publishers:
        assert publisher["named"]["failOnError"] is True
        (desc,) = publisher["named"]["publishers"]
        assert desc["named"]["configName"] == "master"
    commands = [
        t["named"]["execCommand"]
        for p in publishers
        for t in p["named"]["publishers"][0]["named"]["transfers"]
    ]
    deploy = commands[-1]
    # The shipped Deployment is pinned to the pushed image before it is applied: one rollout.
    pin = re.search(r"kubectl set image --local -f (\S+) (\S+)=(\S+) -o yaml", deploy)
    assert pin is not None
    assert pin.group(1).endswith(f"deployment-{component}.yaml")
    assert pin.group(2) == component
    assert pin.group(3) == image
    assert deploy.index("--local") < deploy.index("kubectl apply -n default -f ")
    assert f"kubectl set image deployment/{component}" not in deploy
    assert f"kubectl rollout status deployment/{component}" in deploy


def test_escaping_fixture_means_exactly_the_model(
    walked: dict[str, Any], projects: dict[str, Project]
) -> None:
    project = projects["escaping"]
    component = project.component("app")
    model = effective_pipeline(component)
    pipeline = walked["escaping/app/Jenkinsfile"]
    stages = only(pipeline, "stages")["children"]
    first = model.stages[0]
    rendered = stages[0]
    assert rendered["args"][0] == first.name
    env = {n["args"][0]: n["args"][1] for n in only(rendered, "environment")["children"]}
    assert env == dict(first.environment)
    scripts = []
    for node in only(rendered, "steps")["children"]:
        if node["name"] == "sh":
            scripts.append(node["args"][0] if node["args"] else node["named"]["script"])
    assert scripts == [s.script for s in first.steps if hasattr(s, "script")]
    labels = [
        n["named"].get("label") for n in only(rendered, "steps")["children"] if n["name"] == "sh"
    ]
    assert labels[-1] == "tricky {{ label }}"
