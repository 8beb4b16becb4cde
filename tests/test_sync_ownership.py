"""Which jobs ``pipedsl sync`` may change: only those its marker gives to the owner that renders
them (a project *of a repository*), and only while the marker belongs to the config it sits in.

Two repositories may share a Jenkins folder and a project name; someone may copy or forge a
marker into a job's description. Neither may make pipedsl update or delete a job it does not own.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipedsl.jenkins.client import FOLDER, Item
from pipedsl.jenkins.sync import DesiredJob, Owner, plan_sync
from pipedsl.render.configxml import canonical_digest, read_marker
from tests.conftest import seed_projects
from tests.support.fake_jenkins import FakeJenkins
from tests.test_sync import FOREIGN_JOB, TOKEN, project_file, sync


@pytest.fixture
def server() -> Iterator[FakeJenkins]:
    with FakeJenkins(users={"admin": TOKEN}) as jenkins:
        yield jenkins


@pytest.fixture
def projects(tmp_path: Path) -> Path:
    seed_projects(tmp_path / "projects")
    return tmp_path / "projects"


def shared_project(folder: Path, repository: str, components: int = 2) -> Path:
    """Project ``shop`` of ``repository`` with jobs in the Jenkins folder ``shared``; each
    repository's components have their own names."""
    path = project_file(folder, repository=repository, components=components)
    prefix = re.sub(r"\W", "", repository.rsplit("/", 1)[-1].removesuffix(".git"))
    text = path.read_text().replace('f"app{i:02d}"', f'f"{prefix}{{i:02d}}"')
    text = text.replace('    branch="develop",\n', '    branch="develop",\n    folder="shared",\n')
    path.write_text(text)
    return path


def description(config_xml: str) -> str:
    found = re.search(r"<description>(.*?)</description>", config_xml, re.DOTALL)
    assert found is not None
    return found.group(1)


def test_two_repositories_sharing_a_folder_and_a_project_name_never_prune_each_other(
    server: FakeJenkins, tmp_path: Path
) -> None:
    one = tmp_path / "one"
    two = tmp_path / "two"
    shared_project(one, "https://github.com/acme/shop-api.git")
    shared_project(two, "https://github.com/acme/shop-web.git")
    assert sync(server, one)[0] == 0
    assert sync(server, two)[0] == 0
    theirs = {name: server.job_config(name) for name in ("shared/shopapi00", "shared/shopapi01")}
    code, out = sync(server, two, "--prune")
    assert code == 0, out
    assert "deleted" not in out
    assert {name: server.job_config(name) for name in theirs} == theirs
    # The other repository's job of the same name is not taken over either.
    (two / "shop.py").write_text((two / "shop.py").read_text().replace("shopweb", "shopapi"))
    code, out = sync(server, two)
    assert code == 1
    assert (
        "managed by pipedsl for project 'shop' of repository https://github.com/acme/shop-api.git"
        in out
    )
    assert {name: server.job_config(name) for name in theirs} == theirs


def test_a_marker_copied_into_another_job_never_makes_sync_touch_it(
    server: FakeJenkins, projects: Path
) -> None:
    assert sync(server, projects)[0] == 0
    ours = server.job_config("lat32t/backend")
    marker = read_marker(description(ours))
    assert marker is not None
    forged_line = (
        f"[managed by pipedsl; project=lat32t; repository={marker.repository}; job=lat32t/%s; "
        f"digest={marker.digest}]"
    )
    # A hand-made job whose description carries a marker naming itself and our owner, with
    # the digest of a real managed config, but a config of its own.
    forged = FOREIGN_JOB.replace("<description>", "<description>mine\n" + forged_line % "handmade")
    assert forged != FOREIGN_JOB
    server.put_job("lat32t/handmade", forged)
    # And one where a job of ours goes, with a stale digest, so sync would want to update it.
    stale = forged_line.replace(marker.digest, "1" * 64) % "frontend"
    server.put_job("lat32t/frontend", FOREIGN_JOB.replace("<description>", "<description>" + stale))
    before = {name: server.job_config(name) for name in ("lat32t/handmade", "lat32t/frontend")}
    code, out = sync(server, projects, "--prune")
    assert code == 1, out
    assert (
        "conflict  lat32t/frontend: its description carries pipedsl's marker, but the marker does not belong to its config"
        in out
    )
    assert "lat32t/handmade" in out
    assert "deleted" not in out
    assert {name: server.job_config(name) for name in before} == before
    # --drift restores only jobs that still build the project's repository: not these.
    code, out = sync(server, projects, "--prune", "--drift")
    assert code == 1, out
    assert {name: server.job_config(name) for name in before} == before


def test_an_edited_managed_job_is_left_alone_unless_drift_restores_it(
    server: FakeJenkins, projects: Path
) -> None:
    assert sync(server, projects)[0] == 0
    config = server.job_config("lat32t/backend")
    # Edited on the server, and an older render recorded in its marker (so sync would update).
    edited = config.replace("<lightweight>true</lightweight>", "<lightweight>false</lightweight>")
    digest = read_marker(description(config))
    assert digest is not None
    edited = edited.replace(digest.digest, "2" * 64)
    server.put_job("lat32t/backend", edited)
    code, out = sync(server, projects)
    assert code == 1, out
    assert "edited    lat32t/backend: edited on the server since the last sync" in out
    assert server.job_config("lat32t/backend") == edited
    code, out = sync(server, projects, "--drift")
    assert code == 0, out
    assert canonical_digest(server.job_config("lat32t/backend")) == digest.digest


