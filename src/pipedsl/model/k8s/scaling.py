"""HorizontalPodAutoscaler (autoscaling/v2): replicas follow CPU and/or memory use."""

from __future__ import annotations

from typing import ClassVar

import attrs

from pipedsl.errors import ModelError
from pipedsl.model import _checks
from pipedsl.model.k8s import _checks as k8s
from pipedsl.model.k8s.workloads import Deployment, StatefulSet, Workload


@attrs.frozen
class HorizontalPodAutoscaler:
    """Scale ``target`` between ``min_replicas`` and ``max_replicas`` to keep its average CPU
    use at ``cpu_percent`` and/or its memory use at ``memory_percent`` of what its containers
    request (so they must request what is measured); ``cpu_percent=None`` scales on memory
    alone. With both, Kubernetes follows whichever asks for more replicas."""

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
        if self.cpu_percent is None and self.memory_percent is None:
            raise ModelError(
                "HorizontalPodAutoscaler: give cpu_percent, memory_percent or both (what to "
                "scale on)"
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
