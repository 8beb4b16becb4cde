"""A component's runtime in one of its environments: the one runtime the component describes,
with the environment's differences applied (pure; the objects are rewritten, never copied by
hand).

An object graph is rewritten bottom-up: every object that refers to a changed object (a Service
to its Deployment, a container to its ConfigMap) is rebuilt to refer to the new one, so the
references that make the manifests fit together stay true. The environment's namespace moves
every object of the workload's namespace, and the Service DNS names other objects' settings use
(an nginx proxy, a JDBC URL) follow the Services of this project's components moved in that
environment.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import attrs

from pipedsl.errors import ModelError
from pipedsl.model.deploy import Environment
from pipedsl.model.k8s.config import ConfigMap
from pipedsl.model.k8s.network import Service
from pipedsl.model.k8s.runtime import Runtime, deployed_container
from pipedsl.model.k8s.validate import BUILT_IN_NAMESPACES
from pipedsl.model.k8s.workloads import Container, Deployment, Namespace, StatefulSet
from pipedsl.model.project import Component, Project

T = TypeVar("T")


def rewrite(value: T, change: Callable[[Any], Any]) -> T:
    """``value`` with ``change`` applied to every attrs object in it, children first; an object
    whose children changed is rebuilt with them (``attrs.evolve``) before ``change`` sees it.
    Each object is rewritten once, so objects shared by several others stay shared."""
    result: T = _Rewrite(change).visit(value)
    return result


class _Rewrite:
    """One :func:`rewrite` (a class, not a nested function calling itself, which would leave a
    reference cycle, and all it reached, for the collector)."""

    def __init__(self, change: Callable[[Any], Any]) -> None:
        self.change = change
        self.done: dict[int, Any] = {}

    def visit(self, item: Any) -> Any:
        key = id(item)
        if key in self.done:
            return self.done[key]
        if isinstance(item, tuple):
            parts = tuple(self.visit(part) for part in item)
            new: Any = item if all(a is b for a, b in zip(parts, item, strict=True)) else parts
        elif attrs.has(type(item)):
            changes = {}
            for field in attrs.fields(type(item)):
                if field.init:
                    old = getattr(item, field.name)
                    updated = self.visit(old)
                    if updated is not old:
                        changes[field.alias or field.name] = updated
            new = self.change(attrs.evolve(item, **changes) if changes else item)
        else:
            new = item
        self.done[key] = new
        return new


def _dns(service: Service, namespace: str) -> str:
    return f"{service.name}.{namespace}.svc.cluster.local"


def moved_services(project: Project, environment: str) -> dict[str, str]:
    """Old DNS name → new DNS name of every Service of the project's components that the
    environment named ``environment`` moves to another namespace."""
    moved: dict[str, str] = {}
    for component in project.components:
        env = next((e for e in component.environments if e.name == environment), None)
        if env is None or env.namespace is None or component.runtime is None:
            continue
        for obj in component.runtime.objects:
            if isinstance(obj, Service) and obj.namespace != env.namespace:
                moved[obj.dns_name] = _dns(obj, env.namespace)
    return moved


def environment_runtime(project: Project, component: Component, env: Environment) -> Runtime:
    """The component's runtime in ``env`` (see the module docstring)."""
    runtime, image = component.runtime, component.image
    if runtime is None:
        raise ModelError(f"components[{component.name}]: environments need a runtime")
    where = f"components[{component.name}].environments[{env.name}]"
    workload, container = deployed_container(runtime, image) if image is not None else (None, None)
    home = workload.namespace if workload is not None else None
    overrides: dict[str, Mapping[str, object]] = {name: dict(data) for name, data in env.config}
    found = {o.name for o in runtime.objects if isinstance(o, ConfigMap)}
    missing = sorted(set(overrides) - found)
    if missing:
        raise ModelError(
            f"{where}.config: no ConfigMap {', '.join(map(repr, missing))} in the runtime; "
            f"its ConfigMaps: {', '.join(sorted(found)) or 'none'}"
        )
    dns = moved_services(project, env.name)

    def follow(text: str) -> str:
        for old, new in dns.items():
            text = text.replace(old, new)
        return text

    def change(obj: Any) -> Any:
        if env.namespace is not None and home is not None:
            if isinstance(obj, Namespace) and obj.name == home:
                return Namespace(env.namespace)
            fields = attrs.fields_dict(type(obj))
            if "namespace" in fields and getattr(obj, "namespace", None) == home:
                obj = attrs.evolve(obj, namespace=env.namespace)
        if isinstance(obj, ConfigMap):
            data = {key: follow(value) for key, value in obj.data}
            for key, value in overrides.get(obj.name, {}).items():
                if key not in data:
                    raise ModelError(
                        f"{where}.config[{obj.name}]: ConfigMap {obj.name!r} has no key {key!r} "
                        "(an environment changes values of the runtime's ConfigMaps; add the key "
                        "to the ConfigMap itself)"
                    )
                data[key] = value  # type: ignore[assignment]  # converted by ConfigMap
            return attrs.evolve(obj, data=data)
        if isinstance(obj, Container):
            env_values = tuple(
                (name, follow(value) if isinstance(value, str) else value)
                for name, value in obj.env
            )
            ours = container is not None and obj.name == container.name and obj.image == image
            if ours and env.resources is not None:
                obj = attrs.evolve(obj, resources=env.resources)
            return attrs.evolve(obj, env=env_values)
        if (
            isinstance(obj, Deployment | StatefulSet)
            and workload is not None
            and obj.name == workload.name
            and env.replicas is not None
        ):
            return attrs.evolve(obj, replicas=env.replicas)
        return obj

    moved = rewrite(runtime, change)
    if env.namespace is not None and home is not None:
        has_namespace = any(isinstance(o, Namespace) for o in moved.objects)
        if not has_namespace and env.namespace not in BUILT_IN_NAMESPACES:
            moved = attrs.evolve(moved, objects=[Namespace(env.namespace), *moved.objects])
        if env.namespace in BUILT_IN_NAMESPACES:
            moved = attrs.evolve(
                moved,
                objects=[
                    o
                    for o in moved.objects
                    if not (isinstance(o, Namespace) and o.name == env.namespace)
                ],
            )
    return moved
