"""pipedsl sync against the Jenkins test server, through python-jenkins over real HTTP."""

from __future__ import annotations

import json
import shutil
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipedsl.cli import app
from pipedsl.jenkins.client import PythonJenkinsClient
from tests.conftest import ROOT
from tests.support.fake_jenkins import FakeJenkins

TOKEN = "s3cr3t-api-token-value"  # noqa: S105  (a test token, checked never to be printed)
runner = CliRunner()

FOREIGN_JOB = """<?xml version='1.1' encoding='UTF-8'?>
<flow-definition plugin="workflow-job"><description>hand made</description>
<definition class="org.jenkinsci.plugins.workflow.cps.CpsFlowDefinition" plugin="workflow-cps">
<script>pipeline { agent any; stages { stage('x') { steps { echo 'x' } } } }</script><sandbox>true</sandbox>
</definition></flow-definition>"""


@pytest.fixture
def server() -> Iterator[FakeJenkins]:
    with FakeJenkins(users={"admin": TOKEN}) as jenkins:
        yield jenkins


@pytest.fixture
def projects(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "projects", tmp_path / "projects")
    return tmp_path / "projects"


def _sync(server: FakeJenkins, projects: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(
        app,
        [
            "sync",
            "--projects",
            str(projects),
            "--url",
            server.url,
            "--user",
            "admin",
            "--token",
            TOKEN,
            *args,
        ],
    )
    assert TOKEN not in result.output
    return result.exit_code, result.output


def test_first_sync_creates_all_then_nothing_changes(server: FakeJenkins, projects: Path) -> None:
    code, out = _sync(server, projects, "-v")
    assert code == 0, out
    assert server.job_names() == ["lat32t/backend", "lat32t/frontend"]
    config = server.job_config("lat32t/backend")
    assert "com.cloudbees.jenkins.GitHubPushTrigger" in config
    assert "<scriptPath>generated/lat32t/backend/Jenkinsfile</scriptPath>" in config
    writes = server.writes
    before = server.request_count
    code, out = _sync(server, projects, "-v")
    assert code == 0, out
    assert server.writes == writes  # zero writes
    assert server.request_count - before <= 3
    assert "2 unchanged" in out
    assert "requests: 2" in out


def test_edit_to_one_component_updates_exactly_its_job(server: FakeJenkins, projects: Path) -> None:
    source = projects / "lat32t.py"
    inline = source.read_text().replace(
        '    branch="develop",\n', '    branch="develop",\n    jenkins=JenkinsJobs("inline"),\n'
    )
    source.write_text("from pipedsl.model.jobs import JenkinsJobs\n" + inline)
    assert _sync(server, projects)[0] == 0
    assert "<sandbox>true</sandbox>" in server.job_config("lat32t/backend")
    frontend_before = server.job_config("lat32t/frontend")
    # The inline job embeds its Jenkinsfile: changing the backend's image tag changes its job.
    source.write_text(source.read_text().replace('"backend-{build}"', '"api-{build}"'))
    code, out = _sync(server, projects, "-v")
    assert code == 0, out
    assert "1 update, 1 unchanged" in out
    assert server.job_config("lat32t/frontend") == frontend_before


def test_prune_removes_only_managed_orphans(server: FakeJenkins, projects: Path) -> None:
    assert _sync(server, projects)[0] == 0
    server.put_job("lat32t/old", server.job_config("lat32t/backend"))
    server.put_job("lat32t/handmade", FOREIGN_JOB)
    server.put_job("other/job", server.job_config("lat32t/backend"))
    code, out = _sync(server, projects, "--dry-run")
    assert "delete" not in out  # no --prune, no deletion planned
    code, out = _sync(server, projects, "--prune")
    assert code == 0, out
    assert server.job_names() == [
        "lat32t/backend",
        "lat32t/frontend",
        "lat32t/handmade",
        "other/job",
    ]


def test_foreign_job_of_the_same_name_blocks(server: FakeJenkins, projects: Path) -> None:
    server.put_job("lat32t/backend", FOREIGN_JOB)
    code, out = _sync(server, projects)
    assert code == 1
    assert (
        "conflict  lat32t/backend: a job of this name exists and pipedsl does not manage it" in out
    )
    assert "hand made" in server.job_config("lat32t/backend")


def test_server_edit_is_reported_as_drift(server: FakeJenkins, projects: Path) -> None:
    assert _sync(server, projects)[0] == 0
    edited = server.job_config("lat32t/backend").replace(
        "<disabled>false</disabled>", "<disabled>true</disabled>"
    )
    server.put_job("lat32t/backend", edited)
    writes = server.writes
    code, out = _sync(server, projects, "--dry-run")
    assert code == 0
    assert "drift     lat32t/backend" in out
    assert server.writes == writes
    assert _sync(server, projects)[0] == 0  # without --dry-run drift is not looked for...
    assert "<disabled>true</disabled>" in server.job_config("lat32t/backend")


def test_transient_server_errors_are_retried(server: FakeJenkins, projects: Path) -> None:
    server.fail_at(3, 503)
    server.fail_at(4, "drop")
    code, out = _sync(server, projects)
    assert code == 0, out
    assert server.job_names() == ["lat32t/backend", "lat32t/frontend"]


def test_persistent_failure_reports_what_was_done_and_rerun_converges(
    server: FakeJenkins, projects: Path
) -> None:
    server.fail_at(4, 500)
    server.fail_at(5, 500)
    server.fail_at(6, 500)
    server.fail_at(7, 500)
    code, out = _sync(server, projects, "--workers", "1")
    assert code == 1
    assert "Jenkins answered 500 (gave up after 4 attempts)" in out
    assert "not done:" in out
    code, out = _sync(server, projects)
    assert code == 0, out
    assert server.job_names() == ["lat32t/backend", "lat32t/frontend"]


def test_bad_token(server: FakeJenkins, projects: Path) -> None:
    result = runner.invoke(
        app,
        [
            "sync",
            "--projects",
            str(projects),
            "--url",
            server.url,
            "--user",
            "admin",
            "--token",
            "wrong-token",
        ],
    )
    assert result.exit_code == 1
    assert "Jenkins rejected the credentials (401)" in result.output
    assert "wrong-token" not in result.output


def test_connection_refused(projects: Path) -> None:
    result = runner.invoke(
        app,
        [
            "sync",
            "--projects",
            str(projects),
            "--url",
            "http://127.0.0.1:9",
            "--user",
            "a",
            "--token",
            TOKEN,
        ],
    )
    assert result.exit_code == 1
    assert "connection to http://127.0.0.1:9 refused" in result.output
    assert TOKEN not in result.output


def test_settings_from_environment(
    server: FakeJenkins, projects: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PIPEDSL_JENKINS_URL", server.url)
    monkeypatch.setenv("PIPEDSL_JENKINS_USER", "admin")
    monkeypatch.setenv("PIPEDSL_JENKINS_TOKEN", TOKEN)
    result = runner.invoke(app, ["sync", "--projects", str(projects)])
    assert result.exit_code == 0, result.output
    assert server.job_names() == ["lat32t/backend", "lat32t/frontend"]


def test_push_event_triggers_exactly_the_jobs_of_that_repository_and_branch(
    server: FakeJenkins, projects: Path
) -> None:
    assert _sync(server, projects)[0] == 0
    server.put_job(
        "other/job", server.job_config("lat32t/backend").replace("be02-fin-LAT32T-SSM", "elsewhere")
    )

    def push(branch: str) -> int:
        body = json.dumps(
            {
                "ref": f"refs/heads/{branch}",
                "repository": {
                    "clone_url": "https://github.com/beyond-sw-camp/be02-fin-LAT32T-SSM.git"
                },
                "pusher": {"name": "dev"},
            }
        ).encode()
        request = urllib.request.Request(  # noqa: S310  (the local test server)
            f"{server.url}/github-webhook/",
            data=body,
            headers={"Content-Type": "application/json", "X-GitHub-Event": "push"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310  (as above)
            return int(response.status)

    assert push("main") == 200
    assert server.triggered == []
    assert push("develop") == 200
    assert sorted(server.triggered) == ["lat32t/backend", "lat32t/frontend"]


def test_client_lists_nested_items_in_one_request(server: FakeJenkins) -> None:
    server.put_folder("a")
    server.put_job("a/b/c", FOREIGN_JOB)
    client = PythonJenkinsClient(server.url, "admin", TOKEN)
    items = client.list_items()
    assert items["a/b/c"].description == "hand made"
    assert client.requests_made == 1
