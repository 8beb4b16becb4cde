"""Where sync takes Jenkins' URL, user and token from: flag > environment > config file >
default; bad settings are usage errors (exit 2) that contact nothing."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipedsl.cli import app
from pipedsl.errors import PipedslError
from pipedsl.jenkins.settings import (
    GitHubSettings,
    JenkinsSettings,
    SettingsError,
    resolve_github,
    resolve_settings,
)
from tests.support.fake_jenkins import FakeJenkins
from tests.test_sync import TOKEN, project_file

runner = CliRunner()
ENV = ("PIPEDSL_JENKINS_URL", "PIPEDSL_JENKINS_USER", "PIPEDSL_JENKINS_TOKEN")


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*ENV, "PIPEDSL_GITHUB_TOKEN", "PIPEDSL_GITHUB_API"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def servers() -> Iterator[tuple[FakeJenkins, FakeJenkins, FakeJenkins]]:
    """Three Jenkins: the one in the config file, the one in the environment, the flag's."""
    with (
        FakeJenkins(users={"file-user": "file-token"}) as from_file,
        FakeJenkins(users={"env-user": "env-token"}) as from_env,
        FakeJenkins(users={"flag-user": "flag-token"}) as from_flag,
    ):
        yield from_file, from_env, from_flag


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    folder = tmp_path / "projects"
    project_file(folder, components=1)
    return folder


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "pipedsl.toml"
    path.write_text(text)
    return path


def _run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["sync", "--backoff", "0", *args])
    return result.exit_code, result.output


def test_config_file(servers: tuple[FakeJenkins, ...], shop: Path, tmp_path: Path) -> None:
    from_file = servers[0]
    config = _config(
        tmp_path,
        f'[jenkins]\nurl = "{from_file.url}"\nuser = "file-user"\ntoken = "file-token"\n',
    )
    code, out = _run("--projects", str(shop), "--config", str(config), "-v")
    assert code == 0, out
    assert f"Jenkins {from_file.url} as file-user" in out
    assert "file-token" not in out
    assert from_file.job_names() == ["shop/app00"]


