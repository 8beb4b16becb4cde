"""Runtime presets: the seed team's Spring Boot service and databases (the nginx frontend is in
:mod:`pipedsl.presets.nginx`)."""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from pipedsl.errors import ModelError
from pipedsl.model import _checks
from pipedsl.model.infra import Image
from pipedsl.model.k8s.config import ConfigMap, Secret
from pipedsl.model.k8s.network import Service
from pipedsl.model.k8s.runtime import K8sObject, Runtime, RuntimeSpec
from pipedsl.model.k8s.scaling import HorizontalPodAutoscaler
from pipedsl.model.k8s.storage import ClaimTemplate
from pipedsl.model.k8s.workloads import (
    Container,
    ContainerPort,
    Deployment,
    Exec,
    HttpGet,
    Namespace,
    Probe,
    Resources,
    RollingUpdate,
    StatefulSet,
    TcpSocket,
    VolumeMount,
)
from pipedsl.model.project import BackingService
from pipedsl.presets._common import preset
from pipedsl.record import Record

SERVICE_TYPES = ("ClusterIP", "NodePort", "LoadBalancer")
BUILT_IN_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})


def _namespace(namespace: str) -> list[Namespace]:
    """The Namespace object a preset's runtime must carry (none for Kubernetes' own)."""
    return [] if namespace in BUILT_IN_NAMESPACES else [Namespace(namespace)]


def _service_type(function: str, expose: str) -> str:
    if expose not in SERVICE_TYPES:
        raise ModelError(
            f"{function}: expose must be one of {', '.join(SERVICE_TYPES)}, got {expose!r}"
        )
    return expose


