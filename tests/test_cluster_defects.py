"""Defects and gaps of the cluster model found by writing real teams' clusters: the
missing-Secret hint for each kind of Secret, the PostgreSQL probe's user, public images a
component's workloads run only on purpose, HTTPS probes and success thresholds, Ingress TLS,
annotations and path types. (Objects several runtimes hold: tests/test_k8s_manifests.py;
strict schema validation of every manifest: tests/test_k8s_manifests.py.)"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from pipedsl import (
    Container,
    ContainerPort,
    Credential,
    CustomObject,
    Deployment,
    DockerHub,
    FieldRef,
    HorizontalPodAutoscaler,
    HttpGet,
    Ingress,
    IngressPath,
    IngressTLS,
    Kubectl,
    ModelError,
    Namespace,
    Probe,
    Project,
    Resources,
    Runtime,
    Secret,
    Service,
    postgres,
    render_project,
    spring_boot_backend,
    spring_boot_service,
)
from pipedsl.model.k8s.workloads import Exec


@pytest.mark.parametrize(
    ("secret", "command"),
    [
        (
            Secret("api-tls", keys=["tls.crt", "tls.key"], namespace="shop"),
            "kubectl create secret tls api-tls -n shop --cert=tls.crt --key=tls.key",
        ),
        (
            Secret("pull", keys=[".dockerconfigjson"], type="kubernetes.io/dockerconfigjson"),
            "kubectl create secret generic pull -n default "
            "--type=kubernetes.io/dockerconfigjson --from-file=.dockerconfigjson=config.json",
        ),
        (
            Secret("git", keys=["username", "password"], type="kubernetes.io/basic-auth"),
            "kubectl create secret generic git -n default --type=kubernetes.io/basic-auth "
            "--from-env-file=git.env  # with username, password",
        ),
        (
            Secret("files", keys=["app.properties", "KEY"]),
            "kubectl create secret generic files -n default "
            "--from-file=app.properties=app.properties --from-file=KEY=KEY",
        ),
        (
            Secret("backend", keys=["DB_PASSWORD"]),
            "kubectl create secret generic backend -n default --from-env-file=backend.env  "
            "# with DB_PASSWORD",
        ),
    ],
)
def test_the_missing_secret_hint_creates_a_secret_of_its_type(secret: Secret, command: str) -> None:
    assert secret.create_command() == command


def test_a_typed_secret_must_hold_its_types_keys() -> None:
    with pytest.raises(ModelError, match=r"a kubernetes\.io/tls Secret holds tls\.crt, tls\.key"):
        Secret("t", keys=["tls.crt"], type="kubernetes.io/tls")
    with pytest.raises(ModelError, match=r"Secret\.type"):
        Secret("t", keys=["a"], type="tls")


def _probe(credentials: Secret) -> list[str]:
    db = postgres("db", database="app", credentials=credentials)
    (workload,) = db.runtime.workloads
    (container,) = workload.containers
    assert container.readiness is not None
    check = container.readiness.action
    assert isinstance(check, Exec)
    return list(check.command)


def test_the_postgres_probe_connects_as_the_user_the_image_creates(tmp_path: Path) -> None:
    assert _probe(Secret("pg", keys=["POSTGRES_PASSWORD"])) == [
        "pg_isready",
        "-U",
        "postgres",
        "-h",
        "127.0.0.1",
    ]
    command = _probe(Secret("pg", keys=["POSTGRES_PASSWORD", "POSTGRES_USER"]))
    # Run as the kubelet would exec it, against a recording pg_isready, with the user the
    # Secret gives the container.
    fake = tmp_path / "pg_isready"
    fake.write_text('#!/bin/sh\nprintf "%s\\n" "$*" > "$RECORD"\n')
    fake.chmod(0o755)
    record = tmp_path / "record"
    subprocess.run(
        command,
        env={
            "PATH": f"{tmp_path}{os.pathsep}{os.environ['PATH']}",
            "POSTGRES_USER": "app",
            "RECORD": str(record),
        },
        check=True,
    )
    assert record.read_text().split() == ["-U", "app", "-h", "127.0.0.1"]


IMAGE = DockerHub("acme/api", login=Credential.username_password("hub")).tagged()
HTTP = ContainerPort("http", 8080)
ENVOY = "envoyproxy/envoy:v1.31.0"


def _render(runtime: Runtime) -> Any:
    api = spring_boot_backend("api", image=IMAGE, runtime=runtime)
    return render_project(
        Project("p", repository="https://github.com/acme/p.git", components=[api])
    )


def test_a_component_runs_public_images_only_on_purpose() -> None:
    sidecar = Deployment("api", [Container("api", IMAGE, ports=[HTTP]), Container("proxy", ENVOY)])
    with pytest.raises(ModelError) as caught:
        _render(Runtime([sidecar]))
    assert (
        "components[api].runtime.Deployment[api].containers[proxy].image: runs the public image "
        f"'{ENVOY}', not one this component's pipeline pushes" in str(caught.value)
    )
    assert _render(Runtime([sidecar], public_images=[ENVOY]))
    alone = Deployment("api", [Container("api", IMAGE, ports=[HTTP])])
    with pytest.raises(
        ModelError, match=r"runtime\.public_images: 'envoyproxy/envoy:v1\.31\.0' is listed"
    ):
        _render(Runtime([alone], public_images=[ENVOY]))


def test_probe_and_ingress_fields_real_clusters_use(artifacts: dict[str, Any]) -> None:

    deployment = yaml.safe_load(artifacts["k8s-shop/api/k8s/50-deployment-api.yaml"].text)
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["readinessProbe"]["httpGet"]["scheme"] == "HTTPS"
    assert container["readinessProbe"]["successThreshold"] == 2
    assert "successThreshold" not in container["livenessProbe"]
    ingress = yaml.safe_load(artifacts["k8s-shop/api/k8s/80-ingress-shop.yaml"].text)
    assert ingress["spec"]["tls"] == [{"hosts": ["shop.example.com"], "secretName": "api-tls"}]
    assert ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/use-regex"] == "true"
    assert [p["pathType"] for p in ingress["spec"]["rules"][0]["http"]["paths"]] == [
        "Prefix",
        "ImplementationSpecific",
    ]


def test_probe_and_ingress_rules() -> None:
    with pytest.raises(ModelError, match="success_threshold must be 1 for a liveness probe"):
        Container(
            "a", "nginx:1.27", ports=[HTTP], liveness=Probe(HttpGet("/", HTTP), success_threshold=2)
        )
    opaque = Secret("cert", keys=["CERT"])
    with pytest.raises(ModelError, match=r"is of type Opaque; TLS needs a Secret with tls\.crt"):
        IngressTLS(["a.example.com"], opaque)
    service = Service(
        Deployment("web", [Container("web", "nginx:1.27", ports=[HTTP])]), ports=[HTTP]
    )
    elsewhere = Secret("cert", keys=["tls.crt", "tls.key"], namespace="other")
    with pytest.raises(ModelError, match="an Ingress reads Secrets of its own namespace"):
        Ingress("w", [IngressPath("/", service)], tls=[IngressTLS(["a.example.com"], elsewhere)])
    with pytest.raises(ModelError, match="an annotation key"):
        Ingress("w", [IngressPath("/", service)], annotations={"bad key": "x"})


def _custom_project(*objects: Any) -> Project:
    workload = Deployment("api", [Container("api", IMAGE, ports=[HTTP])], namespace="shop")
    runtime = Runtime([Namespace("shop"), workload, Service(workload, ports=[HTTP]), *objects])
    api = spring_boot_backend(
        "api", image=IMAGE, runtime=runtime, deploy=Kubectl(Credential.secret_file("kubeconfig"))
    )
    return Project("p", repository="https://github.com/acme/p.git", components=[api])


ROLLOUT = {
    "apiVersion": "argoproj.io/v1alpha1",
    "kind": "Rollout",
    "metadata": {"name": "api-canary", "namespace": "shop", "annotations": {"team": "a"}},
    "spec": {"replicas": 3, "strategy": {"canary": {"steps": [{"setWeight": 20}]}}},
}


def test_kinds_pipedsl_does_not_model_are_typed_data_applied_last() -> None:

    issuer = CustomObject.of(
        {
            "apiVersion": "cert-manager.io/v1",
            "kind": "ClusterIssuer",
            "metadata": {"name": "letsencrypt"},
            "spec": {"acme": {"email": "ops@example.com"}},
        }
    )
    files = {a.path: a for a in render_project(_custom_project(CustomObject.of(ROLLOUT), issuer))}
    manifests = sorted(p for p, a in files.items() if a.kind == "manifest")
    # After every built-in kind (it may refer to them); the document exactly as given.
    assert manifests[-2:] == [
        "p/api/k8s/90-clusterissuer-letsencrypt.yaml",
        "p/api/k8s/90-rollout-api-canary.yaml",
    ]
    assert yaml.safe_load(files["p/api/k8s/90-rollout-api-canary.yaml"].text) == ROLLOUT
    # Deployed with the rest: listed in the plan, in order, with its namespace.
    jenkinsfile = files["p/api/Jenkinsfile"].text
    assert jenkinsfile.index("90-clusterissuer-letsencrypt.yaml") > jenkinsfile.index(
        "50-deployment-api.yaml"
    )


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({**ROLLOUT, "kind": "Deployment"}, "Deployment is modelled: use Deployment"),
        ({**ROLLOUT, "kind": "Secret"}, "Secret (whose values never enter the repository)"),
        ({**ROLLOUT, "apiVersion": "argoproj/v1"}, "CustomObject.apiVersion"),
        ({**ROLLOUT, "metadata": {"name": "x", "uid": "1"}}, "uid not allowed"),
        ({**ROLLOUT, "spec": {"when": object()}}, "CustomObject.spec.when: object is not"),
        ({**ROLLOUT, "spec": {"n": float("nan")}}, "not a number YAML and JSON share"),
        ({**ROLLOUT, "metadata": {"name": "Bad_Name"}}, "CustomObject.name"),
    ],
)
def test_custom_objects_refuse_what_cannot_be_applied(document: Any, message: str) -> None:

    with pytest.raises(ModelError) as caught:
        CustomObject.of(document)
    assert message in str(caught.value)


def test_a_secret_pasted_into_custom_data_is_refused() -> None:

    token = "ghp_" + "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3z5A"  # a GitHub token's shape
    leaky = {**ROLLOUT, "spec": {"git": {"token": token}}}
    with pytest.raises(ModelError, match="secret"):
        render_project(_custom_project(CustomObject.of(leaky)))


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"template": {"env": [{"name": "DB_PASSWORD", "value": "plainword"}]}}, "env[0].value"),
        ({"auth": {"password": "plainword"}}, "spec.auth.password"),
        ({"stringData": {"user": "plainword"}}, "spec.stringData"),
    ],
)
def test_a_credential_in_plain_words_in_custom_data_is_refused(spec: Any, field: str) -> None:
    """Not only token shapes: a literal under a credential's name, an env entry of one, a
    stringData mapping — the field is named, never the value."""
    with pytest.raises(ModelError) as caught:
        CustomObject.of({**ROLLOUT, "spec": spec})
    assert f"{field} holds a secret written into the manifest" in str(caught.value)
    assert "plainword" not in str(caught.value)


def test_references_to_credentials_in_custom_data_are_kept() -> None:
    refs = {"secretName": "tls", "passwordRef": {"name": "db", "key": "pw"}, "token": "${T}"}
    assert CustomObject.of({**ROLLOUT, "spec": refs}).document()["spec"] == refs


def test_a_spring_boot_service_without_actuator_scales_on_cpu_and_memory() -> None:

    runtime = spring_boot_service(
        tcp_probes=True,
        autoscale=(2, 6),
        memory_percent=85,
        resources=Resources(cpu="250m", memory="512Mi"),
    )
    api = spring_boot_backend("api", image=IMAGE, runtime=runtime)
    files = {
        a.path: yaml.safe_load(a.text)
        for a in render_project(
            Project("p", repository="https://github.com/acme/p.git", components=[api])
        )
        if a.kind == "manifest"
    }
    for data in files.values():
        kubernetes_validate.validate(data, "1.30.0", strict=True)
    deployment = files["p/api/k8s/50-deployment-api.yaml"]
    assert "replicas" not in deployment["spec"]  # the autoscaler's to choose
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["tcpSocket"] == {"port": "http"}
    hpa = files["p/api/k8s/70-horizontalpodautoscaler-api.yaml"]
    assert [
        (m["resource"]["name"], m["resource"]["target"]["averageUtilization"])
        for m in hpa["spec"]["metrics"]
    ] == [
        ("cpu", 80),
        ("memory", 85),
    ]
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 6)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda: spring_boot_service(health="/h", tcp_probes=True),
            "give health (an HTTP path) or tcp_probes, not both",
        ),
        (
            lambda: spring_boot_service(autoscale=(3, 2)),
            "autoscale must be (min_replicas, max_replicas)",
        ),
        (
            lambda: HorizontalPodAutoscaler(
                Deployment("a", [Container("a", "nginx:1.27")]), max_replicas=2, cpu_percent=None
            ),
            "give cpu_percent, memory_percent or metrics",
        ),
        (
            lambda: HorizontalPodAutoscaler(
                Deployment(
                    "a",
                    [Container("a", "nginx:1.27", resources=Resources(cpu="1"))],
                ),
                max_replicas=2,
                memory_percent=80,
            ),
            "memory utilization is relative to requests",
        ),
    ],
)
def test_scaling_settings_refuse_what_cannot_work(build: Any, message: str) -> None:
    with pytest.raises(ModelError) as caught:
        build()
    assert message in str(caught.value)


def test_pod_and_service_fields_real_clusters_use(artifacts: dict[str, Any]) -> None:
    deployment = yaml.safe_load(artifacts["k8s-shop/api/k8s/50-deployment-api.yaml"].text)
    assert deployment["spec"]["revisionHistoryLimit"] == 5
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e for e in container["env"]}
    assert env["logging.level.root"]["value"] == "INFO"
    assert env["POD_IP"]["valueFrom"] == {"fieldRef": {"fieldPath": "status.podIP"}}
    service = yaml.safe_load(artifacts["k8s-shop/api/k8s/40-service-api.yaml"].text)
    assert service["spec"]["sessionAffinity"] == "ClientIP"
    with pytest.raises(ModelError, match="a variable name: letters, digits"):
        Container("a", "nginx:1.27", env={"1ST": "x"})
    with pytest.raises(ModelError, match=r"FieldRef\.path"):
        FieldRef("spec.secret")
