"""Workloads and jobs: pod templates, containers, probes, volumes and the pushed image."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from pipedsl.importer.cluster.objects import (
    claim_spec,
)
from pipedsl.importer.cluster.read import (
    MANAGED_BY,
    NAME_LABEL,
    Fields,
    Manifest,
    UnconvertibleError,
    annotations_of,
    containers_of,
    defaults_only,
    dig,
    label_map,
    list_of,
    listed,
    mappings_in,
    quantity,
    read_head,
    scalar_text,
    word_list,
)
from pipedsl.model.infra import Image
from pipedsl.model.k8s.batch import CronJob, Job
from pipedsl.model.k8s.config import ConfigMap, ConfigMapKey, Secret, SecretKey, looks_secret
from pipedsl.model.k8s.storage import (
    ClaimTemplate,
    ClaimVolume,
    ConfigMapVolume,
    EmptyDirVolume,
    HostPathVolume,
    SecretVolume,
    Volume,
)
from pipedsl.model.k8s.workloads import (
    Container,
    ContainerPort,
    Deployment,
    Exec,
    FieldRef,
    HttpGet,
    PodSecurityContext,
    Probe,
    Resources,
    RollingUpdate,
    SecurityContext,
    StatefulSet,
    TcpSocket,
    VolumeMount,
)

if TYPE_CHECKING:
    from pipedsl.importer.cluster.cluster import Cluster


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


def convert_workload(cluster: Cluster, manifest: Manifest) -> Deployment | StatefulSet:
    doc = read_head(cluster, manifest)
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
    match = label_map(selector.get("matchLabels"), "spec.selector.matchLabels")
    selector.done()
    labels = label_map(meta.get("labels"), "spec.template.metadata.labels")
    meta.done()
    wrong = {k: v for k, v in match.items() if labels.get(k) != v}
    if wrong:
        raise UnconvertibleError(f"spec.selector.matchLabels {wrong} are not labels of its pods")
    dropped = {k: v for k, v in match.items() if (k, v) != (NAME_LABEL, manifest.name)}
    if dropped:
        cluster.note(
            manifest,
            "converted",
            f"selector {listed(dropped)} of {manifest.title}",
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
        storage, modes, storage_class = claim_spec(item.sub("spec"))
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
    defaults_only(spec, schedulerName=("default-scheduler",))
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
        supplemental_groups=list_of(
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
        name, _whole_config_map(pod, source), items=_key_paths(source)
    ),
    "secret": lambda pod, name, source: SecretVolume(
        name, pod.ref("Secret", source.get("secretName"), source.where), items=_key_paths(source)
    ),
    "emptyDir": lambda pod, name, source: EmptyDirVolume(name),
    "hostPath": lambda pod, name, source: HostPathVolume(
        name, source.text("path"), type=source.text("type") or "Directory"
    ),
}


def _whole_config_map(pod: _Pod, source: Fields) -> ConfigMap:
    """A ConfigMap mounted as files: refused when its credentials moved to a Secret (the
    mount would lose them)."""
    config = pod.ref("ConfigMap", source.get("name"), source.where)
    if (
        not isinstance(config, ConfigMap)
        or (
            pod.manifest.namespace,
            str(source.get("name")),
        )
        in pod.cluster.moved
    ):
        raise UnconvertibleError(
            f"{source.where}: ConfigMap {source.get('name')!r} holds credentials and is mounted "
            "as files; mount them from a Secret"
        )
    return config


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
    repository = repository_of(value)
    cluster = pod.cluster
    runners = {
        name: image for name, image in cluster.images.items() if same_repository(image, repository)
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


def repository_of(reference: str) -> str:
    """``hosin/lat32t:VERSION`` → ``hosin/lat32t`` (a registry's port and a digest kept apart)."""
    repository = reference.split("@", 1)[0]
    last = repository.rsplit("/", 1)[-1]
    if ":" in last:
        repository = repository[: len(repository) - len(last)] + last.split(":", 1)[0]
    return repository


def same_repository(image: Image, repository: str) -> bool:
    reference = image.repository.reference
    bare = repository.removeprefix("docker.io/")
    return reference in (repository, bare, f"docker.io/{bare}")


def _tag_prefix(tag: str) -> str:
    return tag.split("{", 1)[0]


def _container(pod: _Pod, item: Fields) -> Container:
    name = item.text("name")
    where = item.where
    image = _image(pod, item.get("image"), f"{where}.image")
    defaults_only(
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
            options[key] = word_list(item.get(key), f"{where}.{key}")
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
            quantity(requests, "cpu"),
            quantity(requests, "memory"),
            cpu_limit=quantity(limits, "cpu"),
            memory_limit=quantity(limits, "memory"),
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
    for container in containers_of(spec):
        for env in mappings_in(container.get("env")):
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
            env[key] = (
                value if isinstance(value, str) else scalar_text(value, f"{entry.where}.value")
            )
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
            config = pod.ref("ConfigMap", ref.get("name"), ref.where)
            moved = pod.cluster.moved.get((pod.manifest.namespace, str(ref.get("name"))))
            sources += [config] if moved is None or moved is config else [config, moved]
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
        for port in mappings_in(dig(manifest.data, "spec", "ports")):
            if not isinstance(port.get("name"), str):
                continue
            if port.get("targetPort", port.get("port")) == number:
                return str(port["name"])
    return f"port-{number}"


def _env_source(pod: _Pod, source: Fields) -> ConfigMapKey | SecretKey | FieldRef:
    if "configMapKeyRef" in source.data:
        ref = source.sub("configMapKeyRef")
        config = pod.ref("ConfigMap", ref.get("name"), ref.where)
        moved = pod.cluster.moved.get((pod.manifest.namespace, str(ref.get("name"))))
        key = ref.text("key")
        if moved is not None and key in moved.keys:
            built: ConfigMapKey | SecretKey | FieldRef = SecretKey(moved, key)
        elif isinstance(config, ConfigMap):
            built = ConfigMapKey(config, key)
        else:
            raise UnconvertibleError(f"{ref.where}.key {key!r} is not a key of the ConfigMap")
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
        action = Exec(word_list(run.get("command"), f"{run.where}.command"))
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
        add=list_of(capabilities.get("add"), str, f"{capabilities.where}.add"),
        drop=list_of(capabilities.get("drop"), str, f"{capabilities.where}.drop"),
        privileged=bool(context.get("privileged", False)),
    )
    capabilities.done()
    context.done()
    return built


def convert_job(cluster: Cluster, manifest: Manifest) -> Job | CronJob:
    doc = read_head(cluster, manifest, annotated=True)
    spec = doc.sub("spec")
    doc.done()
    options: dict[str, Any] = {
        "namespace": manifest.namespace,
        "annotations": annotations_of(manifest),
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
    labels = label_map(meta.get("labels"), f"{meta.where}.labels")
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
