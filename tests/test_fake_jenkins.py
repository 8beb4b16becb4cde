"""Tests for the Jenkins test server in ``tests/support/fake_jenkins.py``.

Everything goes through python-jenkins over real HTTP, except the webhook and the
raw status-code checks, which send plain HTTP requests (as GitHub or a script would).
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.client import HTTPConnection, HTTPMessage
from typing import Any
from urllib.parse import urlencode, urlsplit
from xml.sax.saxutils import escape

import jenkins
import pytest

from tests.support.fake_jenkins import (
    FOLDER_CLASS,
    MULTIBRANCH_CLASS,
    WORKFLOW_JOB_CLASS,
    FakeJenkins,
)

ADMIN_SECRET = secrets.token_hex(12)
ALICE_SECRET = secrets.token_hex(12)

# The job definition a real Jenkins 2.503 accepted and round-tripped (see
# /work/shared/reference/pipeline-job-scm.config.xml).
REFERENCE_CONFIG = "\n".join(
    [
        "<?xml version='1.1' encoding='UTF-8'?>",
        '<flow-definition plugin="workflow-job">',
        "  <description>demo job</description>",
        "  <properties>",
        "    <org.jenkinsci.plugins.workflow.job.properties.PipelineTriggersJobProperty>",
        (
            '      <triggers><com.cloudbees.jenkins.GitHubPushTrigger plugin="github"><spec>'
            "</spec></com.cloudbees.jenkins.GitHubPushTrigger></triggers>"
        ),
        "    </org.jenkinsci.plugins.workflow.job.properties.PipelineTriggersJobProperty>",
        "  </properties>",
        (
            '  <definition class="org.jenkinsci.plugins.workflow.cps.CpsScmFlowDefinition"'
            ' plugin="workflow-cps">'
        ),
        '    <scm class="hudson.plugins.git.GitSCM" plugin="git">',
        "      <configVersion>2</configVersion>",
        (
            "      <userRemoteConfigs><hudson.plugins.git.UserRemoteConfig>"
            "<url>https://github.com/acme/demo.git</url>"
            "</hudson.plugins.git.UserRemoteConfig></userRemoteConfigs>"
        ),
        (
            "      <branches><hudson.plugins.git.BranchSpec><name>*/develop</name>"
            "</hudson.plugins.git.BranchSpec></branches>"
        ),
        "    </scm>",
        "    <scriptPath>generated/demo/backend/Jenkinsfile</scriptPath>",
        "    <lightweight>true</lightweight>",
        "  </definition>",
        "  <disabled>false</disabled>",
        "</flow-definition>",
        "",
    ]
)

TRIGGER = (
    "<org.jenkinsci.plugins.workflow.job.properties.PipelineTriggersJobProperty><triggers>"
    '<com.cloudbees.jenkins.GitHubPushTrigger plugin="github"><spec></spec>'
    "</com.cloudbees.jenkins.GitHubPushTrigger></triggers>"
    "</org.jenkinsci.plugins.workflow.job.properties.PipelineTriggersJobProperty>"
)

VALID_JENKINSFILE = """// generated
pipeline {
  agent any
  stages {
    stage('build') { steps { echo 'hi' } }
  }
}
"""


def scm_job(
    url: str = "https://github.com/acme/demo.git",
    branch: str = "*/develop",
    *,
    trigger: bool = True,
    disabled: bool = False,
    description: str | None = "demo job",
) -> str:
    described = "" if description is None else f"<description>{escape(description)}</description>"
    return f"""<?xml version='1.1' encoding='UTF-8'?>
<flow-definition plugin="workflow-job">
  {described}
  <properties>{TRIGGER if trigger else ""}</properties>
  <definition class="org.jenkinsci.plugins.workflow.cps.CpsScmFlowDefinition" plugin="workflow-cps">
    <scm class="hudson.plugins.git.GitSCM" plugin="git">
      <configVersion>2</configVersion>
      <userRemoteConfigs><hudson.plugins.git.UserRemoteConfig>
        <url>{escape(url)}</url>
      </hudson.plugins.git.UserRemoteConfig></userRemoteConfigs>
      <branches><hudson.plugins.git.BranchSpec>
        <name>{escape(branch)}</name>
      </hudson.plugins.git.BranchSpec></branches>
    </scm>
    <scriptPath>Jenkinsfile</scriptPath>
    <lightweight>true</lightweight>
  </definition>
  <disabled>{"true" if disabled else "false"}</disabled>
</flow-definition>
"""


def inline_job(script: str, *, trigger: bool = True) -> str:
    return f"""<?xml version='1.1' encoding='UTF-8'?>
<flow-definition plugin="workflow-job">
  <properties>{TRIGGER if trigger else ""}</properties>
  <definition class="org.jenkinsci.plugins.workflow.cps.CpsFlowDefinition" plugin="workflow-cps">
    <script>{escape(script)}</script>
    <sandbox>true</sandbox>
  </definition>
  <disabled>false</disabled>
</flow-definition>
"""


def multibranch_job(
    owner: str = "acme",
    repository: str = "demo",
    *,
    api_uri: str | None = "https://api.github.com",
    source_class: str = "org.jenkinsci.plugins.github_branch_source.GitHubSCMSource",
    disabled: bool = False,
    description: str = "demo multibranch",
) -> str:
    """A multibranch project config of the shape a real Jenkins 2.516.3 accepted and
    round-tripped (see /work/shared/reference/real-jenkins-2.516.md): a GitHub branch source
    with owner, repository, URL and discovery traits, and a Jenkinsfile path."""
    api = "" if api_uri is None else f"<apiUri>{escape(api_uri)}</apiUri>"
    traits = "org.jenkinsci.plugins.github__branch__source"
    return f"""<?xml version='1.1' encoding='UTF-8'?>
