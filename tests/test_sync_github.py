"""Registering the push webhook on GitHub during ``pipedsl sync`` (only with a token), against
the GitHub hooks API stand-in (tests/support/github_api.py) -- never the real GitHub."""

from __future__ import annotations

import re
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipedsl.cli import app
from pipedsl.jenkins.github import MAX_PAGES, _SameOriginRedirects, github_repository, web_host
from tests.support import tally
from tests.support.fake_jenkins import FakeJenkins
from tests.support.github_api import GitHubApi
from tests.test_sync import TOKEN, project_file

GH_TOKEN = "ghp_s3cr3tGitHubToken"  # noqa: S105  (a test token, checked never to be printed)
HOOK = "http://jenkins.acme.test:14149/github-webhook/"
runner = CliRunner()


@pytest.fixture
def jenkins() -> Iterator[FakeJenkins]:
    with FakeJenkins(users={"admin": TOKEN}) as server:
        yield server


@pytest.fixture
def github() -> Iterator[GitHubApi]:
    with GitHubApi(tokens={GH_TOKEN: {"acme/shop"}}, repos=["acme/shop", "acme/other"]) as api:
        yield api


@pytest.fixture
def shop(tmp_path: Path, github: GitHubApi) -> Path:
    """A project whose repository is on the stand-in (a GitHub Enterprise on 127.0.0.1)."""
    folder = tmp_path / "projects"
    project_file(folder, repository="https://127.0.0.1/acme/shop.git")
    return folder


def sync(
    jenkins: FakeJenkins, github: GitHubApi, projects: Path, *args: str, token: str = GH_TOKEN
) -> tuple[int, str]:
    result = runner.invoke(
        app,
        [
            "sync",
            "--projects",
            str(projects),
            "--url",
            jenkins.url,
            "--user",
            "admin",
            "--token",
            TOKEN,
            "--github-api",
            github.api,
            "--github-token",
            token,
            "--backoff",
            "0",
            *args,
        ],
    )
    assert GH_TOKEN not in result.output
    assert TOKEN not in result.output
    return result.exit_code, result.output


def test_repository_urls_on_github() -> None:
    api = "https://api.github.com"
    assert web_host(api) == "github.com"
    assert github_repository("https://github.com/acme/shop.git", api) == "acme/shop"
    assert github_repository("https://github.com/acme/shop", api) == "acme/shop"
    assert github_repository("git@github.com:acme/shop.git", api) == "acme/shop"
    assert github_repository("ssh://git@github.com/acme/shop.git", api) == "acme/shop"
    assert github_repository("https://gitlab.com/acme/shop.git", api) is None
    assert github_repository("https://github.com/acme/shop/extra.git", api) is None
    enterprise = "https://ghe.acme.test/api/v3"
    assert web_host(enterprise) == "ghe.acme.test"
    assert github_repository("https://ghe.acme.test/acme/shop.git", enterprise) == "acme/shop"
    assert github_repository("https://github.com/acme/shop.git", enterprise) is None


def test_creates_the_hook_once(jenkins: FakeJenkins, github: GitHubApi, shop: Path) -> None:
    code, out = sync(jenkins, github, shop, "-v")
    assert code == 0, out
    assert f"webhook create   acme/shop -> {HOOK}" in out
    assert "webhooks: 1 created" in out
    assert "GitHub requests: 2" in out
    [hook] = github.hooks("acme/shop")
    assert hook["name"] == "web"
    assert hook["active"] is True
    assert hook["events"] == ["push"]
    assert hook["config"] == {"content_type": "json", "insecure_ssl": "0", "url": HOOK}
    method, target, authorization = github.requests[-1]
    assert (method, target) == ("POST", "/api/v3/repos/acme/shop/hooks")
    assert authorization == f"Bearer {GH_TOKEN}"
    # Idempotent: the second run finds it and creates nothing.
    code, out = sync(jenkins, github, shop)
    assert code == 0, out
    assert "webhook existing acme/shop" in out
    assert "webhooks: 1 already there" in out
    assert len(github.hooks("acme/shop")) == 1
    assert [m for m, _, _ in github.requests].count("POST") == 1


