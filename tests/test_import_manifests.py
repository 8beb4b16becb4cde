"""``pipedsl import --manifests``: a team's Kubernetes YAML becomes typed ``runtime=`` objects.

The seed team's hand-written manifests (``tests/fixtures/manifests/seed``, in its style:
``app:`` labels, unnamed ports, a ``VERSION`` placeholder, Secret values in the repository)
import, with its Jenkinsfiles, to a project that renders exactly what ``projects/lat32t.py``
renders; every manifest pipedsl renders for its fixture projects reads back to the same
object; and what the model cannot carry is named, never silently lost.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipedsl import (
    Credential,
    Deployment,
    DockerHub,
    Project,
    SecretKey,
    Service,
    SshServer,
    npm_frontend,
    spring_boot_backend,
)
from pipedsl.importer import ImportRefused, import_jenkinsfiles
from pipedsl.importer.cluster import Cluster, read_manifests
from pipedsl.importer.cluster.cluster import IMPORTED
from pipedsl.load import load_project
from pipedsl.model.k8s.config import Secret
from pipedsl.model.k8s.custom import CustomObject
from pipedsl.model.k8s.runtime import Runtime
from pipedsl.render import render_project
from pipedsl.render.manifests import manifest
from tests.test_import import LAT32T, SEED, assert_ruff_clean, read, render_source

MANIFESTS = Path(__file__).parent / "fixtures" / "manifests" / "seed"
PROJECTS = sorted((Path(__file__).parent / "fixtures" / "projects").glob("*.py"))
REPOSITORY = "https://github.com/acme/shop.git"


def seed_manifests() -> list[tuple[str, str]]:
    return [
        (p.relative_to(MANIFESTS).as_posix(), p.read_text(encoding="utf-8"))
        for p in sorted(MANIFESTS.rglob("*.yaml"))
    ]


def seed_import() -> Any:
    return import_jenkinsfiles(
        read(SEED / "backend.Jenkinsfile", SEED / "frontend.Jenkinsfile"),
        project="lat32t",
        manifests=seed_manifests(),
    )


def _comparable(path: str, text: str) -> object:
    if path.endswith(".yaml") and "/k8s/" in path:
        return list(yaml.safe_load_all(text))
    return [line for line in text.splitlines() if "lat32t.py" not in line]


# --- the seed team ----------------------------------------------------------------------------


def test_seed_import_renders_what_lat32t_renders(tmp_path: Path) -> None:
    """Jenkinsfiles, jobs and every manifest are lat32t.py's; only the Jenkins setup differs,
    by the tool versions, which live in Jenkins and in no Jenkinsfile."""
    imported = render_source(seed_import().source, tmp_path, "lat32t")
    ours = {a.path: a.text for a in render_project(load_project(LAT32T))}
    assert sorted(imported) == sorted(ours)
    compared = [p for p in ours if "/jenkins/" not in p]
    assert len([p for p in compared if "/k8s/" in p]) == 8
    for path in compared:
        assert _comparable(path, imported[path]) == _comparable(path, ours[path]), path


def test_seed_import_gives_typed_runtimes_and_a_backing_service() -> None:
    source = seed_import().source
    assert "runtime=Runtime([backend_config, backend_secret, backend_service, " in source
    assert 'BackingService(\n            "mariadb",' in source
    assert 'hub.tagged("backend-{build}"),\n            ports=[ContainerPort("http", 8080)]' in (
        source
    )
    assert "VERSION" not in source.split('"""', 2)[2]


def test_seed_secret_values_never_reach_the_project_or_the_report() -> None:
    result = seed_import()
    everything = result.source + "\n".join(str(line) for line in result.report)
    for manifest_path, text in seed_manifests():
        for doc in yaml.safe_load_all(text):
            if doc.get("kind") != "Secret":
                continue
            for value in (doc.get("data") or {}).values():
                assert value not in everything, manifest_path
                assert base64.b64decode(value).decode() not in everything, manifest_path
            for value in (doc.get("stringData") or {}).values():
                assert value not in everything, manifest_path
    assert 'Secret(\n    "mariadb",\n    keys=["MARIADB_ROOT_PASSWORD"' in result.source


