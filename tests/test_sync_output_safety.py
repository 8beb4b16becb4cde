"""What ``pipedsl sync`` does with servers that misbehave: no token in anything it prints
whatever a server echoes back (masked by value, every form and encoding, also split over two
writes, also in usage errors, in a page cut short, in an unexpected exception and at exit), the
GitHub token only to the API's own scheme, host and port, a write that Jenkins did not confirm
(a redirect or a login page) is a failure, no traceback for a URL or an answer of any shape,
and ``--timeout`` bounds a whole answer, also one sent a byte at a time.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import linecache
import logging
import os
import socket
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

from pipedsl.cli import app
from pipedsl.errors import SyncError
from pipedsl.jenkins.client import PythonJenkinsClient, display_url
from pipedsl.jenkins.github import GitHubHooks, origin
from pipedsl.redact import MaskedStream, Secrets, masked_output
from tests.support import tally
from tests.support.fake_jenkins import FakeJenkins
from tests.support.github_api import GitHubApi
from tests.test_sync import project_file

USER = "admin"
# Distinctive test values, so that a match can only be a leak; one with the characters that
# need encoding in a URL.
TOKEN = "11d3adb33f-jenkins-4pi-t0ken-5ecret"  # noqa: S105
ODD_TOKEN = "s3cr3t/t0k:en@w1th+chars=9f8e"  # noqa: S105
GITHUB_TOKEN = "ghp_" + "Qm7yV3" * 6
REPO = "acme/shop"
runner = CliRunner()


def json_escaped(text: str) -> str:
    return "".join(f"\\u{ord(c):04x}" for c in text)


def leak_forms(user: str, *secrets: str) -> dict[str, str]:
    """Every form of the secrets a reader of the output could reuse."""
    forms: dict[str, str] = {}
    for secret in secrets:
        basic = base64.b64encode(f"{user}:{secret}".encode()).decode()
        for name, form in {
            "": secret,
            ", base64": base64.b64encode(secret.encode()).decode(),
            ", as Basic auth": basic,
            ", as GitHub Basic auth": base64.b64encode(
                f"x-access-token:{secret}".encode()
            ).decode(),
        }.items():
            forms[f"{secret[:6]}{name}"] = form
            forms[f"{secret[:6]}{name}, url-encoded"] = quote(form, safe="")
            forms[f"{secret[:6]}{name}, quote_plus"] = quote_plus(form)
        for case in (str.upper, str.lower):
            forms[f"{secret[:6]}, {case.__name__} case"] = case(secret)
            forms[f"{secret[:6]}, url-encoded, {case.__name__} case"] = case(quote(secret))
        forms[f"{secret[:6]}, JSON-escaped"] = json_escaped(secret)
        for offset in range(3):  # in a longer base64 text, at each alignment: its middle
            inner = base64.b64encode(bytes(offset) + secret.encode()).decode()[4:-4]
            forms[f"{secret[:6]}, base64 after {offset} bytes"] = inner
    return forms


def assert_no_leak(text: str, where: str, *secrets: str) -> None:
    tally.add("sync outputs searched for every form of the tokens")
    found = [name for name, form in leak_forms(USER, *secrets).items() if form in text]
    # A part of a token, shown where a long message was cut.
    found += [f"{secret[:6]}, its start" for secret in secrets if secret[:5] in text]
    assert found == [], f"{where}: the output holds {found}:\n{text}"


def captured(result: Result) -> str:
    parts = [result.output]
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        parts += [repr(result.exception), "".join(traceback.format_exception(result.exception))]
    return "\n".join(parts)


@pytest.fixture
def projects(tmp_path: Path) -> Path:
    folder = tmp_path / "projects"
    project_file(folder, repository=f"https://127.0.0.1/{REPO}.git")
    return folder


def sync(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["sync", "--backoff", "0", "--timeout", "2", *args])
    return result.exit_code, captured(result)


# --- 1. tokens never reach the output -------------------------------------------------------


@pytest.mark.parametrize("echo", ["errors", "all"])
@pytest.mark.parametrize("credentials", ["flags", "in the URL"])
def test_servers_echoing_the_request_leak_no_token(
    projects: Path, echo: str, credentials: str
) -> None:
    token = TOKEN if credentials == "flags" else ODD_TOKEN
    with (
        FakeJenkins(users={USER: token}) as jenkins,
        GitHubApi(tokens={GITHUB_TOKEN: {REPO}}, repos=[REPO]) as github,
    ):
        jenkins.echo_requests = github.echo_requests = echo  # type: ignore[assignment]
        host = jenkins.url.removeprefix("http://")
        auth = (
            [f"--url={jenkins.url}", "--user", USER, "--token", token]
            if credentials == "flags"
            else ["--url", f"http://{USER}:{quote(token, safe='')}@{host}"]
        )
        common = [*auth, "--projects", str(projects), "--github-token", GITHUB_TOKEN]
        common += ["--github-api", github.api, "--retries", "0", "-v"]
        jenkins.redirect_writes = True  # redirects echo the Authorization in Location
        code, out = sync(*common)
        assert_no_leak(out, "redirected writes", token, GITHUB_TOKEN)
        assert code == 1, out
        jenkins.redirect_writes = False
        runs = 1
        for position in range(4):  # an error page (echoing) at each request in turn
            for status in (400, 403, 404, 500):
                jenkins.clear_faults()
                jenkins.fail_at(jenkins.request_count + position, status)
                code, out = sync(*common)
                assert_no_leak(out, f"{status} at {position}", token, GITHUB_TOKEN)
                assert "Traceback" not in out
                assert code in (0, 1), out
                runs += 1
    tally.add("sync runs against servers echoing the request", runs)


def test_a_real_process_against_echoing_servers_leaks_no_token(projects: Path) -> None:
    with (
        FakeJenkins(users={USER: ODD_TOKEN}) as jenkins,
        GitHubApi(tokens={GITHUB_TOKEN: {REPO}}, repos=[REPO]) as github,
    ):
        jenkins.echo_requests = "errors"
        github.echo_requests = "errors"
        jenkins.fail_next(1, 400)
        env = {
            **os.environ,
            "PIPEDSL_JENKINS_USER": USER,
            "PIPEDSL_JENKINS_TOKEN": ODD_TOKEN,
            "PIPEDSL_GITHUB_TOKEN": GITHUB_TOKEN,
        }
        command = [str(Path(sys.executable).parent / "pipedsl"), "sync", "--projects"]
        command += [str(projects), "--url", jenkins.url, "--github-api", github.api, "-v"]
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert_no_leak(done.stdout, "stdout", ODD_TOKEN, GITHUB_TOKEN)
    assert_no_leak(done.stderr, "stderr", ODD_TOKEN, GITHUB_TOKEN)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert "Authorization: Basic ****" in done.stderr  # the echoed request was printed, masked


MISTYPED = [
    f"http:/{USER}:{TOKEN}@127.0.0.1:1",
    f"http//{USER}:{TOKEN}@127.0.0.1:1",
    f"{USER}:{TOKEN}@127.0.0.1:1",
    f"http://{USER}:{ODD_TOKEN}@127.0.0.1:1",  # '/', ':' and '@' in the password, unencoded
    f"http://{USER}:{TOKEN}@127.0.0.1:99999",
]


@pytest.mark.parametrize("url", MISTYPED)
def test_mistyped_urls_with_credentials_are_usage_errors_without_them(
    projects: Path, url: str
) -> None:
    code, out = sync("--projects", str(projects), "--url", url)
    assert code == 2, out
    assert "the Jenkins URL" in out
    assert_no_leak(out, url, TOKEN, ODD_TOKEN)
    # As an extra argument (--url forgotten), click's usage error echoes it: masked too.
    code, out = sync("--projects", str(projects), url)
    assert code == 2, out
    assert "unexpected extra argument" in out
    assert_no_leak(out, url, TOKEN, ODD_TOKEN)
    done = subprocess.run(
        [str(Path(sys.executable).parent / "pipedsl"), "sync", url],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert_no_leak(done.stdout + done.stderr, url, TOKEN, ODD_TOKEN)


def test_a_secret_split_over_writes_is_masked() -> None:
    secrets = Secrets()
    secrets.add(TOKEN, USER)
    basic = base64.b64encode(f"{USER}:{TOKEN}".encode()).decode()
    for text in (f"token={TOKEN} end\n", f"Authorization: Basic {basic}\n", quote_plus(TOKEN)):
        for cut in range(len(text) + 1):
            sink = io.StringIO()
            stream = MaskedStream(sink, secrets)
            stream.write(text[:cut])
            stream.flush()
            stream.write(text[cut:])
            stream.drain()
            assert TOKEN not in sink.getvalue()
            assert basic not in sink.getvalue()
            assert "****" in sink.getvalue()
    # Text without a secret passes unchanged, and at once (a progress line on a terminal).
    sink = io.StringIO()
    stream = MaskedStream(sink, secrets)
    stream.write("\r[1/2] create shop/app00\033[K")
    assert sink.getvalue() == "\r[1/2] create shop/app00\033[K"
    tally.add("secrets split over two writes, masked", len(TOKEN) + len(basic))


def test_logs_are_masked(projects: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A library logging what it sends (as a debug log of requests does) logs no token."""
    logger = logging.getLogger("tests.transport")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger.addHandler(handler)
    send = requests.Session.send

    def logged(self: requests.Session, request: Any, **kwargs: Any) -> Any:
        logger.warning("sending %s with %s", request.url, request.headers.get("Authorization"))
        return send(self, request, **kwargs)

    monkeypatch.setattr(requests.Session, "send", logged)
    try:
        with FakeJenkins(users={USER: TOKEN}) as jenkins:
            code, out = sync("--projects", str(projects), "--url", jenkins.url, "--user", USER,
                             "--token", TOKEN, "--dry-run")  # fmt: skip
    finally:
        logger.removeHandler(handler)
    assert code == 0, out
    assert "sending http://127.0.0.1" in stream.getvalue()
    assert_no_leak(stream.getvalue(), "a log handler", TOKEN)


