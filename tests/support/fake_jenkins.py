"""An in-process stand-in for Jenkins 2.503 (with the GitHub plugin) for the test suite.

``FakeJenkins`` is a stdlib-only HTTP server (``ThreadingHTTPServer``) bound to
127.0.0.1 on a free port.  It answers the requests python-jenkins 1.8 sends the way a
real Jenkins 2.503 does, as recorded in ``/work/shared/reference/jenkins-rest.md``
(github 1.42.0, workflow-job 1508, workflow-cps 4050, CSRF protection on, anonymous
read off), and multibranch projects the way Jenkins 2.516.3 (github-branch-source 1871) does,
as recorded in ``/work/shared/reference/real-jenkins-2.516.md``::

    with FakeJenkins(users={"admin": token}) as server:
        client = jenkins.Jenkins(server.url, username="admin", password=token)
        client.get_whoami()

What it models, and how (each point is what Jenkins does unless it says otherwise):

* Every response carries ``X-Jenkins: 2.503``, ``X-Hudson: 1.395`` and
  ``X-Jenkins-Session``.
* Authentication is HTTP Basic.  ``users`` maps user -> API token, ``passwords`` maps
  user -> password.  Credentials that match neither get 401 with
  ``WWW-Authenticate: Basic realm="Jenkins"`` (on every path, also the webhook).
  Anonymous requests get 403, except ``/github-webhook/``, ``/whoAmI/`` and ``/login``
  (unprotected root actions).  ``get_version()`` before any other call therefore gets
  403: python-jenkins only attaches credentials after its first ``jenkins_open``.
* CSRF (``DefaultCrumbIssuer``): ``GET /crumbIssuer/api/json`` issues a crumb that is a
  SHA-256 over user name, HTTP session id and a salt, and opens a session
  (``Set-Cookie: JSESSIONID.<id>=...``) when the request had none.  A crumb is valid
  only together with the session cookie it was issued for (python-jenkins keeps cookies
  in its ``requests.Session``; a script that drops the cookie gets 403, as on Jenkins).
  A POST without a valid crumb (``Jenkins-Crumb`` header or form field) gets 403 "No
  valid crumb was included in the request" -- except:

  - requests authenticated with an API token.  Jenkins' ``ApiCrumbExclusion`` runs
    *before* the crumb is looked at, so a token request is accepted with no crumb and
    also with an invalid or expired one.  That is the default here too.  Pass
    ``token_crumb_check=True`` to reject a token request that *sends* an invalid crumb
    with 403 (not what Jenkins does; for tests that want ``expire_crumbs()`` to hit a
    token client such as python-jenkins, which sends the crumb it fetched once).
    Password requests are always checked, so ``expire_crumbs()`` makes python-jenkins
    with a password fail with 403.
  - ``/github-webhook/`` and ``/pipeline-model-converter/...`` (plugin exclusions).

* Authorization (matrix-based security): ``permissions`` maps a user to the permissions
  granted to it, named as on Jenkins' security page (``Overall/Read``, ``Job/Create``,
  ``Job/Configure``, ``Job/ExtendedRead``, ``Job/Delete``, ``Job/Build``); users not in it
  are administrators.  A user without ``Overall/Read`` gets 403 on every protected path; an
  action without its permission (``createItem``: Job/Create, ``config.xml`` POST:
  Job/Configure, ``config.xml`` GET: Job/ExtendedRead, which Job/Configure implies,
  ``doDelete``: Job/Delete, ``build``: Job/Build) gets Jenkins' ``AccessDeniedException3``
  answer: 403, "<user> is missing the Job/Create permission", and the headers
  ``X-You-Are-Authenticated-As``, ``X-You-Are-In-Group-Disabled``,
  ``X-Required-Permission`` (e.g. ``hudson.model.Item.Create``) and
  ``X-Permission-Implied-By``.  The crumb is checked first, as Jenkins' crumb filter runs
  before any permission check.  Job/Read (hiding items) is not modelled.
* Items: a tree of folders (``com.cloudbees.hudson.plugins.folder.Folder``), pipeline
  jobs (``org.jenkinsci.plugins.workflow.job.WorkflowJob``) and multibranch projects
  (``org.jenkinsci.plugins.workflow.multibranch.WorkflowMultiBranchProject``), each stored
  as its config.xml text.  Item names are looked up case-insensitively (Jenkins keeps items
  in a case-insensitive map), so ``/job/f`` finds ``F``.
* ``createItem`` (on the root and in folders): ``text/xml`` or ``application/xml`` body ->
  200 empty, J exists -> 400, malformed XML or a root element other than
  ``flow-definition`` / the Folder class / the multibranch class -> 500 (a real Jenkins
  also knows ``<project>`` etc.; this fake accepts only the item types the project
  generates).  ``mode=<Folder class>`` or ``mode=<WorkflowJob class>`` (what
  ``create_folder`` sends) -> 302 to ``/job/F/configure`` (``mode=`` with the multibranch
  class is not modelled: 400 "No item type ... is known"); ``mode=copy&from=X`` copies any
  item.  Missing parent folder -> 404.  A multibranch project is no folder users create
  items in: ``createItem`` inside it -> 404.
* ``POST config.xml`` (update): 200, also for an identical config; malformed XML or an
  unknown root element -> 500; a config of another class than the item's -> 500
  "java.io.IOException: Expecting class <item's class> but got class <posted class>
  instead" and the item is left as it was (``AbstractItem.updateByXml``: an item never
  changes its class; that takes deleting it and creating another).
* ``POST doDelete``: 302 to the parent's page; a multibranch project answers 200 with an
  empty body (observed on 2.516.3).
* Multibranch projects: listed with their ``_class``, ``description`` and ``jobs`` (their
  branch jobs; none here, as branch indexing needs the GitHub API) and, like folders, no
  ``color`` and no builds.  ``POST .../build`` (``ComputedFolder.doBuild``) schedules a
  branch indexing, recorded in ``indexings``, and answers 302 to the ``Referer`` or the
  project's page; a disabled project -> 500 "... cannot be recomputed".
  ``buildWithParameters`` -> 404.
* ``GET config.xml`` returns the stored config the way Jenkins' XML transform writes
  it: the declaration becomes ``<?xml version="1.1" encoding="UTF-8"?>`` with nothing
  after it, whitespace outside the root element is dropped, empty elements are
  collapsed (``<spec></spec>`` -> ``<spec/>``); everything else (indentation, comments,
  attribute quoting, entity spelling) is kept as posted.  Further re-serialisation
  details of the JDK transformer are not modelled.
* ``description`` in the JSON API is the text of the root's ``<description>`` element,
  unescaped; ``null`` when the element is absent and ``""`` when it is empty (XStream
  reads an empty element as the empty string).
* ``/api/json`` honours ``tree=`` (Jenkins' ``NamedPathPruner`` syntax, including
  ``{m,n}`` ranges; ``_class`` is always present) and, without ``tree``, ``depth=``
  with Jenkins' visibility rule (a nested object shows only properties whose
  ``@Exported`` visibility exceeds its nesting level minus ``depth``).
* Builds do not run: ``POST .../build`` of a pipeline job records a build that is
  immediately complete and successful (201, ``Location: <url>/queue/item/<n>/``).  Disabled jobs -> 409,
  ``buildWithParameters`` on a job without parameters -> 400.
* ``/github-webhook/`` follows the github plugin: POST only (else 405), an
  ``X-GitHub-Event`` naming a GitHub event (else 400 "Hook should contain event
  type"), a payload as ``application/json`` body or ``payload`` form field (else 400
  "Hook should contain payload"); 200 with an empty body.  A push pokes every enabled
  job with a ``GitHubPushTrigger`` whose repository matches and, where the plugin would
  poll and find a change, starts a build right away (recorded in ``triggered``).  A job's
  repositories are the remotes of its ``CpsScmFlowDefinition`` SCM plus the
  repository of its last build (``last_build_repository``); a never-built inline
  ``CpsFlowDefinition`` job has none and is never matched.  Repository URLs are
  compared as (host, owner, repo) with the github plugin's URL patterns: scheme,
  credentials, trailing ``.git`` and ``/`` and the case of the host do not matter.
  The push payload's ``repository.url``, ``clone_url``, ``html_url``, ``git_url`` and
  ``ssh_url`` are all tried (the plugin reads ``repository.url`` and also needs
  ``pusher.name``; this fake does not insist on ``pusher``).  The pushed branch
  (``refs/heads/B``) must match a git branch spec of the matching remote (``*/B``,
  ``origin/B``, ``B``, ``refs/heads/B``, globs with ``*``/``**``; no spec means
  ``**``); for a repository known from the last build, the branch of that build if
  recorded, else any.  Pushes that delete a branch trigger nothing.
  A push also reaches every enabled multibranch project with a GitHub branch source
  (``GitHubSCMSource``) naming the pushed repository, as github-branch-source matches it:
  the host of the payload's ``repository.html_url`` (which must be ``http(s)://host/o/r``)
  equals the host of the source's ``apiUri`` (``github.com`` for ``api.github.com`` or no
  ``apiUri``), and ``repository.owner.login`` (else ``owner.name``) and
  ``repository.name`` equal the source's ``repoOwner`` and ``repository``, ignoring case.
  The project processes the event (whatever the branch, also a deleted one): recorded in
  ``indexings`` as ``"webhook"`` (Jenkins would index the pushed branch and build it; no
  branch jobs exist here).  Other events (``pull_request``) are not modelled.
* ``POST /pipeline-model-converter/validateJenkinsfile`` (python-jenkins
  ``check_jenkinsfile_syntax``) answers JSON as Jenkins does
  (``{"status":"ok","data":{"result":"success"}}`` or ``result: failure`` with
  ``errors: [{"error": ...}]``) and ``/pipeline-model-converter/validate`` answers
  plain text as Jenkins does.  The check itself is NOT Jenkins' linter: it tokenises
  Groovy roughly, requires balanced brackets, a top-level ``pipeline { }`` block with
  ``agent`` and ``stages`` sections, and checks ``tools { type 'name' }`` against
  ``tool_installations``, with Jenkins' message for unknown installations.

Fault injection (all thread-safe, settable at any time): ``latency``, ``fail_next``,
``drop_next``, ``fail_at``, ``expire_crumbs``, ``revoke_token``; ``redirect_writes`` (not
Jenkins: a login page or proxy in front of it answers every write -- ``createItem``,
``config.xml`` POST, ``doDelete``, ``build`` -- with 302 to ``/login?from=...`` and Jenkins
never sees it); ``login_page_writes`` (not Jenkins: single sign-on or a proxy in front of it
answers every write with 200 and Jenkins' sign-in page, a form posting user and password to
``j_spring_security_check``, and Jenkins never sees it); ``echo_requests`` (not Jenkins: a debugging proxy or a broken error page;
``"errors"`` appends the whole request -- method, URL, headers with ``Authorization``, body --
to every answer of status 300 and more, ``"all"`` to every answer, 2xx included, and puts it
in the ``Location`` of redirects too); observation:
``requests``, ``request_count``, ``writes``, ``triggered``, ``builds``, ``indexings``.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import contextlib
import functools
import hashlib
import hmac
import html
import http.cookies
import json
import re
import secrets
import socket
import sys
import threading
import time

# Parsing XML with the stdlib: every document parsed here is test data written by our
# own test suite and sent over the loopback interface (defusedxml is not installed).
import xml.etree.ElementTree as ET
from collections import deque
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP as HTTP_POLICY
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Literal, TypeAlias
from urllib.parse import parse_qs, quote, unquote, urlsplit

__all__ = ["FOLDER_CLASS", "MULTIBRANCH_CLASS", "WORKFLOW_JOB_CLASS", "FakeJenkins", "Fault"]

JENKINS_VERSION = "2.503"
HUDSON_VERSION = "1.395"
FOLDER_CLASS = "com.cloudbees.hudson.plugins.folder.Folder"
WORKFLOW_JOB_CLASS = "org.jenkinsci.plugins.workflow.job.WorkflowJob"
WORKFLOW_RUN_CLASS = "org.jenkinsci.plugins.workflow.job.WorkflowRun"
MULTIBRANCH_CLASS = "org.jenkinsci.plugins.workflow.multibranch.WorkflowMultiBranchProject"
GITHUB_SOURCE_CLASS = "org.jenkinsci.plugins.github_branch_source.GitHubSCMSource"
PUSH_TRIGGER_TAG = "com.cloudbees.jenkins.GitHubPushTrigger"
CRUMB_FIELD = "Jenkins-Crumb"
ANONYMOUS = "anonymous"

#: A fault: an HTTP status to answer with, ``"drop"`` (close the connection without an
#: answer), ``"timeout"`` (hold the connection ``hang_seconds``, then drop it) or ``"lost"``
#: (handle the request, then close the connection without sending the answer: what a client
#: sees when a proxy or the network fails after Jenkins acted).
Fault: TypeAlias = int | Literal["drop", "timeout", "lost"]
JsonValue: TypeAlias = bool | int | float | str | list["JsonValue"] | dict[str, "JsonValue"] | None
#: What an item is: a folder, a pipeline job or a multibranch project (a computed folder whose
#: branch jobs Jenkins makes itself).
ItemKind: TypeAlias = Literal["folder", "job", "multibranch"]
_CLASSES: dict[str, str] = {
    "folder": FOLDER_CLASS,
    "job": WORKFLOW_JOB_CLASS,
    "multibranch": MULTIBRANCH_CLASS,
}

_DEFAULT_FOLDER_CONFIG = """<?xml version='1.1' encoding='UTF-8'?>
<com.cloudbees.hudson.plugins.folder.Folder plugin="cloudbees-folder">
  <properties/>
  <folderViews class="com.cloudbees.hudson.plugins.folder.views.DefaultFolderViewHolder">
    <views>
      <hudson.model.AllView>
        <owner class="com.cloudbees.hudson.plugins.folder.Folder" reference="../../../.."/>
        <name>All</name>
        <filterExecutors>false</filterExecutors>
        <filterQueue>false</filterQueue>
        <properties class="hudson.model.View$PropertyImpl"/>
      </hudson.model.AllView>
    </views>
    <tabBar class="hudson.views.DefaultViewsTabBar"/>
  </folderViews>
  <healthMetrics/>
  <icon class="com.cloudbees.hudson.plugins.folder.icons.StockFolderIcon"/>
