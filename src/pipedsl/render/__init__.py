"""Render: the resolved model to artifacts ``(path, text)`` — Jenkinsfiles, job config.xml,
setup files, Kubernetes manifests — with one escaping function per boundary and the secret
scan. Pure: no files are read or written here. May import ``resolve``, ``presets``, ``model``
and ``errors``."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from pathlib import Path

import attrs

from pipedsl.errors import (
    ModelError,
    PipedslError,
    Problem,
    RenderError,
    describe_exception,
    line_in,
)
from pipedsl.model.k8s.runtime import Runtime
from pipedsl.model.project import Component, Project
from pipedsl.model.steps import Step
from pipedsl.model.validate import component_problems, project_problems, validate_project
from pipedsl.record import Record
from pipedsl.render.artifacts import Artifact
from pipedsl.render.groovy import oversized_strings
from pipedsl.render.jenkinsfile import render_jenkinsfile, step_writer
from pipedsl.render.jobs import render_job, render_setup, render_setup_notes_file
from pipedsl.render.manifests import render_manifests, render_shared_manifests
from pipedsl.render.parallel import parallel_map
from pipedsl.render.secrets import (
    find_interpolated_credentials,
    find_secrets,
    find_value_secrets,
)
from pipedsl.render.setup import primitive_steps
from pipedsl.render.templating import template_dirs as _template_dirs
from pipedsl.resolve import final_pipeline
from pipedsl.resolve.deploy import rendered_runtimes, shared_objects
from pipedsl.resolve.layout import NOTHING_SHARED, Shared, jenkinsfile_path, manifest_path

__all__ = [
    "Artifact",
    "jenkinsfile_path",
    "manifest_path",
    "render_project",
    "render_projects",
]


def render_project(
    project: Project,
    *,
    templates: Sequence[Path | str] | None = None,
    kinds: Collection[str] | None = None,
) -> list[Artifact]:
    """Every file of ``project``, in a stable order. Validates the project first.

    ``templates`` are folders whose files override the built-in templates of the same name::

        for artifact in render_project(load_project("projects/lat32t.py")):
            print(artifact.path)

    ``kinds`` (for example ``{"job"}``) keeps only artifacts of those kinds in the result;
    everything is still rendered and checked. A caller that needs a few kinds saves handing
    the others between the processes a large project is rendered by.
    """

    def check_project() -> None:
        if project_problems(project):
            validate_project(project)  # raises, listing every problem of the project

    try:
        dirs = _template_dirs(templates)
    except RenderError:
        validate_project(project)  # a problem of the project is reported first
        raise
    except Exception:
        check_project()  # as a project-wide problem always was
        raise
    try:
        writer = step_writer(dirs)
        # Per environment, if any; for blue/green, two Deployments: worked out once per
        # component, for the shared objects, the deploy steps and the manifests alike.
        known = _known_runtimes(project)
        # Objects several runtimes hold are written once, in the project's _shared folder.
        sharing = _sharing(project, known)
    except Exception:
        check_project()  # a problem of the project is reported first
        raise

    # The distinct primitive steps this process has listed so far: a component's result lists
    # only the others. A process renders its components in their order (see parallel_map), so
    # every step is still listed first with the first component that runs it, and the
    # project's list is the same; a step that every component runs is not pickled, read back
    # and hashed again for each.
    listed: set[Step] = set()

    def component_files(component: Component) -> _Rendered:
        # A component checked, then its Jenkinsfile, job and manifests, checked for secrets, and
        # the distinct steps its pipeline runs that its process had not listed yet (the setup
        # files are derived from them). Runs in parallel for many components; an error is
        # returned, to be raised in component order once every component is known to be valid.
        invalid = component_problems(component)
        if invalid:
            return _Rendered(problems=invalid, valid=False)
        try:
            runtimes = known.get(component.name) or rendered_runtimes(project, component)
            pipeline = final_pipeline(project, component, runtimes, sharing)
            where = f"components[{component.name}]"
            try:
                text = render_jenkinsfile(
                    project, component, dirs, pipeline=pipeline, writer=writer
                )
            except (ModelError, RenderError):
                # A string Groovy cannot hold (or a command a tool step becomes, too long for
                # its step) is refused as it is written: named here by its place in the model.
                too_long = oversized_strings(pipeline, f"{where}.pipeline")
                if not too_long:
                    raise
                return _Rendered(problems=too_long)
            files = [
                Artifact(jenkinsfile_path(project, component.name), text, "jenkinsfile"),
                render_job(project, component, text),
            ]
            manifests = [
                artifact
                for environment, runtime in runtimes
                for artifact in render_manifests(
                    project, component.name, runtime, environment, sharing
                )
            ]
            # Free text (scripts, raw Groovy, messages, config values) could still carry a
            # pasted secret: nothing that looks like one is ever written.
            problems = find_secrets(files)
            manifest_problems = find_secrets(manifests)
            # What escaping hides from the files' scan (' becomes \' in a Groovy literal).
            problems[:0] = find_value_secrets(
                component, where, reported=problems + manifest_problems
            )
            problems += find_interpolated_credentials(files)
            steps = [s for s in dict.fromkeys(primitive_steps([pipeline])) if s not in listed]
            listed.update(steps)
        except Exception as exc:  # raised below, in component order
            return _Rendered(error=exc)
        files += manifests
        if kinds is not None:
            files = [a for a in files if a.kind in kinds]
        return _Rendered(files, steps, problems, manifest_problems)

    runtimes = [r for c in project.components for _, r in known.get(c.name, ())]
    meanwhile, notes = _alongside(check_project, project, runtimes)
    results = _checked(
        project, parallel_map(component_files, project.components, meanwhile=meanwhile)
    )
    return _project_files(project, results, sharing, kinds, runtimes=runtimes, notes=notes)


def _checked(project: Project, results: list[_Rendered]) -> list[_Rendered]:
    """``results``, if every component was valid and rendered; else the error of the first
    that was not, or all the invalid components' problems, in order."""
    if not all(r.valid for r in results):
        validate_project(project)  # raises with the invalid components' problems, in order
    for result in results:
        if result.error is not None:
            raise result.error
    return results