def test_a_logged_stack_is_masked() -> None:
    """A record logged with ``stack_info`` (the source lines of the calling frames) shows no
    secret either, nor does its message or its traceback."""
    secrets = Secrets()
    secrets.add(TOKEN)
    logger = logging.getLogger("tests.stack")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger.addHandler(handler)
    # A frame whose source line holds the token, as code built from a template might.
    source = (
        f"logger.warning('calling with %s', token, stack_info=True, exc_info=failure)  # {TOKEN}"
    )
    filename = f"<generated {TOKEN}>"
    linecache.cache[filename] = (len(source), None, [source + "\n"], filename)
    try:
        with masked_output(secrets):
            scope = {"logger": logger, "token": TOKEN, "failure": RuntimeError(TOKEN)}
            exec(compile(source, filename, "exec"), scope)  # noqa: S102  (the test's own code)
    finally:
        logger.removeHandler(handler)
        linecache.cache.pop(filename, None)
    written = stream.getvalue()
    assert "Stack (most recent call last)" in written
    assert "calling with" in written
    assert_no_leak(written, "a logged stack", TOKEN)


def _encodings(secret: str) -> dict[str, str]:
    """Text holding ``secret`` as servers and proxies may write it back."""
    data = secret.encode()
    basic = base64.b64encode(f"{USER}:{secret}".encode()).decode()
    mime = base64.encodebytes(f"{USER}:{secret}{secret}".encode()).decode()
    return {
        "upper case": secret.upper(),
        "url-encoded, lower-case escapes": quote(secret, safe="").lower(),
        "url-encoded twice, upper case": quote(quote(secret, safe=""), safe="").upper(),
        "JSON \\u escapes": json_escaped(secret),
        "JSON \\/ escapes": secret.replace("/", "\\/"),
        "JSON-escaped Basic header": json.dumps(f"Basic {basic}").replace("/", "\\/"),
        "HTML references": "".join(
            f"&#{ord(c)};" if i % 2 else f"&#x{ord(c):x};" for i, c in enumerate(secret)
        ),
        **{
            f"base64 after {n} bytes": base64.b64encode(b"x" * n + data + b"-").decode()
            for n in range(6)
        },
        "URL-safe base64 after a byte": base64.urlsafe_b64encode(b"\xfb" + data).decode(),
        "MIME base64 (76 a line)": mime,
        "MIME base64, CRLF, indented": "\r\n   ".join(mime.split("\n")),
    }


