"""Services (ClusterIP, NodePort, LoadBalancer) and Ingresses: how traffic reaches pods."""

from __future__ import annotations

from typing import Any, ClassVar

import attrs

from pipedsl.errors import ModelError
from pipedsl.model import _checks
from pipedsl.model.k8s import _checks as k8s
from pipedsl.model.k8s.config import Secret
from pipedsl.model.k8s.workloads import ContainerPort, Deployment, StatefulSet, Workload
from pipedsl.record import Record

SERVICE_TYPES = ("ClusterIP", "NodePort", "LoadBalancer")


def _node_port(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not 30000 <= value <= 32767:
        raise _checks.fail(
            instance, attribute, f"expected a port in the NodePort range 30000-32767, got {value!r}"
        )


@attrs.frozen(eq=False, repr=False)
class ServicePort(Record):
    """A port of a Service, forwarded to a :class:`ContainerPort` (by its name, so the
    container can renumber it). ``port`` defaults to the container's number."""

    target: ContainerPort = attrs.field(validator=_checks.instance_of(ContainerPort))
    port: int | None = attrs.field(
        default=None, kw_only=True, validator=_checks.optional(k8s.port_number)
    )
    node_port: int | None = attrs.field(default=None, kw_only=True, validator=_node_port)

    @property
    def number(self) -> int:
        return self.port if self.port is not None else self.target.number

    @property
    def name(self) -> str:
        return self.target.name


def _ports(value: Any) -> Any:
    if isinstance(value, ContainerPort | ServicePort):
        value = (value,)
    items = _checks.to_tuple(value)
    if not isinstance(items, tuple):
        return items
    return tuple(ServicePort(p) if isinstance(p, ContainerPort) else p for p in items)


@attrs.frozen(eq=False, repr=False)
class Service(Record):
    """A stable name and address for a workload's pods:
    ``Service(deployment, ports=[http], type="LoadBalancer")``.

    There is no selector to write: it is the workload's own pod labels. ``ports`` are
    :class:`ServicePort` (or bare :class:`ContainerPort`) of the workload's containers. The name
    defaults to the workload's; other pods reach it at :attr:`dns_name`.
    """

    kind: ClassVar[str] = "Service"
    api_version: ClassVar[str] = "v1"

    workload: Workload = attrs.field(validator=_checks.instance_of((Deployment, StatefulSet)))
    ports: tuple[ServicePort, ...] = attrs.field(
        kw_only=True, converter=_ports, validator=_checks.tuple_of(ServicePort)
    )
    type: str = attrs.field(
        default="ClusterIP", kw_only=True, validator=_checks.one_of(SERVICE_TYPES)
    )
    name: str = attrs.field(
        default=attrs.Factory(lambda self: self.workload.name, takes_self=True),
        kw_only=True,
        validator=k8s.SERVICE_NAME,
    )
    session_affinity: str = attrs.field(
        default="None", kw_only=True, validator=_checks.one_of(("None", "ClientIP"))
    )
    """``ClientIP`` sends each client to the same pod (sticky sessions)."""
    selector: tuple[tuple[str, str], ...] = attrs.field(
        factory=tuple, kw_only=True, converter=_checks.pairs, validator=k8s.check_labels
    )
    """Labels selected besides the workload's name label: each must be one of the workload's
    ``pod_labels`` (``Service(blue, ports=[http], selector={"colour": "blue"})``)."""

    def __attrs_post_init__(self) -> None:
        if not self.ports:
            raise ModelError(f"Service.ports: Service {self.name!r} needs at least one port")
        carried = dict(self.workload.pod_labels)
        for key, value in self.selector:
            if carried.get(key) != value:
                listed = ", ".join(f"{k}={v}" for k, v in carried.items()) or "none"
                raise ModelError(
                    f"Service.selector: {key}={value} is not a label of {self.workload.kind} "
                    f"{self.workload.name!r}'s pods (their pod_labels: {listed}); a Service "
                    "selecting a label its pods lack has no endpoints"
                )
        offered = [p for c in self.workload.containers for p in c.ports]
        for port in self.ports:
            if port.target not in offered:
                listed = ", ".join(f"{p.name} ({p.number})" for p in offered) or "none"
                raise ModelError(
                    f"Service.ports: {port.target.name!r} ({port.target.number}) is not a port "
                    f"of a container of {self.workload.kind} {self.workload.name!r}; its ports: "
                    f"{listed}"
                )
            if port.node_port is not None and self.type == "ClusterIP":
                raise ModelError(
                    f"Service.ports: node_port needs type='NodePort' or 'LoadBalancer', "
                    f"not {self.type!r}"
                )
        numbers = [p.number for p in self.ports]
        if len(set(numbers)) != len(numbers):
            raise ModelError(
                f"Service.ports: port numbers repeat in Service {self.name!r}: {numbers}"
            )

    @property
    def namespace(self) -> str:
        return self.workload.namespace

    @property
    def dns_name(self) -> str:
        """The name pods resolve to this Service, whatever address it gets."""
        return f"{self.name}.{self.namespace}.svc.cluster.local"

    def port(self, name: str | None = None) -> ServicePort:
        """The port ``name`` (the only one when there is one)."""
        if name is None and len(self.ports) == 1:
            return self.ports[0]
        for port in self.ports:
            if port.name == name:
                return port
        raise ModelError(
            f"Service {self.name!r}: no port {name!r}; its ports: "
            f"{', '.join(p.name for p in self.ports)}"
        )

    def url(self, port: str | None = None, *, scheme: str = "http") -> str:
        """``http://<dns_name>:<port>``."""
        return f"{scheme}://{self.dns_name}:{self.port(port).number}"


_HOST = _checks.matches(
    r"(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*", "a DNS host name"
)


@attrs.frozen(eq=False, repr=False)
class IngressPath(Record):
    """``path`` (a prefix, on ``host`` if given) is served by ``service`` on ``port``."""

    path: str = attrs.field(validator=k8s.ABSOLUTE_PATH)
    service: Service = attrs.field(validator=_checks.instance_of(Service))
    port: ServicePort | None = attrs.field(
        default=None, kw_only=True, validator=_checks.optional(_checks.instance_of(ServicePort))
    )
    host: str | None = attrs.field(default=None, kw_only=True, validator=_checks.optional(_HOST))

    path_type: str = attrs.field(
        default="Prefix",
        kw_only=True,
        validator=_checks.one_of(("Prefix", "Exact", "ImplementationSpecific")),
    )
    """``Prefix`` (default), ``Exact``, or ``ImplementationSpecific`` — the controller's own
    reading, e.g. a regular expression with ingress-nginx's ``use-regex`` annotation."""

    def __attrs_post_init__(self) -> None:
        if self.port is None and len(self.service.ports) != 1:
            raise ModelError(
                f"IngressPath.port: Service {self.service.name!r} has several ports; name one"
            )
        if self.port is not None and self.port not in self.service.ports:
            raise ModelError(
                f"IngressPath.port: {self.port.name!r} is not a port of Service {self.service.name!r}"
            )

    @property
    def backend_port(self) -> ServicePort:
        return self.port if self.port is not None else self.service.ports[0]


def _paths(value: Any) -> Any:
    return _checks.to_tuple(value)


def _hosts(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    _checks.tuple_of(str)(instance, attribute, value)
    assert isinstance(value, tuple)  # noqa: S101  (checked above)
    if not value:
        raise _checks.fail(instance, attribute, "name at least one host")
    for host in value:
        _HOST(instance, attribute, host)


@attrs.frozen(eq=False, repr=False)
class IngressTLS(Record):
    """TLS for ``hosts``, terminated by the ingress controller with the certificate of
    ``secret`` (a TLS Secret: ``tls.crt`` and ``tls.key``)."""

    hosts: tuple[str, ...] = attrs.field(converter=_checks.str_tuple, validator=_hosts)
    secret: Secret = attrs.field(validator=_checks.instance_of(Secret))

    def __attrs_post_init__(self) -> None:
        if self.secret.secret_type != "kubernetes.io/tls":  # noqa: S105  (a type, not a password)
            raise ModelError(
                f"IngressTLS.secret: {self.secret.name!r} is of type {self.secret.secret_type}; "
                "TLS needs a Secret with tls.crt and tls.key"
            )


@attrs.frozen(eq=False, repr=False)
class Ingress(Record):
    """HTTP routing to Services by host and path prefix (an ingress controller must run)."""

    kind: ClassVar[str] = "Ingress"
    api_version: ClassVar[str] = "networking.k8s.io/v1"

    name: str = attrs.field(validator=k8s.NAME)
    paths: tuple[IngressPath, ...] = attrs.field(
        converter=_paths, validator=_checks.tuple_of(IngressPath)
    )
    ingress_class: str | None = attrs.field(
        default=None, kw_only=True, validator=_checks.optional(k8s.NAME)
    )
    tls: tuple[IngressTLS, ...] = attrs.field(
        factory=tuple, kw_only=True, converter=_paths, validator=_checks.tuple_of(IngressTLS)
    )
    annotations: tuple[tuple[str, str], ...] = attrs.field(
        factory=tuple, kw_only=True, converter=_checks.pairs, validator=k8s.check_annotations
    )
    """The controller's settings, e.g. ingress-nginx's ``rewrite-target``, ``use-regex`` or
    canary annotations (``nginx.ingress.kubernetes.io/canary-weight``); values are strings."""

    def __attrs_post_init__(self) -> None:
        if not self.paths:
            raise ModelError(f"Ingress.paths: Ingress {self.name!r} needs at least one path")
        namespaces = {p.service.namespace for p in self.paths}
        if len(namespaces) > 1:
            raise ModelError(
                f"Ingress.paths: an Ingress can only route to Services of its own namespace; "
                f"got {', '.join(sorted(namespaces))}"
            )
        for tls in self.tls:
            if tls.secret.namespace != self.namespace:
                raise ModelError(
                    f"Ingress.tls: Secret {tls.secret.name!r} is in namespace "
                    f"{tls.secret.namespace!r}; an Ingress reads Secrets of its own namespace"
                )

    @property
    def namespace(self) -> str:
        return self.paths[0].service.namespace
