"""Hostile strings at the YAML and XML boundaries, through whole-project renders.

Every free-text field of the Kubernetes model (ConfigMap values, container env values, command
and args, exec probe words, HTTP probe, mount, host and Ingress paths, Ingress hosts, nginx proxy
paths; the model has no free-text labels or annotations: those are derived from names), and
every field that reaches a job's config.xml (repository, branch, the generated folder, hence
scriptPath, and the project file's path, in the description), and the free text of
``jenkins/jenkins.yaml`` (Slack team domain and base URL, tool and SSH server names) gets the
fixed corpus and hypothesis' strings. For each, either the model refuses it with an error naming
the field, or the rendered file, re-parsed (``yaml.safe_load``, ElementTree), holds exactly the
input, and each manifest still passes the Kubernetes 1.30 schemas in strict mode.

The regressions at the end pin defects these tests found (each once an xfail test): a file name
injecting YAML into manifest headers, NUL in process words, characters no output can carry in
repository, branch and generated_dir, and jenkins.yaml folding NEL or letting
configuration-as-code substitute ``${...}`` in free text.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

import attrs
import kubernetes_validate
import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from pipedsl import (
    BackingService,
    Component,
    ConfigMap,
    Container,
    ContainerPort,
    Credential,
    Deployment,
    DockerBuild,
    DockerHub,
    DockerPush,
    EmptyDirVolume,
    Exec,
    HttpGet,
    Ingress,
    IngressPath,
    ModelError,
    PersistentVolume,
    Pipeline,
    Probe,
    Project,
    RenderError,
    Runtime,
    Service,
    ShipFiles,
    Slack,
    SshServer,
    Stage,
    Tools,
    VolumeMount,
    nginx_frontend,
    render_project,
    sh,
)
from tests.fixtures.nasty_corpus import corpus
from tests.support import tally

KUBERNETES_VERSION = "1.30.0"
REPO = "https://github.com/acme/demo.git"

# The brief's list, on top of the corpus: quotes, Jinja, XML, YAML scalars, line ends, NUL.
EXTRA = [
    "'", '"', "\\", "\n", "\r\n", "\t", "\x00", "a\x00b", "{{", "{%", "{#", "}}", "&", "<", ">",
    "on", "off", "no", "null", "NULL", "true", "y", "n", ".inf", "12:30", "-1", "+1", ".5",
    "0x1f", "1_000", "<<", "=", "- x", "a: b", "#x", "&a", "*a", "!tag", "%x", "@x", "`x", "|",
    " lead", "trail ", "", "/", "/api", "/a b", "/ä", "/${x}", "/]]>", "/'\"", "/\u2028",
    "/\x85", "/\t", "/\x7f", "/\ufeff", "*.example.com", "shop.example.com", "a..b", "A.b",
]  # fmt: skip
FIXED = corpus() + EXTRA

any_text = st.one_of(
    st.lists(st.sampled_from(FIXED) | st.characters(exclude_categories=()), max_size=8).map(
        "".join
    ),
    st.text(st.characters(exclude_categories=()), max_size=20),
)
path_text = any_text.map(lambda text: "/" + text)

BATCH = settings(
    max_examples=4,
    phases=(Phase.explicit, Phase.reuse, Phase.generate),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

FIELD_NAME = re.compile(
    r"\b[A-Z]\w*\.\w+: |\bnginx_frontend: proxy path |\bcomponents\[|\bbacking_services\["
)

# Characters XML 1.0 cannot carry even as references (configxml refuses them at render).
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _assert_names_field(message: str, where: str) -> None:
    assert FIELD_NAME.search(message), f"{where}: the error names no field: {message}"


def _assert_xml_refusal(message: str, value: str) -> None:
    assert NOT_XML.search(value), f"{value!r} refused at render: {message}"
    assert "cannot be written to a Jenkins config.xml" in message, message


# -- Kubernetes manifests -------------------------------------------------------------------


def _app() -> Component:
    return Component("app", Pipeline([Stage("Build", [sh("make")])]))


Doc = dict[str, Any]
# field -> (build the backing service's objects around the value, read the value back from the
# rendered manifests by (kind, name))
K8sCase = tuple[Callable[[str], list[Any]], Callable[[dict[tuple[str, str], Doc]], Any]]


def _container(**kwargs: Any) -> Container:
    return Container("web", "nginx:1.27", **kwargs)


def _deployment(container: Container) -> Deployment:
    return Deployment("web", [container])


def _pod(docs: dict[tuple[str, str], Doc]) -> Doc:
    container: Doc = docs["Deployment", "web"]["spec"]["template"]["spec"]["containers"][0]
    return container


def _with_ingress(value: str, *, host: bool) -> list[Any]:
    http = ContainerPort("http", 80)
    deployment = _deployment(_container(ports=[http]))
    service = Service(deployment, ports=[http])
    path = IngressPath("/", service, host=value) if host else IngressPath(value, service)
    return [deployment, service, Ingress("web", [path])]


def _ingress_rule(docs: dict[tuple[str, str], Doc]) -> Doc:
    rule: Doc = docs["Ingress", "web"]["spec"]["rules"][0]
    return rule


HTTP = ContainerPort("http", 80)
K8S_FIELDS: dict[str, K8sCase] = {
    "configmap value": (
        lambda v: [ConfigMap("settings", {"VALUE": v})],
        lambda d: d["ConfigMap", "settings"]["data"]["VALUE"],
    ),
    "env value": (
        lambda v: [_deployment(_container(env={"VALUE": v}))],
        lambda d: _pod(d)["env"][0]["value"],
    ),
    "command": (
        lambda v: [_deployment(_container(command=["run", v]))],
        lambda d: _pod(d)["command"][1],
    ),
    "args": (
        lambda v: [_deployment(_container(args=[v]))],
        lambda d: _pod(d)["args"][0],
    ),
    "exec probe": (
        lambda v: [_deployment(_container(liveness=Probe(Exec(["sh", "-c", v]))))],
        lambda d: _pod(d)["livenessProbe"]["exec"]["command"][2],
    ),
    "http probe path": (
        lambda v: [_deployment(_container(ports=[HTTP], readiness=Probe(HttpGet(v, HTTP))))],
        lambda d: _pod(d)["readinessProbe"]["httpGet"]["path"],
    ),
    "mount path": (
        lambda v: [_deployment(_container(mounts=[VolumeMount(EmptyDirVolume("cache"), v)]))],
        lambda d: _pod(d)["volumeMounts"][0]["mountPath"],
    ),
    "mount sub_path": (
        lambda v: [
            _deployment(_container(mounts=[VolumeMount(EmptyDirVolume("cache"), "/c", sub_path=v)]))
        ],
        lambda d: _pod(d)["volumeMounts"][0]["subPath"],
    ),
    "host path": (
        lambda v: [PersistentVolume("data", storage="1Gi", host_path=v)],
        lambda d: d["PersistentVolume", "data"]["spec"]["hostPath"]["path"],
    ),
    "ingress path": (
        lambda v: _with_ingress(v, host=False),
        lambda d: _ingress_rule(d)["http"]["paths"][0]["path"],
    ),
    "ingress host": (
        lambda v: _with_ingress(v, host=True),
        lambda d: _ingress_rule(d)["host"],
    ),
}


# Fields that once took a NUL (see test_nul_in_a_process_word_is_a_model_error).
PROCESS_WORDS = frozenset({"args", "command", "env value", "exec probe"})


def _k8s_project(field: str, value: str) -> Project:
    objects = K8S_FIELDS[field][0](value)
    return Project(
        "demo",
        repository=REPO,
        components=[_app()],
        backing_services=[BackingService("store", runtime=Runtime(objects))],
    )


def _manifests(project: Project) -> dict[tuple[str, str], Doc]:
    docs: dict[tuple[str, str], Doc] = {}
    for artifact in render_project(project):
        if artifact.kind == "manifest":
            doc = yaml.safe_load(artifact.text)
            docs[doc["kind"], doc["metadata"]["name"]] = doc
    return docs


def _try_k8s(field: str, value: str) -> str:
    """'rejected' or 'exact'; fails on anything else."""
    tally.add("k8s free-text values tried (manifest re-parsed by PyYAML)")
    try:
        project = _k8s_project(field, value)
        docs = _manifests(project)
    except ModelError as error:
        _assert_names_field(str(error), f"{field} = {value!r}")
        tally.add("k8s free-text values rejected, naming the field")
        return "rejected"
    got = K8S_FIELDS[field][1](docs)
    assert got == value, f"{field}: {value!r} read back as {got!r}"
    for doc in docs.values():
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:  # pragma: no cover - a failure
            pytest.fail(f"{field} = {value!r}: {doc['kind']} fails strict validation: {error}")
    return "exact"


@pytest.mark.parametrize("field", sorted(K8S_FIELDS))
def test_k8s_fixed_values(field: str) -> None:
    outcomes = {value: _try_k8s(field, value) for value in FIXED}
    # NUL can reach no process (argv, environment) and no file path; the model refuses it.
    assert outcomes["a\x00b"] == "rejected"
    assert "exact" in outcomes.values(), "the field accepted nothing; the test proves nothing"


@BATCH
@given(
    st.lists(
        st.sampled_from(sorted(K8S_FIELDS)).flatmap(
            lambda field: st.tuples(st.just(field), path_text if "path" in field else any_text)
        ),
        min_size=40,
        max_size=60,
    )
)
def test_k8s_random_values(cases: list[tuple[str, str]]) -> None:
    for field, value in cases:
        _try_k8s(field, value)


def test_nginx_proxy_paths() -> None:
    """A proxy path is written into nginx's own config language inside a ConfigMap: only plain
    URL path prefixes are accepted, and the config reads back from the YAML exactly."""
    backend_port = ContainerPort("http", 8080)
    backend = Deployment("api", [Container("api", "nginx:1.27", ports=[backend_port])])
    service = Service(backend, ports=[backend_port])
    accepted = 0
    for value in [*FIXED, "/api", "/ws", "/a/b.c~d_e-f"]:
        tally.add("nginx proxy paths tried")
        try:
            spec = nginx_frontend(proxy={value: service})
        except ModelError as error:
            _assert_names_field(str(error), repr(value))
            continue
        accepted += 1
        assert re.fullmatch(r"/[A-Za-z0-9._~/-]*", value), value
        runtime = spec("web", DockerHub("acme/web").tagged())
        config = next(o for o in runtime.objects if isinstance(o, ConfigMap))
        project = Project(
            "demo",
            repository=REPO,
            components=[_app()],
            backing_services=[BackingService("store", runtime=Runtime([backend, service, config]))],
        )
        conf = _manifests(project)["ConfigMap", "web-nginx"]["data"]["default.conf"]
        assert conf == dict(config.data)["default.conf"]
        assert f"    location {value} {{\n" in conf
    assert accepted >= 3


# -- config.xml -----------------------------------------------------------------------------

XML_FIELDS = ("repository", "branch", "generated_dir", "source")


def _xml_project(field: str, value: str) -> Project:
    if field == "source":
        base = Project("demo", repository=REPO, components=[_app()])
        return attrs.evolve(base, source=value)
    kwargs: dict[str, Any] = {"repository": REPO}
    if field == "repository":
        kwargs["repository"] = "https://github.com/acme/" + value
    else:
        kwargs[field] = value
    return Project("demo", components=[_app()], **kwargs)


def _parse_xml(text: str) -> ET.Element:
    return ET.fromstring(re.sub(r"^<\?xml[^>]*\?>", "", text))  # noqa: S314  (our own output)


def _try_xml(field: str, value: str) -> str:
    """'rejected', 'refused at render' (characters XML cannot carry) or 'exact'."""
    tally.add("config.xml field values tried (re-parsed by ElementTree)")
    try:
        project = _xml_project(field, value)
        artifacts = {a.path: a.text for a in render_project(project)}
    except ModelError as error:
        _assert_names_field(str(error), f"{field} = {value!r}")
        tally.add("config.xml field values rejected, naming the field")
        return "rejected"
    except RenderError as error:
        # Accepted by the model, refused before anything is written.
        _assert_xml_refusal(str(error), value)
        tally.add("config.xml field values refused at render (character XML cannot carry)")
        return "refused at render"
    root = _parse_xml(artifacts["demo/app/config.xml"])
    scm = "definition/scm/"
    assert root.findtext(scm + "userRemoteConfigs/hudson.plugins.git.UserRemoteConfig/url") == (
        project.repository
    )
    assert root.findtext(scm + "branches/hudson.plugins.git.BranchSpec/name") == (
        "*/" + project.branch
    )
    assert root.findtext("definition/scriptPath") == (
        project.generated_dir.rstrip("/") + "/demo/app/Jenkinsfile"
    )
    description = root.findtext("description") or ""
    if field == "source" and value:
        assert f" generated by pipedsl from {value}.\nEdit the project file" in description
    assert description.count("[managed by pipedsl; project=") == 1
    return "exact"


@pytest.mark.parametrize("field", XML_FIELDS)
def test_xml_fixed_values(field: str) -> None:
    outcomes = {value: _try_xml(field, value) for value in FIXED}
    assert outcomes["a\x00b"] != "exact"
    assert "exact" in outcomes.values()
    for value in ("]]>", "&amp;", "<x/>", "a\rb", "'''", '"""', "${env.X}", "{{ x }}", "yes"):
        if field == "source":  # free text: every value XML can carry must come back
            assert outcomes[value] == "exact", value