def test_finds_an_existing_hook_on_a_later_page(
    jenkins: FakeJenkins, github: GitHubApi, shop: Path
) -> None:
    for i in range(150):
        github.add_hook("acme/shop", f"https://ci{i}.acme.test/hook", events=["release"])
    github.add_hook("acme/shop", HOOK)
    code, out = sync(jenkins, github, shop, "-v")
    assert code == 0, out
    assert "webhook existing acme/shop" in out
    assert "GitHub requests: 2" in out  # two pages of 100
    assert len(github.hooks("acme/shop")) == 151


def test_dry_run_shows_the_webhook_plan_and_creates_nothing(
    jenkins: FakeJenkins, github: GitHubApi, shop: Path
) -> None:
    code, out = sync(jenkins, github, shop, "--dry-run")
    assert code == 0, out
    assert f"webhook create   acme/shop -> {HOOK}" in out
    assert github.hooks("acme/shop") == []
    assert jenkins.writes == 0


def test_an_existing_hook_is_left_alone_but_its_problems_are_named(
    jenkins: FakeJenkins, github: GitHubApi, shop: Path
) -> None:
    github.add_hook("acme/shop", HOOK, active=False, events=["release"])
    code, out = sync(jenkins, github, shop)
    assert code == 0, out
    assert "left alone; but it is inactive and does not send push events" in out
    assert len(github.hooks("acme/shop")) == 1


def test_no_token_no_github(jenkins: FakeJenkins, github: GitHubApi, shop: Path) -> None:
    result = runner.invoke(
        app,
        [
            "sync",
            "--projects",
            str(shop),
            "--url",
            jenkins.url,
            "--user",
            "admin",
            "--token",
            TOKEN,
        ],
    )
    assert result.exit_code == 0, result.output
    assert "webhook" not in result.output
    assert github.requests == []


