"""Notification options: only chosen stages notify, the Slack plugin's default channel, and
messages carrying the pushed image and the build's duration (read back as Groovy runs them)."""

from __future__ import annotations

from typing import Any

import pytest

from pipedsl import (
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
from tests.support.declarative import DEFAULT_ENV, children, descendants

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