def _alongside(
    check: Callable[[], None], project: Project, runtimes: Sequence[Runtime]
) -> tuple[Callable[[], None], Callable[[], Artifact]]:
    """What the calling process does while other processes start on the components: the
    project-wide ``check`` (the components' files are dropped if it fails), then ``SETUP.md``,
    which needs no component rendered; and the function giving that file once the components
    are done (raising its error, if it had one, where it would have been raised)."""
    made: list[Artifact | BaseException] = []

    def meanwhile() -> None:
        check()
        try:
            made.append(render_setup_notes_file(project, runtimes))
        except KeyboardInterrupt:  # Ctrl-C (or SIGTERM) stops the render now
            raise
        except BaseException as exc:  # a project's own code may raise anything
            made.append(exc)

    def notes() -> Artifact:
        (note,) = made
        if isinstance(note, BaseException):
            raise note
        return note

    return meanwhile, notes


def _project_files(
    project: Project,
    results: list[_Rendered],
    sharing: Shared,
    kinds: Collection[str] | None,
    *,
    runtimes: Sequence[Runtime],
    notes: Callable[[], Artifact],
) -> list[Artifact]:
    """The components' files with the project's own (setup files, backing services' and shared
    manifests), every secret found reported at once, in the order of the files."""
    artifacts = [a for r in results for a in r.files]
    steps = list(dict.fromkeys(s for r in results for s in r.steps))
    shared = render_setup(project, steps, runtimes, notes=notes)
    services = _project_manifests(project, sharing)
    # Reported in the order of the files: Jenkinsfiles and jobs, setup files, manifests.
    shared_problems, service_problems = find_secrets(shared), find_secrets(services)
    problems = find_value_secrets(
        attrs.evolve(project, components=()), "", reported=shared_problems + service_problems
    )
    problems += [p for r in results for p in r.problems] + shared_problems
    problems += [p for r in results for p in r.manifest_problems] + service_problems
    if problems:
        raise ModelError(problems)
    shared += services
    if kinds is not None:
        shared = [a for a in shared if a.kind in kinds]
    return sorted(artifacts + shared, key=lambda a: a.path)


def _project_manifests(project: Project, sharing: Shared) -> list[Artifact]:
    """The backing services' manifests and the objects several runtimes share."""
    return [
        artifact
        for service in project.backing_services
        for artifact in render_manifests(project, service.name, service.runtime, None, sharing)
    ] + render_shared_manifests(project, sharing)


def _known_runtimes(project: Project) -> dict[str, list[tuple[str | None, Runtime]]]:
    """Each component's :func:`rendered_runtimes` that can be worked out; a component whose
    cannot reports why when it is rendered (in component order, after validation)."""
    known = {}
    for component in project.components:
        if component.runtime is None:
            continue
        try:
            known[component.name] = rendered_runtimes(project, component)
        except ModelError:
            continue
    return known


def _sharing(project: Project, known: dict[str, list[tuple[str | None, Runtime]]]) -> Shared:
    """The objects several runtimes of ``project`` hold (none when a component's runtime
    cannot be worked out: rendering that component fails, so nothing is written)."""
    holders = len(known) + len(project.backing_services)
    if holders < 2 or len(known) < sum(c.runtime is not None for c in project.components):
        return NOTHING_SHARED
    return shared_objects(project, known)


@attrs.frozen(eq=False, repr=False)
class _Rendered(Record):
    """What rendering one component gives: its files, the primitive steps its pipeline runs
    (those its process had not listed before), the problems found in its Jenkinsfile and job
    and in its manifests, whether it passed validation, and the error that stopped its
    rendering, if any."""

    files: list[Artifact] = attrs.field(factory=list)
    steps: list[Step] = attrs.field(factory=list)
    problems: list[Problem] = attrs.field(factory=list)
    manifest_problems: list[Problem] = attrs.field(factory=list)
    valid: bool = True
    error: Exception | None = None


def render_projects(
    projects: Iterable[Project],
    *,
    templates: Sequence[Path | str] | None = None,
    kinds: Collection[str] | None = None,
) -> list[Artifact]:
    """The artifacts of several projects; their names (hence folders) must differ. ``kinds``
    is as for :func:`render_project`."""
    seen: dict[str, str | None] = {}
    artifacts: list[Artifact] = []
    problems: list[Problem] = []
    for project in projects:
        if project.name in seen:
            problems.append(
                Problem(
                    f"project {project.name!r}",
                    f"defined by both {seen[project.name]} and {project.source}; project names must differ",
                )
            )
            continue
        seen[project.name] = project.source
        where = project.source or project.name
        try:
            artifacts += render_project(project, templates=templates, kinds=kinds)
        except ModelError as exc:
            problems += [
                Problem(f"{where}: {p.path}" if p.path else where, p.message) for p in exc.problems
            ]
        except PipedslError:
            raise
        except Exception as exc:
            # Code of the project file's own (a property of a subclass, a __str__) that raised
            # while the project was rendered: reported at its line, as when the file loads.
            line = line_in(exc, project.source) if project.source else None
            if line is None:
                raise
            problems.append(
                Problem(
                    f"{where}:{line}",
                    f"{describe_exception(exc)} (raised by the project file's code while its "
                    "project was rendered)",
                )
            )
    if problems:
        raise ModelError(problems)
    return sorted(artifacts, key=lambda a: a.path)
