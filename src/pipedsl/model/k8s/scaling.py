"""HorizontalPodAutoscaler (autoscaling/v2): replicas follow CPU and/or memory use, per-pod
metrics of a custom metrics adapter and metrics from outside the cluster."""

from __future__ import annotations

from typing import Any, ClassVar

import attrs

from pipedsl.errors import ModelError
from pipedsl.model import _checks
from pipedsl.model.k8s import _checks as k8s
from pipedsl.model.k8s.workloads import Deployment, StatefulSet, Workload
from pipedsl.record import Record

_METRIC_NAME = _checks.matches(
    r"[A-Za-z0-9]([A-Za-z0-9_.:|/-]{0,251}[A-Za-z0-9])?",
    "a metric name such as 'http_requests_per_second' (letters, digits and '_.:|/-')",
)


@attrs.frozen(eq=False, repr=False)
class PodsMetric(Record):
    """A metric every pod reports, served by a custom metrics adapter (such as the Prometheus
    Adapter): ``PodsMetric("http_requests_per_second", average_value="100")`` keeps its average
    over the pods at 100."""

    name: str = attrs.field(validator=_METRIC_NAME)
    average_value: str = attrs.field(kw_only=True, validator=k8s.QUANTITY)
    selector: tuple[tuple[str, str], ...] = attrs.field(
        factory=tuple, kw_only=True, converter=_checks.pairs, validator=k8s.check_labels
    )
    """Labels that narrow the metric's series."""


@attrs.frozen(eq=False, repr=False)
class ExternalMetric(Record):
    """A metric from outside the cluster, served by an external metrics adapter (a queue's
    length, a cloud monitoring series): ``ExternalMetric("queue_messages_ready",
    selector={"queue": "orders"}, average_value="30")`` keeps 30 messages per pod;
    ``value="30"`` keeps the metric itself at 30. Give exactly one of the two."""

    name: str = attrs.field(validator=_METRIC_NAME)
    value: str | None = attrs.field(
        default=None, kw_only=True, validator=_checks.optional(k8s.QUANTITY)
    )
    average_value: str | None = attrs.field(
        default=None, kw_only=True, validator=_checks.optional(k8s.QUANTITY)
    )
    selector: tuple[tuple[str, str], ...] = attrs.field(
        factory=tuple, kw_only=True, converter=_checks.pairs, validator=k8s.check_labels
    )

    def __attrs_post_init__(self) -> None:
        if (self.value is None) == (self.average_value is None):
            raise ModelError(
                f"ExternalMetric {self.name!r}: give value (the metric's own target) or "
                "average_value (a target per pod), exactly one"
            )


Metric = PodsMetric | ExternalMetric


def _metrics(value: Any) -> Any:
    if isinstance(value, PodsMetric | ExternalMetric):
        return (value,)
    return _checks.to_tuple(value)


def _window(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 3600:
        raise _checks.fail(instance, attribute, f"expected seconds 0-3600, got {value!r}")


@attrs.frozen(eq=False, repr=False)
class HorizontalPodAutoscaler(Record):
    """Scale ``target`` between ``min_replicas`` and ``max_replicas`` to keep its average CPU
    use at ``cpu_percent`` and/or its memory use at ``memory_percent`` of what its containers
    request (so they must request what is measured); ``cpu_percent=None`` scales on memory
    alone. ``metrics`` adds :class:`PodsMetric` and :class:`ExternalMetric` targets (with
    ``cpu_percent=None``, the replicas follow them alone). With several, Kubernetes follows
    whichever asks for more replicas. ``scale_down_seconds`` is how long the recommendation must
    stay lower before replicas are removed (Kubernetes' default: 300)."""

    kind: ClassVar[str] = "HorizontalPodAutoscaler"
    api_version: ClassVar[str] = "autoscaling/v2"

    target: Workload = attrs.field(validator=_checks.instance_of((Deployment, StatefulSet)))
    max_replicas: int = attrs.field(kw_only=True, validator=_checks.positive_int)
    min_replicas: int = attrs.field(default=1, kw_only=True, validator=_checks.positive_int)
    cpu_percent: int | None = attrs.field(
        default=80, kw_only=True, validator=_checks.optional(_checks.positive_int)
    )
    memory_percent: int | None = attrs.field(
        default=None, kw_only=True, validator=_checks.optional(_checks.positive_int)
    )
    metrics: tuple[Metric, ...] = attrs.field(
        factory=tuple,
        kw_only=True,
        converter=_metrics,
        validator=_checks.tuple_of((PodsMetric, ExternalMetric)),
    )
    scale_down_seconds: int | None = attrs.field(default=None, kw_only=True, validator=_window)
    name: str = attrs.field(
        default=attrs.Factory(lambda self: self.target.name, takes_self=True),
        kw_only=True,
        validator=k8s.NAME,
    )

    def __attrs_post_init__(self) -> None:
        if self.min_replicas > self.max_replicas:
            raise ModelError(
                f"HorizontalPodAutoscaler.min_replicas: {self.min_replicas} is above "
                f"max_replicas {self.max_replicas}"
            )
        if self.cpu_percent is None and self.memory_percent is None and not self.metrics:
            raise ModelError(
                "HorizontalPodAutoscaler: give cpu_percent, memory_percent or metrics (what to "
                "scale on)"
            )
        names = [(type(m).__name__, m.name, m.selector) for m in self.metrics]
        if len(set(names)) != len(names):
            raise ModelError(
                f"HorizontalPodAutoscaler.metrics: a metric is given twice: "
                f"{[name for _, name, _ in names]}"
            )
        for resource, what, percent in (
            ("cpu", "CPU", self.cpu_percent),
            ("memory", "memory", self.memory_percent),
        ):
            if percent is None:
                continue
            missing = [
                c.name
                for c in self.target.containers
                if c.resources is None or getattr(c.resources, resource) is None
            ]
            if missing:
                raise ModelError(
                    f"HorizontalPodAutoscaler.target: {what} utilization is relative to "
                    f"requests, but container(s) {', '.join(missing)} of {self.target.kind} "
                    f"{self.target.name!r} request no {what}; give them "
                    f"resources=Resources({resource}=...)"
                )

    @property
    def namespace(self) -> str:
        return self.target.namespace
