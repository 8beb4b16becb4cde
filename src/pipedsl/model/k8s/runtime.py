"""A component's runtime: the Kubernetes objects it runs in the cluster."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from pipedsl.errors import ModelError
from pipedsl.model import _checks
from pipedsl.model.infra import Image
from pipedsl.model.k8s.access import (
    ClusterRole,
    ClusterRoleBinding,
    Role,
    RoleBinding,
    ServiceAccount,
)
from pipedsl.model.k8s.batch import CronJob, Job
from pipedsl.model.k8s.config import ConfigMap, Secret, SecretKey
from pipedsl.model.k8s.custom import CustomObject
from pipedsl.model.k8s.network import Ingress, Service
from pipedsl.model.k8s.scaling import HorizontalPodAutoscaler
from pipedsl.model.k8s.storage import (
    PersistentVolume,
    PersistentVolumeClaim,
    SecretVolume,
    StorageClass,
)
from pipedsl.model.k8s.workloads import Container, Deployment, Namespace, StatefulSet, Workload
from pipedsl.record import Record

K8sObject = (
    Namespace
    | StorageClass
    | ConfigMap
    | Secret
    | PersistentVolume
    | PersistentVolumeClaim
    | ServiceAccount
    | Role
    | ClusterRole
    | RoleBinding
    | ClusterRoleBinding
    | Deployment
    | StatefulSet
    | Job
    | CronJob
    | Service
    | Ingress
    | HorizontalPodAutoscaler
    | CustomObject
)
OBJECT_TYPES: tuple[type, ...] = (
    CustomObject,
    Namespace,
    StorageClass,
    ConfigMap,
    Secret,
    PersistentVolume,
    PersistentVolumeClaim,
    ServiceAccount,
    Role,
    ClusterRole,
    RoleBinding,
    ClusterRoleBinding,
    Deployment,
    StatefulSet,
    Job,
    CronJob,
    Service,
    Ingress,
    HorizontalPodAutoscaler,
)
CLUSTER_SCOPED: tuple[type, ...] = (
    Namespace,
    StorageClass,
    PersistentVolume,
    ClusterRole,
    ClusterRoleBinding,
)
"""Kinds that live in no namespace."""


def namespace_of(obj: K8sObject) -> str | None:
    """The namespace ``obj`` lives in; None for a cluster-scoped object."""
    if isinstance(obj, CLUSTER_SCOPED):
        return None
    namespace: str | None = getattr(obj, "namespace", None)
    return namespace


PodWorkload = Deployment | StatefulSet | Job | CronJob
"""Every object that runs pods (what a deploy pins); Services and autoscalers take only the
long-running ones (:data:`~pipedsl.model.k8s.workloads.Workload`)."""
POD_WORKLOADS = (Deployment, StatefulSet, Job, CronJob)


def _objects(value: Any) -> Any:
    return _checks.to_tuple(value)


@attrs.frozen(eq=False, repr=False)
class Runtime(Record):
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
        """Its long-running workloads (Deployments, StatefulSets)."""
        return tuple(o for o in self.objects if isinstance(o, Deployment | StatefulSet))

    @property
    def pods(self) -> tuple[PodWorkload, ...]:
        """Every object of it that runs pods: workloads, Jobs and CronJobs."""
        return tuple(o for o in self.objects if isinstance(o, POD_WORKLOADS))

    @property
    def secrets(self) -> tuple[Secret, ...]:
        return tuple(o for o in self.objects if isinstance(o, Secret))

    @property
    def needed_secrets(self) -> tuple[Secret, ...]:
        """Every Secret its pods cannot start without: the ones it declares and the ones its
        containers read (``env_from``, ``secret.key()``, a :class:`SecretVolume`), in order."""
        found: dict[Secret, None] = dict.fromkeys(self.secrets)
        for workload in self.pods:
            for container in workload.all_containers:
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

    def running(self, image: Image) -> list[tuple[PodWorkload, Container]]:
        """Each container (init containers included) of its pods that runs ``image``: what a
        deploy pins to the pushed image."""
        return [(w, c) for w in self.pods for c in w.all_containers if c.image == image]


def deployed_container(runtime: Runtime, image: Image) -> tuple[PodWorkload, Container]:
    """The one container of ``runtime`` a deploy of ``image`` rolls out and waits for: the one
    Deployment or StatefulSet container that runs it or, in a runtime with none, the one Job or
    CronJob container that does (the first). Other containers running ``image`` — an init
    container, a CronJob beside the Deployment — are pinned with it."""
    running = runtime.running(image)
    main = [(w, c) for w, c in running if c in w.containers]
    found = [(w, c) for w, c in main if isinstance(w, Deployment | StatefulSet)] or main[:1]
    if len(found) != 1:
        where = ", ".join(f"{w.kind} {w.name!r} container {c.name!r}" for w, c in found)
        raise ModelError(
            f"expected exactly one container running {image.repository.reference}:{image.tag}, "
            f"found {len(found)}{': ' + where if where else ''}"
        )
    return found[0]


@attrs.frozen(eq=False, repr=False)
class RuntimeSpec(Record):
    """A runtime still missing its component's name and image, as presets such as
    :func:`~pipedsl.spring_boot_service` return it; the component preset completes it."""

    build: Callable[[str, Image], Runtime] = attrs.field(validator=attrs.validators.is_callable())
    description: str = attrs.field(default="", kw_only=True)

    def __call__(self, name: str, image: Image) -> Runtime:
        return self.build(name, image)
