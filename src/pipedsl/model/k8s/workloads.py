"""Workloads: containers (ports, env, probes, resources, mounts, security context), the pod
settings every workload shares (init containers, service account, pod security context),
Deployments, StatefulSets, and the Namespace they live in. Jobs and CronJobs:
:mod:`pipedsl.model.k8s.batch`."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

import attrs

from pipedsl.errors import ModelError
from pipedsl.model import _checks
from pipedsl.model.infra import Image
from pipedsl.model.k8s import _checks as k8s
from pipedsl.model.k8s.access import ServiceAccount
from pipedsl.model.k8s.config import ConfigMap, ConfigMapKey, Secret, SecretKey
from pipedsl.model.k8s.storage import VOLUME_TYPES, ClaimTemplate, Volume
from pipedsl.record import Record

# A public image with an explicit tag (or digest): ``mariadb:11.4``, ``nginx:1.27-alpine``.
PINNED_IMAGE = re.compile(
    r"(?P<name>[a-z0-9]+([._/-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*)"
    r"(:(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})|@sha256:[0-9a-f]{64})"
)


@attrs.frozen(eq=False, repr=False)
class Namespace(Record):
    """``Namespace("lat32t")``: objects name theirs with ``namespace="lat32t"``."""

    kind: ClassVar[str] = "Namespace"
    api_version: ClassVar[str] = "v1"
    namespaced: ClassVar[bool] = False

    name: str = attrs.field(validator=k8s.NAME)


@attrs.frozen(eq=False, repr=False)
class ContainerPort(Record):
    """A port a container listens on, by name: ``ContainerPort("http", 8080)``. Probes and
    Services refer to this object, so a port they use is a port the container has."""

    name: str = attrs.field(validator=k8s.PORT_NAME)
    number: int = attrs.field(validator=k8s.port_number)
    protocol: str = attrs.field(
        default="TCP", kw_only=True, validator=_checks.one_of(("TCP", "UDP", "SCTP"))
    )


@attrs.frozen(eq=False, repr=False)
class HttpGet(Record):
    """A probe that GETs ``path`` on ``port`` (success: a 2xx or 3xx status), over HTTP or,
    with ``scheme="HTTPS"``, over TLS (certificate not verified, as the kubelet does)."""

    path: str = attrs.field(validator=k8s.ABSOLUTE_PATH)
    port: ContainerPort = attrs.field(validator=_checks.instance_of(ContainerPort))
    scheme: str = attrs.field(
        default="HTTP", kw_only=True, validator=_checks.one_of(("HTTP", "HTTPS"))
    )


@attrs.frozen(eq=False, repr=False)
class TcpSocket(Record):
    """A probe that succeeds when ``port`` accepts a TCP connection."""

    port: ContainerPort = attrs.field(validator=_checks.instance_of(ContainerPort))


def _command(value: str | Iterable[str]) -> tuple[str, ...]:
    return _checks.str_tuple(value)


_non_empty_words = _checks.words()


@attrs.frozen(eq=False, repr=False)
class Exec(Record):
    """A probe that runs ``command`` in the container (exit status 0: success). The command is
    a list of words run without a shell."""

    command: tuple[str, ...] = attrs.field(converter=_command, validator=_non_empty_words)


@attrs.frozen(eq=False, repr=False)
class Probe(Record):
    """A readiness, liveness or startup probe: ``Probe(HttpGet("/health", http), period_seconds=5)``."""

    action: HttpGet | TcpSocket | Exec = attrs.field(
        validator=_checks.instance_of((HttpGet, TcpSocket, Exec))
    )
    initial_delay_seconds: int = attrs.field(
        default=0, kw_only=True, validator=k8s.non_negative_int
    )
    period_seconds: int = attrs.field(default=10, kw_only=True, validator=_checks.positive_int)
    timeout_seconds: int = attrs.field(default=1, kw_only=True, validator=_checks.positive_int)
    failure_threshold: int = attrs.field(default=3, kw_only=True, validator=_checks.positive_int)
    success_threshold: int = attrs.field(default=1, kw_only=True, validator=_checks.positive_int)
    """Successes in a row after a failure before it counts as passing (readiness only: a
    liveness or startup probe must keep 1)."""

    @property
    def port(self) -> ContainerPort | None:
        return None if isinstance(self.action, Exec) else self.action.port


@attrs.frozen(eq=False, repr=False)
class Resources(Record):
    """CPU and memory a container requests (scheduling) and may use at most (limits):
    ``Resources(cpu="250m", memory="512Mi", memory_limit="1Gi")``."""

    cpu: str | None = attrs.field(default=None, validator=_checks.optional(k8s.QUANTITY))
    memory: str | None = attrs.field(default=None, validator=_checks.optional(k8s.QUANTITY))
    cpu_limit: str | None = attrs.field(
        default=None, kw_only=True, validator=_checks.optional(k8s.QUANTITY)
    )
    memory_limit: str | None = attrs.field(
        default=None, kw_only=True, validator=_checks.optional(k8s.QUANTITY)
    )

    def __attrs_post_init__(self) -> None:
        for request, limit, what in (
            (self.cpu, self.cpu_limit, "cpu"),
            (self.memory, self.memory_limit, "memory"),
        ):
            if (
                request is not None
                and limit is not None
                and k8s.quantity_value(request) > k8s.quantity_value(limit)
            ):
                raise ModelError(f"Resources.{what}_limit: {limit} is below the request {request}")


@attrs.frozen(eq=False, repr=False)
class VolumeMount(Record):
    """Where a volume appears in a container: ``VolumeMount(data, "/var/lib/mysql")``. The pod's
    volumes are the ones its containers mount, so a mount cannot name a missing volume."""

    volume: Volume = attrs.field(validator=_checks.instance_of(VOLUME_TYPES))
    path: str = attrs.field(validator=k8s.ABSOLUTE_PATH)
    sub_path: str | None = attrs.field(
        default=None, kw_only=True, validator=_checks.optional(_checks.text(multiline=False))
    )
    read_only: bool = attrs.field(default=False, kw_only=True, validator=_checks.instance_of(bool))


_FIELD_PATHS = (
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
    "spec.nodeName",
    "spec.serviceAccountName",
    "status.hostIP",
    "status.podIP",
)


@attrs.frozen(eq=False, repr=False)
class FieldRef(Record):
    """An environment value Kubernetes fills from the pod itself: ``FieldRef("status.podIP")``,
    ``FieldRef("metadata.name")``..."""

    path: str = attrs.field(validator=_checks.one_of(_FIELD_PATHS))


EnvValue = str | ConfigMapKey | SecretKey | FieldRef

# Kubernetes' own rule for a container's variable names (Spring's relaxed binding reads
# ``spring.profiles.active`` as written): letters, digits, '_', '-', '.', no leading digit.
_POD_ENV_NAME = _checks.matches(
    r"[-._A-Za-z][-._A-Za-z0-9]*", "a variable name: letters, digits, '_', '-', '.'"
)


def _env(value: Mapping[str, EnvValue]) -> tuple[tuple[str, EnvValue], ...]:
    # Typed as a mapping only, so that a dict literal of mixed values type-checks; pairs are
    # accepted too (``attrs.evolve`` passes the stored tuple back in).
    if isinstance(value, Mapping):
        return tuple(value.items())
    return _checks.to_tuple(value)


def _check_env(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    seen: set[str] = set()
    for name, item in value:
        _POD_ENV_NAME(instance, attribute, name)
        if name in seen:
            raise _checks.fail(instance, attribute, f"{name} is set twice")
        seen.add(name)
        if not isinstance(item, str | ConfigMapKey | SecretKey | FieldRef):
            raise _checks.fail(
                instance,
                attribute,
                f"{name}: expected str, ConfigMap.key(...), Secret.key(...) or FieldRef(...), "
                f"got {item!r}",
            )
        if isinstance(item, str):
            _checks.carriable(instance, attribute, item)


def check_pinned(
    instance: object, attribute: attrs.Attribute[Any], value: object, *, expected: str, moves: str
) -> None:
    """``value`` is an image with an explicit tag (or digest), not ``:latest``; ``expected``
    says what was, ``moves`` what ``:latest`` changes under."""
    if not isinstance(value, str) or not (found := PINNED_IMAGE.fullmatch(value)):
        raise _checks.fail(instance, attribute, f"expected {expected}, got {value!r}")
    if found.group("tag") == "latest":
        raise _checks.fail(
            instance, attribute, f"{value!r}: ':latest' changes {moves}; pin a version"
        )


def _check_image(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, Image):
        return
    check_pinned(
        instance,
        attribute,
        value,
        expected="an Image built by a pipeline or a public image with an explicit tag such as "
        "'mariadb:11.4'",
        moves="under a running cluster",
    )


def _tuple(value: Any) -> Any:
    return _checks.to_tuple(value)


_CAPABILITY = _checks.matches(
    r"[A-Z][A-Z_]*", "a Linux capability in upper case without CAP_, such as 'NET_BIND_SERVICE'"
)


def _capabilities(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    for item in value:
        _CAPABILITY(instance, attribute, item)


_optional_uid = _checks.optional(k8s.non_negative_int)
_optional_bool = _checks.optional(_checks.instance_of(bool))


@attrs.frozen(eq=False, repr=False)
class SecurityContext(Record):
    """What a container may do: ``SecurityContext(run_as_non_root=True,
    read_only_root_filesystem=True, allow_privilege_escalation=False, drop=["ALL"])``.
    Unset fields are left to the pod's :class:`PodSecurityContext` and the image."""

    run_as_user: int | None = attrs.field(default=None, kw_only=True, validator=_optional_uid)
    run_as_group: int | None = attrs.field(default=None, kw_only=True, validator=_optional_uid)
    run_as_non_root: bool | None = attrs.field(default=None, kw_only=True, validator=_optional_bool)
    read_only_root_filesystem: bool | None = attrs.field(
        default=None, kw_only=True, validator=_optional_bool
    )
    allow_privilege_escalation: bool | None = attrs.field(
        default=None, kw_only=True, validator=_optional_bool
    )
    add: tuple[str, ...] = attrs.field(
        factory=tuple, kw_only=True, converter=_checks.str_tuple, validator=_capabilities
    )
    """Linux capabilities added (``["NET_BIND_SERVICE"]``)."""
    drop: tuple[str, ...] = attrs.field(
        factory=tuple, kw_only=True, converter=_checks.str_tuple, validator=_capabilities
    )
    """Linux capabilities dropped (``["ALL"]``)."""
    privileged: bool = attrs.field(default=False, kw_only=True, validator=_checks.instance_of(bool))
    """Root on the node in all but name: only for what truly needs the host (a CNI agent)."""

    def __attrs_post_init__(self) -> None:
        if self.run_as_non_root and self.run_as_user == 0:
            raise ModelError(
                "SecurityContext.run_as_user: 0 is root, but run_as_non_root=True; the pod "
                "would never start"
            )
        if self.privileged and self.allow_privilege_escalation is False:
            raise ModelError(
                "SecurityContext.privileged: a privileged container always allows privilege "
                "escalation; drop allow_privilege_escalation=False or privileged=True"
            )


