"""Kubernetes YAML manifests → the typed objects of a component's ``runtime=``.

A team's hand-written manifests (the ones its Jenkinsfile ships and applies) are read as
data, never copied as text: each document of a kind the model has becomes that object —
references between objects become the objects themselves (a container's ``envFrom`` the
:class:`ConfigMap`, a Service's selector the workload it selects) — and every field is
either converted or the document is not converted at all, with the field named. A Secret's
values are never read: its keys are.

Pure: the CLI reads the files and hands their texts over.
"""

from __future__ import annotations

import fnmatch
import json
import posixpath
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import attrs
import yaml

from pipedsl.errors import PipedslError
from pipedsl.importer.report import ImportRefused, Kind, ReportLine
from pipedsl.model.infra import Image
from pipedsl.model.k8s.access import (
    ClusterRole,
    ClusterRoleBinding,
    PolicyRule,
    Role,
    RoleBinding,
    ServiceAccount,
)
from pipedsl.model.k8s.batch import CronJob, Job
from pipedsl.model.k8s.config import ConfigMap, ConfigMapKey, Secret, SecretKey, looks_secret
from pipedsl.model.k8s.custom import CustomObject
from pipedsl.model.k8s.network import Ingress, IngressPath, IngressTLS, Service, ServicePort
from pipedsl.model.k8s.runtime import K8sObject, Runtime, namespace_of
from pipedsl.model.k8s.scaling import ExternalMetric, HorizontalPodAutoscaler, PodsMetric
from pipedsl.model.k8s.storage import (
    ClaimTemplate,
    ClaimVolume,
    ConfigMapVolume,
    EmptyDirVolume,
    HostPathVolume,
    PersistentVolume,
    PersistentVolumeClaim,
    SecretVolume,
    StorageClass,
    Volume,
    class_name,
)
from pipedsl.model.k8s.workloads import (
    Container,
    ContainerPort,
    Deployment,
    Exec,
    FieldRef,
    HttpGet,
    Namespace,
    PodSecurityContext,
    Probe,
    Resources,
    RollingUpdate,
    SecurityContext,
    StatefulSet,
    TcpSocket,
    VolumeMount,
)

NAME_LABEL = "app.kubernetes.io/name"
MANAGED_BY = "app.kubernetes.io/managed-by"
_IGNORED_METADATA = frozenset(
    {
        "labels",
        "annotations",
        "creationTimestamp",
        "generation",
        "resourceVersion",
        "uid",
        "selfLink",
        "managedFields",
    }
)
_KINDS: tuple[str, ...] = ("Namespace", "ConfigMap", "Secret", "StorageClass")
_KINDS += ("PersistentVolume", "PersistentVolumeClaim", "ServiceAccount", "Role", "ClusterRole")
_KINDS += ("RoleBinding", "ClusterRoleBinding", "Job", "CronJob")
_KINDS += ("Deployment", "StatefulSet", "Service", "Ingress", "HorizontalPodAutoscaler")
"""The kinds imported as typed objects; others are reported and stay hand-written."""