ENCODED = {f"{name}, {secret[:6]}": text for secret in (TOKEN, ODD_TOKEN)
           for name, text in _encodings(secret).items()}  # fmt: skip


@pytest.mark.parametrize("name", sorted(ENCODED))
def test_every_encoding_of_a_secret_is_masked_also_split_over_writes(name: str) -> None:
    secrets = Secrets()
    secrets.add(TOKEN, USER)
    secrets.add(ODD_TOKEN, USER)
    text = f"echo: {ENCODED[name]} end\n"
    masked = secrets.mask(text)
    assert "****" in masked
    for cut in range(len(text) + 1):
        sink = io.StringIO()
        stream = MaskedStream(sink, secrets)
        stream.write(text[:cut])
        stream.write(text[cut:])
        stream.drain()
        assert sink.getvalue() == masked, cut
    assert_no_leak(masked, name, TOKEN, ODD_TOKEN)
    assert_no_leak("".join(masked.split()), f"{name}, lines joined", TOKEN, ODD_TOKEN)
    tally.add("encodings of a secret masked, also split over two writes at every point")


ENCODERS: dict[str, Callable[[str], str]] = {
    "as given": lambda s: s,
    "upper case": str.upper,
    "url-encoded": lambda s: quote(s, safe=""),
    "form-encoded": quote_plus,
    "url-encoded, lower-case escapes": lambda s: quote(s, safe="").lower(),
    "JSON \\u escapes": json_escaped,
    "JSON string": lambda s: json.dumps(s)[1:-1].replace("/", "\\/"),
    "HTML references": lambda s: "".join(f"&#{ord(c)};" for c in s),
    "base64": lambda s: base64.b64encode(s.encode()).decode(),
    "Basic header": lambda s: base64.b64encode(f"{USER}:{s}".encode()).decode(),
    "base64 after 1 byte": lambda s: base64.b64encode(f"q{s}zz".encode()).decode(),
    "base64 after 2 bytes": lambda s: base64.b64encode(f"qq{s}z".encode()).decode(),
    "URL-safe base64": lambda s: base64.urlsafe_b64encode(b"\xff\xfe" + s.encode()).decode(),
    "MIME base64": lambda s: base64.encodebytes(f"abcde{s}{s}{s}".encode()).decode(),
}


