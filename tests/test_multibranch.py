"""Multibranch jobs: branches and pull requests get builds of their own, branch and pull
request conditions hold there (and are refused where they never could), only the deploy branch
pushes, waits for approval or deploys, and the job's config.xml says exactly what Jenkins
discovers (read back by the JDK's XML 1.1 parser)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pipedsl import (
    Approval,
    Branches,
    Component,
    Credential,
    DockerBuild,
    DockerHub,
    DockerPush,
    Echo,
    GroovyExpr,
    GString,
    JenkinsJobs,
    ModelError,
    Pipeline,
    Post,
    Project,
    Stage,
    Triggers,
    When,
    render_project,
    sh,
    spring_boot_backend,
)
from tests.support.declarative import DEFAULT_ENV, children, descendants, walk
from tests.support.groovy import assert_compiles
from tests.support.jdk_xml import read_leaves

HUB = DockerHub("acme/api", login=Credential.username_password("hub"))
REPO = "https://github.com/Acme/Shop.git"
ROOT = "org.jenkinsci.plugins.workflow.multibranch.WorkflowMultiBranchProject"
TRAITS = "org.jenkinsci.plugins.github__branch__source"


def _project(component: Component, **jobs: Any) -> Project:
    return Project(
        "shop",
        repository=REPO,
        branch="main",
        components=[component],
        jenkins=JenkinsJobs(definition="multibranch", **jobs),
    )


def _files(project: Project) -> dict[str, str]:
    return {a.path: a.text for a in render_project(project)}


def _api() -> Component:
    api = spring_boot_backend("api", image=HUB.tagged("{branch}-{build}"))
    pipeline = api.pipeline.append(
        Stage("Approve", [sh("true")], approval=Approval(["ops"])),
        Stage("Show", [Echo(GString("image=", GroovyExpr("env.IMAGE")))]),
        Stage("Only PRs", [sh("./preview")], when=When(change_request="main")),
    )
    return Component("api", pipeline, image=api.image)


def _stage(tree: dict[str, Any], name: str) -> dict[str, Any]:
    (node,) = [n for n in descendants(tree) if n["name"] == "stage" and n["args"][0] == name]
    return node


def test_only_the_deploy_branch_pushes_or_waits_for_approval() -> None:
    files = _files(_project(_api()))
    jenkinsfile = files["shop/api/Jenkinsfile"]
    assert_compiles({"Jenkinsfile": jenkinsfile})
    env = {**DEFAULT_ENV, "BRANCH_NAME": "feature/login-2"}
    ((tree,),) = walk({"Jenkinsfile": jenkinsfile}, env=env).values()
    gated = {}
    for stage in ("Docker Build", "Docker Push", "Approve", "Only PRs", "Project Test"):
        when = children(_stage(tree, stage), "when")
        gated[stage] = [(c["name"], c["args"]) for c in when[0]["children"]] if when else None
    assert gated == {
        "Docker Build": None,  # every branch and pull request builds and tests
        "Project Test": None,
        "Docker Push": [("beforeAgent", [True]), ("branch", ["main"])],
        # Decided before anyone is asked: a pull request never waits for an approval.
        "Approve": [("beforeAgent", [True]), ("beforeInput", [True]), ("branch", ["main"])],
        # The author said which builds it is for: left as written.
        "Only PRs": [("changeRequest", [])],
    }
    (pr,) = [n for n in descendants(_stage(tree, "Only PRs")) if n["name"] == "changeRequest"]
    assert pr["named"] == {"target": "main"}
    # {branch} is the build's own branch (or PR-<n>), as tag characters.
    (shown,) = [n["args"][0] for n in descendants(tree) if n["name"] == "echo"]
    assert shown == "image=acme/api:feature-login-2-42"


def test_a_stage_whose_when_names_branches_is_left_as_written() -> None:
    stages = [
        Stage("Build", [sh("make")]),
        Stage("Push", [sh("x")], when=When(branch="release/*")),
    ]
    pipeline = Pipeline(stages)
    files = _files(_project(Component("app", pipeline)))
    assert "branch 'release/*'" in files["shop/app/Jenkinsfile"]
    assert "branch 'main'" not in files["shop/app/Jenkinsfile"]


@pytest.mark.parametrize(
    "when",
    [
        When(branch="main"),
        When(change_request=True),
        When(any_of=[When(expression=GroovyExpr("true")), When(not_=When(branch="x"))]),
    ],
)
def test_branch_conditions_are_refused_where_they_never_hold(when: When) -> None:
    project = Project(
        "shop",
        repository=REPO,
        branch="main",
        components=[Component("app", Pipeline([Stage("Deploy", [sh("x")], when=when)]))],
    )
    with pytest.raises(ModelError) as caught:
        render_project(project)
    message = str(caught.value)
    assert "components[app].pipeline.stages[1 " in message
    assert "].when" in message
    assert "never holds here" in message
    assert "JenkinsJobs(definition='multibranch')" in message


def test_the_config_says_what_jenkins_discovers(tmp_path: Path) -> None:
    component = Component("app", Pipeline([Stage("Build", [sh("make")])]))
    configs = {
        "default": _files(_project(component))["shop/app/config.xml"],
        "chosen": _files(
            _project(
                component,
                checkout_credentials="github-token",
                branches=Branches(["main", "release/*"], forks=True, prune=False, scan_hours=2),
            )
        )["shop/app/config.xml"],
        "no-prs": _files(_project(component, branches=Branches(pull_requests=False)))[
            "shop/app/config.xml"
        ],
    }
    paths = []
    for name, text in configs.items():
        paths.append(tmp_path / f"{name}.xml")
        paths[-1].write_text(text, encoding="utf-8")
    read = read_leaves(paths)
    leaves = dict(zip(configs, read, strict=True))
    for value in leaves.values():
        assert isinstance(value, dict)
    default, chosen, no_prs = (leaves[k] for k in ("default", "chosen", "no-prs"))
    assert isinstance(default, dict)
    assert isinstance(chosen, dict)
    assert isinstance(no_prs, dict)
    source = f"{ROOT}/sources/data/jenkins.branch.BranchSource/source"
    assert default[f"{source}/repoOwner"] == ["Acme"]
    assert default[f"{source}/repository"] == ["Shop"]
    assert default[f"{source}/repositoryUrl"] == ["https://github.com/Acme/Shop"]
    assert f"{source}/credentialsId" not in default
    assert chosen[f"{source}/credentialsId"] == ["github-token"]
    assert default[f"{ROOT}/factory/scriptPath"] == ["generated/shop/app/Jenkinsfile"]
    traits = f"{source}/traits"
    # Branches filed as pull requests build as the pull request; forks only when asked for.
    assert default[f"{traits}/{TRAITS}.BranchDiscoveryTrait/strategyId"] == ["1"]
    assert default[f"{traits}/{TRAITS}.OriginPullRequestDiscoveryTrait/strategyId"] == ["1"]
    assert not [k for k in default if "ForkPullRequestDiscoveryTrait" in k]
    assert [k for k in chosen if "ForkPullRequestDiscoveryTrait" in k]
    assert no_prs[f"{traits}/{TRAITS}.BranchDiscoveryTrait/strategyId"] == ["3"]
    assert not [k for k in no_prs if "PullRequest" in k]
    # A branch filter keeps pull requests (heads named PR-<n>) when they are built.
    wildcard = f"{traits}/jenkins.scm.impl.trait.WildcardSCMHeadFilterTrait/includes"
    assert chosen[wildcard] == ["main release/* PR-*"]
    orphans = f"{ROOT}/orphanedItemStrategy/pruneDeadBranches"
    assert (default[orphans], chosen[orphans]) == (["true"], ["false"])
    scan = f"{ROOT}/triggers/com.cloudbees.hudson.plugins.folder.computed.PeriodicFolderTrigger"
    assert (default[f"{scan}/interval"], chosen[f"{scan}/interval"]) == (["86400000"], ["7200000"])


def test_setup_names_the_plugins_and_the_pull_request_event() -> None:
    files = _files(_project(Component("app", Pipeline([Stage("Build", [sh("make")])]))))
    plugins = files["shop/jenkins/plugins.txt"].split()
    assert {"github-branch-source", "workflow-multibranch", "branch-api"} <= set(plugins)
    setup = files["shop/jenkins/SETUP.md"]
    assert "events `push` and `pull_request`" in setup
    assert "anonymous rate limit" in setup


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda: Project(
                "shop",
                repository="https://gitlab.com/acme/shop.git",
                components=[Component("app", Pipeline([Stage("B", [sh("x")])]))],
                jenkins=JenkinsJobs(definition="multibranch"),
            ),
            "jenkins.definition: multibranch jobs need a GitHub repository",
        ),
        (
            lambda: _project(
                Component("app", Pipeline([Stage("B", [sh("x")])])),
                branches=Branches(["release/*"]),
            ),
            "jenkins.branches.include: component 'app' deploys from 'main', which none of "
            "['release/*'] selects",
        ),
        (
            lambda: _project(
                Component("app", Pipeline([Stage("B", [sh("x")])]), triggers=Triggers("H 2 * * *"))
            ),
            "components[app].triggers: a multibranch job has no cron or polling triggers",
        ),
        (
            lambda: JenkinsJobs(branches=Branches()),
            "JenkinsJobs.branches: branches apply to multibranch jobs",
        ),
        (lambda: Branches(["two words"]), "without spaces"),
        (lambda: When(change_request=""), "expected True (any pull request)"),
    ],
)
def test_multibranch_settings_refuse_what_cannot_work(build: Any, message: str) -> None:
    with pytest.raises(ModelError) as caught:
        render_project(build())
    assert message in str(caught.value)


def test_tags_are_built_when_asked_for_and_a_tag_condition_holds_there(tmp_path: Path) -> None:
    release = Stage("Release", [sh("./release")], when=When(tag="v*"))
    component = Component("app", Pipeline([Stage("Build", [sh("make")]), release]))
    files = _files(_project(component, branches=Branches(["main"], tags=["v*"], tag_days=2)))
    jenkinsfile = files["shop/app/Jenkinsfile"]
    assert_compiles({"Jenkinsfile": jenkinsfile})
    env = {**DEFAULT_ENV, "BRANCH_NAME": "v1.2.0", "TAG_NAME": "v1.2.0"}
    ((tree,),) = walk({"Jenkinsfile": jenkinsfile}, env=env).values()
    (when,) = children(_stage(tree, "Release"), "when")
    # The author's tag condition decides: no deploy-branch condition is added to it.
    assert [(c["name"], c["args"]) for c in when["children"]] == [("tag", ["v*"])]
    path = tmp_path / "config.xml"
    path.write_text(files["shop/app/config.xml"], encoding="utf-8")
    (leaves,) = read_leaves([path])
    assert isinstance(leaves, dict)
    source = f"{ROOT}/sources/data/jenkins.branch.BranchSource"
    traits = f"{source}/source/traits"
    assert f"{traits}/{TRAITS}.TagDiscoveryTrait" in leaves
    wildcard = f"{traits}/jenkins.scm.impl.trait.WildcardSCMHeadFilterTrait/includes"
    assert leaves[wildcard] == ["main PR-* v*"]
    # Once a build strategy is set only what one accepts builds: branches, pull requests and
    # tags of the last tag_days days (not every old tag a first scan finds).
    basic = f"{source}/buildStrategies/jenkins.branch.buildstrategies.basic"
    assert f"{basic}.BranchBuildStrategyImpl" in leaves
    assert leaves[f"{basic}.ChangeRequestBuildStrategyImpl/ignoreTargetOnlyChanges"] == ["false"]
    assert leaves[f"{basic}.TagBuildStrategyImpl/atMostMillis"] == [str(2 * 86_400_000)]
    assert "basic-branch-build-strategies" in files["shop/jenkins/plugins.txt"].split()


def test_a_tag_condition_where_no_tag_is_built_is_refused() -> None:
    stage = Stage("Release", [sh("./release")], when=When(tag="v*"))
    with pytest.raises(ModelError) as caught:
        render_project(_project(Component("app", Pipeline([stage]))))
    assert "components[app].pipeline.stages[1 'Release'].when.tag: never holds here" in str(
        caught.value
    )
    assert "Branches(tags=['v*'])" in str(caught.value)


def test_a_when_that_does_not_limit_branches_itself_still_gets_the_deploy_branch() -> None:
    image = HUB.tagged("{build}")
    stages = [
        Stage("Build", [DockerBuild(image)]),
        Stage("Push", [DockerPush(image)], when=When(not_=When(branch="release/*"))),
        Stage(
            "Push again",
            [DockerPush(image)],
            when=When(any_of=[When(branch="main"), When(expression=GroovyExpr("true"))]),
        ),
        Stage("Ship", [DockerPush(image)], when=When(changeset=["api/**"])),
    ]
    text = _files(_project(Component("app", Pipeline(stages), image=image)))["shop/app/Jenkinsfile"]
    ((tree,),) = walk({"Jenkinsfile": text}).values()
    for name in ("Push", "Push again", "Ship"):
        (when,) = children(_stage(tree, name), "when")
        assert ("branch", ["main"]) in [(c["name"], c["args"]) for c in when["children"]], name
    # Decided before the agent starts, unless an expression may need the workspace.
    (ship,) = children(_stage(tree, "Ship"), "when")
    assert ship["children"][0]["name"] == "beforeAgent"
    (again,) = children(_stage(tree, "Push again"), "when")
    assert "beforeAgent" not in [c["name"] for c in again["children"]]


def test_a_push_in_a_post_block_of_a_multibranch_job_is_refused() -> None:
    image = HUB.tagged("{build}")
    stage = Stage("Build", [DockerBuild(image)], post=Post(success=[DockerPush(image)]))
    with pytest.raises(ModelError) as caught:
        render_project(_project(Component("app", Pipeline([stage]), image=image)))
    assert (
        "components[app].pipeline.stages[1 'Build'].post.success[0]: a push, ship or deploy in a "
        in (str(caught.value))
    )
