"""Notification options: only chosen stages notify, the Slack plugin's default channel, and
messages carrying the pushed image and the build's duration (read back as Groovy runs them)."""

from __future__ import annotations

from typing import Any

import pytest

from pipedsl import (
    Checkout,
    Component,
    Credential,
    ModelError,
    Pipeline,
    Project,
    Slack,
    Stage,
    render_project,
    sh,
)
from tests.support.declarative import DEFAULT_ENV, children, descendants, walk
from tests.support.groovy import assert_compiles

TOKEN = Credential.secret_text("slack")


def test_only_the_chosen_stages_notify_with_the_image_and_duration(
    walked: dict[str, Any],
) -> None:
    pipeline = walked["build-tools/web/Jenkinsfile"]
    stages = [n for n in descendants(pipeline) if n["name"] == "stage"]
    notifying = [
        s["args"][0] for s in stages if any(n["name"] == "slackSend" for n in descendants(s))
    ]
    assert notifying == ["Deploy"]
    (post,) = children(pipeline, "post")
    sends = [n for n in descendants(post) if n["name"] == "slackSend"]
    assert len(sends) == 2
    for send in sends:
        assert "channel" not in send["named"]  # the plugin's default channel
    build = DEFAULT_ENV["BUILD_NUMBER"]
    assert sends[-1]["named"]["message"] == (
        f"SUCCESS: {DEFAULT_ENV['JOB_NAME']} #{build} (ghcr.io/acme/web:web-{build}, 1 min 2 sec)"
    )


def _project(notify: Slack) -> Project:
    component = Component("app", Pipeline([Stage("Build", [sh("make")])]), notify=notify)
    return Project("p", repository="https://github.com/acme/p.git", components=[component])


def test_a_stage_that_does_not_exist_is_refused() -> None:
    with pytest.raises(ModelError, match=r"notify\[0\]\.stages: no stage 'Deploy'"):
        render_project(_project(Slack(token=TOKEN, stages=["Deploy"])))


def test_the_image_of_a_component_that_pushes_none_is_refused() -> None:
    with pytest.raises(ModelError, match="image"):
        render_project(_project(Slack(token=TOKEN, message="{status} {image}")))


def test_a_pipeline_message_names_the_commit_and_the_first_stage_that_failed() -> None:

    notify = Slack(
        token=TOKEN, per="pipeline", on=["failure"], message="{status}: {commit} at {failed_stage}"
    )
    stages = [Stage("Checkout", [Checkout()]), Stage("Build", [sh("make")])]
    component = Component("app", Pipeline(stages), notify=notify)
    project = Project("p", repository="https://github.com/acme/p.git", components=[component])
    (jenkinsfile,) = [a for a in render_project(project) if a.kind == "jenkinsfile"]
    files = {jenkinsfile.path: jenkinsfile.text}
    assert_compiles(files)
    ((pipeline,),) = walk(files, stdout={"git rev-parse --short=7 HEAD": "abc1234\n"}).values()
    # Every stage records itself on failure, only the first to fail is kept (the walk runs
    # every post block, so the first stage is that one here).
    for name in ("Checkout", "Build"):
        (stage,) = [
            n for n in descendants(pipeline) if n["name"] == "stage" and n["args"][0] == name
        ]
        (post,) = children(stage, "post")
        assert [c["name"] for c in post["children"]] == ["failure"]
    (post,) = children(pipeline, "post")
    (send,) = [n for n in descendants(post) if n["name"] == "slackSend"]
    assert send["named"]["message"] == "FAILURE: abc1234 at Checkout"


def test_without_a_checkout_the_commit_is_unknown_and_failed_stage_is_pipeline_only() -> None:

    project = _project(Slack(token=TOKEN, per="pipeline", message="{commit}"))
    (jenkinsfile,) = [a for a in render_project(project) if a.kind == "jenkinsfile"]
    assert "returnStdout" not in jenkinsfile.text
    ((pipeline,),) = walk({jenkinsfile.path: jenkinsfile.text}).values()
    (post,) = children(pipeline, "post")
    assert {n["named"]["message"] for n in descendants(post) if n["name"] == "slackSend"} == {
        "unknown"
    }
    with pytest.raises(ModelError, match=r"unknown placeholder \{failed_stage\}"):
        Slack(token=TOKEN, message="{failed_stage}")