</com.cloudbees.hudson.plugins.folder.Folder>
"""

_DEFAULT_JOB_CONFIG = """<?xml version='1.1' encoding='UTF-8'?>
<flow-definition plugin="workflow-job">
  <keepDependencies>false</keepDependencies>
  <properties/>
  <triggers/>
  <disabled>false</disabled>
</flow-definition>
"""

# GitHub event names the github plugin's GHEvent enum knows (X-GitHub-Event values).
_GITHUB_EVENTS = frozenset(
    (
        "branch_protection_rule",
        "check_run",
        "check_suite",
        "code_scanning_alert",
        "commit_comment",
        "content_reference",
        "create",
        "delete",
        "deploy_key",
        "deployment",
        "deployment_status",
        "discussion",
        "discussion_comment",
        "download",
        "follow",
        "fork",
        "fork_apply",
        "github_app_authorization",
        "gist",
        "gollum",
        "installation",
        "installation_repositories",
        "integration_installation_repositories",
        "issue_comment",
        "issues",
        "label",
        "marketplace_purchase",
        "member",
        "membership",
        "merge_group",
        "merge_queue_entry",
        "meta",
        "milestone",
        "org_block",
        "organization",
        "package",
        "page_build",
        "ping",
        "project",
        "project_card",
        "project_column",
        "public",
        "pull_request",
        "pull_request_review",
        "pull_request_review_comment",
        "pull_request_review_thread",
        "push",
        "registry_package",
        "release",
        "repository",
        "repository_dispatch",
        "repository_import",
        "repository_vulnerability_alert",
        "schedule",
        "secret_scanning_alert",
        "security_advisory",
        "sponsorship",
        "star",
        "status",
        "team",
        "team_add",
        "watch",
        "workflow_dispatch",
        "workflow_job",
        "workflow_run",
    )
)

# The github plugin's GitHubRepositoryName URL patterns (host, owner, repository).
_REPO_URL_PATTERNS = tuple(
    re.compile(pattern)
    for pattern in (
        r"git@(.+):([^/]+)/([^/]+?)(?:\.git)?/?",
        r"https?://[^/]+@([^/]+)/([^/]+)/([^/]+?)(?:\.git)?/?",
        r"https?://([^/]+)/([^/]+)/([^/]+?)(?:\.git)?/?",
        r"git://([^/]+)/([^/]+)/([^/]+?)(?:\.git)?/?",
        r"ssh://(?:[^/@]+@)?([^/]+)/([^/]+)/([^/]+?)(?:\.git)?/?",
    )
)


# --------------------------------------------------------------------------- config


@dataclass(frozen=True)
class _Remote:
    url: str
    name: str


@dataclass(frozen=True)
class _GitHubSource:
    """A multibranch project's GitHub branch source: the GitHub host its API URL names, and the
    repository's owner and name (as configured, compared ignoring case)."""

    host: str
    owner: str
    repository: str


@dataclass(frozen=True)
class _ConfigFacts:
    """What the server needs to know about an item, read from its config.xml."""

    description: str | None
    disabled: bool = False
    push_trigger: bool = False
    definition: Literal["scm", "inline", "none"] = "none"
    remotes: tuple[_Remote, ...] = ()
    branch_specs: tuple[str, ...] = ()
    script: str = ""
    parameterized: bool = False
    github_sources: tuple[_GitHubSource, ...] = ()


class _BadConfigError(ValueError):
    """The posted config.xml is not something Jenkins can load (-> HTTP 500)."""


def _parse_xml(text: str) -> ET.Element:
    try:
        return ET.fromstring(text.encode("utf-8"))  # noqa: S314  our own test data only
    except ET.ParseError as exc:
        raise _BadConfigError(f"Failed to parse config.xml: {exc}") from exc


def _item_kind(root: ET.Element) -> ItemKind:
    if root.tag == "flow-definition":
        return "job"
    if root.tag == FOLDER_CLASS:
        return "folder"
    if root.tag == MULTIBRANCH_CLASS:
        return "multibranch"
    raise _BadConfigError(
        f"com.thoughtworks.xstream.mapper.CannotResolveClassException: {root.tag}"
    )


@functools.lru_cache(maxsize=1024)
def _facts(config: str) -> _ConfigFacts:
    root = _parse_xml(config)
    description_element = root.find("description")
    description = None if description_element is None else (description_element.text or "")
    if root.tag == MULTIBRANCH_CLASS:
        return _ConfigFacts(
            description=description,
            disabled=(root.findtext("disabled") or "").strip() == "true",
            github_sources=_github_sources(root),
        )
    if root.tag != "flow-definition":
        return _ConfigFacts(description=description)
    definition = root.find("definition")
    definition_class = "" if definition is None else definition.get("class", "")
    kind: Literal["scm", "inline", "none"] = "none"
    remotes: list[_Remote] = []
    specs: list[str] = []
    script = ""
    if definition is not None and definition_class.endswith(".CpsScmFlowDefinition"):
        kind = "scm"
        for remote in definition.iter("hudson.plugins.git.UserRemoteConfig"):
            url = (remote.findtext("url") or "").strip()
            if url:
                remotes.append(_Remote(url, (remote.findtext("name") or "").strip() or "origin"))
        specs = [
            (spec.findtext("name") or "").strip()
            for spec in definition.iter("hudson.plugins.git.BranchSpec")
        ]
    elif definition is not None and definition_class.endswith(".CpsFlowDefinition"):
        kind = "inline"
        script = definition.findtext("script") or ""
    return _ConfigFacts(
        description=description,
        disabled=(root.findtext("disabled") or "").strip() == "true",
        push_trigger=next(root.iter(PUSH_TRIGGER_TAG), None) is not None,
        definition=kind,
        remotes=tuple(remotes),
        branch_specs=tuple(spec for spec in specs if spec),
        script=script,
        parameterized=next(root.iter("hudson.model.ParametersDefinitionProperty"), None)
        is not None,
    )


