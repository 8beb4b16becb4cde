"""Whole-project rules for the Kubernetes objects, each a small function returning problems."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator

from pipedsl.errors import ModelError, Problem
from pipedsl.model.deploy import BlueGreen, DeployManifests, Restart
from pipedsl.model.infra import Image
from pipedsl.model.k8s.access import ClusterRoleBinding, RoleBinding
from pipedsl.model.k8s.config import ConfigMap, ConfigMapKey, SecretKey
from pipedsl.model.k8s.network import Ingress, Service
from pipedsl.model.k8s.runtime import (
    POD_WORKLOADS,
    K8sObject,
    PodWorkload,
    Runtime,
    deployed_container,
    namespace_of,
)
from pipedsl.model.k8s.scaling import HorizontalPodAutoscaler
from pipedsl.model.k8s.storage import (
    PERSISTENT_VOLUME_TYPES,
    ClaimTemplate,
    ClaimVolume,
    ConfigMapVolume,
    PersistentVolume,
    PersistentVolumeClaim,
    SecretVolume,
    StorageClass,
)
from pipedsl.model.k8s.workloads import Container, Deployment, Namespace, StatefulSet
from pipedsl.model.project import Component, Project
from pipedsl.model.steps import ApplyManifests, ShipManifests

BUILT_IN_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})

# Where each database image keeps its data (the official images' defaults).
DATA_DIRECTORIES = {
    "mariadb": "/var/lib/mysql",
    "mysql": "/var/lib/mysql",
    "postgres": "/var/lib/postgresql/data",
}


def _path(owner: str, obj: K8sObject) -> str:
    return f"{owner}.runtime.{obj.kind}[{obj.name}]"


def _owners(project: Project) -> Iterator[tuple[str, Runtime]]:
    """``(owner path, runtime)`` of every runtime: ``components[api]``, ``backing_services[db]``."""
    components = {c.name for c in project.components}
    for name, runtime in project.runtimes:
        kind = "components" if name in components else "backing_services"
        yield f"{kind}[{name}]", runtime


def _owned(project: Project) -> Iterator[tuple[str, K8sObject]]:
    for owner, runtime in _owners(project):
        for obj in runtime.objects:
            yield _path(owner, obj), obj


def _identity(obj: K8sObject) -> tuple[str, str, str]:
    # Every pod-running kind labels its pods by name alone, so they share one name space: two
    # workloads of one name would have Services select each other's pods.
    group = "workload" if isinstance(obj, POD_WORKLOADS) else obj.kind
    namespace = namespace_of(obj) or ""
    return group, namespace, obj.name


def _label(obj: K8sObject) -> str:
    namespace = namespace_of(obj)
    return f"{obj.kind} {obj.name}" if namespace is None else f"{obj.kind} {namespace}/{obj.name}"


def check_unique_names(project: Project) -> list[Problem]:
    """Names are unique per kind and namespace (one object may be listed by several runtimes)."""
    seen: dict[tuple[str, str, str], tuple[str, K8sObject]] = {}
    problems = []
    for owner, runtime in _owners(project):
        for index, obj in enumerate(runtime.objects):
            where = f"{owner}.runtime.objects[{index}]"
            key = _identity(obj)
            if key in seen and seen[key][1] != obj:
                first, other = seen[key]
                problems.append(
                    Problem(
                        where,
                        f"{_label(obj)} is already defined, differently, at {first}"
                        + (f" (as {_label(other)})" if other.kind != obj.kind else "")
                        + "; names must be unique per kind and namespace",
                    )
                )
            seen.setdefault(key, (where, obj))
    return problems


def _workload_references(workload: PodWorkload) -> Iterator[tuple[str, K8sObject]]:
    if workload.service_account is not None:
        yield ".service_account", workload.service_account
    for container in workload.all_containers:
        kind = "containers" if container in workload.containers else "init_containers"
        here = f".{kind}[{container.name}]"
        for index, source in enumerate(container.env_from):
            yield f"{here}.env_from[{index}]", source
        for name, value in container.env:
            if isinstance(value, ConfigMapKey):
                yield f"{here}.env[{name}]", value.config_map
            elif isinstance(value, SecretKey):
                yield f"{here}.env[{name}]", value.secret
    for volume in workload.volumes:
        here = f".volumes[{volume.name}]"
        if isinstance(volume, ClaimVolume):
            yield here, volume.claim
        elif isinstance(volume, ConfigMapVolume):
            yield here, volume.config_map
        elif isinstance(volume, SecretVolume):
            yield here, volume.secret
        elif isinstance(volume, ClaimTemplate) and isinstance(volume.storage_class, StorageClass):
            yield here + ".storage_class", volume.storage_class


def _references(obj: K8sObject) -> Iterator[tuple[str, K8sObject]]:
    """Every object ``obj`` refers to, with the field path from ``obj``."""
    if isinstance(obj, POD_WORKLOADS):
        yield from _workload_references(obj)
    elif isinstance(obj, PersistentVolumeClaim):
        if obj.volume is not None:
            yield ".volume", obj.volume
        if isinstance(obj.storage_class, StorageClass):
            yield ".storage_class", obj.storage_class
    elif isinstance(obj, PersistentVolume) and isinstance(obj.storage_class, StorageClass):
        yield ".storage_class", obj.storage_class
    elif isinstance(obj, RoleBinding | ClusterRoleBinding):
        yield ".role", obj.role
        for index, account in enumerate(obj.subjects):
            yield f".subjects[{index}]", account
    elif isinstance(obj, Service):
        yield ".workload", obj.workload
    elif isinstance(obj, Ingress):
        for index, path in enumerate(obj.paths):
            yield f".paths[{index}].service", path.service
        for index, tls in enumerate(obj.tls):
            yield f".tls[{index}].secret", tls.secret
    elif isinstance(obj, HorizontalPodAutoscaler):
        yield ".target", obj.target


def check_references(project: Project) -> list[Problem]:
    """Every ConfigMap, Secret, PersistentVolume(Claim), StorageClass, ServiceAccount, role,
    Service and workload an object refers to is defined by a runtime of the project, as that same object."""
    defined: dict[tuple[str, str, str], K8sObject] = {}
    for _, obj in _owned(project):
        defined.setdefault(_identity(obj), obj)
    problems = []
    for where, obj in _owned(project):
        for field, target in _references(obj):
            found = defined.get(_identity(target))
            if found is None:
                problems.append(
                    Problem(
                        where + field,
                        f"{_label(target)} is referenced but not defined: add it to a "
                        "runtime's objects",
                    )
                )
            elif found != target:
                problems.append(
                    Problem(
                        where + field,
                        f"refers to a {_label(target)} that differs from the one defined; "
                        "refer to the defined object itself",
                    )
                )
    return problems


def check_namespaces(project: Project) -> list[Problem]:
    """Objects live in Kubernetes' own namespaces or in one their runtime defines: each
    runtime's manifests are applied on their own (by its pipeline, or by a person), so the
    Namespace must be among them (listing one Namespace in several runtimes is fine)."""
    problems = []
    for owner, runtime in _owners(project):
        defined = {obj.name for obj in runtime.objects if isinstance(obj, Namespace)}
        for obj in runtime.objects:
            namespace = namespace_of(obj)
            if namespace is None:
                continue  # cluster-scoped
            if namespace not in defined | BUILT_IN_NAMESPACES:
                problems.append(
                    Problem(
                        _path(owner, obj),
                        f"namespace {namespace!r} is not defined by this runtime: add "
                        f"Namespace({namespace!r}) to its objects (each runtime is applied "
                        "on its own)",
                    )
                )
    return problems


def _engine(container: Container) -> str | None:
    if not isinstance(container.image, str):
        return None
    repository = container.image.split("@", 1)[0].rsplit(":", 1)[0]
    base = repository.rsplit("/", 1)[-1]
    return base if base in DATA_DIRECTORIES else None


def _data_directory(engine: str, container: Container) -> str:
    if engine == "postgres":
        for name, value in container.env:
            if name == "PGDATA" and isinstance(value, str):
                return value
    return DATA_DIRECTORIES[engine]


def _under(path: str, folder: str) -> bool:
    folder = folder.rstrip("/")
    return path == folder or path.startswith(folder + "/")


def check_database_storage(project: Project) -> list[Problem]:
    """A database container (mariadb, mysql, postgres images) has persistent storage mounted
    where that database writes; elsewhere its data is lost with the pod."""
    problems = []
    for where, obj in _owned(project):
        if not isinstance(obj, Deployment | StatefulSet):
            continue  # a Job's database would not outlive the Job anyway
        for container in obj.containers:
            engine = _engine(container)
            if engine is None:
                continue
            data = _data_directory(engine, container)
            persistent = [
                m.path for m in container.mounts if isinstance(m.volume, PERSISTENT_VOLUME_TYPES)
            ]
            if not any(_under(data, path) for path in persistent):
                mounted = ", ".join(persistent) or "nowhere"
                problems.append(
                    Problem(
                        f"{where}.containers[{container.name}].mounts",
                        f"{engine} keeps its data in {data}, but its persistent volume is "
                        f"mounted {'at ' if persistent else ''}{mounted}: the data would be lost "
                        f"when the pod restarts; mount a PersistentVolumeClaim at {data}",
                    )
                )
    return problems


_PROXY_PASS = re.compile(r"proxy_pass\s+(?:[a-z]+://)?([^\s:/;]+)")


def check_proxy_addresses(project: Project) -> list[Problem]:
    """nginx configuration proxies to Service DNS names, never to an IP address (a Service's
    ClusterIP changes when it is recreated; a pod IP with every restart)."""
    problems = []
    for where, obj in _owned(project):
        if not isinstance(obj, ConfigMap):
            continue
        for key, text in obj.data:
            for host in _PROXY_PASS.findall(text):
                try:
                    ipaddress.ip_address(host.strip("[]"))
                except ValueError:
                    continue
                problems.append(
                    Problem(
                        f"{where}.data[{key}]",
                        f"proxy_pass to the IP address {host}: proxy to the Service's DNS name "
                        "(Service.url()), which survives the Service being recreated",
                    )
                )
    return problems


def _image_label(image: Image) -> str:
    return f"{image.repository.reference}:{image.tag}"


def _workload_images(runtime: Runtime) -> Iterator[tuple[PodWorkload, Container, Image]]:
    for workload in runtime.pods:
        for container in workload.all_containers:
            if isinstance(container.image, Image):
                yield workload, container, container.image


def check_component_images(component: Component) -> list[Problem]:
    """The image a component's workload runs is the image its pipeline pushes, and its deploy
    steps have manifests to deploy."""
    path = f"components[{component.name}]"
    runtime = component.runtime
    uses_manifests = [
        step
        for step in component.pipeline.all_steps()
        if isinstance(step, ShipManifests | ApplyManifests | DeployManifests)
    ]
    problems = []
    if runtime is None:
        if uses_manifests:
            problems.append(
                Problem(
                    f"{path}.pipeline",
                    f"{type(uses_manifests[0]).__name__} deploys the component's manifests, but "
                    "it has no runtime: give it runtime=...",
                )
            )
        return problems
    problems += _public_image_problems(path, runtime)
    for workload, container, image in _workload_images(runtime):
        if image != component.image:
            problems.append(
                Problem(
                    f"{path}.runtime.{workload.kind}[{workload.name}].containers[{container.name}].image",
                    f"runs {_image_label(image)}, which is not the image this component's "
                    "pipeline pushes"
                    + (f" ({_image_label(component.image)})" if component.image else ""),
                )
            )
    deploys = [s for s in uses_manifests if isinstance(s, ApplyManifests | DeployManifests)]
    if deploys and component.image is None:
        problems.append(
            Problem(
                f"{path}.image",
                "the pipeline deploys the component's manifests, but the component has no "
                "image= to roll its workload onto",
            )
        )
    if deploys and component.image is not None:
        try:
            deployed_container(runtime, component.image)
        except ModelError as error:
            problems.append(Problem(f"{path}.runtime", str(error)))
    restarts = [
        s for s in deploys if isinstance(s, DeployManifests) and isinstance(s.target, Restart)
    ]
    if deploys and not restarts and component.image is not None and "{" not in component.image.tag:
        problems.append(
            Problem(
                f"{path}.image",
                f"the tag {component.image.tag!r} is the same every build, so a deploy would "
                "leave the pods running the image they have: give the tag a per-build "
                "placeholder ('{build}'), or deploy a fixed tag on purpose with "
                "deploy=Restart(Kubectl(...))",
            )
        )
    blue_green = [
        s for s in deploys if isinstance(s, DeployManifests) and isinstance(s.target, BlueGreen)
    ]
    if blue_green and component.image is not None and not problems:
        problems += _blue_green_problems(path, runtime, component.image)
    if restarts and component.image is not None and "{" in component.image.tag:
        problems.append(
            Problem(
                f"{path}.image",
                f"Restart re-pulls an image deployed under one fixed tag, but the tag "
                f"{component.image.tag!r} changes every build: deploy it with Kubectl(...), "
                "which pins the workload to the pushed image",
            )
        )
    return problems


def _public_image_problems(path: str, runtime: Runtime) -> list[Problem]:
    """A component's workloads run the image its pipeline pushes, and public images only when
    its runtime lists them (each listed one used)."""
    problems = []
    public = [
        (workload, container, container.image)
        for workload in runtime.pods
        for container in workload.all_containers
        if isinstance(container.image, str)
    ]
    for workload, container, image in public:
        if image not in runtime.public_images:
            problems.append(
                Problem(
                    f"{path}.runtime.{workload.kind}[{workload.name}].containers[{container.name}].image",
                    f"runs the public image {image!r}, not one this component's pipeline "
                    "pushes; to run it on purpose (a sidecar), list it in "
                    f"Runtime(public_images=[{image!r}])",
                )
            )
    used = {image for _, _, image in public}
    problems += [
        Problem(
            f"{path}.runtime.public_images",
            f"{image!r} is listed, but no container of the runtime runs it",
        )
        for image in runtime.public_images
        if image not in used
    ]
    return problems


def _blue_green_problems(path: str, runtime: Runtime, image: Image) -> list[Problem]:
    """A blue/green deploy needs a Deployment (two copies of it run side by side), a Service
    that switches between them, and no autoscaler pointed at the one name."""
    workload, _ = deployed_container(runtime, image)
    where = f"{path}.runtime.{workload.kind}[{workload.name}]"
    if not isinstance(workload, Deployment):
        return [Problem(where, f"a blue/green deploy needs a Deployment, not a {workload.kind}")]
    problems = []
    if len(workload.name) > 57:
        problems.append(
            Problem(where, "a blue/green Deployment's name is at most 57 characters (+ '-green')")
        )
    if not any(isinstance(o, Service) and o.workload is workload for o in runtime.objects):
        problems.append(
            Problem(
                where,
                "a blue/green deploy switches a Service between two Deployments: add "
                "a Service exposing this Deployment",
            )
        )
    for obj in runtime.objects:
        if isinstance(obj, HorizontalPodAutoscaler) and obj.target is workload:
            problems.append(
                Problem(
                    f"{path}.runtime.HorizontalPodAutoscaler[{obj.name}]",
                    "an autoscaler cannot follow a blue/green deploy's two Deployments yet",
                )
            )
    return problems


def check_backing_images(project: Project) -> list[Problem]:
    """A backing service has no pipeline, so it cannot run an image only a pipeline pushes."""
    problems = []
    for service in project.backing_services:
        for workload, container, image in _workload_images(service.runtime):
            problems.append(
                Problem(
                    f"backing_services[{service.name}].runtime.{workload.kind}[{workload.name}]"
                    f".containers[{container.name}].image",
                    f"runs {_image_label(image)}, which no pipeline pushes (a backing service has "
                    "none); use a public image with a pinned tag",
                )
            )
    return problems


def check_autoscaled_replicas(project: Project) -> list[Problem]:
    """A Deployment an autoscaler scales states no replica count: every apply of one would
    reset the count the autoscaler chose (and trigger a scale-down)."""
    scaled = {
        (obj.target.namespace, obj.target.name)
        for _, obj in _owned(project)
        if isinstance(obj, HorizontalPodAutoscaler)
    }
    return [
        Problem(
            f"{where}.replicas",
            f"HorizontalPodAutoscaler {obj.namespace}/{obj.name} sets the replica count; give "
            "replicas=None so that each deploy does not reset it",
        )
        for where, obj in _owned(project)
        if isinstance(obj, Deployment)
        and obj.replicas is not None
        and (obj.namespace, obj.name) in scaled
    ]


def k8s_problems(project: Project) -> list[Problem]:
    """Every Kubernetes rule, in a stable order."""
    problems = check_unique_names(project)
    problems += check_references(project)
    problems += check_namespaces(project)
    problems += check_database_storage(project)
    problems += check_proxy_addresses(project)
    problems += check_autoscaled_replicas(project)
    for component in project.components:
        problems += check_component_images(component)
    problems += check_backing_images(project)
    return problems