<{MULTIBRANCH_CLASS} plugin="workflow-multibranch">
  <actions/>
  <description>{escape(description)}</description>
  <properties/>
  <disabled>{"true" if disabled else "false"}</disabled>
  <sources class="jenkins.branch.MultiBranchProject$BranchSourceList">
    <data>
      <jenkins.branch.BranchSource>
        <source class="{source_class}">
          <id>demo-source</id>
          {api}
          <repoOwner>{escape(owner)}</repoOwner>
          <repository>{escape(repository)}</repository>
          <repositoryUrl>https://github.com/{escape(owner)}/{escape(repository)}</repositoryUrl>
          <traits>
            <{traits}.BranchDiscoveryTrait><strategyId>1</strategyId></{traits}.BranchDiscoveryTrait>
            <{traits}.OriginPullRequestDiscoveryTrait><strategyId>1</strategyId></{traits}.OriginPullRequestDiscoveryTrait>
          </traits>
        </source>
        <strategy class="jenkins.branch.DefaultBranchPropertyStrategy">
          <properties class="empty-list"></properties>
        </strategy>
      </jenkins.branch.BranchSource>
    </data>
  </sources>
  <factory class="org.jenkinsci.plugins.workflow.multibranch.WorkflowBranchProjectFactory">
    <scriptPath>generated/demo/api/Jenkinsfile</scriptPath>
  </factory>
