"""pipedsl sync when things go wrong: every fault gives a clear message (what failed, what to
check), exit code 1, never the token, and a re-run converges. All through python-jenkins over
real HTTP against the Jenkins test server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipedsl.cli import app
from pipedsl.errors import SyncError
from pipedsl.jenkins.client import PythonJenkinsClient
from tests.conftest import seed_projects
from tests.support import tally
from tests.support.fake_jenkins import FakeJenkins, Fault
from tests.test_sync import FOREIGN_JOB, PASSWORD, SEED_JOBS, TOKEN, project_file, sync

runner = CliRunner()


@pytest.fixture
def server() -> Iterator[FakeJenkins]:
    with FakeJenkins(users={"admin": TOKEN}, hang_seconds=1.0) as jenkins:
        yield jenkins


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    folder = tmp_path / "projects"
    project_file(folder, components=2)
    return folder


def _converges(server: FakeJenkins, projects: Path, jobs: list[str]) -> None:
    """A clean re-run succeeds, leaves exactly ``jobs`` (plus foreign ones), and a third run
    writes nothing."""
    server.clear_faults()
    code, out = sync(server, projects)
    assert code == 0, out
    assert set(jobs) <= set(server.job_names())
    writes = server.writes
    code, out = sync(server, projects)
    assert code == 0, out
    assert server.writes == writes, out


# --- cannot reach Jenkins --------------------------------------------------------------------


def _cli(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["sync", "--backoff", "0", *args])
    assert TOKEN not in result.output
    return result.exit_code, result.output


def test_connection_refused(shop: Path) -> None:
    code, out = _cli(
        "--projects", str(shop), "--url", "http://127.0.0.1:9", "--user", "a", "--token", TOKEN
    )
    assert code == 1
    assert (
        "error: checking access: connection to http://127.0.0.1:9 refused; is Jenkins running "
        "there, on that port?" in out
    )


def test_dns_failure(shop: Path) -> None:
    code, out = _cli(
        "--projects", str(shop), "--url", "http://jenkins.nonexistent.invalid:14149",
        "--user", "a", "--token", TOKEN,
    )  # fmt: skip
    assert code == 1
    assert "cannot resolve the Jenkins host 'jenkins.nonexistent.invalid'; check the URL" in out


def test_credentials_in_the_url_are_never_printed(shop: Path) -> None:
    code, out = _cli("--projects", str(shop), "--url", f"http://admin:{TOKEN}@127.0.0.1:9")
    assert code == 1
    assert "connection to http://127.0.0.1:9 refused" in out


def test_timeout_then_converging_rerun(server: FakeJenkins, shop: Path) -> None:
    server.fail_at(3, "timeout")  # the first job's createItem
    code, out = sync(server, shop, "--timeout", "0.2", "--retries", "0", "--workers", "1")
    assert code == 1
    assert (
        f"shop/app00: creating the job: Jenkins at {server.url} did not answer within 0.2 s "
        "(--timeout) (gave up after 1 attempt)" in out
    )
    assert "not done:  create shop/app01" in out
    _converges(server, shop, ["shop/app00", "shop/app01"])


def test_a_timeout_is_retried(server: FakeJenkins, shop: Path) -> None:
    server.fail_at(1, "timeout")  # the listing
    code, out = sync(server, shop, "--timeout", "0.2", "--retries", "1")
    assert code == 0, out
    assert server.job_names() == ["shop/app00", "shop/app01"]


# --- refused by Jenkins ------------------------------------------------------------------------


def test_bad_token(server: FakeJenkins, shop: Path) -> None:
    code, out = sync(server, shop, secret="wrong-token")  # noqa: S106
    assert code == 1
    assert (
        "error: checking access: Jenkins rejected the credentials (401); check the user ('admin')"
        in out
    )


def test_token_revoked_mid_run_is_reported_and_rerun_converges(
    server: FakeJenkins, shop: Path
) -> None:
    assert sync(server, shop)[0] == 0
    project_file(shop, components=2, first_tag="v2")
    server.revoke_token("admin")
    code, out = sync(server, shop)
    assert code == 1
    assert "Jenkins rejected the credentials (401)" in out
    server.set_token("admin", TOKEN)
    _converges(server, shop, ["shop/app00", "shop/app01"])


def test_missing_permission(shop: Path) -> None:
    with FakeJenkins(
        users={"admin": TOKEN, "viewer": "viewer-token"},
        permissions={"viewer": {"Overall/Read", "Job/Read"}},
    ) as server:
        code, out = sync(server, shop, user="viewer", secret="viewer-token")  # noqa: S106
        assert code == 1
        assert (
            "creating the folder shop: permission denied (403): the user 'viewer' lacks the "
            "Job/Create permission; pipedsl needs Overall/Read and Job/Read, Create, Configure "
            "and Delete" in out
        )
        assert "not done:  create shop/app00, create shop/app01" in out
        _converges(server, shop, ["shop/app00", "shop/app01"])  # as admin


def test_missing_overall_read(shop: Path) -> None:
    with FakeJenkins(users={"nobody": "t0ken"}, permissions={"nobody": set()}) as server:
        code, out = sync(server, shop, user="nobody", secret="t0ken")  # noqa: S106
        assert code == 1
        assert (
            "checking access: permission denied (403): the user 'nobody' lacks the Overall/Read permission"
            in out
        )


def test_anonymous(server: FakeJenkins, shop: Path) -> None:
    result = runner.invoke(app, ["sync", "--projects", str(shop), "--url", server.url])
    assert result.exit_code == 1
    assert (
        "checking access: Jenkins refused anonymous access (403); give a user and API token"
        in result.output
    )


def test_password_user_whose_crumb_expires_mid_run(shop: Path) -> None:
    """python-jenkins keeps its crumb forever; when Jenkins forgets it (restart, expired
    session), the client fetches a fresh one, once, and carries on."""

    class ExpiringJenkins(FakeJenkins):
        def _handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> object:  # type: ignore[override]
            if self.request_count == 5:  # after the folder create: crumbs expire
                self.expire_crumbs()
            return super()._handle(method, target, headers, body)

    with ExpiringJenkins(passwords={"alice": PASSWORD}) as server:
        code, out = sync(server, shop, "--workers", "1", user="alice", secret=PASSWORD)
        assert code == 0, out
        assert server.job_names() == ["shop/app00", "shop/app01"]
        crumbs = [p for _, p in server.requests if p.startswith("/crumbIssuer")]
        assert len(crumbs) == 2


def test_a_crumb_refused_twice_is_reported(shop: Path) -> None:
    class ForgetfulJenkins(FakeJenkins):
        def _handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> object:  # type: ignore[override]
            if method == "POST":
                self.expire_crumbs()
            return super()._handle(method, target, headers, body)

    with ForgetfulJenkins(passwords={"alice": PASSWORD}) as server:
        code, out = sync(server, shop, user="alice", secret=PASSWORD)
        assert code == 1
        assert "creating the folder shop: Jenkins refused the CSRF crumb twice (403" in out
        assert "a proxy" in out
        assert PASSWORD not in out


def test_not_found_names_the_url(server: FakeJenkins, shop: Path) -> None:
    code, out = _cli(
        "--projects",
        str(shop),
        "--url",
        server.url + "/jenkins",
        "--user",
        "admin",
        "--token",
        TOKEN,
    )
    assert code == 1
    assert f"checking access: not found on {server.url}/jenkins (404); check the URL" in out


def test_a_folder_deleted_during_the_sync(server: FakeJenkins, shop: Path) -> None:
    assert sync(server, shop)[0] == 0
    client = PythonJenkinsClient(server.url, "admin", TOKEN, retries=0)
    client.delete_job("shop")
    with pytest.raises(SyncError, match="its folder does not exist on Jenkins"):
        client.create_job("shop/app00", "<flow-definition/>")


# --- 5xx, dropped connections ----------------------------------------------------------------


def test_transient_server_errors_are_retried(server: FakeJenkins, shop: Path) -> None:
    server.fail_at(2, 503)
    server.fail_at(3, "drop")
    code, out = sync(server, shop, "--workers", "1")
    assert code == 0, out
    assert server.job_names() == ["shop/app00", "shop/app01"]


def test_retries_are_bounded_with_backoff(server: FakeJenkins, shop: Path) -> None:
    server.fail_next(100, 500)
    waits: list[float] = []
    client = PythonJenkinsClient(
        server.url, "admin", TOKEN, retries=3, backoff=0.5, sleep=waits.append
    )
    with pytest.raises(
        SyncError,
        match=r"checking access: Jenkins answered 500 Server Error; check the Jenkins log \(gave up after 4 attempts\)",
    ):
        client.check_access()
    assert waits == [0.5, 1.0, 2.0]
    assert client.requests_made == 4


def test_a_create_whose_answer_was_lost_is_not_duplicated(server: FakeJenkins, shop: Path) -> None:
    server.fail_at(3, "lost")  # the first job is created, but its answer never arrives
    code, out = sync(server, shop, "--workers", "1", "-v")
    assert code == 0, out
    assert server.job_names() == ["shop/app00", "shop/app01"]
    # The retry got 400 "exists", read the job back, found it is ours and as wanted.
    assert ("GET", "/job/shop/job/app00/config.xml") in server.requests
    _converges(server, shop, ["shop/app00", "shop/app01"])


def test_a_foreign_job_appearing_during_the_sync_is_not_overwritten(
    server: FakeJenkins, shop: Path
) -> None:
    class RacingJenkins(FakeJenkins):
        def _handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> object:  # type: ignore[override]
            if target == "/job/shop/createItem?name=app00" and not self.job_names():
                self.put_job("shop/app00", FOREIGN_JOB)
            return super()._handle(method, target, headers, body)

    with RacingJenkins(users={"admin": TOKEN}) as racing:
        code, out = sync(racing, shop, "--workers", "1")
        assert code == 1
        assert (
            "a job of this name appeared on Jenkins during the sync and pipedsl does not manage it"
            in out
        )
        assert "hand made" in racing.job_config("shop/app00")


def test_persistent_failure_reports_what_was_done_and_rerun_converges(
    server: FakeJenkins, shop: Path
) -> None:
    for index in range(3, 7):  # the first job's createItem and its 3 retries
        server.fail_at(index, 500)
    code, out = sync(server, shop, "--workers", "1", "--retries", "3")
    assert code == 1
    lines = out.splitlines()
    assert "[2/3] create shop/app00: FAILED" in lines
    assert (
        "failed    create shop/app00: creating the job: Jenkins answered 500 Server "
        "Error; check the Jenkins log (gave up after 4 attempts)" in lines
    )
    assert "done:      create folder shop" in lines
    assert "failed:    create shop/app00" in lines
    assert "not done:  create shop/app01" in lines
    assert server.job_names() == []
    _converges(server, shop, ["shop/app00", "shop/app01"])


# --- every fault at every request --------------------------------------------------------------


FAULTS: tuple[Fault, ...] = (500, "drop", "timeout", "lost")


def test_every_fault_at_every_request_of_a_first_sync(tmp_path: Path) -> None:
    """For each request position of a first sync of the seed project and each fault kind,
    with and without retries: success, or a clear error; then a clean re-run converges to
    exactly the desired jobs, and jobs pipedsl does not manage are never touched."""
    projects = tmp_path / "projects"
    seed_projects(projects)

    foreign_jobs = ("handmade", "other/job")

    def seeded(server: FakeJenkins) -> dict[str, str]:
        for name in foreign_jobs:
            server.put_job(name, FOREIGN_JOB)
        return {n: server.job_config(n) for n in foreign_jobs}

    with FakeJenkins(users={"admin": TOKEN}) as probe:
        seeded(probe)
        assert sync(probe, projects)[0] == 0
        positions = probe.request_count
    assert positions >= 5  # me, listing, folder, one createItem per job
    failures = 0
    scenarios = 0
    for retries in ("0", "2"):
        for fault in FAULTS:
            for position in range(positions):
                with FakeJenkins(users={"admin": TOKEN}, hang_seconds=0.3) as server:
                    foreign = seeded(server)
                    server.fail_at(position, fault)
                    code, out = sync(server, projects, "--timeout", "0.15", "--retries", retries)
                    where = f"{fault} at request {position}, --retries {retries}: {out}"
                    if code != 0:
                        assert code == 1, where
                        assert retries == "0" or fault == "lost", where
                        assert "error: " in out or "sync stopped part-way" in out, where
                        assert "Traceback" not in out, where
                        failures += 1
                    elif retries == "2":
                        assert server.job_names() == sorted([*SEED_JOBS, *foreign_jobs])
                    code, out = sync(server, projects, "--timeout", "5")
                    assert code == 0, where + out
                    assert server.job_names() == sorted([*SEED_JOBS, *foreign_jobs]), where
                    writes = server.writes
                    assert sync(server, projects)[0] == 0
                    assert server.writes == writes, where
                    for name, config in foreign.items():
                        assert server.job_config(name) == config, where
                    scenarios += 1
    assert scenarios == 2 * len(FAULTS) * positions > 0
    tally.add("sync fault scenarios (fault x request position x retries)", scenarios)
    assert failures >= len(FAULTS) * positions - positions  # without retries most runs fail
