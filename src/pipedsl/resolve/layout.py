"""Where each generated file goes, relative to the output folder, and the order manifests are
applied in: one function per kind of file, so render, the jobs and the deploy steps (which
ship exactly the files render writes) cannot disagree."""

from __future__ import annotations

from pipedsl.model.k8s.access import (
    ClusterRole,
    ClusterRoleBinding,
    Role,
    RoleBinding,
    ServiceAccount,
)
from pipedsl.model.k8s.batch import CronJob, Job
from pipedsl.model.k8s.config import ConfigMap, Secret
from pipedsl.model.k8s.custom import CustomObject
from pipedsl.model.k8s.network import Ingress, Service
from pipedsl.model.k8s.runtime import K8sObject, Runtime
from pipedsl.model.k8s.scaling import HorizontalPodAutoscaler
from pipedsl.model.k8s.storage import PersistentVolume, PersistentVolumeClaim, StorageClass
from pipedsl.model.k8s.workloads import Deployment, Namespace, StatefulSet
from pipedsl.model.project import Project

# The order ``kubectl apply -f .`` (which reads a folder's files sorted by name) must create
# objects in: a namespace before what lives in it, volumes, accounts and settings before the
# pods that use them, Jobs (migrations) before the workloads that need them done. File names
# start with this rank.
APPLY_ORDER: dict[type, str] = {
    Namespace: "00",
    StorageClass: "05",
    PersistentVolume: "10",
    PersistentVolumeClaim: "20",
    ServiceAccount: "25",
    ClusterRole: "26",
    Role: "26",
    ClusterRoleBinding: "27",
    RoleBinding: "27",
    ConfigMap: "30",
    Service: "40",
    Job: "45",
    Deployment: "50",
    StatefulSet: "60",
    CronJob: "65",
    HorizontalPodAutoscaler: "70",
    Ingress: "80",
    CustomObject: "90",  # last: it may refer to any of the above (its CRD is installed beforehand)
}


def file_name(obj: K8sObject) -> str:
    """``<rank>-<kind>-<name>.yaml``, e.g. ``50-deployment-backend.yaml``."""
    return f"{APPLY_ORDER[type(obj)]}-{obj.kind.lower()}-{obj.name}.yaml"


def rendered_objects(runtime: Runtime) -> list[K8sObject]:
    """The runtime's objects that get a manifest, in apply order (Secrets get none: their
    values never enter the repository)."""
    objects = [o for o in runtime.objects if not isinstance(o, Secret)]
    return sorted(objects, key=file_name)


SHARED = "_shared"
"""The folder of the objects several components' runtimes hold (never a component's name:
those are DNS labels)."""

Shared = frozenset[tuple[str | None, K8sObject]]
"""``(environment, object)`` pairs held by more than one runtime of a project."""

NOTHING_SHARED: Shared = frozenset()


def is_shared(shared: Shared, environment: str | None, obj: K8sObject) -> bool:
    """Whether ``obj`` (in ``environment``) is one of the ``shared`` objects. Most projects
    share none, and the test is then free: it does not hash the object."""
    return bool(shared) and (environment, obj) in shared


def manifest_dir(project: Project, component_name: str, environment: str | None = None) -> str:
    """The folder of a component's (or backing service's) manifests, relative to the output
    folder: ``<project>/<component>/k8s``, or ``<project>/<component>/k8s/<environment>`` for
    a component deployed to environments. The deploy ships exactly the files render writes
    here."""
    folder = f"{project.name}/{component_name}/k8s"
    return f"{folder}/{environment}" if environment else folder


def manifest_path(
    project: Project,
    component_name: str,
    obj: K8sObject,
    environment: str | None = None,
    shared: Shared = NOTHING_SHARED,
) -> str:
    """Where the manifest of ``obj``, run by a component (or backing service), is written:
    ``<project>/<component>/k8s/[<environment>/]<rank>-<kind>-<name>.yaml``, or — an object
    that other runtimes of the project hold too (``shared``) — once, in
    ``<project>/_shared/k8s/[<environment>/]``."""
    owner = SHARED if is_shared(shared, environment, obj) else component_name
    return f"{manifest_dir(project, owner, environment)}/{file_name(obj)}"


def jenkinsfile_path(project: Project, component_name: str) -> str:
    """``<project>/<component>/Jenkinsfile``."""
    return f"{project.name}/{component_name}/Jenkinsfile"


def job_config_path(project: Project, component_name: str) -> str:
    """``<project>/<component>/config.xml``."""
    return f"{project.name}/{component_name}/config.xml"


def setup_path(project: Project, file_name: str) -> str:
    """``<project>/jenkins/<file_name>``: the files a person sets Jenkins up with."""
    return f"{project.name}/jenkins/{file_name}"