@preset
def spring_boot_service(
    *,
    port: int = 8080,
    health: str | None = None,
    config: ConfigMap | None = None,
    secrets: Secret | Sequence[Secret] = (),
    replicas: int = 1,
    resources: Resources | None = None,
    expose: str = "ClusterIP",
    namespace: str = "default",
    startup_seconds: int = 300,
    tcp_probes: bool = False,
    autoscale: tuple[int, int] | None = None,
    cpu_percent: int | None = 80,
    memory_percent: int | None = None,
) -> RuntimeSpec:
    """A Spring Boot service in the cluster: a Deployment (rolling update without downtime) and
    a Service, with settings from ``config`` and credentials from ``secrets`` as environment
    variables (Spring's relaxed binding reads ``DB_URL`` as ``db.url``).

    Probes: ``health`` (a path) for readiness and liveness; without it, Actuator's
    ``/actuator/health/readiness`` and ``/actuator/health/liveness`` (Spring Boot enables them
    on Kubernetes); ``tcp_probes=True`` for a service without Actuator or a health endpoint
    (the port accepting connections). A startup probe gives the JVM ``startup_seconds`` to
    come up before liveness counts. ``autoscale=(min, max)`` adds a HorizontalPodAutoscaler
    keeping CPU use at ``cpu_percent`` and/or memory at ``memory_percent`` of the requests
    (give ``resources``), and leaves the replica count to it::

        runtime=spring_boot_service(port=8080, health="/calendar/event/healthcheck",
                                    config=ConfigMap("backend-config", {...}),
                                    secrets=Secret("backend", keys=["JWT_SECRET_KEY"]))
    """
    secret_list = (secrets,) if isinstance(secrets, Secret) else tuple(secrets)
    expose = _service_type("spring_boot_service", expose)
    for item, what in ((config, "config"), *((s, "secrets") for s in secret_list)):
        if item is not None and not isinstance(item, ConfigMap if what == "config" else Secret):
            wanted = "a ConfigMap" if what == "config" else "Secret objects"
            raise ModelError(f"spring_boot_service: {what} must be {wanted}, got {item!r}")
        if item is not None and item.namespace != namespace:
            raise ModelError(
                f"spring_boot_service: {item.kind} {item.name!r} is in namespace "
                f"{item.namespace!r}, the service in {namespace!r}; pods only read their own"
            )

    if tcp_probes and health is not None:
        raise ModelError("spring_boot_service: give health (an HTTP path) or tcp_probes, not both")
    if autoscale is not None and not (
        isinstance(autoscale, tuple) and len(autoscale) == 2 and 0 < autoscale[0] <= autoscale[1]
    ):
        raise ModelError(
            f"spring_boot_service: autoscale must be (min_replicas, max_replicas) with "
            f"0 < min <= max, got {autoscale!r}"
        )

    def build(name: str, image: Image) -> Runtime:
        http = ContainerPort("http", port)
        ready_path = health or "/actuator/health/readiness"
        live_path = health or "/actuator/health/liveness"
        ready: HttpGet | TcpSocket = TcpSocket(http) if tcp_probes else HttpGet(ready_path, http)
        live: HttpGet | TcpSocket = TcpSocket(http) if tcp_probes else HttpGet(live_path, http)
        period = 10
        container = Container(
            name,
            image,
            ports=[http],
            env_from=[*([config] if config else []), *secret_list],
            startup=Probe(
                ready, period_seconds=period, failure_threshold=max(1, startup_seconds // period)
            ),
            readiness=Probe(ready, period_seconds=5, timeout_seconds=3),
            liveness=Probe(live, period_seconds=10, timeout_seconds=3),
            resources=resources,
        )
        deployment = Deployment(
            name,
            [container],
            replicas=None if autoscale is not None else replicas,
            strategy=RollingUpdate(max_surge=1, max_unavailable=0),
            min_ready_seconds=5,
            # Spring's graceful shutdown finishes requests within 30 s by default.
            termination_grace_period_seconds=45,
            namespace=namespace,
        )
        service = Service(deployment, ports=[http], type=expose)
        objects: list[K8sObject] = [
            *_namespace(namespace),
            *([config] if config else []),
            *secret_list,
            deployment,
            service,
        ]
        if autoscale is not None:
            objects.append(
                HorizontalPodAutoscaler(
                    deployment,
                    min_replicas=autoscale[0],
                    max_replicas=autoscale[1],
                    cpu_percent=cpu_percent,
                    memory_percent=memory_percent,
                )
            )
        return Runtime(objects)

    return RuntimeSpec(build, description="Spring Boot service")


@attrs.frozen(eq=False, repr=False)
class _Engine(Record):
    name: str
    image: str
    port: int
    data: str
    password_key: str
    allowed_keys: tuple[str, ...]
    database_env: str
    jdbc: str


_ENGINES = {
    "mariadb": _Engine(
        "mariadb",
        "mariadb:11.4",
        3306,
        "/var/lib/mysql",
        "MARIADB_ROOT_PASSWORD",
        ("MARIADB_ROOT_PASSWORD", "MARIADB_USER", "MARIADB_PASSWORD"),
        "MARIADB_DATABASE",
        "mariadb",
    ),
    "mysql": _Engine(
        "mysql",
        "mysql:8.4",
        3306,
        "/var/lib/mysql",
        "MYSQL_ROOT_PASSWORD",
        ("MYSQL_ROOT_PASSWORD", "MYSQL_USER", "MYSQL_PASSWORD"),
        "MYSQL_DATABASE",
        "mysql",
    ),
    "postgres": _Engine(
        "postgres",
        "postgres:16",
        5432,
        "/var/lib/postgresql/data",
        "POSTGRES_PASSWORD",
        ("POSTGRES_PASSWORD", "POSTGRES_USER"),
        "POSTGRES_DB",
        "postgresql",
    ),
}


@attrs.frozen(eq=False, repr=False)
class Database(BackingService):
    """A database run in the cluster (see :func:`mariadb`); :meth:`jdbc_url` is how a
    backend reaches it."""

    engine: str = attrs.field(kw_only=True, validator=_checks.one_of(tuple(_ENGINES)))
    database: str = attrs.field(kw_only=True, validator=_checks.text(multiline=False))

    @property
    def service(self) -> Service:
        return self.runtime.service

    def jdbc_url(self) -> str:
        """``jdbc:<engine>://<service DNS name>:<port>/<database>``."""
        service = self.service
        return (
            f"jdbc:{_ENGINES[self.engine].jdbc}://{service.dns_name}:{service.port().number}/"
            f"{self.database}"
        )


def _postgres_ready(credentials: Secret) -> Exec:
    """``pg_isready`` as the user the image creates: ``POSTGRES_USER`` when the Secret sets one
    (read in the container, never written here), else ``postgres``. As another user every
    probe would log a failed login for a role that does not exist."""
    if "POSTGRES_USER" in credentials.keys:
        return Exec(["sh", "-c", 'exec pg_isready -U "$POSTGRES_USER" -h 127.0.0.1'])
    return Exec(["pg_isready", "-U", "postgres", "-h", "127.0.0.1"])


def _database(
    engine_name: str,
    name: str,
    *,
    database: str,
    credentials: Secret,
    storage: str,
    storage_class: str | None,
    image: str | None,
    resources: Resources | None,
    namespace: str,
) -> Database:
    engine = _ENGINES[engine_name]
    if not isinstance(credentials, Secret):
        raise ModelError(
            f"{engine_name}: credentials must be a Secret declaring {engine.password_key}, "
            f"got {credentials!r}"
        )
    if engine.password_key not in credentials.keys:
        raise ModelError(
            f"{engine_name}: credentials Secret {credentials.name!r} must declare "
            f"{engine.password_key} (the image refuses to start without it)"
        )
    unknown = [k for k in credentials.keys if k not in engine.allowed_keys]
    if unknown:
        raise ModelError(
            f"{engine_name}: credentials Secret {credentials.name!r} declares "
            f"{', '.join(unknown)}, which the {engine_name} image does not read; allowed: "
            f"{', '.join(engine.allowed_keys)}"
        )
    if credentials.namespace != namespace:
        raise ModelError(
            f"{engine_name}: Secret {credentials.name!r} is in namespace "
            f"{credentials.namespace!r}, the database in {namespace!r}"
        )
    if not isinstance(database, str) or not database.replace("_", "a").isalnum():
        raise ModelError(
            f"{engine_name}: database must be a name of letters, digits and '_', got {database!r}"
        )
    port = ContainerPort(engine.name if len(engine.name) <= 15 else "db", engine.port)
    data = ClaimTemplate("data", storage=storage, storage_class=storage_class)
    env: dict[str, str] = {engine.database_env: database}
    if engine_name == "postgres":
        # The volume's root holds lost+found, which initdb refuses: keep the data one level down.
        env["PGDATA"] = f"{engine.data}/pgdata"
    ready = (
        Exec(["healthcheck.sh", "--connect", "--innodb_initialized"])
        if engine_name == "mariadb"
        else _postgres_ready(credentials)
        if engine_name == "postgres"
        else TcpSocket(port)
    )
    container = Container(
        name,
        image or engine.image,
        ports=[port],
        env=env,
        env_from=[credentials],
        readiness=Probe(ready, initial_delay_seconds=10, period_seconds=10, timeout_seconds=5),
        liveness=Probe(TcpSocket(port), initial_delay_seconds=30, period_seconds=20),
        resources=resources,
        mounts=[VolumeMount(data, engine.data)],
    )
    workload = StatefulSet(
        name, [container], termination_grace_period_seconds=60, namespace=namespace
    )
    service = Service(workload, ports=[port], type="ClusterIP")
    return Database(
        name,
        runtime=Runtime([*_namespace(namespace), credentials, workload, service]),
        engine=engine_name,
        database=database,
    )


@preset
def mariadb(
    name: str,
    *,
    database: str,
    credentials: Secret,
    storage: str = "10Gi",
    storage_class: str | None = None,
    image: str | None = None,
    resources: Resources | None = None,
    namespace: str = "default",
) -> Database:
    """MariaDB as a StatefulSet whose PersistentVolumeClaim (``storage``, one per replica) is
    mounted at ``/var/lib/mysql``, where MariaDB writes; a ClusterIP Service on 3306; the root
    password (and optional user) from the Secret ``credentials``::

        db = mariadb("mariadb", database="ssm", storage="10Gi",
                     credentials=Secret("mariadb", keys=["MARIADB_ROOT_PASSWORD"]))
    """
    return _database(
        "mariadb",
        name,
        database=database,
        credentials=credentials,
        storage=storage,
        storage_class=storage_class,
        image=image,
        resources=resources,
        namespace=namespace,
    )


@preset
def mysql(
    name: str,
    *,
    database: str,
    credentials: Secret,
    storage: str = "10Gi",
    storage_class: str | None = None,
    image: str | None = None,
    resources: Resources | None = None,
    namespace: str = "default",
) -> Database:
    """MySQL, as :func:`mariadb` (data in ``/var/lib/mysql``, ``MYSQL_*`` keys)."""
    return _database(
        "mysql",
        name,
        database=database,
        credentials=credentials,
        storage=storage,
        storage_class=storage_class,
        image=image,
        resources=resources,
        namespace=namespace,
    )


@preset
def postgres(
    name: str,
    *,
    database: str,
    credentials: Secret,
    storage: str = "10Gi",
    storage_class: str | None = None,
    image: str | None = None,
    resources: Resources | None = None,
    namespace: str = "default",
) -> Database:
    """PostgreSQL, as :func:`mariadb`: the claim is mounted at ``/var/lib/postgresql/data``
    and ``PGDATA`` points at ``pgdata`` inside it; the Secret declares ``POSTGRES_PASSWORD``."""
    return _database(
        "postgres",
        name,
        database=database,
        credentials=credentials,
        storage=storage,
        storage_class=storage_class,
        image=image,
        resources=resources,
        namespace=namespace,
    )