SECCOMP_PROFILES = ("RuntimeDefault", "Unconfined")


@attrs.frozen(eq=False, repr=False)
class PodSecurityContext(Record):
    """Settings for every container of a pod: ``PodSecurityContext(run_as_non_root=True,
    run_as_user=1000, fs_group=1000, seccomp="RuntimeDefault")``. ``fs_group`` owns the
    mounted volumes, so a non-root process can write its data directory."""

    run_as_user: int | None = attrs.field(default=None, kw_only=True, validator=_optional_uid)
    run_as_group: int | None = attrs.field(default=None, kw_only=True, validator=_optional_uid)
    run_as_non_root: bool | None = attrs.field(default=None, kw_only=True, validator=_optional_bool)
    fs_group: int | None = attrs.field(default=None, kw_only=True, validator=_optional_uid)
    supplemental_groups: tuple[int, ...] = attrs.field(
        factory=tuple, kw_only=True, converter=_tuple, validator=_checks.tuple_of(int)
    )
    seccomp: str | None = attrs.field(
        default=None, kw_only=True, validator=_checks.optional(_checks.one_of(SECCOMP_PROFILES))
    )

    def __attrs_post_init__(self) -> None:
        if self.run_as_non_root and self.run_as_user == 0:
            raise ModelError(
                "PodSecurityContext.run_as_user: 0 is root, but run_as_non_root=True; the pod "
                "would never start"
            )