@BATCH
@given(st.lists(st.tuples(st.sampled_from(XML_FIELDS), any_text), min_size=60, max_size=80))
def test_xml_random_values(cases: list[tuple[str, str]]) -> None:
    for field, value in cases:
        _try_xml(field, value)


# -- jenkins/jenkins.yaml (configuration as code) --------------------------------------------

CASC_FIELDS = ("team_domain", "base_url", "maven", "server")


def _casc_project(field: str, value: str) -> Project:
    v = {"team_domain": "acme", "base_url": None, "maven": "maven-3", "server": "master"} | {
        field: value
    }
    image = DockerHub("acme/app", login=Credential.username_password("hub")).tagged()
    slack = Slack(
        channel="#ci",
        team_domain=v["team_domain"],
        base_url=v["base_url"],
        token=Credential.secret_text("slack"),
    )
    stages = [
        Stage("Push", [DockerBuild(image), DockerPush(image)]),
        Stage("Ship", [ShipFiles(SshServer(str(v["server"])), ["k8s/*.yaml"], "deploy")]),
    ]
    pipeline = Pipeline(stages, tools=Tools(maven=v["maven"]))
    return Project("demo", repository=REPO, components=[Component("app", pipeline, notify=slack)])


def _casc_value(document: Doc, field: str) -> Any:
    unclassified = document["unclassified"]
    if field == "maven":
        return document["tool"]["maven"]["installations"][0]["name"]
    if field == "server":
        return unclassified["sshPublisher"]["hostConfigurations"][0]["name"]
    return unclassified["slackNotifier"]["teamDomain" if field == "team_domain" else "baseUrl"]


