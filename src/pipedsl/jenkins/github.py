"""Registering each project's push webhook on GitHub, through its REST API (optional: only with a
token). Idempotent: a repository that already has a hook with the project's webhook URL is left
alone.

GitHub's API for repository hooks (https://docs.github.com/rest/repos/webhooks):
``GET /repos/{owner}/{repo}/hooks`` (paginated; ``Link: <...>; rel="next"``) and
``POST /repos/{owner}/{repo}/hooks``. Both need admin rights on the repository (classic token:
scope ``admin:repo_hook``; fine-grained token: "Webhooks: read and write"); without them, and
for a repository that does not exist, GitHub answers 404.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from http.client import HTTPException
from typing import Any, Literal
from urllib.parse import quote, urlsplit

import attrs

from pipedsl.errors import SyncError
from pipedsl.jenkins.client import Deadline, display_url, safe_str
from pipedsl.model.project import Project
from pipedsl.record import Record
from pipedsl.redact import Secrets


def origin(url: str) -> tuple[str, str, int] | None:
    """Scheme, host and port of ``url`` (the port defaulted: 443 for https, 80 for http);
    ``None`` for what is not an http(s) URL."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        return None
    return scheme, parts.hostname.lower(), port or (443 if scheme == "https" else 80)


class _ForeignRedirectError(Exception):
    """The API redirected to another scheme, host or port."""

    def __init__(self, target: str) -> None:
        super().__init__(target)
        self.target = target


class _SameOriginRedirects(urllib.request.HTTPRedirectHandler):
    """Follow redirects within the API's own origin (scheme, host and port) only.

    urllib would copy the ``Authorization`` header to wherever a redirect points, also from
    https to http. A redirect to another origin is an error, not followed without the token:
    GitHub would answer it 401, which says nothing about the redirect that was the cause.
    """

    def __init__(self, api: str) -> None:
        super().__init__()
        self.origin = origin(api)

    def redirect_request(  # noqa: PLR0917  (urllib's signature)
        self,
        req: urllib.request.Request,
        fp: object,
        code: int,
        msg: str,
        headers: object,
        newurl: str,
    ) -> urllib.request.Request | None:
        if origin(newurl) != self.origin:
            raise _ForeignRedirectError(newurl)
        return super().redirect_request(req, fp, code, msg, headers, newurl)  # type: ignore[arg-type]


class _WatchedHTTPConnection(http.client.HTTPConnection):
    def connect(self) -> None:
        super().connect()
        Deadline.watch(self.sock)


class _WatchedHTTPSConnection(http.client.HTTPSConnection):
    def connect(self) -> None:
        super().connect()
        Deadline.watch(self.sock)


class _HTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_WatchedHTTPConnection, req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_WatchedHTTPSConnection, req, context=self._context)  # type: ignore[attr-defined]


API_VERSION = "2022-11-28"
# Pages of hooks read at most: GitHub allows 20 hooks per event, so a few hundred hooks, two or
# three pages of 100; more is a server linking on and on.
MAX_PAGES = 50


def web_host(api: str) -> str:
    """The host repositories live on for a GitHub API URL: ``api.github.com`` ->
    ``github.com``; GitHub Enterprise serves its API on its own host (``https://HOST/api/v3``)."""
    host = (urlsplit(api).hostname or "").lower()
    return "github.com" if host == "api.github.com" else host


_SCP = re.compile(r"[A-Za-z0-9_.-]+@(?P<host>[A-Za-z0-9.-]+):(?P<path>.+)")


def github_repository(repository: str, api: str) -> str | None:
    """``owner/repo`` when ``repository`` (a Git URL) is on the GitHub that ``api`` serves."""
    scp = _SCP.fullmatch(repository)
    if scp:
        host, path = scp.group("host"), scp.group("path")
    else:
        parts = urlsplit(repository)
        host, path = parts.hostname or "", parts.path
    if host.lower() != web_host(api):
        return None
    path = path.strip("/")
    path = path.removesuffix(".git")
    segments = path.split("/")
    if len(segments) != 2 or not all(segments):
        return None
    return "/".join(segments)


@attrs.frozen(eq=False, repr=False)
class HookChange(Record):
    """What webhook registration does for one repository: ``create`` a hook, leave an
    ``existing`` one alone, ``skip`` a project whose repository is elsewhere, or ``error``."""

    action: Literal["create", "existing", "skip", "error"]
    repository: str
    url: str
    note: str = ""

    def __str__(self) -> str:
        line = f"webhook {self.action:<8} {self.repository} -> {self.url}"
        return line + (f"  ({self.note})" if self.note else "")