class UnconvertibleError(Exception):
    """A document (or a field of it) the model has no typed form for: ``why`` says which."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


@attrs.frozen
class Manifest:
    """One YAML document of a manifest file: where it starts and its data."""

    path: str
    line: int
    data: Mapping[str, Any] = attrs.field(eq=False)

    @property
    def kind(self) -> str:
        return str(self.data.get("kind", ""))

    @property
    def name(self) -> str:
        return str(_mapping(self.data.get("metadata"), "metadata").get("name", ""))

    @property
    def namespace(self) -> str:
        meta = _mapping(self.data.get("metadata"), "metadata")
        return str(meta.get("namespace") or "default")

    @property
    def key(self) -> tuple[str, str, str]:
        return self.kind, self.namespace, self.name

    @property
    def title(self) -> str:
        return f"{self.kind} {self.name!r}"

    def line_of(self, kind: Kind, what: str, why: str) -> ReportLine:
        """A report line about this document."""
        return ReportLine(self.path, self.line, kind, what, why)


def read_manifests(path: str, text: str) -> list[Manifest]:
    """The documents of one manifest file (a ``List`` is its items); refused, with the file
    and line, when it is not YAML or a document is not a Kubernetes object."""
    loader = yaml.SafeLoader(text)
    found: list[Manifest] = []
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            line = node.start_mark.line + 1
            data = loader.construct_document(node)
            if data is None:
                continue
            found += _documents(path, line, data)
    except RecursionError:
        raise ImportRefused(f"{path}: not a YAML manifest (nested too deeply)") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else path
        problem = getattr(exc, "problem", None) or "not YAML"
        raise ImportRefused(f"{where}: not a YAML manifest ({problem})") from None
    finally:
        loader.dispose()
    return found


def _documents(path: str, line: int, data: object) -> list[Manifest]:
    if not isinstance(data, Mapping) or not isinstance(data.get("kind"), str):
        raise ImportRefused(
            f"{path}:{line}: not a Kubernetes object: a manifest document is a mapping with "
            "apiVersion, kind and metadata.name"
        )
    if data["kind"] == "List":
        items = data.get("items")
        if not isinstance(items, list):
            raise ImportRefused(f"{path}:{line}: a List's items must be a list of objects")
        return [m for item in items for m in _documents(path, line, item)]
    meta = data.get("metadata")
    if not isinstance(meta, Mapping) or not isinstance(meta.get("name"), str):
        raise ImportRefused(
            f"{path}:{line}: {data['kind']} without metadata.name (a string naming the object)"
        )
    if not isinstance(meta.get("namespace", ""), str):
        raise ImportRefused(f"{path}:{line}: {data['kind']}'s metadata.namespace is not a string")
    return [Manifest(path, line, data)]


# --- reading fields strictly ------------------------------------------------------------------


def _mapping(value: object, where: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise UnconvertibleError(f"{where} is not a mapping")
    return value


class Fields:
    """A mapping read field by field: :meth:`done` refuses any field nobody read, so that a
    setting the model cannot carry is named instead of silently lost."""

    def __init__(self, value: object, where: str) -> None:
        self.data = _mapping(value, where)
        self.where = where
        self.read: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        self.read.add(key)
        return self.data.get(key, default)

    def sub(self, key: str) -> Fields:
        return Fields(self.get(key), f"{self.where}.{key}")

    def items(self, key: str) -> list[Fields]:
        value = self.get(key) or []
        if not isinstance(value, list):
            raise UnconvertibleError(f"{self.where}.{key} is not a list")
        for index, item in enumerate(value):
            if not isinstance(item, Mapping):
                raise UnconvertibleError(f"{self.where}.{key}[{index}] is not a mapping")
        return [Fields(v, f"{self.where}.{key}[{i}]") for i, v in enumerate(value)]

    def text(self, key: str, default: str | None = None) -> Any:
        value = self.get(key, default)
        if value is not None and not isinstance(value, str):
            raise UnconvertibleError(f"{self.where}.{key}: expected a string, got {value!r}")
        return value

    def number(self, key: str, default: int | None = None) -> Any:
        value = self.get(key, default)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise UnconvertibleError(f"{self.where}.{key}: expected a number, got {value!r}")
        return value

    def ignore(self, *keys: str) -> None:
        self.read.update(keys)

    def done(self) -> None:
        extra = [k for k in self.data if k not in self.read]
        if extra:
            names = ", ".join(f"{self.where}.{k}" for k in extra)
            raise UnconvertibleError(f"{names}: not in pipedsl's model of this kind")


def _items_of(value: object, kind: type, where: str) -> tuple[Any, ...]:
    """A list of ``kind`` (nothing for None)."""
    if value is None:
        return ()
    if not isinstance(value, list) or not all(
        isinstance(v, kind) and not isinstance(v, bool) for v in value
    ):
        raise UnconvertibleError(f"{where}: expected a list of {kind.__name__} values")
    return tuple(value)


def _defaults_only(fields: Fields, **allowed: tuple[object, ...]) -> None:
    """Fields pipedsl has no place for, read when they hold a value it behaves as (Kubernetes'
    default, or one that does the same here), refused naming the field otherwise."""
    for key, values in allowed.items():
        value = fields.get(key)
        if value is not None and value not in values:
            listed = " or ".join(repr(v) for v in values)
            raise UnconvertibleError(f"{fields.where}.{key} {value!r}: only {listed} is modelled")


def _words(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UnconvertibleError(f"{where}: expected a list of strings")
    return tuple(value)


def _listed(labels: Mapping[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in labels.items())


def _labels(value: object, where: str) -> dict[str, str]:
    labels = _mapping(value, where)
    wrong = [k for k, v in labels.items() if not isinstance(k, str) or not isinstance(v, str)]
    if wrong:
        raise UnconvertibleError(f"{where}: {wrong[0]!r} is not a string key with a string value")
    return dict(labels)


# --- the cluster -------------------------------------------------------------------------------


@attrs.frozen
class Assigned:
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
                _maps(_at(manifest.data, "spec", "tls")) if manifest.kind == "Ingress" else []
            ):
                if isinstance(tls.get("secretName"), str):
                    secret = (manifest.namespace, tls["secretName"])
                    found.setdefault(secret, set()).update(("tls.crt", "tls.key"))
            pod = _pod_spec(manifest.data)
            if pod is None:
                continue
            for container in _containers_of(pod):
                for env in _maps(container.get("env")):
                    ref = _at(env, "valueFrom", "secretKeyRef")
                    if isinstance(_at(ref, "name"), str) and isinstance(_at(ref, "key"), str):
                        secret = (manifest.namespace, ref["name"])
                        found.setdefault(secret, set()).add(ref["key"])
            for volume in _maps(pod.get("volumes")):
                source = _at(volume, "secret")
                if isinstance(_at(source, "secretName"), str):
                    secret = (manifest.namespace, source["secretName"])
                    keys = [_at(i, "key") for i in _maps(_at(source, "items"))]
                    found.setdefault(secret, set()).update(k for k in keys if isinstance(k, str))
        return found

    # -- who owns what --------------------------------------------------------------------------

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


def matches_pattern(path: str, pattern: str) -> bool:
    """Whether ``path`` is a file an Ant-style ``sourceFiles`` pattern ships (compared from
    the end, so that a path given from another folder still matches)."""
    path = posixpath.normpath(path.replace("\\", "/"))
    pattern = pattern.replace("**/", "*/").strip()
    parts = path.split("/")
    depth = len(pattern.split("/"))
    return fnmatch.fnmatchcase("/".join(parts[-depth:]), pattern)


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


def _at(value: object, *keys: str) -> Any:
    """``value[k1][k2]...``, or None where a step is missing or not a mapping."""
    for key in keys:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def _maps(value: object) -> list[Mapping[str, Any]]:
    """The mappings of a list (nothing for anything else): for the looks ahead at documents
    that are read strictly, with their errors, later."""
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def _containers_of(pod: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return _maps(pod.get("containers")) + _maps(pod.get("initContainers"))


def _pod_spec(data: Mapping[str, Any]) -> Mapping[str, Any] | None:
    pod = _at(data, "spec", "template", "spec")
    return pod if isinstance(pod, Mapping) else None


# --- per kind ----------------------------------------------------------------------------------


def _annotations(manifest: Manifest) -> dict[str, str]:
    """The object's annotations, but kubectl's own record of the last apply."""
    meta = _mapping(manifest.data.get("metadata"), "metadata")
    annotations = _labels(meta.get("annotations"), "metadata.annotations")
    annotations.pop("kubectl.kubernetes.io/last-applied-configuration", None)
    return annotations


def _head(cluster: Cluster, manifest: Manifest, *, annotated: bool = False) -> Fields:
    """The document's fields with apiVersion, kind and metadata read; metadata labels are
    pipedsl's own. Annotations are refused unless the kind carries them (``annotated``)."""
    doc = Fields(manifest.data, manifest.kind)
    doc.ignore("apiVersion", "kind", "status")
    meta = doc.sub("metadata")
    meta.ignore(*_IGNORED_METADATA)
    meta.text("name")
    meta.text("namespace")
    meta.done()
    labels = _labels(meta.data.get("labels"), "metadata.labels")
    own = {NAME_LABEL: manifest.name, MANAGED_BY: "pipedsl"}
    selecting = _labels(_at(manifest.data, "spec", "selector", "matchLabels"), "matchLabels")
    extra = {k: v for k, v in labels.items() if own.get(k) != v and selecting.get(k) != v}
    if extra:
        cluster.note(
            manifest,
            "dropped",
            f"labels {_listed(extra)} of {manifest.title}",
            f"pipedsl labels its objects itself ({NAME_LABEL}, {MANAGED_BY}); pods keep their "
            "own labels (pod_labels)",
        )
    annotations = _annotations(manifest)
    if annotations and not annotated:
        raise UnconvertibleError(
            f"metadata.annotations ({', '.join(annotations)}): pipedsl sets annotations only "
            "where its model names them"
        )
    return doc


def _namespace(cluster: Cluster, manifest: Manifest) -> Namespace:
    doc = _head(cluster, manifest)
    doc.ignore("spec")
    doc.done()
    return Namespace(manifest.name)


def _config_map(cluster: Cluster, manifest: Manifest) -> ConfigMap:
    doc = _head(cluster, manifest)
    data = _mapping(doc.get("data"), "data")
    doc.done()
    values = {str(k): v if isinstance(v, str) else _scalar(v, f"data.{k}") for k, v in data.items()}
    return ConfigMap(manifest.name, values, namespace=manifest.namespace)


