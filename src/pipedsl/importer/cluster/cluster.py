"""The objects of a set of manifests, converted on first use and given to their owners:
the component whose pushed image a workload runs, or a backing service."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import attrs

from pipedsl.errors import PipedslError
from pipedsl.importer.cluster.objects import (
    convert_autoscaler,
    convert_binding,
    convert_claim,
    convert_config_map,
    convert_ingress,
    convert_namespace,
    convert_role,
    convert_secret,
    convert_service,
    convert_service_account,
    convert_storage_class,
    convert_volume,
    custom_object,
)
from pipedsl.importer.cluster.pods import (
    convert_job,
    convert_workload,
)
from pipedsl.importer.cluster.read import (
    Manifest,
    UnconvertibleError,
    containers_of,
    dig,
    mappings_in,
    matches_pattern,
    pod_spec_of,
)
from pipedsl.importer.report import ImportRefused, Kind, ReportLine
from pipedsl.model.infra import Image
from pipedsl.model.k8s.access import (
    ClusterRoleBinding,
    RoleBinding,
)
from pipedsl.model.k8s.batch import CronJob, Job
from pipedsl.model.k8s.config import ConfigMapKey, Secret, SecretKey
from pipedsl.model.k8s.network import Ingress, Service
from pipedsl.model.k8s.runtime import K8sObject, Runtime, namespace_of
from pipedsl.model.k8s.scaling import HorizontalPodAutoscaler
from pipedsl.model.k8s.storage import (
    ClaimVolume,
    ConfigMapVolume,
    PersistentVolumeClaim,
    SecretVolume,
)
from pipedsl.model.k8s.workloads import (
    Deployment,
    Namespace,
    StatefulSet,
)
from pipedsl.record import Record


@attrs.frozen(eq=False, repr=False)
class Assigned(Record):
    """The runtimes found for components (by name) and for backing services, and what could
    not be converted (each with its report line)."""

    components: dict[str, Runtime]
    backing: dict[str, Runtime]
    report: tuple[ReportLine, ...]


class Cluster:
    """The objects of a set of manifests, converted on first use (so that references resolve
    whatever the order of the files) and remembered."""

    def __init__(
        self,
        manifests: Sequence[Manifest],
        images: Mapping[str, Image],
        shipped: Mapping[str, Sequence[str]],
    ) -> None:
        self.manifests = list(manifests)
        self.shipped = {name: tuple(patterns) for name, patterns in shipped.items()}
        self.by_key: dict[tuple[str, str, str], Manifest] = {}
        for manifest in self.manifests:
            if manifest.key in self.by_key:
                first = self.by_key[manifest.key]
                raise ImportRefused(
                    f"{manifest.path}:{manifest.line}: {manifest.title} in namespace "
                    f"{manifest.namespace!r} is also defined at {first.path}:{first.line}"
                )
            self.by_key[manifest.key] = manifest
        self.images = dict(images)
        self.moved: dict[tuple[str, str], Secret] = {}
        """Per ConfigMap (namespace, name), the Secret its credentials moved to."""
        self.objects: dict[tuple[str, str, str], K8sObject] = {}
        self.failed: dict[tuple[str, str, str], str] = {}
        self.notes: list[ReportLine] = []
        self.image_of: dict[tuple[str, str, str], str] = {}
        """The component whose pushed image a workload runs, by the workload's key."""
        self.secret_keys = self._secret_keys_read()
        self.converting: set[tuple[str, str, str]] = set()

    def note(self, manifest: Manifest, kind: Kind, what: str, why: str) -> None:
        self.notes.append(manifest.line_of(kind, what, why))

    # -- conversion on first use ---------------------------------------------------------------

    def object(self, kind: str, namespace: str, name: object, where: str) -> Any:
        """The object ``kind``/``name`` converted, for a reference at ``where``."""
        if not isinstance(name, str) or not isinstance(namespace, str):
            raise UnconvertibleError(f"{where}: expected the name of a {kind}, got {name!r}")
        key = (kind, namespace, name)
        if key in self.objects:
            return self.objects[key]
        if key in self.failed:
            raise UnconvertibleError(
                f"{where}: {kind} {name!r} was not converted ({self.failed[key]})"
            )
        manifest = self.by_key.get(key)
        if manifest is None:
            if kind == "Secret" and self.secret_keys.get((namespace, name)):
                # Referenced only: declared by the keys its readers name.
                secret = Secret(
                    name, keys=sorted(self.secret_keys[(namespace, name)]), namespace=namespace
                )
                self.objects[key] = secret
                return secret
            raise UnconvertibleError(
                f"{where}: {kind} {name!r} (namespace {namespace!r}) is in none of the manifests "
                "given; pass its file with --manifests"
            )
        return self.convert(manifest)

    def convert(self, manifest: Manifest) -> Any:
        key = manifest.key
        if key in self.objects:
            return self.objects[key]
        if key in self.failed:
            raise UnconvertibleError(self.failed[key])
        if key in self.converting:
            raise UnconvertibleError(f"{manifest.title} refers to itself through other objects")
        self.converting.add(key)
        noted = len(self.notes)
        try:
            obj = _CONVERTERS.get(manifest.kind, _unknown)(self, manifest)
        except (UnconvertibleError, PipedslError, TypeError, ValueError, RecursionError) as exc:
            # A value of a shape no check above expected (a list where a name goes...) is
            # named as such, never a traceback.
            why = (
                exc.why
                if isinstance(exc, UnconvertibleError)
                else str(exc)
                if isinstance(exc, PipedslError)
                else f"a value of an unexpected shape ({type(exc).__name__})"
            )
            self.failed[key] = why
            # What this document's conversion noted did not happen.
            self.notes[noted:] = [
                n for n in self.notes[noted:] if n.file != manifest.path or n.line != manifest.line
            ]
            raise UnconvertibleError(why) from None
        finally:
            self.converting.discard(key)
        self.objects[key] = obj
        return obj

    def _secret_keys_read(self) -> dict[tuple[str, str], set[str]]:
        """Per Secret, the keys containers read by ``secretKeyRef`` (or volume ``items``)."""
        found: dict[tuple[str, str], set[str]] = {}
        for manifest in self.manifests:
            for tls in (
                mappings_in(dig(manifest.data, "spec", "tls")) if manifest.kind == "Ingress" else []
            ):
                if isinstance(tls.get("secretName"), str):
                    secret = (manifest.namespace, tls["secretName"])
                    found.setdefault(secret, set()).update(("tls.crt", "tls.key"))
            pod = pod_spec_of(manifest.data)
            if pod is None:
                continue
            for container in containers_of(pod):
                for env in mappings_in(container.get("env")):
                    ref = dig(env, "valueFrom", "secretKeyRef")
                    if isinstance(dig(ref, "name"), str) and isinstance(dig(ref, "key"), str):
                        secret = (manifest.namespace, ref["name"])
                        found.setdefault(secret, set()).add(ref["key"])
            for volume in mappings_in(pod.get("volumes")):
                source = dig(volume, "secret")
                if isinstance(dig(source, "secretName"), str):
                    secret = (manifest.namespace, source["secretName"])
                    keys = [dig(i, "key") for i in mappings_in(dig(source, "items"))]
                    found.setdefault(secret, set()).update(k for k in keys if isinstance(k, str))
        return found

    # -- who owns what --------------------------------------------------------------------------

    def _settled(self, converted: list[Manifest]) -> list[Manifest]:
        """``converted`` without what must stay hand-written with what did not convert: a
        ConfigMap whose credentials moved, while a reader that still reads them from it stays
        hand-written; then, until nothing moves, whatever refers to an object not imported."""
        for (namespace, name), _ in list(self.moved.items()):
            key = ("ConfigMap", namespace, name)
            readers = [m for m in self.manifests if _reads_config_map(m, namespace, name)]
            held = next((m for m in readers if m.key in self.failed), None)
            if held is not None and key in self.objects:
                self._fail(key, f"{held.title}, which stays hand-written, reads its credentials")
        kept = list(converted)
        moved = True
        while moved:
            moved = False
            gone = {id(self.objects.get(k)): k for k in self.failed if k in self.objects}
            for manifest in list(kept):
                if manifest.key in self.failed:
                    kept.remove(manifest)
                    moved = True
                    continue
                refs = [
                    gone[id(r)] for r in _references(self.objects[manifest.key]) if id(r) in gone
                ]
                if refs:
                    kind, _, ref_name = refs[0]
                    self._fail(
                        manifest.key, f"it refers to {kind} {ref_name!r}, which stays hand-written"
                    )
                    kept.remove(manifest)
                    moved = True
        return kept

    def _fail(self, key: tuple[str, str, str], why: str) -> None:
        """Undo a conversion: ``key`` stays hand-written, and the report says why."""
        self.failed[key] = why
        manifest = self.by_key[key]
        self.notes[:] = [
            n for n in self.notes if (n.file, n.line) != (manifest.path, manifest.line)
        ]
        self.note(
            manifest,
            "raw",
            manifest.title,
            f"not imported: {why}; it stays a hand-written manifest",
        )

    def shipped_by(self, manifest: Manifest) -> list[str]:
        """The components whose deploy ships ``manifest``'s file."""
        return [
            name
            for name, patterns in self.shipped.items()
            if any(matches_pattern(manifest.path, p) for p in patterns)
        ]

    def assign(self) -> Assigned:
        """Each convertible object to an owner: a workload to the component whose pushed image
        it runs, else to a backing service named after it; what a workload reads (ConfigMaps,
        Secrets, claims) to the first workload's owner that reads it; a Service to its
        workload's, an autoscaler to its target's, an Ingress to its first route's; anything
        else to the component whose deploy ships its file, else to a backing service of its
        own."""
        converted: list[Manifest] = []
        for manifest in self.manifests:
            try:
                self.convert(manifest)
            except UnconvertibleError as exc:
                self.note(
                    manifest,
                    "raw",
                    manifest.title,
                    f"not imported: {exc.why}; it stays a hand-written manifest",
                )
                continue
            converted.append(manifest)
        converted = self._settled(converted)
        owner: dict[int, tuple[bool, str]] = {}  # id(object) → (a component?, its name)
        for manifest in converted:
            if manifest.kind in _POD_KINDS:
                component = self.image_of.get(manifest.key)
                owner[id(self.objects[manifest.key])] = (
                    (True, component) if component else (False, manifest.name)
                )
        _spread(owner, [self.objects[m.key] for m in converted])
        for manifest in converted:
            obj = self.objects[manifest.key]
            if id(obj) not in owner:
                shipping = self.shipped_by(manifest)
                owner[id(obj)] = (True, shipping[0]) if shipping else (False, manifest.name)
        components: dict[str, list[K8sObject]] = {}
        backing: dict[str, list[K8sObject]] = {}
        declared = {id(o): o for k, o in self.objects.items() if k not in self.by_key}
        for manifest in converted:
            obj = self.objects[manifest.key]
            is_component, name = owner[id(obj)]
            target = components if is_component else backing
            # A Secret no manifest declares (declared by the keys its readers name) goes with
            # the first object reading it.
            extra = [declared[id(r)] for r in _references(obj) if id(r) in declared]
            target.setdefault(name, []).extend([*extra, obj])
        # Each runtime is applied on its own: it declares the namespaces its objects live in
        # (one the manifests only assumed is declared, and said).
        namespaces = {o.name: o for o in self.objects.values() if isinstance(o, Namespace)}
        for objects in [*components.values(), *backing.values()]:
            used = sorted({n for o in objects if (n := namespace_of(o)) not in (None, "default")})
            for name in used:
                if name not in namespaces:
                    namespaces[name] = Namespace(name)
                    first = next(m for m in converted if m.namespace == name)
                    self.note(
                        first,
                        "converted",
                        f"namespace {name!r}",
                        "the manifests assume it exists; it is now declared (Namespace), so a "
                        "new cluster gets it",
                    )
            objects[:0] = [namespaces[n] for n in used]
        return Assigned(
            {k: Runtime(_unique(v)) for k, v in components.items()},
            {k: Runtime(_unique(v)) for k, v in backing.items()},
            tuple(self.notes),
        )


