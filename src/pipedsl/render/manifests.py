"""Kubernetes objects to manifests: plain data, then YAML text (through
:func:`pipedsl.render.escape.yaml_document`). Which objects get a file, and its name, are
decided in :mod:`pipedsl.resolve.layout`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pipedsl.model.k8s.access import (
    ClusterRole,
    ClusterRoleBinding,
    PolicyRule,
    Role,
    RoleBinding,
    ServiceAccount,
)
from pipedsl.model.k8s.batch import CronJob, Job
from pipedsl.model.k8s.config import ConfigMap, ConfigMapKey
from pipedsl.model.k8s.custom import CustomObject
from pipedsl.model.k8s.network import Ingress, Service
from pipedsl.model.k8s.runtime import K8sObject, PodWorkload, Runtime, namespace_of
from pipedsl.model.k8s.scaling import ExternalMetric, HorizontalPodAutoscaler, PodsMetric
from pipedsl.model.k8s.storage import (
    ClaimTemplate,
    ClaimVolume,
    ConfigMapVolume,
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
    Deployment,
    FieldRef,
    HttpGet,
    Namespace,
    PodSecurityContext,
    Probe,
    Resources,
    SecurityContext,
    StatefulSet,
    TcpSocket,
    VolumeMount,
)
from pipedsl.model.project import Project
from pipedsl.render.artifacts import Artifact
from pipedsl.render.escape import yaml_comment, yaml_document
from pipedsl.resolve.layout import (
    NOTHING_SHARED,
    SHARED,
    Shared,
    is_shared,
    manifest_path,
    rendered_objects,
)

Data = dict[str, Any]

MANAGED_BY = {"app.kubernetes.io/managed-by": "pipedsl"}


def _metadata(obj: K8sObject, labels: dict[str, str] | None = None) -> Data:
    meta: Data = {"name": obj.name}
    namespace = namespace_of(obj)
    if namespace is not None:
        meta["namespace"] = namespace
    meta["labels"] = {**(labels or {"app.kubernetes.io/name": obj.name}), **MANAGED_BY}
    return meta


def _head(
    obj: K8sObject,
    labels: dict[str, str] | None = None,
    annotations: tuple[tuple[str, str], ...] = (),
) -> Data:
    metadata = _metadata(obj, labels)
    if annotations:
        metadata["annotations"] = dict(annotations)
    return {"apiVersion": obj.api_version, "kind": obj.kind, "metadata": metadata}


def _probe(probe: Probe) -> Data:
    action = probe.action
    data: Data
    if isinstance(action, HttpGet):
        get: Data = {"path": action.path, "port": action.port.name}
        if action.scheme != "HTTP":
            get["scheme"] = action.scheme
        data = {"httpGet": get}
    elif isinstance(action, TcpSocket):
        data = {"tcpSocket": {"port": action.port.name}}
    else:
        data = {"exec": {"command": list(action.command)}}
    return {
        **data,
        "initialDelaySeconds": probe.initial_delay_seconds,
        "periodSeconds": probe.period_seconds,
        "timeoutSeconds": probe.timeout_seconds,
        "failureThreshold": probe.failure_threshold,
        **({"successThreshold": probe.success_threshold} if probe.success_threshold != 1 else {}),
    }


def image_name(container: Container) -> str:
    """The image a manifest names. A pipeline's image is written as its tag template
    (``hosin/lat32t:backend-{build}``): only the build knows the tag, and the deploy writes the
    exact reference it pushed into the container, found by name (see ``docs/manifests.md``).
    Applied by hand, the template fails loudly (``InvalidImageName``) instead of running a
    stale image."""
    image = container.image
    if isinstance(image, str):
        return image
    return f"{image.repository.reference}:{image.tag}"


def _env(container: Container) -> list[Data]:
    env: list[Data] = []
    for name, value in container.env:
        if isinstance(value, str):
            env.append({"name": name, "value": value})
        elif isinstance(value, ConfigMapKey):
            ref = {"name": value.config_map.name, "key": value.key}
            env.append({"name": name, "valueFrom": {"configMapKeyRef": ref}})
        elif isinstance(value, FieldRef):
            env.append({"name": name, "valueFrom": {"fieldRef": {"fieldPath": value.path}}})
        else:
            ref = {"name": value.secret.name, "key": value.key}
            env.append({"name": name, "valueFrom": {"secretKeyRef": ref}})
    return env


def resources_data(resources: Resources) -> Data:
    requests = {k: v for k, v in (("cpu", resources.cpu), ("memory", resources.memory)) if v}
    limits = {
        k: v for k, v in (("cpu", resources.cpu_limit), ("memory", resources.memory_limit)) if v
    }
    return {k: v for k, v in (("requests", requests), ("limits", limits)) if v}


def _mount(mount: VolumeMount) -> Data:
    item: Data = {"name": mount.volume.name, "mountPath": mount.path}
    if mount.sub_path is not None:
        item["subPath"] = mount.sub_path
    if mount.read_only:
        item["readOnly"] = True
    return item


def _container(container: Container) -> Data:
    data: Data = {"name": container.name, "image": image_name(container)}
    if container.command is not None:
        data["command"] = list(container.command)
    if container.args is not None:
        data["args"] = list(container.args)
    if container.ports:
        data["ports"] = [
            {"name": p.name, "containerPort": p.number, "protocol": p.protocol}
            for p in container.ports
        ]
    if container.env_from:
        data["envFrom"] = [
            {"configMapRef": {"name": s.name}}
            if isinstance(s, ConfigMap)
            else {"secretRef": {"name": s.name}}
            for s in container.env_from
        ]
    if container.env:
        data["env"] = _env(container)
    if container.resources is not None:
        data["resources"] = resources_data(container.resources)
    for kind in ("startup", "readiness", "liveness"):
        probe: Probe | None = getattr(container, kind)
        if probe is not None:
            data[f"{kind}Probe"] = _probe(probe)
    if container.mounts:
        data["volumeMounts"] = [_mount(m) for m in container.mounts]
    if container.security_context is not None:
        data["securityContext"] = _security_context(container.security_context)
    return data


def _set(data: Data, **values: object) -> Data:
    """``data`` with the given camelCase keys whose value is not None (nor empty)."""
    data.update({k: v for k, v in values.items() if v is not None and v not in ([], {})})
    return data


def _security_context(context: SecurityContext) -> Data:
    capabilities = _set({}, add=list(context.add), drop=list(context.drop))
    return _set(
        {},
        runAsUser=context.run_as_user,
        runAsGroup=context.run_as_group,
        runAsNonRoot=context.run_as_non_root,
        readOnlyRootFilesystem=context.read_only_root_filesystem,
        allowPrivilegeEscalation=context.allow_privilege_escalation,
        privileged=True if context.privileged else None,
        capabilities=capabilities,
    )


def _pod_security_context(context: PodSecurityContext) -> Data:
    return _set(
        {},
        runAsUser=context.run_as_user,
        runAsGroup=context.run_as_group,
        runAsNonRoot=context.run_as_non_root,
        fsGroup=context.fs_group,
        supplementalGroups=list(context.supplemental_groups),
        seccompProfile={"type": context.seccomp} if context.seccomp else None,
    )


def _items(items: tuple[tuple[str, str], ...]) -> Data:
    return {"items": [{"key": k, "path": p} for k, p in items]} if items else {}


def _volume(volume: Volume) -> Data:
    if isinstance(volume, ClaimVolume):
        return {"name": volume.name, "persistentVolumeClaim": {"claimName": volume.claim.name}}
    if isinstance(volume, ConfigMapVolume):
        source = {"name": volume.config_map.name, **_items(volume.items)}
        return {"name": volume.name, "configMap": source}
    if isinstance(volume, SecretVolume):
        source = {"secretName": volume.secret.name, **_items(volume.items)}
        return {"name": volume.name, "secret": source}
    if isinstance(volume, HostPathVolume):
        return {"name": volume.name, "hostPath": {"path": volume.path, "type": volume.type}}
    return {"name": volume.name, "emptyDir": {}}


def _pod_template(workload: PodWorkload, restart_policy: str | None = None) -> Data:
    spec: Data = {}
    if workload.service_account is not None:
        spec["serviceAccountName"] = workload.service_account.name
    if workload.security_context is not None:
        spec["securityContext"] = _pod_security_context(workload.security_context)
    if restart_policy is not None:
        spec["restartPolicy"] = restart_policy
    spec["terminationGracePeriodSeconds"] = workload.termination_grace_period_seconds
    if workload.init_containers:
        spec["initContainers"] = [_container(c) for c in workload.init_containers]
    spec["containers"] = [_container(c) for c in workload.containers]
    volumes = [_volume(v) for v in workload.volumes if not isinstance(v, ClaimTemplate)]
    if volumes:
        spec["volumes"] = volumes
    return {"metadata": {"labels": workload.pod_template_labels}, "spec": spec}


def _claim_spec(
    storage: str, access_modes: tuple[str, ...], storage_class: StorageClass | str | None
) -> Data:
    spec: Data = {
        "accessModes": list(access_modes),
        "resources": {"requests": {"storage": storage}},
    }
    if storage_class is not None:
        spec["storageClassName"] = class_name(storage_class)
    return spec


def _namespace(obj: Namespace) -> Data:
    return _head(obj)


def _config_map(obj: ConfigMap) -> Data:
    return {**_head(obj), "data": dict(obj.data)}


def _persistent_volume(obj: PersistentVolume) -> Data:
    return {
        **_head(obj),
        "spec": {
            "capacity": {"storage": obj.storage},
            "accessModes": list(obj.access_modes),
            "persistentVolumeReclaimPolicy": obj.reclaim_policy,
            "storageClassName": class_name(obj.storage_class),
            "hostPath": {"path": obj.host_path, "type": "DirectoryOrCreate"},
        },
    }


def _claim(obj: PersistentVolumeClaim) -> Data:
    spec = _claim_spec(obj.storage, obj.access_modes, obj.storage_class)
    if obj.volume is not None:
        # Bound to that volume alone, never to another of the same class.
        spec["storageClassName"] = class_name(obj.volume.storage_class)
        spec["volumeName"] = obj.volume.name
    return {**_head(obj), "spec": spec}


def _deployment(obj: Deployment) -> Data:
    replicas = {} if obj.replicas is None else {"replicas": obj.replicas}
    return {
        **_head(obj),
        "spec": {
            **replicas,
            "selector": {"matchLabels": dict(obj.selector)},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {
                    "maxSurge": obj.strategy.max_surge,
                    "maxUnavailable": obj.strategy.max_unavailable,
                },
            },
            "minReadySeconds": obj.min_ready_seconds,
            **(
                {"revisionHistoryLimit": obj.revision_history_limit}
                if obj.revision_history_limit is not None
                else {}
            ),
            "template": _pod_template(obj),
        },
    }


def _stateful_set(obj: StatefulSet) -> Data:
    claims = [v for v in obj.volumes if isinstance(v, ClaimTemplate)]
    spec = {
        "serviceName": obj.service_name,
        "replicas": obj.replicas,
        "selector": {"matchLabels": dict(obj.selector)},
        "template": _pod_template(obj),
    }
    if claims:
        spec["volumeClaimTemplates"] = [
            {
                "metadata": {"name": c.name},
                "spec": _claim_spec(c.storage, c.access_modes, c.storage_class),
            }
            for c in claims
        ]
    return {**_head(obj), "spec": spec}


def _job_spec(obj: Job | CronJob) -> Data:
    return _set(
        {},
        backoffLimit=obj.backoff_limit,
        activeDeadlineSeconds=obj.active_deadline_seconds,
        ttlSecondsAfterFinished=obj.ttl_seconds_after_finished if isinstance(obj, Job) else None,
        template=_pod_template(obj, obj.restart_policy),
    )


def _job(obj: Job) -> Data:
    return {**_head(obj, annotations=obj.annotations), "spec": _job_spec(obj)}


def _cron_job(obj: CronJob) -> Data:
    spec = _set(
        {"schedule": obj.schedule},
        timeZone=obj.time_zone,
        concurrencyPolicy=obj.concurrency_policy,
        suspend=True if obj.suspend else None,
        startingDeadlineSeconds=obj.starting_deadline_seconds,
        successfulJobsHistoryLimit=obj.successful_jobs_history_limit,
        failedJobsHistoryLimit=obj.failed_jobs_history_limit,
    )
    spec["jobTemplate"] = {
        "metadata": {"labels": obj.pod_template_labels},
        "spec": _job_spec(obj),
    }
    return {**_head(obj, annotations=obj.annotations), "spec": spec}


def _storage_class(obj: StorageClass) -> Data:
    default = (("storageclass.kubernetes.io/is-default-class", "true"),) if obj.default else ()
    data = {**_head(obj, annotations=default), "provisioner": obj.provisioner}
    return _set(
        data,
        parameters=dict(obj.parameters),
        reclaimPolicy=obj.reclaim_policy,
        volumeBindingMode=obj.volume_binding_mode,
        allowVolumeExpansion=True if obj.allow_volume_expansion else None,
    )


def _service_account(obj: ServiceAccount) -> Data:
    return _set(
        _head(obj, annotations=obj.annotations),
        automountServiceAccountToken=obj.automount_token,
    )


def _rule(rule: PolicyRule) -> Data:
    return _set(
        {"apiGroups": list(rule.api_groups), "resources": list(rule.resources)},
        resourceNames=list(rule.resource_names),
        verbs=list(rule.verbs),
    )


def _role(obj: Role | ClusterRole) -> Data:
    return {**_head(obj), "rules": [_rule(r) for r in obj.rules]}


def _binding(obj: RoleBinding | ClusterRoleBinding) -> Data:
    return {
        **_head(obj),
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": obj.role.kind,
            "name": obj.role.name,
        },
        "subjects": [
            {"kind": "ServiceAccount", "name": a.name, "namespace": a.namespace}
            for a in obj.subjects
        ],
    }


def _service(obj: Service) -> Data:
    ports = []
    for port in obj.ports:
        item: Data = {
            "name": port.name,
            "port": port.number,
            "targetPort": port.target.name,
            "protocol": port.target.protocol,
        }
        if port.node_port is not None:
            item["nodePort"] = port.node_port
        ports.append(item)
    selector = {**obj.workload.selector, **dict(obj.selector)}
    spec: Data = {"type": obj.type, "selector": selector, "ports": ports}
    if obj.session_affinity != "None":
        spec["sessionAffinity"] = obj.session_affinity
    return {**_head(obj, {"app.kubernetes.io/name": obj.workload.name}), "spec": spec}


def _ingress(obj: Ingress) -> Data:
    by_host: dict[str | None, list[Data]] = {}
    for path in obj.paths:
        backend = {"name": path.service.name, "port": {"name": path.backend_port.name}}
        by_host.setdefault(path.host, []).append(
            {"path": path.path, "pathType": path.path_type, "backend": {"service": backend}}
        )
    rules = []
    for host, paths in by_host.items():
        rule: Data = {"host": host} if host is not None else {}
        rule["http"] = {"paths": paths}
        rules.append(rule)
    spec: Data = {"rules": rules}
    if obj.tls:
        spec["tls"] = [{"hosts": list(t.hosts), "secretName": t.secret.name} for t in obj.tls]
    if obj.ingress_class is not None:
        spec = {"ingressClassName": obj.ingress_class, **spec}
    head = _head(obj)
    if obj.annotations:
        head["metadata"] = {**head["metadata"], "annotations": dict(obj.annotations)}
    return {**head, "spec": spec}


def _autoscaler(obj: HorizontalPodAutoscaler) -> Data:
    metrics = [
        {
            "type": "Resource",
            "resource": {
                "name": name,
                "target": {"type": "Utilization", "averageUtilization": percent},
            },
        }
        for name, percent in (("cpu", obj.cpu_percent), ("memory", obj.memory_percent))
        if percent is not None
    ]
    metrics += [_metric(m) for m in obj.metrics]
    spec: Data = {
        "scaleTargetRef": {
            "apiVersion": obj.target.api_version,
            "kind": obj.target.kind,
            "name": obj.target.name,
        },
        "minReplicas": obj.min_replicas,
        "maxReplicas": obj.max_replicas,
        "metrics": metrics,
    }
    if obj.scale_down_seconds is not None:
        spec["behavior"] = {"scaleDown": {"stabilizationWindowSeconds": obj.scale_down_seconds}}
    return {**_head(obj, {"app.kubernetes.io/name": obj.target.name}), "spec": spec}


def _metric(metric: PodsMetric | ExternalMetric) -> Data:
    identifier: Data = {"name": metric.name}
    if metric.selector:
        identifier["selector"] = {"matchLabels": dict(metric.selector)}
    if isinstance(metric, PodsMetric):
        target: Data = {"type": "AverageValue", "averageValue": metric.average_value}
        return {"type": "Pods", "pods": {"metric": identifier, "target": target}}
    if metric.value is not None:
        target = {"type": "Value", "value": metric.value}
    else:
        target = {"type": "AverageValue", "averageValue": metric.average_value}
    return {"type": "External", "external": {"metric": identifier, "target": target}}


_WRITERS: dict[type, Callable[[Any], Data]] = {
    Namespace: _namespace,
    StorageClass: _storage_class,
    ServiceAccount: _service_account,
    Role: _role,
    ClusterRole: _role,
    RoleBinding: _binding,
    ClusterRoleBinding: _binding,
    Job: _job,
    CronJob: _cron_job,
    ConfigMap: _config_map,
    PersistentVolume: _persistent_volume,
    PersistentVolumeClaim: _claim,
    Deployment: _deployment,
    StatefulSet: _stateful_set,
    Service: _service,
    Ingress: _ingress,
    HorizontalPodAutoscaler: _autoscaler,
    CustomObject: CustomObject.document,
}


def manifest(obj: K8sObject) -> Data:
    """The manifest of one object, as plain data (a Secret has none: see :class:`Secret`)."""
    writer = _WRITERS.get(type(obj))
    if writer is None:
        raise TypeError(f"no manifest for {type(obj).__name__}")
    return writer(obj)


def _manifest_header(project: Project, component_name: str) -> str:
    source = project.source or "a Python project description"
    return yaml_comment(
        f"Generated by pipedsl from {source} (project {project.name}, {component_name}).\n"
        "Do not edit: change the project file and run `pipedsl render`."
    )


def render_manifests(
    project: Project,
    name: str,
    runtime: Runtime,
    environment: str | None = None,
    shared: Shared = NOTHING_SHARED,
) -> list[Artifact]:
    """The manifest files of ``runtime``, run by the component (or backing service) ``name``
    (in its environment ``environment``, if given), but for the objects other runtimes hold
    too (``shared``): :func:`render_shared_manifests` writes those, once."""
    header = _manifest_header(project, name if environment is None else f"{name}, {environment}")
    return [
        Artifact(
            manifest_path(project, name, obj, environment),
            header + yaml_document(manifest(obj)),
            "manifest",
        )
        for obj in rendered_objects(runtime)
        if not is_shared(shared, environment, obj)
    ]


def render_shared_manifests(project: Project, shared: Shared) -> list[Artifact]:
    """The project's objects several runtimes hold, each once, in ``<project>/_shared/k8s/``
    (per environment); every deploy of a runtime holding one applies it first."""
    found = []
    for environment, obj in shared:
        where = "objects shared by its components" + (
            f", {environment}" if environment is not None else ""
        )
        found.append(
            Artifact(
                manifest_path(project, SHARED, obj, environment),
                _manifest_header(project, where) + yaml_document(manifest(obj)),
                "manifest",
            )
        )
    return sorted(found, key=lambda a: a.path)
