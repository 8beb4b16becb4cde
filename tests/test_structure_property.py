"""Any pipeline structure the model accepts — sequential, parallel, nested sequential and
approval stages, nested conditions, stage options — renders a Jenkinsfile that real Groovy compiles and runs as
declarative Jenkins reads it (the walk), with every stage once, in order."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from pipedsl import (
    Agent,
    Approval,
    BuildKit,
    Component,
    GroovyExpr,
    ModelError,
    Pipeline,
    PodContainer,
    Project,
    Stage,
    StageOptions,
    When,
    render_project,
    sh,
)
from pipedsl.resolve import final_pipeline
from tests.support import tally
from tests.support.declarative import descendants, walk
from tests.support.groovy import assert_compiles

SIMPLE_WHEN = st.one_of(
    st.builds(lambda p: When(changeset=[p]), st.sampled_from(["api/**", "web/*.js"])),
    st.builds(lambda v: When(environment={"MODE": v}), st.sampled_from(["a", "b"])),
    st.just(When(expression=GroovyExpr("env.X == 'y'"))),
)
WHEN = st.one_of(
    SIMPLE_WHEN,
    st.builds(lambda a, b: When(any_of=[a, b]), SIMPLE_WHEN, SIMPLE_WHEN),
    st.builds(lambda a: When(not_=a), SIMPLE_WHEN),
)
OPTIONS = st.one_of(st.none(), st.builds(StageOptions, st.integers(1, 30)))
POD = Agent.kubernetes(
    [PodContainer("tools", "alpine:3.20")], builder=BuildKit(), default_container="tools"
)
AGENTS = {
    None: None,
    "label": Agent.on("linux && docker"),
    "docker": Agent.docker("node:20.10.0-alpine3.19", args=["-v", "cache:/root/.npm"]),
    "pod": POD,
}


@st.composite
def stage_specs(draw: Any) -> dict[str, Any]:
    kind = draw(st.sampled_from(["steps", "steps", "parallel", "sequential", "approval"]))
    spec: dict[str, Any] = {
        "kind": kind,
        "when": draw(st.one_of(st.none(), WHEN)),
        "options": draw(OPTIONS),
        "agent": AGENTS[draw(st.sampled_from(list(AGENTS)))],
    }
    if kind in ("parallel", "sequential"):
        spec["branches"] = draw(st.integers(1, 3))
        spec["fail_fast"] = draw(st.booleans())
        # A parallel branch may itself be a sequence; a sequence may hold parallel stages.
        spec["nested"] = draw(st.lists(st.booleans(), min_size=3, max_size=3))
    return spec


def _inner(name: str, nested: bool, kind: str, when: When | None) -> Stage:
    if not nested:
        return Stage(name, [sh("make")], when=when)
    inner = [Stage(f"{name}s{k}", [sh("make")]) for k in range(2)]
    if kind == "parallel":
        return Stage(name, [], stages=inner, when=when)
    return Stage(name, [], parallel=inner, when=when)


def _pipeline(specs: list[dict[str, Any]], agent: Agent) -> Pipeline | None:
    stages = []
    for index, spec in enumerate(specs):
        name = f"S{index}"
        try:
            if spec["kind"] in ("parallel", "sequential"):
                branches = [
                    _inner(f"{name}b{j}", spec["nested"][j], spec["kind"], spec["when"])
                    for j in range(spec["branches"])
                ]
                if spec["kind"] == "parallel":
                    stages.append(
                        Stage(
                            name,
                            [],
                            parallel=branches,
                            fail_fast=spec["fail_fast"],
                            agent=spec["agent"],
                        )
                    )
                else:
                    stages.append(
                        Stage(
                            name,
                            [],
                            stages=branches,
                            options=spec["options"],
                            agent=spec["agent"],
                        )
                    )
            elif spec["kind"] == "approval":
                stages.append(Stage(name, [sh("true")], approval=Approval(["ops"])))
            else:
                stages.append(
                    Stage(
                        name,
                        [sh("make")],
                        when=spec["when"],
                        options=spec["options"],
                        agent=spec["agent"],
                    )
                )
        except ModelError:
            return None  # not a structure the model accepts
    return Pipeline(stages, agent=agent)


# Hypothesis tries the simplest example first (every choice its first): more examples than
# one, so random structures are rendered too.
@settings(
    max_examples=4,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # shrinking would rerun Groovy
)
@given(
    st.lists(
        st.tuples(
            st.lists(stage_specs(), min_size=1, max_size=6),
            st.sampled_from([Agent.any(), Agent.none(), POD]),
        ),
        min_size=12,
        max_size=12,
    )
)
def test_any_accepted_structure_compiles_and_walks(
    batches: list[tuple[list[dict[str, Any]], Agent]],
) -> None:
    files: dict[str, str] = {}
    expected: dict[str, list[str]] = {}
    for index, (specs, agent) in enumerate(batches):
        pipeline = _pipeline(specs, agent)
        if pipeline is None:
            continue
        project = Project(
            f"p{index}",
            repository="https://github.com/acme/p.git",
            components=[Component("app", pipeline)],
        )
        try:
            rendered = render_project(project)
        except ModelError:
            continue  # e.g. a stage on no agent: refused, naming it (tested elsewhere)
        (jenkinsfile,) = [a for a in rendered if a.kind == "jenkinsfile"]
        files[jenkinsfile.path] = jenkinsfile.text
        # The stages as they run: a gate may add some (a milestone before parallel stages).
        final = final_pipeline(project, project.components[0])
        names = [stage.name for _, stage in final.walk_stages()]
        expected[jenkinsfile.path] = names
    assert files
    assert_compiles(files)
    for path, tree in walk(files).items():
        (root,) = tree
        walked = [
            n["args"][0]
            for n in descendants(root)
            if n["name"] == "stage" and not n["args"][0].startswith("Run: ")
        ]
        assert walked == expected[path], path
    tally.add("random pipeline structures compiled and walked", len(files))
    tally.add(
        "random pipeline structures with stage agents",
        sum("agent {" in text.split("stages {", 1)[1] for text in files.values()),
    )