def _casc_reads(value: str) -> str:
    """What configuration-as-code makes of a string it loads: ``^${`` is its escape for a
    literal ``${`` (anything else in ``${...}`` it would substitute)."""
    return value.replace("^${", "${")


def _try_casc(field: str, value: str) -> str:
    tally.add("jenkins.yaml values tried (re-parsed by PyYAML)")
    try:
        project = _casc_project(field, value)
        artifacts = {a.path: a.text for a in render_project(project)}
    except ModelError as error:
        _assert_names_field(str(error), f"{field} = {value!r}")
        tally.add("jenkins.yaml values rejected, naming the field")
        return "rejected"
    got = _casc_value(yaml.safe_load(artifacts["demo/jenkins/jenkins.yaml"]), field)
    assert "${" not in got.replace("^${", ""), f"{field}: {got!r} would be substituted"
    assert _casc_reads(got) == value, f"{field}: {value!r} read back as {got!r}"
    return "exact"


@pytest.mark.parametrize("field", CASC_FIELDS)
def test_casc_fixed_values(field: str) -> None:
    outcomes = {value: _try_casc(field, value) for value in FIXED}
    assert outcomes["a\x00b"] == "rejected"
    assert "exact" in outcomes.values()


@BATCH
@given(st.lists(st.tuples(st.sampled_from(CASC_FIELDS), any_text), min_size=40, max_size=60))
def test_casc_random_values(cases: list[tuple[str, str]]) -> None:
    for field, value in cases:
        _try_casc(field, value)


