"""The deploy steps of a component with a runtime, resolved against the rendered manifests.

:class:`~pipedsl.ShipManifests` and :class:`~pipedsl.ApplyManifests` say *what* to deploy (this
component's manifests); here they become the concrete :class:`~pipedsl.ShipFiles` and
:class:`~pipedsl.KubectlApply`, with the paths of :mod:`pipedsl.resolve.layout` (those render
writes the manifests to) and the workload and container that run the component's image.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping, Sequence

import attrs

from pipedsl.model.deploy import BlueGreen, DeployManifests, KubernetesDeploy
from pipedsl.model.infra import Image
from pipedsl.model.k8s.network import Service
from pipedsl.model.k8s.runtime import K8sObject, Runtime, deployed_container, namespace_of
from pipedsl.model.k8s.workloads import Deployment
from pipedsl.model.project import Component, Project
from pipedsl.model.steps import (
    ApplyManifests,
    Colours,
    DeployPlan,
    KubectlApply,
    ManifestFile,
    Pin,
    Rollout,
    ShipFiles,
    ShipManifests,
    Step,
    WorkloadRef,
)
from pipedsl.resolve.environments import environment_runtime
from pipedsl.resolve.layout import (
    NOTHING_SHARED,
    SHARED,
    Shared,
    file_name,
    is_shared,
    manifest_dir,
    manifest_path,
    rendered_objects,
)

COLOURS = ("blue", "green")


def _target(component: Component, environment: str | None) -> object:
    """The deploy target of the component (in ``environment``), if it has one."""
    if environment is not None:
        return next(e.deploy for e in component.environments if e.name == environment)
    return next(
        (s.target for s in component.pipeline.walk_steps() if isinstance(s, DeployManifests)),
        None,
    )


def deployed_runtime(
    project: Project, component: Component, environment: str | None = None
) -> Runtime | None:
    """The runtime as it is rendered and deployed (in ``environment``, one of the component's
    environments: see :mod:`pipedsl.resolve.environments`). For a blue/green deploy, the
    Deployment that runs the component's image becomes two, ``<name>-blue`` and
    ``<name>-green``, and each Service exposing it selects the blue one (the deploy switches
    it); validation has checked that this is possible (a Deployment, a Service, no
    autoscaler)."""
    runtime, image = component.runtime, component.image
    if runtime is None:
        return None
    if environment is not None:
        env = next(e for e in component.environments if e.name == environment)
        runtime = environment_runtime(project, component, env)
    if image is None or not isinstance(_target(component, environment), BlueGreen):
        return runtime
    workload, _ = deployed_container(runtime, image)
    if not isinstance(workload, Deployment):
        return runtime  # refused by validation
    blue, green = (attrs.evolve(workload, name=f"{workload.name}-{c}") for c in COLOURS)
    objects: list[K8sObject] = []
    for obj in runtime.objects:
        if obj is workload:
            objects += [blue, green]
        elif isinstance(obj, Service) and obj.workload is workload:
            objects.append(attrs.evolve(obj, workload=blue, name=obj.name))
        else:
            objects.append(obj)
    return attrs.evolve(runtime, objects=objects)


def rendered_runtimes(project: Project, component: Component) -> list[tuple[str | None, Runtime]]:
    """``(environment, runtime as deployed)`` for each folder of the component's manifests:
    one per environment, or one without."""
    if component.runtime is None:
        return []
    names: list[str | None] = [e.name for e in component.environments] or [None]
    found = [(name, deployed_runtime(project, component, name)) for name in names]
    return [(name, runtime) for name, runtime in found if runtime is not None]


_SHARED: dict[int, tuple[weakref.ref[Project], Shared]] = {}


def shared_objects(
    project: Project,
    runtimes: Mapping[str, Sequence[tuple[str | None, Runtime]]] | None = None,
) -> Shared:
    """The objects (per environment) that more than one component or backing service of
    ``project`` holds (see :func:`find_shared_objects`), worked out once per project: callers
    that resolve one component after another do not walk the whole project each time."""
    cached = _SHARED.get(id(project))
    if cached is not None and cached[0]() is project:
        return cached[1]
    found = find_shared_objects(project, runtimes)
    if len(_SHARED) > 64:
        _SHARED.clear()
    _SHARED[id(project)] = (weakref.ref(project), found)
    return found


def find_shared_objects(
    project: Project,
    runtimes: Mapping[str, Sequence[tuple[str | None, Runtime]]] | None = None,
) -> Shared:
    """The objects (per environment) that more than one component or backing service of
    ``project`` holds — a Namespace, a ConfigMap both read: each is rendered once, in the
    project's ``_shared`` folder, and every deploy of a runtime holding it applies it (first,
    by its rank). ``runtimes``: the components' :func:`rendered_runtimes`, by name, when the
    caller has them."""
    holders: dict[tuple[str | None, K8sObject], str] = {}
    shared: set[tuple[str | None, K8sObject]] = set()
    places: list[tuple[str, Sequence[tuple[str | None, Runtime]]]] = [
        (
            c.name,
            runtimes[c.name]
            if runtimes is not None and c.name in runtimes
            else rendered_runtimes(project, c),
        )
        for c in project.components
    ]
    places += [(b.name, [(None, b.runtime)]) for b in project.backing_services]
    for name, found in places:
        for environment, runtime in found:
            for obj in rendered_objects(runtime):
                key = (environment, obj)
                first = holders.setdefault(key, name)
                if first != name:
                    shared.add(key)
    return frozenset(shared)


def deploy_plan(  # noqa: PLR0917  (what a plan is made of)
    project: Project,
    name: str,
    runtime: Runtime,
    image: Image,
    timeout_seconds: int,
    environment: str | None = None,
    shared: Shared = NOTHING_SHARED,
) -> DeployPlan:
    """What any target deploys of the (deployed) runtime of component ``name``: the manifests
    render writes (in apply order, each with the namespace ``kubectl`` is told), the Secrets
    its pods need, the container that runs ``image`` (pinned before the apply), every workload
    to wait for; for a blue/green runtime, the two colours and their Service."""
    running = runtime.running(image)
    colour_pair = [
        (w, c)
        for w, c in running
        if isinstance(w, Deployment) and c in w.containers and w.name.endswith(("-blue", "-green"))
    ]
    blue_green = len(colour_pair) == 2 and colour_pair[0][0].name.endswith("-blue")
    pinned_workload, container = (
        colour_pair[0] if blue_green else deployed_container(runtime, image)
    )
    home = pinned_workload.namespace
    files = tuple(
        ManifestFile(
            project.repository_path(manifest_path(project, name, obj, environment, shared)),
            file_name(obj),
            namespace_of(obj) or home,
        )
        for obj in rendered_objects(runtime)
    )
    refs = {
        w.name: WorkloadRef(w.kind.lower(), w.name, w.namespace, file_name(w)) for w in runtime.pods
    }
    pins: dict[str, list[str]] = {}
    for workload, running_container in running:
        pins.setdefault(file_name(workload), []).append(running_container.name)
    colours = None
    if blue_green:  # the two colours of one Deployment
        (blue, _), (green, _) = colour_pair
        (service,) = (o for o in runtime.objects if isinstance(o, Service) and o.workload is blue)
        colours = Colours(
            service.name,
            file_name(service),
            service.namespace,
            refs[blue.name],
            refs[green.name],
            service.selector,
        )
    return DeployPlan(
        files,
        runtime.needed_secrets,
        refs[pinned_workload.name],
        container.name,
        tuple(refs.values()),
        timeout_seconds,
        colours,
        tuple(Pin(file, tuple(names)) for file, names in sorted(pins.items())),
    )


def resolve_deploy_steps(project: Project, component: Component) -> Component:
    """``component`` with its manifest deploy steps made concrete (see the module docstring).

    ``validate_project`` has checked that a component using them has a runtime that runs its
    image in exactly one container; without a runtime they are left as they are.
    """
    change = deploy_step_change(project, component)
    if change is None:
        return component
    return attrs.evolve(component, pipeline=component.pipeline.map_steps(change))


def deploy_step_change(
    project: Project,
    component: Component,
    runtimes: Sequence[tuple[str | None, Runtime]] | None = None,
    shared: Shared | None = None,
) -> Callable[[Step], Step] | None:
    """What :func:`resolve_deploy_steps` does to each step (for ``Pipeline.map_steps``), or
    None for a component without a runtime. The steps it makes have no nested steps, so it
    can be combined with another change in one walk over the pipeline. ``runtimes`` are the
    component's :func:`rendered_runtimes` and ``shared`` the project's
    :func:`shared_objects`, when the caller has them already."""
    runtime = component.runtime
    image = component.image
    if runtime is None or image is None:
        return None
    deployed = dict(runtimes if runtimes is not None else rendered_runtimes(project, component))
    if shared is None:
        shared = shared_objects(project, {component.name: list(deployed.items())})

    def files(environment: str | None, *, of_shared: bool) -> list[str]:
        return [
            project.repository_path(
                manifest_path(project, component.name, obj, environment, shared)
            )
            for obj in rendered_objects(deployed[environment])
            if is_shared(shared, environment, obj) == of_shared
        ]

    def change(step: Step) -> Step:
        if isinstance(step, ShipManifests):
            folder = manifest_dir(project, component.name, step.environment)
            return ShipFiles(
                step.server,
                files(step.environment, of_shared=False),
                step.remote_directory,
                remove_prefix=project.repository_path(folder),
                shared_files=files(step.environment, of_shared=True),
                shared_prefix=project.repository_path(
                    manifest_dir(project, SHARED, step.environment)
                ),
            )
        if isinstance(step, ApplyManifests):
            there = deployed[step.environment]
            workload, container = deployed_container(there, image)
            rollout = Rollout(
                workload.name,
                container.name,
                image,
                namespace=workload.namespace,
                timeout_seconds=step.timeout_seconds,
                kind=workload.kind.lower(),
                manifest=file_name(workload),
            )
            plan = deploy_plan(
                project,
                component.name,
                there,
                image,
                step.timeout_seconds,
                step.environment,
                shared,
            )
            return KubectlApply(
                step.server,
                step.remote_directory,
                rollout=rollout,
                timeout_ms=step.timeout_ms,
                secrets=there.needed_secrets,
                plan=plan,
            )
        if isinstance(step, DeployManifests):
            plan = deploy_plan(
                project,
                component.name,
                deployed[step.environment],
                image,
                step.timeout_seconds,
                step.environment,
                shared,
            )
            return KubernetesDeploy(step.target, plan, image)
        return step

    return change
