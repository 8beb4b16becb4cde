"""A component's runtime: the Kubernetes objects it runs in the cluster."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from pipedsl.errors import ModelError
from pipedsl.model import _checks
from pipedsl.model.infra import Image
from pipedsl.model.k8s.config import ConfigMap, Secret, SecretKey
from pipedsl.model.k8s.custom import CustomObject
from pipedsl.model.k8s.network import Ingress, Service
from pipedsl.model.k8s.scaling import HorizontalPodAutoscaler
from pipedsl.model.k8s.storage import PersistentVolume, PersistentVolumeClaim, SecretVolume
from pipedsl.model.k8s.workloads import Container, Deployment, Namespace, StatefulSet, Workload

K8sObject = (
    Namespace
    | ConfigMap
    | Secret
    | PersistentVolume
    | PersistentVolumeClaim
    | Deployment
    | StatefulSet
    | Service
    | Ingress
    | HorizontalPodAutoscaler
    | CustomObject
)
OBJECT_TYPES: tuple[type, ...] = (
    CustomObject,
    Namespace,
    ConfigMap,
    Secret,
    PersistentVolume,
    PersistentVolumeClaim,
    Deployment,
    StatefulSet,
    Service,
    Ingress,
    HorizontalPodAutoscaler,
)


def _objects(value: Any) -> Any:
    return _checks.to_tuple(value)


@attrs.frozen
class Runtime:
    """The objects a component runs as: ``Runtime([config, secret, deployment, service])``.

    ``pipedsl render`` writes one manifest per object (Secrets excepted: they declare keys the
    cluster must hold). ``public_images`` lists the public images a component's workloads may
    run besides its pushed one. Objects referenced by these (a ConfigMap a container reads, the
    PersistentVolumeClaim it mounts) must be listed here or in another component's runtime.
    """

    objects: tuple[K8sObject, ...] = attrs.field(
        converter=_objects, validator=_checks.tuple_of(OBJECT_TYPES)
    )
    public_images: tuple[str, ...] = attrs.field(
        factory=tuple, kw_only=True, converter=_checks.str_tuple, validator=_checks.tuple_of(str)
    )
    """Public images a component's workloads run on purpose besides the image its pipeline
    pushes (a sidecar: ``["envoyproxy/envoy:v1.31.0"]``); any other public image in a
    component's runtime is refused, since a component's workloads run what its pipeline
    pushes. (A backing service runs public images by nature and lists none.)"""

    def __attrs_post_init__(self) -> None:
        if not self.objects:
            raise ModelError("Runtime.objects: a runtime needs at least one object")

    @property
    def workloads(self) -> tuple[Workload, ...]:
        return tuple(o for o in self.objects if isinstance(o, Deployment | StatefulSet))

    @property
    def secrets(self) -> tuple[Secret, ...]:
        return tuple(o for o in self.objects if isinstance(o, Secret))

    @property
    def needed_secrets(self) -> tuple[Secret, ...]:
        """Every Secret its pods cannot start without: the ones it declares and the ones its
        containers read (``env_from``, ``secret.key()``, a :class:`SecretVolume`), in order."""
        found: dict[Secret, None] = dict.fromkeys(self.secrets)
        for workload in self.workloads:
            for container in workload.containers:
                found.update(dict.fromkeys(s for s in container.env_from if isinstance(s, Secret)))
                found.update(
                    dict.fromkeys(v.secret for _, v in container.env if isinstance(v, SecretKey))
                )
            found.update(
                dict.fromkeys(v.secret for v in workload.volumes if isinstance(v, SecretVolume))
            )
        for obj in self.objects:
            if isinstance(obj, Ingress):
                # The certificate the ingress controller serves.
                found.update(dict.fromkeys(t.secret for t in obj.tls))
        return tuple(found)

    @property
    def service(self) -> Service:
        """The Service in front of the first workload (what other components talk to)."""
        for workload in self.workloads:
            for obj in self.objects:
                if isinstance(obj, Service) and obj.workload == workload:
                    return obj
        raise ModelError("Runtime: no Service exposes this runtime's workload")

    def running(self, image: Image) -> list[tuple[Workload, Container]]:
        """Each workload container that runs ``image``."""
        return [(w, c) for w in self.workloads for c in w.containers if c.image == image]


def deployed_container(runtime: Runtime, image: Image) -> tuple[Workload, Container]:
    """The one workload container of ``runtime`` that runs ``image`` (what a deploy rolls)."""
    found = runtime.running(image)
    if len(found) != 1:
        where = ", ".join(f"{w.kind} {w.name!r} container {c.name!r}" for w, c in found)
        raise ModelError(
            f"expected exactly one container running {image.repository.reference}:{image.tag}, "
            f"found {len(found)}{': ' + where if where else ''}"
        )
    return found[0]


@attrs.frozen
class RuntimeSpec:
    """A runtime still missing its component's name and image, as presets such as
    :func:`~pipedsl.spring_boot_service` return it; the component preset completes it."""

    build: Callable[[str, Image], Runtime] = attrs.field(validator=attrs.validators.is_callable())
    description: str = attrs.field(default="", kw_only=True)

    def __call__(self, name: str, image: Image) -> Runtime:
        return self.build(name, image)