@attrs.frozen(eq=False, repr=False)
class Hook(Record):
    """A repository hook as GitHub lists it: where it sends, which events, whether active."""

    url: str | None
    events: tuple[str, ...]
    active: bool


def _hooks(body: object, where: str, api: str) -> list[Hook]:
    """The hooks of one page of GitHub's list; a clear error for an answer of another shape."""

    def unreadable(problem: str) -> SyncError:
        return SyncError(
            f"{where}: {api} answered a hook list pipedsl cannot read ({problem}); is it a "
            "GitHub API URL (GitHub Enterprise: https://HOST/api/v3)?"
        )

    if not isinstance(body, list):
        raise unreadable("not a JSON list")
    hooks = []
    for entry in body:
        if not isinstance(entry, dict):
            raise unreadable("an entry is not an object")
        # GitHub always sends all three; null is taken for absent.
        config, events, active = (entry.get(k) for k in ("config", "events", "active"))
        config = {} if config is None else config
        url = config.get("url") if isinstance(config, dict) else None
        events = [] if events is None else events
        active = True if active is None else active
        if not isinstance(config, dict) or not isinstance(url, str | None):
            raise unreadable("a hook's 'config' is not an object with a 'url' string")
        if not isinstance(events, list) or not all(isinstance(e, str) for e in events):
            raise unreadable("a hook's 'events' is not a list of strings")
        if not isinstance(active, bool):
            raise unreadable("a hook's 'active' is not true or false")
        hooks.append(Hook(url, tuple(events), active))
    return hooks


@attrs.frozen(eq=False, repr=False)
class _Target(Record):
    repository: str
    url: str
    projects: tuple[str, ...]


def _targets(projects: Sequence[Project], api: str) -> tuple[list[_Target], list[HookChange]]:
    found: dict[tuple[str, str], list[str]] = {}
    other: list[HookChange] = []
    for project in projects:
        url = project.jenkins.webhook_url
        repository = github_repository(project.repository, api)
        if repository is None:
            other.append(
                HookChange(
                    "skip",
                    project.repository,
                    url,
                    f"project {project.name}: not a repository on {web_host(api)}",
                )
            )
        elif project.jenkins.is_placeholder:
            other.append(
                HookChange(
                    "error",
                    repository,
                    url,
                    f"project {project.name} keeps the placeholder Jenkins URL; set "
                    "jenkins=JenkinsJobs(url=...) to the address GitHub can reach",
                )
            )
        else:
            found.setdefault((repository, url), []).append(project.name)
    return [_Target(r, u, tuple(p)) for (r, u), p in sorted(found.items())], other