@settings(max_examples=150, deadline=None)
@given(
    secret=st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=10, max_size=40),
    before=st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=20),
    encoding=st.sampled_from(sorted(ENCODERS)),
    cut=st.integers(min_value=0, max_value=400),
)
def test_any_secret_in_any_encoding_split_anywhere_is_masked(
    secret: str, before: str, encoding: str, cut: int
) -> None:
    secrets = Secrets()
    secrets.add(secret, USER)
    text = f"{before}{ENCODERS[encoding](secret)} end"
    sink = io.StringIO()
    stream = MaskedStream(sink, secrets)
    stream.write(text[:cut])
    stream.write(text[cut:])
    stream.drain()
    assert sink.getvalue() == secrets.mask(text)  # split or not, the same output
    out, joined = sink.getvalue(), "".join(sink.getvalue().split())
    for name, encode in ENCODERS.items():
        form = "".join(encode(secret).split())
        if name.startswith(("base64", "Basic", "URL-safe", "MIME")):
            assert form[4:-4] not in joined, name  # its middle, whatever surrounds it
        else:
            assert form not in out, name
    tally.add("random secrets, encodings and split points, masked")


@pytest.mark.parametrize("name", ["upper case", "JSON \\u escapes", "base64 after 2 bytes",
                                  "MIME base64 (76 a line)"])  # fmt: skip
def test_servers_writing_a_secret_encoded_leak_nothing(projects: Path, name: str) -> None:
    _Scripted.answer = lambda method, path: (418, {}, f"<p>{_encodings(TOKEN)[name]}</p>")
    with serving(_Scripted) as url:
        code, out = sync("--projects", str(projects), "--url", url, "--user", USER,
                         "--token", TOKEN, "--retries", "0")  # fmt: skip
    assert code == 1, out
    assert "checking access: Jenkins answered 418" in out
    assert_no_leak(out, name, TOKEN)


FOLDER_CLASS = "com.cloudbees.hudson.plugins.folder.Folder"
LONG_PAGE = "<html><body><p>" + "x" * 190 + f" {TOKEN} </p></body></html>"


def _long_pages(where: str) -> Callable[[str, str], tuple[int, dict[str, str], str]]:
    """A Jenkins answering ``where`` with an error page whose token comes at character 190."""
    listing = {"jobs": [{"name": "shop", "_class": FOLDER_CLASS, "jobs": []}]}

    def answer(method: str, path: str) -> tuple[int, dict[str, str], str]:
        if where == "checking access":
            return 418, {}, LONG_PAGE
        if path.startswith("/me/"):
            return 200, {}, '{"id": "admin"}'
        if path.startswith("/api/json"):
            return 200, {}, json.dumps(listing if where != "creating the folder" else {"jobs": []})
        if method == "POST" and where == "crumb":
            return 403, {}, LONG_PAGE.replace("<p>", "<p>No valid crumb was included ")
        if method == "POST":
            return 400, {}, LONG_PAGE
        return 404, {}, "<p>Not Found</p>"

    return answer


@pytest.mark.parametrize("where", ["checking access", "creating the folder", "creating the job",
                                   "crumb"])  # fmt: skip
def test_a_long_page_is_cut_after_masking(projects: Path, where: str) -> None:
    _Scripted.answer = _long_pages(where)
    with serving(_Scripted) as url:
        code, out = sync("--projects", str(projects), "--url", url, "--user", USER,
                         "--token", TOKEN, "--retries", "0")  # fmt: skip
    assert code == 1, out
    assert "x" * 150 in out  # the page was shown, shortened
    assert_no_leak(out, where, TOKEN)
    tally.add("error pages cut after masking")