def test_seed_report_says_what_changed() -> None:
    report = [str(line) for line in seed_import().report]
    assert (
        "backend/k8s/backend.yaml:11: converted: Secret 'backend' with its values in the "
        "repository — everyone with the repository can read them; pipedsl declares its keys "
        "only: create it in the cluster (kubectl create secret generic backend "
        "--from-env-file=...) and delete the file's values"
    ) in report
    assert any(
        r.startswith(
            "backend/k8s/deployment.yaml:1: converted: image hosin/lat32t:VERSION in Deployment "
            "'backend' — the deploy now runs exactly the image backend's pipeline pushed"
        )
        for r in report
    )
    assert any(
        r.startswith("db/mariadb.yaml:12: converted: selector app=mariadb of StatefulSet")
        for r in report
    )
    assert [r for r in report if ": raw: " in r] == []


# --- every manifest pipedsl renders reads back to the same object -----------------------------

IMPORTED_KINDS = set(IMPORTED) - {"Secret"}  # pipedsl writes no manifest of a Secret


def _imported(obj: object) -> bool:
    return isinstance(obj, CustomObject) or getattr(obj, "kind", None) in IMPORTED_KINDS


def _runtimes(path: Path) -> Iterator[tuple[str, Runtime, dict[str, Any]]]:
    project = load_project(path)
    images = {c.name: c.image for c in project.components if c.image is not None}
    for component in project.components:
        if component.runtime is not None:
            yield component.name, component.runtime, images
    for service in project.backing_services:
        yield service.name, service.runtime, images


def _secret_document(secret: Secret) -> dict[str, Any]:
    meta = {"name": secret.name, "namespace": secret.namespace}
    return {"apiVersion": "v1", "kind": "Secret", "metadata": meta, "stringData": {}} | {
        "data": dict.fromkeys(secret.keys, "")
    }


@pytest.mark.parametrize("path", PROJECTS, ids=[p.stem for p in PROJECTS])
def test_rendered_manifests_read_back_to_the_same_objects(path: Path) -> None:
    """Each object of an imported kind converts from its rendered manifest back to an object
    rendering the same manifest."""
    checked = 0
    for _, runtime, images in _runtimes(path):
        texts = [
            yaml.safe_dump(manifest(o), sort_keys=False) for o in runtime.objects if _imported(o)
        ]
        texts += [yaml.safe_dump(_secret_document(s)) for s in runtime.needed_secrets]
        documents = [m for i, t in enumerate(texts) for m in read_manifests(f"k8s/{i}.yaml", t)]
        others = [
            d
            for _, other, _ in _runtimes(path)
            if other is not runtime
            for o in other.objects
            if _imported(o)
            for d in read_manifests("other.yaml", yaml.safe_dump(manifest(o), sort_keys=False))
        ]
        cluster = Cluster(documents + _unclashing(others, documents), images, {})
        for obj in runtime.objects:
            if not _imported(obj) or obj.kind == "Secret":
                continue
            document = next(d for d in documents if (d.kind, d.name) == (obj.kind, obj.name))
            converted = cluster.convert(document)
            assert manifest(converted) == manifest(obj), (obj.kind, obj.name)
            checked += 1
    if any(True for _ in _runtimes(path)):
        assert checked, "no object of the project's runtimes was checked"


def test_the_round_trip_covers_every_imported_kind() -> None:
    """Every kind the import converts (a Secret has no manifest to read back) is rendered by
    some fixture project, so the round trip above checks it."""
    rendered = {
        o.kind for path in PROJECTS for _, runtime, _ in _runtimes(path) for o in runtime.objects
    }
    assert rendered >= IMPORTED_KINDS, IMPORTED_KINDS - rendered


def _unclashing(others: list[Any], mine: list[Any]) -> list[Any]:
    keys = {d.key for d in mine}
    unique: dict[Any, Any] = {}
    for document in others:
        if document.key not in keys:
            unique.setdefault(document.key, document)
    return list(unique.values())


