"""The deploy steps of a component with a runtime, resolved against the rendered manifests.

:class:`~pipedsl.ShipManifests` and :class:`~pipedsl.ApplyManifests` say *what* to deploy (this
component's manifests); here they become the concrete :class:`~pipedsl.ShipFiles` and
:class:`~pipedsl.KubectlApply`, with the paths of :mod:`pipedsl.resolve.layout` (those render
writes the manifests to) and the workload and container that run the component's image.
"""

from __future__ import annotations

import attrs

from pipedsl.model.deploy import DeployManifests, KubernetesDeploy
from pipedsl.model.infra import Image
from pipedsl.model.k8s.runtime import Runtime, deployed_container
from pipedsl.model.k8s.storage import PersistentVolume
from pipedsl.model.k8s.workloads import Deployment, Namespace
from pipedsl.model.project import Component, Project
from pipedsl.model.steps import (
    ApplyManifests,
    DeployPlan,
    KubectlApply,
    ManifestFile,
    Rollout,
    ShipFiles,
    ShipManifests,
    Step,
    WorkloadRef,
)
from pipedsl.resolve.layout import file_name, manifest_dir, manifest_path, rendered_objects


def deploy_plan(
    project: Project, name: str, runtime: Runtime, image: Image, timeout_seconds: int
) -> DeployPlan:
    """What any target deploys of the runtime of component ``name``: the manifests render
    writes (in apply order, each with the namespace ``kubectl`` is told), the Secrets its pods
    need, the container that runs ``image`` (pinned before the apply), every workload."""
    pinned_workload, container = deployed_container(runtime, image)
    home = pinned_workload.namespace
    files = tuple(
        ManifestFile(
            project.repository_path(manifest_path(project, name, obj)),
            file_name(obj),
            home if isinstance(obj, Namespace | PersistentVolume) else obj.namespace,
        )
        for obj in rendered_objects(runtime)
    )
    workloads = tuple(
        WorkloadRef(w.kind.lower(), w.name, w.namespace, file_name(w)) for w in runtime.workloads
    )
    (pinned,) = (
        w
        for w in workloads
        if w.name == pinned_workload.name and w.kind == pinned_workload.kind.lower()
    )
    return DeployPlan(
        files, runtime.needed_secrets, pinned, container.name, workloads, timeout_seconds
    )


def resolve_deploy_steps(project: Project, component: Component) -> Component:
    """``component`` with its manifest deploy steps made concrete (see the module docstring).

    ``validate_project`` has checked that a component using them has a runtime that runs its
    image in exactly one container; without a runtime they are left as they are.
    """
    runtime = component.runtime
    image = component.image
    if runtime is None or image is None:
        return component
    files = [
        project.repository_path(manifest_path(project, component.name, obj))
        for obj in rendered_objects(runtime)
    ]

    def change(step: Step) -> Step:
        if isinstance(step, ShipManifests):
            return ShipFiles(
                step.server,
                files,
                step.remote_directory,
                remove_prefix=project.repository_path(manifest_dir(project, component.name)),
            )
        if isinstance(step, ApplyManifests):
            workload, container = deployed_container(runtime, image)
            rollout = Rollout(
                workload.name,
                container.name,
                image,
                namespace=workload.namespace,
                timeout_seconds=step.timeout_seconds,
                kind="deployment" if isinstance(workload, Deployment) else "statefulset",
                manifest=file_name(workload),
            )
            return KubectlApply(
                step.server,
                step.remote_directory,
                rollout=rollout,
                timeout_ms=step.timeout_ms,
                secrets=runtime.needed_secrets,
                plan=deploy_plan(project, component.name, runtime, image, step.timeout_seconds),
            )
        if isinstance(step, DeployManifests):
            plan = deploy_plan(project, component.name, runtime, image, step.timeout_seconds)
            return KubernetesDeploy(step.target, plan, image)
        return step

    return attrs.evolve(component, pipeline=component.pipeline.map_steps(change))