def test_a_long_github_message_is_masked_then_cut(projects: Path) -> None:
    with GitHubApi(tokens={GITHUB_TOKEN: {REPO}}, repos=[REPO]) as github:
        hooks = GitHubHooks(github.api, GITHUB_TOKEN, retries=0, timeout=2)
        for status in (404, 401, 418, 422):
            github.answer_next(status, {"message": "x" * 190 + " " + GITHUB_TOKEN + " y" * 500})
            with pytest.raises(SyncError) as raised:
                hooks.list_hooks(REPO)
            assert "x" * 150 in str(raised.value)
            assert len(str(raised.value)) < 600
            assert_no_leak(str(raised.value), str(status), GITHUB_TOKEN)
    tally.add("error pages cut after masking", 4)


class _BugError(Exception):
    """An exception of pipedsl's own, which no command handles."""


@pytest.mark.parametrize(
    ("kind", "code"),
    [(ValueError, 1), (_BugError, 1), (AttributeError, 1), (KeyboardInterrupt, 130)],
)
def test_an_unexpected_exception_is_one_masked_line(
    projects: Path, monkeypatch: pytest.MonkeyPatch, kind: type[BaseException], code: int
) -> None:
    def broken(*args: object, **kwargs: object) -> int:
        raise kind(f"Port could not be cast to integer value as {TOKEN!r}")

    monkeypatch.setattr("pipedsl.jenkins.syncing.run_sync", broken)
    exit_code, out = sync("--projects", str(projects), "--url", "http://127.0.0.1:1", "--user",
                          USER, "--token", TOKEN)  # fmt: skip
    assert exit_code == code, out
    assert_no_leak(out, kind.__name__, TOKEN)
    assert "Traceback" not in out
    if kind is not KeyboardInterrupt:
        assert out == (
            f"error: unexpected {kind.__name__}: Port could not be cast to integer value as "
            "'****' (an error pipedsl does not handle; PIPEDSL_TRACEBACK=1 prints where it "
            "happened)\n"
        )
    tally.add("unexpected exceptions reported in one masked line")


_UNEXPECTED = """
import atexit, sys
import pipedsl.jenkins.syncing
from pipedsl import cli

token, projects = sys.argv[1:]
# Registered before the command runs: called after its last write.
atexit.register(lambda: print("at exit:", token, file=sys.stderr))


def broken(*args, **kwargs):
    # A secret's first characters wait for the rest of it: written at exit, no secret.
    print("written:", token[:3], end="", flush=True)
    raise ValueError("Port could not be cast to integer value as " + repr(token))


pipedsl.jenkins.syncing.run_sync = broken
sys.argv = ["pipedsl", "sync", "--url", "http://127.0.0.1:1", "--projects", projects]
cli.main()
"""


