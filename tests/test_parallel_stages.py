"""Parallel stages: the model, the Jenkinsfile as Groovy runs it, and the new user's project —
Gradle API and pnpm frontend, parallel tests, an approval, staging then production — with no
raw Groovy."""

from __future__ import annotations

from typing import Any

import pytest

from pipedsl import Approval, Gradle, ModelError, Pipeline, Stage, sh
from pipedsl.model.steps import Groovy
from pipedsl.model.validate import check_stage_names
from tests.support.declarative import children, descendants


def _stage(pipeline: dict[str, Any], name: str) -> dict[str, Any]:
    (node,) = [n for n in descendants(pipeline) if n["name"] == "stage" and n["args"][0] == name]
    return node


def test_the_tests_run_side_by_side_and_fail_fast(walked: dict[str, Any]) -> None:
    pipeline = walked["new-user/api/Jenkinsfile"]
    tests = _stage(pipeline, "Tests")
    assert [c["name"] for c in tests["children"]] == ["failFast", "parallel"]
    (parallel,) = children(tests, "parallel")
    assert [b["args"][0] for b in parallel["children"]] == ["Unit Tests", "Integration Tests"]
    for branch in parallel["children"]:
        (sh_node,) = [n for n in descendants(branch) if n["name"] == "sh"]
        assert sh_node["args"][0].startswith("sh ./gradlew --no-daemon ")


def test_the_new_users_project_needs_no_raw_groovy(projects: dict[str, Any]) -> None:
    project = projects["new-user"]
    for component in project.components:
        assert not [s for s in component.pipeline.all_steps() if isinstance(s, Groovy)]
    # Steps inside parallel stages are part of every walk over the pipeline.
    api = project.component("api").pipeline
    assert [s for s in api.all_steps() if isinstance(s, Gradle) and s.tasks == ("integrationTest",)]


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Stage("T", [sh("x")], parallel=[Stage("a", [sh("y")])]), "not both"),
        (lambda: Stage("T", []), "must not be empty"),
        (lambda: Stage("T", [sh("x")], fail_fast=True), "fail_fast needs parallel"),
        (
            lambda: Stage("T", [], parallel=[Stage("a", [], parallel=[Stage("b", [sh("y")])])]),
            "one level deep",
        ),
        (
            lambda: Stage("T", [], parallel=[Stage("a", [sh("y")], approval=Approval())]),
            "cannot wait for an approval",
        ),
    ],
)
def test_parallel_stages_refuse_what_jenkins_would(build: Any, message: str) -> None:
    with pytest.raises(ModelError, match=message):
        build()


def test_stage_names_are_unique_across_parallel_branches() -> None:
    pipeline = Pipeline(
        [Stage("Build", [sh("make")]), Stage("Tests", [], parallel=[Stage("Build", [sh("t")])])]
    )
    (problem,) = check_stage_names(pipeline, "p")
    assert problem.path == "p.stages[1].parallel[0].name"
