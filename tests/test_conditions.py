"""``when`` conditions beyond branch/environment/expression: change sets (with the fallback for
builds without one), anyOf/allOf/not and beforeAgent, read back as declarative Jenkins reads
them (the Jenkinsfile run by real Groovy)."""

from __future__ import annotations

from typing import Any

import pytest

from pipedsl import GroovyExpr, ModelError, When
from tests.support.declarative import children, descendants


def _when(walked: dict[str, Any], stage: str) -> dict[str, Any]:
    pipeline = walked["monorepo/api/Jenkinsfile"]
    (node,) = [n for n in descendants(pipeline) if n["name"] == "stage" and n["args"][0] == stage]
    (when,) = children(node, "when")
    return when


def _shape(node: dict[str, Any]) -> Any:
    """A condition tree as (name, args or nested shapes)."""
    if node["children"]:
        return (node["name"], [_shape(c) for c in node["children"]])
    return (node["name"], node["args"] or node["named"])


def test_a_changeset_runs_the_stage_when_the_build_has_no_change_set(
    walked: dict[str, Any],
) -> None:
    (condition,) = _when(walked, "Build")["children"]
    assert _shape(condition)[0] == "anyOf"
    inner = [_shape(c) for c in condition["children"]]
    assert inner[:2] == [("changeset", ["api/**"]), ("changeset", ["shared/**"])]
    assert inner[2][0] == "expression"


def test_a_changeset_can_skip_builds_without_changes_and_decide_before_the_agent(
    walked: dict[str, Any],
) -> None:
    shapes = [_shape(c) for c in _when(walked, "Docs")["children"]]
    assert shapes == [("beforeAgent", [True]), ("changeset", ["docs/**"])]


def test_conditions_nest(walked: dict[str, Any]) -> None:
    names = [c["name"] for c in _when(walked, "Release")["children"]]
    assert names == ["anyOf", "not"]
    any_of, not_ = _when(walked, "Release")["children"]
    assert [c["name"] for c in any_of["children"]] == ["expression", "allOf"]
    (negated,) = not_["children"]
    assert _shape(negated) == ("environment", [{"name": "DRY_RUN", "value": "true"}])
    # not {} takes one condition: several are combined with allOf.
    (not_two,) = _when(walked, "Report")["children"]
    (combined,) = not_two["children"]
    assert combined["name"] == "allOf"
    assert [c["name"] for c in combined["children"]] == ["environment", "expression"]


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (When, "give at least one of"),
        (
            lambda: When(not_=When(changeset=["a"], before_agent=True)),
            "before_agent and before_input apply",
        ),
        (lambda: When(changeset=["a"], no_changes="maybe"), "no_changes"),  # type: ignore[arg-type]
        (lambda: When(any_of=[GroovyExpr("x")]), "When.any_of"),
    ],
)
def test_conditions_refuse_what_jenkins_would(build: Any, message: str) -> None:
    with pytest.raises(ModelError, match=message):
        build()
