"""Secret hygiene of ``pipedsl sync``: the Jenkins API token and the GitHub token never appear in
what the command prints (stdout and stderr), in any form a reader could reuse: as given, as
the base64 of an HTTP Basic ``Authorization`` header, or URL-encoded. Tried on success, with
``--verbose``, with ``--dry-run``, with every fault kind (401, 403, 500, dropped connection,
timeout) at every request position, on Jenkins and on GitHub, with an unresolvable host, and
with the message of any exception that escapes -- through typer's CliRunner and as a real
subprocess taking the tokens from the environment.
"""

from __future__ import annotations

import base64
import contextlib
import os
import subprocess
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from typer.testing import CliRunner, Result

from pipedsl.cli import app
from tests.support import tally
from tests.support.fake_jenkins import FakeJenkins, Fault
from tests.support.github_api import GitHubApi
from tests.test_sync import project_file

# Distinctive values, so that a match can only be a leak. Test tokens, checked never printed.
JENKINS_TOKEN = "11d3adb33f-jenkins-4pi-t0ken-5ecret"  # noqa: S105
GITHUB_TOKEN = "ghp_" + "Zq9xW2" * 6
USER = "admin"
REPO = "acme/shop"
runner = CliRunner()


def leak_forms() -> dict[str, str]:
    """Every form of the two secrets that would let a reader of the output reuse them."""
    basic = base64.b64encode(f"{USER}:{JENKINS_TOKEN}".encode()).decode()
    return {
        "jenkins token": JENKINS_TOKEN,
        "github token": GITHUB_TOKEN,
        "jenkins basic auth header": basic,
        "jenkins token, base64": base64.b64encode(JENKINS_TOKEN.encode()).decode(),
        "github token, base64": base64.b64encode(GITHUB_TOKEN.encode()).decode(),
        "github basic auth": base64.b64encode(f"x-access-token:{GITHUB_TOKEN}".encode()).decode(),
        "jenkins token, url-encoded": quote(JENKINS_TOKEN, safe=""),
    }


def assert_no_leak(text: str, where: str) -> None:
    tally.add("sync outputs searched for the tokens")
    found = [name for name, form in leak_forms().items() if form in text]
    assert found == [], f"{where}: the output holds the {', '.join(found)}:\n{text}"


def _captured(result: Result) -> str:
    parts = [result.output]
    for stream in ("stdout", "stderr"):
        with contextlib.suppress(ValueError):  # not captured separately by this runner
            parts.append(getattr(result, stream))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        parts.append(repr(result.exception))
        parts.append("".join(traceback.format_exception(result.exception)))
    return "\n".join(parts)


@pytest.fixture
def jenkins() -> Iterator[FakeJenkins]:
    with FakeJenkins(users={USER: JENKINS_TOKEN}, hang_seconds=0.4) as server:
        yield server


@pytest.fixture
def github() -> Iterator[GitHubApi]:
    with GitHubApi(tokens={GITHUB_TOKEN: {REPO}}, repos=[REPO]) as api:
        yield api


@pytest.fixture
def projects(tmp_path: Path) -> Path:
    folder = tmp_path / "projects"
    project_file(folder, repository=f"https://127.0.0.1/{REPO}.git")
    return folder


def cli_sync(url: str, github_api: str, projects: Path, *args: str, where: str) -> tuple[int, str]:
    result = runner.invoke(
        app,
        [
            "sync", "--projects", str(projects), "--url", url, "--user", USER,
            "--token", JENKINS_TOKEN, "--github-token", GITHUB_TOKEN,
            "--github-api", github_api, "--backoff", "0", "--timeout", "0.25", *args,
        ],
    )  # fmt: skip
    output = _captured(result)
    assert_no_leak(output, where)
    return result.exit_code, output


MODES: dict[str, tuple[str, ...]] = {
    "plain": (),
    "--verbose": ("--verbose",),
    "--dry-run": ("--dry-run",),
    "--dry-run --verbose": ("--dry-run", "--verbose"),
}


@pytest.mark.parametrize("mode", sorted(MODES))
def test_success_prints_no_token(
    jenkins: FakeJenkins, github: GitHubApi, projects: Path, mode: str
) -> None:
    code, out = cli_sync(jenkins.url, github.api, projects, *MODES[mode], where=mode)
    assert code == 0, out
    # The run did talk to both servers with the tokens (so there was something to leak).
    assert any(auth for _, _, auth in github.requests)
    assert jenkins.request_count > 0


FAULTS: tuple[Fault, ...] = (401, 403, 500, "drop", "timeout")


