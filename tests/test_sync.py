"""pipedsl sync against the Jenkins test server, through python-jenkins over real HTTP: plans,
idempotence, cost, pruning, conflicts, drift, webhook matching, first builds, progress and
concurrency. Faults: ``test_sync_faults.py``; settings: ``test_sync_settings.py``; GitHub hook
registration: ``test_sync_github.py``."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import textwrap
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipedsl.cli import app
from pipedsl.jenkins.client import Item, PythonJenkinsClient
from pipedsl.jenkins.sync import Change, DesiredJob, SyncPlan, apply_sync
from pipedsl.jenkins.syncing import run_sync
from tests.conftest import seed_projects
from tests.support.fake_jenkins import FakeJenkins

TOKEN = "s3cr3t-api-token-value"  # noqa: S105  (a test token, checked never to be printed)
PASSWORD = "pa55word"  # noqa: S105  (a test password user's)
SEED_JOBS = ["lat32t/backend", "lat32t/frontend"]
SEED_REPOSITORY = "https://github.com/beyond-sw-camp/be02-fin-LAT32T-SSM.git"
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
    seed_projects(tmp_path / "projects")
    return tmp_path / "projects"


def sync(
    server: FakeJenkins,
    projects: Path,
    *args: str,
    user: str = "admin",
    secret: str = TOKEN,
) -> tuple[int, str]:
    """``pipedsl sync`` through the CLI, with fast retries; checks the secret is never printed."""
    result = runner.invoke(
        app,
        [
            "sync",
            "--projects",
            str(projects),
            "--url",
            server.url,
            "--user",
            user,
            "--token",
            secret,
            "--backoff",
            "0",
            "--timeout",
            "5",
            *args,
        ],
    )
    assert secret not in result.output
    return result.exit_code, result.output


def project_file(
    folder: Path,
    name: str = "shop",
    components: int = 2,
    *,
    definition: str = "scm",
    repository: str = "https://github.com/acme/shop.git",
    first_tag: str = "v1",
    jenkins_url: str = "http://jenkins.acme.test:14149",
) -> Path:
    """A project with ``components`` small jobs, each checking out ``repository``'s develop
    branch explicitly (so that an inline job's build records its repository); the first one
    runs ``make <first_tag>``, the others ``make v1``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.py"
    path.write_text(
        textwrap.dedent(
            f"""\
            from pipedsl import Component, Groovy, Pipeline, Project, Stage, sh
            from pipedsl.model.jobs import JenkinsJobs

            checkout = Groovy("git url: '{repository}', branch: 'develop'")
            project = Project(
                "{name}",
                repository="{repository}",
                branch="develop",
                jenkins=JenkinsJobs("{definition}", url="{jenkins_url}"),
                components=[
                    Component(
                        f"app{{i:02d}}",
                        Pipeline(
                            [
                                Stage("Checkout", [checkout]),
                                Stage("Build", [sh("make " + ("{first_tag}" if i == 0 else "v1"))]),
                            ]
                        ),
                    )
                    for i in range({components})
                ],
            )
            """
        )
    )
    return path


def push(server: FakeJenkins, repository: str, branch: str) -> int:
    body = json.dumps(
        {
            "ref": f"refs/heads/{branch}",
            "repository": {"clone_url": repository},
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


# --- plan and apply ----------------------------------------------------------------------------


def test_first_sync_creates_all_then_nothing_changes(server: FakeJenkins, projects: Path) -> None:
    code, out = sync(server, projects, "-v")
    assert code == 0, out
    assert server.job_names() == SEED_JOBS
    assert server.folder_names() == ["lat32t"]
    config = server.job_config("lat32t/backend")
    assert "com.cloudbees.jenkins.GitHubPushTrigger" in config
    assert "<scriptPath>generated/lat32t/backend/Jenkinsfile</scriptPath>" in config
    assert "sync: 1 folder(s) created, 2 created" in out
    # An API token needs no CSRF crumb: none is fetched.
    assert not any(path.startswith("/crumbIssuer") for _, path in server.requests)
    writes, before = server.writes, server.request_count
    code, out = sync(server, projects, "-v")
    assert code == 0, out
    assert server.writes == writes  # zero writes
    assert server.request_count - before == 2
    assert "sync: 2 unchanged" in out
    assert "requests: 2" in out
    assert "unchanged lat32t/backend" not in out  # no progress line for unchanged jobs


def test_dry_run_prints_the_plan_and_changes_nothing(server: FakeJenkins, projects: Path) -> None:
    code, out = sync(server, projects, "--dry-run")
    assert code == 0, out
    assert out.splitlines()[:3] == [
        "create    folder lat32t",
        "create    lat32t/backend",
        "create    lat32t/frontend",
    ]
    assert "plan: 1 folder(s) to create, 2 to create (dry run: nothing changed)" in out
    assert server.writes == 0
    assert server.job_names() == []


def test_edit_to_one_component_updates_exactly_its_job(server: FakeJenkins, projects: Path) -> None:
    source = projects / "lat32t.py"
    inline = source.read_text().replace(
        '    branch="develop",\n', '    branch="develop",\n    jenkins=JenkinsJobs("inline"),\n'
    )
    source.write_text("from pipedsl.model.jobs import JenkinsJobs\n" + inline)
    assert sync(server, projects)[0] == 0
    assert "<sandbox>true</sandbox>" in server.job_config("lat32t/backend")
    frontend_before = server.job_config("lat32t/frontend")
    # The inline job embeds its Jenkinsfile: changing the backend's image tag changes its job.
    source.write_text(source.read_text().replace('"backend-{build}"', '"api-{build}"'))
    writes = server.writes
    code, out = sync(server, projects, "-v")
    assert code == 0, out
    assert "sync: 1 updated, 1 unchanged" in out
    assert server.writes == writes + 1
    assert server.job_config("lat32t/frontend") == frontend_before
    assert "api-${env.BUILD_NUMBER}" in server.job_config("lat32t/backend")


def test_prune_removes_only_managed_orphans(server: FakeJenkins, projects: Path) -> None:
    assert sync(server, projects)[0] == 0
    backend = server.job_config("lat32t/backend")
    # A job pipedsl made earlier for a component since removed: its marker names itself.
    server.put_job("lat32t/old", backend.replace("job=lat32t/backend;", "job=lat32t/old;"))
    # A copy made on Jenkins ("New Item, copy from"): its marker names the original.
    server.put_job("lat32t/copy", backend)
    server.put_job("lat32t/handmade", FOREIGN_JOB)
    server.put_job("other/job", server.job_config("lat32t/backend"))
    handmade = server.job_config("lat32t/handmade")
    code, out = sync(server, projects, "--dry-run")
    assert "delete" not in out  # no --prune, no deletion planned
    code, out = sync(server, projects, "--dry-run", "--prune")
    assert "delete    lat32t/old  (no project defines it)" in out
    assert "lat32t/copy" not in out
    assert server.job_names() == sorted(
        [*SEED_JOBS, "lat32t/copy", "lat32t/handmade", "lat32t/old", "other/job"]
    )
    code, out = sync(server, projects, "--prune")
    assert code == 0, out
    assert "1 deleted" in out
    # Managed jobs outside the projects' folders belong to someone else's projects.
    assert server.job_names() == sorted([*SEED_JOBS, "lat32t/copy", "lat32t/handmade", "other/job"])
    assert server.job_config("lat32t/handmade") == handmade


def test_foreign_job_of_the_same_name_blocks(server: FakeJenkins, projects: Path) -> None:
    server.put_job("lat32t/backend", FOREIGN_JOB)
    before = server.job_config("lat32t/backend")
    code, out = sync(server, projects)
    assert code == 1
    assert (
        "conflict  lat32t/backend: a job of this name exists and pipedsl does not manage it" in out
    )
    assert "1 in conflict (not touched)" in out
    assert server.job_config("lat32t/backend") == before
    assert server.job_names() == SEED_JOBS  # the other job was still synced


def test_a_job_where_the_folder_should_be_blocks(server: FakeJenkins, projects: Path) -> None:
    server.put_job("lat32t", FOREIGN_JOB)
    code, out = sync(server, projects)
    assert code == 1
    assert "conflict  lat32t/backend: lat32t exists and is not a folder" in out


def test_names_are_compared_ignoring_case_as_jenkins_does(
    server: FakeJenkins, projects: Path
) -> None:
    server.put_folder("LAT32T")
    code, out = sync(server, projects, "-v")
    assert code == 0, out
    assert server.folder_names() == ["LAT32T"]
    assert server.job_names() == ["LAT32T/backend", "LAT32T/frontend"]
    code, out = sync(server, projects, "-v")
    assert "sync: 2 unchanged" in out


def test_two_projects_defining_the_same_job_are_refused(
    tmp_path: Path, server: FakeJenkins
) -> None:
    folder = tmp_path / "projects"
    project_file(folder, "shop")
    (folder / "shop2.py").write_text(
        (folder / "shop.py").read_text().replace('"shop",\n', '"shop2",\n    folder="shop",\n', 1)
    )
    code, out = sync(server, folder)
    assert code == 2
    assert "its job shop/app00 is also defined by project 'shop'" in out
    assert server.request_count == 0


def test_server_edit_is_reported_as_drift_and_restored_with_drift(
    server: FakeJenkins, projects: Path
) -> None:
    assert sync(server, projects)[0] == 0
    rendered = server.job_config("lat32t/backend")
    server.put_job(
        "lat32t/backend",
        rendered.replace("<disabled>false</disabled>", "<disabled>true</disabled>"),
    )
    writes = server.writes
    # A dry run looks for edits in every managed job: without --drift, the edit is left as it
    # is and blocks, as it would in sync --prune or an update; with --drift it is restored.
    code, out = sync(server, projects, "--dry-run")
    assert code == 1
    assert "edited    lat32t/backend: edited on the server since the last sync" in out
    code, out = sync(server, projects, "--dry-run", "--drift")
    assert code == 0
    assert "drift     lat32t/backend  (edited on the server since the last sync" in out
    assert "1 edited on the server" in out
    assert server.writes == writes
    # A plain sync does not download configs, so it does not see the edit...
    code, out = sync(server, projects)
    assert "sync: 2 unchanged" in out
    assert "<disabled>true</disabled>" in server.job_config("lat32t/backend")
    # ... --drift does, and restores the rendered config.
    code, out = sync(server, projects, "--drift")
    assert code == 0, out
    assert "1 restored, 1 unchanged" in out
    assert server.job_config("lat32t/backend") == rendered


# --- the webhook and first builds ----------------------------------------------------------


def test_push_event_triggers_exactly_the_jobs_of_that_repository_and_branch(
    server: FakeJenkins, projects: Path
) -> None:
    assert sync(server, projects)[0] == 0
    server.put_job(
        "other/job", server.job_config("lat32t/backend").replace("be02-fin-LAT32T-SSM", "elsewhere")
    )
    assert push(server, SEED_REPOSITORY, "main") == 200
    assert server.triggered == []
    assert push(server, SEED_REPOSITORY, "develop") == 200
    assert sorted(server.triggered) == SEED_JOBS


def test_first_build_makes_inline_jobs_reachable_by_a_push(
    server: FakeJenkins, tmp_path: Path
) -> None:
    folder = tmp_path / "projects"
    project_file(folder, definition="inline")
    code, out = sync(server, folder)
    assert code == 0, out
    assert "note: 2 inline job(s) never built (shop/app00, shop/app01)" in out
    assert push(server, "https://github.com/acme/shop.git", "develop") == 200
    assert server.triggered == []  # a never-built inline job is not matched
    code, out = sync(server, folder, "--dry-run", "--first-build")
    assert "build     shop/app00  (inline job never built" in out
    code, out = sync(server, folder, "--first-build")
    assert code == 0, out
    assert "2 first build(s) started" in out
    assert sorted(server.builds) == [("shop/app00", "api"), ("shop/app01", "api")]
    assert push(server, "https://github.com/acme/shop.git", "develop") == 200
    assert sorted(server.triggered) == ["shop/app00", "shop/app01"]
    # Built once: another --first-build starts nothing.
    builds = len(server.builds)
    code, out = sync(server, folder, "--first-build")
    assert code == 0, out
    assert "sync: 2 unchanged" in out
    assert len(server.builds) == builds


def test_first_build_of_a_new_job_happens_in_the_same_run(
    server: FakeJenkins, tmp_path: Path
) -> None:
    folder = tmp_path / "projects"
    project_file(folder, definition="inline", components=1)
    code, out = sync(server, folder, "--first-build")
    assert code == 0, out
    assert "sync: 1 folder(s) created, 1 created, 1 first build(s) started" in out
    assert server.build_numbers("shop/app00") == [1]


def test_a_failed_first_build_is_started_by_the_next_run(
    server: FakeJenkins, tmp_path: Path
) -> None:
    folder = tmp_path / "projects"
    project_file(folder, definition="inline", components=1)
    # Requests: me, listing, createItem folder, createItem job, build (failing every time).
    for index in range(4, 8):
        server.fail_at(index, 503)
    code, out = sync(server, folder, "--first-build", "--retries", "3")
    assert code == 1
    assert "failed    build shop/app00: starting a build: Jenkins answered 503" in out
    assert server.job_names() == ["shop/app00"]
    code, out = sync(server, folder, "--first-build")
    assert code == 0, out
    assert "1 unchanged" in out
    assert "1 first build(s) started" in out
    assert server.build_numbers("shop/app00") == [1]


def test_inline_jobs_check_out_by_url(server: FakeJenkins, projects: Path) -> None:
    source = projects / "lat32t.py"
    inline = source.read_text().replace(
        '    branch="develop",\n', '    branch="develop",\n    jenkins=JenkinsJobs("inline"),\n'
    )
    source.write_text("from pipedsl.model.jobs import JenkinsJobs\n" + inline)
    code, out = sync(server, projects, "--dry-run")
    assert code == 0
    assert "checkout scm" not in out
    assert sync(server, projects)[0] == 0
    config = server.job_config("lat32t/backend")
    assert "checkout scm" not in config
    assert (
        "git(url: 'https://github.com/beyond-sw-camp/be02-fin-LAT32T-SSM.git', branch: 'develop')"
        in config
    )


def test_inline_job_whose_raw_groovy_checks_out_scm_is_warned_about(
    server: FakeJenkins, tmp_path: Path
) -> None:
    folder = tmp_path / "projects"
    folder.mkdir()
    (folder / "raw.py").write_text(
        "from pipedsl import Component, Groovy, Pipeline, Project, Stage\n"
        "from pipedsl.model.jobs import JenkinsJobs\n"
        "p = Pipeline([Stage('Checkout', [Groovy('checkout scm')])])\n"
        "project = Project('raw', repository='https://github.com/a/b.git', jenkins=JenkinsJobs('inline'),\n"
        "                  components=[Component('api', p)])\n"
    )
    code, out = sync(server, folder, "--dry-run")
    assert code == 0
    assert "note: raw/api is an inline job whose Jenkinsfile runs `checkout scm`" in out


# --- cost ----------------------------------------------------------------------------------------


def test_an_unchanged_jenkins_costs_two_requests_whatever_the_number_of_jobs(
    server: FakeJenkins, tmp_path: Path
) -> None:
    folder = tmp_path / "projects"
    # Inline jobs embed their Jenkinsfile, so a change to one pipeline changes one job.
    project_file(folder, components=30, definition="inline")
    code, out = sync(server, folder, "-v", "--workers", "8")
    assert code == 0, out
    assert len(server.job_names()) == 30
    assert "requests: 33" in out  # me, listing, folder, 30 jobs
    before = server.request_count
    code, out = sync(server, folder, "-v")
    assert code == 0, out
    assert "sync: 30 unchanged" in out
    assert "requests: 2" in out
    assert server.request_count - before == 2  # the issue asks for at most 3
    # One changed job: two more requests, the read of its config (whose digest must be the one
    # its marker records) and its update.
    project_file(folder, components=30, definition="inline", first_tag="v2")
    before, writes = server.request_count, server.writes
    code, out = sync(server, folder, "-v")
    assert code == 0, out
    assert "sync: 1 updated, 29 unchanged" in out
    assert "requests: 4" in out
    assert server.request_count - before == 4
    assert server.writes == writes + 1


# --- progress and concurrency ------------------------------------------------------------------


def test_progress_is_one_plain_line_per_change_when_not_a_terminal(
    server: FakeJenkins, projects: Path
) -> None:
    code, out = sync(server, projects, "--workers", "1")
    assert code == 0, out
    assert out.splitlines() == [
        "[1/3] create folder lat32t: done",
        "[2/3] create lat32t/backend: done",
        "[3/3] create lat32t/frontend: done",
        "sync: 1 folder(s) created, 2 created",
    ]


def test_progress_on_a_terminal_is_one_updating_line(server: FakeJenkins, projects: Path) -> None:
    printed: list[tuple[str, bool]] = []

    def echo(message: str = "", *, nl: bool = True, err: bool = False) -> None:
        printed.append((message, nl))

    code = run_sync(
        projects,
        url=server.url,
        user="admin",
        token=TOKEN,
        config=None,
        dry_run=False,
        prune=False,
        first_build=False,
        workers=1,
        verbose=False,
        echo=echo,
        tty=True,
    )
    assert code == 0
    assert printed == [
        ("\r[1/3] create folder lat32t\033[K", False),
        ("\r[2/3] create lat32t/backend\033[K", False),
        ("\r[3/3] create lat32t/frontend\033[K", False),
        ("\r\033[K", False),  # erased before the summary
        ("sync: 1 folder(s) created, 2 created", True),
    ]
    text = "".join(m + ("\n" if nl else "") for m, nl in printed)
    assert text.endswith("\n")
    assert text.count("\n") == 1


def test_many_workers_share_one_client_and_one_crumb(tmp_path: Path) -> None:
    """A password user needs crumbs. With 16 threads starting their POSTs at once, each is
    refused for lack of a crumb (an API token would need none), exactly one crumb is fetched
    for all of them, and every job is created."""
    folder = tmp_path / "projects"
    project_file(folder, components=40)
    with FakeJenkins(passwords={"alice": PASSWORD}) as server:
        server.put_folder("shop")  # so that the first POSTs are the concurrent job creates
        server.latency = 0.002
        code, out = sync(server, folder, "--workers", "16", user="alice", secret=PASSWORD)
        assert code == 0, out
        assert len(server.job_names()) == 40
        crumbs = [p for _, p in server.requests if p.startswith("/crumbIssuer")]
        assert len(crumbs) == 1
        posts = [p for m, p in server.requests if m == "POST"]
        assert 40 + 1 <= len(posts) <= 40 + 16  # at most one refused POST per worker


class _SlowFakeApi:
    """A JenkinsApi stub whose writes take random time, to check the report's order."""

    def __init__(self) -> None:
        self.requests_made = 0

    def check_access(self) -> str:
        return "x"

    def list_items(self) -> dict[str, Item]:
        return {}

    def create_folder(self, full_name: str) -> None:
        pass

    def create_job(self, full_name: str, config_xml: str) -> None:
        time.sleep(random.random() / 200)  # noqa: S311  (jitter, not cryptography)

    def update_job(self, full_name: str, config_xml: str) -> None:
        pass

    def delete_job(self, full_name: str) -> None:
        pass

    def job_config(self, full_name: str) -> str:
        return ""

    def build_job(self, full_name: str) -> None:
        pass


def test_the_report_lists_changes_in_plan_order_whatever_finishes_first() -> None:
    jobs = [DesiredJob(f"f/job{i:02d}", "<flow-definition/>") for i in range(30)]
    plan = SyncPlan(("f",), tuple(Change("create", j.full_name) for j in jobs))
    report = apply_sync(_SlowFakeApi(), plan, jobs, workers=8)
    assert [c.job for c in report.done] == ["f", *(j.full_name for j in jobs)]


def test_client_lists_nested_items_in_one_request(server: FakeJenkins) -> None:
    server.put_folder("a")
    server.put_job("a/b/c", FOREIGN_JOB)
    client = PythonJenkinsClient(server.url, "admin", TOKEN)
    items = client.list_items()
    assert items["a/b/c"].description == "hand made"
    assert items["a/b"].kind == "com.cloudbees.hudson.plugins.folder.Folder"
    assert not items["a/b/c"].built
    assert client.requests_made == 1


def test_sync_as_a_real_subprocess(server: FakeJenkins, projects: Path) -> None:
    env = {
        **os.environ,
        "PIPEDSL_JENKINS_URL": server.url,
        "PIPEDSL_JENKINS_USER": "admin",
        "PIPEDSL_JENKINS_TOKEN": TOKEN,
    }
    command = [sys.executable, "-m", "pipedsl", "sync", "--projects", str(projects), "-v"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "sync: 1 folder(s) created, 2 created" in done.stdout
    assert "\r" not in done.stdout  # not a terminal: plain lines
    assert server.job_names() == SEED_JOBS
    env["PIPEDSL_JENKINS_TOKEN"] = "wrong"  # noqa: S105  (a bad token on purpose)
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1
    assert "Jenkins rejected the credentials (401)" in done.stderr
    assert "Traceback" not in done.stderr


def test_progress_on_a_terminal_ends_its_line_before_reporting_a_failure(
    server: FakeJenkins, projects: Path
) -> None:
    printed: list[tuple[str, bool, bool]] = []

    def echo(message: str = "", *, nl: bool = True, err: bool = False) -> None:
        printed.append((message, nl, err))

    for index in range(3, 10):  # every attempt at the first job
        server.fail_at(index, 500)
    code = run_sync(
        projects,
        url=server.url,
        user="admin",
        token=TOKEN,
        config=None,
        dry_run=False,
        prune=False,
        first_build=False,
        workers=1,
        verbose=False,
        echo=echo,
        tty=True,
        backoff=0,
    )
    assert code == 1
    assert printed[:4] == [
        ("\r[1/3] create folder lat32t\033[K", False, False),
        ("\r\033[K", False, False),
        ("[2/3] create lat32t/backend: FAILED", True, False),
        (printed[3][0], True, True),
    ]
    assert printed[3][0].startswith("failed    create lat32t/backend: creating the job:")
    # Every line after the progress ends with a newline: nothing is left half-drawn.
    assert all(nl for _, nl, _ in printed[2:])


def test_sync_renders_with_the_same_templates_as_render(
    server: FakeJenkins, projects: Path, tmp_path: Path
) -> None:
    source = projects / "lat32t.py"
    inline = source.read_text().replace(
        '    branch="develop",\n', '    branch="develop",\n    jenkins=JenkinsJobs("inline"),\n'
    )
    source.write_text("from pipedsl.model.jobs import JenkinsJobs\n" + inline)
    steps = tmp_path / "templates" / "jenkinsfile" / "steps"
    steps.mkdir(parents=True)
    (steps / "git.groovy.j2").write_text("git(url: {{ step.url | groovy }})\nsh 'echo custom'\n")
    code, out = sync(server, projects, "--templates", str(tmp_path / "templates"))
    assert code == 0, out
    assert "sh 'echo custom'" in server.job_config("lat32t/backend")