def test_token_from_the_environment(
    jenkins: FakeJenkins, github: GitHubApi, shop: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PIPEDSL_GITHUB_TOKEN", GH_TOKEN)
    monkeypatch.setenv("PIPEDSL_GITHUB_API", github.api)
    result = runner.invoke(
        app,
        [
            "sync",
            "--projects",
            str(shop),
            "--url",
            jenkins.url,
            "--user",
            "admin",
            "--token",
            TOKEN,
        ],
    )
    assert result.exit_code == 0, result.output
    assert GH_TOKEN not in result.output
    assert len(github.hooks("acme/shop")) == 1


def test_bad_token(jenkins: FakeJenkins, github: GitHubApi, shop: Path) -> None:
    code, out = sync(jenkins, github, shop, token="ghp_wrong")  # noqa: S106
    assert code == 1
    assert (
        "listing hooks of acme/shop: GitHub rejected the token (401 Bad credentials); check "
        "--github-token / PIPEDSL_GITHUB_TOKEN" in out
    )
    assert "ghp_wrong" not in out
    assert "webhooks: 1 failed" in out
    assert jenkins.job_names() == ["shop/app00", "shop/app01"]  # Jenkins was synced all the same


def test_no_admin_rights_or_no_such_repository(
    jenkins: FakeJenkins, github: GitHubApi, tmp_path: Path
) -> None:
    folder = tmp_path / "projects"
    project_file(folder, "other", repository="https://127.0.0.1/acme/other.git")
    project_file(folder, "gone", repository="https://127.0.0.1/acme/gone.git")
    code, out = sync(jenkins, github, folder)
    assert code == 1
    for repository in ("acme/other", "acme/gone"):
        assert (
            f"listing hooks of {repository}: GitHub answered 404 (Not Found): the repository "
            f"{repository} does not exist, or the token may not manage its hooks; it needs admin "
            "rights" in out
        )


def test_validation_failure(jenkins: FakeJenkins, github: GitHubApi, shop: Path) -> None:
    for i in range(20):  # GitHub allows 20 hooks per event
        github.add_hook("acme/shop", f"https://ci{i}.acme.test/hook")
    code, out = sync(jenkins, github, shop)
    assert code == 1
    assert (
        'creating the hook of acme/shop: GitHub refused the hook (422: The "push" event cannot '
        "have more than 20 hooks)" in out
    )


def test_rate_limit(jenkins: FakeJenkins, github: GitHubApi, shop: Path) -> None:
    github.rate_limited = True
    code, out = sync(jenkins, github, shop)
    assert code == 1
    assert "GitHub API rate limit exceeded (resets at" in out


def test_server_errors_are_retried(jenkins: FakeJenkins, github: GitHubApi, shop: Path) -> None:
    github.fail_next(2, 502)
    code, out = sync(jenkins, github, shop)
    assert code == 0, out
    assert len(github.hooks("acme/shop")) == 1


def test_github_unreachable(jenkins: FakeJenkins, shop: Path, github: GitHubApi) -> None:
    result = runner.invoke(
        app,
        [
            "sync", "--projects", str(shop), "--url", jenkins.url, "--user", "admin",
            "--token", TOKEN, "--github-api", "http://127.0.0.1:9/api/v3",
            "--github-token", GH_TOKEN,
        ],
    )  # fmt: skip
    assert result.exit_code == 1
    assert "connection to http://127.0.0.1:9/api/v3 refused; check --github-api" in result.output
    assert GH_TOKEN not in result.output


def test_projects_elsewhere_are_skipped_and_placeholder_urls_refused(
    jenkins: FakeJenkins, github: GitHubApi, tmp_path: Path
) -> None:
    folder = tmp_path / "projects"
    project_file(folder, "elsewhere", repository="https://gitlab.com/acme/shop.git")
    project_file(
        folder,
        "placeholder",
        repository="https://127.0.0.1/acme/shop.git",
        jenkins_url="http://jenkins.example.com:14149",
    )
    code, out = sync(jenkins, github, folder, "--dry-run", "-v")
    assert code == 1
    assert "webhook skip     https://gitlab.com/acme/shop.git" in out
    assert "project placeholder keeps the placeholder Jenkins URL" in out
    assert github.requests == []


def test_the_token_is_sent_to_the_api_origin_only_on_redirect() -> None:
    handler = _SameOriginRedirects("http://127.0.0.1:1/api/v3")
    request = urllib.request.Request(
        "http://127.0.0.1:1/repos/a/b/hooks", headers={"Authorization": "Bearer t0ken"}
    )
    same = handler.redirect_request(request, None, 302, "Found", {}, "http://127.0.0.1:1/x")
    assert same is not None
    assert same.get_header("Authorization") == "Bearer t0ken"
    for elsewhere in (
        "http://other.invalid:1/repos/a/b/hooks",  # another host
        "http://127.0.0.1:2/x",  # another port
        "https://127.0.0.1:1/x",  # another scheme
        "http://127.0.0.1/x",  # port 80, not 1
    ):
        with pytest.raises(Exception, match=re.escape(elsewhere)):
            handler.redirect_request(request, None, 302, "Found", {}, elsewhere)
    https = _SameOriginRedirects("https://api.example")
    secure = urllib.request.Request("https://api.example/x", headers={"Authorization": "t"})
    assert https.redirect_request(secure, None, 301, "", {}, "https://API.example:443/y")
    with pytest.raises(Exception, match=re.escape("http://api.example/y")):
        https.redirect_request(secure, None, 301, "", {}, "http://api.example/y")


# Answers GitHub never sends (a proxy, another server, a broken GitHub Enterprise): each is a
# clear error for that repository, never a traceback.
HOOK_LISTS: dict[str, object] = {
    "not a list": {"hooks": []},
    "HTML": b"<html><body>Sign in</body></html>",
    "an entry not an object": [5],
    "config a string": [{"config": "x"}],
    "url not a string": [{"config": {"url": 5}}],
    "events a number": [{"config": {"url": HOOK}, "events": 5}],
    "events not strings": [{"config": {"url": HOOK}, "events": [["push"]]}],
    "active a string": [{"config": {"url": HOOK}, "events": ["push"], "active": "yes"}],
}


@pytest.mark.parametrize("shape", sorted(HOOK_LISTS))
def test_a_hook_list_of_another_shape_is_a_clear_error(
    jenkins: FakeJenkins, github: GitHubApi, shop: Path, shape: str
) -> None:
    github.answer_next(200, HOOK_LISTS[shape])
    code, out = sync(jenkins, github, shop)
    assert code == 1, out
    assert f"listing hooks of acme/shop: {github.api} answered a hook list pipedsl cannot " in out
    assert "Traceback" not in out
    assert github.hooks("acme/shop") == []
    tally.add("GitHub answers of shapes it never sends, reported clearly")


REFUSALS: dict[str, tuple[object, str]] = {
    "errors a number": ({"message": "Validation Failed", "errors": 5}, "Validation Failed"),
    "errors strings": ({"message": "Validation Failed", "errors": ["bad url"]}, "bad url"),
    "errors odd": ({"errors": [5, {"code": 3}, {"code": "custom"}]}, "custom"),
    "message a list": ({"message": ["x"]}, "Validation Failed"),
    "a list": ([], "Validation Failed"),
    "not JSON": (b"<html>", "Validation Failed"),
}


@pytest.mark.parametrize("shape", sorted(REFUSALS))
def test_a_refusal_of_another_shape_is_a_clear_error(
    jenkins: FakeJenkins, github: GitHubApi, shop: Path, shape: str
) -> None:
    body, detail = REFUSALS[shape]
    github.answer_next(200, [])
    github.answer_next(422, body)
    code, out = sync(jenkins, github, shop)
    assert code == 1, out
    assert f"creating the hook of acme/shop: GitHub refused the hook (422: {detail})" in out
    assert "Traceback" not in out
    tally.add("GitHub answers of shapes it never sends, reported clearly")


@pytest.mark.parametrize("reset", ["99999999999999999999", "²", "-5", "1e9", "", " 7"])
def test_a_rate_limit_reset_of_any_text(
    jenkins: FakeJenkins, github: GitHubApi, shop: Path, reset: str
) -> None:
    headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset}
    github.answer_next(403, {"message": "API rate limit exceeded"}, headers)
    code, out = sync(jenkins, github, shop)
    assert code == 1, out
    assert "listing hooks of acme/shop: GitHub API rate limit exceeded" in out
    assert "Traceback" not in out
    tally.add("GitHub answers of shapes it never sends, reported clearly")


