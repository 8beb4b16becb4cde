"""Parallel stages: the model, the Jenkinsfile as Groovy runs it, and the new user's project —
Gradle API and pnpm frontend, parallel tests, an approval, staging then production — with no
raw Groovy."""

from __future__ import annotations

from typing import Any

import pytest

from pipedsl import (
    Approval,
    Component,
    Gradle,
    ModelError,
    Pipeline,
    Project,
    Stage,
    When,
    render_project,
    sh,
)
from pipedsl.model.steps import Groovy, Milestone
from pipedsl.model.validate import check_stage_names
from pipedsl.resolve.gates import with_gates
from tests.support.declarative import children, descendants, walk
from tests.support.groovy import assert_compiles


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
        (lambda: Stage("T", [sh("x")], parallel=[Stage("a", [sh("y")])]), "not steps and parallel"),
        (
            lambda: Stage(
                "T", [], parallel=[Stage("a", [sh("y")])], stages=[Stage("b", [sh("y")])]
            ),
            "not parallel and stages",
        ),
        (
            lambda: Stage(
                "T",
                [],
                parallel=[
                    Stage("a", [], stages=[Stage("b", [], parallel=[Stage("c", [sh("y")])])])
                ],
            ),
            "stage 'b' has parallel stages itself",
        ),
        (
            lambda: Stage("T", [], stages=[Stage("a", [sh("y")], approval=Approval())]),
            "only a top-level stage can wait",
        ),
        (lambda: Stage("T", []), "must not be empty"),
        (lambda: Stage("T", [sh("x")], fail_fast=True), "fail_fast needs parallel"),
        (
            lambda: Stage("T", [], parallel=[Stage("a", [], parallel=[Stage("b", [sh("y")])])]),
            "no parallel stages below parallel",
        ),
        (
            lambda: Stage("T", [], parallel=[Stage("a", [sh("y")], approval=Approval())]),
            "only a top-level stage can wait",
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
    assert problem.path == "p.stages[2 'Tests'].parallel[1 'Build'].name"


def test_sequential_stages_render_nested_and_run_in_order() -> None:

    java = Stage(
        "Java 21",
        [],
        stages=[Stage("Build", [sh("make")]), Stage("Test", [sh("make test")])],
        when=When(changeset=["api/**"]),
    )
    both = Stage("Checks", [], parallel=[java, Stage("Lint", [sh("make lint")])])
    project = Project(
        "seq",
        repository="https://github.com/acme/seq.git",
        components=[Component("app", Pipeline([both, Stage("Ship", [sh("make ship")])]))],
    )
    (jenkinsfile,) = [a for a in render_project(project) if a.kind == "jenkinsfile"]
    assert_compiles({jenkinsfile.path: jenkinsfile.text})
    ((root,),) = walk({jenkinsfile.path: jenkinsfile.text}).values()
    java_node = _stage(root, "Java 21")
    assert [c["name"] for c in java_node["children"]] == ["when", "stages"]
    (inner,) = children(java_node, "stages")
    assert [b["args"][0] for b in inner["children"]] == ["Build", "Test"]
    walked = [n["args"][0] for n in descendants(root) if n["name"] == "stage"]
    assert walked == ["Checks", "Java 21", "Build", "Test", "Lint", "Ship"]
    # The nested stages are part of every walk over the pipeline and of its name check.
    pipeline = project.components[0].pipeline
    assert [p for p, _ in pipeline.walk_stages()][
        2
    ] == "stages[1 'Checks'].parallel[1 'Java 21'].stages[1 'Build']"
    clash = Pipeline([Stage("A", [], stages=[Stage("A", [sh("x")])])])
    (problem,) = check_stage_names(clash, "p")
    assert problem.path == "p.stages[1 'A'].stages[1 'A'].name"


def test_an_approval_before_parallel_or_sequential_stages_keeps_them_valid() -> None:

    regions = Stage(
        "Deploy regions", [], parallel=[Stage("EU", [sh("./d eu")]), Stage("US", [sh("./d us")])]
    )
    smoke = Stage("Smoke", [], stages=[Stage("Ping", [sh("./ping")]), Stage("Load", [sh("./l")])])
    pipeline = Pipeline(
        [
            Stage("Build", [sh("make")]),
            Stage("Approve", [sh("true")], approval=Approval(["ops"])),
            regions,
            smoke,
        ]
    )
    project = Project(
        "gated",
        repository="https://github.com/acme/gated.git",
        components=[Component("app", pipeline)],
    )
    gated = with_gates(project, project.components[0]).pipeline
    # What must run first in a parallel stage runs in a stage of its own before it; in a
    # sequence, first in its first stage. Milestones stay in build order.
    assert gated.stage_names == [
        "Build",
        "Approve",
        "Before Deploy regions",
        "Deploy regions",
        "Smoke",
    ]
    assert isinstance(gated.stage("Before Deploy regions").steps[0], Milestone)
    assert isinstance(gated.stage("Smoke").stages[0].steps[0], Milestone)
    ordinals = [s.ordinal for s in gated.all_steps() if isinstance(s, Milestone)]
    assert ordinals == [1, 2, 3]
    (jenkinsfile,) = [a for a in render_project(project) if a.kind == "jenkinsfile"]
    assert_compiles({jenkinsfile.path: jenkinsfile.text})
