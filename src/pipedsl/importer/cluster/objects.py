"""Every other kind: configuration, storage, Services and Ingresses, autoscalers, RBAC and
the kinds of other API groups."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pipedsl.importer.cluster.read import (
    NAME_LABEL,
    Fields,
    Manifest,
    UnconvertibleError,
    annotations_of,
    defaults_only,
    dig,
    label_map,
    mapping_of,
    quantity,
    read_head,
    scalar_text,
    word_list,
)
from pipedsl.model.k8s.access import (
    ClusterRole,
    ClusterRoleBinding,
    PolicyRule,
    Role,
    RoleBinding,
    ServiceAccount,
)
from pipedsl.model.k8s.config import ConfigMap, Secret, looks_secret
from pipedsl.model.k8s.custom import CustomObject
from pipedsl.model.k8s.network import Ingress, IngressPath, IngressTLS, Service, ServicePort
from pipedsl.model.k8s.scaling import ExternalMetric, HorizontalPodAutoscaler, PodsMetric
from pipedsl.model.k8s.storage import (
    PersistentVolume,
    PersistentVolumeClaim,
    StorageClass,
    class_name,
)
from pipedsl.model.k8s.workloads import (
    Deployment,
    Namespace,
    StatefulSet,
)

if TYPE_CHECKING:
    from pipedsl.importer.cluster.cluster import Cluster


def convert_namespace(cluster: Cluster, manifest: Manifest) -> Namespace:
    doc = read_head(cluster, manifest)
    doc.ignore("spec")
    doc.done()
    return Namespace(manifest.name)


def convert_config_map(cluster: Cluster, manifest: Manifest) -> ConfigMap | Secret:
    """A ConfigMap; its credentials (``DB_PASSWORD``...) move to a Secret ``<name>-secret``
    declared by their keys, which its readers then read too (the values are never read). A
    ConfigMap of credentials alone becomes that Secret."""
    doc = read_head(cluster, manifest)
    data = mapping_of(doc.get("data"), "data")
    doc.done()
    secret_keys = [k for k in data if isinstance(k, str) and looks_secret(k)]
    values = {
        str(k): v if isinstance(v, str) else scalar_text(v, f"data.{k}")
        for k, v in data.items()
        if k not in secret_keys
    }
    if not secret_keys:
        return ConfigMap(manifest.name, values, namespace=manifest.namespace)
    name = f"{manifest.name}-secret"
    if ("Secret", manifest.namespace, name) in cluster.by_key or (
        manifest.namespace,
        name,
    ) in cluster.secret_keys:
        raise UnconvertibleError(
            f"data: credentials ({', '.join(secret_keys)}) would move to Secret {name!r}, which "
            "the manifests already define or read"
        )
    secret = Secret(name, keys=secret_keys, namespace=manifest.namespace)
    cluster.objects[("Secret", manifest.namespace, name)] = secret
    cluster.moved[(manifest.namespace, manifest.name)] = secret
    cluster.note(
        manifest,
        "converted",
        f"credentials {', '.join(secret_keys)} in ConfigMap {manifest.name!r}",
        "a ConfigMap is readable by anyone who can read the namespace, and this one is in the "
        f"repository: its readers now read them from Secret {name!r}; create it in the cluster "
        f"(kubectl create secret generic {name} --from-env-file=...)",
    )
    if not values:
        return secret
    return ConfigMap(manifest.name, values, namespace=manifest.namespace)


def convert_secret(cluster: Cluster, manifest: Manifest) -> Secret:
    doc = read_head(cluster, manifest)
    data = mapping_of(doc.get("data"), "data")
    string_data = mapping_of(doc.get("stringData"), "stringData")
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


def convert_claim(cluster: Cluster, manifest: Manifest) -> PersistentVolumeClaim:
    doc = read_head(cluster, manifest)
    spec = doc.sub("spec")
    name = spec.text("volumeName")
    volume = None
    if name is not None:
        volume = cluster.object("PersistentVolume", "default", name, f"{spec.where}.volumeName")
    storage, modes, storage_class = claim_spec(spec)
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


def convert_volume(cluster: Cluster, manifest: Manifest) -> PersistentVolume:
    doc = read_head(cluster, manifest)
    spec = doc.sub("spec")
    doc.done()
    capacity = spec.sub("capacity")
    storage = quantity(capacity, "storage")
    capacity.done()
    host = spec.sub("hostPath")
    path = host.text("path")
    if host.get("type", "DirectoryOrCreate") not in ("", "DirectoryOrCreate"):
        raise UnconvertibleError(f"{host.where}.type: pipedsl's volumes are DirectoryOrCreate")
    host.done()
    options: dict[str, Any] = {
        "access_modes": word_list(spec.get("accessModes") or ["ReadWriteOnce"], "accessModes"),
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


def convert_storage_class(cluster: Cluster, manifest: Manifest) -> StorageClass:
    annotations = annotations_of(manifest)
    default = annotations.pop("storageclass.kubernetes.io/is-default-class", "false")
    if annotations:
        raise UnconvertibleError(f"metadata.annotations ({', '.join(annotations)}): not modelled")
    doc = read_head(cluster, manifest, annotated=True)
    parameters = label_map(doc.get("parameters"), "parameters")
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


def claim_spec(spec: Fields) -> tuple[str, tuple[str, ...], str | None]:
    modes = word_list(spec.get("accessModes") or ["ReadWriteOnce"], f"{spec.where}.accessModes")
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


def convert_service(cluster: Cluster, manifest: Manifest) -> Service:
    doc = read_head(cluster, manifest)
    spec = doc.sub("spec")
    doc.done()
    selector = label_map(spec.get("selector"), "spec.selector")
    if not selector:
        raise UnconvertibleError("a Service without a selector (its endpoints are set by hand)")
    workload = _selected(cluster, manifest, selector)
    kind = spec.text("type") or "ClusterIP"
    affinity = spec.text("sessionAffinity") or "None"
    if spec.data.get("clusterIP") == "None" or spec.data.get("clusterIPs") == ["None"]:
        raise UnconvertibleError("spec.clusterIP: None (a headless Service) is not modelled")
    # Addresses the cluster assigned (an exported manifest) are assigned again.
    spec.ignore("clusterIP", "clusterIPs", "ipFamilies")
    defaults_only(spec, ipFamilyPolicy=("SingleStack",), internalTrafficPolicy=("Cluster",))
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
        labels = dig(other.data, "spec", "template", "metadata", "labels")
        if isinstance(labels, Mapping) and all(labels.get(k) == v for k, v in selector.items()):
            found.append(other)
    if len(found) != 1:
        if not found:
            others = [m.title for m in cluster.manifests if _pods_labelled(m, manifest, selector)]
            if others:
                raise UnconvertibleError(
                    f"spec.selector {dict(selector)} selects the pods of {', '.join(others)}; "
                    "pipedsl's Service exposes a Deployment or StatefulSet"
                )
            raise UnconvertibleError(
                f"spec.selector {dict(selector)} selects no workload of the manifests: no pod "
                "carries those labels, so the Service has no endpoints in the cluster either"
            )
        which = ", ".join(m.title for m in found)
        raise UnconvertibleError(
            f"spec.selector {dict(selector)} selects {len(found)} workloads ({which}); pipedsl's "
            "Service exposes exactly one"
        )
    workload = cluster.convert(found[0])
    assert isinstance(workload, Deployment | StatefulSet)  # noqa: S101  (the kinds above)
    return workload


def _rules(doc: Fields) -> list[PolicyRule]:
    rules = []
    for rule in doc.items("rules"):
        where = rule.where
        rules.append(
            PolicyRule(
                word_list(rule.get("resources"), f"{where}.resources"),
                word_list(rule.get("verbs"), f"{where}.verbs"),
                api_groups=word_list(rule.get("apiGroups", [""]), f"{where}.apiGroups"),
                resource_names=word_list(rule.get("resourceNames", []), f"{where}.resourceNames"),
            )
        )
        rule.done()
    return rules


def convert_role(cluster: Cluster, manifest: Manifest) -> Role | ClusterRole:
    doc = read_head(cluster, manifest)
    rules = _rules(doc)
    doc.done()
    if manifest.kind == "ClusterRole":
        return ClusterRole(manifest.name, rules)
    return Role(manifest.name, rules, namespace=manifest.namespace)


def convert_binding(cluster: Cluster, manifest: Manifest) -> RoleBinding | ClusterRoleBinding:
    doc = read_head(cluster, manifest)
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


def custom_object(cluster: Cluster, manifest: Manifest) -> CustomObject:
    """A kind pipedsl does not model, kept as typed data — unless it runs a component's
    pushed image, which only the modelled workloads are pinned to. (A literal credential in
    it is refused by :class:`CustomObject` itself, naming the field.)"""
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
    return CustomObject.of(manifest.data)


def _pods_labelled(other: Manifest, service: Manifest, selector: Mapping[str, str]) -> bool:
    """Whether ``other`` (of any kind: a bare Pod, a DaemonSet...) makes pods in the
    Service's namespace that carry every label of ``selector``."""
    if other.namespace != service.namespace or other.kind in ("Deployment", "StatefulSet"):
        return False
    path = (
        ("metadata", "labels")
        if other.kind == "Pod"
        else ("spec", "template", "metadata", "labels")
    )
    labels = dig(other.data, *path)
    return isinstance(labels, Mapping) and all(labels.get(k) == v for k, v in selector.items())


