"""Kubernetes objects of a project: typed, validated when built, rendered to YAML manifests.

References between objects are the objects themselves (a container's env comes from a
:class:`ConfigMap` object, a :class:`Service` exposes a workload object and derives its selector
from it), so a name typed twice cannot disagree.
"""

from pipedsl.k8s.config import ConfigMap, ConfigMapKey, Secret, SecretKey
from pipedsl.k8s.network import Ingress, IngressPath, Service, ServicePort
from pipedsl.k8s.runtime import Runtime, RuntimeSpec
from pipedsl.k8s.scaling import HorizontalPodAutoscaler
from pipedsl.k8s.storage import (
    ClaimTemplate,
    ClaimVolume,
    ConfigMapVolume,
    EmptyDirVolume,
    PersistentVolume,
    PersistentVolumeClaim,
    SecretVolume,
)
from pipedsl.k8s.workloads import (
    Container,
    ContainerPort,
    Deployment,
    Exec,
    HttpGet,
    Namespace,
    Probe,
    Resources,
    RollingUpdate,
    StatefulSet,
    TcpSocket,
    VolumeMount,
)

__all__ = [
    "ClaimTemplate",
    "ClaimVolume",
    "ConfigMap",
    "ConfigMapKey",
    "ConfigMapVolume",
    "Container",
    "ContainerPort",
    "Deployment",
    "EmptyDirVolume",
    "Exec",
    "HorizontalPodAutoscaler",
    "HttpGet",
    "Ingress",
    "IngressPath",
    "Namespace",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "Probe",
    "Resources",
    "RollingUpdate",
    "Runtime",
    "RuntimeSpec",
    "Secret",
    "SecretKey",
    "SecretVolume",
    "Service",
    "ServicePort",
    "StatefulSet",
    "TcpSocket",
    "VolumeMount",
]