@pytest.mark.parametrize("trace", [False, True])
def test_a_process_failing_unexpectedly_prints_no_secret(projects: Path, trace: bool) -> None:
    env = {**os.environ, "PIPEDSL_JENKINS_USER": USER, "PIPEDSL_JENKINS_TOKEN": ODD_TOKEN}
    env.pop("PIPEDSL_TRACEBACK", None)
    if trace:
        env["PIPEDSL_TRACEBACK"] = "1"
    done = subprocess.run(
        [sys.executable, "-c", _UNEXPECTED, ODD_TOKEN, str(projects)],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert "error: unexpected ValueError: Port could not be cast" in done.stderr
    assert ("Traceback (most recent call last)" in done.stderr) == trace
    assert "at exit: ****" in done.stderr
    assert done.stdout == f"written: {ODD_TOKEN[:3]}"
    assert_no_leak(done.stderr, "stderr", ODD_TOKEN)
    tally.add("unexpected exceptions reported in one masked line")


# --- 2. the GitHub token goes to the API's origin only --------------------------------------


def test_github_redirects_to_another_origin_are_refused(projects: Path) -> None:
    with (
        GitHubApi(tokens={GITHUB_TOKEN: {REPO}}, repos=[REPO]) as api,
        GitHubApi(tokens={GITHUB_TOKEN: {REPO}}, repos=[REPO]) as elsewhere,
    ):
        port = api.base.rsplit(":", 1)[1]
        for target in (elsewhere.base, f"https://127.0.0.1:{port}", f"http://localhost:{port}"):
            api.redirect_to = target
            hooks = GitHubHooks(api.api, GITHUB_TOKEN, retries=0, timeout=2)
            with pytest.raises(SyncError, match=r"redirects to .* another scheme, host or port"):
                hooks.list_hooks(REPO)
        assert elsewhere.requests == []  # the token never left for the other port
        api.redirect_to = elsewhere.base
        with FakeJenkins(users={USER: TOKEN}) as jenkins:
            code, out = sync("--projects", str(projects), "--url", jenkins.url, "--user", USER,
                             "--token", TOKEN, "--github-token", GITHUB_TOKEN,
                             "--github-api", api.api)  # fmt: skip
        assert code == 1
        assert "another scheme, host or port" in out
        assert elsewhere.requests == []


@pytest.mark.parametrize(
    "location", ["http://u@127.0.0.1:abc{token}/x", "http://127.0.0.1:99999/x", "http://[oops/x"]
)
def test_github_redirects_to_malformed_urls_are_clear_errors(location: str) -> None:
    with GitHubApi(tokens={GITHUB_TOKEN: {REPO}}, repos=[REPO]) as api:
        api.answer_next(302, {}, {"Location": location.format(token=GITHUB_TOKEN)})
        hooks = GitHubHooks(api.api, GITHUB_TOKEN, retries=0, timeout=2)
        with pytest.raises(SyncError) as raised:
            hooks.list_hooks(REPO)
    assert_no_leak(str(raised.value), location, GITHUB_TOKEN)
    tally.add("redirects to malformed URLs, reported clearly")


def test_origins_normalise_default_ports() -> None:
    assert origin("https://API.github.com/x") == origin("https://api.github.com:443/y")
    assert origin("http://h/") == origin("http://h:80")
    assert origin("http://h/") != origin("https://h/")
    assert origin("http://h:8080/") != origin("http://h/")
    assert origin("http://h:99999/") is None


# --- 3. a write Jenkins did not confirm is a failure ----------------------------------------


def _seeded(jenkins: FakeJenkins, projects: Path) -> list[str]:
    args = ["--projects", str(projects), "--url", jenkins.url, "--user", USER, "--token", TOKEN]
    assert sync(*args)[0] == 0
    return args


def test_writes_redirected_to_a_login_page_fail(tmp_path: Path) -> None:
    projects = tmp_path / "inline"
    repository = f"https://127.0.0.1/{REPO}.git"
    project_file(projects, definition="inline", repository=repository)
    with FakeJenkins(users={USER: TOKEN}) as jenkins:
        jenkins.redirect_writes = True
        args = ["--projects", str(projects), "--url", jenkins.url, "--user", USER, "--token", TOKEN]
        for attempt in ("first run", "re-run"):
            code, out = sync(*args)
            assert code == 1, f"{attempt}: {out}"
            assert "redirecting to /login" in out, out
            assert "FAILED" in out
            assert jenkins.job_names() == [], attempt  # a re-run does not believe it exists
        # Updates, deletes and builds of existing jobs: redirected, reported, not done.
        jenkins.redirect_writes = False
        (projects / "other.py").write_text((projects / "shop.py").read_text().replace(
            '"shop"', '"other"'), encoding="utf-8")  # fmt: skip
        _seeded(jenkins, projects)
        project_file(projects, definition="inline", repository=repository, first_tag="v2")
        steps = [([], "update shop/app00: updating the job"),
                 (["--first-build"], "build other/app00: starting a build")]  # fmt: skip
        for extra, failure in steps:
            jenkins.redirect_writes = True
            code, out = sync(*args, *extra)
            assert code == 1, out
            assert f"failed    {failure}: Jenkins answered 302 redirecting to /login" in out, out
            jenkins.redirect_writes = False
            assert sync(*args, *extra)[0] == 0
        jenkins.redirect_writes = True
        # Only the delete to do (an update too would race it: sync stops at the first failure).
        project_file(
            projects, definition="inline", repository=repository, components=1, first_tag="v2"
        )
        code, out = sync(*args, "--prune")
        assert code == 1
        assert "failed    delete shop/app01: deleting the job: Jenkins answered 302" in out, out
        jenkins.redirect_writes = False
        code, out = sync(*args, "--prune")  # Jenkins' own redirect (to the folder) is success
        assert code == 0, out
        assert jenkins.job_names() == ["other/app00", "other/app01", "shop/app00"]
    tally.add("kinds of write redirected to a login page, each reported as failed", 5)


def test_writes_answered_with_a_login_page_fail(tmp_path: Path) -> None:
    """A proxy or single sign-on in front of Jenkins answering a write 200 with its sign-in
    page did not make the change: Jenkins answers a write 200 with an empty body, 302 or 201."""
    projects = tmp_path / "inline"
    repository = f"https://127.0.0.1/{REPO}.git"
    project_file(projects, definition="inline", repository=repository)
    with FakeJenkins(users={USER: TOKEN}) as jenkins:
        args = ["--projects", str(projects), "--url", jenkins.url, "--user", USER, "--token", TOKEN]
        jenkins.login_page_writes = True
        code, out = sync(*args)
        assert code == 1, out
        assert (
            "create shop: creating the folder shop: Jenkins answered 200 with a login page" in out
        )
        jenkins.login_page_writes = False
        jenkins.put_folder("shop")
        jenkins.login_page_writes = True
        code, out = sync(*args)
        assert code == 1, out
        assert "create shop/app00: creating the job: Jenkins answered 200 with a login page" in out
        assert jenkins.job_names() == []
        jenkins.login_page_writes = False
        _seeded(jenkins, projects)
        steps = [
            (["--first-build"], "v1", 2, "build shop/app00: starting a build"),
            ([], "v2", 2, "update shop/app00: updating the job"),
            (["--prune"], "v2", 1, "delete shop/app01: deleting the job"),
        ]
        for extra, tag, components, failure in steps:
            project_file(projects, definition="inline", repository=repository,
                         first_tag=tag, components=components)  # fmt: skip
            jenkins.login_page_writes = True
            code, out = sync(*args, *extra)
            assert code == 1, out
            assert f"failed    {failure}: Jenkins answered 200 with a login page" in out, out
            jenkins.login_page_writes = False
            assert sync(*args, *extra)[0] == 0
    tally.add("kinds of write answered with a login page, each reported as failed", 5)


# --- 4. no traceback, whatever the URL or the answer ----------------------------------------

BAD_URLS = [
    "http://127.0.0.1:99999",
    "http://127.0.0.1:0",
    "http://127.0.0.1:port",
    "http://jen kins:8080",
    "http://jen%kins:8080",
    "http://a..b:8080",
    "http://[::1",
    "http://[::g]:8080",
    "http://::1:8080",
    "http://[fe80::1%25eth0]:8080",
    "http://999.0.0.1",
    "http://host/?x=1",
    "http://-host-/",
    "http://ünïcode.example",
    "ftp://host",
    "http://",
    "http://host\x00",
]


@pytest.mark.parametrize("url", BAD_URLS)
def test_urls_requests_would_refuse_are_usage_errors(projects: Path, url: str) -> None:
    code, out = sync("--projects", str(projects), "--url", url)
    assert code == 2, out
    assert "the Jenkins URL" in out
    assert "Traceback" not in out
    code, out = sync("--projects", str(projects), "--github-token", "x" * 20, "--github-api", url)
    assert code == 2, out
    assert "the GitHub API URL" in out
    tally.add("URLs requests or urllib would refuse, reported as usage errors", 2)


class _Canned(BaseHTTPRequestHandler):
    """A server that says it is Jenkins and answers the job list with ``LISTING``."""

    listing: bytes = b""
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""

    def do_GET(self) -> None:
        body = b'{"id": "admin"}' if self.path.startswith("/me/") else self.listing
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@contextlib.contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _job(**fields: Any) -> dict[str, Any]:
    return {"_class": "org.jenkinsci.plugins.workflow.job.WorkflowJob", "name": "j", **fields}


LISTINGS: dict[str, bytes] = {
    "a list": b"[]",
    "jobs not a list": b'{"jobs": {"name": "x"}}',
    "jobs a string": b'{"jobs": "abc"}',
    "an entry not an object": b'{"jobs": [1, "x"]}',
    "a job without a name": json.dumps({"jobs": [{"_class": "x"}]}).encode(),
    "a job without _class": b'{"jobs": [{"name": "x"}]}',
    "a name not a string": json.dumps({"jobs": [_job(name=3)]}).encode(),
    "a class not a string": json.dumps({"jobs": [_job(_class=["x"])]}).encode(),
    "nested jobs not a list": json.dumps({"jobs": [_job(jobs={"a": 1})]}).encode(),
    "nested job malformed": json.dumps({"jobs": [_job(jobs=[{"name": None}])]}).encode(),
    "HTML with 200": b"<html><body>Welcome</body></html>",
    "nested too deep": b"[" * 100000 + b"]" * 100000,
    "not UTF-8": b'{"jobs": "\xff\xfe"}',
}


@pytest.mark.parametrize("shape", sorted(LISTINGS))
def test_a_job_list_that_is_not_jenkins_shaped_is_a_clear_error(projects: Path, shape: str) -> None:
    _Canned.listing = LISTINGS[shape]
    with serving(_Canned) as url:
        code, out = sync("--projects", str(projects), "--url", url, "--retries", "0")
    assert code == 1, out
    assert "listing jobs" in out
    assert "Traceback" not in out
    tally.add("job lists not shaped as Jenkins', reported clearly")


class _Scripted(BaseHTTPRequestHandler):
    """A server answering each request as ``answer(method, path)`` says: status, headers,
    body."""

    answer: Callable[[str, str], tuple[int, dict[str, str], str]] = staticmethod(
        lambda method, path: (404, {}, "")
    )
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""

    def do_GET(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        status, headers, text = type(self).answer(self.command, self.path)
        body = text.encode()
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET  # noqa: N815  (BaseHTTPRequestHandler's name)


LOCATIONS = [
    "http://u@127.0.0.1:{token}/login",
    "http://u:{token}@127.0.0.1:99999/login",
    "http://[oops/login",
    "http://u@[::1:{token}/login",
    "//:{token}@/",
]


@pytest.mark.parametrize("location", LOCATIONS)
@pytest.mark.parametrize("status", [300, 302, 303])
def test_a_write_redirected_to_a_malformed_url_is_a_clear_error(
    projects: Path, location: str, status: int
) -> None:
    def answer(method: str, path: str) -> tuple[int, dict[str, str], str]:
        if method == "POST":
            return status, {"Location": location.format(token=quote(TOKEN))}, ""
        return 200, {}, '{"id": "admin"}' if path.startswith("/me/") else '{"jobs": []}'

    _Scripted.answer = answer
    with serving(_Scripted) as url:
        code, out = sync("--projects", str(projects), "--url", url, "--user", USER,
                         "--token", TOKEN, "--retries", "0")  # fmt: skip
    assert code == 1, out
    assert "failed    create shop: creating the folder shop: " in out
    assert "Traceback" not in out
    assert_no_leak(out, location, TOKEN)
    tally.add("redirects to malformed URLs, reported clearly")


@pytest.mark.parametrize(
    "url",
    [*(loc.format(token=TOKEN) for loc in LOCATIONS), f"http://u:{TOKEN}@h:1/", "", "@", ":@:"],
)
def test_urls_in_messages_never_raise_and_lose_their_credentials(url: str) -> None:
    shown = display_url(url)
    assert f"{TOKEN}@" not in shown
    assert "u@" not in shown


class _Unprintable(requests.ConnectionError):
    def __str__(self) -> str:
        raise RuntimeError("no text")


class _OddError(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no text")


@pytest.mark.parametrize("kind", [_Unprintable, _OddError, ValueError, OverflowError])
def test_an_exception_from_the_transport_is_a_clear_error(
    projects: Path, monkeypatch: pytest.MonkeyPatch, kind: type[Exception]
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise kind(TOKEN)

    monkeypatch.setattr(requests.Session, "send", broken)
    code, out = sync("--projects", str(projects), "--url", "http://127.0.0.1:1", "--user", USER,
                     "--token", TOKEN, "--retries", "0")  # fmt: skip
    assert code == 1, out
    assert "Traceback" not in out
    assert "checking access" in out
    assert_no_leak(out, kind.__name__, TOKEN)


# --- 5. --timeout bounds the whole answer ---------------------------------------------------


@contextlib.contextmanager
def dripping(headers_too: bool) -> Iterator[str]:
    """A server sending its answer one byte every 50 ms (the headers too, or only the body)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    stop = threading.Event()

    def serve(conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            conn.recv(65536)
            head = (
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 4000\r\n\r\n"
            )
            if not headers_too:
                conn.sendall(head)
                head = b""
            for byte in head + b'{"id": "' + b"a" * 3990:
                if stop.wait(0.05):
                    return
                conn.sendall(bytes([byte]))

    def accept() -> None:
        with contextlib.suppress(OSError):
            while not stop.is_set():
                conn, _ = listener.accept()
                threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        listener.close()


@pytest.mark.parametrize("headers_too", [False, True])
def test_a_dripping_server_cannot_hold_sync(projects: Path, headers_too: bool) -> None:
    with dripping(headers_too) as url:
        started = time.monotonic()
        result = runner.invoke(app, ["sync", "--projects", str(projects), "--url", url,
                                     "--timeout", "0.3", "--retries", "0"])  # fmt: skip
        took = time.monotonic() - started
        assert result.exit_code == 1, result.output
        assert "did not answer within 0.3 s" in result.output
        assert took < 2.5, took
        client = GitHubHooks(url + "/api/v3", GITHUB_TOKEN, timeout=0.3, retries=0)
        started = time.monotonic()
        with pytest.raises(SyncError, match=r"did not answer within 0\.3 s"):
            client.list_hooks(REPO)
        assert time.monotonic() - started < 1.5
        jenkins = PythonJenkinsClient(url, None, None, timeout=0.3, retries=1, backoff=0)
        started = time.monotonic()
        with pytest.raises(SyncError, match="did not answer within"):
            jenkins.check_access()
        assert time.monotonic() - started < 2.0
    tally.add("dripping answers cut at --timeout", 3)
