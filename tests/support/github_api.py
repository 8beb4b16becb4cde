"""A stand-in for GitHub's repository-hooks REST API (https://docs.github.com/rest/repos/webhooks)
for the test suite: a stdlib ``ThreadingHTTPServer`` on 127.0.0.1 with a free port::

    with GitHubApi(tokens={"tok": {"acme/shop"}}, repos=["acme/shop"]) as github:
        ...  # API URL: github.api (served under /api/v3, like GitHub Enterprise)

What it models, as GitHub answers:

* ``Authorization: Bearer <token>`` (or ``token <token>``). A missing or unknown token gets
  401 ``{"message": "Bad credentials", ...}``. ``tokens`` maps a token to the repositories
  (``owner/repo``) it has admin rights on (``"*"``: all).
* A repository that does not exist, or that the token has no admin rights on, gets 404
  ``{"message": "Not Found", ...}`` (GitHub does not tell the two apart).
* ``X-GitHub-Api-Version``: absent or ``2022-11-28`` is accepted; another value gets 400.
* ``GET /repos/{owner}/{repo}/hooks``: ``per_page`` (default 30, at most 100) and ``page``
  (from 1); a ``Link`` header with ``first``/``prev``/``next``/``last`` as GitHub sends it.
* ``POST /repos/{owner}/{repo}/hooks``: JSON body; ``name`` must be ``"web"`` (the default),
  ``config.url`` is required, ``events`` defaults to ``["push"]``, ``active`` to true.  A hook
  with the same ``config.url`` and the same events already there -> 422 "Validation Failed"
  with ``errors: [{"resource": "Hook", "code": "custom", "message": "Hook already exists on
  this repository"}]``; a 21st hook for an event -> 422 'The "push" event cannot have more
  than 20 hooks'.  Created -> 201 with the hook and a ``Location`` header.
* Rate limit: ``rate_limited = True`` answers 403 "API rate limit exceeded" with
  ``X-RateLimit-Remaining: 0`` and ``X-RateLimit-Reset``.

Fault injection: ``fail_next(count, status)``; ``answer_next(status, payload, headers)`` (not
GitHub: the next request, whatever it asks, gets this answer -- ``payload`` a JSON value, or
bytes sent as they are; one call per request; for answers of shapes GitHub never sends);
``redirect_to`` (not GitHub: a base URL, e.g.
another server's; every request is answered 307 to it plus the request's path);
``echo_requests`` (not GitHub: ``"errors"`` adds the whole request -- method, path, headers
with ``Authorization``, body -- to every answer of status 300 and more, ``"all"`` to every
answer); observation: ``requests`` (method, path with query, ``Authorization`` header),
``hooks(repo)``.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

PREFIX = "/api/v3"
MAX_HOOKS_PER_EVENT = 20
DOCS = "https://docs.github.com/rest/repos/webhooks"
_HOOKS_PATH = re.compile(r"/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)/hooks")


class GitHubApi:
    """The stand-in server (see the module docstring)."""

    def __init__(
        self,
        tokens: Mapping[str, Iterable[str]] | None = None,
        repos: Iterable[str] = (),
    ) -> None:
        self._lock = threading.Lock()
        self._tokens = {token: set(repos_) for token, repos_ in (tokens or {}).items()}
        self._hooks: dict[str, list[dict[str, Any]]] = {repo.lower(): [] for repo in repos}
        self._next_id = 1
        self._faults: list[int] = []
        self._answers: list[tuple[int, dict[str, str], Any]] = []
        self._requests: list[tuple[str, str, str]] = []
        self.rate_limited = False
        self.redirect_to: str | None = None
        self.echo_requests: str | None = None
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle

    def __enter__(self) -> GitHubApi:
        handler = _handler_for(self)
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    @property
    def base(self) -> str:
        if self._httpd is None:
            raise RuntimeError("GitHubApi is not running")
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def api(self) -> str:
        """The API URL, as GitHub Enterprise serves it: ``http://127.0.0.1:<port>/api/v3``."""
        return self.base + PREFIX

    # -- switches and observation

    def fail_next(self, count: int, status: int = 502) -> None:
        with self._lock:
            self._faults += [status] * count

    def answer_next(
        self, status: int, payload: Any, headers: Mapping[str, str] | None = None
    ) -> None:
        with self._lock:
            self._answers.append((status, dict(headers or {}), payload))

    def add_hook(self, repo: str, url: str, **fields: Any) -> None:
        with self._lock:
            self._hooks.setdefault(repo.lower(), []).append(self._new_hook(repo, url, fields))

    def hooks(self, repo: str) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(h) for h in self._hooks[repo.lower()]]

    @property
    def requests(self) -> list[tuple[str, str, str]]:
        with self._lock:
            return list(self._requests)

    # -- behaviour

    def _new_hook(self, repo: str, url: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        hook_id = self._next_id
        self._next_id += 1
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        base = f"{self.api}/repos/{repo}/hooks/{hook_id}"
        config = {"content_type": "form", "insecure_ssl": "0", **fields.get("config", {})}
        config["url"] = url
        return {
            "type": "Repository",
            "id": hook_id,
            "name": "web",
            "active": fields.get("active", True),
            "events": list(fields.get("events", ["push"])),
            "config": config,
            "updated_at": now,
            "created_at": now,
            "url": base,
            "test_url": f"{base}/test",
            "ping_url": f"{base}/pings",
            "deliveries_url": f"{base}/deliveries",
            "last_response": {"code": None, "status": "unused", "message": None},
        }

    def handle(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, dict[str, str], Any]:
        with self._lock:
            self._requests.append((method, target, headers.get("authorization", "")))
            if self._answers:
                return self._answers.pop(0)
            if self.redirect_to is not None:
                return 307, {"location": self.redirect_to + target}, {"message": "Moved"}
            if self._faults:
                status = self._faults.pop(0)
                return status, {}, {"message": "Server Error"}
            return self._handle(method, target, headers, body)

    def _handle(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, dict[str, str], Any]:
        split = urlsplit(target)
        if not split.path.startswith(PREFIX + "/"):
            return _error(404, "Not Found")
        version = headers.get("x-github-api-version")
        if version is not None and version != "2022-11-28":
            return _error(400, f"API version {version} is not supported.")
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() not in ("bearer", "token") or token not in self._tokens:
            return _error(401, "Bad credentials")
        if self.rate_limited:
            reset = str(int(time.time()) + 600)
            status, _, payload = _error(403, "API rate limit exceeded for user ID 1.")
            return status, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset}, payload
        match = _HOOKS_PATH.fullmatch(split.path[len(PREFIX) :])
        if match is None:
            return _error(404, "Not Found")
        repo = f"{match['owner']}/{match['repo']}"
        allowed = self._tokens[token]
        if repo.lower() not in self._hooks or not ({"*", repo} & allowed):
            return _error(404, "Not Found")
        if method == "GET":
            return self._list(repo, parse_qs(split.query))
        if method == "POST":
            return self._create(repo, body)
        return _error(404, "Not Found")

    def _list(self, repo: str, query: dict[str, list[str]]) -> tuple[int, dict[str, str], Any]:
        try:
            per_page = min(100, max(1, int(query.get("per_page", ["30"])[0])))
            page = max(1, int(query.get("page", ["1"])[0]))
        except ValueError:
            return _error(400, "Invalid pagination")
        hooks = self._hooks[repo.lower()]
        last = max(1, -(-len(hooks) // per_page))
        links = []
        url = f"{self.api}/repos/{repo}/hooks?per_page={per_page}&page="
        if page < last:
            links += [f'<{url}{page + 1}>; rel="next"', f'<{url}{last}>; rel="last"']
        if page > 1:
            links += [f'<{url}1>; rel="first"', f'<{url}{page - 1}>; rel="prev"']
        headers = {"link": ", ".join(links)} if links else {}
        return 200, headers, hooks[(page - 1) * per_page : page * per_page]

    def _create(self, repo: str, body: bytes) -> tuple[int, dict[str, str], Any]:
        try:
            data = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return _error(400, "Problems parsing JSON")
        if not isinstance(data, dict):
            return _error(400, "Problems parsing JSON")
        if data.get("name", "web") != "web":
            return _invalid("name", "invalid", f"Name {data.get('name')} is not a valid hook")
        config = data.get("config")
        if not isinstance(config, dict) or not config.get("url"):
            return _invalid("Hook", "custom", "Config must contain url")
        events = data.get("events", ["push"])
        for hook in self._hooks[repo.lower()]:
            if hook["config"]["url"] == config["url"] and sorted(hook["events"]) == sorted(events):
                return _invalid("Hook", "custom", "Hook already exists on this repository")
        for event in events:
            if sum(event in h["events"] for h in self._hooks[repo.lower()]) >= MAX_HOOKS_PER_EVENT:
                return _invalid(
                    "Hook",
                    "custom",
                    f'The "{event}" event cannot have more than {MAX_HOOKS_PER_EVENT} hooks',
                )
        hook = self._new_hook(
            repo,
            config["url"],
            {"config": config, "events": events, "active": data.get("active", True)},
        )
        self._hooks[repo.lower()].append(hook)
        return 201, {"location": hook["url"]}, hook


def _error(status: int, message: str) -> tuple[int, dict[str, str], Any]:
    return status, {}, {"message": message, "documentation_url": DOCS, "status": str(status)}


def _invalid(resource: str, code: str, message: str) -> tuple[int, dict[str, str], Any]:
    return (
        422,
        {},
        {
            "message": "Validation Failed",
            "errors": [{"resource": resource, "code": code, "message": message}],
            "documentation_url": DOCS,
            "status": "422",
        },
    )


def _handler_for(api: GitHubApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            """Keep test output quiet."""

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length > 0 else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, extra, payload = api.handle(self.command, self.path, headers, body)
            if api.echo_requests == "all" or (api.echo_requests and status >= 300):
                lines = [f"{self.command} {self.path}", *(f"{k}: {v}" for k, v in headers.items())]
                echo = "\n".join(lines) + "\n\n" + body.decode("utf-8", "replace")
                if isinstance(payload, dict):  # where the client shows it: the message
                    payload = {**payload, "message": f"{payload.get('message', '')} {echo}"}
                else:
                    payload = {"message": echo, "items": payload}
            data = payload if isinstance(payload, bytes) else json.dumps(payload).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("X-GitHub-Api-Version-Selected", "2022-11-28")
            for name, value in extra.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = _serve  # noqa: N815  name required by BaseHTTPRequestHandler
        do_POST = _serve  # noqa: N815  name required by BaseHTTPRequestHandler

    return Handler