def test_jobs_of_an_earlier_marker_are_taken_over_when_they_build_the_repository(
    server: FakeJenkins, projects: Path
) -> None:
    assert sync(server, projects)[0] == 0
    config = server.job_config("lat32t/backend")
    legacy = re.sub(r"repository=[^;]+; ", "", config)
    assert "repository=" not in description(legacy)
    server.put_job("lat32t/backend", legacy)
    code, out = sync(server, projects, "--dry-run")
    assert "update    lat32t/backend  (taking over a job of an earlier pipedsl)" in out
    code, out = sync(server, projects)
    assert code == 0, out
    assert canonical_digest(server.job_config("lat32t/backend")) == canonical_digest(config)
    # An earlier marker on a job that builds something else is not taken over.
    server.put_job(
        "lat32t/backend",
        FOREIGN_JOB.replace(
            "<description>",
            "<description>"
            + (
                re.search(r"\[managed by pipedsl[^\]]*\]", description(legacy)).group()  # type: ignore[union-attr]
            ),
        ),
    )
    code, out = sync(server, projects)
    assert code == 1
    assert "pipedsl will not take it over" in out


def _marker(project: str, repository: str, job: str, digest: str = "0" * 64) -> str:
    return f"x\n[managed by pipedsl; project={project}; repository={repository}; job={job}; digest={digest}]"


def test_prune_plans_deletes_only_for_owned_jobs_whose_config_matches_the_marker() -> None:
    ours = Owner("shop", "https://github.com/acme/one.git")
    existing = {
        "shared/ours-old": Item(
            "shared/ours-old", "job", _marker("shop", ours.repository, "shared/ours-old")
        ),
        "shared/ours-edited": Item(
            "shared/ours-edited", "job", _marker("shop", ours.repository, "shared/ours-edited")
        ),
        "shared/theirs": Item(
            "shared/theirs",
            "job",
            _marker("shop", "https://github.com/acme/two.git", "shared/theirs"),
        ),
        "elsewhere/ours": Item(
            "elsewhere/ours", "job", _marker("shop", ours.repository, "elsewhere/ours")
        ),
    }
    builds_ours = _scm_job(ours.repository)
    configs = {
        "shared/ours-old": builds_ours,
        "shared/ours-edited": builds_ours,
        "shared/forged": FOREIGN_JOB,
        "shared/prefix": _scm_job(ours.repository.removesuffix(".git") + "-legacy.git"),
    }
    for name, config in configs.items():
        # Every marker names the job and our owner; all but "ours-edited" carry the digest of
        # the config they sit in (a forger can compute it too).
        digest = canonical_digest(config) if name != "shared/ours-edited" else "0" * 64
        existing[name] = Item(name, "job", _marker("shop", ours.repository, name, digest))
    plan = plan_sync(
        [],
        existing,
        prune=True,
        managed_folders=["shared"],
        owners=[ours],
        configs=configs,
    )
    # Deleted only: a job whose marker belongs to its config and whose config builds exactly
    # our repository. A hand-made job (digest forged) and one building another repository
    # whose URL merely starts like ours are left alone.
    assert [(c.action, c.job) for c in plan.changes] == [
        ("edited", "shared/forged"),
        ("edited", "shared/ours-edited"),
        ("delete", "shared/ours-old"),
        ("edited", "shared/prefix"),
    ]


def _scm_job(repository: str) -> str:
    return f"""<?xml version='1.1' encoding='UTF-8'?>
<flow-definition plugin="workflow-job"><description>x</description>
<definition class="org.jenkinsci.plugins.workflow.cps.CpsScmFlowDefinition" plugin="workflow-cps">
<scm class="hudson.plugins.git.GitSCM" plugin="git"><userRemoteConfigs>
<hudson.plugins.git.UserRemoteConfig><url>{repository}</url></hudson.plugins.git.UserRemoteConfig>
</userRemoteConfigs></scm><scriptPath>Jenkinsfile</scriptPath></definition></flow-definition>"""


def test_a_job_of_an_earlier_marker_building_a_repository_whose_url_starts_like_ours_is_not_taken_over() -> (
    None
):
    ours = "https://github.com/acme/shop.git"
    job = DesiredJob(
        "f/j",
        _scm_job(ours).replace(
            "<description>x", "<description>x\n" + _marker("shop", ours, "f/j")[2:]
        ),
    )
    legacy = "x\n[managed by pipedsl; project=shop; job=f/j; digest=" + "1" * 64 + "]"
    other = _scm_job("https://github.com/acme/shop.git-legacy")
    mention = _scm_job("https://github.com/acme/else.git").replace(
        "<scriptPath>Jenkinsfile", f"<scriptPath>{ours}"
    )
    for config, action in ((other, "conflict"), (mention, "conflict"), (_scm_job(ours), "update")):
        plan = plan_sync(
            [job],
            {"f": Item("f", FOLDER, None), "f/j": Item("f/j", "job", legacy)},
            configs={"f/j": config},
        )
        assert [c.action for c in plan.changes] == [action], config


def test_a_desired_job_whose_config_was_not_read_is_never_updated() -> None:
    job = DesiredJob(
        "f/j",
        FOREIGN_JOB.replace(
            "<description>",
            "<description>" + _marker("shop", "https://github.com/acme/one.git", "f/j", "3" * 64),
        ),
    )
    item = Item("f/j", "job", _marker("shop", "https://github.com/acme/one.git", "f/j"))
    plan = plan_sync([job], {"f": Item("f", FOLDER, None), "f/j": item})
    assert [c.action for c in plan.changes] == ["conflict"]


def test_managed_projects_is_deprecated_and_prunes_nothing() -> None:
    existing = {
        "f/j": Item("f/j", "job", _marker("shop", "https://github.com/acme/one.git", "f/j"))
    }
    with pytest.warns(DeprecationWarning, match="owners="):
        plan = plan_sync([], existing, prune=True, managed_folders=["f"], managed_projects=["shop"])
    assert plan.changes == ()