</{MULTIBRANCH_CLASS}>
"""


# --------------------------------------------------------------------------- helpers


@dataclass(frozen=True)
class Answer:
    status: int
    headers: HTTPMessage
    body: bytes


def basic(user: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()


def http(
    method: str,
    url: str,
    *,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    auth: tuple[str, str] | None = None,
) -> Answer:
    """One raw request (redirects are not followed)."""
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    all_headers = dict(headers or {})
    if auth is not None:
        all_headers["Authorization"] = basic(*auth)
    connection = HTTPConnection(parts.netloc, timeout=5)
    try:
        connection.request(method, target, body=body, headers=all_headers)
        response = connection.getresponse()
        return Answer(response.status, response.headers, response.read())
    finally:
        connection.close()


def client(
    server: FakeJenkins, user: str = "admin", secret: str = ADMIN_SECRET, timeout: float = 5
) -> Any:
    """A python-jenkins client for ``server`` (``jenkins.Jenkins``, untyped)."""
    return jenkins.Jenkins(server.url, username=user, password=secret, timeout=timeout)


def push(
    server: FakeJenkins, repository: dict[str, str], ref: str = "refs/heads/develop"
) -> Answer:
    payload = {"ref": ref, "repository": repository, "pusher": {"name": "octocat"}}
    return http(
        "POST",
        server.url + "/github-webhook/",
        body=json.dumps(payload).encode(),
        headers={"X-GitHub-Event": "push", "Content-Type": "application/json"},
    )


@pytest.fixture
def server() -> Iterator[FakeJenkins]:
    with FakeJenkins(users={"admin": ADMIN_SECRET}, passwords={"alice": ALICE_SECRET}) as srv:
        yield srv


# --------------------------------------------------------------------------- auth and crumbs


def test_every_response_names_jenkins(server: FakeJenkins) -> None:
    for answer in (
        http("GET", server.url + "/api/json", auth=("admin", ADMIN_SECRET)),
        http("GET", server.url + "/job/nope/api/json", auth=("admin", ADMIN_SECRET)),
        http("GET", server.url + "/api/json"),
        http("GET", server.url + "/api/json", auth=("admin", "wrong")),
    ):
        assert answer.headers["X-Jenkins"] == "2.503"
        assert answer.headers["X-Hudson"] == "1.395"


def test_crumb_issuer(server: FakeJenkins) -> None:
    answer = client(server).get_info(item="crumbIssuer")
    assert answer["_class"] == "hudson.security.csrf.DefaultCrumbIssuer"
    assert answer["crumbRequestField"] == "Jenkins-Crumb"
    assert len(answer["crumb"]) == 64


def test_whoami_then_version(server: FakeJenkins) -> None:
    anonymous_first = client(server)
    with pytest.raises(jenkins.BadHTTPException):
        anonymous_first.get_version()  # python-jenkins sends no credentials yet: 403
    assert server.requests == [("GET", "/")]

    j = client(server)
    assert j.get_whoami()["id"] == "admin"
    assert j.get_version() == "2.503"
    assert j.get_info(item="whoAmI")["name"] == "admin"
    assert ("GET", "/me/api/json?depth=0") in server.requests


def test_wrong_token_gets_401(server: FakeJenkins) -> None:
    wrong = secrets.token_hex(8)
    with pytest.raises(jenkins.JenkinsException, match=r"\[401\]"):
        client(server, "admin", wrong).get_whoami()
    answer = http("GET", server.url + "/api/json", auth=("admin", wrong))
    assert answer.status == 401
    assert answer.headers["WWW-Authenticate"] == 'Basic realm="Jenkins"'


def test_anonymous_read_is_forbidden(server: FakeJenkins) -> None:
    with pytest.raises(jenkins.JenkinsException, match=r"\[403\]"):
        jenkins.Jenkins(server.url, timeout=5).get_info()
    assert http("GET", server.url + "/job/x/api/json").status == 403


def test_token_post_needs_no_crumb_password_post_does(server: FakeJenkins) -> None:
    url = server.url + "/createItem?name=F&mode=com.cloudbees.hudson.plugins.folder.Folder"
    form = {"Content-Type": "application/x-www-form-urlencoded"}

    refused = http("POST", url, body=b"", headers=form, auth=("alice", ALICE_SECRET))
    assert refused.status == 403
    assert b"No valid crumb was included in the request" in refused.body
    assert server.writes == 0

    accepted = http("POST", url, body=b"", headers=form, auth=("admin", ADMIN_SECRET))
    assert accepted.status == 302
    assert accepted.headers["Location"] == "/job/F/configure"
    assert server.folder_names() == ["F"]


def test_crumb_only_counts_with_its_session_cookie(server: FakeJenkins) -> None:
    issued = http("GET", server.url + "/crumbIssuer/api/json", auth=("alice", ALICE_SECRET))
    crumb = json.loads(issued.body)["crumb"]
    cookie = issued.headers["Set-Cookie"].split(";")[0]
    url = server.url + "/createItem?name=F&mode=com.cloudbees.hudson.plugins.folder.Folder"
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Jenkins-Crumb": crumb}

    without_cookie = http("POST", url, body=b"", headers=headers, auth=("alice", ALICE_SECRET))
    assert without_cookie.status == 403

    headers["Cookie"] = cookie
    with_cookie = http("POST", url, body=b"", headers=headers, auth=("alice", ALICE_SECRET))
    assert with_cookie.status == 302


def test_expired_crumbs_fail_password_clients(server: FakeJenkins) -> None:
    j = client(server, "alice", ALICE_SECRET)
    j.create_folder("A")
    server.expire_crumbs()
    with pytest.raises(jenkins.JenkinsException, match=r"\[403\]"):
        j.create_folder("B")  # python-jenkins keeps sending the crumb it fetched first
    assert j.get_job_name("A") == "A"  # reads need no crumb
    assert server.folder_names() == ["A"]


def test_expired_crumbs_and_token_clients() -> None:
    users = {"admin": ADMIN_SECRET}
    with FakeJenkins(users=users) as lenient:  # Jenkins: API-token requests skip the check
        j = client(lenient)
        j.create_folder("A")
        lenient.expire_crumbs()
        j.create_folder("B")
        assert lenient.folder_names() == ["A", "B"]
    with FakeJenkins(users=users, token_crumb_check=True) as strict:
        j = client(strict)
        j.create_folder("A")
        strict.expire_crumbs()
        with pytest.raises(jenkins.JenkinsException, match=r"\[403\]"):
            j.create_folder("B")
        assert strict.folder_names() == ["A"]


def test_revoked_token_gets_401(server: FakeJenkins) -> None:
    j = client(server)
    j.get_whoami()
    server.revoke_token("admin")
    with pytest.raises(jenkins.JenkinsException, match=r"\[401\]"):
        j.get_whoami()


# --------------------------------------------------------------------------- items


def test_folder_and_job_lifecycle(server: FakeJenkins) -> None:
    j = client(server)
    j.create_folder("F")
    j.create_job("F/J", REFERENCE_CONFIG)
    assert j.job_exists("F/J") is True
    assert j.job_exists("F/missing") is None
    assert server.job_names() == ["F/J"]
    assert server.writes == 2

    with pytest.raises(jenkins.JenkinsException, match="already exists"):
        j.create_job("F/J", REFERENCE_CONFIG)
    with pytest.raises(jenkins.JenkinsException, match="Probably it already exists"):
        j.create_folder("F")
    with pytest.raises(jenkins.JenkinsException, match="folder for the job does not exist"):
        j.create_job("Missing/J", REFERENCE_CONFIG)
    with pytest.raises(jenkins.JenkinsException, match=r"\[500\]"):
        j.create_job("F/broken", "<flow-definition><description>")
    with pytest.raises(jenkins.JenkinsException, match=r"\[500\]"):
        j.create_job("F/freestyle", "<project><builders/></project>")
    assert server.job_names() == ["F/J"]
    assert server.writes == 2


def test_create_item_status_codes(server: FakeJenkins) -> None:
    server.put_folder("F")
    admin = ("admin", ADMIN_SECRET)
    xml = {"Content-Type": "text/xml; charset=utf-8"}
    body = REFERENCE_CONFIG.encode()

    def create(path: str, config: bytes = body) -> Answer:
        return http("POST", server.url + path, body=config, headers=xml, auth=admin)

    created = create("/job/F/createItem?name=J")
    assert (created.status, created.body) == (200, b"")
    assert create("/job/F/createItem?name=J").status == 400  # exists
    assert create("/job/G/createItem?name=J").status == 404  # no folder G
    assert create("/job/F/createItem?name=K", b"<a>").status == 500  # malformed
    assert create("/job/F/createItem?name=K", b"<project/>").status == 500  # unknown type
    assert create("/job/F/createItem?name=a%2Fb").status == 400  # unsafe character
    assert http("GET", server.url + "/job/F/createItem?name=K", auth=admin).status == 405
    assert server.job_names() == ["F/J"]


def test_copy_job(server: FakeJenkins) -> None:
    server.put_job("F/J", scm_job(description="original"))
    j = client(server)
    j.copy_job("F/J", "F/K")
    assert server.job_names() == ["F/J", "F/K"]
    assert server.job_config("F/K") == server.job_config("F/J")


def test_nested_folder_redirects_to_configure(server: FakeJenkins) -> None:
    server.put_folder("A")
    answer = http(
        "POST",
        server.url + "/job/A/createItem?name=B",
        body=urlencode({"name": "A/B", "mode": FOLDER_CLASS}).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        auth=("admin", ADMIN_SECRET),
    )
    assert answer.status == 302
    assert answer.headers["Location"] == "/job/A/job/B/configure"
    assert server.folder_names() == ["A", "A/B"]


def test_config_xml_is_returned_as_jenkins_rewrites_it(server: FakeJenkins) -> None:
    server.put_folder("F")
    j = client(server)
    j.create_job("F/J", REFERENCE_CONFIG)
    config = j.get_job_config("F/J")
    expected = '<?xml version="1.1" encoding="UTF-8"?>' + REFERENCE_CONFIG.split("\n", 1)[1].rstrip(
        "\n"
    ).replace("<spec></spec>", "<spec/>")
    assert config == expected
    assert config.startswith('<?xml version="1.1" encoding="UTF-8"?><flow-definition')
    assert server.job_config("F/J") == config

    commented = REFERENCE_CONFIG.replace(
        "<disabled>", "<!-- keep <x></x> --><empty  a='1' ></empty><disabled>"
    )
    j.reconfig_job("F/J", commented)
    assert "<!-- keep <x></x> --><empty  a='1'/><disabled>" in j.get_job_config("F/J")


def test_reconfig_job_always_writes(server: FakeJenkins) -> None:
    server.put_job("F/J", scm_job(description="old"))
    j = client(server)
    j.reconfig_job("F/J", scm_job(description="new & shiny"))
    assert j.get_job_info("F/J")["description"] == "new & shiny"
    j.reconfig_job("F/J", scm_job(description="new & shiny"))
    assert server.writes == 2
    with pytest.raises(jenkins.JenkinsException, match=r"\[500\]"):
        j.reconfig_job("F/J", "<flow-definition>")


def test_delete_job_redirects_to_parent(server: FakeJenkins) -> None:
    server.put_job("F/J", scm_job())
    server.put_job("F/K", scm_job())
    j = client(server)
    j.delete_job("F/J")
    assert j.job_exists("F/J") is None
    assert ("GET", "/job/F/") in server.requests  # requests follows the 302

    answer = http("POST", server.url + "/job/F/job/K/doDelete", auth=("admin", ADMIN_SECRET))
    assert (answer.status, answer.headers["Location"]) == (302, "/job/F/")
    assert server.job_names() == []
    missing = http("GET", server.url + "/job/missing/api/json", auth=("admin", ADMIN_SECRET))
    assert missing.status == 404


def test_get_all_jobs_lists_nested_jobs(server: FakeJenkins) -> None:
    server.put_job("top", scm_job(description=None))
    server.put_job("A/one", scm_job(description="first"))
    server.put_job("A/B/two", scm_job(description=""))
    server.put_job("A/B/C/three", scm_job(description="x < y"))
    j = client(server)

    everything = {job["fullname"]: job for job in j.get_all_jobs()}
    assert sorted(everything) == ["A", "A/B", "A/B/C", "A/B/C/three", "A/B/two", "A/one", "top"]
    assert everything["A/one"]["_class"] == "org.jenkinsci.plugins.workflow.job.WorkflowJob"
    assert everything["A/one"]["color"] == "notbuilt"
    assert "color" not in everything["A"]  # folders have no colour
    assert everything["A/one"]["url"] == server.url + "/job/A/job/one/"

    assert sorted(job["fullname"] for job in j.get_all_jobs(folder_depth=0)) == ["A", "top"]
    one_level = sorted(job["fullname"] for job in j.get_all_jobs(folder_depth=1))
    assert one_level == ["A", "A/B", "A/one", "top"]

    # One folder level per request: Jenkins answers the deepest level with bare
    # {"_class": ...} objects and python-jenkins fetches the folders one by one.
    requests_before = server.request_count
    paged = sorted(job["fullname"] for job in j.get_all_jobs(folder_depth_per_request=1))
    assert paged == sorted(everything)
    assert server.request_count - requests_before == 4

    query = "?tree=jobs[fullName,description,jobs[fullName,description,jobs[fullName,description]]]"
    tree = j.get_info(query=query)
    folder_a = next(job for job in tree["jobs"] if job["fullName"] == "A")
    descriptions = {job["fullName"]: job["description"] for job in folder_a["jobs"]}
    assert descriptions == {"A/B": None, "A/one": "first"}
    folder_b = next(job for job in folder_a["jobs"] if job["fullName"] == "A/B")
    assert {job["fullName"]: job["description"] for job in folder_b["jobs"]} == {
        "A/B/C": None,
        "A/B/two": "",
    }
    assert j.get_job_info("A/B/C/three")["description"] == "x < y"
    assert j.get_job_info("top")["description"] is None


def test_depth_and_tree_ranges(server: FakeJenkins) -> None:
    server.put_job("a", scm_job())
    server.put_job("b", scm_job())
    j = client(server)
    shallow = j.get_info()["jobs"][0]
    assert set(shallow) == {"_class", "name", "url", "color"}
    deep = j.get_info(query="?depth=1")["jobs"][0]
    assert {"description", "fullName", "builds", "color"} <= set(deep)
    assert j.get_info(query="?tree=jobs[name]{1,}")["jobs"] == [
        {"_class": "org.jenkinsci.plugins.workflow.job.WorkflowJob", "name": "b"}
    ]


def test_item_names_are_case_insensitive(server: FakeJenkins) -> None:
    server.put_job("Team/Job", scm_job())
    j = client(server)
    assert j.get_job_info("team/job")["fullName"] == "Team/Job"
    with pytest.raises(jenkins.JenkinsException, match="unexpected job name"):
        j.job_exists("team/job")  # python-jenkins compares the name it got back


def test_build_job_and_queue_item(server: FakeJenkins) -> None:
    server.put_job("F/J", scm_job())
    server.put_job("F/off", scm_job(disabled=True))
    j = client(server)
    queue_id = j.build_job("F/J")
    assert j.get_queue_item(queue_id)["executable"]["number"] == 1
    assert j.build_job("F/J") == queue_id + 1
    info = j.get_job_info("F/J")
    assert (info["lastBuild"]["number"], info["nextBuildNumber"], info["color"]) == (2, 3, "blue")
    assert j.get_build_info("F/J", 2)["result"] == "SUCCESS"
    with pytest.raises(OSError, match="409"):
        j.build_job("F/off")  # python-jenkins lets requests' HTTPError through
    with pytest.raises(OSError, match="400"):
        j.build_job("F/J", parameters={"A": "1"})  # buildWithParameters, no parameters
    assert server.builds == [("F/J", "api"), ("F/J", "api")]
    assert server.last_build_repository("F/J") == "https://github.com/acme/demo.git"
    assert server.triggered == []


def test_jenkinsfile_validation() -> None:
    tools = {"maven": ["maven-3.9"], "jdk": ["temurin-21"]}
    with FakeJenkins(users={"admin": ADMIN_SECRET}, tool_installations=tools) as server:
        j = client(server)
        assert j.check_jenkinsfile_syntax(VALID_JENKINSFILE) == []
        with_tools = VALID_JENKINSFILE.replace(
            "agent any", "agent any\n  tools { maven 'maven-3.9' }"
        )
        assert j.check_jenkinsfile_syntax(with_tools) == []
        wrong_tool = with_tools.replace("maven-3.9", "maven-3.8")
        assert j.check_jenkinsfile_syntax(wrong_tool) == [
            {
                "error": 'Tool type "maven" does not have an install of "maven-3.8" configured'
                ' - did you mean "maven-3.9"? @ line 4, column 17.'
            }
        ]
        unbalanced = j.check_jenkinsfile_syntax(VALID_JENKINSFILE.rstrip().rstrip("}"))
        assert unbalanced == [{"error": "expecting '}', found '' @ line 7, column 1."}]
        no_sections = j.check_jenkinsfile_syntax("pipeline {\n}\n")
        assert no_sections == [
            {
                "error": [
                    'Missing required section "stages" @ line 1, column 1.',
                    'Missing required section "agent" @ line 1, column 1.',
                ]
            }
        ]
        assert "did not contain the 'pipeline' step" in str(j.check_jenkinsfile_syntax("node {}"))

        text = http(
            "POST",
            server.url + "/pipeline-model-converter/validate",
            body=urlencode({"jenkinsfile": VALID_JENKINSFILE}).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            auth=("admin", ADMIN_SECRET),
        )
        assert (text.status, text.body) == (200, b"Jenkinsfile successfully validated.")
        assert server.writes == 0


# --------------------------------------------------------------------------- fault switches


def test_latency(server: FakeJenkins) -> None:
    j = client(server)
    j.get_whoami()
    server.latency = 0.1
    started = time.monotonic()
    j.get_whoami()
    assert time.monotonic() - started >= 0.1
    server.latency = 0


def test_fail_next(server: FakeJenkins) -> None:
    j = client(server)
    j.get_whoami()
    server.fail_next(2)
    for _ in range(2):
        with pytest.raises(jenkins.JenkinsException, match=r"\[500\]"):
            j.get_info()
    assert j.get_info()["useCrumbs"] is True
    server.fail_next(1, status=503)
    with pytest.raises(jenkins.BadHTTPException):
        j.get_info()  # python-jenkins turns the requests HTTPError into BadHTTPException


def test_drop_next(server: FakeJenkins) -> None:
    j = client(server)
    j.get_whoami()
    server.drop_next(1)
    with pytest.raises(OSError, match="Connection aborted"):
        j.get_info()  # requests' ConnectionError is not wrapped by python-jenkins
    assert j.get_info()["mode"] == "NORMAL"


def test_fail_at_timeout(server: FakeJenkins) -> None:
    server.hang_seconds = 2
    j = client(server, timeout=0.2)
    j.get_whoami()
    server.fail_at(server.request_count, "timeout")
    server.fail_at(server.request_count + 1, 502)
    with pytest.raises(jenkins.TimeoutException):
        j.get_info()
    with pytest.raises(jenkins.BadHTTPException):
        j.get_info()
    assert j.get_info()["mode"] == "NORMAL"


def scenario(server: FakeJenkins) -> None:
    j = client(server)
    j.create_folder("F")
    j.create_job("F/J", scm_job())
    j.reconfig_job("F/J", scm_job(description="changed"))


@pytest.mark.parametrize("fault", [500, "drop"])
def test_fault_at_every_request_position(fault: int | str) -> None:
    users = {"admin": ADMIN_SECRET}
    with FakeJenkins(users=users) as clean:
        scenario(clean)
        steps = clean.request_count
        full_writes = clean.writes
    assert [method for method, _ in clean.requests] == [
        "GET",  # crumbIssuer/api/json, fetched once before the first request
        "POST",  # createItem?name=F (form: name, mode)
        "GET",  # job/F/configure: requests follows the 302
        "GET",  # job/F/job/J/api/json?tree=name (job_exists)
        "POST",  # job/F/createItem?name=J
        "GET",  # job/F/job/J/api/json?tree=name (assert_job_exists)
        "POST",  # job/F/job/J/config.xml
    ]
    assert full_writes == 3
    for index in range(steps):
        with FakeJenkins(users=users) as server:
            server.fail_at(index, 500 if fault == 500 else "drop")
            with pytest.raises((jenkins.JenkinsException, OSError)):
                scenario(server)
            assert server.writes < full_writes
            assert server.request_count == index + 1


def test_read_only_calls_write_nothing(server: FakeJenkins) -> None:
    server.put_job("F/J", scm_job())
    j = client(server)
    j.get_whoami()
    j.get_all_jobs()
    j.get_job_config("F/J")
    j.job_exists("F/J")
    j.get_job_info("F/J")
    j.check_jenkinsfile_syntax(VALID_JENKINSFILE)
    assert server.writes == 0
    assert len(server.requests) == server.request_count > 0


# --------------------------------------------------------------------------- GitHub webhook


@pytest.fixture
def webhook_server(server: FakeJenkins) -> FakeJenkins:
    demo = "https://github.com/acme/demo.git"
    server.put_job("team/demo-develop", scm_job(demo, "*/develop"))
    server.put_job("team/demo-plain", scm_job(demo, "develop"))
    server.put_job("team/demo-refs", scm_job(demo, "refs/heads/develop"))
    server.put_job("team/demo-any", scm_job(demo, "**"))
    server.put_job("team/demo-main", scm_job(demo, "*/main"))
    server.put_job("team/other", scm_job("https://github.com/acme/other.git", "*/develop"))
    server.put_job("team/no-trigger", scm_job(demo, "*/develop", trigger=False))
    server.put_job("team/disabled", scm_job(demo, "*/develop", disabled=True))
    checkout = f"node {{ git url: '{demo}', branch: 'develop' }}"
    server.put_job("inline/never-built", inline_job(checkout))
    server.put_job("inline/built", inline_job(checkout))
    server.put_job("inline/seeded", inline_job("node { checkout scm }"))
    server.set_last_build_repository("inline/seeded", "git@github.com:acme/demo.git")
    server.put_job("inline/other", inline_job("node { checkout scm }"))
    server.set_last_build_repository("inline/other", "https://github.com/acme/other")
    client(server).build_job("inline/built")  # records the repository of its checkout
    return server


PUSHED_TO_DEVELOP = [
    "inline/built",
    "inline/seeded",
    "team/demo-any",
    "team/demo-develop",
    "team/demo-plain",
    "team/demo-refs",
]


@pytest.mark.parametrize(
    "repository",
    [
        {"clone_url": "https://github.com/acme/demo.git"},
        {"html_url": "https://GitHub.com/acme/demo"},
        {"ssh_url": "git@github.com:acme/demo.git"},
        {"git_url": "git://github.com/acme/demo.git"},
        {
            "clone_url": "https://github.com/acme/fork.git",
            "html_url": "http://github.com/acme/demo/",
        },
    ],
)
def test_push_triggers_the_matching_jobs(
    webhook_server: FakeJenkins, repository: dict[str, str]
) -> None:
    writes = webhook_server.writes
    answer = push(webhook_server, repository)
    assert (answer.status, answer.body) == (200, b"")
    assert sorted(webhook_server.triggered) == PUSHED_TO_DEVELOP
    assert webhook_server.writes == writes + 1
    assert webhook_server.build_numbers("team/demo-develop") == [1]
    assert webhook_server.build_numbers("inline/built") == [1, 2]


def test_push_to_another_branch_or_repository(webhook_server: FakeJenkins) -> None:
    push(webhook_server, {"clone_url": "https://github.com/acme/demo.git"}, "refs/heads/feature/x")
    assert sorted(webhook_server.triggered) == ["inline/seeded", "team/demo-any"]
    push(webhook_server, {"clone_url": "https://github.com/acme/nothing.git"})
    push(webhook_server, {"clone_url": "https://gitlab.example.com/acme/demo.git"})
    assert sorted(webhook_server.triggered) == ["inline/seeded", "team/demo-any"]


def test_push_triggers_jobs_on_any_host(server: FakeJenkins) -> None:
    server.put_job("ghe", scm_job("https://ghe.example.com/acme/demo.git", "*/main"))
    push(server, {"ssh_url": "git@GHE.example.com:acme/demo.git"}, "refs/heads/main")
    assert server.triggered == ["ghe"]


def test_webhook_protocol(server: FakeJenkins) -> None:
    url = server.url + "/github-webhook/"
    json_type = {"Content-Type": "application/json"}
    ping = http("POST", url, body=b'{"zen": "hi"}', headers={"X-GitHub-Event": "ping", **json_type})
    assert (ping.status, ping.body) == (200, b"")
    no_event = http("POST", url, body=b"{}", headers=json_type)
    assert no_event.status == 400
    assert b"Hook should contain event type" in no_event.body
    no_payload = http("POST", url, body=b"", headers={"X-GitHub-Event": "push", **json_type})
    assert no_payload.status == 400
    assert b"Hook should contain payload" in no_payload.body
    assert http("GET", url).status == 405
    # Without the trailing slash the POST misses the plugin's crumb exclusion.
    assert http("POST", server.url + "/github-webhook", body=b"{}", headers=json_type).status == 403


def test_webhook_accepts_form_payloads(server: FakeJenkins) -> None:
    server.put_job("J", scm_job())
    payload = {"ref": "refs/heads/develop", "repository": {"url": "https://github.com/acme/demo"}}
    answer = http(
        "POST",
        server.url + "/github-webhook/",
        body=urlencode({"payload": json.dumps(payload)}).encode(),
        headers={"X-GitHub-Event": "push", "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status == 200
    assert server.triggered == ["J"]


# --------------------------------------------------------------------------- multibranch projects

ADMIN = ("admin", ADMIN_SECRET)
XML = {"Content-Type": "text/xml; charset=utf-8"}


def test_multibranch_project_is_created_listed_and_round_tripped(server: FakeJenkins) -> None:
    server.put_folder("F")
    config = multibranch_job(description="api <multibranch>")
    created = http(
        "POST",
        server.url + "/job/F/createItem?name=api",
        body=config.encode(),
        headers=XML,
        auth=ADMIN,
    )
    assert (created.status, created.body) == (200, b"")
    assert server.item_class("F/api") == MULTIBRANCH_CLASS
    assert server.job_names() == ["F/api"]
    assert server.folder_names() == ["F"]

    # As posted, with Jenkins' XML 1.1 declaration and its empty elements collapsed.
    served = client(server).get_job_config("F/api")
    body = config.split("\n", 1)[1].rstrip("\n")
    expected = '<?xml version="1.1" encoding="UTF-8"?>' + body.replace(
        '<properties class="empty-list"></properties>', '<properties class="empty-list"/>'
    )
    assert served == expected

    fields = "name,_class,description,color,lastBuild[number],builds[number],jobs[name]"
    tree = f"jobs[name,jobs[{fields}]]"
    listed = json.loads(http("GET", server.url + f"/api/json?tree={tree}", auth=ADMIN).body)[
        "jobs"
    ][0]["jobs"]
    assert listed == [
        {
            "_class": MULTIBRANCH_CLASS,
            "name": "api",
            "description": "api <multibranch>",
            "jobs": [],  # no GitHub here: no branch jobs are discovered
        }
    ]
    deep = client(server).get_info(query="?depth=2")["jobs"][0]["jobs"][0]
    assert deep["_class"] == MULTIBRANCH_CLASS
    assert deep["jobs"] == []
    assert not {"color", "builds", "lastBuild", "nextBuildNumber"} & set(deep)
    assert {job["fullname"] for job in client(server).get_all_jobs()} == {"F", "F/api"}

    updated = http(
        "POST",
        server.url + "/job/F/job/api/config.xml",
        body=multibranch_job(description="changed").encode(),
        headers=XML,
        auth=ADMIN,
    )
    assert (updated.status, updated.body) == (200, b"")
    assert client(server).get_job_info("F/api")["description"] == "changed"


def test_multibranch_project_delete_answers_200(server: FakeJenkins) -> None:
    server.put_job("F/api", multibranch_job())
    server.put_job("F/pipeline", scm_job())
    writes = server.writes
    deleted = http("POST", server.url + "/job/F/job/api/doDelete", auth=ADMIN)
    # Jenkins 2.516.3: 200 for a multibranch project (a pipeline job's delete redirects).
    assert (deleted.status, deleted.body, deleted.headers["Location"]) == (200, b"", None)
    assert server.job_names() == ["F/pipeline"]
    assert server.writes == writes + 1
    assert http("GET", server.url + "/job/F/job/api/api/json", auth=ADMIN).status == 404
    assert http("POST", server.url + "/job/F/job/pipeline/doDelete", auth=ADMIN).status == 302


def test_config_xml_never_changes_an_items_class(server: FakeJenkins) -> None:
    server.put_job("F/api", multibranch_job())
    server.put_job("F/pipeline", scm_job())
    before = {name: server.job_config(name) for name in ("F/api", "F/pipeline")}
    writes = server.writes

    def post(path: str, config: str) -> Answer:
        return http("POST", server.url + path, body=config.encode(), headers=XML, auth=ADMIN)

    to_pipeline = post("/job/F/job/api/config.xml", scm_job())
    assert to_pipeline.status == 500
    assert (
        f"Expecting class {MULTIBRANCH_CLASS} but got class {WORKFLOW_JOB_CLASS} instead".encode()
        in to_pipeline.body
    )
    to_multibranch = post("/job/F/job/pipeline/config.xml", multibranch_job())
    assert to_multibranch.status == 500
    assert (
        f"Expecting class {WORKFLOW_JOB_CLASS} but got class {MULTIBRANCH_CLASS} instead".encode()
        in to_multibranch.body
    )
    # XML Jenkins cannot load: refused when creating and when updating.
    broken = multibranch_job().replace("</description>", "")
    assert post("/job/F/job/api/config.xml", broken).status == 500
    assert post("/job/F/createItem?name=other", broken).status == 500
    assert {name: server.job_config(name) for name in before} == before
    assert server.item_class("F/api") == MULTIBRANCH_CLASS
    assert server.item_class("F/pipeline") == WORKFLOW_JOB_CLASS
    assert server.job_names() == ["F/api", "F/pipeline"]
    assert server.writes == writes
    with pytest.raises(ValueError, match="exists and is a multibranch"):
        server.put_job("F/api", scm_job())


def test_no_item_can_be_created_inside_a_multibranch_project(server: FakeJenkins) -> None:
    server.put_job("api", multibranch_job())
    inside = http(
        "POST",
        server.url + "/job/api/createItem?name=J",
        body=REFERENCE_CONFIG.encode(),
        headers=XML,
        auth=ADMIN,
    )
    assert inside.status == 404
    with pytest.raises(jenkins.JenkinsException):
        client(server).create_job("api/J", REFERENCE_CONFIG)
    with pytest.raises(ValueError, match="api in api/J is a multibranch, not a folder"):
        server.put_job("api/J", REFERENCE_CONFIG)
    assert server.job_names() == ["api"]
    assert server.writes == 0


def test_build_of_a_multibranch_project_schedules_branch_indexing(server: FakeJenkins) -> None:
    server.put_job("F/api", multibranch_job())
    server.put_job("F/off", multibranch_job(disabled=True))
    url = server.url + "/job/F/job/api/"
    indexing = http("POST", url + "build?delay=0", auth=ADMIN)
    assert (indexing.status, indexing.headers["Location"]) == (302, "/job/F/job/api/")
    back = http("POST", url + "build", headers={"Referer": url + "configure"}, auth=ADMIN)
    assert (back.status, back.headers["Location"]) == (302, url + "configure")
    assert server.indexings == [("F/api", "api"), ("F/api", "api")]
    assert server.builds == []  # an indexing is no build: no queue item, no build number
    assert http("POST", url + "buildWithParameters", auth=ADMIN).status == 404
    assert http("GET", url + "build", auth=ADMIN).status == 405
    disabled = http("POST", server.url + "/job/F/job/off/build", auth=ADMIN)
    assert disabled.status == 500
    assert b"F/off cannot be recomputed" in disabled.body
    assert server.indexings == [("F/api", "api"), ("F/api", "api")]


def github_push(
    server: FakeJenkins,
    owner: str,
    name: str,
    host: str = "github.com",
    *,
    deleted: bool = False,
    fields: dict[str, object] | None = None,
) -> Answer:
    """A push event as GitHub sends it (with the fields github-branch-source reads: the
    repository's ``html_url``, ``owner`` and ``name``); ``fields`` replace repository fields."""
    repository: dict[str, object] = {
        "name": name,
        "full_name": f"{owner}/{name}",
        "owner": {"login": owner, "name": owner},
        "html_url": f"https://{host}/{owner}/{name}",
        "clone_url": f"https://{host}/{owner}/{name}.git",
        **(fields or {}),
    }
    payload = {
        "ref": "refs/heads/feature/x",
        "deleted": deleted,
        "repository": repository,
        "pusher": {"name": "octocat"},
    }
    return http(
        "POST",
        server.url + "/github-webhook/",
        body=json.dumps(payload).encode(),
        headers={"X-GitHub-Event": "push", "Content-Type": "application/json"},
    )


def test_push_reaches_multibranch_projects_by_owner_and_name(server: FakeJenkins) -> None:
    server.put_job("mb/demo", multibranch_job("acme", "demo"))
    server.put_job("mb/demo-case", multibranch_job("ACME", "Demo"))
    server.put_job("mb/demo-no-api-uri", multibranch_job("acme", "demo", api_uri=None))
    server.put_job("mb/other", multibranch_job("acme", "other"))
    server.put_job("mb/fork", multibranch_job("someone", "demo"))
    server.put_job("mb/prefix", multibranch_job("acme", "demo-api"))
    server.put_job("mb/off", multibranch_job("acme", "demo", disabled=True))
    server.put_job(
        "mb/ghe", multibranch_job("acme", "demo", api_uri="https://ghe.example.com/api/v3")
    )
    server.put_job(
        "mb/git-source",
        multibranch_job(source_class="jenkins.plugins.git.GitSCMSource"),
    )
    server.put_job("pipelines/demo", scm_job("https://github.com/acme/demo.git", "**"))
    writes = server.writes

    answer = github_push(server, "acme", "demo")
    assert (answer.status, answer.body) == (200, b"")
    reached = ["mb/demo", "mb/demo-case", "mb/demo-no-api-uri"]
    assert server.indexings == [(name, "webhook") for name in reached]
    assert server.triggered == ["pipelines/demo"]  # pipeline jobs as before
    assert server.writes == writes + 1

    github_push(server, "acme", "demo", "ghe.example.com")
    assert server.indexings[3:] == [("mb/ghe", "webhook")]
    github_push(server, "Acme", "DEMO", deleted=True)  # a deleted branch is an event too
    assert server.indexings[4:] == [(name, "webhook") for name in reached]
    assert server.triggered == ["pipelines/demo"]
    assert server.writes == writes + 3  # each event that reached a project

    # github-branch-source reads html_url, owner and name: without them, nothing is reached.
    github_push(server, "acme", "demo", fields={"html_url": "git@github.com:acme/demo.git"})
    github_push(server, "acme", "demo", fields={"owner": None})
    github_push(server, "acme", "demo", fields={"name": None})
    push(server, {"clone_url": "https://github.com/acme/demo.git"}, "refs/heads/develop")
    assert len(server.indexings) == 7
    # Those four pushes started the pipeline job (its clone URL matches), and nothing else.
    assert server.triggered == ["pipelines/demo"] * 5
    assert server.writes == writes + 7
