"""A project: its repository, its components (each with a pipeline and, optionally, what it
runs in the cluster) and its backing services (cluster-only, such as a database)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import attrs

from pipedsl.errors import ModelError
from pipedsl.model import _checks
from pipedsl.model.deploy import Environment
from pipedsl.model.infra import Image
from pipedsl.model.jobs import JenkinsJobs, Triggers
from pipedsl.model.k8s.runtime import Runtime
from pipedsl.model.notify import Discord, Notifier, Slack
from pipedsl.model.pipeline import Pipeline
from pipedsl.record import Record

DNS_LABEL = _checks.matches(
    r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?",
    "a DNS-1123 label: lower-case letters, digits and '-', starting and ending with a letter "
    "or digit, at most 63 characters",
)

_REPOSITORY = _checks.matches(
    r"(https?|ssh|git)://[^\s'\"\\\x00-\x1f\x7f]+|[A-Za-z0-9_.-]+@[A-Za-z0-9.-]+:[^\s'\"\\\x00-\x1f\x7f]+",
    "a Git URL such as https://github.com/org/repo.git or git@github.com:org/repo.git",
)

_BRANCH = _checks.matches(
    r"(?!/)(?!.*//)(?!.*\.\.)(?!.*@\{)[^\s~^:?*\[\\\x00-\x1f\x7f]+(?<![/.])",
    "a Git branch name (no spaces, '~', '^', ':', '?', '*', '[', '..' or '\\\\')",
)

_PATH_IN_REPO = _checks.matches(
    r"(?!/)(?!.*(^|/)\.\.(/|$))[^\x00-\x1f\x7f\\]+",
    "a relative path inside the repository, with '/' separators and no '..'",
)


def _notifiers(value: Notifier | Iterable[Notifier]) -> tuple[Notifier, ...]:
    # A single notifier is accepted where a list is expected (``notify=slack``).
    if isinstance(value, Slack | Discord):
        return (value,)
    return _checks.to_tuple(value)  # type: ignore[return-value]


@attrs.frozen(eq=False, repr=False)
class Component(Record):
    """One deployable part of a project (backend, frontend, ...) and its pipeline.

    Presets such as :func:`~pipedsl.presets.spring_boot_backend` build components; change one
    with :meth:`with_pipeline`.
    """

    name: str = attrs.field(validator=DNS_LABEL)
    pipeline: Pipeline = attrs.field(validator=_checks.instance_of(Pipeline))
    notify: tuple[Notifier, ...] = attrs.field(
        factory=tuple,
        kw_only=True,
        converter=_notifiers,
        validator=_checks.tuple_of((Slack, Discord)),
    )
    image: Image | None = attrs.field(
        default=None, kw_only=True, validator=_checks.optional(_checks.instance_of(Image))
    )
    source: str = attrs.field(
        default=".", kw_only=True, validator=[_PATH_IN_REPO, _checks.carriable]
    )
    description: str = attrs.field(default="", kw_only=True, validator=_checks.text(empty=True))
    runtime: Runtime | None = attrs.field(
        default=None, kw_only=True, validator=_checks.optional(_checks.instance_of(Runtime))
    )
    """What it runs in the cluster; ``pipedsl render`` writes these objects' manifests."""
    branch: str | None = attrs.field(
        default=None,
        kw_only=True,
        validator=[_checks.optional(_BRANCH), _checks.optional(_checks.carriable)],
    )
    """The branch its job builds, when it is not the project's (``Project.branch``)."""
    triggers: Triggers | None = attrs.field(
        default=None, kw_only=True, validator=_checks.optional(_checks.instance_of(Triggers))
    )
    """Schedules that start its job besides a push (:class:`~pipedsl.Triggers`)."""
    environments: tuple[Environment, ...] = attrs.field(
        factory=tuple,
        kw_only=True,
        converter=_checks.to_tuple,
        validator=_checks.tuple_of(Environment),
    )
    """Where ``runtime`` is deployed, in order, each with its differences (see
    :class:`~pipedsl.Environment`); empty when it is deployed to one place (or nowhere)."""

    def __attrs_post_init__(self) -> None:
        names = [e.name for e in self.environments]
        if len(set(names)) != len(names):
            raise ModelError(f"Component.environments: names repeat: {names}")
        if self.environments and self.runtime is None:
            raise ModelError(
                f"Component.environments: component {self.name!r} has no runtime to deploy"
            )

    def with_pipeline(self, change: Callable[[Pipeline], Pipeline]) -> Component:
        """A copy whose pipeline is ``change(pipeline)``::

        backend.with_pipeline(lambda p: p.without("Project Compile"))
        """
        return attrs.evolve(self, pipeline=change(self.pipeline))


