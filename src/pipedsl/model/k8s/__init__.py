"""Kubernetes objects of a project: typed and validated when built (part of the model; their
manifests are written by :mod:`pipedsl.render.manifests`).

References between objects are the objects themselves (a container's env comes from a
:class:`ConfigMap` object, a :class:`Service` exposes a workload object and derives its selector
from it), so a name typed twice cannot disagree.
"""

from pipedsl.model.k8s.access import (
    ClusterRole,
    ClusterRoleBinding,
    PolicyRule,
    Role,
    RoleBinding,
    ServiceAccount,
)
from pipedsl.model.k8s.batch import CronJob, Job
from pipedsl.model.k8s.config import ConfigMap, ConfigMapKey, Secret, SecretKey
from pipedsl.model.k8s.custom import CustomObject
from pipedsl.model.k8s.network import Ingress, IngressPath, IngressTLS, Service, ServicePort
from pipedsl.model.k8s.runtime import Runtime, RuntimeSpec
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

__all__ = [
    "ClaimTemplate",
    "ClaimVolume",
    "ClusterRole",
    "ClusterRoleBinding",
    "ConfigMap",
    "ConfigMapKey",
    "ConfigMapVolume",
    "Container",
    "ContainerPort",
    "CronJob",
    "CustomObject",
    "Deployment",
    "EmptyDirVolume",
    "Exec",
    "ExternalMetric",
    "FieldRef",
    "HorizontalPodAutoscaler",
    "HostPathVolume",
    "HttpGet",
    "Ingress",
    "IngressPath",
    "IngressTLS",
    "Job",
    "Namespace",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "PodSecurityContext",
    "PodsMetric",
    "PolicyRule",
    "Probe",
    "Resources",
    "Role",
    "RoleBinding",
    "RollingUpdate",
    "Runtime",
    "RuntimeSpec",
    "Secret",
    "SecretKey",
    "SecretVolume",
    "SecurityContext",
    "Service",
    "ServiceAccount",
    "ServicePort",
    "StatefulSet",
    "StorageClass",
    "TcpSocket",
    "VolumeMount",
]
