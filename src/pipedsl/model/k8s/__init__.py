"""Kubernetes objects of a project: typed and validated when built (part of the model; their
manifests are written by :mod:`pipedsl.render.manifests`).

References between objects are the objects themselves (a container's env comes from a
:class:`ConfigMap` object, a :class:`Service` exposes a workload object and derives its selector
from it), so a name typed twice cannot disagree.
"""

from pipedsl.model.k8s.config import ConfigMap, ConfigMapKey, Secret, SecretKey
from pipedsl.model.k8s.custom import CustomObject
from pipedsl.model.k8s.network import Ingress, IngressPath, IngressTLS, Service, ServicePort
from pipedsl.model.k8s.runtime import Runtime, RuntimeSpec
from pipedsl.model.k8s.scaling import HorizontalPodAutoscaler
from pipedsl.model.k8s.storage import (
    ClaimTemplate,
    ClaimVolume,
    ConfigMapVolume,
    EmptyDirVolume,
    PersistentVolume,
    PersistentVolumeClaim,
    SecretVolume,
)
from pipedsl.model.k8s.workloads import (
    Container,
    ContainerPort,
    Deployment,
    Exec,
    FieldRef,
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
    "CustomObject",
    "Deployment",
    "EmptyDirVolume",
    "Exec",
    "FieldRef",
    "HorizontalPodAutoscaler",
    "HttpGet",
    "Ingress",
    "IngressPath",
    "IngressTLS",
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
