"""The Jenkins client: the few calls sync needs, over python-jenkins, with bounded retries and
errors that say what failed and what to check. The token never appears in any message.

How python-jenkins 1.8 reports failures (``jenkins_request``), and what this module makes of
them:

- 401, 403 and 500 become ``JenkinsException("Error in request. Possibly authentication
  failed [401]: Unauthorized ...")``; 404 becomes ``NotFoundException``; every other status
  re-raises ``requests.HTTPError``. In all three cases the ``requests.HTTPError`` (with its
  response) is the exception's ``__context__``, so the status is read from the response, never
  parsed out of a message.
- A timeout (connect or read) becomes ``jenkins.TimeoutException``.
- A refused or dropped connection and a failed name lookup stay ``requests.ConnectionError``.

``timeout`` bounds a whole answer, not each socket read: :class:`Deadline` shuts the connection
down when it passes, so a server that sends one byte at a time cannot hold sync.
"""

from __future__ import annotations

import contextlib
import html
import json
import re
import socket
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any, Literal, Protocol, TypeVar
from urllib.parse import quote, unquote, urljoin, urlsplit, urlunsplit

import attrs
import jenkins
import requests
import urllib3.connection
import urllib3.connectionpool
import urllib3.exceptions
from requests.adapters import HTTPAdapter

from pipedsl.errors import SyncError
from pipedsl.record import Record
from pipedsl.redact import Secrets
from pipedsl.render.configxml import canonical_digest, is_managed

FOLDER = "com.cloudbees.hudson.plugins.folder.Folder"
T = TypeVar("T")

# What each permission Jenkins names in ``X-Required-Permission`` is called on its security
# page (Manage Jenkins > Security), where a person grants it.
_PERMISSIONS = {
    "hudson.model.Hudson.Read": "Overall/Read",
    "hudson.model.Hudson.Administer": "Overall/Administer",
    "hudson.model.Item.Create": "Job/Create",
    "hudson.model.Item.Configure": "Job/Configure",
    "hudson.model.Item.Read": "Job/Read",
    "hudson.model.Item.ExtendedRead": "Job/ExtendedRead",
    "hudson.model.Item.Delete": "Job/Delete",
    "hudson.model.Item.Build": "Job/Build",
}
NEEDED_PERMISSIONS = (
    "Overall/Read and Job/Read, Create, Configure and Delete (Job/Build for --first-build)"
)


@attrs.frozen(eq=False, repr=False)
class Item(Record):
    """A Jenkins item as listed: full name, class, description and whether it was ever built."""

    full_name: str
    kind: str
    description: str | None
    built: bool = False


class JenkinsApi(Protocol):
    """What sync needs from a Jenkins; the one seam between sync and HTTP."""

    @property
    def requests_made(self) -> int: ...

    def check_access(self) -> str: ...
    def list_items(self) -> dict[str, Item]: ...
    def create_folder(self, full_name: str) -> None: ...
    def create_job(self, full_name: str, config_xml: str) -> None: ...
    def update_job(self, full_name: str, config_xml: str) -> None: ...
    def delete_job(self, full_name: str) -> None: ...
    def job_config(self, full_name: str) -> str: ...
    def build_job(self, full_name: str) -> None: ...


def job_path(full_name: str) -> str:
    """``a/b`` -> ``job/a/job/b/`` (each name URL-quoted)."""
    return "".join(f"job/{quote(part, safe='')}/" for part in full_name.split("/"))


def _tree(depth: int) -> str:
    fields = "name,fullName,description,_class,lastBuild[number]"
    tree = fields
    for _ in range(depth - 1):
        tree = f"{fields},jobs[{tree}]"
    return f"jobs[{tree}]"


def display_url(url: str) -> str:
    """``url`` without any ``user:password@`` in it, for messages; never raises, whatever
    ``url`` is (a server's ``Location`` may be anything)."""
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unclosed "[": everything up to the last "@" goes
        head, at, tail = url.rpartition("@")
        scheme = re.match(r"[A-Za-z][A-Za-z0-9+.-]*://", head) if at else None
        return f"{scheme.group(0) if scheme else ''}{tail}" if at else url
    _, at, host = parts.netloc.rpartition("@")
    return urlunsplit(parts._replace(netloc=host)) if at else url


