"""The manifest defects of DESIGN.md, each impossible to write or rejected by exact message;
and the whole-project check reporting several at once, each with its object path."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import yaml

from pipedsl import (
    BackingService,
    ClaimTemplate,
    ConfigMap,
    Container,
    ContainerPort,
    Credential,
    Deployment,
    DockerHub,
    HorizontalPodAutoscaler,
    HttpGet,
    ModelError,
    Namespace,
    PersistentVolume,
    PersistentVolumeClaim,
    Probe,
    Project,
    Resources,
    RollingUpdate,
    Runtime,
    Secret,
    Service,
    ServicePort,
    SshServer,
    StatefulSet,
    VolumeMount,
    mariadb,
    nginx_frontend,
    postgres,
    spring_boot_backend,
    spring_boot_service,
    validate_project,
)
from pipedsl.render.escape import yaml_document
from pipedsl.render.manifests import manifest

HUB = DockerHub("acme/app", login=Credential.username_password("hub"))
REPO = "https://github.com/acme/app.git"
HTTP = ContainerPort("http", 8080)


def _raises(build: Callable[[], object]) -> str:
    with pytest.raises(ModelError) as info:
        build()
    return str(info.value)


def _web() -> Deployment:
    return Deployment("api", [Container("api", "nginx:1.27", ports=[HTTP])])


CONSTRUCTION: dict[str, tuple[Callable[[], object], str]] = {
    "secret-looking key in a ConfigMap": (
        lambda: ConfigMap("settings", {"DB_PASSWORD": "hunter2"}),
        "ConfigMap.data: 'DB_PASSWORD' looks like a credential; ConfigMaps are readable by anyone "
        "who can read the namespace and are committed to the repository: declare the key in a "
        "Secret(\"...\", keys=['DB_PASSWORD']) instead",
    ),
    "cloud key in a ConfigMap": (
        lambda: ConfigMap("settings", {"AWS_S3_ACCESS_KEY": "AKIA..."}),
        "ConfigMap.data: 'AWS_S3_ACCESS_KEY' looks like a credential; ConfigMaps are readable by "
        "anyone who can read the namespace and are committed to the repository: declare the key "
        "in a Secret(\"...\", keys=['AWS_S3_ACCESS_KEY']) instead",
    ),
    "ConfigMap value that is no setting": (
        lambda: ConfigMap("settings", {"X": None}),
        "ConfigMap.data: the value of 'X' must be a str, int, float or bool, got NoneType None",
    ),
    "nginx proxy to an IP": (
        lambda: nginx_frontend(proxy={"/api": "10.96.0.12:8080"}),
        "nginx_frontend: proxy['/api'] must be a Component, a Service or a Proxy of one (proxied by its cluster "
        "DNS name), got str '10.96.0.12:8080'; a hard-coded address breaks when the Service is "
        "recreated",
    ),
    "probe on a port the container lacks": (
        lambda: Container(
            "api",
            "nginx:1.27",
            ports=[HTTP],
            readiness=Probe(HttpGet("/", ContainerPort("admin", 9090))),
        ),
        "Container.readiness: probes port 'admin' (9090), which container 'api' does not "
        "declare; its ports: http (8080)",
    ),
    "Service port the workload lacks": (
        lambda: Service(_web(), ports=[ContainerPort("web", 80)]),
        "Service.ports: 'web' (80) is not a port of a container of Deployment 'api'; its ports: "
        "http (8080)",
    ),
    "object name": (
        lambda: Deployment("Api_1", [Container("api", "nginx:1.27")]),
        "Deployment.name: 'Api_1' is not allowed: a DNS-1123 label: lower-case letters, digits "
        "and '-', starting and ending with a letter or digit, at most 63 characters",
    ),
    "Service name starting with a digit": (
        lambda: Service(_web(), ports=[HTTP], name="1api"),
        "Service.name: '1api' is not allowed: a DNS-1035 label: lower-case letters, digits and "
        "'-', starting with a letter, ending with a letter or digit, at most 63 characters",
    ),
    "latest image": (
        lambda: Container("api", "nginx:latest"),
        "Container.image: 'nginx:latest': ':latest' changes under a running cluster; pin a version",
    ),
    "untagged image": (
        lambda: Container("api", "nginx"),
        "Container.image: expected an Image built by a pipeline or a public image with an "
        "explicit tag such as 'mariadb:11.4', got 'nginx'",
    ),
    "undeclared Secret key": (
        lambda: Secret("api", keys=["A"]).key("B"),
        "SecretKey.key: Secret 'api' declares no key 'B'; its keys are A",
    ),
    "missing ConfigMap key": (
        lambda: ConfigMap("c", {"A": "1"}).key("B"),
        "ConfigMapKey.key: ConfigMap 'c' has no key 'B'; its keys are A",
    ),
    "database credentials without the root password": (
        lambda: mariadb(
            "db", database="app", credentials=Secret("db", keys=["MYSQL_ROOT_PASSWORD"])
        ),
        "mariadb: credentials Secret 'db' must declare MARIADB_ROOT_PASSWORD (the image refuses "
        "to start without it)",
    ),
    "database credentials the image ignores": (
        lambda: postgres(
            "db", database="app", credentials=Secret("db", keys=["POSTGRES_PASSWORD", "PGPASS"])
        ),
        "postgres: credentials Secret 'db' declares PGPASS, which the postgres image does not "
        "read; allowed: POSTGRES_PASSWORD, POSTGRES_USER",
    ),
    "autoscaler without CPU requests": (
        lambda: HorizontalPodAutoscaler(_web(), max_replicas=3),
        "HorizontalPodAutoscaler.target: CPU utilization is relative to requests, but "
        "container(s) api of Deployment 'api' request no CPU; give them resources=Resources(cpu=...)",
    ),
    "node port on a ClusterIP Service": (
        lambda: Service(_web(), ports=[ServicePort(HTTP, node_port=30001)]),
        "Service.ports: node_port needs type='NodePort' or 'LoadBalancer', not 'ClusterIP'",
    ),
    "rolling update that cannot start": (
        lambda: RollingUpdate(0, 0),
        "RollingUpdate: max_surge and max_unavailable cannot both be 0 (the rollout could never "
        "start)",
    ),
    "claim larger than its volume": (
        lambda: PersistentVolumeClaim(
            "c", storage="20Gi", volume=PersistentVolume("v", storage="10Gi", host_path="/srv")
        ),
        "PersistentVolumeClaim.storage: claims 20Gi but PersistentVolume 'v' has only 10Gi",
    ),
    "claim template in a Deployment": (
        lambda: Deployment(
            "api",
            [
                Container(
                    "api",
                    "nginx:1.27",
                    mounts=[VolumeMount(ClaimTemplate("data", storage="1Gi"), "/data")],
                )
            ],
        ),
        "Deployment 'api': ClaimTemplate 'data' is for StatefulSets; mount a ClaimVolume of a "
        "PersistentVolumeClaim instead",
    ),
    "runtime with hand-written manifests": (
        lambda: spring_boot_backend(
            "api", image=HUB.tagged(), runtime=spring_boot_service(), manifests="k8s/*.yaml"
        ),
        "spring_boot_backend: with runtime=, the manifests are rendered and the workload is "
        "known; drop manifests=, deployment= and container=",
    ),
    "runtime with a named container": (
        lambda: spring_boot_backend(
            "api", image=HUB.tagged(), runtime=spring_boot_service(), container="main"
        ),
        "spring_boot_backend: with runtime=, the manifests are rendered and the workload is "
        "known; drop manifests=, deployment= and container=",
    ),
    "unknown Service type": (
        lambda: nginx_frontend(expose="Ingress"),
        "nginx_frontend: expose must be one of ClusterIP, NodePort, LoadBalancer, got 'Ingress'",
    ),
    "ConfigMap of another namespace": (
        lambda: spring_boot_service(config=ConfigMap("c", {"A": "1"}, namespace="other")),
        "spring_boot_service: ConfigMap 'c' is in namespace 'other', the service in 'default'; "
        "pods only read their own",
    ),
    "proxy to a component without a runtime": (
        lambda: nginx_frontend(proxy={"/api": spring_boot_backend("api", image=HUB.tagged())}),
        "nginx_frontend: proxy['/api'] is component 'api', which has no runtime (so no Service "
        "to proxy to)",
    ),
    "unknown runtime preset option": (
        lambda: spring_boot_service(port=8080, healthcheck="/health"),  # type: ignore[call-arg]
        "spring_boot_service: unknown option(s) healthcheck; allowed: port, health, config, "
        "secrets, replicas, resources, expose, namespace, startup_seconds, tcp_probes, "
        "autoscale, cpu_percent, memory_percent",
    ),
}


@pytest.mark.parametrize("case", sorted(CONSTRUCTION))
def test_construction_error_message(case: str) -> None:
    build, message = CONSTRUCTION[case]
    assert _raises(build) == message


def test_a_misspelt_field_cannot_be_written() -> None:
    # ``readlinessProbe`` in YAML silently disables the probe; here it is a TypeError (and a
    # mypy error) before anything is rendered.
    kwargs: dict[str, Any] = {"readlinessProbe": Probe(HttpGet("/", HTTP))}
    with pytest.raises(TypeError, match="unexpected keyword argument 'readlinessProbe'"):
        Container("api", "nginx:1.27", ports=[HTTP], **kwargs)


def test_a_service_cannot_select_pods_its_workload_does_not_label() -> None:
    # The selector is derived from the workload the Service exposes; extra labels must be ones
    # its pods carry.
    with pytest.raises(ModelError, match=r"Service\.selector: type=api is not a label of"):
        Service(_web(), ports=[HTTP], selector={"type": "api"})
    workload = _web()
    service = yaml.safe_load(yaml_document(manifest(Service(workload, ports=[HTTP]))))
    pods = manifest(workload)["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"] == pods == workload.selector


def test_integers_in_config_map_data_become_strings() -> None:
    config = ConfigMap("settings", {"PORT": 8080, "DEBUG": True, "RATIO": 0.5, "ZIP": "0123"})
    assert config.data == (("PORT", "8080"), ("DEBUG", "true"), ("RATIO", "0.5"), ("ZIP", "0123"))
    text = yaml_document(manifest(config))
    assert "  PORT: '8080'\n  DEBUG: 'true'\n  RATIO: '0.5'\n  ZIP: '0123'\n" in text
    assert yaml.safe_load(text)["data"] == {
        "PORT": "8080",
        "DEBUG": "true",
        "RATIO": "0.5",
        "ZIP": "0123",
    }


def test_presets_mount_database_storage_where_each_database_writes() -> None:
    cases: list[tuple[Callable[[], BackingService], str]] = [
        (lambda: mariadb("db", database="app", credentials=Secret("db", keys=["MARIADB_ROOT_PASSWORD"])), "/var/lib/mysql"),
        (lambda: postgres("db", database="app", credentials=Secret("db", keys=["POSTGRES_PASSWORD"])), "/var/lib/postgresql/data"),
    ]  # fmt: skip
    for build, path in cases:
        db = build()
        (workload,) = db.runtime.workloads
        (container,) = workload.containers
        (mount,) = container.mounts
        assert isinstance(mount.volume, ClaimTemplate)
        assert mount.path == path
        validate_project(Project("demo", repository=REPO, components=[], backing_services=[db]))


def _broken_project() -> Project:
    settings = ConfigMap("settings", {"REGION": "eu"})
    image = HUB.tagged("api-{build}")
    api = Deployment("api", [Container("api", image, ports=[HTTP], env_from=[settings])])
    db_port = ContainerPort("mysql", 3306)
    db = StatefulSet(
        "db",
        [
            Container(
                "db",
                "mariadb:11.4",
                ports=[db_port],
                mounts=[VolumeMount(ClaimTemplate("data", storage="1Gi"), "/data")],
            )
        ],
    )
    proxy = ConfigMap(
        "proxy", {"default.conf": "location /api { proxy_pass http://10.96.0.12:8080; }"}
    )
    worker = Deployment("worker", [Container("worker", HUB.tagged("worker-{build}", var="W"))])
    stray = Deployment("stray", [Container("stray", "nginx:1.27")], namespace="staging")
    component = spring_boot_backend(
        "api",
        image=image,
        deploy=SshServer("master"),
        runtime=Runtime(
            [
                api,
                Service(api, ports=[HTTP]),
                proxy,
                worker,
                ConfigMap("proxy", {"other": "x"}),
                stray,
            ]
        ),
    )
    database = BackingService("db", runtime=Runtime([db, Service(db, ports=[db_port])]))
    return Project("demo", repository=REPO, components=[component], backing_services=[database])


def test_the_whole_project_check_reports_every_problem_at_once() -> None:
    message = _raises(lambda: validate_project(_broken_project()))
    assert message.splitlines() == [
        "components[api].runtime.objects[4]: ConfigMap default/proxy is already defined, "
        "differently, at components[api].runtime.objects[2]; names must be unique per kind and "
        "namespace",
        # A ConfigMap referenced under a name no runtime defines.
        "components[api].runtime.Deployment[api].containers[api].env_from[0]: ConfigMap "
        "default/settings is referenced but not defined: add it to a runtime's objects",
        "components[api].runtime.Deployment[stray]: namespace 'staging' is not defined by this "
        "runtime: add Namespace('staging') to its objects (each runtime is applied on its own)",
        # A database whose volume is mounted where it does not write.
        "backing_services[db].runtime.StatefulSet[db].containers[db].mounts: mariadb keeps its "
        "data in /var/lib/mysql, but its persistent volume is mounted at /data: the data would "
        "be lost when the pod restarts; mount a PersistentVolumeClaim at /var/lib/mysql",
        # nginx proxy_pass to a hard-coded ClusterIP.
        "components[api].runtime.ConfigMap[proxy].data[default.conf]: proxy_pass to the IP "
        "address 10.96.0.12: proxy to the Service's DNS name (Service.url()), which survives "
        "the Service being recreated",
        # The image a Deployment runs is the image its component's pipeline pushes, or a
        # public image listed on purpose.
        "components[api].runtime.Deployment[stray].containers[stray].image: runs the public "
        "image 'nginx:1.27', not one this component's pipeline pushes; to run it on purpose "
        "(a sidecar), list it in Runtime(public_images=['nginx:1.27'])",
        "components[api].runtime.Deployment[worker].containers[worker].image: runs "
        "acme/app:worker-{build}, which is not the image this component's pipeline pushes "
        "(acme/app:api-{build})",
    ]


def test_a_deploy_needs_a_container_running_the_pushed_image() -> None:
    other = Deployment("api", [Container("api", "nginx:1.27", ports=[HTTP])])
    component = spring_boot_backend(
        "api", image=HUB.tagged(), deploy=SshServer("m"), runtime=Runtime([other])
    )
    message = _raises(
        lambda: validate_project(Project("demo", repository=REPO, components=[component]))
    )
    assert message.splitlines() == [
        "components[api].runtime.Deployment[api].containers[api].image: runs the public image "
        "'nginx:1.27', not one this component's pipeline pushes; to run it on purpose (a "
        "sidecar), list it in Runtime(public_images=['nginx:1.27'])",
        "components[api].runtime: expected exactly one container running acme/app:{build}, found 0",
    ]


def test_a_backing_service_cannot_run_a_pipeline_image() -> None:
    workload = Deployment("cache", [Container("cache", HUB.tagged("cache-{build}"))])
    project = Project(
        "demo",
        repository=REPO,
        components=[],
        backing_services=[BackingService("cache", runtime=Runtime([workload]))],
    )
    assert _raises(lambda: validate_project(project)) == (
        "backing_services[cache].runtime.Deployment[cache].containers[cache].image: runs "
        "acme/app:cache-{build}, which no pipeline pushes (a backing service has none); use a "
        "public image with a pinned tag"
    )


def test_names_of_components_and_backing_services_differ() -> None:
    db = mariadb("api", database="app", credentials=Secret("api", keys=["MARIADB_ROOT_PASSWORD"]))
    api = spring_boot_backend("api", image=HUB.tagged())
    project = Project("demo", repository=REPO, components=[api], backing_services=[db])
    assert _raises(lambda: validate_project(project)) == (
        "backing_services[0].name: duplicate name 'api' (also components[0])"
    )


def test_a_namespace_listed_by_several_runtimes_is_one_object() -> None:
    secret = Secret("db", keys=["POSTGRES_PASSWORD"], namespace="shop")
    one = postgres("one", database="a", credentials=secret, namespace="shop")
    two = postgres("two", database="b", credentials=secret, namespace="shop")
    assert Namespace("shop") in one.runtime.objects
    validate_project(Project("demo", repository=REPO, components=[], backing_services=[one, two]))


def test_an_autoscaled_deployment_states_no_replica_count() -> None:
    workload = Deployment(
        "api", [Container("api", "nginx:1.27", resources=Resources(cpu="100m"))], replicas=3
    )
    runtime = Runtime([workload, HorizontalPodAutoscaler(workload, max_replicas=5)])
    project = Project(
        "demo",
        repository=REPO,
        components=[],
        backing_services=[BackingService("api", runtime=runtime)],
    )
    assert _raises(lambda: validate_project(project)) == (
        "backing_services[api].runtime.Deployment[api].replicas: HorizontalPodAutoscaler "
        "default/api sets the replica count; give replicas=None so that each deploy does not "
        "reset it"
    )
    scaled = Deployment("api", workload.containers, replicas=None)
    assert "replicas" not in manifest(scaled)["spec"]


def test_a_reference_to_a_lookalike_object_is_reported() -> None:
    defined = ConfigMap("settings", {"REGION": "eu"})
    lookalike = ConfigMap("settings", {"REGION": "us"})
    workload = Deployment("api", [Container("api", "nginx:1.27", env_from=[lookalike])])
    project = Project(
        "demo",
        repository=REPO,
        components=[],
        backing_services=[BackingService("api", runtime=Runtime([defined, workload]))],
    )
    assert _raises(lambda: validate_project(project)) == (
        "backing_services[api].runtime.Deployment[api].containers[api].env_from[0]: refers to a "
        "ConfigMap default/settings that differs from the one defined; refer to the defined "
        "object itself"
    )