def _github_sources(root: ET.Element) -> tuple[_GitHubSource, ...]:
    """The GitHub branch sources of a multibranch project's config (other sources, and one
    without an owner or a repository, can never match a GitHub event)."""
    found: list[_GitHubSource] = []
    for source in root.findall("sources/data/jenkins.branch.BranchSource/source"):
        owner = (source.findtext("repoOwner") or "").strip()
        repository = (source.findtext("repository") or "").strip()
        if source.get("class") == GITHUB_SOURCE_CLASS and owner and repository:
            host = _api_host(source.findtext("apiUri"))
            found.append(_GitHubSource(host, owner, repository))
    return tuple(found)


def _api_host(api_uri: str | None) -> str:
    """github-branch-source's ``RepositoryUriResolver.hostnameFromApiUri``: the host of a
    GitHub Enterprise API URL, ``github.com`` for ``api.github.com`` and anything else."""
    try:
        host = urlsplit((api_uri or "").strip()).hostname
    except ValueError:
        host = None
    return "github.com" if not host or host == "api.github.com" else host


_DECLARATION_RE = re.compile(r"\A\ufeff?\s*<\?xml\b.*?\?>", re.DOTALL)
_PROLOG_ITEM_RE = re.compile(r"\s*(<!--.*?-->|<\?.*?\?>|<!DOCTYPE[^>]*>)", re.DOTALL)
_SPECIAL_SECTION_RE = re.compile(r"(<!--.*?-->|<!\[CDATA\[.*?\]\]>|<\?.*?\?>)", re.DOTALL)
_EMPTY_ELEMENT_RE = re.compile(
    r"<([^\W\d][\w.:\-]*)((?:\s+[^\s=<>/]+\s*=\s*(?:\"[^\"]*\"|'[^']*'))*)\s*></\1\s*>"
)


def _jenkins_rewrite(text: str) -> str:
    """Return config.xml text as Jenkins serves it after storing ``text``."""
    body = _DECLARATION_RE.sub("", text, count=1)
    prolog: list[str] = []
    while match := _PROLOG_ITEM_RE.match(body):
        prolog.append(match.group(1))
        body = body[match.end() :]
    body = body.strip()
    parts = _SPECIAL_SECTION_RE.split(body)
    for index in range(0, len(parts), 2):  # even indexes are outside comments/CDATA/PIs
        parts[index] = _EMPTY_ELEMENT_RE.sub(r"<\1\2/>", parts[index])
    return '<?xml version="1.1" encoding="UTF-8"?>' + "".join(prolog) + "".join(parts)


def _checked_config(text: str) -> tuple[str, ItemKind]:
    root = _parse_xml(text)
    return _jenkins_rewrite(text), _item_kind(root)


# --------------------------------------------------------------------------- items


@dataclass
class _Build:
    number: int
    queue_id: int
    cause: str
    timestamp_ms: int


@dataclass(eq=False)
class _Item:
    name: str
    kind: Literal["root", "folder", "job", "multibranch"]
    config: str
    parent: _Item | None
    children: dict[str, _Item] = field(default_factory=dict)
    builds: list[_Build] = field(default_factory=list)
    next_build_number: int = 1
    last_build_repository: str | None = None
    last_build_branch: str | None = None

    @property
    def is_container(self) -> bool:
        """Whether it has items below it: the root, a folder or a multibranch project (whose
        branch jobs are found below it, although nobody creates items in it)."""
        return self.kind != "job"

    @property
    def accepts_items(self) -> bool:
        """Whether ``createItem`` exists here (``ModifiableItemGroup``): the root and folders.
        A multibranch project makes its branch jobs itself and has no ``createItem``."""
        return self.kind in ("root", "folder")

    def lineage(self) -> list[_Item]:
        chain: list[_Item] = []
        item: _Item | None = self
        while item is not None and item.kind != "root":
            chain.append(item)
            item = item.parent
        return chain[::-1]

    @property
    def full_name(self) -> str:
        return "/".join(item.name for item in self.lineage())

    @property
    def full_display_name(self) -> str:
        return " \u00bb ".join(item.name for item in self.lineage())

    @property
    def path(self) -> str:
        """URL path with a trailing slash: ``/`` for the root, ``/job/F/job/J/``."""
        return "/" + "".join(f"job/{quote(item.name, safe='')}/" for item in self.lineage())

    def child(self, name: str) -> _Item | None:
        return self.children.get(name.lower())

    def sorted_children(self) -> list[_Item]:
        return sorted(self.children.values(), key=lambda item: item.name.lower())

    def walk(self) -> list[_Item]:
        found: list[_Item] = []
        for item in self.sorted_children():
            found.append(item)
            found.extend(item.walk())
        return found


# --------------------------------------------------------------------------- JSON export


@dataclass(frozen=True)
class _Field:
    name: str
    value: JsonValue | _Node | tuple[_Node, ...]
    visibility: int = 1


@dataclass(frozen=True)
class _Node:
    cls: str
    fields: tuple[_Field, ...]


@dataclass(frozen=True)
class _TreeSpec:
    children: dict[str, _TreeSpec] | None
    start: int | None = None
    stop: int | None = None


class _TreeParser:
    """Parser for Jenkins' ``tree=`` syntax: ``jobs[name,url,jobs[name]{0,10}]``."""

    _NAME_RE = re.compile(r"[^\[\]{},]+")
    _RANGE_RE = re.compile(r"\{\s*(\d*)\s*(?:(,)\s*(\d*)\s*)?\}")

    def __init__(self, text: str) -> None:
        self._text = text
        self._pos = 0

    def parse(self) -> dict[str, _TreeSpec]:
        specs = self._list()
        if self._pos != len(self._text):
            raise ValueError(f"unexpected {self._text[self._pos]!r} at {self._pos}")
        return specs

    def _peek(self) -> str:
        return self._text[self._pos] if self._pos < len(self._text) else ""

    def _list(self) -> dict[str, _TreeSpec]:
        specs: dict[str, _TreeSpec] = {}
        while True:
            match = self._NAME_RE.match(self._text, self._pos)
            if match is None or not match.group().strip():
                raise ValueError(f"expected a property name at {self._pos}")
            self._pos = match.end()
            children = None
            if self._peek() == "[":
                self._pos += 1
                children = self._list()
                if self._peek() != "]":
                    raise ValueError(f"expected ']' at {self._pos}")
                self._pos += 1
            start, stop = self._range()
            specs[match.group().strip()] = _TreeSpec(children, start, stop)
            if self._peek() != ",":
                return specs
            self._pos += 1

    def _range(self) -> tuple[int | None, int | None]:
        match = self._RANGE_RE.match(self._text, self._pos)
        if match is None:
            return None, None
        self._pos = match.end()
        low, comma, high = match.groups()
        if comma is None:
            if not low:
                raise ValueError("empty range")
            return int(low), int(low) + 1
        return (int(low) if low else None), (int(high) if high else None)


def _render(
    node: _Node, tree: dict[str, _TreeSpec] | None, level: int, depth: int
) -> dict[str, JsonValue]:
    out: dict[str, JsonValue] = {"_class": node.cls}
    for fld in node.fields:
        spec: _TreeSpec | None = None
        if tree is None:
            if fld.visibility <= level - depth:
                continue
        else:
            spec = tree.get(fld.name)
            if spec is None:
                continue
        subtree = None if spec is None else (spec.children or {})
        value = fld.value
        if isinstance(value, _Node):
            out[fld.name] = _render(value, subtree, level + 1, depth)
        elif isinstance(value, tuple):
            selected = value if spec is None else value[spec.start : spec.stop]
            out[fld.name] = [_render(n, subtree, level + 1, depth) for n in selected]
        else:
            out[fld.name] = value
    return out


def _dumps(value: JsonValue) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


# --------------------------------------------------------------------------- webhook matching


def _repo_identity(url: str) -> tuple[str, str, str] | None:
    url = url.strip()
    for pattern in _REPO_URL_PATTERNS:
        match = pattern.fullmatch(url)
        if match:
            host, owner, repo = match.groups()
            return host.lower(), owner, repo
    return None


def _glob_regex(spec: str) -> re.Pattern[str]:
    pieces = re.split(r"(\*\*|\*)", spec)
    translated = "".join(
        ".*" if piece == "**" else "[^/]*" if piece == "*" else re.escape(piece) for piece in pieces
    )
    return re.compile(translated)


def _branch_matches(spec: str, ref: str, remote: str) -> bool:
    spec = spec.strip()
    if spec in ("", "**"):
        return True
    if ref.startswith("refs/heads/"):
        branch = ref.removeprefix("refs/heads/")
        candidates: tuple[str, ...] = (
            ref,
            f"{remote}/{branch}",
            f"remotes/{remote}/{branch}",
            f"refs/remotes/{remote}/{branch}",
            branch,
        )
    else:
        candidates = (ref,)
    pattern = _glob_regex(spec)
    return any(pattern.fullmatch(candidate) for candidate in candidates)


_INLINE_URL_RE = re.compile(r"""(?:\burl\s*:\s*|\bgit\s*\(?\s*)(['"])(?P<url>[^'"\s]+)\1""")
_INLINE_BRANCH_RE = re.compile(r"""\bbranch\s*:\s*(['"])(?P<branch>[^'"\s]+)\1""")


def _inline_checkout(script: str) -> tuple[str | None, str | None]:
    """Heuristic: the repository (and branch) an inline pipeline's ``git`` step uses."""
    url = _INLINE_URL_RE.search(script)
    branch = _INLINE_BRANCH_RE.search(script)
    return (
        url.group("url") if url else None,
        branch.group("branch") if branch else None,
    )


# --------------------------------------------------------------------------- Jenkinsfile check

_TOKEN_RE = re.compile(
    r"""
     (?P<ws>\s+)
    |(?P<comment>//[^\n]*|/\*.*?\*/)
    |(?P<string>'''.*?'''|\"\"\".*?\"\"\"|'(?:\\.|[^'\\\n])*'|"(?:\\.|[^"\\\n])*")
    |(?P<word>[A-Za-z_$][\w$]*)
    |(?P<open>[{(\[])
    |(?P<close>[})\]])
    |(?P<quote>['"])
    |(?P<other>.)
    """,
    re.DOTALL | re.VERBOSE,
)
_PAIRS = {"}": "{", ")": "(", "]": "["}


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    line: int
    column: int
    depth: int


@dataclass(frozen=True)
class _LintError:
    line: int | None
    message: str