def _scalar(value: object, where: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    raise UnconvertibleError(f"{where}: expected a string")


def _secret(cluster: Cluster, manifest: Manifest) -> Secret:
    doc = _head(cluster, manifest)
    data = _mapping(doc.get("data"), "data")
    string_data = _mapping(doc.get("stringData"), "stringData")
    kind = doc.text("type")
    if doc.get("immutable"):
        cluster.note(
            manifest,
            "dropped",
            f"immutable: true of Secret {manifest.name!r}",
            "pipedsl declares a Secret's keys, a person creates it: make it immutable then",
        )
    doc.done()
    keys = list(dict.fromkeys([*map(str, data), *map(str, string_data)]))
    keys += sorted(cluster.secret_keys.get((manifest.namespace, manifest.name), set()) - set(keys))
    if data or string_data:
        cluster.note(
            manifest,
            "converted",
            f"Secret {manifest.name!r} with its values in the repository",
            "everyone with the repository can read them; pipedsl declares its keys only: create "
            f"it in the cluster (kubectl create secret generic {manifest.name} --from-env-file=...)"
            " and delete the file's values",
        )
    if not keys:
        raise UnconvertibleError("a Secret without keys: name its keys in data or stringData")
    return Secret(
        manifest.name,
        keys=keys,
        namespace=manifest.namespace,
        type=kind if kind not in (None, "Opaque") else None,
    )


def _claim(cluster: Cluster, manifest: Manifest) -> PersistentVolumeClaim:
    doc = _head(cluster, manifest)
    spec = doc.sub("spec")
    name = spec.text("volumeName")
    volume = None
    if name is not None:
        volume = cluster.object("PersistentVolume", "default", name, f"{spec.where}.volumeName")
    storage, modes, storage_class = _claim_spec(spec)
    doc.done()
    if volume is not None and storage_class == class_name(volume.storage_class):
        storage_class = None  # the volume's class, which the claim then asks for
    return PersistentVolumeClaim(
        manifest.name,
        storage=storage,
        access_modes=modes,
        storage_class=storage_class,
        volume=volume,
        namespace=manifest.namespace,
    )


def _volume_object(cluster: Cluster, manifest: Manifest) -> PersistentVolume:
    doc = _head(cluster, manifest)
    spec = doc.sub("spec")
    doc.done()
    capacity = spec.sub("capacity")
    storage = _quantity(capacity, "storage")
    capacity.done()
    host = spec.sub("hostPath")
    path = host.text("path")
    if host.get("type", "DirectoryOrCreate") not in ("", "DirectoryOrCreate"):
        raise UnconvertibleError(f"{host.where}.type: pipedsl's volumes are DirectoryOrCreate")
    host.done()
    options: dict[str, Any] = {
        "access_modes": _words(spec.get("accessModes") or ["ReadWriteOnce"], "accessModes"),
        # Kubernetes' own defaults where the file is silent: no class, kept data.
        "storage_class": spec.text("storageClassName") or "",
        "reclaim_policy": spec.text("persistentVolumeReclaimPolicy") or "Retain",
    }
    if spec.data.get("volumeMode") in (None, "Filesystem"):
        spec.ignore("volumeMode")
    spec.done()
    if storage is None or path is None:
        raise UnconvertibleError("a PersistentVolume of a hostPath with a capacity is modelled")
    return PersistentVolume(manifest.name, storage=storage, host_path=path, **options)


def _storage_class(cluster: Cluster, manifest: Manifest) -> StorageClass:
    annotations = _annotations(manifest)
    default = annotations.pop("storageclass.kubernetes.io/is-default-class", "false")
    if annotations:
        raise UnconvertibleError(f"metadata.annotations ({', '.join(annotations)}): not modelled")
    doc = _head(cluster, manifest, annotated=True)
    parameters = _labels(doc.get("parameters"), "parameters")
    built = StorageClass(
        manifest.name,
        doc.text("provisioner"),
        parameters=parameters,
        reclaim_policy=doc.text("reclaimPolicy") or "Delete",
        # Kubernetes' default when the file is silent.
        volume_binding_mode=doc.text("volumeBindingMode") or "Immediate",
        allow_volume_expansion=bool(doc.get("allowVolumeExpansion", False)),
        default=default == "true",
    )
    doc.done()
    return built


def _claim_spec(spec: Fields) -> tuple[str, tuple[str, ...], str | None]:
    modes = _words(spec.get("accessModes") or ["ReadWriteOnce"], f"{spec.where}.accessModes")
    resources = spec.sub("resources")
    requests = resources.sub("requests")
    storage = requests.get("storage")
    requests.done()
    resources.done()
    if not isinstance(storage, str | int) or isinstance(storage, bool):
        raise UnconvertibleError(f"{spec.where}.resources.requests.storage: expected a quantity")
    storage_class = spec.text("storageClassName")
    if spec.data.get("volumeMode") in (None, "Filesystem"):
        spec.ignore("volumeMode")
    spec.done()
    return str(storage), modes, storage_class


# --- workloads ---------------------------------------------------------------------------------


class _Pod:
    """The parts of one pod template being converted: its volumes by name."""

    def __init__(self, cluster: Cluster, manifest: Manifest, spec: Fields) -> None:
        self.cluster = cluster
        self.manifest = manifest
        self.volumes: dict[str, Volume] = {}
        self.written = _written_secrets(spec.data)
        self.env_secret: Secret | None = None
        if self.written:
            name = f"{manifest.name}-env"
            if ("Secret", manifest.namespace, name) in cluster.by_key:
                raise UnconvertibleError(
                    f"passwords written into its env ({', '.join(self.written)}) would move to "
                    f"Secret {name!r}, which the manifests already define"
                )
            self.env_secret = Secret(name, keys=self.written, namespace=manifest.namespace)
            # Declared here, it travels with the workload as the Secrets its readers name do.
            cluster.objects[("Secret", manifest.namespace, name)] = self.env_secret
            cluster.note(
                manifest,
                "converted",
                f"env {', '.join(self.written)} of {manifest.title} written into the manifest",
                "a secret in a manifest is readable by everyone with the repository; the "
                f"containers now read it from Secret {name!r}: create it in the cluster "
                f"(kubectl create secret generic {name} --from-literal=...)",
            )

    def ref(self, kind: str, name: object, where: str) -> Any:
        if not isinstance(name, str):
            raise UnconvertibleError(f"{where}: expected the name of a {kind}")
        return self.cluster.object(kind, self.manifest.namespace, name, where)


def _workload(cluster: Cluster, manifest: Manifest) -> Deployment | StatefulSet:
    doc = _head(cluster, manifest)
    spec = doc.sub("spec")
    doc.done()
    template = spec.sub("template")
    pod_labels = _pod_labels(cluster, manifest, spec, template.sub("metadata"))
    claims = _claim_templates(spec) if manifest.kind == "StatefulSet" else {}
    containers, common = _pod(cluster, manifest, template.sub("spec"), claims)
    template.done()
    common.update(namespace=manifest.namespace, pod_labels=pod_labels)
    replicas = spec.number("replicas")
    if replicas is not None or manifest.kind == "Deployment":
        # A Deployment without replicas leaves the count to whoever sets it (an autoscaler):
        # None, as kubectl apply of that file does.
        common["replicas"] = replicas
    if manifest.kind == "StatefulSet":
        service_name = spec.text("serviceName")
        if service_name not in (None, manifest.name):
            raise UnconvertibleError(
                f"spec.serviceName {service_name!r}: pipedsl's StatefulSet is governed by the "
                "Service named like it"
            )
        spec.done()
        return StatefulSet(manifest.name, containers, **common)
    common.update(_rollout(spec))
    spec.done()
    return Deployment(manifest.name, containers, **common)


def _pod_labels(cluster: Cluster, manifest: Manifest, spec: Fields, meta: Fields) -> dict[str, str]:
    """The pods' labels besides the ones that only select them (pipedsl selects by its name
    label instead, which is reported)."""
    selector = spec.sub("selector")
    match = _labels(selector.get("matchLabels"), "spec.selector.matchLabels")
    selector.done()
    labels = _labels(meta.get("labels"), "spec.template.metadata.labels")
    meta.done()
    wrong = {k: v for k, v in match.items() if labels.get(k) != v}
    if wrong:
        raise UnconvertibleError(f"spec.selector.matchLabels {wrong} are not labels of its pods")
    dropped = {k: v for k, v in match.items() if (k, v) != (NAME_LABEL, manifest.name)}
    if dropped:
        cluster.note(
            manifest,
            "converted",
            f"selector {_listed(dropped)} of {manifest.title}",
            f"pipedsl selects its pods by {NAME_LABEL}={manifest.name} (derived from the name, "
            "so a Service cannot miss them); anything else selecting the old labels (a "
            "NetworkPolicy, a monitor) must select that label",
        )
    return {k: v for k, v in labels.items() if k not in match and k not in (NAME_LABEL, MANAGED_BY)}


def _claim_templates(spec: Fields) -> dict[str, ClaimTemplate]:
    claims: dict[str, ClaimTemplate] = {}
    for item in spec.items("volumeClaimTemplates"):
        meta = item.sub("metadata")
        name = meta.text("name")
        if meta.get("labels") or meta.get("annotations"):
            raise UnconvertibleError(f"{meta.where}: labels and annotations are not modelled")
        meta.done()
        storage, modes, storage_class = _claim_spec(item.sub("spec"))
        item.done()
        claims[name] = ClaimTemplate(
            name, storage=storage, access_modes=modes, storage_class=storage_class
        )
    return claims


def _pod(
    cluster: Cluster, manifest: Manifest, spec: Fields, claims: dict[str, ClaimTemplate]
) -> tuple[tuple[Container, ...], dict[str, Any]]:
    """A pod template's containers, and the workload options it sets."""
    pod = _Pod(cluster, manifest, spec)
    pod.volumes.update(claims)
    for item in spec.items("volumes"):
        volume = _volume(pod, item)
        pod.volumes[volume.name] = volume
    containers = tuple(_container(pod, c) for c in spec.items("containers"))
    options: dict[str, Any] = {
        "init_containers": tuple(_container(pod, c) for c in spec.items("initContainers"))
    }
    grace = spec.number("terminationGracePeriodSeconds")
    if grace is not None:
        options["termination_grace_period_seconds"] = grace
    account = spec.text("serviceAccountName")
    if account is not None:
        options["service_account"] = pod.ref(
            "ServiceAccount", account, f"{spec.where}.serviceAccountName"
        )
    alias = spec.get("serviceAccount")  # the deprecated alias, which Kubernetes fills in
    if alias is not None and alias != account:
        if account is not None:
            raise UnconvertibleError(
                f"{spec.where}.serviceAccount {alias!r} differs from serviceAccountName"
            )
        options["service_account"] = pod.ref(
            "ServiceAccount", alias, f"{spec.where}.serviceAccount"
        )
    context = spec.sub("securityContext")
    if context.data:
        options["security_context"] = _pod_security(context)
    if manifest.kind in ("Job", "CronJob"):
        restart = spec.get("restartPolicy")
        if restart not in ("Never", "OnFailure"):
            raise UnconvertibleError(
                f"{spec.where}.restartPolicy: Never or OnFailure, got {restart!r}"
            )
        options["restart_policy"] = restart
    if spec.get("dnsPolicy", "ClusterFirst") != "ClusterFirst":
        raise UnconvertibleError(f"{spec.where}.dnsPolicy: only 'ClusterFirst' is modelled")
    if "restart_policy" not in options and spec.get("restartPolicy", "Always") != "Always":
        raise UnconvertibleError(f"{spec.where}.restartPolicy: only 'Always' is modelled")
    _defaults_only(spec, schedulerName=("default-scheduler",))
    spec.done()
    return containers, options


def _rollout(spec: Fields) -> dict[str, Any]:
    """A Deployment's rollout settings."""
    options: dict[str, Any] = {}
    strategy = spec.sub("strategy")
    kind = strategy.get("type", "RollingUpdate")
    if kind != "RollingUpdate":
        raise UnconvertibleError(f"spec.strategy.type {kind!r}: only RollingUpdate is modelled")
    rolling = strategy.sub("rollingUpdate")
    if rolling.data:
        options["strategy"] = RollingUpdate(
            rolling.get("maxSurge", "25%"), rolling.get("maxUnavailable", "25%")
        )
    rolling.done()
    strategy.done()
    for key, field in (
        ("minReadySeconds", "min_ready_seconds"),
        ("revisionHistoryLimit", "revision_history_limit"),
    ):
        value = spec.number(key)
        if value is not None:
            options[field] = value
    if spec.data.get("progressDeadlineSeconds") in (None, 600):
        spec.ignore("progressDeadlineSeconds")
    return options


def _pod_security(context: Fields) -> PodSecurityContext:
    seccomp = context.sub("seccompProfile")
    profile = seccomp.text("type")
    seccomp.done()
    built = PodSecurityContext(
        run_as_user=context.number("runAsUser"),
        run_as_group=context.number("runAsGroup"),
        run_as_non_root=context.get("runAsNonRoot"),
        fs_group=context.number("fsGroup"),
        supplemental_groups=_items_of(
            context.get("supplementalGroups"), int, f"{context.where}.supplementalGroups"
        ),
        seccomp=profile,
    )
    context.done()
    return built


def _volume(pod: _Pod, item: Fields) -> Volume:
    name = item.text("name")
    for key, build in _VOLUME_SOURCES.items():
        if key in item.data:
            source = item.sub(key)
            volume = build(pod, name, source)
            source.done()
            item.done()
            return volume
    item.done()  # names the source pipedsl does not model
    raise UnconvertibleError(f"{item.where}: a volume without a source")


_VOLUME_SOURCES: dict[str, Callable[[_Pod, str, Fields], Volume]] = {
    "persistentVolumeClaim": lambda pod, name, source: ClaimVolume(
        name, pod.ref("PersistentVolumeClaim", source.get("claimName"), source.where)
    ),
    "configMap": lambda pod, name, source: ConfigMapVolume(
        name, pod.ref("ConfigMap", source.get("name"), source.where), items=_key_paths(source)
    ),
    "secret": lambda pod, name, source: SecretVolume(
        name, pod.ref("Secret", source.get("secretName"), source.where), items=_key_paths(source)
    ),
    "emptyDir": lambda pod, name, source: EmptyDirVolume(name),
    "hostPath": lambda pod, name, source: HostPathVolume(
        name, source.text("path"), type=source.text("type") or "Directory"
    ),
}


def _key_paths(source: Fields) -> tuple[tuple[str, str], ...]:
    pairs: list[tuple[str, str]] = []
    for entry in source.items("items"):
        pairs.append((entry.text("key"), entry.text("path")))
        entry.done()
    return tuple(pairs)


def _image(pod: _Pod, value: object, where: str) -> Image | str:
    """A container's image: the component's pushed image when it is that repository (any
    tag: a ``VERSION`` placeholder, ``latest``, an old build), else the image as written."""
    if not isinstance(value, str):
        raise UnconvertibleError(f"{where}: expected an image reference")
    repository = value.split("@", 1)[0]
    last = repository.rsplit("/", 1)[-1]
    if ":" in last:
        repository = repository[: len(repository) - len(last)] + last.split(":", 1)[0]
    cluster = pod.cluster
    runners = {
        name: image for name, image in cluster.images.items() if _same_repository(image, repository)
    }
    if not runners:
        return value
    if len(runners) > 1:
        # One repository for several components: the one whose deploy ships this file, else
        # the one whose tag prefix the written tag has (``frontend-VERSION``).
        shipping = set(cluster.shipped_by(pod.manifest))
        tag = value[len(repository) + 1 :] if value.startswith(f"{repository}:") else ""
        runners = (
            {n: i for n, i in runners.items() if n in shipping}
            or {
                n: i
                for n, i in runners.items()
                if _tag_prefix(i.tag) and tag.startswith(_tag_prefix(i.tag))
            }
            or runners
        )
    if len(runners) > 1:
        raise UnconvertibleError(
            f"{where}: {value!r} could be the image of {', '.join(sorted(runners))}; give each "
            "its own tag prefix"
        )
    ((component, image),) = runners.items()
    cluster.image_of[pod.manifest.key] = component
    if value != f"{image.repository.reference}:{image.tag}":
        cluster.note(
            pod.manifest,
            "converted",
            f"image {value} in {pod.manifest.title}",
            f"the deploy now runs exactly the image {component}'s pipeline pushed "
            f"({image.repository.reference}:{image.tag}), whatever tag or placeholder the file had",
        )
    return image


def _same_repository(image: Image, repository: str) -> bool:
    reference = image.repository.reference
    bare = repository.removeprefix("docker.io/")
    return reference in (repository, bare, f"docker.io/{bare}")


def _tag_prefix(tag: str) -> str:
    return tag.split("{", 1)[0]


def _container(pod: _Pod, item: Fields) -> Container:
    name = item.text("name")
    where = item.where
    image = _image(pod, item.get("image"), f"{where}.image")
    _defaults_only(
        item,
        imagePullPolicy=("IfNotPresent", "Always"),  # a build's tag is new: both pull it
        terminationMessagePath=("/dev/termination-log",),
        terminationMessagePolicy=("File",),
    )
    ports: list[ContainerPort] = []
    for entry in item.items("ports"):
        number = entry.number("containerPort")
        if number is None:
            raise UnconvertibleError(f"{entry.where}.containerPort: required")
        port_name = entry.text("name") or _port_name(pod, number)
        ports.append(ContainerPort(port_name, number, protocol=entry.text("protocol") or "TCP"))
        entry.done()
    options: dict[str, Any] = {
        "env": _env(pod, item),
        "env_from": _env_from(pod, item),
        "mounts": _mounts(pod, item),
    }
    for key in ("command", "args"):
        if key in item.data:
            options[key] = _words(item.get(key), f"{where}.{key}")
    for key, field in (
        ("startupProbe", "startup"),
        ("readinessProbe", "readiness"),
        ("livenessProbe", "liveness"),
    ):
        if key in item.data:
            options[field] = _probe(item.sub(key), ports)
    options["ports"] = ports  # after the probes, which may declare the port they use
    resources = item.sub("resources")
    if resources.data:
        requests, limits = resources.sub("requests"), resources.sub("limits")
        options["resources"] = Resources(
            _quantity(requests, "cpu"),
            _quantity(requests, "memory"),
            cpu_limit=_quantity(limits, "cpu"),
            memory_limit=_quantity(limits, "memory"),
        )
        requests.done()
        limits.done()
    resources.done()
    context = item.sub("securityContext")
    if context.data:
        options["security_context"] = _security(context)
    item.done()
    return Container(name, image, **options)


def _written_secrets(spec: Mapping[str, Any]) -> list[str]:
    """The env names of a pod's containers whose literal value is a credential (by its name:
    ``DB_PASSWORD``, ``apiToken``)."""
    found: dict[str, None] = {}
    for container in _containers_of(spec):
        for env in _maps(container.get("env")):
            name, value = env.get("name"), env.get("value")
            if "valueFrom" in env or not isinstance(name, str) or value is None or value == "":
                continue
            if looks_secret(name):
                found[name] = None
    return list(found)


def _env(pod: _Pod, item: Fields) -> dict[str, Any]:
    env: dict[str, Any] = {}
    for entry in item.items("env"):
        key = entry.text("name")
        if "valueFrom" in entry.data:
            env[key] = _env_source(pod, entry.sub("valueFrom"))
        elif pod.env_secret is not None and key in pod.written:
            entry.ignore("value")  # never read: it is the secret
            env[key] = SecretKey(pod.env_secret, key)
        else:
            value = entry.get("value", "")
            env[key] = value if isinstance(value, str) else _scalar(value, f"{entry.where}.value")
        entry.done()
    return env


def _env_from(pod: _Pod, item: Fields) -> list[ConfigMap | Secret]:
    sources: list[ConfigMap | Secret] = []
    for entry in item.items("envFrom"):
        if entry.data.get("prefix"):
            raise UnconvertibleError(f"{entry.where}.prefix: not modelled")
        entry.ignore("prefix")
        if "configMapRef" in entry.data:
            ref = entry.sub("configMapRef")
            sources.append(pod.ref("ConfigMap", ref.get("name"), ref.where))
        else:
            ref = entry.sub("secretRef")
            sources.append(pod.ref("Secret", ref.get("name"), ref.where))
        ref.done()
        entry.done()
    return sources


def _mounts(pod: _Pod, item: Fields) -> list[VolumeMount]:
    mounts: list[VolumeMount] = []
    for entry in item.items("volumeMounts"):
        volume_name = entry.text("name")
        volume = pod.volumes.get(volume_name)
        if volume is None:
            raise UnconvertibleError(f"{entry.where}: no volume {volume_name!r} in the pod")
        mounts.append(
            VolumeMount(
                volume,
                entry.text("mountPath"),
                sub_path=entry.text("subPath"),
                read_only=bool(entry.get("readOnly", False)),
            )
        )
        entry.done()
    return mounts


def _port_name(pod: _Pod, number: object) -> str:
    """A name for an unnamed container port: the name a Service gives the port it forwards
    to it, else ``port-<number>`` (pipedsl's Services and probes address ports by name)."""
    for manifest in pod.cluster.manifests:
        if manifest.kind != "Service" or manifest.namespace != pod.manifest.namespace:
            continue
        for port in _maps(_at(manifest.data, "spec", "ports")):
            if not isinstance(port.get("name"), str):
                continue
            if port.get("targetPort", port.get("port")) == number:
                return str(port["name"])
    return f"port-{number}"


def _quantity(fields: Fields, key: str) -> str | None:
    value = fields.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise UnconvertibleError(f"{fields.where}.{key}: expected a quantity")
    return str(value)


def _env_source(pod: _Pod, source: Fields) -> ConfigMapKey | SecretKey | FieldRef:
    if "configMapKeyRef" in source.data:
        ref = source.sub("configMapKeyRef")
        config = pod.ref("ConfigMap", ref.get("name"), ref.where)
        built: ConfigMapKey | SecretKey | FieldRef = ConfigMapKey(config, ref.text("key"))
    elif "secretKeyRef" in source.data:
        ref = source.sub("secretKeyRef")
        secret = pod.ref("Secret", ref.get("name"), ref.where)
        built = SecretKey(secret, ref.text("key"))
    else:
        ref = source.sub("fieldRef")
        ref.ignore("apiVersion")
        built = FieldRef(ref.text("fieldPath"))
    ref.done()
    source.done()
    return built


def _probe(probe: Fields, ports: list[ContainerPort]) -> Probe:
    action: HttpGet | TcpSocket | Exec
    if "httpGet" in probe.data:
        get = probe.sub("httpGet")
        action = HttpGet(
            get.text("path") or "/",
            _probe_port(get, ports),
            scheme=get.text("scheme") or "HTTP",
        )
        get.done()
    elif "tcpSocket" in probe.data:
        tcp = probe.sub("tcpSocket")
        action = TcpSocket(_probe_port(tcp, ports))
        tcp.done()
    else:
        run = probe.sub("exec")
        action = Exec(_words(run.get("command"), f"{run.where}.command"))
        run.done()
    options = {
        field: probe.number(key)
        for key, field in (
            ("initialDelaySeconds", "initial_delay_seconds"),
            ("periodSeconds", "period_seconds"),
            ("timeoutSeconds", "timeout_seconds"),
            ("failureThreshold", "failure_threshold"),
            ("successThreshold", "success_threshold"),
        )
        if key in probe.data
    }
    probe.done()
    return Probe(action, **options)


def _probe_port(action: Fields, ports: list[ContainerPort]) -> ContainerPort:
    """The container port a probe names (by name or number); a number the container does not
    declare is declared for it."""
    port = action.get("port")
    for declared in ports:
        if port in (declared.name, declared.number):
            return declared
    if isinstance(port, int) and not isinstance(port, bool):
        added = ContainerPort(f"port-{port}", port)
        ports.append(added)
        return added
    raise UnconvertibleError(f"{action.where}.port: {port!r} is not a port of the container")


def _security(context: Fields) -> SecurityContext:
    capabilities = context.sub("capabilities")
    built = SecurityContext(
        run_as_user=context.number("runAsUser"),
        run_as_group=context.number("runAsGroup"),
        run_as_non_root=context.get("runAsNonRoot"),
        read_only_root_filesystem=context.get("readOnlyRootFilesystem"),
        allow_privilege_escalation=context.get("allowPrivilegeEscalation"),
        add=_items_of(capabilities.get("add"), str, f"{capabilities.where}.add"),
        drop=_items_of(capabilities.get("drop"), str, f"{capabilities.where}.drop"),
        privileged=bool(context.get("privileged", False)),
    )
    capabilities.done()
    context.done()
    return built


# --- services ----------------------------------------------------------------------------------


def _service(cluster: Cluster, manifest: Manifest) -> Service:
    doc = _head(cluster, manifest)
    spec = doc.sub("spec")
    doc.done()
    selector = _labels(spec.get("selector"), "spec.selector")
    if not selector:
        raise UnconvertibleError("a Service without a selector (its endpoints are set by hand)")
    workload = _selected(cluster, manifest, selector)
    kind = spec.text("type") or "ClusterIP"
    affinity = spec.text("sessionAffinity") or "None"
    if spec.data.get("clusterIP") == "None" or spec.data.get("clusterIPs") == ["None"]:
        raise UnconvertibleError("spec.clusterIP: None (a headless Service) is not modelled")
    # Addresses the cluster assigned (an exported manifest) are assigned again.
    spec.ignore("clusterIP", "clusterIPs", "ipFamilies")
    _defaults_only(spec, ipFamilyPolicy=("SingleStack",), internalTrafficPolicy=("Cluster",))
    ports: list[ServicePort] = []
    offered = [p for c in workload.containers for p in c.ports]
    for entry in spec.items("ports"):
        number = entry.number("port")
        target = entry.get("targetPort", number)
        found = next((p for p in offered if target in (p.name, p.number)), None)
        if found is None:
            raise UnconvertibleError(
                f"{entry.where}.targetPort {target!r} is not a port of {workload.kind} "
                f"{workload.name!r}'s containers"
            )
        name = entry.text("name")
        if name not in (None, found.name):
            raise UnconvertibleError(
                f"{entry.where}.name {name!r}: pipedsl names a Service port after the container "
                f"port it forwards to ({found.name!r})"
            )
        protocol = entry.text("protocol") or "TCP"
        if protocol != found.protocol:
            raise UnconvertibleError(
                f"{entry.where}.protocol {protocol!r} differs from the container's"
            )
        ports.append(
            ServicePort(
                found,
                port=None if number == found.number else number,
                node_port=entry.number("nodePort"),
            )
        )
        entry.done()
    spec.done()
    extra = {k: v for k, v in selector.items() if k != NAME_LABEL and (k, v) in workload.pod_labels}
    options: dict[str, Any] = {"ports": ports, "type": kind, "session_affinity": affinity}
    if extra:
        options["selector"] = extra
    if manifest.name != workload.name:
        options["name"] = manifest.name
    return Service(workload, **options)


def _selected(
    cluster: Cluster, manifest: Manifest, selector: Mapping[str, str]
) -> Deployment | StatefulSet:
    """The one workload whose pods carry every label of ``selector``."""
    found: list[Manifest] = []
    for other in cluster.manifests:
        if other.kind not in ("Deployment", "StatefulSet") or other.namespace != manifest.namespace:
            continue
        labels = _at(other.data, "spec", "template", "metadata", "labels")
        if isinstance(labels, Mapping) and all(labels.get(k) == v for k, v in selector.items()):
            found.append(other)
    if len(found) != 1:
        which = ", ".join(m.title for m in found) or "none"
        raise UnconvertibleError(
            f"spec.selector {dict(selector)} selects {len(found)} workloads ({which}); pipedsl's "
            "Service exposes exactly one"
        )
    workload = cluster.convert(found[0])
    assert isinstance(workload, Deployment | StatefulSet)  # noqa: S101  (the kinds above)
    return workload


def _unknown(cluster: Cluster, manifest: Manifest) -> Any:
    if manifest.kind in _BUILT_IN:
        raise UnconvertibleError(
            f"kind {manifest.kind} is not imported (pipedsl imports {', '.join(_KINDS)}, and "
            "other API groups' kinds as CustomObject)"
        )
    return _custom(cluster, manifest)


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


def _job(cluster: Cluster, manifest: Manifest) -> Job | CronJob:
    doc = _head(cluster, manifest, annotated=True)
    spec = doc.sub("spec")
    doc.done()
    options: dict[str, Any] = {
        "namespace": manifest.namespace,
        "annotations": _annotations(manifest),
    }
    job = spec
    if manifest.kind == "CronJob":
        template = spec.sub("jobTemplate")
        job = template.sub("spec")
        meta = template.sub("metadata")
        options["pod_labels"] = _plain_pod_labels(meta)
        template.done()
        options.update(_schedule(spec))
    pod = job.sub("template")
    labels = _plain_pod_labels(pod.sub("metadata"))
    options["pod_labels"] = {**options.get("pod_labels", {}), **labels}
    containers, pod_options = _pod(cluster, manifest, pod.sub("spec"), {})
    pod.done()
    options.update(pod_options)
    # Kubernetes' default where the file is silent (pipedsl's own is 2).
    options["backoff_limit"] = job.number("backoffLimit", 6)
    deadline = job.number("activeDeadlineSeconds")
    if deadline is not None:
        options["active_deadline_seconds"] = deadline
    ttl = job.number("ttlSecondsAfterFinished")
    job.done()
    if manifest.kind == "CronJob":
        if ttl is not None:
            raise UnconvertibleError("spec.jobTemplate.spec.ttlSecondsAfterFinished: not modelled")
        spec.done()
        return CronJob(manifest.name, containers, **options)
    if ttl is not None:
        options["ttl_seconds_after_finished"] = ttl
    return Job(manifest.name, containers, **options)


def _plain_pod_labels(meta: Fields) -> dict[str, str]:
    """A job's pod labels (no selector to leave out: Kubernetes makes the job's own)."""
    labels = _labels(meta.get("labels"), f"{meta.where}.labels")
    meta.done()
    return {k: v for k, v in labels.items() if k not in (NAME_LABEL, MANAGED_BY)}


def _schedule(spec: Fields) -> dict[str, Any]:
    """A CronJob's schedule and history settings, with Kubernetes' defaults where unset."""
    options: dict[str, Any] = {
        "schedule": spec.text("schedule"),
        "concurrency_policy": spec.text("concurrencyPolicy") or "Allow",
        "suspend": bool(spec.get("suspend", False)),
        "successful_jobs_history_limit": spec.number("successfulJobsHistoryLimit", 3),
        "failed_jobs_history_limit": spec.number("failedJobsHistoryLimit", 1),
    }
    for key, field in (
        ("timeZone", "time_zone"),
        ("startingDeadlineSeconds", "starting_deadline_seconds"),
    ):
        value = spec.get(key)
        if value is not None:
            options[field] = value
    return options


def _rules(doc: Fields) -> list[PolicyRule]:
    rules = []
    for rule in doc.items("rules"):
        where = rule.where
        rules.append(
            PolicyRule(
                _words(rule.get("resources"), f"{where}.resources"),
                _words(rule.get("verbs"), f"{where}.verbs"),
                api_groups=_words(rule.get("apiGroups", [""]), f"{where}.apiGroups"),
                resource_names=_words(rule.get("resourceNames", []), f"{where}.resourceNames"),
            )
        )
        rule.done()
    return rules


def _role(cluster: Cluster, manifest: Manifest) -> Role | ClusterRole:
    doc = _head(cluster, manifest)
    rules = _rules(doc)
    doc.done()
    if manifest.kind == "ClusterRole":
        return ClusterRole(manifest.name, rules)
    return Role(manifest.name, rules, namespace=manifest.namespace)


def _binding(cluster: Cluster, manifest: Manifest) -> RoleBinding | ClusterRoleBinding:
    doc = _head(cluster, manifest)
    ref = doc.sub("roleRef")
    ref.ignore("apiGroup")
    kind = ref.text("kind")
    if kind not in ("Role", "ClusterRole") or (kind == "Role" and manifest.kind != "RoleBinding"):
        raise UnconvertibleError(
            f"roleRef.kind {kind!r}: a Role (for a RoleBinding) or ClusterRole"
        )
    namespace = manifest.namespace if kind == "Role" else "default"
    role = cluster.object(kind, namespace, ref.get("name"), ref.where)
    ref.done()
    subjects = []
    for subject in doc.items("subjects"):
        if subject.text("kind") != "ServiceAccount":
            raise UnconvertibleError(
                f"{subject.where}.kind: only ServiceAccount subjects are modelled"
            )
        subject.ignore("apiGroup")
        where = subject.text("namespace") or manifest.namespace
        subjects.append(cluster.object("ServiceAccount", where, subject.get("name"), subject.where))
        subject.done()
    doc.done()
    if manifest.kind == "ClusterRoleBinding":
        return ClusterRoleBinding(manifest.name, role, subjects)
    return RoleBinding(manifest.name, role, subjects, namespace=manifest.namespace)


def _custom(cluster: Cluster, manifest: Manifest) -> CustomObject:
    """A kind pipedsl does not model, kept as typed data — unless it runs a component's
    pushed image, which only the modelled workloads are pinned to."""
    try:
        text = json.dumps(manifest.data, default=str)
    except (ValueError, RecursionError):
        raise UnconvertibleError("the document refers to itself (a YAML alias loop)") from None
    for component, image in cluster.images.items():
        if image.repository.path in text:
            raise UnconvertibleError(
                f"kind {manifest.kind} runs {component}'s image {image.repository.reference}, "
                "which pipedsl pins only in Deployments, StatefulSets, Jobs and CronJobs"
            )
    secret = _written_secret(manifest.data, manifest.kind)
    if secret is not None:
        raise UnconvertibleError(
            f"{secret} holds a secret written into the manifest, which would be copied into "
            "the project file: keep it in a Secret the object refers to"
        )
    return CustomObject.of(manifest.data)


def _literal_credential(key: object, item: object) -> bool:
    """``password: hunter2`` — not ``password: ""``, ``passwordRef: {...}``, ``token: $T``."""
    if not isinstance(key, str) or not looks_secret(key) or not isinstance(item, str | int):
        return False
    return item not in ("", 0) and not str(item).startswith("$")


def _written_secret(value: object, where: str) -> str | None:
    """Where ``value`` holds a credential as a literal: a ``data``/``stringData`` mapping, a
    value under a credential's name (``password:``, ``apiToken:``) or an env entry
    ``{name: DB_PASSWORD, value: ...}`` — the place, never the value."""
    if isinstance(value, Mapping):
        name = value.get("name")
        if isinstance(name, str) and looks_secret(name) and value.get("value") not in (None, ""):
            return f"{where}.value"
        for key, item in value.items():
            inner = f"{where}.{key}"
            if key in ("data", "stringData") and isinstance(item, Mapping) and item:
                return inner
            if _literal_credential(key, item):
                return inner
            found = _written_secret(item, inner)
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _written_secret(item, f"{where}[{index}]")
            if found is not None:
                return found
    return None


def _service_account(cluster: Cluster, manifest: Manifest) -> ServiceAccount:
    doc = _head(cluster, manifest, annotated=True)
    automount = doc.get("automountServiceAccountToken")
    doc.done()
    if automount is not None and not isinstance(automount, bool):
        raise UnconvertibleError("automountServiceAccountToken: expected true or false")
    return ServiceAccount(
        manifest.name,
        namespace=manifest.namespace,
        annotations=_annotations(manifest),
        automount_token=automount,
    )


def _ingress(cluster: Cluster, manifest: Manifest) -> Ingress:
    doc = _head(cluster, manifest, annotated=True)
    spec = doc.sub("spec")
    doc.done()
    paths: list[IngressPath] = []
    for rule in spec.items("rules"):
        host = rule.text("host")
        http = rule.sub("http")
        for entry in http.items("paths"):
            backend = entry.sub("backend")
            target = backend.sub("service")
            service = cluster.object(
                "Service", manifest.namespace, target.get("name"), target.where
            )
            port = _service_port(service, target.sub("port"))
            backend.done()
            target.done()
            options: dict[str, Any] = {
                "host": host,
                "path_type": entry.text("pathType") or "Prefix",
            }
            if port is not None and len(service.ports) > 1:
                options["port"] = port
            paths.append(IngressPath(entry.text("path") or "/", service, **options))
            entry.done()
        http.done()
        rule.done()
    tls = []
    for entry in spec.items("tls"):
        secret = cluster.object("Secret", manifest.namespace, entry.get("secretName"), entry.where)
        tls.append(IngressTLS(_words(entry.get("hosts"), f"{entry.where}.hosts"), secret))
        entry.done()
    ingress_class = spec.text("ingressClassName")
    spec.done()
    return Ingress(
        manifest.name,
        paths,
        ingress_class=ingress_class,
        tls=tls,
        annotations=_annotations(manifest),
    )


def _service_port(service: Service, port: Fields) -> ServicePort | None:
    """The port of ``service`` an Ingress backend names (by name or number)."""
    wanted = port.get("name", port.get("number"))
    port.done()
    if wanted is None:
        return None
    for candidate in service.ports:
        if wanted in (candidate.name, candidate.number):
            return candidate
    raise UnconvertibleError(f"{port.where}: {wanted!r} is not a port of Service {service.name!r}")


def _autoscaler(cluster: Cluster, manifest: Manifest) -> HorizontalPodAutoscaler:
    doc = _head(cluster, manifest)
    spec = doc.sub("spec")
    doc.done()
    ref = spec.sub("scaleTargetRef")
    ref.ignore("apiVersion")
    kind = ref.text("kind")
    if kind not in ("Deployment", "StatefulSet"):
        raise UnconvertibleError(f"spec.scaleTargetRef.kind {kind!r}: a Deployment or StatefulSet")
    target = cluster.object(kind, manifest.namespace, ref.get("name"), ref.where)
    ref.done()
    options: dict[str, Any] = {"cpu_percent": None, "max_replicas": spec.number("maxReplicas")}
    minimum = spec.number("minReplicas")
    if minimum is not None:
        options["min_replicas"] = minimum
    metrics: list[PodsMetric | ExternalMetric] = []
    for entry in spec.items("metrics"):
        kind = entry.text("type")
        if kind == "Resource":
            resource = entry.sub("resource")
            goal = resource.sub("target")
            if goal.get("type") != "Utilization":
                raise UnconvertibleError(f"{goal.where}.type: only Utilization is modelled")
            name = resource.text("name")
            if name not in ("cpu", "memory"):
                raise UnconvertibleError(f"{resource.where}.name {name!r}: cpu or memory")
            options[f"{name}_percent"] = goal.number("averageUtilization")
            goal.done()
            resource.done()
        elif kind in ("Pods", "External"):
            metrics.append(_metric(entry.sub(kind.lower()), kind))
        else:
            raise UnconvertibleError(f"{entry.where}.type {kind!r}: Resource, Pods or External")
        entry.done()
    options["metrics"] = metrics
    behavior = spec.sub("behavior")
    down = behavior.sub("scaleDown")
    window = down.number("stabilizationWindowSeconds")
    if window is not None:
        options["scale_down_seconds"] = window
    down.done()
    behavior.done()
    spec.done()
    if manifest.name != target.name:
        options["name"] = manifest.name
    return HorizontalPodAutoscaler(target, **options)


def _metric(source: Fields, kind: str) -> PodsMetric | ExternalMetric:
    identifier = source.sub("metric")
    selector = identifier.sub("selector")
    labels = _labels(selector.get("matchLabels"), f"{selector.where}.matchLabels")
    selector.done()
    name = identifier.text("name")
    identifier.done()
    goal = source.sub("target")
    goal.ignore("type")
    values = {k: _quantity(goal, k) for k in ("value", "averageValue")}
    goal.done()
    source.done()
    if kind == "Pods":
        average = values["averageValue"]
        if values["value"] is not None or average is None:
            raise UnconvertibleError(f"{goal.where}: a Pods metric targets an averageValue")
        return PodsMetric(name, average_value=average, selector=labels)
    return ExternalMetric(
        name, value=values["value"], average_value=values["averageValue"], selector=labels
    )


_CONVERTERS: dict[str, Callable[[Cluster, Manifest], Any]] = {
    "Namespace": _namespace,
    "ConfigMap": _config_map,
    "Secret": _secret,
    "PersistentVolumeClaim": _claim,
    "PersistentVolume": _volume_object,
    "StorageClass": _storage_class,
    "Deployment": _workload,
    "StatefulSet": _workload,
    "Service": _service,
    "Ingress": _ingress,
    "ServiceAccount": _service_account,
    "Job": _job,
    "CronJob": _job,
    "Role": _role,
    "ClusterRole": _role,
    "RoleBinding": _binding,
    "ClusterRoleBinding": _binding,
    "HorizontalPodAutoscaler": _autoscaler,
}