def test_precedence_flag_over_environment_over_file(
    servers: tuple[FakeJenkins, FakeJenkins, FakeJenkins],
    shop: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from_file, from_env, from_flag = servers
    config = _config(
        tmp_path,
        f'[jenkins]\nurl = "{from_file.url}"\nuser = "file-user"\ntoken = "file-token"\n',
    )
    monkeypatch.setenv("PIPEDSL_JENKINS_URL", from_env.url)
    monkeypatch.setenv("PIPEDSL_JENKINS_USER", "env-user")
    monkeypatch.setenv("PIPEDSL_JENKINS_TOKEN", "env-token")
    code, out = _run("--projects", str(shop), "--config", str(config))
    assert code == 0, out
    assert from_env.job_names() == ["shop/app00"]
    assert from_file.request_count == 0
    code, out = _run(
        "--projects", str(shop), "--config", str(config),
        "--url", from_flag.url, "--user", "flag-user", "--token", "flag-token",
    )  # fmt: skip
    assert code == 0, out
    assert from_flag.job_names() == ["shop/app00"]
    # Each setting on its own: the URL from the flag, user and token from the environment.
    with FakeJenkins(users={"env-user": "env-token"}) as mixed:
        code, out = _run("--projects", str(shop), "--config", str(config), "--url", mixed.url)
        assert code == 0, out
        assert mixed.job_names() == ["shop/app00"]
    # And the file fills what neither flag nor environment gives.
    monkeypatch.delenv("PIPEDSL_JENKINS_TOKEN")
    monkeypatch.delenv("PIPEDSL_JENKINS_USER")
    with FakeJenkins(users={"file-user": "file-token"}) as partly:
        code, out = _run("--projects", str(shop), "--config", str(config), "--url", partly.url)
        assert code == 0, out
        assert partly.job_names() == ["shop/app00"]


def test_resolution_order_in_the_library(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = _config(
        tmp_path,
        '[jenkins]\nurl = "http://file:1"\nuser = "f"\ntoken = "ft"\n'
        '[github]\ntoken = "gf"\napi = "https://ghe.acme.test/api/v3"\n',
    )
    assert resolve_settings(None, None, None, config) == JenkinsSettings("http://file:1", "f", "ft")
    monkeypatch.setenv("PIPEDSL_JENKINS_USER", "e")
    assert resolve_settings(None, None, None, config).user == "e"
    assert resolve_settings(None, "u", None, config).user == "u"
    with pytest.raises(SettingsError, match="without an API token"):
        resolve_settings(None, None, None, None)
    monkeypatch.delenv("PIPEDSL_JENKINS_USER")
    assert resolve_settings(None, None, None, None) == JenkinsSettings(
        "http://localhost:14149", None, None
    )
    assert resolve_github(None, None, config) == GitHubSettings(
        "https://ghe.acme.test/api/v3", "gf"
    )
    monkeypatch.setenv("PIPEDSL_GITHUB_TOKEN", "ge")
    assert resolve_github(None, None, config).token == "ge"  # noqa: S105  (a test value)
    assert resolve_github("gt", None, None) == GitHubSettings("https://api.github.com", "gt")


def test_repr_never_shows_a_token() -> None:
    assert "secret" not in repr(JenkinsSettings("http://x", "u", "secret"))
    assert "secret" not in repr(GitHubSettings("http://x", "secret"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[jenkins\n", "not valid TOML"),
        (
            '[jenkins]\npassword = "x"\n',
            "unknown key(s) in [jenkins]: password; allowed: url, user, token",
        ),
        ("[jenkins]\nuser = 3\n", "user must be a string, got int"),
        ('jenkins = "x"\n', "[jenkins] must be a table"),
        (
            '[jenkins]\nurl = "localhost:14149"\n',
            "the Jenkins URL 'localhost:14149' is not an http(s) URL",
        ),
        ('[jenkins]\ntoken = "t"\n', "a Jenkins API token was given without a user"),
        ('[github]\nurl = "x"\n', "unknown key(s) in [github]: url; allowed: api, token"),
    ],
)
def test_bad_settings_are_usage_errors(shop: Path, tmp_path: Path, text: str, message: str) -> None:
    config = _config(tmp_path, text)
    code, out = _run("--projects", str(shop), "--config", str(config))
    assert code == 2, out
    assert message in out

    def resolve() -> object:
        if "[github]" in text:
            return resolve_github(None, None, config)
        return resolve_settings(None, None, None, config)

    with pytest.raises(SettingsError, match=re.escape(message)):
        resolve()


def test_missing_config_file(shop: Path, tmp_path: Path) -> None:
    code, out = _run("--projects", str(shop), "--config", str(tmp_path / "nope.toml"))
    assert code == 2
    assert "cannot read the config file" in out
    assert "No such file or directory" in out


def test_environment_token_is_never_printed(shop: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIPEDSL_JENKINS_TOKEN", TOKEN)
    monkeypatch.setenv("PIPEDSL_JENKINS_USER", "admin")
    with FakeJenkins(users={"admin": "another"}) as server:
        code, out = _run("--projects", str(shop), "--url", server.url, "-v")
        assert code == 1
        assert "401" in out
        assert TOKEN not in out


def test_a_user_without_a_token_is_a_usage_error(shop: Path) -> None:
    code, out = _run("--projects", str(shop), "--user", "admin")
    assert code == 2
    assert "a Jenkins user ('admin') was given without an API token" in out


def test_credentials_in_a_malformed_url_are_not_shown() -> None:
    with pytest.raises(PipedslError) as info:
        resolve_settings("deploy:s3cr3tT0ken@jenkins:14149", "u", "t", None)
    assert "s3cr3tT0ken" not in str(info.value)
    assert "***@jenkins:14149" in str(info.value)