def _levenshtein(left: str, right: str) -> int:
    previous = list(range(len(right) + 1))
    for i, lch in enumerate(left, 1):
        current = [i]
        for j, rch in enumerate(right, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (lch != rch)))
        previous = current
    return previous[-1]


def _tokenise(text: str) -> tuple[list[_Token], _LintError | None]:
    line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
    tokens: list[_Token] = []
    stack: list[_Token] = []

    def position(offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(line_starts, offset)
        return line, offset - line_starts[line - 1] + 1

    for match in _TOKEN_RE.finditer(text):
        kind = match.lastgroup or "other"
        if kind in ("ws", "comment"):
            continue
        line, column = position(match.start())
        where = f"@ line {line}, column {column}."
        if kind == "quote":
            return tokens, _LintError(line, f"unterminated string literal {where}")
        if kind == "close":
            if not stack or stack[-1].text != _PAIRS[match.group()]:
                return tokens, _LintError(line, f"unexpected token: {match.group()} {where}")
            stack.pop()
        token = _Token(kind, match.group(), line, column, len(stack))
        tokens.append(token)
        if kind == "open":
            stack.append(token)
    if stack:
        line, column = position(len(text))
        closer = {"{": "}", "(": ")", "[": "]"}[stack[-1].text]
        return tokens, _LintError(
            line, f"expecting '{closer}', found '' @ line {line}, column {column}."
        )
    return tokens, None


def _block_end(tokens: list[_Token], open_index: int) -> int:
    depth = tokens[open_index].depth
    for index in range(open_index + 1, len(tokens)):
        if tokens[index].kind == "close" and tokens[index].depth == depth:
            return index
    return len(tokens)


def _check_tools(
    tokens: list[_Token], start: int, end: int, installations: Mapping[str, Sequence[str]]
) -> list[_LintError]:
    errors: list[_LintError] = []
    depth = tokens[start].depth + 1
    index = start + 1
    while index < end:
        token = tokens[index]
        value_index = next(
            (j for j in range(index + 1, min(index + 3, end)) if tokens[j].kind == "string"),
            None,
        )
        if token.kind == "word" and token.depth == depth and value_index is not None:
            value = tokens[value_index]
            name = value.text.strip("'\"")
            where = f"@ line {value.line}, column {value.column}."
            if token.text not in installations:
                valid = ", ".join(sorted(installations))
                errors.append(
                    _LintError(
                        token.line,
                        f'Invalid tool type "{token.text}". Valid tool types: [{valid}] {where}',
                    )
                )
            elif name not in installations[token.text]:
                known = list(installations[token.text])
                nearest = min(known, key=lambda k: _levenshtein(k, name)) if known else "null"
                errors.append(
                    _LintError(
                        value.line,
                        f'Tool type "{token.text}" does not have an install of "{name}" '
                        f'configured - did you mean "{nearest}"? {where}',
                    )
                )
            index = value_index + 1
            continue
        index += 1
    return errors


def _lint_jenkinsfile(text: str, installations: Mapping[str, Sequence[str]]) -> list[_LintError]:
    tokens, syntax_error = _tokenise(text)
    if syntax_error is not None:
        return [syntax_error]
    start = next(
        (
            i
            for i, t in enumerate(tokens[:-1])
            if t.kind == "word"
            and t.text == "pipeline"
            and t.depth == 0
            and tokens[i + 1].text == "{"
        ),
        None,
    )
    if start is None:
        return [
            _LintError(None, f"Jenkinsfile content '{text}' did not contain the 'pipeline' step")
        ]
    end = _block_end(tokens, start + 1)
    pipeline = tokens[start]
    sections = {t.text for t in tokens[start + 2 : end] if t.kind == "word" and t.depth == 1}
    errors = [
        _LintError(
            pipeline.line,
            f'Missing required section "{section}" '
            f"@ line {pipeline.line}, column {pipeline.column}.",
        )
        for section in ("stages", "agent")
        if section not in sections
    ]
    for index in range(start + 2, end - 1):
        if tokens[index].text == "tools" and tokens[index + 1].text == "{":
            block_end = _block_end(tokens, index + 1)
            errors.extend(_check_tools(tokens, index + 1, block_end, installations))
    return errors


# --------------------------------------------------------------------------- HTTP plumbing


@dataclass
class _Response:
    status: int
    body: bytes = b""
    content_type: str | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class _Drop:
    hang: bool


@dataclass(frozen=True)
class _Request:
    method: str
    target: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def param(self, name: str) -> str | None:
        """A request parameter as a servlet sees it: query string first, then form."""
        if name in self.query:
            return self.query[name][0]
        values = self.form().get(name)
        return values[0] if values else None

    def form(self) -> dict[str, list[str]]:
        content_type = self.headers.get("content-type", "")
        if content_type.startswith("application/x-www-form-urlencoded"):
            return parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True)
        if content_type.startswith("multipart/form-data"):
            message = BytesParser(policy=HTTP_POLICY).parsebytes(
                f"Content-Type: {content_type}\r\n\r\n".encode() + self.body
            )
            fields: dict[str, list[str]] = {}
            for part in message.iter_parts():
                name = part.get_param("name", header="content-disposition")
                payload = part.get_payload(decode=True)
                if isinstance(name, str) and isinstance(payload, bytes):
                    fields.setdefault(name, []).append(payload.decode("utf-8", "replace"))
            return fields
        return {}


@dataclass(frozen=True)
class _Auth:
    user: str
    kind: Literal["anonymous", "token", "password"]


def _html(status: int, title: str, message: str = "") -> _Response:
    text = (
        f"<html><head><title>{html.escape(title)} [Jenkins]</title></head>"
        f"<body><h1>{html.escape(title)}</h1><p>{html.escape(message)}</p></body></html>"
    )
    return _Response(status, text.encode("utf-8"), "text/html;charset=utf-8")


def _json_response(value: JsonValue, status: int = 200) -> _Response:
    return _Response(status, _dumps(value), "application/json;charset=utf-8")


def _text(status: int, text: str) -> _Response:
    return _Response(status, text.encode("utf-8"), "text/plain;charset=utf-8")


def _sign_in_page(origin: str) -> _Response:
    """Jenkins' sign-in page (``/login``), shortened: its form posts to
    ``j_spring_security_check``."""
    text = (
        "<html><head><title>Sign in [Jenkins]</title></head><body><h1>Sign in to Jenkins</h1>"
        '<form method="post" name="login" action="j_spring_security_check">'
        '<input name="j_username" id="j_username" type="text" autocomplete="username">'
        '<input name="j_password" id="j_password" type="password">'
        f'<input name="from" type="hidden" value="{html.escape(origin)}">'
        '<button type="submit" name="Submit">Sign in</button></form></body></html>'
    )
    return _Response(200, text.encode("utf-8"), "text/html;charset=utf-8")


def _redirect(location: str, status: int = 302) -> _Response:
    return _Response(status, b"", None, [("Location", location)])


_REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    500: "Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def _status_page(status: int, message: str = "") -> _Response:
    return _html(status, f"Error {status} {_REASONS.get(status, 'Error')}", message)


def _not_found() -> _Response:
    return _status_page(404, "Not Found")


def _method_not_allowed() -> _Response:
    return _status_page(405, "This URL requires POST")


def _failure(message: str) -> _Response:
    """Jenkins' ``hudson.model.Failure``: an error page with status 400."""
    return _html(400, "Error", message)


_UNSAFE_NAME_CHARS = "?*/\\%!@#$^&|<>[]:;"


def _name_problem(name: str) -> str | None:
    """``Jenkins.checkGoodName``: the message for a bad item name, else ``None``."""
    if not name.strip():
        return "No name is specified"
    for char in name:
        if char in _UNSAFE_NAME_CHARS or not char.isprintable():
            return f"\u2018{char}\u2019 is an unsafe character"
    if name.strip() in (".", ".."):
        return f"\u201c{name.strip()}\u201d is not an allowed name"
    return None


def _create_problem(
    request: _Request, parent: _Item, content_type: str | None, mode: str | None
) -> _Response | None:
    """The 400 ``Failure`` ``createItem`` answers before creating anything, if any."""
    if content_type is None and mode != "copy":
        return _failure("No Content-Type header set")
    name = request.param("name")
    if name is None:
        return _failure("Query parameter 'name' is required")
    problem = _name_problem(name)
    if problem is not None:
        return _failure(problem)
    if parent.child(name.strip()) is not None:
        return _failure(f"A job already exists with the name \u2018{name.strip()}\u2019")
    return None


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], fake: FakeJenkins) -> None:
        self.fake = fake
        super().__init__(address, _Handler)

    def handle_error(self, request: object, client_address: object) -> None:
        """Stay quiet about clients that went away (timeouts, dropped connections)."""
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)  # type: ignore[arg-type]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeJenkins"

    def _fake(self) -> FakeJenkins:
        server = self.server
        if not isinstance(server, _HttpServer):  # pragma: no cover - wiring error
            raise TypeError("handler is not attached to a FakeJenkins server")
        return server.fake

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without this, Nagle's algorithm
        # and the client's delayed ACK add ~40 ms to every response.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._fake()._track(self.connection, threading.current_thread())

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self._fake()._track(self.connection, None)

    def log_message(self, format: str, *args: object) -> None:
        """Keep test output quiet."""

    def version_string(self) -> str:
        return self.server_version

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _serve(self) -> None:
        fake = self._fake()
        try:
            body = self._read_body()
        except ValueError:
            self.close_connection = True
            return
        headers: dict[str, str] = {}
        for key, value in self.headers.items():
            lower = key.lower()
            separator = "; " if lower == "cookie" else ", "
            headers[lower] = f"{headers[lower]}{separator}{value}" if lower in headers else value
        outcome = fake._handle(self.command, self.path, headers, body)
        if isinstance(outcome, _Drop):
            if outcome.hang:
                fake._pause(fake.hang_seconds)
            self.close_connection = True
            return
        self._send(outcome, fake)

    def _send(self, response: _Response, fake: FakeJenkins) -> None:
        self.send_response(response.status, _REASONS.get(response.status))
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("X-Jenkins", fake.version)
        self.send_header("X-Hudson", HUDSON_VERSION)
        self.send_header("X-Jenkins-Session", fake._instance_session)
        if response.content_type:
            self.send_header("Content-Type", response.content_type)
        for name, value in response.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    # http.server dispatches on these exact attribute names.
    do_GET = _serve  # noqa: N815  name required by BaseHTTPRequestHandler
    do_POST = _serve  # noqa: N815  name required by BaseHTTPRequestHandler
    do_PUT = _serve  # noqa: N815  name required by BaseHTTPRequestHandler
    do_DELETE = _serve  # noqa: N815  name required by BaseHTTPRequestHandler
    do_HEAD = _serve  # noqa: N815  name required by BaseHTTPRequestHandler