def convert_service_account(cluster: Cluster, manifest: Manifest) -> ServiceAccount:
    doc = read_head(cluster, manifest, annotated=True)
    automount = doc.get("automountServiceAccountToken")
    doc.done()
    if automount is not None and not isinstance(automount, bool):
        raise UnconvertibleError("automountServiceAccountToken: expected true or false")
    return ServiceAccount(
        manifest.name,
        namespace=manifest.namespace,
        annotations=annotations_of(manifest),
        automount_token=automount,
    )


def convert_ingress(cluster: Cluster, manifest: Manifest) -> Ingress:
    doc = read_head(cluster, manifest, annotated=True)
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
        tls.append(IngressTLS(word_list(entry.get("hosts"), f"{entry.where}.hosts"), secret))
        entry.done()
    ingress_class = spec.text("ingressClassName")
    spec.done()
    return Ingress(
        manifest.name,
        paths,
        ingress_class=ingress_class,
        tls=tls,
        annotations=annotations_of(manifest),
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


def convert_autoscaler(cluster: Cluster, manifest: Manifest) -> HorizontalPodAutoscaler:
    doc = read_head(cluster, manifest)
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
    labels = label_map(selector.get("matchLabels"), f"{selector.where}.matchLabels")
    selector.done()
    name = identifier.text("name")
    identifier.done()
    goal = source.sub("target")
    goal.ignore("type")
    values = {k: quantity(goal, k) for k in ("value", "averageValue")}
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
