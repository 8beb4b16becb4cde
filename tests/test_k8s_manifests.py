"""Rendered manifests, read back: valid against the Kubernetes OpenAPI schemas in strict mode,
Services that select their pods, references that resolve, strings that stay strings, and no
secret value anywhere."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import kubernetes_validate
import pytest
import yaml

from pipedsl import Artifact, Project, Secret, manifest_path
from pipedsl.resolve.deploy import rendered_runtimes, shared_objects
from pipedsl.resolve.layout import manifest_dir, rendered_objects

# The Kubernetes version the manifests are validated against (docs/manifests.md states it).
KUBERNETES_VERSION = "1.30.0"


def _manifests(artifacts: dict[str, Artifact]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, artifact in sorted(artifacts.items()):
        if artifact.kind == "manifest":
            yield path, yaml.safe_load(artifact.text)


def test_every_project_under_test_renders_manifests(artifacts: dict[str, Artifact]) -> None:
    kinds = {data["kind"] for _, data in _manifests(artifacts)}
    assert kinds == {
        "Namespace",
        "StorageClass",
        "ServiceAccount",
        "Role",
        "ClusterRole",
        "RoleBinding",
        "ClusterRoleBinding",
        "Job",
        "CronJob",
        "PersistentVolume",
        "PersistentVolumeClaim",
        "ConfigMap",
        "Service",
        "Deployment",
        "StatefulSet",
        "HorizontalPodAutoscaler",
        "Ingress",
    }


def test_every_manifest_is_valid_in_strict_mode(artifacts: dict[str, Artifact]) -> None:
    errors = {}
    for path, data in _manifests(artifacts):
        try:
            kubernetes_validate.validate(data, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            errors[path] = f"{'.'.join(str(p) for p in error.path)}: {error.message}"
    assert errors == {}


def test_strict_validation_catches_a_misspelt_field() -> None:
    # The check above is only worth something if strict mode rejects what we guard against.
    data = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "x"},
        "spec": {
            "selector": {"matchLabels": {"a": "b"}},
            "template": {
                "metadata": {"labels": {"a": "b"}},
                "spec": {"containers": [{"name": "x", "image": "x:1", "readlinessProbe": {}}]},
            },
        },
    }
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(data, KUBERNETES_VERSION, strict=True)


def test_every_service_selects_the_pods_of_a_workload(artifacts: dict[str, Artifact]) -> None:
    manifests = [data for _, data in _manifests(artifacts)]
    pods = [
        (m["metadata"]["namespace"], m["spec"]["template"]["metadata"]["labels"])
        for m in manifests
        if m["kind"] in ("Deployment", "StatefulSet")
    ]
    services = [m for m in manifests if m["kind"] == "Service"]
    assert len(services) >= 6
    for service in services:
        selector = service["spec"]["selector"]
        namespace = service["metadata"]["namespace"]
        matching = [
            labels for ns, labels in pods if ns == namespace and selector.items() <= labels.items()
        ]
        assert len(matching) == 1, service["metadata"]["name"]
        # ... and every targetPort is a named port of that workload's containers.
        (workload,) = [
            m
            for m in manifests
            if m["kind"] in ("Deployment", "StatefulSet")
            and m["metadata"]["namespace"] == namespace
            and m["spec"]["template"]["metadata"]["labels"] == matching[0]
        ]
        names = {
            p["name"]
            for c in workload["spec"]["template"]["spec"]["containers"]
            for p in c.get("ports", [])
        }
        assert {p["targetPort"] for p in service["spec"]["ports"]} <= names


def test_every_reference_resolves_within_the_rendered_files(
    artifacts: dict[str, Artifact], projects: dict[str, Project]
) -> None:
    for project in projects.values():
        rendered = {
            (d["kind"], d["metadata"].get("namespace"), d["metadata"]["name"])
            for p, d in _manifests(artifacts)
            if p.startswith(f"{project.name}/")
        }
        secrets = {
            ("Secret", o.namespace, o.name)
            for _, runtime in project.runtimes
            for o in runtime.objects
            if isinstance(o, Secret)
        }
        for path, data in _manifests(artifacts):
            if not path.startswith(f"{project.name}/"):
                continue
            ns = data["metadata"].get("namespace")
            for kind, name in _references(data):
                scope = None if kind == "PersistentVolume" else ns
                assert (kind, scope, name) in rendered | secrets, (path, kind, name)


def _pod_references(pod: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for container in pod["containers"]:
        for source in container.get("envFrom", []):
            if "configMapRef" in source:
                yield "ConfigMap", source["configMapRef"]["name"]
            else:
                yield "Secret", source["secretRef"]["name"]
        for env in container.get("env", []):
            ref = env.get("valueFrom", {})
            if "configMapKeyRef" in ref:
                yield "ConfigMap", ref["configMapKeyRef"]["name"]
            if "secretKeyRef" in ref:
                yield "Secret", ref["secretKeyRef"]["name"]
    for volume in pod.get("volumes", []):
        if "configMap" in volume:
            yield "ConfigMap", volume["configMap"]["name"]
        if "secret" in volume:
            yield "Secret", volume["secret"]["secretName"]
        if "persistentVolumeClaim" in volume:
            yield "PersistentVolumeClaim", volume["persistentVolumeClaim"]["claimName"]


def _references(data: dict[str, Any]) -> Iterator[tuple[str, str]]:
    kind = data["kind"]
    spec = data.get("spec", {})
    if kind in ("Deployment", "StatefulSet"):
        yield from _pod_references(spec["template"]["spec"])
    if kind == "Ingress":
        for rule in spec["rules"]:
            for path in rule["http"]["paths"]:
                yield "Service", path["backend"]["service"]["name"]
    if kind == "HorizontalPodAutoscaler":
        yield spec["scaleTargetRef"]["kind"], spec["scaleTargetRef"]["name"]
    if kind == "PersistentVolumeClaim" and "volumeName" in spec:
        yield "PersistentVolume", spec["volumeName"]


def test_config_map_values_are_strings_whatever_the_python_value(
    artifacts: dict[str, Artifact],
) -> None:
    data = yaml.safe_load(artifacts["k8s-shop/api/k8s/30-configmap-api-settings.yaml"].text)["data"]
    assert data == {
        "SERVER_PORT": "8080",
        "FEATURE_SEARCH": "true",
        "RATIO": "0.25",
        "GREETING": "yes",
        "SWITCH": "on",
        "ZIP": "0123",
        "AMOUNT": "1e3",
        "NOTHING": "null",
        "TILDE": "~",
        "MULTILINE": "line one\nline two\n",
        "UNICODE": "주문 ✓",
    }
    for _, manifest in [
        ("", yaml.safe_load(a.text)) for a in artifacts.values() if a.kind == "manifest"
    ]:
        if manifest["kind"] == "ConfigMap":
            assert all(isinstance(v, str) for v in manifest["data"].values())


def test_no_secret_manifest_is_ever_rendered(
    artifacts: dict[str, Artifact], projects: dict[str, Project]
) -> None:
    assert all(
        yaml.safe_load(a.text)["kind"] != "Secret"
        for a in artifacts.values()
        if a.kind == "manifest"
    )
    declared = [
        o
        for p in projects.values()
        for _, r in p.runtimes
        for o in r.objects
        if isinstance(o, Secret)
    ]
    assert len(declared) >= 5  # the seed and the fixtures do declare Secrets


def test_manifest_files_are_the_objects_in_apply_order(
    artifacts: dict[str, Artifact], projects: dict[str, Project]
) -> None:
    for project in projects.values():
        shared = shared_objects(project)
        folders = [
            (c.name, environment, runtime)
            for c in project.components
            for environment, runtime in rendered_runtimes(project, c)
        ]
        folders += [(b.name, None, b.runtime) for b in project.backing_services]
        for name, environment, runtime in folders:
            paths = [
                manifest_path(project, name, o, environment, shared)
                for o in rendered_objects(runtime)
            ]
            # Applied by name: the shared objects first by rank like the others.
            assert sorted(paths, key=lambda p: p.rsplit("/", 1)[1]) == paths
            assert all(p in artifacts for p in paths)
            folder = manifest_dir(project, name, environment)
            rendered = sorted(
                p
                for p in artifacts
                if p.startswith(f"{folder}/") and "/" not in p[len(folder) + 1 :]
            )
            assert rendered == [p for p in paths if p.startswith(f"{folder}/")]
    # The namespace the shop's runtimes share is written once, ranked first (applied before
    # what lives in it, since kubectl applies files by name).
    assert "k8s-shop/_shared/k8s/00-namespace-shop.yaml" in artifacts
    assert not [p for p in artifacts if p.startswith("k8s-shop/api/k8s/00-")]


def test_no_object_is_written_twice_in_a_project(
    artifacts: dict[str, Artifact], projects: dict[str, Project]
) -> None:
    shared_files = 0
    for project in projects.values():
        seen: dict[tuple[str, str, str, str], str] = {}
        for path, artifact in sorted(artifacts.items()):
            if artifact.kind != "manifest" or not path.startswith(f"{project.name}/"):
                continue
            data = yaml.safe_load(artifact.text)
            metadata = data["metadata"]
            folder = path.split("/k8s/", 1)[1].rpartition("/")[0]  # the environment, if any
            key = (folder, data["kind"], metadata.get("namespace", ""), metadata["name"])
            assert key not in seen, f"{path} repeats {seen.get(key)}"
            seen[key] = path
            shared_files += "/_shared/" in path
    # Namespaces several runtimes live in are among them (k8s-shop, environments).
    assert shared_files >= 3


def test_seed_cluster(artifacts: dict[str, Artifact]) -> None:
    def load(path: str) -> dict[str, Any]:
        return yaml.safe_load(artifacts[f"lat32t/{path}"].text)  # type: ignore[no-any-return]

    frontend = load("frontend/k8s/40-service-frontend.yaml")
    assert frontend["spec"]["type"] == "LoadBalancer"
    nginx = load("frontend/k8s/30-configmap-frontend-nginx.yaml")["data"]["default.conf"]
    # Proxied by the Service's DNS name, looked up per request (the backend may start later).
    assert nginx.count(" http://backend.default.svc.cluster.local:8080;") == 2
    assert nginx.count("proxy_pass $upstream_") == 2
    assert "resolver kube-dns.kube-system.svc.cluster.local" in nginx
    assert "location /ws {" in nginx
    assert "proxy_set_header Upgrade $http_upgrade;" in nginx
    backend = load("backend/k8s/50-deployment-backend.yaml")
    (container,) = backend["spec"]["template"]["spec"]["containers"]
    assert container["envFrom"] == [
        {"configMapRef": {"name": "backend-config"}},
        {"secretRef": {"name": "backend"}},
    ]
    config = load("backend/k8s/30-configmap-backend-config.yaml")["data"]
    assert config["DB_URL"] == "jdbc:mariadb://mariadb.default.svc.cluster.local:3306/ssm"
    db = load("mariadb/k8s/60-statefulset-mariadb.yaml")
    (mount,) = db["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]
    (claim,) = db["spec"]["volumeClaimTemplates"]
    assert mount == {"name": claim["metadata"]["name"], "mountPath": "/var/lib/mysql"}
    assert claim["spec"]["resources"]["requests"]["storage"] == "10Gi"
    assert load("mariadb/k8s/40-service-mariadb.yaml")["spec"]["type"] == "ClusterIP"