def test_a_created_hook_answered_without_the_hook_is_an_error(
    jenkins: FakeJenkins, github: GitHubApi, shop: Path
) -> None:
    github.answer_next(200, [])
    github.answer_next(200, b"<html><form action='/login'></form></html>")
    code, out = sync(jenkins, github, shop)
    assert code == 1, out
    assert "answered 200 without the hook GitHub answers with; the hook may not have been" in out


def test_paging_ends(jenkins: FakeJenkins, github: GitHubApi, shop: Path) -> None:
    first = f"{github.api}/repos/acme/shop/hooks?per_page=100"
    github.answer_next(200, [], {"Link": f'<{first}&page=2>; rel="next"'})
    github.answer_next(200, [], {"Link": f'<{first}>; rel="next"'})  # back to the first page
    code, out = sync(jenkins, github, shop)
    assert code == 1, out
    assert f"listing hooks of acme/shop: {github.api} links back to a page it already sent" in out
    assert len(github.requests) == 2
    for page in range(1, MAX_PAGES + 5):  # a new page each time, on and on
        github.answer_next(200, [], {"Link": f'<{first}&page={page + 1}>; rel="next"'})
    code, out = sync(jenkins, github, shop)
    assert code == 1, out
    assert f"{github.api} sent {MAX_PAGES} pages and links to one more" in out
    assert len(github.requests) == 2 + MAX_PAGES
    tally.add("GitHub answers of shapes it never sends, reported clearly", 2)
