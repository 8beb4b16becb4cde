"""Agents to declarative ``agent`` blocks: a Kubernetes pod agent's pod YAML is generated here
from its typed containers (emitted like the manifests), never written by hand."""

from __future__ import annotations

import functools
from typing import Any

from pipedsl.model.agents import AGENT_CONTAINER, BuildKit, KubernetesPod, PodContainer
from pipedsl.render.escape import yaml_document
from pipedsl.render.manifests import resources_data

Data = dict[str, Any]

BUILDKIT_STATE = "/home/user/.local/share/buildkit"
"""Where rootless BuildKit keeps its cache: an emptyDir shared by every step of the pod, so
the push re-uses what the build built."""

_KEEP_RUNNING: Data = {"command": ["cat"], "tty": True}


def _container(container: PodContainer) -> Data:
    data: Data = {"name": container.name, "image": container.image}
    if container.command:
        data["command"] = list(container.command)
    elif container.name != AGENT_CONTAINER:
        data.update(_KEEP_RUNNING)
    if container.env:
        data["env"] = [{"name": name, "value": value} for name, value in container.env]
    if container.resources is not None:
        data["resources"] = resources_data(container.resources)
    return data


def _builder(builder: BuildKit) -> Data:
    data: Data = {"name": builder.name, "image": builder.image, **_KEEP_RUNNING}
    # Kubernetes gives a pod no way to relax only /proc for BuildKit's own sandbox: run the
    # build steps without it, as BuildKit's rootless Kubernetes examples do.
    data["env"] = [{"name": "BUILDKITD_FLAGS", "value": "--oci-worker-no-process-sandbox"}]
    if builder.resources is not None:
        data["resources"] = resources_data(builder.resources)
    data["securityContext"] = {
        # Rootless BuildKit makes a user namespace and mounts inside it: the default seccomp
        # and AppArmor profiles forbid that. Not privileged; the image's own user.
        "seccompProfile": {"type": "Unconfined"},
        "appArmorProfile": {"type": "Unconfined"},
        "runAsUser": 1000,
        "runAsGroup": 1000,
    }
    data["volumeMounts"] = [{"name": "buildkit-state", "mountPath": BUILDKIT_STATE}]
    return data


def pod_manifest(pod: KubernetesPod) -> Data:
    """The Pod the kubernetes plugin merges its agent container into."""
    containers = [_container(c) for c in pod.containers]
    if pod.builder is not None:
        containers.append(_builder(pod.builder))
    spec: Data = {"containers": containers}
    if pod.node_selector:
        spec["nodeSelector"] = dict(pod.node_selector)
    if pod.builder is not None:
        spec["volumes"] = [{"name": "buildkit-state", "emptyDir": {}}]
    return {"apiVersion": "v1", "kind": "Pod", "spec": spec}


@functools.lru_cache(maxsize=256)
def pod_yaml(pod: KubernetesPod) -> str:
    """The pod YAML of a Kubernetes pod agent (the same for every stage using it)."""
    return yaml_document(pod_manifest(pod))