def _reads_config_map(manifest: Manifest, namespace: str, name: str) -> bool:
    """Whether ``manifest``'s pods read the ConfigMap ``name`` (env, envFrom or a volume)."""
    pod = pod_spec_of(manifest.data)
    if pod is None or manifest.namespace != namespace:
        return False
    for container in containers_of(pod):
        if any(
            dig(e, "configMapRef", "name") == name for e in mappings_in(container.get("envFrom"))
        ):
            return True
        refs = mappings_in(container.get("env"))
        if any(dig(e, "valueFrom", "configMapKeyRef", "name") == name for e in refs):
            return True
    return any(dig(v, "configMap", "name") == name for v in mappings_in(pod.get("volumes")))


def _spread(owner: dict[int, tuple[bool, str]], objects: Sequence[object]) -> None:
    """Owners passed along references: what a pod uses goes with the pod; a Service,
    autoscaler, Ingress or binding with what it serves; repeated until nothing moves (a Role
    with its binding's owner)."""
    moved = True
    while moved:
        moved = False
        for obj in objects:
            refs = list(_references(obj))
            if id(obj) not in owner and refs and id(refs[0]) in owner:
                owner[id(obj)], moved = owner[id(refs[0])], True
            if id(obj) in owner:
                for ref in refs:
                    if id(ref) not in owner:
                        owner[id(ref)], moved = owner[id(obj)], True