class GitHubHooks:
    """The two hook calls over GitHub's REST API (urllib), with bounded retries of transient
    failures. The token is sent only to ``api``'s scheme, host and port (a redirect elsewhere
    is an error) and never appears in a message. ``timeout`` bounds each whole answer."""

    def __init__(
        self,
        api: str,
        token: str,
        *,
        timeout: float = 30.0,
        retries: int = 3,
        backoff: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.api = api.rstrip("/")
        self._token = token
        self._secrets = Secrets()
        self._secrets.add(token, "x-access-token")
        self._opener = urllib.request.build_opener(
            _SameOriginRedirects(self.api), _HTTPHandler, _HTTPSHandler
        )
        self.timeout = timeout
        self.retries = max(0, retries)
        self.backoff = max(0.0, backoff)
        self._sleep = sleep
        self._lock = threading.Lock()
        self.requests_made = 0

    def list_hooks(self, repository: str) -> list[Hook]:
        """Every hook of ``owner/repo``, following ``Link: rel="next"`` pages (at most
        :data:`MAX_PAGES`, none twice)."""
        hooks: list[Hook] = []
        url: str | None = f"{self.api}/repos/{_quoted(repository)}/hooks?per_page=100"
        seen: set[str] = set()
        where = f"listing hooks of {repository}"
        while url is not None:
            if url in seen or len(seen) == MAX_PAGES:
                problem = (
                    "links back to a page it already sent"
                    if url in seen
                    else f"sent {MAX_PAGES} pages and links to one more"
                )
                raise SyncError(
                    f"{where}: {self.api} {problem}; is it a GitHub API URL (GitHub Enterprise: "
                    "https://HOST/api/v3)?"
                )
            seen.add(url)
            _, headers, body = self._call("GET", url, None, repository, "listing hooks")
            hooks += _hooks(body, where, self.api)
            url = _next_link(headers.get("link", ""))
            if url is not None and not url.startswith(self.api + "/"):
                # Never send the token anywhere but the API it is for.
                raise SyncError(f"{where}: next page outside {self.api}")
        return hooks

    def create_hook(self, repository: str, url: str) -> None:
        """A ``web`` hook sending ``push`` events as JSON to ``url``."""
        payload = {
            "name": "web",
            "active": True,
            "events": ["push"],
            "config": {"url": url, "content_type": "json", "insecure_ssl": "0"},
        }
        status, _, body = self._call(
            "POST",
            f"{self.api}/repos/{_quoted(repository)}/hooks",
            payload,
            repository,
            "creating the hook",
        )
        if not isinstance(body, dict):
            # GitHub answers 201 with the hook it created; a proxy's page is not that.
            raise SyncError(
                f"creating the hook of {repository}: {self.api} answered {status} without the "
                "hook GitHub answers with; the hook may not have been created; check "
                "--github-api"
            )

    def _call(
        self, method: str, url: str, payload: object, repository: str, what: str
    ) -> tuple[int, dict[str, str], Any]:
        attempt = 0
        while True:
            attempt += 1
            try:
                return self._bounded(method, url, payload, repository, what)
            except _TransientError as exc:
                if attempt > self.retries:
                    message = f"{exc} (gave up after {attempt} attempts)"
                    raise SyncError(self._secrets.mask(message)) from None
                self._sleep(self.backoff * 2 ** (attempt - 1))
            except SyncError as exc:
                raise SyncError(self._secrets.mask(str(exc))) from None

    def _bounded(
        self, method: str, url: str, payload: object, repository: str, what: str
    ) -> tuple[int, dict[str, str], Any]:
        """One exchange, all of it (connect, headers, body) within ``timeout``."""
        late = _TransientError(
            f"{what} of {repository}: {self.api} did not answer within {self.timeout:g} s"
        )
        with Deadline(self.timeout) as deadline:
            try:
                answer = self._once(method, url, payload, repository, what)
            except (SyncError, _TransientError):
                if deadline.expired:
                    raise late from None
                raise
            if deadline.expired:
                raise late
        return answer

    def _once(
        self, method: str, url: str, payload: object, repository: str, what: str
    ) -> tuple[int, dict[str, str], Any]:
        with self._lock:
            self.requests_made += 1
        data = None if payload is None else json.dumps(payload).encode("utf-8")
        request = urllib.request.Request(  # noqa: S310  (an http(s) URL, checked in settings)
            url,
            data=data,
            method=method,
            headers={
                "Accept": "application/vnd.github+json",
                "Authorization": f"Bearer {self._token}",
                "X-GitHub-Api-Version": API_VERSION,
                "User-Agent": "pipedsl",
                **({"Content-Type": "application/json"} if data is not None else {}),
            },
        )
        where = f"{what} of {repository}"
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                status = int(response.status)
                headers = {k.lower(): v for k, v in response.headers.items()}
                body = response.read()
        except urllib.error.HTTPError as exc:
            headers = {k.lower(): v for k, v in exc.headers.items()}
            raise self._status_error(exc.code, headers, exc.read(), where, repository) from None
        except urllib.error.URLError as exc:
            raise self._connection_error(exc.reason, where) from None
        except TimeoutError:
            raise _TransientError(
                f"{where}: {self.api} did not answer within {self.timeout:g} s"
            ) from None
        except (ConnectionError, HTTPException):
            raise _TransientError(
                f"{where}: the connection to {self.api} was closed without an answer"
            ) from None
        except _ForeignRedirectError as exc:
            raise SyncError(
                f"{where}: {self.api} redirects to {display_url(exc.target)}, another scheme, "
                "host or port; pipedsl sends the GitHub token to the API URL's own only; give "
                "the API's real URL (--github-api)"
            ) from None
        except Exception as exc:
            raise SyncError(
                f"{where}: talking to {self.api} failed ({type(exc).__name__}: "
                f"{self._secrets.excerpt(safe_str(exc), 200)}); check --github-api"
            ) from None
        return status, headers, _decode(body)

    def _connection_error(self, reason: object, where: str) -> Exception:
        host = urlsplit(self.api).hostname
        if isinstance(reason, socket.gaierror):
            return SyncError(f"{where}: cannot resolve {host!r}; check --github-api ({self.api})")
        if isinstance(reason, ConnectionRefusedError):
            return SyncError(f"{where}: connection to {self.api} refused; check --github-api")
        if isinstance(reason, TimeoutError):
            return _TransientError(f"{where}: {self.api} did not answer within {self.timeout:g} s")
        return _TransientError(f"{where}: cannot reach {self.api} ({type(reason).__name__})")

    def _status_error(
        self, status: int, headers: dict[str, str], raw: bytes, where: str, repository: str
    ) -> Exception:
        body = _decode(raw)
        fields = body if isinstance(body, dict) else {}
        message = self._shown(fields.get("message"))
        if status == 401:
            return SyncError(
                f"{where}: GitHub rejected the token (401 {message or 'Bad credentials'}); "
                f"check --github-token / PIPEDSL_GITHUB_TOKEN (a token for {self.api})"
            )
        if status == 403 and headers.get("x-ratelimit-remaining") == "0":
            when = _reset_time(headers.get("x-ratelimit-reset", ""))
            return SyncError(
                f"{where}: GitHub API rate limit exceeded"
                + (f" (resets at {when})" if when else "")
                + "; try again later"
            )
        if status in (403, 404):
            return SyncError(
                f"{where}: GitHub answered {status} ({message or 'Not Found'}): the repository "
                f"{repository} does not exist, or the token may not manage its hooks; it needs "
                "admin rights on the repository (classic token: scope admin:repo_hook; "
                "fine-grained: Webhooks read and write)"
            )
        if status == 422:
            errors = fields.get("errors")
            details = [
                self._shown(e.get("message") or e.get("code") if isinstance(e, dict) else e)
                for e in (errors if isinstance(errors, list) else [])
            ]
            detail = "; ".join(d for d in details if d) or message or "Validation Failed"
            return SyncError(f"{where}: GitHub refused the hook (422: {detail})")
        if status >= 500 or status == 429:
            return _TransientError(f"{where}: GitHub answered {status}")
        return SyncError(
            f"{where}: GitHub answered {status}" + (f" ({message})" if message else "")
        )

    def _shown(self, text: object, limit: int = 200) -> str:
        """A text from GitHub's answer for a message: a string (else nothing), masked, then
        shortened."""
        return self._secrets.excerpt(" ".join(text.split()), limit) if isinstance(text, str) else ""


class _TransientError(Exception):
    """5xx, 429, a dropped connection or a timeout: worth retrying."""


def _quoted(repository: str) -> str:
    owner, name = repository.split("/")
    return f"{quote(owner, safe='')}/{quote(name, safe='')}"


def _decode(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8")) if raw else None
    except (UnicodeDecodeError, ValueError):
        return None


def _reset_time(reset: str) -> str | None:
    """``X-RateLimit-Reset`` (seconds since 1970) as a UTC time of day; ``None`` for what is not
    such a number."""
    if not re.fullmatch(r"[0-9]{1,12}", reset.strip()):
        return None
    try:
        return time.strftime("%H:%M:%S UTC", time.gmtime(int(reset)))
    except (OverflowError, OSError, ValueError):
        return None


_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="?([^";]+)"?')


