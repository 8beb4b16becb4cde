"""``pipedsl sync`` of multibranch jobs (``JenkinsJobs(definition="multibranch")``) against the
Jenkins test server, through python-jenkins over real HTTP: created, then left alone; edits on the
server found and restored; pruned (Jenkins answers 200 to deleting a multibranch project);
never taken from another repository by a copied marker; a switch to or from multibranch jobs
reported as the conflict it is (Jenkins never changes an item's class)."""

from __future__ import annotations

import json
import re
import textwrap
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import jenkins
import pytest

from pipedsl.render.configxml import canonical_digest, read_marker
from tests.support.fake_jenkins import MULTIBRANCH_CLASS, WORKFLOW_JOB_CLASS, FakeJenkins
from tests.test_sync import TOKEN, sync

REPOSITORY = "https://github.com/acme/mb.git"
JOBS = ["mb/api", "mb/worker"]


@pytest.fixture
def server() -> Iterator[FakeJenkins]:
    with FakeJenkins(users={"admin": TOKEN}) as jenkins_server:
        yield jenkins_server


def write_project(
    folder: Path,
    components: tuple[str, ...] = ("api", "worker"),
    *,
    definition: str = "multibranch",
    credentials: str = "gh",
) -> Path:
    """Project ``mb`` of ``REPOSITORY`` (in the Jenkins folder ``mb``): one Spring Boot backend
    per name in ``components``, each pushing an image tagged with the branch; returns the
    projects folder."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "mb.py").write_text(
        textwrap.dedent(
            f"""\
            from pipedsl import Credential, DockerHub, JenkinsJobs, Project, spring_boot_backend


            def backend(name):
                hub = DockerHub(f"acme/{{name}}", login=Credential.username_password("hub"))
                return spring_boot_backend(name, image=hub.tagged("{{branch}}-{{build}}"))


            project = Project(
                "mb",
                repository="{REPOSITORY}",
                components=[backend(name) for name in {list(components)!r}],
                jenkins=JenkinsJobs(definition="{definition}", checkout_credentials="{credentials}"),
            )
            """
        )
    )
    return folder


@pytest.fixture
def projects(tmp_path: Path) -> Path:
    return write_project(tmp_path / "projects")


def description(config_xml: str) -> str:
    found = re.search(r"<description>(.*?)</description>", config_xml, re.DOTALL)
    assert found is not None
    return found.group(1)


def writes_to(server: FakeJenkins, since: int) -> list[tuple[str, str]]:
    """The POSTs the server received from request number ``since`` on."""
    return [request for request in server.requests[since:] if request[0] == "POST"]


def test_multibranch_jobs_are_created_then_left_unchanged(
    server: FakeJenkins, projects: Path
) -> None:
    code, out = sync(server, projects)
    assert code == 0, out
    assert "sync: 1 folder(s) created, 2 created" in out
    assert server.job_names() == JOBS
    assert [server.item_class(name) for name in JOBS] == [MULTIBRANCH_CLASS] * 2
    config = server.job_config("mb/api")
    assert config.startswith('<?xml version="1.1" encoding="UTF-8"?>')
    assert "<repoOwner>acme</repoOwner>" in config
    assert "<scriptPath>generated/mb/api/Jenkinsfile</scriptPath>" in config
    # Folder and jobs created; no build request (a multibranch job needs no --first-build).
    assert {path.split("?")[0].rsplit("/", 1)[-1] for _, path in writes_to(server, 0)} == {
        "createItem"
    }

    before = server.request_count
    code, out = sync(server, projects, "-v")
    assert code == 0, out
    assert "sync: 2 unchanged" in out
    assert server.request_count - before == 2  # the access check and the listing
    # Jenkins scans a multibranch job when it is created or updated: --first-build, which
    # starts inline jobs that never ran, asks nothing of it.
    since = len(server.requests)
    code, out = sync(server, projects, "--first-build")
    assert code == 0, out
    assert writes_to(server, since) == []
    # A dry run reads every config to look for edits: the configs, as Jenkins serves them,
    # are the rendered ones.
    before = server.request_count
    code, out = sync(server, projects, "--dry-run")
    assert code == 0, out
    assert "plan: 2 unchanged (dry run: nothing changed)" in out
    assert writes_to(server, before) == []


def test_a_changed_multibranch_project_updates_its_jobs(
    server: FakeJenkins, projects: Path
) -> None:
    assert sync(server, projects)[0] == 0
    write_project(projects, credentials="github-app")
    requests = server.request_count
    code, out = sync(server, projects)
    assert code == 0, out
    assert "sync: 2 updated" in out
    assert sorted(writes_to(server, requests)) == [
        ("POST", f"/job/mb/job/{name}/config.xml") for name in ("api", "worker")
    ]
    assert "<credentialsId>github-app</credentialsId>" in server.job_config("mb/api")
    code, out = sync(server, projects, "--dry-run")
    assert code == 0, out
    assert "plan: 2 unchanged" in out


def test_a_multibranch_job_edited_on_the_server_is_reported_and_restored_with_drift(
    server: FakeJenkins, projects: Path
) -> None:
    assert sync(server, projects)[0] == 0
    rendered = server.job_config("mb/api")
    edited = rendered.replace("<numToKeep>-1</numToKeep>", "<numToKeep>5</numToKeep>")
    assert edited != rendered
    server.put_job("mb/api", edited)
    code, out = sync(server, projects, "--dry-run")
    assert code == 1, out
    assert "edited    mb/api: edited on the server since the last sync" in out
    assert server.job_config("mb/api") == edited
    code, out = sync(server, projects, "--drift")
    assert code == 0, out
    assert "sync: 1 restored, 1 unchanged" in out
    assert server.job_config("mb/api") == rendered


def test_prune_deletes_a_multibranch_job_no_project_defines(
    server: FakeJenkins, projects: Path
) -> None:
    assert sync(server, projects)[0] == 0
    write_project(projects, ("api",))
    code, out = sync(server, projects)
    assert code == 0, out
    assert server.job_names() == JOBS  # no --prune, no deletion
    before = server.request_count
    code, out = sync(server, projects, "--prune")
    assert code == 0, out
    assert "sync: 1 deleted, 1 unchanged" in out
    assert server.job_names() == ["mb/api"]
    # One delete, which Jenkins answers with 200 for a multibranch project (not a redirect).
    assert writes_to(server, before) == [("POST", "/job/mb/job/worker/doDelete")]


def test_a_multibranch_job_of_another_repository_with_a_copied_marker_is_never_touched(
    server: FakeJenkins, projects: Path
) -> None:
    assert sync(server, projects)[0] == 0
    ours = server.job_config("mb/api")
    marker = read_marker(description(ours))
    assert marker is not None
    other_source = ours.replace("<repoOwner>acme</repoOwner>", "<repoOwner>evil</repoOwner>")
    assert other_source != ours
    # Where a job of ours goes: our marker, with an older digest (so sync would update it), on
    # a multibranch job building another repository.
    server.put_job("mb/api", other_source.replace(marker.digest, "1" * 64))
    # Beside it, an orphan for --prune: a marker naming the job itself, with the digest of the
    # config it sits in (anyone can compute it), on a job building another repository.
    handmade = other_source.replace("job=mb/api;", "job=mb/handmade;").replace(
        marker.digest, canonical_digest(other_source)
    )
    server.put_job("mb/handmade", handmade)
    before = {name: server.job_config(name) for name in ("mb/api", "mb/handmade")}
    requests = server.request_count
    code, out = sync(server, projects, "--prune", "--drift")
    assert code == 1, out
    assert (
        "conflict  mb/api: its description carries pipedsl's marker, but the marker does not "
        "belong to its config" in out
    )
    assert "edited    mb/handmade: no project defines it, but its config was edited" in out
    assert {name: server.job_config(name) for name in before} == before
    assert writes_to(server, requests) == []
    # The same orphan whose branch source names our repository (GitHub ignores case) is ours.
    ours_again = other_source.replace("<repoOwner>evil</repoOwner>", "<repoOwner>ACME</repoOwner>")
    server.put_job(
        "mb/handmade",
        ours_again.replace("job=mb/api;", "job=mb/handmade;").replace(
            marker.digest, canonical_digest(ours_again)
        ),
    )
    code, out = sync(server, projects, "--prune")
    assert "1 deleted" in out
    assert server.job_names() == JOBS


KINDS = {"scm": "a pipeline job", "inline": "a pipeline job", "multibranch": "a multibranch job"}


@pytest.mark.parametrize(("before", "after"), [("scm", "multibranch"), ("multibranch", "inline")])
def test_switching_to_or_from_multibranch_jobs_is_a_conflict_until_the_old_job_is_deleted(
    server: FakeJenkins, tmp_path: Path, before: str, after: str
) -> None:
    projects = write_project(tmp_path / "projects", definition=before)
    assert sync(server, projects)[0] == 0
    old_class = server.item_class("mb/api")
    old = {name: server.job_config(name) for name in JOBS}
    write_project(projects, definition=after)
    requests = server.request_count
    # Jenkins refuses a config.xml of another class (500, "Expecting class ... but got class
    # ... instead"): sync says why it cannot update the job, and sends nothing.
    code, out = sync(server, projects)
    assert code == 1, out
    assert (
        f"conflict  mb/api: it is {KINDS[before]} on Jenkins and its project now makes it "
        f"{KINDS[after]}; "
        "Jenkins cannot change the class of a job, so delete the job on Jenkins" in out
    )
    assert "sync: 2 in conflict (not touched)" in out
    assert writes_to(server, requests) == []
    assert {name: server.job_config(name) for name in JOBS} == old
    # Once the old job is gone, sync makes the new one.
    jenkins.Jenkins(server.url, username="admin", password=TOKEN, timeout=5).delete_job("mb/api")
    code, out = sync(server, projects)
    assert code == 1, out
    assert "1 created" in out
    assert server.item_class("mb/api") != old_class
    assert server.item_class("mb/api") in (WORKFLOW_JOB_CLASS, MULTIBRANCH_CLASS)
    assert server.item_class("mb/worker") == old_class


def test_a_push_reaches_the_synced_multibranch_jobs(server: FakeJenkins, projects: Path) -> None:
    assert sync(server, projects)[0] == 0

    def push(owner: str, name: str) -> None:
        repository = {
            "name": name,
            "owner": {"login": owner, "name": owner},
            "html_url": f"https://github.com/{owner}/{name}",
        }
        request = urllib.request.Request(  # noqa: S310  (the local test server)
            f"{server.url}/github-webhook/",
            data=json.dumps({"ref": "refs/heads/feature/x", "repository": repository}).encode(),
            headers={"Content-Type": "application/json", "X-GitHub-Event": "push"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310  (as above)
            assert response.status == 200

    push("acme", "other")
    assert server.indexings == []
    push("Acme", "MB")  # GitHub owner and repository names ignore case
    assert server.indexings == [("mb/api", "webhook"), ("mb/worker", "webhook")]
    assert server.triggered == []
