"""The setup files of a project (jenkins/jenkins.yaml, SETUP.md): one configuration-as-code
variable per secret, every tool installation the pipelines name, Jenkins' own URL first."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from pipedsl import (
    Component,
    Credential,
    ModelError,
    Pipeline,
    Project,
    RenderError,
    SshServer,
    Stage,
    Tool,
    Tools,
    WithCredentials,
    render,
    sh,
)
from pipedsl.load import load_project
from pipedsl.model.jobs import JenkinsJobs
from pipedsl.model.steps import ShipFiles
from pipedsl.render import render_projects
from tests.conftest import SEED_PROJECT
from tests.support import tally

REPO = "https://github.com/acme/demo.git"


def _binding(credential: Credential, index: int) -> WithCredentials:
    count = 2 if credential.kind == "username_password" else 1
    names = [f"V{index}_{n}" for n in range(count)]
    return WithCredentials(credential, names, [sh("true")])


def _project(
    credentials: list[Credential],
    *,
    servers: int = 0,
    tools: Tools | None = None,
    url: str | None = None,
) -> Project:
    steps: list[Any] = [_binding(c, i) for i, c in enumerate(credentials)]
    steps += [ShipFiles(SshServer(f"host{i}"), ["k8s/*.yaml"], "deploy") for i in range(servers)]
    pipeline = Pipeline([Stage("Use", steps or [sh("true")])], tools=tools or Tools())
    jobs = JenkinsJobs(url=url) if url else JenkinsJobs()
    return Project("demo", repository=REPO, components=[Component("app", pipeline)], jenkins=jobs)


def _files(project: Project) -> dict[str, str]:
    return {a.path.rsplit("/", 1)[-1]: a.text for a in render_projects([project], kinds={"setup"})}


def _variables(document: Any, path: str = "") -> dict[str, str]:
    """Every ``${NAME}`` of the document, by where it sits."""
    if isinstance(document, dict):
        return {
            k: v
            for key, value in document.items()
            for k, v in _variables(value, f"{path}/{key}").items()
        }
    if isinstance(document, list):
        found: dict[str, str] = {}
        for i, item in enumerate(document):
            found |= _variables(item, f"{path}/{i}")
        return found
    if isinstance(document, str) and (match := re.fullmatch(r"\$\{(\w+)\}", document)):
        return {path: match.group(1)}
    return {}


def _assert_one_variable_per_secret(project: Project) -> dict[str, str]:
    variables = _variables(yaml.safe_load(_files(project)["jenkins.yaml"]))
    names = list(variables.values())
    clashes = {n for n in names if names.count(n) > 1}
    assert not clashes, f"variables read by two settings: {clashes} ({variables})"
    invalid = [n for n in names if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", n)]
    assert not invalid, f"not environment variable names: {invalid}"
    return variables


def test_ids_that_differ_by_case_or_separator_get_distinct_variables() -> None:
    credentials = [
        Credential.secret_text("db-pass"),
        Credential.secret_text("DB_PASS"),
        Credential.secret_text("db.pass"),
        Credential.username_password("ssh-1"),  # SSH_1_USER is the first SSH server's
        Credential.secret_text("slack"),
        Credential.secret_text("1password"),
    ]
    variables = _assert_one_variable_per_secret(_project(credentials, servers=2))
    # A credential that clashes with nothing keeps the plain name a person expects.
    assert "SLACK_SECRET" in variables.values()
    assert "SSH_1_USER" in variables.values()


_ID = st.text(alphabet="aAbB-_.1", min_size=1, max_size=5).filter(lambda s: s[0].isalnum())
_KIND = st.sampled_from(["username_password", "secret_text", "secret_file", "ssh_key"])


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(_ID, _KIND, min_size=2, max_size=8), st.integers(0, 3))
def test_no_two_secrets_ever_share_a_variable(ids: dict[str, str], servers: int) -> None:
    credentials = [Credential(i, kind) for i, kind in ids.items()]  # type: ignore[arg-type]
    _assert_one_variable_per_secret(_project(credentials, servers=servers))
    tally.add("jenkins.yaml credential sets checked for shared variables")


def test_jenkins_url_comes_first_in_both_files() -> None:
    files = _files(_project([], url="http://ci.acme.test:14149"))
    document = yaml.safe_load(files["jenkins.yaml"])
    assert next(iter(document)) == "unclassified"
    assert next(iter(document["unclassified"])) == "location"
    assert document["unclassified"]["location"] == {"url": "http://ci.acme.test:14149/"}
    first_step = files["SETUP.md"].split("\n1. ", 1)[1].split("\n2. ", 1)[0]
    assert "Jenkins' own URL" in first_step
    assert "http://ci.acme.test:14149/" in first_step
    # With the example URL, the variable JENKINS_URL sets it, and the first step says so.
    files = _files(_project([]))
    document = yaml.safe_load(files["jenkins.yaml"])
    assert document["unclassified"]["location"] == {"url": "${JENKINS_URL}"}
    assert "JENKINS_URL" in files["SETUP.md"].split("\n2. ", 1)[0]


def test_every_tool_installation_is_declared_with_how_jenkins_gets_it() -> None:
    tools = Tools(
        maven=Tool("maven3.9.6", version="3.9.6"),
        nodejs=Tool("nodejs-20.10.0", version="20.10.0"),
        gradle=Tool("gradle-8", home="/opt/gradle-8"),
        jdk="jdk17",
    )
    files = _files(_project([], tools=tools))
    document = yaml.safe_load(files["jenkins.yaml"])["tool"]
    assert document["maven"]["installations"] == [
        {
            "name": "maven3.9.6",
            "properties": [{"installSource": {"installers": [{"maven": {"id": "3.9.6"}}]}}],
        }
    ]
    (node,) = document["nodejs"]["installations"]
    installer = node["properties"][0]["installSource"]["installers"][0]["nodeJSInstaller"]
    assert node["name"] == "nodejs-20.10.0"
    assert installer["id"] == "20.10.0"
    assert document["gradle"]["installations"] == [{"name": "gradle-8", "home": "/opt/gradle-8"}]
    assert document["jdk"]["installations"] == [{"name": "jdk17"}]
    for name in ("maven3.9.6", "nodejs-20.10.0", "gradle-8", "jdk17"):
        assert f"`{name}`" in files["SETUP.md"]


def test_one_installation_described_two_ways_is_refused() -> None:
    one = Pipeline([Stage("a", [sh("true")])], tools=Tools(maven=Tool("m", version="3.9.6")))
    two = Pipeline([Stage("a", [sh("true")])], tools=Tools(maven=Tool("m", version="3.8.1")))
    project = Project(
        "demo", repository=REPO, components=[Component("a", one), Component("b", two)]
    )
    with pytest.raises(RenderError, match="Maven installation 'm' is described twice"):
        render_projects([project], kinds={"setup"})


def test_a_jdk_has_no_version_installer() -> None:
    with pytest.raises(Exception, match="no built-in JDK installer"):
        Tools(jdk=Tool("jdk17", version="17"))


def test_the_seed_pipelines_name_the_seed_teams_tools() -> None:
    project = load_project(SEED_PROJECT)
    jenkinsfiles = {a.path: a.text for a in render_projects([project], kinds={"jenkinsfile"})}
    assert (
        "    tools {\n        maven 'maven3.9.6'\n    }"
        in jenkinsfiles["lat32t/backend/Jenkinsfile"]
    )
    assert (
        "    tools {\n        nodejs 'nodejs-20.10.0'\n    }"
        in jenkinsfiles["lat32t/frontend/Jenkinsfile"]
    )
    files = _files(project)
    tools = yaml.safe_load(files["jenkins.yaml"])["tool"]
    assert [i["name"] for i in tools["maven"]["installations"]] == ["maven3.9.6"]
    assert [i["name"] for i in tools["nodejs"]["installations"]] == ["nodejs-20.10.0"]


def test_setup_names_the_commands_deploy_targets_run_on_the_agent(
    artifacts: dict[str, Any],
) -> None:
    targets = artifacts["targets/jenkins/SETUP.md"].text
    assert "run these commands on the build agent: `argocd`, `git`, `kubectl`" in targets
    # Over SSH, nothing runs on the agent.
    assert "build agent" not in artifacts["lat32t/jenkins/SETUP.md"].text


def test_setup_lists_the_clusters_prerequisites(artifacts: dict[str, Any]) -> None:
    """The Secrets to create (with the command for their type, as a deploy's missing-Secret
    message gives it), the backing services to apply, and where kubectl must run."""
    seed = artifacts["lat32t/jenkins/SETUP.md"].text
    cluster = seed.split("   In the Kubernetes cluster:\n", 1)[1].split("\n4. ", 1)[0]
    assert cluster.splitlines() == [
        "   Create these Secrets once (pipedsl never holds their values; each deploy checks "
        "they exist):",
        "   - `default/backend` (keys `JWT_SECRET_KEY`, `AWS_S3_ACCESS_KEY`, `AWS_S3_SECRET_KEY`, "
        "`DB_USERNAME`, `DB_PASSWORD`): `kubectl create secret generic backend -n default "
        "--from-env-file=backend.env`",
        "   - `default/mariadb` (keys `MARIADB_ROOT_PASSWORD`, `MARIADB_USER`, "
        "`MARIADB_PASSWORD`): `kubectl create secret generic mariadb -n default "
        "--from-env-file=mariadb.env`",
        "   Apply the backing services once, and after each change (no pipeline deploys them), "
        "from the repository:",
        "   - mariadb: `kubectl apply -f generated/lat32t/mariadb/k8s/`",
        "   The deploy stages run `kubectl` on the SSH server(s) `master` (Publish Over SSH): "
        "install it there, with access to the cluster.",
    ]
    kinds = artifacts["kinds/jenkins/SETUP.md"].text
    assert (
        "   - `orders/orders-tls` (keys `tls.crt`, `tls.key`): `kubectl create secret tls "
        "orders-tls -n orders --cert=tls.crt --key=tls.key`"
    ) in kinds
    # kubectl runs on the agent there: SETUP says so among the agent's commands.
    assert "run these commands on the build agent: `kubectl`" in kinds


def test_setup_notes_made_while_the_components_render_fail_where_they_always_did(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # SETUP.md is rendered beside the components (it needs none of them): its error is raised
    # after theirs, as when it was rendered last.
    project = load_project(SEED_PROJECT)

    def notes_fail(*args: Any) -> Any:
        raise RenderError("the notes cannot be written")

    monkeypatch.setattr(render, "render_setup_notes_file", notes_fail)
    with pytest.raises(RenderError, match="the notes cannot be written"):
        render.render_project(project)
    first = project.components[0].name

    def jenkinsfile_fails(project: Any, component: Any, *args: Any, **kwargs: Any) -> Any:
        raise RenderError(f"{component.name} cannot be rendered")

    monkeypatch.setattr(render, "render_jenkinsfile", jenkinsfile_fails)
    with pytest.raises(RenderError, match=f"{first} cannot be rendered"):
        render.render_project(project)


class _Halt(BaseException):
    """What a project's own code may raise: not an Exception."""


class _HaltingJobs(JenkinsJobs):
    @property
    def webhook_url(self) -> str:
        raise _Halt("webhook_url raised")


@pytest.mark.parametrize("invalid", [True, False], ids=["invalid component", "valid"])
def test_setup_notes_failing_with_any_exception_fail_where_they_always_did(
    invalid: bool,
) -> None:
    # SETUP.md is made beside the components; whatever its project code raises comes after
    # the components' problems, as when it was made last.
    steps = [Stage("B", [sh("a")]), Stage("B", [sh("b")])] if invalid else [Stage("B", [sh("a")])]
    project = Project(
        "a",
        repository="https://github.com/acme/app.git",
        components=[Component("x", Pipeline(steps))],
        jenkins=_HaltingJobs(),
    )
    if invalid:
        with pytest.raises(ModelError, match="duplicate stage name 'B'"):
            render.render_project(project)
    else:
        with pytest.raises(_Halt, match="webhook_url raised"):
            render.render_project(project)