def _next_link(header: str) -> str | None:
    for url, rel in _LINK.findall(header):
        if "next" in rel.split():
            return str(url)
    return None


def plan_hooks(
    client: GitHubHooks | None, projects: Sequence[Project], api: str
) -> list[HookChange]:
    """For each repository on that GitHub (and each webhook URL), ``create`` or ``existing``;
    other projects are ``skip`` or ``error``. Reads hooks (one request per page), writes
    nothing. Without a client, repositories are listed as ``create`` (not looked at)."""
    targets, other = _targets(projects, api)
    changes: list[HookChange] = []
    for target in targets:
        if client is None:
            changes.append(HookChange("create", target.repository, target.url))
            continue
        try:
            hooks = client.list_hooks(target.repository)
        except SyncError as exc:
            changes.append(HookChange("error", target.repository, target.url, str(exc)))
            continue
        same = [h for h in hooks if h.url == target.url]
        if not same:
            near = [h for h in hooks if (h.url or "").rstrip("/") == target.url.rstrip("/")]
            note = (
                "a hook without the trailing '/' exists too: Jenkins answers it with a redirect "
                "GitHub does not follow; remove it"
                if near
                else ""
            )
            changes.append(HookChange("create", target.repository, target.url, note))
            continue
        hook = same[0]
        problems = []
        if not hook.active:
            problems.append("inactive")
        if "push" not in hook.events and "*" not in hook.events:
            problems.append("does not send push events")
        note = "left alone" + (f"; but it is {' and '.join(problems)}" if problems else "")
        changes.append(HookChange("existing", target.repository, target.url, note))
    return changes + other


def apply_hooks(client: GitHubHooks, plan: Sequence[HookChange]) -> list[HookChange]:
    """Create the planned hooks; returns the plan with failed creates turned into errors."""
    result = []
    for change in plan:
        outcome = change
        if change.action == "create":
            try:
                client.create_hook(change.repository, change.url)
            except SyncError as exc:
                outcome = HookChange("error", change.repository, change.url, str(exc))
        result.append(outcome)
    return result