def _unique(objects: Iterable[K8sObject]) -> list[K8sObject]:
    return list(dict.fromkeys(objects))


def _references(obj: object) -> Iterable[object]:
    """The Kubernetes objects ``obj`` refers to (directly or through its parts); the first
    is the one it goes with (a Service's workload, an Ingress's first Service)."""
    if isinstance(obj, Service):
        return [obj.workload]
    if isinstance(obj, HorizontalPodAutoscaler):
        return [obj.target]
    if isinstance(obj, PersistentVolumeClaim):
        return [obj.volume] if obj.volume is not None else []
    if isinstance(obj, Ingress):
        return [*(p.service for p in obj.paths), *(t.secret for t in obj.tls)]
    if isinstance(obj, RoleBinding | ClusterRoleBinding):
        return [*obj.subjects, obj.role]
    if isinstance(obj, Deployment | StatefulSet | Job | CronJob):
        return _read_by(obj)
    return []


_POD_KINDS = ("Deployment", "StatefulSet", "Job", "CronJob")


def _read_by(workload: Deployment | StatefulSet | Job | CronJob) -> list[object]:
    """The ConfigMaps, Secrets, claims and ServiceAccount a workload's pods use."""
    found: list[object] = [workload.service_account] if workload.service_account else []
    for container in workload.all_containers:
        found += container.env_from
        found += [
            v.config_map if isinstance(v, ConfigMapKey) else v.secret
            for _, v in container.env
            if isinstance(v, ConfigMapKey | SecretKey)
        ]
    for volume in workload.volumes:
        if isinstance(volume, ClaimVolume):
            found.append(volume.claim)
        elif isinstance(volume, ConfigMapVolume):
            found.append(volume.config_map)
        elif isinstance(volume, SecretVolume):
            found.append(volume.secret)
    return found