@attrs.frozen(eq=False, repr=False)
class Container(Record):
    """One container of a pod. ``image`` is an :class:`~pipedsl.Image` a pipeline pushes (the
    deploy runs exactly the tag that build pushed) or a public image with a pinned tag.

    ``env_from`` takes :class:`ConfigMap` and :class:`Secret` objects (every key becomes a
    variable); ``env`` maps names to strings or ``config.key("X")`` / ``secret.key("X")``.
    Probes name one of ``ports``.
    """

    name: str = attrs.field(validator=k8s.NAME)
    image: Image | str = attrs.field(validator=_check_image)
    ports: tuple[ContainerPort, ...] = attrs.field(
        factory=tuple, kw_only=True, converter=_tuple, validator=_checks.tuple_of(ContainerPort)
    )
    env: tuple[tuple[str, EnvValue], ...] = attrs.field(
        factory=tuple, kw_only=True, converter=_env, validator=_check_env
    )
    env_from: tuple[ConfigMap | Secret, ...] = attrs.field(
        factory=tuple,
        kw_only=True,
        converter=_tuple,
        validator=_checks.tuple_of((ConfigMap, Secret)),
    )
    command: tuple[str, ...] | None = attrs.field(
        default=None,
        kw_only=True,
        converter=attrs.converters.optional(_command),
        validator=_checks.optional(_checks.words(non_empty=False)),
    )
    args: tuple[str, ...] | None = attrs.field(
        default=None,
        kw_only=True,
        converter=attrs.converters.optional(_command),
        validator=_checks.optional(_checks.words(non_empty=False)),
    )
    readiness: Probe | None = attrs.field(
        default=None, kw_only=True, validator=_checks.optional(_checks.instance_of(Probe))
    )
    liveness: Probe | None = attrs.field(
        default=None, kw_only=True, validator=_checks.optional(_checks.instance_of(Probe))
    )
    startup: Probe | None = attrs.field(
        default=None, kw_only=True, validator=_checks.optional(_checks.instance_of(Probe))
    )
    resources: Resources | None = attrs.field(
        default=None, kw_only=True, validator=_checks.optional(_checks.instance_of(Resources))
    )
    mounts: tuple[VolumeMount, ...] = attrs.field(
        factory=tuple, kw_only=True, converter=_tuple, validator=_checks.tuple_of(VolumeMount)
    )
    security_context: SecurityContext | None = attrs.field(
        default=None, kw_only=True, validator=_checks.optional(_checks.instance_of(SecurityContext))
    )

    def __attrs_post_init__(self) -> None:
        names = [p.name for p in self.ports]
        numbers = [(p.number, p.protocol) for p in self.ports]
        if len(set(names)) != len(names):
            raise ModelError(f"Container.ports: duplicate port names in {self.name!r}: {names}")
        if len(set(numbers)) != len(numbers):
            raise ModelError(f"Container.ports: a port number is listed twice in {self.name!r}")
        for kind in ("liveness", "startup"):
            checked: Probe | None = getattr(self, kind)
            if checked is not None and checked.success_threshold != 1:
                raise ModelError(
                    f"Container.{kind}: success_threshold must be 1 for a {kind} probe "
                    "(Kubernetes' rule; only readiness may ask for several successes)"
                )
        for kind in ("readiness", "liveness", "startup"):
            probe: Probe | None = getattr(self, kind)
            if probe is not None and probe.port is not None and probe.port not in self.ports:
                listed = ", ".join(f"{p.name} ({p.number})" for p in self.ports) or "none"
                raise ModelError(
                    f"Container.{kind}: probes port {probe.port.name!r} ({probe.port.number}), "
                    f"which container {self.name!r} does not declare; its ports: {listed}"
                )
        paths = [m.path for m in self.mounts]
        if len(set(paths)) != len(paths):
            raise ModelError(
                f"Container.mounts: two volumes mounted at the same path in {self.name!r}"
            )

    def port(self, name: str) -> ContainerPort:
        """The declared port ``name``."""
        for port in self.ports:
            if port.name == name:
                return port
        raise ModelError(f"Container {self.name!r} has no port {name!r}")