# --------------------------------------------------------------------------- the server


class FakeJenkins:
    """An in-process Jenkins 2.503 stand-in on ``127.0.0.1`` (see the module docstring).

    ``users`` maps user -> API token, ``passwords`` user -> password, ``permissions`` user ->
    the permissions granted to it (users not in it are administrators).
    ``tool_installations`` maps tool type -> installation names for the Jenkinsfile
    check (default: ``git: Default`` and no ``jdk``/``maven`` installations).
    ``hang_seconds`` is how long a ``"timeout"`` fault holds the connection.
    ``token_crumb_check`` -- see the CSRF notes in the module docstring.
    """

    def __init__(
        self,
        users: Mapping[str, str] | None = None,
        *,
        passwords: Mapping[str, str] | None = None,
        permissions: Mapping[str, Collection[str]] | None = None,
        tool_installations: Mapping[str, Sequence[str]] | None = None,
        hang_seconds: float = 10.0,
        token_crumb_check: bool = False,
    ) -> None:
        #: The version announced in ``X-Jenkins`` (settable).
        self.version = JENKINS_VERSION
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._tokens: dict[str, str] = dict(users or {})
        self._passwords: dict[str, str] = dict(passwords or {})
        self._permissions: dict[str, frozenset[str]] = {
            user: frozenset(granted) for user, granted in (permissions or {}).items()
        }
        self._tools: dict[str, tuple[str, ...]] = {
            key: tuple(values)
            for key, values in (
                tool_installations
                if tool_installations is not None
                else {"git": ("Default",), "jdk": (), "maven": ()}
            ).items()
        }
        self._token_crumb_check = token_crumb_check
        self._hang_seconds = hang_seconds
        self._latency = 0.0
        self._salt = secrets.token_hex(16)
        self._sessions: set[str] = set()
        self._cookie_name = f"JSESSIONID.{secrets.token_hex(4)}"
        self._instance_session = secrets.token_hex(4)
        self._root = _Item("", "root", "", None)
        self._requests: list[tuple[str, str]] = []
        self._faults_at: dict[int, Fault] = {}
        self._fault_queue: deque[Fault] = deque()
        self._writes = 0
        self._builds: list[tuple[str, str]] = []
        self._indexings: list[tuple[str, str]] = []
        self._queue: dict[int, tuple[_Item, _Build]] = {}
        self._next_queue_id = 1
        self._connections: dict[socket.socket, threading.Thread] = {}
        #: See the module docstring (fault injection).
        self.redirect_writes = False
        self.login_page_writes = False
        self.echo_requests: Literal["errors", "all"] | None = None
        self._httpd: _HttpServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FakeJenkins:
        """Start serving on 127.0.0.1 with a free port; returns ``self``."""
        if self._httpd is not None:
            raise RuntimeError("FakeJenkins is already running")
        self._stopping.clear()
        self._httpd = _HttpServer(("127.0.0.1", 0), self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.01},  # how fast stop() returns
            name="fake-jenkins",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, wake sleeping handlers and close open connections."""
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        self._stopping.set()
        httpd.shutdown()
        httpd.server_close()
        with self._lock:
            connections = list(self._connections.items())
        for connection, _ in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + 5
        for _, handler in connections:
            handler.join(timeout=max(0.0, deadline - time.monotonic()))
        if thread is not None:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        self._httpd = None
        self._thread = None

    def __enter__(self) -> FakeJenkins:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL without a trailing slash, e.g. ``http://127.0.0.1:40123``."""
        if self._httpd is None:
            raise RuntimeError("FakeJenkins is not running")
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    # ------------------------------------------------------------------ fault switches

    @property
    def latency(self) -> float:
        """Seconds every request waits before it is handled."""
        with self._lock:
            return self._latency

    @latency.setter
    def latency(self, seconds: float) -> None:
        with self._lock:
            self._latency = max(0.0, seconds)

    @property
    def hang_seconds(self) -> float:
        """How long a ``"timeout"`` fault holds the connection before dropping it."""
        with self._lock:
            return self._hang_seconds

    @hang_seconds.setter
    def hang_seconds(self, seconds: float) -> None:
        with self._lock:
            self._hang_seconds = max(0.0, seconds)

    def fail_next(self, count: int, status: Fault = 500) -> None:
        """Answer the next ``count`` requests with ``status`` (or drop/hang them)."""
        _check_fault(status)
        with self._lock:
            self._fault_queue.extend([status] * count)

    def drop_next(self, count: int) -> None:
        """Close the connection of the next ``count`` requests without answering."""
        self.fail_next(count, "drop")

    def fail_at(self, index: int, fault: Fault) -> None:
        """Fault the request with 0-based ``index`` counted from server start."""
        _check_fault(fault)
        with self._lock:
            self._faults_at[index] = fault

    def clear_faults(self) -> None:
        """Forget pending ``fail_next``/``drop_next``/``fail_at`` faults."""
        with self._lock:
            self._faults_at.clear()
            self._fault_queue.clear()

    def expire_crumbs(self) -> None:
        """Invalidate every crumb and HTTP session issued so far."""
        with self._lock:
            self._salt = secrets.token_hex(16)
            self._sessions.clear()

    def revoke_token(self, user: str) -> None:
        """Make later requests with ``user``'s API token get 401."""
        with self._lock:
            self._tokens.pop(user, None)

    def set_token(self, user: str, token: str) -> None:
        """Give ``user`` a (new) API token."""
        with self._lock:
            self._tokens[user] = token

    # ------------------------------------------------------------------ observation

    @property
    def requests(self) -> list[tuple[str, str]]:
        """Every request received, in order: ``(method, path-with-query)``."""
        with self._lock:
            return list(self._requests)

    @property
    def request_count(self) -> int:
        with self._lock:
            return len(self._requests)

    @property
    def writes(self) -> int:
        """POSTs that changed state: item create/update/delete, builds, webhook builds."""
        with self._lock:
            return self._writes

    @property
    def triggered(self) -> list[str]:
        """Full names of the jobs the GitHub webhook started builds of, in order."""
        with self._lock:
            return [name for name, cause in self._builds if cause == "webhook"]

    @property
    def builds(self) -> list[tuple[str, str]]:
        """Every build started: ``(job full name, "api" | "webhook")``, in order."""
        with self._lock:
            return list(self._builds)

    @property
    def indexings(self) -> list[tuple[str, str]]:
        """Every branch indexing of a multibranch project, in order: ``(full name, "api")`` for
        ``POST .../build``, ``(full name, "webhook")`` for a GitHub event reaching it."""
        with self._lock:
            return list(self._indexings)

    # ------------------------------------------------------------------ seeding

    def put_folder(self, name: str, config_xml: str | None = None) -> None:
        """Create (or reconfigure) folder ``name`` and any missing parent folders.

        Raises ``ValueError`` for XML Jenkins would refuse (as ``createItem`` does).
        """
        text, kind = _checked_config(config_xml or _DEFAULT_FOLDER_CONFIG)
        if kind != "folder":
            raise ValueError(f"{name}: config.xml is not a folder")
        with self._lock:
            self._put(name, text, "folder")

    def put_job(self, name: str, config_xml: str) -> None:
        """Create (or reconfigure) pipeline job or multibranch project ``name``, as its
        config.xml says; parents are created as folders.

        Raises ``ValueError`` for XML Jenkins would refuse (as ``createItem`` does), and for a
        config of another class than the existing item's (as ``config.xml`` POST does).
        """
        text, kind = _checked_config(config_xml)
        if kind == "folder":
            raise ValueError(f"{name}: config.xml is a folder's, not a job's")
        with self._lock:
            self._put(name, text, kind)

    def job_config(self, name: str) -> str:
        """The config.xml of item ``name`` as ``GET config.xml`` returns it."""
        with self._lock:
            return self._lookup(name).config

    def job_names(self) -> list[str]:
        """Sorted full names of all jobs: pipeline jobs and multibranch projects (folders
        excluded)."""
        with self._lock:
            return sorted(
                i.full_name for i in self._root.walk() if i.kind in ("job", "multibranch")
            )

    def item_class(self, name: str) -> str:
        """The class of item ``name`` (its ``_class`` in the JSON API)."""
        with self._lock:
            item = self._lookup(name)
            if item.kind == "root":
                raise KeyError(name)
            return _CLASSES[item.kind]

    def folder_names(self) -> list[str]:
        """Sorted full names of all folders."""
        with self._lock:
            return sorted(i.full_name for i in self._root.walk() if i.kind == "folder")

    def build_numbers(self, name: str) -> list[int]:
        """Numbers of the builds job ``name`` has had."""
        with self._lock:
            return [build.number for build in self._lookup(name).builds]

    def last_build_repository(self, name: str) -> str | None:
        """The repository job ``name``'s last build checked out, as far as known."""
        with self._lock:
            return self._lookup(name).last_build_repository

    def set_last_build_repository(
        self, name: str, url: str | None, branch: str | None = None
    ) -> None:
        """Pretend job ``name``'s last build checked out ``url`` (at ``branch``)."""
        with self._lock:
            item = self._lookup(name)
            item.last_build_repository = url
            item.last_build_branch = branch

    def _lookup(self, name: str) -> _Item:
        item = self._root
        for part in name.strip("/").split("/"):
            child = item.child(part)
            if child is None:
                raise KeyError(name)
            item = child
        return item

    def _put(self, name: str, config: str, kind: ItemKind) -> None:
        parts = name.strip("/").split("/")
        parent = self._root
        for part in parts[:-1]:
            child = parent.child(part)
            if child is None:
                child = _Item(part, "folder", _jenkins_rewrite(_DEFAULT_FOLDER_CONFIG), parent)
                parent.children[part.lower()] = child
            elif child.kind != "folder":
                raise ValueError(f"{part} in {name} is a {child.kind}, not a folder")
            parent = child
        existing = parent.child(parts[-1])
        if existing is None:
            parent.children[parts[-1].lower()] = _Item(parts[-1], kind, config, parent)
        elif existing.kind != kind:
            raise ValueError(f"{name} exists and is a {existing.kind}")
        else:
            existing.config = config

    # ------------------------------------------------------------------ request handling

    def _track(self, connection: socket.socket, handler: threading.Thread | None) -> None:
        with self._lock:
            if handler is not None:
                self._connections[connection] = handler
            else:
                self._connections.pop(connection, None)

    def _pause(self, seconds: float) -> None:
        if seconds > 0:
            self._stopping.wait(seconds)

    def _handle(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> _Response | _Drop:
        with self._lock:
            index = len(self._requests)
            self._requests.append((method, target))
            latency = self._latency
            fault = self._faults_at.pop(index, None)
            if fault is None and self._fault_queue:
                fault = self._fault_queue.popleft()
        self._pause(latency)
        if fault is not None:
            if isinstance(fault, int):
                return self._echoed(
                    _status_page(fault, "injected fault"), method, target, headers, body
                )
            if fault != "lost":
                return _Drop(hang=fault == "timeout")
        split = urlsplit(target)
        if self.redirect_writes and method == "POST" and _is_write(split.path):
            login = _redirect(f"/login?from={quote(split.path, safe='')}")
            return self._echoed(login, method, target, headers, body)
        if self.login_page_writes and method == "POST" and _is_write(split.path):
            return self._echoed(_sign_in_page(split.path), method, target, headers, body)
        request = _Request(
            method=method,
            target=target,
            path=split.path or "/",
            query=parse_qs(split.query, keep_blank_values=True),
            headers=headers,
            body=body,
        )
        with self._lock:
            try:
                response = self._process(request)
            except Exception as exc:  # an "Oops!" page, as Jenkins shows for bugs
                response = _status_page(500, f"{type(exc).__name__}: {exc}")
        response = self._echoed(response, method, target, headers, body)
        return _Drop(hang=False) if fault == "lost" else response

    def _echoed(
        self, response: _Response, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> _Response:
        """``response`` with the request appended, as ``echo_requests`` asks."""
        mode = self.echo_requests
        if mode is None or (mode == "errors" and response.status < 300):
            return response
        # The Authorization first, so that a shortened page text still shows it.
        ordered = sorted(headers.items(), key=lambda kv: kv[0] != "authorization")
        lines = [f"Authorization: {headers.get('authorization', '')} {method} {target}"]
        lines += [f"{k}: {v}" for k, v in ordered]
        echo = html.escape("\n".join(lines)).encode() + b"\n\n" + body
        page = response.body
        if b"</p>" in page:  # in the message paragraph, which clients show
            page = page.replace(b"</p>", b" " + echo + b"</p>", 1)
        else:
            page += b"\n" + echo
        extra = [
            (k, f"{v}{'&' if '?' in v else '?'}echo={quote(headers.get('authorization', ''))}")
            if k.lower() == "location"
            else (k, v)
            for k, v in response.headers
        ]
        return _Response(
            response.status,
            page,
            response.content_type,
            extra,
        )

    def _process(self, request: _Request) -> _Response:
        auth = self._authenticate(request)
        if isinstance(auth, _Response):
            return auth
        if request.method == "POST" and not self._crumb_exempt(request, auth):
            crumb = request.headers.get(CRUMB_FIELD.lower()) or request.param(CRUMB_FIELD)
            if crumb is None or not self._crumb_valid(request, auth, crumb):
                return _status_page(403, "No valid crumb was included in the request")
        unprotected = self._unprotected(request, auth)
        if unprotected is not None:
            return unprotected
        if auth.kind == "anonymous":
            response = _html(403, "Authentication required")
            response.headers += [
                ("X-You-Are-Authenticated-As", ANONYMOUS),
                ("X-Required-Permission", "hudson.model.Hudson.Read"),
            ]
            return response
        return self._route(request, auth)

    def _unprotected(self, request: _Request, auth: _Auth) -> _Response | None:
        """Paths anonymous users may read (Jenkins' unprotected root actions)."""
        path = request.path
        if path == "/github-webhook/":
            return self._webhook(request)
        if path == "/github-webhook":
            return _redirect("/github-webhook/")
        if path.startswith("/whoAmI/"):
            return self._who_am_i(request, auth)
        if path == "/login":
            return _sign_in_page(request.param("from") or "/")
        return None

    # -- authentication and CSRF

    def _authenticate(self, request: _Request) -> _Auth | _Response:
        header = request.headers.get("authorization", "")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return _Auth(ANONYMOUS, "anonymous")
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            decoded = ""
        user, _, secret = decoded.partition(":")
        token = self._tokens.get(user)
        if token is not None and hmac.compare_digest(token.encode(), secret.encode()):
            return _Auth(user, "token")
        password = self._passwords.get(user)
        if password is not None and hmac.compare_digest(password.encode(), secret.encode()):
            return _Auth(user, "password")
        response = _status_page(401, f"Invalid password/token for user: {user}")
        response.headers.append(("WWW-Authenticate", 'Basic realm="Jenkins"'))
        return response

    def _crumb_exempt(self, request: _Request, auth: _Auth) -> bool:
        if request.path == "/github-webhook/" or request.path.startswith(
            "/pipeline-model-converter/"
        ):
            return True
        if auth.kind != "token":
            return False
        if not self._token_crumb_check:
            return True
        sent = request.headers.get(CRUMB_FIELD.lower()) or request.param(CRUMB_FIELD)
        return sent is None

    def _session(self, request: _Request) -> str | None:
        cookies = http.cookies.SimpleCookie()
        try:
            cookies.load(request.headers.get("cookie", ""))
        except http.cookies.CookieError:
            return None
        morsel = cookies.get(self._cookie_name)
        if morsel is None or morsel.value not in self._sessions:
            return None
        return morsel.value

    def _crumb_for(self, user: str, session: str) -> str:
        return hashlib.sha256(f"{user};;{session}{self._salt}".encode()).hexdigest()

    def _crumb_valid(self, request: _Request, auth: _Auth, crumb: str) -> bool:
        session = self._session(request)
        if session is None:
            return False
        return hmac.compare_digest(self._crumb_for(auth.user, session).encode(), crumb.encode())

    def _crumb_issuer(self, request: _Request, auth: _Auth) -> _Response:
        session = self._session(request)
        headers: list[tuple[str, str]] = []
        if session is None:
            session = f"node0{secrets.token_hex(12)}.node0"
            self._sessions.add(session)
            headers.append(("Set-Cookie", f"{self._cookie_name}={session}; Path=/; HttpOnly"))
        response = _json_response(
            {
                "_class": "hudson.security.csrf.DefaultCrumbIssuer",
                "crumb": self._crumb_for(auth.user, session),
                "crumbRequestField": CRUMB_FIELD,
            }
        )
        response.headers += headers
        return response

    # -- routing

    def _route(self, request: _Request, auth: _Auth) -> _Response:
        segments = request.path.split("/")[1:]
        item = self._root
        index = 0
        while index < len(segments) and segments[index] == "job":
            name = unquote(segments[index + 1]) if index + 1 < len(segments) else ""
            child = item.child(name) if item.is_container and name else None
            if child is None:
                return _not_found()
            item = child
            index += 2
        rest = "/".join(segments[index:])
        if item.kind != "root" and index == len(segments):  # "/job/F" without the slash
            return _redirect(item.path) if request.method == "GET" else _not_found()
        denied = self._denied(auth, _required_permission(request.method, item, rest))
        if denied is not None:
            return denied
        if item.kind == "root":
            handled = self._route_root(request, auth, rest)
            if handled is not None:
                return handled
        return self._route_item(request, item, rest)

    def _denied(self, auth: _Auth, permission: str | None) -> _Response | None:
        """Jenkins' answer to a user lacking ``permission`` (``AccessDeniedException3``)."""
        granted = self._permissions.get(auth.user)
        if granted is None:
            return None
        if "Overall/Read" not in granted:
            permission = "Overall/Read"
        elif permission is None or permission in _implied(granted):
            return None
        response = _html(
            403, "Access Denied", f"{auth.user} is missing the {permission} permission"
        )
        response.headers += [
            ("X-You-Are-Authenticated-As", auth.user),
            (
                "X-You-Are-In-Group-Disabled",
                "JENKINS-39402: use -Dhudson.security.AccessDeniedException2.REPORT_GROUP_HEADERS=true "
                "or use /whoAmI to diagnose",
            ),
            ("X-Required-Permission", _PERMISSION_IDS[permission]),
            ("X-Permission-Implied-By", "hudson.model.Hudson.Administer"),
        ]
        return response

    def _route_root(self, request: _Request, auth: _Auth, rest: str) -> _Response | None:
        get_routes = {
            "crumbIssuer/api/json": lambda: self._crumb_issuer(request, auth),
            "me/api/json": lambda: self._me(auth),
            f"user/{quote(auth.user, safe='')}/api/json": lambda: self._me(auth),
            "queue/api/json": lambda: _json_response(
                {"_class": "hudson.model.Queue", "discoverableItems": [], "items": []}
            ),
        }
        if rest in get_routes:
            return get_routes[rest]() if request.method == "GET" else _method_not_allowed()
        validators = {
            "pipeline-model-converter/validate": self._validate_text,
            "pipeline-model-converter/validateJenkinsfile": self._validate_json,
        }
        if rest in validators:
            return validators[rest](request) if request.method == "POST" else _method_not_allowed()
        queue_item = re.fullmatch(r"queue/item/(\d+)/api/json", rest)
        if queue_item:
            return self._queue_item(int(queue_item.group(1)))
        return None

    def _route_item(self, request: _Request, item: _Item, rest: str) -> _Response:
        method = request.method
        build = re.fullmatch(r"(\d+|lastBuild)/api/json", rest) if item.kind == "job" else None
        if build:
            return self._build_json(item, build.group(1)) if method == "GET" else _not_found()
        if rest in ("", "configure", "api/json") and method in ("GET", "HEAD"):
            if rest == "api/json":
                return self._api_json(request, item)
            return _html(200, item.full_display_name or "Dashboard")
        actions: dict[str, tuple[bool, Callable[[], _Response]]] = {
            "createItem": (item.accepts_items, lambda: self._create_item(request, item)),
            "doDelete": (item.kind != "root", lambda: self._delete(item)),
            "build": (
                item.kind in ("job", "multibranch"),
                lambda: (
                    self._index(request, item)
                    if item.kind == "multibranch"
                    else self._build(item, parameters=False)
                ),
            ),
            "buildWithParameters": (item.kind == "job", lambda: self._build(item, parameters=True)),
        }
        applicable, action = actions.get(rest, (False, _not_found))
        if applicable:
            return action() if method == "POST" else _method_not_allowed()
        if rest == "config.xml" and item.kind != "root":
            return self._config_xml(request, item)
        return _not_found()

    def _config_xml(self, request: _Request, item: _Item) -> _Response:
        if request.method == "GET":
            return _Response(200, item.config.encode("utf-8"), "application/xml;charset=utf-8")
        if request.method == "POST":
            return self._update_config(request, item)
        return _method_not_allowed()

    # -- users

    def _me(self, auth: _Auth) -> _Response:
        return _json_response(
            {
                "_class": "hudson.model.User",
                "absoluteUrl": f"{self.url}/user/{quote(auth.user, safe='')}",
                "description": None,
                "fullName": auth.user,
                "id": auth.user,
                "property": [],
            }
        )

    def _who_am_i(self, request: _Request, auth: _Auth) -> _Response:
        if request.path != "/whoAmI/api/json":
            return _html(200, "Who Am I?", auth.user)
        anonymous = auth.kind == "anonymous"
        return _json_response(
            {
                "_class": "hudson.security.WhoAmI",
                "anonymous": anonymous,
                "authenticated": True,
                "authorities": [ANONYMOUS] if anonymous else ["authenticated"],
                "details": None,
                "name": auth.user,
                "toString": f"{'Anonymous' if anonymous else 'UsernamePassword'}"
                f"AuthenticationToken [Principal={auth.user}]",
            }
        )

    # -- JSON API

    def _api_json(self, request: _Request, item: _Item) -> _Response:
        tree_text = request.query.get("tree", [None])[0]
        try:
            depth = int(request.query.get("depth", ["0"])[0] or 0)
            tree = _TreeParser(tree_text).parse() if tree_text is not None else None
        except ValueError as exc:
            return _status_page(400, f"Malformed query: {exc}")
        return _json_response(_render(self._node(item), tree, 0, depth))

    def _node(self, item: _Item) -> _Node:
        if item.kind == "job":
            return self._job_node(item)
        url = self.url + item.path
        all_view = _Node(
            "hudson.model.AllView", (_Field("name", "all", 999), _Field("url", url, 999))
        )
        jobs = tuple(self._node(child) for child in item.sorted_children())
        if item.kind == "root":
            fields: tuple[_Field, ...] = (
                _Field("assignedLabels", [{"name": "built-in"}]),
                _Field("mode", "NORMAL"),
                _Field("nodeDescription", "the Jenkins controller's built-in node"),
                _Field("nodeName", ""),
                _Field("numExecutors", 2),
                _Field("description", None),
                _Field("jobs", jobs),
                _Field("overallLoad", {}),
                _Field("primaryView", all_view),
                _Field("quietDownReason", None),
                _Field("quietingDown", False),
                _Field("slaveAgentPort", -1),
                _Field("unlabeledLoad", {"_class": "jenkins.model.UnlabeledLoadStatistics"}),
                _Field("url", url),
                _Field("useCrumbs", True),
                _Field("useSecurity", True),
                _Field("views", (all_view,)),
            )
            return _Node("hudson.model.Hudson", fields)
        # A multibranch project exports what a folder does (AbstractFolder): its branch jobs
        # under "jobs", and no colour or builds of its own.
        return _Node(
            _CLASSES[item.kind],
            (
                *self._item_fields(item, url),
                _Field("healthReport", []),
                _Field("jobs", jobs),
                _Field("primaryView", all_view),
                _Field("views", (all_view,)),
            ),
        )

    def _item_fields(self, item: _Item, url: str) -> tuple[_Field, ...]:
        return (
            _Field("actions", []),
            _Field("description", _facts(item.config).description),
            _Field("displayName", item.name),
            _Field("displayNameOrNull", None),
            _Field("fullDisplayName", item.full_display_name),
            _Field("fullName", item.full_name),
            _Field("name", item.name, 999),
            _Field("url", url, 999),
        )

    def _run_ref(self, item: _Item, build: _Build) -> _Node:
        return _Node(
            WORKFLOW_RUN_CLASS,
            (
                _Field("number", build.number, 999),
                _Field("url", f"{self.url}{item.path}{build.number}/", 999),
            ),
        )

    def _job_node(self, item: _Item) -> _Node:
        facts = _facts(item.config)
        runs = tuple(self._run_ref(item, build) for build in reversed(item.builds))
        last = runs[0] if runs else None
        color = "disabled" if facts.disabled else ("blue" if runs else "notbuilt")
        return _Node(
            WORKFLOW_JOB_CLASS,
            (
                *self._item_fields(item, self.url + item.path),
                _Field("buildable", not facts.disabled),
                _Field("builds", runs),
                _Field("color", color, 2),
                _Field("firstBuild", runs[-1] if runs else None),
                _Field("healthReport", []),
                _Field("inQueue", False),
                _Field("keepDependencies", False),
                _Field("lastBuild", last),
                _Field("lastCompletedBuild", last),
                _Field("lastFailedBuild", None),
                _Field("lastStableBuild", last),
                _Field("lastSuccessfulBuild", last),
                _Field("lastUnstableBuild", None),
                _Field("lastUnsuccessfulBuild", None),
                _Field("nextBuildNumber", item.next_build_number),
                _Field("property", []),
                _Field("queueItem", None),
                _Field("concurrentBuild", True),
                _Field("resumeBlocked", False),
            ),
        )

    def _run_json(self, item: _Item, build: _Build) -> dict[str, JsonValue]:
        cause: dict[str, JsonValue] = (
            {
                "_class": "com.cloudbees.jenkins.GitHubPushCause",
                "shortDescription": "Started by GitHub push",
            }
            if build.cause == "webhook"
            else {
                "_class": "hudson.model.Cause$UserIdCause",
                "shortDescription": "Started by user",
            }
        )
        return {
            "_class": WORKFLOW_RUN_CLASS,
            "actions": [{"_class": "hudson.model.CauseAction", "causes": [cause]}],
            "building": False,
            "description": None,
            "displayName": f"#{build.number}",
            "duration": 0,
            "estimatedDuration": 0,
            "fullDisplayName": f"{item.full_display_name} #{build.number}",
            "id": str(build.number),
            "inProgress": False,
            "keepLog": False,
            "number": build.number,
            "queueId": build.queue_id,
            "result": "SUCCESS",
            "timestamp": build.timestamp_ms,
            "url": f"{self.url}{item.path}{build.number}/",
            "changeSets": [],
            "culprits": [],
        }

    def _build_json(self, item: _Item, which: str) -> _Response:
        if which == "lastBuild":
            build = item.builds[-1] if item.builds else None
        else:
            build = next((b for b in item.builds if b.number == int(which)), None)
        if build is None:
            return _not_found()
        return _json_response(self._run_json(item, build))

    def _queue_item(self, queue_id: int) -> _Response:
        entry = self._queue.get(queue_id)
        if entry is None:
            return _not_found()
        item, build = entry
        return _json_response(
            {
                "_class": "hudson.model.Queue$LeftItem",
                "actions": [],
                "blocked": False,
                "buildable": False,
                "id": queue_id,
                "inQueueSince": build.timestamp_ms,
                "params": "",
                "stuck": False,
                "task": {
                    "_class": WORKFLOW_JOB_CLASS,
                    "name": item.name,
                    "url": self.url + item.path,
                    "color": "blue",
                },
                "url": f"queue/item/{queue_id}/",
                "why": None,
                "cancelled": False,
                "executable": {
                    "_class": WORKFLOW_RUN_CLASS,
                    "number": build.number,
                    "url": f"{self.url}{item.path}{build.number}/",
                },
            }
        )

    # -- item changes

    def _create_item(self, request: _Request, parent: _Item) -> _Response:
        """``ItemGroupMixIn.createTopLevelItem``: XML body, ``mode=<class>`` or copy."""
        content_type = request.headers.get("content-type")
        mode = request.param("mode")
        name = (request.param("name") or "").strip()
        problem = _create_problem(request, parent, content_type, mode)
        if problem is not None:
            return problem
        if mode == "copy":
            return self._copy_item(request, parent, name)
        if content_type is not None and content_type.startswith(("application/xml", "text/xml")):
            try:
                config, kind = _checked_config(request.body.decode("utf-8"))
            except (UnicodeDecodeError, _BadConfigError) as exc:
                return _status_page(500, f"java.io.IOException: {exc}")
            self._add_child(parent, name, kind, config)
            return _Response(200)
        templates: dict[str | None, tuple[ItemKind, str]] = {
            FOLDER_CLASS: ("folder", _DEFAULT_FOLDER_CONFIG),
            WORKFLOW_JOB_CLASS: ("job", _DEFAULT_JOB_CONFIG),
        }
        if mode not in templates:
            return _failure(
                "No mode given" if mode is None else f"No item type \u2018{mode}\u2019 is known"
            )
        kind, template = templates[mode]
        child = self._add_child(parent, name, kind, _jenkins_rewrite(template))
        return _redirect(child.path + "configure")

    def _copy_item(self, request: _Request, parent: _Item, name: str) -> _Response:
        source_name = request.param("from") or ""
        try:
            source = (
                self._lookup(source_name)
                if source_name.startswith("/")
                else (parent.child(source_name) or self._lookup(source_name))
            )
        except KeyError:
            return _failure(f"No such job: {source_name}")
        if source.kind == "root":
            return _failure(f"No such job: {source_name}")
        child = self._add_child(parent, name, source.kind, source.config)
        return _redirect(child.path + "configure")

    def _add_child(self, parent: _Item, name: str, kind: ItemKind, config: str) -> _Item:
        child = _Item(name, kind, config, parent)
        parent.children[name.lower()] = child
        self._writes += 1
        return child

    def _update_config(self, request: _Request, item: _Item) -> _Response:
        try:
            config, kind = _checked_config(request.body.decode("utf-8"))
        except (UnicodeDecodeError, _BadConfigError) as exc:
            return _status_page(500, f"java.io.IOException: {exc}")
        if kind != item.kind:
            # AbstractItem.updateByXml: XStream makes a new object of the posted class, and an
            # item never changes its class (that takes deleting it and creating another).
            return _status_page(
                500,
                f"java.io.IOException: Expecting class {_CLASSES[item.kind]} but got class "
                f"{_CLASSES[kind]} instead",
            )
        item.config = config
        self._writes += 1
        return _Response(200)

    def _delete(self, item: _Item) -> _Response:
        parent = item.parent
        if parent is None:  # pragma: no cover - the root is never routed here
            return _not_found()
        del parent.children[item.name.lower()]
        self._writes += 1
        if item.kind == "multibranch":
            return _Response(200)  # observed on Jenkins 2.516.3 (pipeline jobs: 302)
        return _redirect(parent.path)

    def _build(self, item: _Item, *, parameters: bool) -> _Response:
        facts = _facts(item.config)
        if facts.disabled:
            return _status_page(409, f"java.io.IOException: {item.full_name} is not buildable")
        if parameters and not facts.parameterized:
            return _status_page(400, f"java.io.IOException: {item.full_name} is not parameterized")
        queue_id = self._record_build(item, "api")
        self._writes += 1
        return _Response(201, b"", None, [("Location", f"{self.url}/queue/item/{queue_id}/")])

    def _index(self, request: _Request, item: _Item) -> _Response:
        """``ComputedFolder.doBuild``: schedule a branch indexing and go back where the request
        came from (``forwardToPreviousPage``: the ``Referer``, else the project's page)."""
        if _facts(item.config).disabled:
            return _status_page(500, f"java.io.IOException: {item.full_name} cannot be recomputed")
        self._indexings.append((item.full_name, "api"))
        self._writes += 1
        return _redirect(request.headers.get("referer") or item.path)

    def _record_build(self, item: _Item, cause: str) -> int:
        facts = _facts(item.config)
        queue_id = self._next_queue_id
        self._next_queue_id += 1
        build = _Build(item.next_build_number, queue_id, cause, int(time.time() * 1000))
        item.next_build_number += 1
        item.builds.append(build)
        self._queue[queue_id] = (item, build)
        self._builds.append((item.full_name, cause))
        if facts.definition == "scm" and facts.remotes:
            # The build checked out the branch its SCM names: a later push of another branch
            # finds no change on the branches it builds.
            spec = facts.branch_specs[0] if len(facts.branch_specs) == 1 else None
            item.last_build_repository, item.last_build_branch = facts.remotes[0].url, spec
        elif facts.definition == "inline":
            url, branch = _inline_checkout(facts.script)
            if url is not None:
                item.last_build_repository, item.last_build_branch = url, branch
        return queue_id

    # -- pipeline-model-converter

    def _validate_json(self, request: _Request) -> _Response:
        """``doValidateJenkinsfile``, what python-jenkins' ``check_jenkinsfile_syntax`` calls."""
        jenkinsfile = request.param("jenkinsfile")
        if not jenkinsfile:
            return self._validation_failure(["No content found for 'jenkinsfile' parameter"])
        errors = _lint_jenkinsfile(jenkinsfile, self._tools)
        if errors:
            return self._validation_failure([error.message for error in errors])
        return _json_response({"status": "ok", "data": {"result": "success"}})

    def _validate_text(self, request: _Request) -> _Response:
        """``doValidate``: the plain-text answer the Jenkins handbook's curl example shows."""
        jenkinsfile = request.param("jenkinsfile")
        errors = [] if jenkinsfile is None else _lint_jenkinsfile(jenkinsfile, self._tools)
        if jenkinsfile is None:
            text = "No Jenkinsfile specified"
        elif not errors:
            text = "Jenkinsfile successfully validated."
        elif errors[0].line is None:
            text = errors[0].message
        else:
            lines = [f"WorkflowScript: {error.line}: {error.message}" for error in errors]
            text = "\n".join(["Errors encountered validating Jenkinsfile:", *lines])
        return _text(200, text)

    @staticmethod
    def _validation_failure(messages: list[str]) -> _Response:
        # net.sf.json's accumulate(): one message is a string, several become a list.
        error: JsonValue = messages[0] if len(messages) == 1 else list(messages)
        return _json_response(
            {"status": "ok", "data": {"result": "failure", "errors": [{"error": error}]}}
        )

    # -- GitHub webhook

    def _webhook(self, request: _Request) -> _Response:
        if request.method != "POST":
            return _status_page(405, "Method POST required")
        if "x-jenkins-validation" in request.headers:
            return _Response(200, b"", None, [("X-Instance-Identity", self._instance_session)])
        event = request.headers.get("x-github-event", "").strip().lower()
        if event not in _GITHUB_EVENTS:
            return _failure("Hook should contain event type")
        content_type = request.headers.get("content-type", "")
        payload: str | None = None
        if content_type.startswith("application/json"):
            payload = request.body.decode("utf-8", "replace")
        elif content_type.startswith("application/x-www-form-urlencoded"):
            payload = request.param("payload")
        if payload is None or not payload.strip():
            return _failure("Hook should contain payload")
        if event == "push" and self._on_push(payload):
            self._writes += 1
        return _Response(200)

    def _on_push(self, payload: str) -> bool:
        try:
            data = json.loads(payload)
        except ValueError:
            return False  # the plugin logs the error and still answers 200
        repository = data.get("repository") if isinstance(data, dict) else None
        if not isinstance(repository, dict):
            return False
        pushed = _event_repository(repository)
        indexed = [
            item
            for item in self._root.walk()
            if item.kind == "multibranch" and pushed is not None and _reaches(item, pushed)
        ]
        # A multibranch project processes the event (also a deleted branch: its job goes).
        self._indexings += [(item.full_name, "webhook") for item in indexed]
        if data.get("deleted") is True:
            return bool(indexed)
        identities = {
            identity
            for key in ("url", "clone_url", "html_url", "git_url", "ssh_url")
            if isinstance(repository.get(key), str)
            and (identity := _repo_identity(repository[key])) is not None
        }
        ref = data.get("ref")
        ref = ref if isinstance(ref, str) and ref else None
        matched = [
            item
            for item in self._root.walk()
            if item.kind == "job" and self._push_matches(item, identities, ref)
        ]
        for item in matched:
            self._record_build(item, "webhook")
        return bool(matched or indexed)

    @staticmethod
    def _push_matches(item: _Item, identities: set[tuple[str, str, str]], ref: str | None) -> bool:
        facts = _facts(item.config)
        if not facts.push_trigger or facts.disabled or not identities:
            return False
        if facts.definition == "scm":
            specs = facts.branch_specs or ("**",)
            for remote in facts.remotes:
                if _repo_identity(remote.url) in identities and (
                    ref is None or any(_branch_matches(s, ref, remote.name) for s in specs)
                ):
                    return True
        repository = item.last_build_repository
        if repository is None or _repo_identity(repository) not in identities:
            return False
        branch = item.last_build_branch
        return ref is None or branch is None or _branch_matches(branch, ref, "origin")


_REPOSITORY_NAME_RE = re.compile(r"https?://([^/]+)/([^/]+)/([^/]+)")


def _event_repository(repository: Mapping[str, object]) -> tuple[str, str, str] | None:
    """github-branch-source's view of a push payload's repository: the host of its
    ``html_url`` and the owner (``owner.login``, else ``owner.name``) and ``name`` fields;
    ``None`` when the plugin would drop the event (no such URL, owner or name)."""
    html_url = repository.get("html_url")
    owner = repository.get("owner")
    name = repository.get("name")
    if not isinstance(html_url, str) or not _REPOSITORY_NAME_RE.fullmatch(html_url):
        return None
    identity = _repo_identity(html_url)
    login = (owner.get("login") or owner.get("name")) if isinstance(owner, dict) else None
    if identity is None or not isinstance(login, str) or not isinstance(name, str):
        return None
    return identity[0], login, name


def _reaches(item: _Item, pushed: tuple[str, str, str]) -> bool:
    """Whether an event on repository ``pushed`` (host, owner, name) reaches multibranch
    project ``item``: an enabled project with a GitHub branch source on that host naming that
    owner and repository, both compared ignoring case (``isValidSource`` of the plugin)."""
    facts = _facts(item.config)
    host, owner, name = (part.casefold() for part in pushed)
    return not facts.disabled and any(
        source.host.casefold() == host
        and source.owner.casefold() == owner
        and source.repository.casefold() == name
        for source in facts.github_sources
    )


_PERMISSION_IDS = {
    "Overall/Read": "hudson.model.Hudson.Read",
    "Job/Create": "hudson.model.Item.Create",
    "Job/Configure": "hudson.model.Item.Configure",
    "Job/ExtendedRead": "hudson.model.Item.ExtendedRead",
    "Job/Delete": "hudson.model.Item.Delete",
    "Job/Build": "hudson.model.Item.Build",
}


def _implied(granted: frozenset[str]) -> frozenset[str]:
    """Granted permissions with those they imply (Job/Configure implies Job/ExtendedRead)."""
    return granted | ({"Job/ExtendedRead"} if "Job/Configure" in granted else set())


def _required_permission(method: str, item: _Item, rest: str) -> str | None:
    """The permission an item action checks (``None``: only Overall/Read)."""
    if method == "POST":
        return {
            "createItem": "Job/Create",
            "config.xml": "Job/Configure",
            "doDelete": "Job/Delete",
            "build": "Job/Build",
            "buildWithParameters": "Job/Build",
        }.get(rest)
    if rest == "config.xml" and item.kind != "root":
        return "Job/ExtendedRead"
    return None


_HTTP_STATUSES = range(100, 600)


def _is_write(path: str) -> bool:
    """Whether a POST to ``path`` changes an item: create, configure, delete or build."""
    return path.rstrip("/").rsplit("/", 1)[-1] in {"createItem", "config.xml", "doDelete", "build"}


def _check_fault(fault: Fault) -> None:
    if isinstance(fault, bool) or not (
        fault in ("drop", "timeout", "lost") or (isinstance(fault, int) and fault in _HTTP_STATUSES)
    ):
        raise ValueError(f"not a fault: {fault!r} (an HTTP status, 'drop', 'timeout' or 'lost')")