@attrs.frozen(eq=False, repr=False)
class BackingService(Record):
    """Something the project runs in the cluster without building it: a database, a cache.

    It has no pipeline (so no Jenkinsfile); its manifests are rendered like a component's and
    applied by a person (``kubectl apply -f generated/<project>/<name>/k8s/``, after the
    project's ``_shared`` folder when it has one). Presets such as
    :func:`~pipedsl.mariadb` build one.
    """

    name: str = attrs.field(validator=DNS_LABEL)
    runtime: Runtime = attrs.field(kw_only=True, validator=_checks.instance_of(Runtime))
    description: str = attrs.field(default="", kw_only=True, validator=_checks.text(empty=True))


def _components(value: Iterable[Component]) -> tuple[Component, ...]:
    return _checks.to_tuple(value)  # type: ignore[return-value]


def _backing(value: Iterable[BackingService]) -> tuple[BackingService, ...]:
    return _checks.to_tuple(value)  # type: ignore[return-value]


@attrs.frozen(eq=False, repr=False)
class Project(Record):
    """A team's delivery setup: a repository, the branch that deploys, and its components.

    ``folder`` is the Jenkins folder the jobs go into (the project name by default);
    ``generated_dir`` is where ``pipedsl render`` writes, relative to the repository root, so
    that Jenkins jobs find their Jenkinsfiles there.
    """

    name: str = attrs.field(validator=DNS_LABEL)
    repository: str = attrs.field(
        validator=[_checks.no_url_password, _REPOSITORY, _checks.carriable]
    )
    components: tuple[Component, ...] = attrs.field(
        kw_only=True, converter=_components, validator=_checks.tuple_of(Component)
    )
    branch: str = attrs.field(
        default="develop", kw_only=True, validator=[_BRANCH, _checks.carriable]
    )
    folder: str | None = attrs.field(
        default=None,
        kw_only=True,
        validator=_checks.optional(
            _checks.matches(r"[A-Za-z0-9][A-Za-z0-9 _.-]*", "letters, digits, ' ', '_', '.', '-'")
        ),
    )
    generated_dir: str = attrs.field(
        default="generated", kw_only=True, validator=[_PATH_IN_REPO, _checks.carriable]
    )
    backing_services: tuple[BackingService, ...] = attrs.field(
        factory=tuple,
        kw_only=True,
        converter=_backing,
        validator=_checks.tuple_of(BackingService),
    )
    """What runs in the cluster without a pipeline (databases); see :class:`BackingService`."""
    jenkins: JenkinsJobs = attrs.field(
        factory=JenkinsJobs, kw_only=True, validator=_checks.instance_of(JenkinsJobs)
    )
    source: str | None = attrs.field(default=None, kw_only=True, eq=False, repr=False)
    """The project file this project was loaded from (set by ``load_project``)."""

    def repository_path(self, generated: str) -> str:
        """Where a file ``render`` writes at ``generated`` (relative to the output folder) lies
        in the repository, as the jobs and deploy stages name it: ``generated/<generated>``."""
        return f"{self.generated_dir.rstrip('/')}/{generated}"

    def branch_of(self, component: Component) -> str:
        """The branch ``component``'s job builds: its own, else the project's."""
        return component.branch or self.branch

    @property
    def jenkins_folder(self) -> str:
        return self.folder or self.name

    @property
    def runtimes(self) -> tuple[tuple[str, Runtime], ...]:
        """``(name, runtime)`` of every component and backing service that has one, in order."""
        found = [(c.name, c.runtime) for c in self.components if c.runtime is not None]
        found += [(b.name, b.runtime) for b in self.backing_services]
        return tuple(found)

    def component(self, name: str) -> Component:
        for component in self.components:
            if component.name == name:
                return component
        raise KeyError(name)