def _containers(value: Any) -> tuple[Container, ...]:
    return _checks.to_tuple(value)  # type: ignore[return-value]


def _check_containers(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    _checks.tuple_of(Container)(instance, attribute, value)
    if not value:
        raise _checks.fail(instance, attribute, "a pod needs at least one container")
    names = [c.name for c in value]
    if len(set(names)) != len(names):
        raise _checks.fail(instance, attribute, f"duplicate container names {names}")


def _percent_or_int(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return
    if isinstance(value, str) and re.fullmatch(r"[0-9]{1,3}%", value):
        return
    raise _checks.fail(
        instance, attribute, f"expected an int >= 0 or a percentage like '25%', got {value!r}"
    )


@attrs.frozen(eq=False, repr=False)
class RollingUpdate(Record):
    """How a Deployment replaces pods: at most ``max_surge`` extra and ``max_unavailable``
    missing pods while it rolls (default: one extra, none missing — no downtime)."""

    max_surge: int | str = attrs.field(default=1, validator=_percent_or_int)
    max_unavailable: int | str = attrs.field(default=0, validator=_percent_or_int)

    def __attrs_post_init__(self) -> None:
        if self.max_surge in (0, "0%") and self.max_unavailable in (0, "0%"):
            raise ModelError(
                "RollingUpdate: max_surge and max_unavailable cannot both be 0 (the rollout "
                "could never start)"
            )


def _check_init_containers(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    _checks.tuple_of(Container)(instance, attribute, value)
    for container in value:
        probes = [k for k in ("readiness", "liveness", "startup") if getattr(container, k)]
        if probes:
            raise _checks.fail(
                instance,
                attribute,
                f"init container {container.name!r} has a {probes[0]} probe; an init container "
                "runs to completion before the others start, so it is never probed",
            )


@attrs.frozen(eq=False, repr=False)
class _Workload(Record):
    """What every workload shares: pods built from containers, the init containers run before
    them (to completion, in order), the ServiceAccount the pods run as, their security
    context."""

    name: str
    namespace: str
    containers: tuple[Container, ...]

    init_containers: tuple[Container, ...] = attrs.field(
        factory=tuple, kw_only=True, converter=_containers, validator=_check_init_containers
    )
    """Containers run one after another, each to success, before the pod's containers start
    (wait for a database, run migrations, fetch files into a shared ``EmptyDirVolume``)."""
    service_account: ServiceAccount | None = attrs.field(
        default=None, kw_only=True, validator=_checks.optional(_checks.instance_of(ServiceAccount))
    )
    """The identity the pods run as: a :class:`~pipedsl.ServiceAccount` of the runtime, in the
    workload's namespace (None: the namespace's ``default`` account)."""
    security_context: PodSecurityContext | None = attrs.field(
        default=None,
        kw_only=True,
        validator=_checks.optional(_checks.instance_of(PodSecurityContext)),
    )
    pod_labels: tuple[tuple[str, str], ...] = attrs.field(
        factory=tuple, kw_only=True, converter=_checks.pairs, validator=k8s.check_labels
    )
    """Labels its pods carry besides the name label (a colour, a version, a team, for a
    Service's ``selector``, a mesh or monitoring); not part of the workload's own selector, so
    they can change between deploys."""

    @property
    def selector(self) -> dict[str, str]:
        """The labels its pods carry and its Services select: derived from its name, so a
        Service cannot select pods its workload does not label."""
        return {"app.kubernetes.io/name": self.name}

    @property
    def pod_template_labels(self) -> dict[str, str]:
        """Every label of its pods: the name label, then :attr:`pod_labels`."""
        return {**self.selector, **dict(self.pod_labels)}

    @property
    def all_containers(self) -> tuple[Container, ...]:
        """Its init containers, then its containers."""
        return self.init_containers + self.containers

    @property
    def volumes(self) -> tuple[Volume, ...]:
        """The pod's volumes: every volume a container (or init container) mounts, once, in
        order."""
        found: dict[Volume, None] = {}
        for container in self.all_containers:
            for mount in container.mounts:
                found.setdefault(mount.volume, None)
        return tuple(found)

    def container(self, name: str) -> Container:
        for container in self.containers:
            if container.name == name:
                return container
        raise ModelError(f"{type(self).__name__} {self.name!r} has no container {name!r}")

    #: Whether its pods may mount a :class:`ClaimTemplate` (a claim per replica).
    takes_claim_templates: ClassVar[bool] = False

    def check_pod(self) -> None:
        """Rules of the pod as a whole (called by each workload kind after it is built)."""
        kind = type(self).__name__
        if not self.takes_claim_templates:
            for volume in self.volumes:
                if isinstance(volume, ClaimTemplate):
                    raise ModelError(
                        f"{kind} {self.name!r}: ClaimTemplate {volume.name!r} is for "
                        "StatefulSets; mount a ClaimVolume of a PersistentVolumeClaim instead"
                    )
        names = [c.name for c in self.all_containers]
        if len(set(names)) != len(names):
            raise ModelError(
                f"{kind}.init_containers: {self.name!r} has an init container and a container "
                f"of one name; names must be unique in a pod: {names}"
            )
        if any(key == "app.kubernetes.io/name" for key, _ in self.pod_labels):
            raise ModelError(
                f"{kind}.pod_labels: 'app.kubernetes.io/name' is set by pipedsl to the workload's "
                f"name ({self.name!r}); choose another label"
            )
        account = self.service_account
        if account is not None and account.namespace != self.namespace:
            raise ModelError(
                f"{kind}.service_account: ServiceAccount {account.namespace}/{account.name} is "
                f"in another namespace than {kind} {self.namespace}/{self.name}; a pod runs as "
                "an account of its own namespace"
            )
        _check_volume_names(self)


def _check_volume_names(workload: _Workload) -> None:
    names = [v.name for v in workload.volumes]
    if len(set(names)) != len(names):
        raise ModelError(
            f"{type(workload).__name__}.containers: different volumes share a name in "
            f"{workload.name!r}: {names}"
        )


@attrs.frozen(eq=False, repr=False)
class Deployment(_Workload):
    """Stateless pods, replaced by a rolling update:
    ``Deployment("backend", [Container("backend", image, ports=[http])], replicas=2)``.

    ``replicas=None`` leaves the count to a :class:`~pipedsl.HorizontalPodAutoscaler` (the
    manifest then has none, so that applying it does not reset what the autoscaler chose)."""

    kind: ClassVar[str] = "Deployment"
    api_version: ClassVar[str] = "apps/v1"

    name: str = attrs.field(validator=k8s.NAME)
    containers: tuple[Container, ...] = attrs.field(
        converter=_containers, validator=_check_containers
    )
    replicas: int | None = attrs.field(
        default=1, kw_only=True, validator=_checks.optional(k8s.non_negative_int)
    )
    strategy: RollingUpdate = attrs.field(
        factory=RollingUpdate, kw_only=True, validator=_checks.instance_of(RollingUpdate)
    )
    min_ready_seconds: int = attrs.field(default=0, kw_only=True, validator=k8s.non_negative_int)
    termination_grace_period_seconds: int = attrs.field(
        default=30, kw_only=True, validator=k8s.non_negative_int
    )
    namespace: str = attrs.field(default="default", kw_only=True, validator=k8s.NAME)
    revision_history_limit: int | None = attrs.field(
        default=None, kw_only=True, validator=_checks.optional(k8s.non_negative_int)
    )
    """How many old ReplicaSets to keep for rollbacks (Kubernetes keeps 10 by default)."""

    def __attrs_post_init__(self) -> None:
        self.check_pod()


@attrs.frozen(eq=False, repr=False)
class StatefulSet(_Workload):
    """Pods with stable names and their own storage (databases). Mount a :class:`ClaimTemplate`
    to give each replica a PersistentVolumeClaim that outlives the pod."""

    kind: ClassVar[str] = "StatefulSet"
    api_version: ClassVar[str] = "apps/v1"
    takes_claim_templates: ClassVar[bool] = True

    name: str = attrs.field(validator=k8s.NAME)
    containers: tuple[Container, ...] = attrs.field(
        converter=_containers, validator=_check_containers
    )
    replicas: int = attrs.field(default=1, kw_only=True, validator=k8s.non_negative_int)
    termination_grace_period_seconds: int = attrs.field(
        default=30, kw_only=True, validator=k8s.non_negative_int
    )
    namespace: str = attrs.field(default="default", kw_only=True, validator=k8s.NAME)

    def __attrs_post_init__(self) -> None:
        self.check_pod()

    @property
    def service_name(self) -> str:
        """The Service that governs its pods' DNS names: the one named like it."""
        return self.name


Workload = Deployment | StatefulSet