def _unknown(cluster: Cluster, manifest: Manifest) -> Any:
    if manifest.kind in _BUILT_IN:
        raise UnconvertibleError(
            f"kind {manifest.kind} is not imported (pipedsl imports {', '.join(IMPORTED)}, and "
            "other API groups' kinds as CustomObject)"
        )
    return custom_object(cluster, manifest)


_BUILT_IN = frozenset(
    {
        "Pod", "ReplicaSet", "ReplicationController", "DaemonSet", "Endpoints", "EndpointSlice",
        "NetworkPolicy", "PodDisruptionBudget", "LimitRange", "ResourceQuota", "PriorityClass",
        "PodTemplate", "Event", "Node", "Lease", "CSIDriver", "VolumeAttachment",
        "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration",
        "CustomResourceDefinition", "APIService", "IngressClass", "RuntimeClass",
    }
)  # fmt: skip
"""Kubernetes' own kinds pipedsl does not model: refused rather than kept as custom data
(their pods would not be pinned, their fields not checked)."""


_CONVERTERS: dict[str, Callable[[Cluster, Manifest], Any]] = {
    "Namespace": convert_namespace,
    "ConfigMap": convert_config_map,
    "Secret": convert_secret,
    "PersistentVolumeClaim": convert_claim,
    "PersistentVolume": convert_volume,
    "StorageClass": convert_storage_class,
    "Deployment": convert_workload,
    "StatefulSet": convert_workload,
    "Service": convert_service,
    "Ingress": convert_ingress,
    "ServiceAccount": convert_service_account,
    "Job": convert_job,
    "CronJob": convert_job,
    "Role": convert_role,
    "ClusterRole": convert_role,
    "RoleBinding": convert_binding,
    "ClusterRoleBinding": convert_binding,
    "HorizontalPodAutoscaler": convert_autoscaler,
}
IMPORTED = tuple(_CONVERTERS)
"""The kinds imported as typed objects; others are reported and stay hand-written."""
