"""The imported components get the runtimes their manifests describe.

A component whose pipeline ships and applies hand-written manifests gets ``runtime=`` of the
objects those manifests hold when every object of its files converts: a preset's deploy then
follows the runtime, and a typed pipeline's ``ShipFiles``/``KubectlApply`` pair becomes
``ShipManifests``/``ApplyManifests`` — the rendered manifests, pinned to the pushed image.
Otherwise it keeps deploying the hand-written files, the report says which object held it
back, and its rollout names the workload and container the files name. Workloads no
component builds (a database) become the project's backing services.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

import attrs
import yaml

from pipedsl.errors import PipedslError
from pipedsl.importer.cluster import (
    Cluster,
    Manifest,
    matches_pattern,
    read_manifests,
    repository_of,
    same_repository,
)
from pipedsl.importer.cluster.read import dig, mappings_in
from pipedsl.importer.convert import Converted
from pipedsl.importer.report import ReportLine
from pipedsl.model.k8s.runtime import Runtime
from pipedsl.model.project import BackingService, Component, Project
from pipedsl.model.steps import (
    ApplyManifests,
    KubectlApply,
    Rollout,
    ShipFiles,
    ShipManifests,
    Step,
)
from pipedsl.render import render_project

ProjectOf = Callable[[Sequence[Component], Sequence[BackingService]], Project]


def with_runtimes(
    converted: Sequence[Converted], files: Sequence[tuple[str, str]], project_of: ProjectOf
) -> tuple[list[Converted], list[BackingService], list[ReportLine]]:
    """``converted`` with the runtimes ``files`` describe, the backing services, and the
    report lines of the manifests. Each runtime is kept only when the project still renders
    with it (checked one by one, so one refused object does not cost the others)."""
    manifests, notes = read_files(files)
    images = {c.component.name: c.component.image for c in converted if c.component.image}
    shipped = {c.component.name: shipped_patterns(c) for c in converted}
    cluster = Cluster(manifests, images, shipped)
    assigned = cluster.assign()
    notes += assigned.report
    result = list(converted)
    for index, one in enumerate(result):
        runtime = assigned.components.get(one.component.name)
        if runtime is None:
            continue
        held = _held_back(cluster, manifests, shipped[one.component.name])
        where = _first(manifests, runtime)
        what = f"the manifests of {one.component.name}"
        if held is not None:
            reason = f"kept as hand-written files: {held.title} in them was not imported"
            notes.append(held.line_of("raw", what, reason))
            continue
        try:
            candidate = _deploying(one, runtime)
            if candidate is None:
                reason = (
                    "kept as hand-written files: the pipeline ships them with other files or "
                    "applies them in a way pipedsl does not rewrite (a preset's deploy, or "
                    "ShipFiles of the manifests alone and KubectlApply of their folder)"
                )
                notes.append(where.line_of("raw", what, reason))
                continue
            trial = [*result[:index], candidate, *result[index + 1 :]]
            render_project(project_of([c.component for c in trial], []))
        except PipedslError as exc:
            reason = f"kept as hand-written files: as its runtime= they are refused ({exc})"
            notes.append(where.line_of("raw", what, reason))
            continue
        result[index] = candidate
        notes.append(
            where.line_of(
                "converted",
                what,
                "now its typed runtime=: pipedsl renders them, and the deploy ships and applies "
                "exactly those, pinned to the image the pipeline pushed",
            )
        )
    for index, one in enumerate(result):
        if one.component.runtime is None and one.component.image is not None:
            named = _named_rollout(one, manifests, shipped[one.component.name])
            if named is not None:
                result[index], line = named
                notes.append(line)
    backing: list[BackingService] = []
    components = [c.component for c in result]
    for name, runtime in assigned.backing.items():
        service = BackingService(_free(name, components, backing), runtime=runtime)
        try:
            render_project(project_of(components, [*backing, service]))
        except PipedslError as exc:
            reason = f"not imported ({exc}); apply its manifests by hand as before"
            notes.append(
                _first(manifests, runtime).line_of("raw", f"backing service {name}", reason)
            )
            continue
        backing.append(service)
    return result, backing, notes


def read_files(files: Sequence[tuple[str, str]]) -> tuple[list[Manifest], list[ReportLine]]:
    """The manifests of ``files``, and a ``raw`` line for each file that holds none a cluster
    applies — a template (``{{ }}``), a chart's values, a kustomization — which a folder given
    to ``--manifests`` may well hold. A file that means to be a manifest and is broken is
    refused (:func:`read_manifests`)."""
    manifests: list[Manifest] = []
    notes: list[ReportLine] = []
    for path, text in files:
        reason = _not_a_manifest(text)
        if reason is not None:
            notes.append(ReportLine(path, 1, "raw", f"file {path}", reason))
            continue
        manifests += read_manifests(path, text)
    return manifests, notes


_TEMPLATE_MARKS = ("{{-", "-}}", ".Values", ".Release", ".Chart", "{{ include", "{{ template")


def _not_a_manifest(text: str) -> str | None:
    """Why a file is no manifest file at all, if it is not: a template (``{{ }}`` that does
    not read as YAML, or that names a chart's values), a kustomization, or YAML none of whose
    documents is an object (``apiVersion``/``kind`` with ``metadata``: a chart's or a tool's
    settings). A manifest that is broken is not one of these: it is refused when read."""
    template = (
        "a template ({{ }}), not a manifest: import what `helm template` (or your templating) "
        "writes"
    )
    if any(mark in text for mark in _TEMPLATE_MARKS):
        return template
    try:
        documents = [d for d in yaml.safe_load_all(text) if d is not None]
    except (yaml.YAMLError, RecursionError):
        return template if "{{" in text else None
    mappings = [d for d in documents if isinstance(d, Mapping)]
    if any(str(d.get("apiVersion", "")).startswith("kustomize.config.k8s.io/") for d in mappings):
        return "a kustomize file, not a cluster object: import what `kubectl kustomize` writes"
    objects = [d for d in mappings if "metadata" in d and ("kind" in d or "apiVersion" in d)]
    if documents and len(mappings) == len(documents) and not objects:
        return "no Kubernetes object in it: a chart's or a tool's settings, left out"
    return None


def _deploying(one: Converted, runtime: Runtime) -> Converted | None:
    """``one`` deploying ``runtime``'s rendered manifests instead of the shipped files: a
    preset gets ``runtime=``; a typed pipeline has its manifest shipment (a ``ShipFiles`` of
    YAML files only) become ``ShipManifests`` and the ``KubectlApply`` of that folder
    ``ApplyManifests`` (its rollout then follows the runtime). None when the pipeline has no
    such pair to rewrite."""
    if one.preset is not None:
        return attrs.evolve(one, preset=one.preset.with_runtime(runtime))
    component = one.typed_component
    folders = {
        (s.server, s.remote_directory)
        for s in component.pipeline.all_steps()
        if isinstance(s, ShipFiles) and all(f.endswith((".yaml", ".yml")) for f in s.files)
    }
    applied: set[tuple[object, str]] = set()

    def change(step: Step) -> Step:
        if isinstance(step, ShipFiles) and (step.server, step.remote_directory) in folders:
            return ShipManifests(step.server, step.remote_directory)  # YAML alone: see above
        if isinstance(step, KubectlApply) and (step.server, step.remote_directory) in folders:
            applied.add((step.server, step.remote_directory))
            return ApplyManifests(step.server, step.remote_directory, timeout_ms=step.timeout_ms)
        return step

    pipeline = component.pipeline.map_steps(change)
    if not folders or applied != folders:
        return None
    typed = attrs.evolve(component, pipeline=pipeline, runtime=runtime)
    return attrs.evolve(one, typed_component=typed)


def _named_rollout(
    one: Converted, manifests: Sequence[Manifest], patterns: Sequence[str]
) -> tuple[Converted, ReportLine] | None:
    """A component that keeps its hand-written manifests rolls the workload they name: the
    one container of a shipped Deployment or StatefulSet that runs the pushed image (the
    import otherwise assumes a Deployment and container named after the component). A preset
    names a Deployment of the default namespace only; for another namespace or a StatefulSet
    the component is written as its typed stages, whose rollout says both."""
    image = one.component.image
    assert image is not None  # noqa: S101  (checked by the caller)
    name = one.component.name
    shipped = [m for m in manifests if any(matches_pattern(m.path, p) for p in patterns)]
    found = [
        (manifest, container["name"])
        for manifest in shipped
        if manifest.kind in ("Deployment", "StatefulSet")
        for container in mappings_in(dig(manifest.data, "spec", "template", "spec", "containers"))
        if isinstance(container.get("image"), str)
        and isinstance(container.get("name"), str)
        and same_repository(image, repository_of(container["image"]))
    ]
    if len(found) != 1:
        if not shipped or not _rolls(one):
            return None
        listed = ", ".join(f"{m.title} container {c!r}" for m, c in found) or "none"
        why = (
            f"the shipped manifests run the pushed image in {listed}: the rollout keeps the "
            f"component's name {name!r}; name the workload with deployment= and container="
        )
        return one, shipped[0].line_of("raw", f"the rollout of {name}", why)
    manifest, container = found[0]
    kind, namespace = manifest.kind.lower(), manifest.namespace
    if (manifest.name, container, kind, namespace) == (name, name, "deployment", "default"):
        return None
    try:
        if one.preset is not None and (kind, namespace) == ("deployment", "default"):
            changes = {"deployment": manifest.name} if manifest.name != name else {}
            changes |= {"container": container} if container != name else {}
            changed: Converted | None = attrs.evolve(one, preset=one.preset.with_options(**changes))
        else:
            where = None if namespace == "default" else namespace
            rename = Rollout(manifest.name, container, image, namespace=where, kind=kind)
            changed = _renamed_rollouts(attrs.evolve(one, preset=None), rename)
    except PipedslError:
        return None
    if changed is None:
        return None
    line = manifest.line_of(
        "converted",
        f"the rollout of {name}",
        f"rolls {manifest.title}, container {container!r}"
        + (f", in namespace {namespace!r}" if namespace != "default" else "")
        + ", as the manifests name them"
        + (
            " (written as typed stages: the preset's rollout names none)"
            if one.preset and not changed.preset
            else ""
        ),
    )
    return changed, line


def _rolls(one: Converted) -> bool:
    """Whether ``one``'s pipeline rolls a workload onto its image (a ``Rollout``)."""
    return any(
        isinstance(s, KubectlApply) and s.rollout is not None
        for s in one.component.pipeline.all_steps()
    )


def _renamed_rollouts(one: Converted, rename: Rollout) -> Converted | None:
    """``one`` with its rollouts of ``rename``'s image naming its workload (None when it has
    none to rename)."""

    def change(step: Step) -> Step:
        if not isinstance(step, KubectlApply):
            return step
        rollout = step.rollout
        if rollout is None or rollout.image != rename.image or rollout.kind != "deployment":
            return step
        named = attrs.evolve(
            rollout,
            deployment=rename.deployment,
            container=rename.container,
            namespace=rename.namespace,
            kind=rename.kind,
        )
        return attrs.evolve(step, rollout=named)

    pipeline = one.typed_component.pipeline.map_steps(change)
    if pipeline is one.typed_component.pipeline:
        return None
    return attrs.evolve(one, typed_component=attrs.evolve(one.typed_component, pipeline=pipeline))


def shipped_patterns(converted: Converted) -> tuple[str, ...]:
    """The manifest files an imported component's deploy ships (none for a component whose
    deploy already renders its runtime)."""
    if converted.component.runtime is not None:
        return ()
    if converted.preset is not None:
        return converted.preset.shipped
    return tuple(f for step in _instances(converted.component, ShipFiles) for f in step.files)


def _instances(value: object, cls: type[ShipFiles]) -> Iterable[ShipFiles]:
    if isinstance(value, cls):
        yield value
    elif isinstance(value, tuple | list):
        for item in value:
            yield from _instances(item, cls)
    elif attrs.has(type(value)):
        for field in attrs.fields(type(value)):  # type: ignore[arg-type]
            yield from _instances(getattr(value, field.name), cls)


def _held_back(
    cluster: Cluster, manifests: Sequence[Manifest], patterns: Sequence[str]
) -> Manifest | None:
    """The first manifest of ``patterns`` that did not convert."""
    for manifest in manifests:
        if manifest.key in cluster.failed and any(
            matches_pattern(manifest.path, p) for p in patterns
        ):
            return manifest
    return None


def _first(manifests: Sequence[Manifest], runtime: Runtime) -> Manifest:
    names = {(type(o).__name__, o.name) for o in runtime.objects}
    return next((m for m in manifests if (m.kind, m.name) in names), manifests[0])


def _free(name: str, components: Sequence[Component], backing: Sequence[BackingService]) -> str:
    taken = {c.name for c in components} | {b.name for b in backing}
    base, n = name, 2
    while name in taken:
        name, n = f"{base}-{n}", n + 1
    return name