def test_every_jenkins_fault_at_every_request_prints_no_token(
    projects: Path, github: GitHubApi
) -> None:
    with FakeJenkins(users={USER: JENKINS_TOKEN}) as probe:
        assert cli_sync(probe.url, github.api, projects, "--verbose", where="probe")[0] == 0
        positions = probe.request_count
    assert positions >= 4
    scenarios = 0
    for fault in FAULTS:
        for position in range(positions):
            for mode in ("--verbose", "--dry-run"):
                with FakeJenkins(users={USER: JENKINS_TOKEN}, hang_seconds=0.4) as server:
                    server.fail_at(position, fault)
                    where = f"Jenkins {fault} at request {position}, {mode}"
                    code, out = cli_sync(
                        server.url, github.api, projects, mode, "--retries", "0", where=where
                    )
                    assert code in (0, 1), where + out
                    assert "Traceback" not in out, where + out
                    scenarios += 1
    tally.add("sync runs with a Jenkins fault searched for the tokens", scenarios)


@pytest.mark.parametrize("status", [401, 403, 404, 500, 502])
def test_github_faults_print_no_token(jenkins: FakeJenkins, projects: Path, status: int) -> None:
    for mode in ("--verbose", "--dry-run"):
        with GitHubApi(tokens={GITHUB_TOKEN: {REPO}}, repos=[REPO]) as github:
            github.fail_next(10, status)
            code, out = cli_sync(
                jenkins.url, github.api, projects, mode, "--retries", "0", where=f"GitHub {status}"
            )
        assert code in (0, 1), out
        assert "Traceback" not in out
        tally.add("sync runs with a GitHub fault searched for the tokens")


def test_revoked_tokens_print_no_token(
    jenkins: FakeJenkins, github: GitHubApi, projects: Path
) -> None:
    jenkins.revoke_token(USER)
    code, out = cli_sync(jenkins.url, github.api, projects, "--verbose", where="Jenkins 401")
    assert code == 1
    assert "401" in out
    jenkins.set_token(USER, JENKINS_TOKEN)
    with GitHubApi(tokens={}, repos=[REPO]) as refusing:  # GitHub: "Bad credentials"
        code, out = cli_sync(jenkins.url, refusing.api, projects, "--verbose", where="GitHub 401")
    assert code == 1, out


def test_unresolvable_hosts_print_no_token(
    jenkins: FakeJenkins, github: GitHubApi, projects: Path, tmp_path: Path
) -> None:
    code, out = cli_sync(
        "http://jenkins.nonexistent.invalid:14149", github.api, projects, "-v", where="DNS"
    )
    assert code == 1
    assert "cannot resolve the Jenkins host" in out
    # A GitHub Enterprise whose host does not resolve, for a project hosted there.
    enterprise = tmp_path / "enterprise"
    project_file(enterprise, repository=f"https://gh.nonexistent.invalid/{REPO}.git")
    api = "https://gh.nonexistent.invalid/api/v3"
    code, out = cli_sync(jenkins.url, api, enterprise, "-v", where="GitHub DNS")
    assert code == 1, out
    assert "gh.nonexistent.invalid" in out
    # Credentials written into the URLs themselves are not printed either.
    code, out = cli_sync(
        f"http://{USER}:{JENKINS_TOKEN}@jenkins.nonexistent.invalid:14149",
        f"http://x:{GITHUB_TOKEN}@api.nonexistent.invalid",
        projects,
        "-v",
        where="credentials in the URLs",
    )
    assert code == 1


def test_real_process_with_tokens_from_the_environment(
    jenkins: FakeJenkins, github: GitHubApi, projects: Path
) -> None:
    """As a user runs it: a real process, tokens from the environment, stdout and stderr
    captured apart."""
    env = {
        **os.environ,
        "PIPEDSL_JENKINS_URL": jenkins.url,
        "PIPEDSL_JENKINS_USER": USER,
        "PIPEDSL_JENKINS_TOKEN": JENKINS_TOKEN,
        "PIPEDSL_GITHUB_TOKEN": GITHUB_TOKEN,
        "PIPEDSL_GITHUB_API": github.api,
    }
    command = [str(Path(sys.executable).parent / "pipedsl"), "sync", "--projects", str(projects)]
    runs = [
        ("success, --verbose", ["--verbose"], 0),
        ("--dry-run", ["--dry-run", "--verbose"], 0),
        ("Jenkins 500", ["--verbose", "--retries", "0", "--backoff", "0"], 1),
        ("DNS failure", ["--url", "http://jenkins.nonexistent.invalid:1", "-v"], 1),
    ]
    for where, args, expected in runs:
        if where == "Jenkins 500":
            jenkins.fail_next(50, 500)
        completed = subprocess.run(
            [*command, *args], env=env, capture_output=True, text=True, timeout=120, check=False
        )
        jenkins.clear_faults()
        assert_no_leak(completed.stdout, where + " (stdout)")
        assert_no_leak(completed.stderr, where + " (stderr)")
        assert completed.returncode == expected, completed.stdout + completed.stderr
        assert "Traceback" not in completed.stderr


def test_the_leak_search_finds_every_form() -> None:
    """The search itself works: each form, embedded in other output, is found."""
    for name, form in leak_forms().items():
        with pytest.raises(AssertionError, match=name):
            assert_no_leak(f"Authorization: Basic {form}\n", "control")