# -- regressions: the defects these tests found, with the smallest input -----------------------


@pytest.mark.parametrize("newline", ["\n", "\r", "\x85", "\u2028"])
def test_project_file_name_cannot_inject_yaml(newline: str) -> None:
    base = _k8s_project("configmap value", "v")
    project = attrs.evolve(base, source=f"projects/x{newline}evil: 1{newline}#.py")
    docs = [yaml.safe_load(a.text) for a in render_project(project) if a.kind == "manifest"]
    assert all("evil" not in doc for doc in docs)


@pytest.mark.parametrize("field", sorted(PROCESS_WORDS))
def test_nul_in_a_process_word_is_a_model_error(field: str) -> None:
    with pytest.raises(ModelError):
        _k8s_project(field, "a\x00b")


@pytest.mark.parametrize("char", ["\x00", "\x01", "\ud800", "\uffff"])
def test_repository_with_a_character_no_output_can_carry_is_a_model_error(char: str) -> None:
    with pytest.raises(ModelError, match=r"Project\.repository"):
        _xml_project("repository", f"a{char}b.git")


@pytest.mark.parametrize("char", ["\ud800", "\uffff"])
def test_generated_dir_with_a_character_xml_cannot_carry_is_a_model_error(char: str) -> None:
    with pytest.raises(ModelError, match=r"Project\.generated_dir"):
        _xml_project("generated_dir", f"gen{char}")


@pytest.mark.parametrize("char", ["\uffff", "\ufffe", "\udfff"])
def test_branch_xml_cannot_carry_is_a_model_error(char: str) -> None:
    with pytest.raises(ModelError, match=r"Project\.branch"):
        _xml_project("branch", f"dev{char}")


def test_casc_keeps_nel() -> None:
    project = _casc_project("team_domain", "a\x85b")
    text = {a.path: a.text for a in render_project(project)}["demo/jenkins/jenkins.yaml"]
    assert _casc_value(yaml.safe_load(text), "team_domain") == "a\x85b"


@pytest.mark.parametrize("field", ["team_domain", "base_url", "maven", "server"])
def test_casc_does_not_interpolate_free_text(field: str) -> None:
    try:
        project = _casc_project(field, "acme${SECRET}")
        text = {a.path: a.text for a in render_project(project)}["demo/jenkins/jenkins.yaml"]
    except ModelError as error:  # refusing ${ is a fix too
        _assert_names_field(str(error), field)
        return
    assert _casc_value(yaml.safe_load(text), field) == "acme^${SECRET}"
