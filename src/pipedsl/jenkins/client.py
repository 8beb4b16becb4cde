"""The Jenkins client: the few calls sync needs, over python-jenkins, with retries and errors
that say what failed and what to check. The token never appears in any message."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol, TypeVar
from urllib.parse import quote, urlsplit

import attrs
import jenkins
import requests

from pipedsl.errors import SyncError

FOLDER = "com.cloudbees.hudson.plugins.folder.Folder"
T = TypeVar("T")


@attrs.frozen
class Item:
    """A Jenkins item as listed: full name, class and description."""

    full_name: str
    kind: str
    description: str | None


class JenkinsApi(Protocol):
    """What sync needs from a Jenkins; the one seam between sync and HTTP."""

    requests_made: int

    def check_access(self) -> str: ...
    def list_items(self) -> dict[str, Item]: ...
    def create_folder(self, full_name: str) -> None: ...
    def create_job(self, full_name: str, config_xml: str) -> None: ...
    def update_job(self, full_name: str, config_xml: str) -> None: ...
    def delete_job(self, full_name: str) -> None: ...
    def job_config(self, full_name: str) -> str: ...
    def build_job(self, full_name: str) -> None: ...


def _job_path(full_name: str) -> str:
    return "".join(f"job/{quote(part, safe='')}/" for part in full_name.split("/"))


def _tree(depth: int) -> str:
    fields = "name,fullName,description,_class"
    tree = fields
    for _ in range(depth):
        tree = f"{fields},jobs[{tree}]"
    return f"jobs[{tree}]"


class TransientError(Exception):
    """A failure worth retrying: 5xx, a dropped connection, a timeout."""


class PythonJenkinsClient:
    """:class:`JenkinsApi` over python-jenkins (real HTTP), with bounded retries."""

    def __init__(
        self,
        url: str,
        user: str | None,
        token: str | None,
        *,
        timeout: float = 30.0,
        retries: int = 3,
        backoff: float = 0.5,
        folder_depth: int = 4,
    ) -> None:
        self.url = url.rstrip("/")
        self.user = user
        self._server = jenkins.Jenkins(self.url, username=user, password=token, timeout=timeout)
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.folder_depth = folder_depth
        self.requests_made = 0
        self._lock = threading.Lock()

    # --- plumbing ------------------------------------------------------------------------

    def _count(self) -> None:
        with self._lock:
            self.requests_made += 1

    def _send(
        self,
        method: str,
        path: str,
        *,
        data: bytes | None = None,
        form: dict[str, str] | None = None,
        what: str,
        job: str | None = None,
    ) -> str:
        headers = {"Content-Type": "text/xml; charset=utf-8"} if data is not None else {}

        def once() -> str:
            self._count()
            request = requests.Request(
                method, f"{self.url}/{path}", data=data if form is None else form, headers=headers
            )
            try:
                response = self._server.jenkins_request(request)
            except requests.HTTPError as exc:
                raise self._http_error(exc.response, what, job) from None
            except jenkins.TimeoutException:
                raise TransientError(
                    f"{what}: Jenkins at {self.url} did not answer within {self.timeout:g} s"
                ) from None
            except requests.ConnectionError as exc:
                raise self._connection_error(exc, what) from None
            except jenkins.JenkinsException as exc:
                raise self._jenkins_exception(exc, what, job) from None
            return str(response.text)

        return self._retry(once, what, job)

    def _retry(self, call: Callable[[], T], what: str, job: str | None) -> T:
        attempt = 0
        fresh_crumb = False
        while True:
            try:
                return call()
            except TransientError as exc:
                attempt += 1
                if attempt > self.retries:
                    raise SyncError(f"{exc} (gave up after {attempt} attempts)", job=job) from None
                time.sleep(self.backoff * 2 ** (attempt - 1))
            except _ForbiddenError:
                # A 403 may be a CSRF crumb Jenkins no longer knows (restart, expired session):
                # python-jenkins keeps its first crumb forever, so drop it and try once more.
                if fresh_crumb:
                    raise SyncError(
                        f"{what}: permission denied (403); the user {self.user!r} needs Overall/Read "
                        "and Job/Create, Configure, Read and Delete, or the CSRF crumb was refused",
                        job=job,
                    ) from None
                fresh_crumb = True
                self._server.crumb = None

    def _connection_error(self, exc: requests.ConnectionError, what: str) -> Exception:
        text = str(exc)
        host = urlsplit(self.url).hostname or self.url
        if (
            isinstance(getattr(exc.args[0] if exc.args else None, "reason", None), socket.gaierror)
            or "Name or service not known" in text
            or "nodename nor servname" in text
            or "Failed to resolve" in text
        ):
            return SyncError(
                f"{what}: cannot resolve the Jenkins host {host!r}; check the URL ({self.url})"
            )
        if "Connection refused" in text:
            return SyncError(
                f"{what}: connection to {self.url} refused; is Jenkins running there, on that port?"
            )
        if "timed out" in text.lower():
            return TransientError(
                f"{what}: Jenkins at {self.url} did not answer within {self.timeout:g} s"
            )
        return TransientError(f"{what}: the connection to {self.url} failed ({type(exc).__name__})")

    def _status_error(self, status: int, body: str, what: str, job: str | None) -> Exception:
        if status == 401:
            return SyncError(
                f"{what}: Jenkins rejected the credentials (401); check the user ({self.user!r}) and "
                "API token (--user/--token, PIPEDSL_JENKINS_USER/PIPEDSL_JENKINS_TOKEN)",
                job=job,
            )
        if status == 403:
            return _ForbiddenError(what)
        if status == 404:
            return SyncError(f"{what}: not found on {self.url} (404)", job=job)
        if status >= 500:
            return TransientError(f"{what}: Jenkins answered {status}")
        return SyncError(f"{what}: Jenkins answered {status}", job=job)

    def _http_error(
        self, response: requests.Response | None, what: str, job: str | None
    ) -> Exception:
        if response is None:
            return TransientError(f"{what}: no answer from {self.url}")
        return self._status_error(response.status_code, response.text or "", what, job)

    def _jenkins_exception(
        self, exc: jenkins.JenkinsException, what: str, job: str | None
    ) -> Exception:
        text = str(exc)
        for status in (401, 403, 404, 500, 502, 503, 504):
            if f"[{status}]" in text or f"{status} " in text[:60] or f"Error {status}" in text:
                return self._status_error(status, text, what, job)
        if isinstance(exc, jenkins.NotFoundException):
            return self._status_error(404, text, what, job)
        return SyncError(
            f"{what}: {text.replace(self._secret(), '***') if self._secret() else text}", job=job
        )

    def _secret(self) -> str:
        auth = getattr(self._server, "auth", None)
        password = getattr(auth, "password", None)
        return password if isinstance(password, str) else ""

    # --- the API ---------------------------------------------------------------------------

    def check_access(self) -> str:
        """Authenticate (``/me/api/json``) and return the user name Jenkins sees."""
        text = self._send("GET", "me/api/json?depth=0", what="checking access")
        data: dict[str, Any] = json.loads(text)
        return str(data.get("id") or data.get("fullName") or "")

    def list_items(self) -> dict[str, Item]:
        """Every item down to ``folder_depth`` levels, with descriptions: one request."""
        text = self._send("GET", f"api/json?tree={_tree(self.folder_depth)}", what="listing jobs")
        items: dict[str, Item] = {}

        def visit(entries: list[dict[str, Any]], prefix: str) -> None:
            for entry in entries:
                full = entry.get("fullName") or f"{prefix}{entry['name']}"
                items[full] = Item(full, str(entry.get("_class", "")), entry.get("description"))
                visit(entry.get("jobs") or [], f"{full}/")

        visit(json.loads(text).get("jobs") or [], "")
        return items

    def create_folder(self, full_name: str) -> None:
        parent, _, name = full_name.rpartition("/")
        base = _job_path(parent) if parent else ""
        self._send(
            "POST",
            f"{base}createItem?name={quote(name, safe='')}",
            form={"name": name, "mode": FOLDER},
            what=f"creating folder {full_name}",
            job=full_name,
        )

    def create_job(self, full_name: str, config_xml: str) -> None:
        parent, _, name = full_name.rpartition("/")
        base = _job_path(parent) if parent else ""
        try:
            self._send(
                "POST",
                f"{base}createItem?name={quote(name, safe='')}",
                data=config_xml.encode("utf-8"),
                what="creating the job",
                job=full_name,
            )
        except SyncError as exc:
            # A retried create whose first attempt went through answers 400 "exists".
            if "answered 400" in str(exc):
                self.update_job(full_name, config_xml)
                return
            raise

    def update_job(self, full_name: str, config_xml: str) -> None:
        self._send(
            "POST",
            f"{_job_path(full_name)}config.xml",
            data=config_xml.encode("utf-8"),
            what="updating the job",
            job=full_name,
        )

    def delete_job(self, full_name: str) -> None:
        try:
            self._send(
                "POST", f"{_job_path(full_name)}doDelete", what="deleting the job", job=full_name
            )
        except SyncError as exc:
            if "(404)" not in str(exc):  # already gone: what a retried delete sees
                raise

    def job_config(self, full_name: str) -> str:
        return self._send(
            "GET",
            f"{_job_path(full_name)}config.xml",
            what="reading the job's config",
            job=full_name,
        )

    def build_job(self, full_name: str) -> None:
        self._send("POST", f"{_job_path(full_name)}build", what="starting a build", job=full_name)


class _ForbiddenError(Exception):
    """403: retried once with a fresh crumb before it is reported."""