# --- what is refused, and what stays hand-written ---------------------------------------------

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop
spec:
  selector:
    matchLabels: {app: shop}
  template:
    metadata:
      labels: {app: shop}
    spec:
      containers:
        - name: shop
          image: acme/shop:latest
          ports:
            - containerPort: 8080
          env:
            - name: TOKEN
              valueFrom:
                secretKeyRef: {name: shop-api, key: token}
"""

SERVICE = """\
apiVersion: v1
kind: Service
metadata:
  name: shop
spec:
  selector: {app: shop}
  ports:
    - port: 80
      targetPort: 8080
"""

JENKINSFILE = """\
pipeline {
    agent any
    stages {
        stage('Build') {
            steps {
                sh 'docker build -t acme/shop:${BUILD_NUMBER} shop'
                sh 'docker push acme/shop:${BUILD_NUMBER}'
            }
        }
    }
}
"""


def _import_shop(*manifests: tuple[str, str]) -> Any:
    return import_jenkinsfiles(
        [("shop/Jenkinsfile", JENKINSFILE)],
        project="shop",
        repository=REPOSITORY,
        manifests=list(manifests),
    )


def test_a_pipeline_without_a_manifest_deploy_keeps_its_files() -> None:
    """A pipeline that ships no manifests has no deploy to turn to the runtime: said."""
    result = _import_shop(("shop/k8s/app.yaml", DEPLOYMENT + "---\n" + SERVICE))
    assert "runtime=" not in result.source
    assert any(
        "kept as hand-written files: the pipeline ships them with other files" in str(line)
        for line in result.report
    )


API = Path(__file__).parent / "fixtures" / "jenkinsfiles" / "constructs" / "api.Jenkinsfile"


def test_a_typed_pipeline_deploys_the_imported_runtime(tmp_path: Path) -> None:
    """The constructs' api pipeline ships deploy/*.yaml over SSH and applies the folder: its
    steps become ShipManifests and ApplyManifests of the runtime the files describe."""
    text = DEPLOYMENT.replace("acme/shop:latest", "ghcr.io/acme/api:VERSION") + "---\n" + SERVICE
    result = import_jenkinsfiles(
        [("api/Jenkinsfile", API.read_text(encoding="utf-8"))],
        project="demo",
        repository=REPOSITORY,
        manifests=[("deploy/app.yaml", text)],
    )
    assert 'ShipManifests(k8s_master, "apps/api")' in result.source
    assert 'ApplyManifests(k8s_master, "apps/api")' in result.source
    assert "runtime=Runtime([" in result.source
    assert result.shipped == ()
    rendered = render_source(result.source, tmp_path, "demo")
    assert "demo/api/k8s/50-deployment-shop.yaml" in rendered
    assert "kubectl set image" in rendered["demo/api/Jenkinsfile"]


def test_unnamed_ports_a_referenced_secret_and_the_pushed_image() -> None:
    cluster = Cluster(
        read_manifests("app.yaml", DEPLOYMENT + "---\n" + SERVICE),
        {"shop": load_image("acme/shop", "{build}")},
        {"shop": ("app.yaml",)},
    )
    assigned = cluster.assign()
    (runtime,) = assigned.components.values()
    deployment = next(o for o in runtime.objects if isinstance(o, Deployment))
    service = next(o for o in runtime.objects if isinstance(o, Service))
    container = deployment.containers[0]
    assert [(p.name, p.number) for p in container.ports] == [("port-8080", 8080)]
    assert container.image == load_image("acme/shop", "{build}")
    token = dict(container.env)["TOKEN"]
    assert isinstance(token, SecretKey)
    secret = token.secret
    assert (secret.name, secret.keys) == ("shop-api", ("token",))
    assert manifest(service)["spec"]["ports"] == [
        {"name": "port-8080", "port": 80, "targetPort": "port-8080", "protocol": "TCP"}
    ]


def load_image(repository: str, tag: str) -> Any:
    return DockerHub(repository).tagged(tag)


@pytest.mark.parametrize(
    ("text", "named"),
    [
        (
            DEPLOYMENT.replace("      containers:", "      affinity: {}\n      containers:"),
            "affinity",
        ),
        (
            DEPLOYMENT.replace("kind: Deployment", "kind: DaemonSet"),
            "kind DaemonSet is not imported",
        ),
        (DEPLOYMENT.replace("acme/shop:latest", "nginx:latest"), "':latest' changes"),
        (DEPLOYMENT + "---\n" + SERVICE.replace("app: shop", "app: other"), "selects no workload"),
        (
            DEPLOYMENT.replace("apps/v1", "argoproj.io/v1alpha1").replace(
                "kind: Deployment", "kind: Rollout"
            ),
            "kind Rollout runs shop's image acme/shop,",
        ),
    ],
    ids=["unknown-field", "unknown-kind", "public-latest", "selector-misses", "custom-runs-image"],
)
def test_what_cannot_convert_is_named(text: str, named: str) -> None:
    images = {"shop": load_image("acme/shop", "{build}")}
    cluster = Cluster(read_manifests("app.yaml", text), images, {})
    report = [str(line) for line in cluster.assign().report]
    assert any(named in line and ": raw: " in line for line in report), report
    refused = {line.split(": raw: ")[0] for line in report if ": raw: " in line}
    # Nothing is said to have been converted in a document that was not.
    assert not any(line.split(": converted: ")[0] in refused for line in report), report
    assert all(line.startswith("app.yaml:") for line in report)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("kind: [", "app.yaml:1: not a YAML manifest"),
        ("- a\n- b\n", "app.yaml:1: not a Kubernetes object"),
        ("kind: Service\nmetadata: {}\n", "app.yaml:1: Service without metadata.name"),
        (
            SERVICE + "---\n" + SERVICE,
            "app.yaml:11: Service 'shop' in namespace 'default' is also defined at app.yaml:1",
        ),
        ("kind: Service\nmetadata: {name: 5}\n", "app.yaml:1: Service without metadata.name"),
        ("kind: X\nmetadata: {name: x, namespace: 5}\n", "app.yaml:1: X's metadata.namespace"),
        ("kind: X\nmetadata: {name: x}\nspec: " + "[" * 2000 + "]" * 2000, "app.yaml: not a YAML"),
    ],
)
def test_a_broken_manifest_file_is_refused_with_its_line(text: str, message: str) -> None:
    with pytest.raises(ImportRefused) as caught:
        _import_shop(("app.yaml", text))
    assert str(caught.value).startswith(message), str(caught.value)


def test_a_password_written_into_env_becomes_a_secret_reference() -> None:
    text = DEPLOYMENT.replace(
        "          env:\n",
        "          env:\n            - name: DB_PASSWORD\n              value: hunter2-in-yaml\n"
        "            - name: DB_HOST\n              value: db\n",
    )
    result = _import_shop(("shop/k8s/app.yaml", text))
    cluster = Cluster(
        read_manifests("app.yaml", text), {"shop": load_image("acme/shop", "{build}")}, {}
    )
    assigned = cluster.assign()
    (runtime,) = assigned.components.values()
    deployment = next(o for o in runtime.objects if isinstance(o, Deployment))
    env = dict(deployment.containers[0].env)
    assert env["DB_HOST"] == "db"
    password = env["DB_PASSWORD"]
    assert isinstance(password, SecretKey)
    assert (password.secret.name, password.key) == ("shop-env", "DB_PASSWORD")
    said = [str(line) for line in assigned.report] + [str(line) for line in result.report]
    assert any("converted: env DB_PASSWORD of Deployment 'shop'" in line for line in said)
    assert "hunter2-in-yaml" not in result.source + "\n".join(said)


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (
            ("            - name: TOKEN\n", "            - TOKEN\n            - name: TOKEN\n"),
            "env[0] is not a mapping",
        ),
        (("            - containerPort: 8080", "            - null"), "ports[0] is not a mapping"),
        (
            ("            - containerPort: 8080", "            - name: web"),
            "containerPort: required",
        ),
        (("      containers:\n", "      containers: abc\n      x:\n"), "containers is not a list"),
        (("      containers:\n", "      volumes: [abc]\n      containers:\n"), "volumes[0] is not"),
    ],
    ids=["env-item", "port-item", "port-number", "containers", "volumes"],
)
def test_misshapen_documents_are_named_not_crashed_on(change: tuple[str, str], named: str) -> None:
    result = _import_shop(("shop/k8s/app.yaml", DEPLOYMENT.replace(*change)))
    assert any(line.kind == "raw" and named in str(line) for line in result.report), [
        str(line) for line in result.report
    ]


def test_a_backing_service_carries_the_secrets_only_its_readers_name() -> None:
    """A workload no component builds, reading a Secret no manifest declares, becomes a
    backing service whose runtime declares that Secret by the keys read."""
    text = DEPLOYMENT.replace("acme/shop:latest", "registry.example.com:5000/team/app:1.2")
    result = _import_shop(("shop/k8s/app.yaml", text))
    assert 'Secret("shop-api", keys=["token"])' in result.source
    assert "backing_services=[" in result.source
    assert not [line for line in result.report if line.kind == "raw" and "yaml" in line.file]


def test_other_api_groups_kinds_are_kept_as_custom_objects() -> None:
    certificate = (
        "apiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata: {name: shop-tls}\n"
        "spec:\n  secretName: shop-tls\n  dnsNames: [shop.example.com]\n"
        "  issuerRef: {name: letsencrypt, kind: ClusterIssuer}\n"
    )
    assigned = Cluster(read_manifests("tls.yaml", certificate), {}, {}).assign()
    (runtime,) = assigned.backing.values()
    (custom,) = runtime.objects
    assert manifest(custom)["spec"]["dnsNames"] == ["shop.example.com"]


def test_a_custom_object_is_written_as_its_document(tmp_path: Path) -> None:
    certificate = (
        "apiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata: {name: shop-tls}\n"
        "spec:\n  secretName: shop-tls\n  duration: 2160h\n  renewBeforeRatio: 0.5\n"
        "  dnsNames: [shop.example.com]\n"
    )
    result = import_jenkinsfiles(
        read(SEED / "backend.Jenkinsfile", SEED / "frontend.Jenkinsfile"),
        project="lat32t",
        manifests=[*seed_manifests(), ("tls.yaml", certificate)],
    )
    assert "shop_tls_certificate = CustomObject.of(" in result.source
    rendered = render_source(result.source, tmp_path, "lat32t")
    (path,) = [p for p in rendered if p.startswith("lat32t/shop-tls/")]
    assert yaml.safe_load(rendered[path])["spec"]["renewBeforeRatio"] == 0.5


# --- found by an adversarial review: every case is refused by name, converted, or said ------

WORKLOAD = DEPLOYMENT.replace("acme/shop:latest", "acme/worker:1.0")  # a backing service


def _pod(extra: str) -> str:
    return WORKLOAD.replace("      containers:\n", f"{extra}      containers:\n")


@pytest.mark.parametrize(
    ("text", "said"),
    [
        (
            "apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {name: ro}\nspec:\n"
            "  template: {spec: {containers: [{name: c, image: other/img:1,\n"
            "    env: [{name: DB_PASSWORD, value: LEAKED-PW-1}]}]}}\n",
            "env[0].value holds a secret written into the manifest",
        ),
        (
            "apiVersion: example.com/v1\nkind: Thing\nmetadata: {name: t}\n"
            "stringData: {password: LEAKED-PW-2}\n",
            "Thing.stringData holds a secret",
        ),
        (
            "apiVersion: example.com/v1\nkind: Thing\nmetadata: {name: t}\nspec: &a {self: *a}\n",
            "refers to itself",
        ),
        (
            "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: h}\n"
            "spec: {scaleTargetRef: {kind: Deployment, name: {a: b}}, maxReplicas: 3}\n",
            "expected the name of a Deployment",
        ),
        (_pod("      securityContext: {supplementalGroups: 1000}\n"), "supplementalGroups"),
        (_pod("      volumes: [{name: v, secret: {secretName: s, items: [{key: [a], path: p}]}}]\n"),
         "volumes[0]"),
        (_pod("      serviceAccount: other\n"), "ServiceAccount 'other'"),
        (_pod("      schedulerName: mine\n"), "schedulerName 'mine'"),
        (WORKLOAD.replace("          ports:", "          imagePullPolicy: Never\n          ports:"),
         "imagePullPolicy 'Never'"),
        (WORKLOAD + "---\n" + SERVICE.replace("spec:\n", "spec:\n  clusterIP: None\n"),
         "headless"),
        (WORKLOAD.replace("  name: shop\n", "  name: shop\n  labels: {team: payments}\n", 1),
         "dropped: labels team=payments"),
    ],
    ids=["custom-env", "custom-data", "alias-loop", "ref-not-a-name", "groups-int",
         "item-key-list", "account-alias", "scheduler", "pull-never", "headless", "labels"],
)  # fmt: skip
def test_nothing_is_lost_leaked_or_crashed_on(text: str, said: str, tmp_path: Path) -> None:
    result = _import_shop(("shop/k8s/app.yaml", text))
    everything = result.source + "\n".join(str(line) for line in result.report)
    assert "LEAKED" not in everything
    assert any(said in str(line) for line in result.report), [str(r) for r in result.report]
    render_source(result.source, tmp_path, "shop")


def test_a_password_moved_to_a_secret_renders(tmp_path: Path) -> None:
    """The Secret the env passwords move to is declared in the runtime, so the project
    renders with it (a backing service here: no preset builds the workload)."""
    text = WORKLOAD.replace(
        "          env:\n",
        "          env:\n            - name: DB_PASSWORD\n              value: x1\n",
    )
    result = _import_shop(("shop/k8s/app.yaml", text))
    assert 'Secret("shop-env", keys=["DB_PASSWORD"])' in result.source
    assert not [line for line in result.report if line.kind == "raw" and "yaml" in line.file]
    render_source(result.source, tmp_path, "shop")


def test_a_key_mounted_twice_keeps_both_paths() -> None:
    text = _pod(
        "      volumes: [{name: v, secret: {secretName: s, items: [{key: a, path: p1}, "
        "{key: a, path: p2}]}}]\n"
    ).replace(
        "          env:", "          volumeMounts: [{name: v, mountPath: /s}]\n          env:"
    )
    result = _import_shop(("shop/k8s/app.yaml", text))
    assert 'items=[("a", "p1"), ("a", "p2")]' in result.source


def test_an_assumed_namespace_is_declared(tmp_path: Path) -> None:
    text = WORKLOAD.replace("  name: shop\n", "  name: shop\n  namespace: prod\n", 1)
    result = _import_shop(("shop/k8s/app.yaml", text))
    assert any("converted: namespace 'prod'" in str(line) for line in result.report)
    assert 'Namespace("prod")' in result.source
    render_source(result.source, tmp_path, "shop")


def test_the_imported_runtime_source_is_ruff_formatted_and_clean(tmp_path: Path) -> None:
    path = tmp_path / "lat32t.py"
    path.write_text(seed_import().source, encoding="utf-8")
    assert_ruff_clean(path)


def test_files_of_a_folder_that_are_no_manifests_are_said_and_left_out(tmp_path: Path) -> None:
    """A folder given to --manifests may hold a chart's files, templates or a kustomization:
    each is a raw line, and the manifests beside them still import."""
    files = [
        ("k8s/Chart.yaml", "apiVersion: v2\nname: shop\nversion: 0.1.0\n"),
        ("k8s/values.yaml", "replicaCount: 2\nimage: {tag: latest}\n"),
        ("k8s/templates/deploy.yaml", "kind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\n"),
        (
            "k8s/kustomization.yaml",
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
            "metadata: {name: shop}\nresources: [deploy.yaml]\n",
        ),
        ("k8s/app.yaml", WORKLOAD),
    ]
    result = _import_shop(*files)
    raw = {line.file: line.why for line in result.report if line.kind == "raw"}
    assert "no Kubernetes object in it" in raw["k8s/Chart.yaml"]
    assert "no Kubernetes object in it" in raw["k8s/values.yaml"]
    assert "a template" in raw["k8s/templates/deploy.yaml"]
    assert "a kustomize file" in raw["k8s/kustomization.yaml"]
    assert 'BackingService("shop-2", runtime=Runtime([shop_api_secret, shop_deployment]))' in (
        result.source
    )
    render_source(result.source, tmp_path, "shop")


def test_kept_manifests_have_their_rollout_named_as_they_name_it(tmp_path: Path) -> None:
    """The seed repository's own manifests name the backend's Deployment and container
    otherwise than the component: the rollout that replaces the `sed` names them as the files
    do, even where the files stay hand-written (here, for a field pipedsl has no place for)."""
    deployment = (
        DEPLOYMENT.replace("acme/shop:latest", "hosin/lat32t:backend1.VERSION")
        .replace("name: shop\n", "name: ssm-backend-deployment\n", 1)
        .replace("- name: shop\n", "- name: ssm-service-container\n")
        .replace("      containers:", "      nodeSelector: {disk: ssd}\n      containers:")
    )
    result = import_jenkinsfiles(
        read(SEED / "backend.Jenkinsfile"),
        project="lat32t",
        manifests=[("backend/k8s/deployment.yaml", deployment)],
    )
    assert 'deployment="ssm-backend-deployment",\n    container="ssm-service-container",' in (
        result.source
    )
    assert any(
        "converted: the rollout of backend — rolls Deployment 'ssm-backend-deployment', "
        "container 'ssm-service-container'" in str(line)
        for line in result.report
    )
    jenkinsfile = render_source(result.source, tmp_path, "lat32t")["lat32t/backend/Jenkinsfile"]
    assert "kubectl set image deployment/ssm-backend-deployment ssm-service-container=" in (
        jenkinsfile
    )


@pytest.mark.parametrize("preset", [spring_boot_backend, npm_frontend])
def test_a_preset_rolls_the_deployment_and_container_it_is_given(preset: Any) -> None:
    api = preset(
        "api",
        image=DockerHub("acme/api", login=Credential.username_password("hub")).tagged("{build}"),
        deploy=SshServer("master"),
        deployment="api-server",
        container="main",
    )
    project = Project("demo", repository=REPOSITORY, components=[api])
    jenkinsfile = {a.path: a.text for a in render_project(project)}["demo/api/Jenkinsfile"]
    assert "kubectl set image deployment/api-server main=${env.IMAGE}" in jenkinsfile


def test_credentials_in_a_config_map_move_to_a_secret(tmp_path: Path) -> None:
    config = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\n"
        "data: {DB_URL: 'jdbc:mariadb://db:3306/app', DB_PASSWORD: LEAKED-CM-PW}\n"
    )
    workload = WORKLOAD.replace(
        "          env:\n",
        "          envFrom: [{configMapRef: {name: settings}}]\n          env:\n"
        "            - name: PASSWORD_AGAIN\n"
        "              valueFrom: {configMapKeyRef: {name: settings, key: DB_PASSWORD}}\n",
    )
    result = _import_shop(("k8s/settings.yaml", config), ("k8s/app.yaml", workload))
    assert "LEAKED" not in result.source + "\n".join(str(line) for line in result.report)
    assert 'ConfigMap("settings", {"DB_URL": "jdbc:mariadb://db:3306/app"})' in result.source
    assert 'Secret("settings-secret", keys=["DB_PASSWORD"])' in result.source
    assert "env_from=[settings_config, settings_secret]" in result.source
    assert '"PASSWORD_AGAIN": SecretKey(settings_secret, "DB_PASSWORD")' in result.source
    assert any(
        "converted: credentials DB_PASSWORD in ConfigMap 'settings'" in str(line)
        for line in result.report
    )
    render_source(result.source, tmp_path, "shop")


def test_a_config_map_key_without_a_value_is_named() -> None:
    config = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  JWT_EXP_TIME_MS:\n"
    report = [
        str(line) for line in Cluster(read_manifests("c.yaml", config), {}, {}).assign().report
    ]
    assert report == [
        "c.yaml:1: raw: ConfigMap 'c' — not imported: data.JWT_EXP_TIME_MS has no value (YAML "
        "null, which Kubernetes refuses); it stays a hand-written manifest"
    ]


# --- second review -------------------------------------------------------------------------

SETTINGS = (
    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\n"
    "data: {DB_URL: u, DB_PASSWORD: x}\n"
)


def test_a_split_config_map_stays_whole_while_a_reader_stays_hand_written() -> None:
    reader = _pod("      schedulerName: mine\n").replace(
        "          env:\n",
        "          envFrom: [{configMapRef: {name: settings}}]\n          env:\n",
    )
    result = _import_shop(("k8s/settings.yaml", SETTINGS), ("k8s/app.yaml", reader))
    assert "ConfigMap(" not in result.source
    report = [str(line) for line in result.report]
    assert any(
        "raw: ConfigMap 'settings' — not imported: Deployment 'shop', which stays hand-written, "
        "reads its credentials" in line
        for line in report
    ), report
    assert not any("converted: credentials" in line for line in report)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        (
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [a.yaml]\n",
            "a kustomize file",
        ),
        ("kind: web\nreplicaCount: 2\n", "no Kubernetes object in it"),
        (
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n"
            "  DB_URL: '{{ .Values.url }}'\n",
            "a template",
        ),
    ],
    ids=["kustomization", "values-with-kind", "template-that-parses"],
)
def test_files_that_are_no_manifests_whatever_their_shape(text: str, why: str) -> None:
    result = _import_shop(("k8s/x.yaml", text))
    (line,) = [r for r in result.report if r.file == "k8s/x.yaml"]
    assert line.kind == "raw"
    assert why in line.why
    assert "ConfigMap(" not in result.source


def test_a_typo_in_a_manifest_is_still_refused() -> None:
    with pytest.raises(ImportRefused, match="not a Kubernetes object"):
        _import_shop(("k8s/x.yaml", "apiVersion: v1\nKind: ConfigMap\nmetadata: {name: c}\n"))


def test_a_rollout_in_another_namespace_or_of_a_stateful_set_is_typed(tmp_path: Path) -> None:
    """A preset's rollout names a Deployment of the default namespace only: otherwise the
    component is its typed stages, whose rollout says the namespace and kind."""
    statefulset = (
        DEPLOYMENT.replace("acme/shop:latest", "hosin/lat32t:VERSION")
        .replace("kind: Deployment", "kind: StatefulSet")
        .replace("name: shop\n", "name: be\n  namespace: prod\n", 1)
        .replace("      containers:", "      nodeSelector: {disk: ssd}\n      containers:")
    )
    result = import_jenkinsfiles(
        read(SEED / "backend.Jenkinsfile"),
        project="lat32t",
        manifests=[("backend/k8s/db.yaml", statefulset)],
    )
    assert "spring_boot_backend(" not in result.source
    assert any(
        "rolls StatefulSet 'be', container 'shop', in namespace 'prod'" in str(line)
        for line in result.report
    )
    jenkinsfile = render_source(result.source, tmp_path, "lat32t")["lat32t/backend/Jenkinsfile"]
    assert "statefulset/be" in jenkinsfile
    assert "-n prod" in jenkinsfile


def test_two_workloads_running_the_image_are_said() -> None:
    two = DEPLOYMENT.replace("acme/shop:latest", "hosin/lat32t:VERSION").replace(
        "      containers:", "      nodeSelector: {disk: ssd}\n      containers:"
    )
    second = two.replace("name: shop\n", "name: shop2\n", 1)
    result = import_jenkinsfiles(
        read(SEED / "backend.Jenkinsfile"),
        project="lat32t",
        manifests=[("backend/k8s/a.yaml", two), ("backend/k8s/b.yaml", second)],
    )
    assert any(
        "raw: the rollout of backend — the shipped manifests run the pushed image in "
        "Deployment 'shop' container 'shop', Deployment 'shop2' container 'shop'" in str(line)
        for line in result.report
    )


def test_a_service_of_a_bare_pod_says_so() -> None:
    pod = (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: db, labels: {app: db}}\n"
        "spec: {containers: [{name: db, image: 'mariadb:11.4'}]}\n"
    )
    service = SERVICE.replace("app: shop", "app: db").replace("name: shop", "name: db")
    report = [
        str(line)
        for line in Cluster(read_manifests("db.yaml", pod + "---\n" + service), {}, {})
        .assign()
        .report
    ]
    assert any(
        "spec.selector {'app': 'db'} selects the pods of Pod 'db'; pipedsl's Service exposes a "
        "Deployment or StatefulSet" in line
        for line in report
    ), report
