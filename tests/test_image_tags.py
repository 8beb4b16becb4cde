"""Tag placeholders known only once the build runs — the commit, the date and time — and the
branch: the reference is fixed once, right after the checkout, and every later step reads it.
Groovy runs the Jenkinsfile (the walk); the commands that read the commit and the clock run in
a real sh and git."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Literal

import pytest

from pipedsl import (
    Checkout,
    Component,
    Credential,
    DockerBuild,
    DockerHub,
    Echo,
    GroovyExpr,
    GString,
    JenkinsJobs,
    ModelError,
    Pipeline,
    Project,
    Stage,
    When,
    render_project,
    sh,
    spring_boot_backend,
)
from pipedsl.model.steps import FixImages
from pipedsl.resolve import final_pipeline
from tests.support.declarative import descendants, walk
from tests.support.groovy import assert_compiles

HUB = DockerHub("acme/api", login=Credential.username_password("hub"))
COMMIT = "git rev-parse --short=7 HEAD"
CLOCK = "date -u +%Y%m%d-%H%M%S"
SHOW = Stage("Show", [Echo(GString("image=", GroovyExpr("env.IMAGE")))])


def _jenkinsfile(project: Project) -> tuple[str, str]:
    (artifact,) = [a for a in render_project(project) if a.kind == "jenkinsfile"]
    return artifact.path, artifact.text


def _project(definition: Literal["scm", "inline"] = "scm") -> Project:
    api = spring_boot_backend(
        "api", image=HUB.tagged("{branch}-{commit}-{date}.{time}-{build}"), branch="feature/x"
    )
    api = Component(api.name, api.pipeline.append(SHOW), image=api.image, branch=api.branch)
    return Project(
        "tags",
        repository="https://github.com/acme/tags.git",
        components=[api],
        jenkins=JenkinsJobs(definition=definition),
    )


@pytest.mark.parametrize("definition", ["scm", "inline"])
def test_the_reference_is_fixed_once_right_after_the_checkout(
    definition: Literal["scm", "inline"],
) -> None:
    path, text = _jenkinsfile(_project(definition=definition))
    assert_compiles({path: text})
    assert "environment {" not in text  # not fixable before the checkout
    (tree,) = walk({path: text}, stdout={COMMIT: "abc1234\n", CLOCK: "20261207-153000\n"}).values()
    nodes = [n for n in descendants(tree[0]) if n["name"] in ("checkout", "git", "sh", "echo")]
    names = [n["name"] for n in nodes]
    first_checkout = names.index("checkout" if definition == "scm" else "git")
    # The commit and the clock are read once, right after the checkout, before any build.
    assert [n["named"].get("script") for n in nodes[first_checkout + 1 : first_checkout + 3]] == [
        COMMIT,
        CLOCK,
    ]
    assert len([n for n in nodes if n["named"].get("returnStdout")]) == 2
    (shown,) = [n["args"][0] for n in nodes if n["name"] == "echo"]
    # The branch becomes tag characters; build number from Jenkins; all fixed once.
    assert shown == "image=acme/api:feature-x-abc1234-20261207.153000-42"
    builds = [n for n in nodes if n["name"] == "sh" and "docker build" in str(n["args"])]
    assert builds
    assert all('"$IMAGE"' in str(n["args"]) for n in builds)


def test_what_git_and_date_print_is_a_valid_tag_part(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run(
        [
            "git",
            "-C",
            str(tmp_path),
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@e",
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            "x",
        ],
        check=True,
    )
    commit = subprocess.run(
        ["sh", "-c", COMMIT], cwd=tmp_path, capture_output=True, text=True, check=True
    ).stdout.strip()
    clock = subprocess.run(["sh", "-c", CLOCK], capture_output=True, text=True, check=True).stdout
    assert re.fullmatch(r"[0-9a-f]{7,}", commit)
    assert re.fullmatch(r"[0-9]{8}-[0-9]{6}", clock.strip())


def test_a_tag_fixed_at_start_stays_in_the_environment() -> None:
    web = spring_boot_backend("web", image=HUB.tagged("{branch}-{build}"), branch="release/2.0")
    project = Project("tags", repository="https://github.com/acme/tags.git", components=[web])
    _, text = _jenkinsfile(project)
    assert 'IMAGE = "acme/api:release-2.0-${env.BUILD_NUMBER}"' in text
    assert "returnStdout" not in text


def test_a_date_tag_without_checkout_is_fixed_first_in_the_first_stage() -> None:
    image = HUB.tagged("nightly-{date}")
    build = Stage("Build", [DockerBuild(image)])

    def project(first: Stage) -> Project:
        return Project(
            "tags",
            repository="https://github.com/acme/tags.git",
            components=[Component("app", Pipeline([first, build]), image=image)],
        )

    sequence = Stage("Tests", [], stages=[Stage("A", [sh("a")]), Stage("B", [sh("b")])])
    final = final_pipeline(project(sequence), project(sequence).components[0])
    first = final.stages[0].stages[0].steps[0]
    assert isinstance(first, FixImages)
    assert (first.clock, first.commit) == (True, False)
    path, text = _jenkinsfile(project(sequence))
    assert_compiles({path: text})
    # Where it might not run (a condition, parallel branches), every later step would read
    # an unset reference: refused.
    for unsure, reason in (
        (
            Stage("Tests", [], parallel=[Stage("A", [sh("a")])]),
            "stages[1 'Tests'].parallel[1 'A'], may not run",
        ),
        (Stage("Lint", [sh("x")], when=When(changeset=["a/**"])), "may not run (stages[1 'Lint'])"),
    ):
        with pytest.raises(ModelError, match=re.escape(reason)):
            render_project(project(unsure))


def test_a_checkout_that_may_not_run_cannot_fix_the_reference() -> None:
    image = HUB.tagged("{commit}")
    checkout = Stage("Checkout", [Checkout()], when=When(changeset=["api/**"]))
    project = Project(
        "tags",
        repository="https://github.com/acme/tags.git",
        components=[
            Component("app", Pipeline([checkout, Stage("B", [DockerBuild(image)])]), image=image)
        ],
    )
    with pytest.raises(
        ModelError,
        match=r"stages\[1 'Checkout'\] checks out first, but stages\[1 'Checkout'\] has a when",
    ):
        render_project(project)


def test_a_commit_tag_needs_a_checkout() -> None:
    image = HUB.tagged("{commit}")
    project = Project(
        "tags",
        repository="https://github.com/acme/tags.git",
        components=[
            Component("app", Pipeline([Stage("Build", [DockerBuild(image)])]), image=image)
        ],
    )
    with pytest.raises(ModelError, match=r"components\[app\]: an image tag with \{commit\} needs"):
        render_project(project)


def test_unknown_placeholders_are_refused_naming_the_allowed_ones() -> None:
    with pytest.raises(
        ModelError,
        match=r"unknown placeholder \{sha\}; allowed: \{build\}, "
        r"\{commit\}, \{date\}, \{time\}, \{branch\}",
    ):
        HUB.tagged("{sha}")
