"""Per-stage options (timeout, retry), as declarative Jenkins reads them (run by real Groovy)."""

from __future__ import annotations

from typing import Any

import pytest

from pipedsl import (
    Approval,
    DockerHub,
    ModelError,
    Stage,
    StageOptions,
    When,
    sh,
    spring_boot_backend,
)
from tests.support.declarative import children, descendants


def test_a_stage_gets_its_timeout_and_retries(walked: dict[str, Any]) -> None:
    pipeline = walked["monorepo/api/Jenkinsfile"]
    (stage,) = [
        n for n in descendants(pipeline) if n["name"] == "stage" and n["args"][0] == "Integration"
    ]
    (options,) = children(stage, "options")
    calls = [(c["name"], c["args"] or c["named"]) for c in options["children"]]
    assert calls == [("timeout", {"time": 15, "unit": "MINUTES"}), ("retry", [2])]


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (StageOptions, "give timeout_minutes, retries or both"),
        (lambda: StageOptions(0), "timeout_minutes"),
        (
            lambda: Stage("Approve", [sh("true")], approval=Approval(), options=StageOptions(5)),
            "an approval stage's timeout is the approval's",
        ),
    ],
)
def test_stage_options_refuse_what_cannot_work(build: Any, message: str) -> None:
    with pytest.raises(ModelError, match=message):
        build()


def test_an_approval_stage_may_retry() -> None:
    stage = Stage("Approve", [sh("true")], approval=Approval(), options=StageOptions(retries=1))
    assert stage.options is not None


def test_a_presets_stage_takes_options_and_conditions_without_attrs() -> None:
    backend = spring_boot_backend("api", image=DockerHub("acme/api").tagged())
    pipeline = backend.pipeline.with_stage(
        "Project Test", options=StageOptions(10, retries=1), when=When(changeset=["api/**"])
    )
    stage = pipeline.stage("Project Test")
    assert stage.options == StageOptions(10, retries=1)
    assert stage.when == When(changeset=["api/**"])
    with pytest.raises(ModelError, match="unknown field"):
        backend.pipeline.with_stage("Project Test", colour="red")
    with pytest.raises(ModelError, match="no stage named"):
        backend.pipeline.with_stage("Nope", options=StageOptions(1))