class Deadline:
    """Bounds a whole HTTP exchange (connect, request, headers and body) to ``seconds``.

    A socket timeout bounds each read only: a server that sends one byte a second holds a
    client as long as it likes. Connections opened or used inside ``with Deadline(s):`` (in
    that thread) register their socket through :meth:`watch`; when the deadline passes, they
    are shut down, so the read under way fails at once and :attr:`expired` says why.
    """

    _current = threading.local()

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False
        self._over = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> Deadline:
        Deadline._current.deadline = self
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()
        with self._lock:
            self._over = True  # a late timer must not cut a connection back in the pool
            self._sockets.clear()
        Deadline._current.deadline = None

    def _expire(self) -> None:
        with self._lock:
            if self._over:
                return
            self.expired = True
            for sock in self._sockets:
                _shut(sock)

    @classmethod
    def watch(cls, sock: socket.socket | None) -> None:
        """Cut ``sock`` when the current thread's deadline (if any) passes."""
        deadline: Deadline | None = getattr(cls._current, "deadline", None)
        if deadline is None or sock is None:
            return
        with deadline._lock:
            if deadline._over:
                return
            deadline._sockets.append(sock)
            if deadline.expired:
                _shut(sock)


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


class _WatchedHTTPConnection(urllib3.connection.HTTPConnection):
    def connect(self) -> None:
        super().connect()
        Deadline.watch(self.sock)

    def request(self, *args: Any, **kwargs: Any) -> None:
        Deadline.watch(self.sock)  # a kept-alive connection: not connected again
        super().request(*args, **kwargs)


class _WatchedHTTPSConnection(urllib3.connection.HTTPSConnection):
    def connect(self) -> None:
        super().connect()
        Deadline.watch(self.sock)

    def request(self, *args: Any, **kwargs: Any) -> None:
        Deadline.watch(self.sock)
        super().request(*args, **kwargs)


class _WatchedHTTPPool(urllib3.connectionpool.HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(urllib3.connectionpool.HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class _Adapter(HTTPAdapter):
    """requests' adapter with connections that a :class:`Deadline` can cut."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _WATCHED_POOLS

    def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **kwargs)
        if not proxy.lower().startswith("socks"):
            manager.pool_classes_by_scheme = _WATCHED_POOLS
        return manager


_WATCHED_POOLS = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


def safe_str(exc: BaseException) -> str:
    """``str(exc)``, or its class name when even that fails."""
    try:
        return str(exc)
    except Exception:
        return type(exc).__name__


class _TransientError(Exception):
    """A failure worth retrying: 5xx, a dropped connection, a timeout."""


class _CrumbRefusedError(Exception):
    """403 "No valid crumb": retried once with a fresh crumb before it is reported."""

    def __init__(self, message: str, crumb_sent: str | None) -> None:
        super().__init__(message)
        self.crumb_sent = crumb_sent


@attrs.frozen(eq=False, repr=False)
class _Answer(Record):
    status: int
    reason: str
    text: str
    headers: dict[str, str]


class _Jenkins(jenkins.Jenkins):  # type: ignore[misc]  # python-jenkins has no type hints
    """python-jenkins made safe to share between threads, counting every HTTP request.

    python-jenkins fetches a CSRF crumb on the first request that wants one and keeps it;
    several threads starting at once would each fetch one (and, for a password user, each open
    an HTTP session of its own, so all but one crumb are refused). The lock makes one thread
    fetch while the others wait for its crumb. The count includes every HTTP request (crumb
    requests and retries too).
    """

    crumb: Any  # python-jenkins': None (not fetched yet), False (no crumbs) or its JSON

    def __init__(
        self, url: str, user: str | None, secret: str | None, timeout: float, pool_size: int
    ) -> None:
        super().__init__(url, username=user, password=secret, timeout=timeout)
        # One adapter of our own: no hidden urllib3 retries under ours (requests' default
        # adapters already shadow the one python-jenkins mounts), and a pooled connection for
        # every worker thread.
        adapter = _Adapter(pool_connections=1, pool_maxsize=max(10, pool_size), max_retries=0)
        for prefix in ("http://", "https://"):
            self._session.mount(prefix, adapter)
        # Requests authenticated with an API token need no crumb (Jenkins exempts them), so
        # none is fetched until Jenkins refuses a POST for the lack of one (a password user).
        self.crumb = False
        self.crumb_lock = threading.Lock()
        self.count_lock = threading.Lock()
        self.requests_made = 0

    def maybe_add_crumb(self, req: requests.Request) -> None:
        with self.crumb_lock:
            super().maybe_add_crumb(req)

    def drop_crumb(self, sent: str | None) -> None:
        """Forget the crumb that was refused, so that the next request fetches one; once,
        however many threads saw it refused."""
        with self.crumb_lock:
            current = self.crumb["crumb"] if self.crumb else None
            if current == sent:
                self.crumb = None

    def _request(self, req: requests.Request, stream: bool | None = None) -> requests.Response:
        # python-jenkins' own body, but without following redirects: Jenkins answers a folder
        # create or a delete with 302 to an HTML page nobody reads (one request saved each),
        # and a redirect to another URL is reported rather than silently followed.
        with self.count_lock:
            self.requests_made += 1
        prepared = self._session.prepare_request(req)
        settings = self._session.merge_environment_settings(
            prepared.url, {}, stream, self._session.verify, None
        )
        settings["timeout"] = self.timeout
        settings["allow_redirects"] = False
        # The body is read inside send (not streamed), so the deadline covers all of it.
        with Deadline(self.timeout) as deadline:
            try:
                response: requests.Response = self._session.send(prepared, **settings)
            except Exception:
                if deadline.expired:
                    raise requests.Timeout("the answer took longer than the timeout") from None
                raise
            if deadline.expired:  # cut while reading a body without a length
                raise requests.Timeout("the answer took longer than the timeout")
        return response


class PythonJenkinsClient:
    """:class:`JenkinsApi` over python-jenkins (real HTTP), with bounded retries.

    ``retries`` is how often a transient failure (5xx, dropped connection, timeout, a refused
    connection once Jenkins has answered) is retried, waiting ``backoff`` seconds, then twice
    that, and so on. ``timeout`` bounds each request (connecting and each read).
    """

    def __init__(
        self,
        url: str,
        user: str | None,
        token: str | None,
        *,
        timeout: float = 30.0,
        retries: int = 3,
        backoff: float = 0.5,
        pool_size: int = 10,
        folder_depth: int = 4,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.url = url.rstrip("/")
        self.shown_url = display_url(self.url)
        self.user = user
        parts = urlsplit(self.url)
        self._secrets = Secrets()
        self._secrets.add(token, user)
        self._secrets.add(parts.password, parts.username)
        self._base_path = parts.path.rstrip("/")
        self._server = _Jenkins(self.url, user, token, timeout, pool_size)
        self.timeout = timeout
        self.retries = max(0, retries)
        self.backoff = max(0.0, backoff)
        self.folder_depth = folder_depth
        self._sleep = sleep
        self._reached = False

    @property
    def requests_made(self) -> int:
        """HTTP requests sent so far (crumb requests and retries included)."""
        return int(self._server.requests_made)

    # --- plumbing ------------------------------------------------------------------------

    def _send(
        self,
        method: Literal["GET", "POST"],
        path: str,
        *,
        data: bytes | None = None,
        form: dict[str, str] | None = None,
        what: str,
        job: str | None = None,
        ok: tuple[int, ...] = (),
        done: tuple[int, ...] = (200,),
        redirect: str | None = None,
    ) -> _Answer:
        """Send one request (retrying transient failures) and return Jenkins' answer; a status
        in ``ok`` is returned instead of raised. A POST is a write: only a status in ``done``,
        or a redirect to the path ``redirect`` (below the Jenkins URL), is Jenkins saying it
        did it; any other answer (a login page or a proxy redirecting it) is an error."""
        try:
            return self._send_checked(method, path, data, form, what, job, ok, done, redirect)
        except SyncError as exc:
            # Whatever a server answered, the message never holds the token.
            message = str(exc).removeprefix(f"{job}: ") if job else str(exc)
            raise SyncError(self._clean(message), job=job) from None

    def _send_checked(  # noqa: PLR0917  (_send's arguments, passed on)
        self,
        method: Literal["GET", "POST"],
        path: str,
        data: bytes | None,
        form: dict[str, str] | None,
        what: str,
        job: str | None,
        ok: tuple[int, ...],
        done: tuple[int, ...],
        redirect: str | None,
    ) -> _Answer:
        headers = {"Content-Type": "text/xml; charset=utf-8"} if data is not None else {}
        crumb_retried = False
        attempt = 0
        while True:
            attempt += 1
            request = requests.Request(
                method,
                f"{self.url}/{path}",
                data=data if form is None else form,
                headers=dict(headers),
            )
            try:
                answer = self._once(request, method, what, job, ok)
            except _TransientError as exc:
                if attempt > self.retries:
                    tries = f"{attempt} attempts" if attempt > 1 else "1 attempt"
                    raise SyncError(f"{exc} (gave up after {tries})", job=job) from None
                self._sleep(self.backoff * 2 ** (attempt - 1))
            except _CrumbRefusedError as exc:
                # Jenkins forgot the crumb python-jenkins keeps forever (a restart, an expired
                # HTTP session): fetch a fresh one, once.
                if crumb_retried:
                    raise SyncError(
                        f"{what}: Jenkins refused the CSRF crumb twice (403 {exc}); if a proxy "
                        "sits in front of Jenkins, it must keep the session cookie; an API token "
                        "instead of a password avoids crumbs altogether",
                        job=job,
                    ) from None
                crumb_retried = True
                attempt -= 1
                self._server.drop_crumb(exc.crumb_sent)
            else:
                if method == "POST" and answer.status not in ok:
                    self._check_write(answer, path, what, job, done, redirect)
                return answer

    def _check_write(  # noqa: PLR0917
        self,
        answer: _Answer,
        path: str,
        what: str,
        job: str | None,
        done: tuple[int, ...],
        redirect: str | None,
    ) -> None:
        """Accept a write's documented answer or redirect; refuse any other answer to a write,
        and a documented status with a login page (which Jenkins never answers to a write it
        made: a proxy or single sign-on in front of it answered instead)."""
        expected = " or ".join(str(s) for s in done)
        if answer.status in done:
            if _SIGN_IN.search(answer.text, 0, _SIGN_IN_READ):
                raise SyncError(
                    f"{what}: Jenkins answered {answer.status} with a login page; the change was "
                    "not made (a login page, single sign-on or a proxy in front of Jenkins?); "
                    "check the URL (--url, the address Jenkins itself is served at) and the user "
                    "and API token",
                    job=job,
                )
            return
        if not 300 <= answer.status < 400:
            raise SyncError(
                f"{what}: Jenkins answered {answer.status} {answer.reason} where it answers "
                f"{expected}; the change may not have been made (a proxy in front of Jenkins?)",
                job=job,
            )
        location = answer.headers.get("location", "")
        try:
            target = unquote(urlsplit(urljoin(f"{self.url}/{path}", location)).path).casefold()
        except ValueError:  # not a URL at all: not Jenkins' redirect
            target = None
        if redirect is not None and target is not None:
            wanted = unquote(f"{self._base_path}/{redirect}").casefold()
            if target.rstrip("/") == wanted.rstrip("/"):
                return
        raise SyncError(
            f"{what}: Jenkins answered {answer.status} redirecting to "
            f"{display_url(location) or '(nowhere)'} where it answers {expected}; the change was "
            "not made (a login page or a proxy in front of Jenkins?); check the URL (--url, the "
            "address Jenkins itself is served at) and the user and API token",
            job=job,
        )

    def _once(
        self,
        request: requests.Request,
        method: str,
        what: str,
        job: str | None,
        ok: tuple[int, ...],
    ) -> _Answer:
        try:
            # GETs need no crumb: only POSTs make python-jenkins fetch one.
            response = self._server.jenkins_request(request, add_crumb=method == "POST")
        except jenkins.TimeoutException:
            raise _TransientError(
                f"{what}: Jenkins at {self.shown_url} did not answer within {self.timeout:g} s "
                "(--timeout)"
            ) from None
        except requests.ConnectionError as exc:
            raise self._connection_error(exc, what, job) from None
        except (requests.HTTPError, jenkins.JenkinsException) as exc:
            answer = _answer_of(exc)
            if answer is None:
                raise SyncError(f"{what}: {self._clean(safe_str(exc))}", job=job) from None
            self._reached = True
            if answer.status in ok:
                return answer
            raise self._status_error(answer, request, what, job) from None
        except requests.RequestException as exc:  # e.g. an invalid URL
            raise SyncError(
                f"{what}: cannot send a request to {self.shown_url}: {type(exc).__name__}",
                job=job,
            ) from None
        except Exception as exc:
            # e.g. a crumb issuer answering something that is not JSON, a URL that urllib3
            # refuses: reported by its kind (its text may hold the request, so the token).
            raise SyncError(
                f"{what}: talking to {self.shown_url} failed ({type(exc).__name__}); check the "
                "URL and that it is a Jenkins",
                job=job,
            ) from None
        self._reached = True
        answer = _answer(response)
        if 300 <= answer.status < 400 and method == "GET":
            raise SyncError(
                f"{what}: {self.shown_url} redirects to "
                f"{display_url(answer.headers.get('location', '?'))}; "
                "give that URL (--url), or check a proxy in front of Jenkins",
                job=job,
            )
        return answer

    def _connection_error(
        self, exc: requests.ConnectionError, what: str, job: str | None
    ) -> Exception:
        host = urlsplit(self.url).hostname or self.shown_url
        if _caused_by(exc, socket.gaierror, urllib3.exceptions.NameResolutionError):
            return SyncError(
                f"{what}: cannot resolve the Jenkins host {host!r}; check the URL "
                f"({self.shown_url}) and the DNS or /etc/hosts of this machine",
                job=job,
            )
        if _caused_by(exc, ConnectionRefusedError):
            message = (
                f"{what}: connection to {self.shown_url} refused; is Jenkins running there, "
                "on that port?"
            )
            # Refused before Jenkins ever answered: a wrong URL, not worth waiting for.
            # Refused later: most likely Jenkins restarting, which retries ride out.
            return _TransientError(message) if self._reached else SyncError(message, job=job)
        if _caused_by(exc, socket.timeout, TimeoutError, urllib3.exceptions.TimeoutError):
            return _TransientError(
                f"{what}: Jenkins at {self.shown_url} did not answer within {self.timeout:g} s "
                "(--timeout)"
            )
        if _caused_by(exc, urllib3.exceptions.NewConnectionError):
            reason = next(
                (safe_str(e) for e in _chain(exc) if isinstance(e, OSError) and e.strerror),
                "no route",
            )
            return SyncError(
                f"{what}: cannot connect to {self.shown_url} ({reason}); check the URL and the "
                "network between this machine and Jenkins",
                job=job,
            )
        return _TransientError(
            f"{what}: the connection to {self.shown_url} was closed without an answer"
        )

    def _status_error(
        self, answer: _Answer, request: requests.Request, what: str, job: str | None
    ) -> Exception:
        status = answer.status
        if status == 401:
            return SyncError(
                f"{what}: Jenkins rejected the credentials (401); check the user "
                f"({self.user!r}) and its API token (--user/--token, PIPEDSL_JENKINS_USER/"
                "PIPEDSL_JENKINS_TOKEN or the config file), and that the token was not revoked",
                job=job,
            )
        if status == 403:
            if "No valid crumb" in answer.text:
                sent = next(
                    (str(v) for k, v in request.headers.items() if k.lower() == "jenkins-crumb"),
                    None,
                )
                return _CrumbRefusedError(_page_text(answer.text, self._secrets), sent)
            if self.user is None:
                return SyncError(
                    f"{what}: Jenkins refused anonymous access (403); give a user and API token "
                    "(--user/--token or PIPEDSL_JENKINS_USER/PIPEDSL_JENKINS_TOKEN)",
                    job=job,
                )
            required = answer.headers.get("x-required-permission")
            missing = _PERMISSIONS.get(required or "", required)
            lacking = f"the {missing} permission" if missing else "a permission"
            return SyncError(
                f"{what}: permission denied (403): the user {self.user!r} lacks {lacking}; "
                f"pipedsl needs {NEEDED_PERMISSIONS}",
                job=job,
            )
        if status == 404:
            return SyncError(
                f"{what}: not found on {self.shown_url} (404); check the URL (a Jenkins under a "
                "path needs it, e.g. http://host:14149/jenkins)",
                job=job,
            )
        if status >= 500:
            return _TransientError(
                f"{what}: Jenkins answered {status} {answer.reason}; check the Jenkins log"
            )
        detail = _page_text(answer.text, self._secrets)
        return SyncError(
            f"{what}: Jenkins answered {status} {answer.reason}"
            + (f": {detail}" if detail else ""),
            job=job,
        )

    def _clean(self, text: str) -> str:
        return self._secrets.mask(text)

    # --- the API ---------------------------------------------------------------------------

    def check_access(self) -> str:
        """Authenticate (``/me/api/json``) and return the user name Jenkins sees."""
        answer = self._send("GET", "me/api/json?tree=id", what="checking access")
        data: dict[str, Any] = _json(answer.text, "checking access", self.shown_url)
        return str(data.get("id") or "")

    def list_items(self) -> dict[str, Item]:
        """Every item down to ``folder_depth`` levels, with descriptions: one request."""
        answer = self._send("GET", f"api/json?tree={_tree(self.folder_depth)}", what="listing jobs")
        items: dict[str, Item] = {}

        def unreadable(problem: str) -> SyncError:
            return SyncError(
                f"listing jobs: {self.shown_url} answered a job list pipedsl cannot read "
                f"({problem}); is that URL a Jenkins?"
            )

        def visit(entries: object, prefix: str, depth: int) -> None:
            if not isinstance(entries, list):
                where = f"in {prefix[:-1]}" if prefix else "at the top level"
                raise unreadable(f"'jobs' {where} is not a list")
            for entry in entries:
                if not isinstance(entry, dict):
                    raise unreadable(f"an entry in {prefix or 'the top level'} is not an object")
                name, full, kind = entry.get("name"), entry.get("fullName"), entry.get("_class")
                if not isinstance(name, str) or not name or not isinstance(kind, str):
                    raise unreadable(
                        f"a job in {prefix or 'the top level'} without a 'name' or '_class' string"
                    )
                full = full if isinstance(full, str) and full else f"{prefix}{name}"
                description = entry.get("description")
                items[full] = Item(
                    full,
                    kind,
                    description if isinstance(description, str) else None,
                    entry.get("lastBuild") is not None,
                )
                if depth < self.folder_depth and entry.get("jobs") is not None:
                    visit(entry["jobs"], f"{full}/", depth + 1)

        visit(_json(answer.text, "listing jobs", self.shown_url).get("jobs", []), "", 1)
        return items

    def _parent_path(self, full_name: str) -> tuple[str, str]:
        parent, _, name = full_name.rpartition("/")
        return (job_path(parent) if parent else ""), name

    def create_folder(self, full_name: str) -> None:
        base, name = self._parent_path(full_name)
        answer = self._send(
            "POST",
            f"{base}createItem?name={quote(name, safe='')}",
            form={"name": name, "mode": FOLDER},
            what=f"creating the folder {full_name}",
            ok=(400,),
            redirect=f"{job_path(full_name)}configure",  # Jenkins: 302 to the new folder's page
        )
        if answer.status == 400:
            # "A job already exists": a retried create whose first attempt went through (or
            # a folder someone made meanwhile) is fine; anything else is not.
            kind = self._kind(full_name)
            if kind != FOLDER:
                raise SyncError(
                    self._clean(
                        f"creating the folder {full_name}: Jenkins answered 400"
                        + (f": {_page_text(answer.text, self._secrets)}" if answer.text else "")
                        + ("" if kind is None else f" (an item of class {kind} has that name)")
                    )
                )

    def _kind(self, full_name: str) -> str | None:
        answer = self._send(
            "GET",
            f"{job_path(full_name)}api/json?tree=_class",
            what=f"reading {full_name}",
            ok=(404,),
        )
        if answer.status == 404:
            return None
        return str(_json(answer.text, f"reading {full_name}", self.shown_url).get("_class"))

    def create_job(self, full_name: str, config_xml: str) -> None:
        """Create the job; when Jenkins says it exists already (the answer to a retried create
        whose first attempt went through, or a job created meanwhile), look at it: the same
        managed config is success, a managed one is updated, anything else is refused."""
        base, name = self._parent_path(full_name)
        answer = self._send(
            "POST",
            f"{base}createItem?name={quote(name, safe='')}",
            data=config_xml.encode("utf-8"),
            what="creating the job",
            job=full_name,
            ok=(400, 404),
        )
        if answer.status == 404:
            raise SyncError(
                "creating the job: its folder does not exist on Jenkins (deleted during the "
                "sync?); run pipedsl sync again",
                job=full_name,
            )
        if answer.status != 400:
            return
        current = self._config_or_none(full_name)
        if current is None:  # 400 for another reason: a name Jenkins refuses
            raise SyncError(
                "creating the job: Jenkins answered 400: " + _page_text(answer.text, self._secrets),
                job=full_name,
            )
        description = _description(current)
        if not is_managed(description, full_name):
            raise SyncError(
                "creating the job: a job of this name appeared on Jenkins during the sync and "
                "pipedsl does not manage it; pipedsl will not overwrite it",
                job=full_name,
            )
        try:
            same = canonical_digest(current) == canonical_digest(config_xml)
        except ET.ParseError:
            same = False
        if not same:
            self.update_job(full_name, config_xml)

    def _config_or_none(self, full_name: str) -> str | None:
        answer = self._send(
            "GET",
            f"{job_path(full_name)}config.xml",
            what="reading the job's config",
            job=full_name,
            ok=(404,),
        )
        return None if answer.status == 404 else answer.text

    def update_job(self, full_name: str, config_xml: str) -> None:
        answer = self._send(
            "POST",
            f"{job_path(full_name)}config.xml",
            data=config_xml.encode("utf-8"),
            what="updating the job",
            job=full_name,
            ok=(404,),
        )
        if answer.status == 404:
            raise SyncError(
                "updating the job: it no longer exists on Jenkins (deleted during the sync?); "
                "run pipedsl sync again to create it",
                job=full_name,
            )

    def delete_job(self, full_name: str) -> None:
        # 404: already gone, which is what a retried delete whose first attempt went through
        # sees.
        self._send(
            "POST",
            f"{job_path(full_name)}doDelete",
            what="deleting the job",
            job=full_name,
            ok=(404,),
            # Jenkins: 302 to the parent's page (a multibranch project: 200).
            redirect=self._parent_path(full_name)[0],
        )

    def job_config(self, full_name: str) -> str:
        return self._send(
            "GET",
            f"{job_path(full_name)}config.xml",
            what="reading the job's config",
            job=full_name,
        ).text

    def check_jenkinsfile(self, text: str) -> list[str]:
        """Jenkins' declarative linter on ``text``: its error messages (none: valid). The
        request python-jenkins' ``check_jenkinsfile_syntax`` sends, with retries."""
        what = "linting a Jenkinsfile"
        answer = self._send(
            "POST",
            "pipeline-model-converter/validateJenkinsfile",
            form={"jenkinsfile": text},
            what=what,
        )
        data = _json(answer.text, what, self.shown_url)
        found = data.get("data") if isinstance(data, dict) else None
        if not isinstance(found, dict) or found.get("result") not in ("success", "failure"):
            raise SyncError(
                f"{what}: {self.shown_url} answered no linter result; is the Pipeline: "
                "Declarative plugin installed?"
            )
        messages: list[str] = []
        for error in found.get("errors") or []:
            value = error.get("error") if isinstance(error, dict) else error
            values = value if isinstance(value, list) else [value]
            messages += [self._clean(str(v)) for v in values]
        if found["result"] == "failure" and not messages:
            messages.append("Jenkins' linter refused it without saying why")
        return messages

    def build_job(self, full_name: str) -> None:
        answer = self._send(
            "POST",
            f"{job_path(full_name)}build",
            what="starting a build",
            job=full_name,
            ok=(409,),
            done=(200, 201),  # Jenkins: 201 and the queue item in Location
        )
        if answer.status == 409:
            raise SyncError(
                "starting a build: Jenkins refused (409); the job is disabled", job=full_name
            )


def _answer(response: requests.Response) -> _Answer:
    return _Answer(
        response.status_code,
        response.reason or "",
        response.text or "",
        {k.lower(): v for k, v in response.headers.items()},
    )


def _answer_of(exc: BaseException) -> _Answer | None:
    """The HTTP answer behind a python-jenkins or requests error, if there was one."""
    seen: BaseException | None = exc
    while seen is not None:
        response = getattr(seen, "response", None)
        if isinstance(response, requests.Response):
            return _answer(response)
        seen = seen.__cause__ or seen.__context__
    return None


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and everything it wraps: causes, contexts, exceptions in ``args`` and urllib3's
    ``reason``."""
    found: list[BaseException] = []
    pending: list[object] = [exc]
    while pending:
        current = pending.pop(0)
        if not isinstance(current, BaseException) or any(current is f for f in found):
            continue
        found.append(current)
        pending += [current.__cause__, current.__context__, *current.args]
        pending.append(getattr(current, "reason", None))
    return found


def _caused_by(exc: BaseException, *kinds: type[BaseException]) -> bool:
    return any(isinstance(e, kinds) for e in _chain(exc))


_TAGS = re.compile(r"<[^>]+>")
# A page asking to sign in: a form posting to a login, single sign-on or Jenkins' own
# j_spring_security_check, or a password field (bounded, so that no page takes long).
_SIGN_IN = re.compile(
    r"<form\b[^>]{0,500}\baction\s*=\s*[\"']?[^\"'>]{0,500}"
    r"(?:security_check|log-?in|sign-?in|auth|sso|saml)"
    r"|<input\b[^>]{0,500}\btype\s*=\s*[\"']?password",
    re.IGNORECASE,
)
_SIGN_IN_READ = 256 * 1024  # characters of a page looked at: a sign-in page is small


def _page_text(body: str, secrets: Secrets, limit: int = 200) -> str:
    """The readable part of a Jenkins error page (its message paragraph), masked, then
    shortened (so that the cut never leaves a part of a secret unmasked)."""
    match = re.search(r"<p>(.*?)</p>", body, re.DOTALL) or re.search(
        r"<title>(.*?)</title>", body, re.DOTALL
    )
    text = html.unescape(_TAGS.sub(" ", secrets.mask(match.group(1) if match else body)))
    return secrets.excerpt(" ".join(text.split()), limit)


def _json(text: str, what: str, url: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        data = None
    if not isinstance(data, dict):
        raise SyncError(f"{what}: {url} did not answer with Jenkins' JSON; is that URL a Jenkins?")
    return data


def _description(config_xml: str) -> str | None:
    body = re.sub(r"^\ufeff?<\?xml[^>]*\?>", "", config_xml.lstrip())
    try:
        root = ET.fromstring(body)  # noqa: S314  (the config of a job on the team's Jenkins)
    except ET.ParseError:
        return None
    return root.findtext("description")
