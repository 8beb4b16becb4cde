"""Pipeline steps.

Primitive steps map one-to-one onto Jenkins pipeline steps (``sh``, ``dir``, ``slackSend``,
``sshPublisher``, ...). Tool steps (:class:`Maven`, :class:`Npm`, :class:`DockerBuild`,
:class:`DockerPush`, :class:`ShipFiles`, :class:`KubectlApply`) describe an intent and are lowered
to primitive steps when rendered, so their shell commands are built (and quoted) in one place.
"""

from __future__ import annotations

import functools
import re
import shlex
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from pipedsl.errors import ModelError
from pipedsl.model import _checks
from pipedsl.model._groovy import balance_problem
from pipedsl.model.credentials import Credential
from pipedsl.model.infra import Image, SshServer
from pipedsl.model.k8s import _checks as k8s
from pipedsl.model.k8s.config import Secret
from pipedsl.model.values import TEXT, GString, Text
from pipedsl.record import CachedRecord


class Step(CachedRecord):
    """Base class of every step."""

    __slots__ = ()

    @property
    def children(self) -> tuple[Step, ...]:
        """Steps nested inside this one (for blocks such as ``dir``)."""
        return ()

    def with_children(self, steps: tuple[Step, ...]) -> Step:
        """A copy with ``steps`` nested inside it (blocks only; other steps have none)."""
        return self


class Block(Step):
    """A step that runs ``steps`` inside it (``dir``, ``container``, ``withCredentials``)."""

    __slots__ = ()
    steps: tuple[Step, ...]

    @property
    def children(self) -> tuple[Step, ...]:
        return self.steps

    def with_children(self, steps: tuple[Step, ...]) -> Step:
        # Subclasses are attrs classes.
        return attrs.evolve(self, steps=steps)  # type: ignore[misc]


def steps_tuple(value: Iterable[Step]) -> tuple[Step, ...]:
    """Converter: a list of steps becomes a tuple (the validator reports anything else)."""
    return _checks.to_tuple(value)  # type: ignore[return-value]


def credential_of(*kinds: str) -> _checks.Validator:
    """A validator: the value is a :class:`Credential` of one of ``kinds``."""

    def check(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if not isinstance(value, Credential) or value.kind not in kinds:
            wanted = " or ".join(f"Credential.{k}(...)" for k in kinds)
            raise _checks.fail(instance, attribute, f"expected {wanted}, got {value!r}")

    return check


# ----------------------------------------------------------------------------- primitive steps


@attrs.frozen(eq=False, repr=False)
class Sh(Step):
    """A shell script, run with ``sh``. It is emitted as a single-quoted Groovy string, so
    ``$VAR`` is expanded by the shell from the environment, never by Groovy."""

    script: str = attrs.field(validator=_checks.text())
    label: str | None = attrs.field(
        default=None, kw_only=True, validator=_checks.optional(_checks.text(multiline=False))
    )


def sh(script: str, *, label: str | None = None) -> Sh:
    """``sh('...')``: ``sh("mvn -B verify")``."""
    return Sh(script, label=label)


@attrs.frozen(eq=False, repr=False)
class Echo(Step):
    """``echo``: print a message in the build log."""

    message: Text = attrs.field(validator=TEXT)


@attrs.frozen(eq=False, repr=False)
class Milestone(Step):
    """``milestone``: builds pass milestones in order; when a newer build passes one, older
    builds that have not passed it yet are aborted (an approval they wait for is superseded)."""

    ordinal: int = attrs.field(validator=_checks.positive_int)
    label: str = attrs.field(validator=_checks.text(multiline=False))


@attrs.frozen(eq=False, repr=False)
class Stash(Step):
    """``stash``: keep files of this build's workspace (Ant ``includes`` patterns) for a later
    stage that runs on another agent (:class:`Unstash`)."""

    name: str = attrs.field(validator=_checks.ENV_NAME)
    includes: tuple[str, ...] = attrs.field(converter=_checks.str_tuple, validator=_checks.words())


@attrs.frozen(eq=False, repr=False)
class Unstash(Step):
    """``unstash``: bring back files a :class:`Stash` kept, exactly as this build stashed them."""

    name: str = attrs.field(validator=_checks.ENV_NAME)


@attrs.frozen(eq=False, repr=False)
class JUnit(Step):
    """``junit``: record test reports (Ant patterns of JUnit XML files, relative to the current
    folder), for the build's test trend and failed-test list. A build whose reports show
    failures becomes unstable. ``allow_empty=False`` fails when no report matches (tests that
    silently did not run)."""

    reports: tuple[str, ...] = attrs.field(converter=_checks.str_tuple, validator=_checks.words())
    allow_empty: bool = attrs.field(
        default=False, kw_only=True, validator=_checks.instance_of(bool)
    )


@attrs.frozen(eq=False, repr=False)
class Archive(Step):
    """``archiveArtifacts``: keep files of the workspace (Ant patterns) with the build,
    fingerprinted (Jenkins can tell which build produced a file). ``allow_empty=False`` fails
    when nothing matches."""

    artifacts: tuple[str, ...] = attrs.field(converter=_checks.str_tuple, validator=_checks.words())
    fingerprint: bool = attrs.field(default=True, kw_only=True, validator=_checks.instance_of(bool))
    allow_empty: bool = attrs.field(
        default=False, kw_only=True, validator=_checks.instance_of(bool)
    )


def _balanced_groovy(instance: object, attribute: attrs.Attribute[Any], value: str) -> None:
    problem = balance_problem(value)
    if problem is not None:
        raise _checks.fail(
            instance, attribute, f"{problem}; raw Groovy must be balanced on its own"
        )


@attrs.frozen(eq=False, repr=False)
class Groovy(Step):
    """Raw Groovy, emitted as written: the escape hatch for what the model does not cover.

    Its brackets, strings and comments must be balanced (an unbalanced ``}`` would close the
    pipeline's own blocks); ``pipedsl lint`` has Jenkins check the rest. Never put a secret in
    it.
    """

    code: str = attrs.field(validator=[_checks.text(), _balanced_groovy])


def _references(value: Iterable[tuple[str, GString]]) -> tuple[tuple[str, GString], ...]:
    return tuple(value)


@attrs.frozen(eq=False, repr=False)
class FixImages(Step):
    """Set image reference variables once the build knows their tags' commit, date or time (a
    generated step, placed right after the checkout): ``commit`` reads the checked-out commit,
    ``clock`` the UTC date and time, once, then each ``(variable, reference)`` is set, and the
    commit is kept in ``commit_var`` for messages when that is given."""

    references: tuple[tuple[str, GString], ...] = attrs.field(converter=_references)
    commit: bool = attrs.field(default=False, kw_only=True)
    clock: bool = attrs.field(default=False, kw_only=True)
    commit_var: str | None = attrs.field(default=None, kw_only=True)


@attrs.frozen(eq=False, repr=False)
class RecordFailedStage(Step):
    """Keep the name of the first stage that fails in ``var`` (a generated step in each
    stage's ``post { failure }``, for messages that name it)."""

    var: str = attrs.field(validator=_checks.ENV_NAME)


@attrs.frozen(eq=False, repr=False)
class Checkout(Step):
    """``checkout scm``: the repository and branch the job was started for."""


@attrs.frozen(eq=False, repr=False)
class Git(Step):
    """``git(url:, branch:)``: check out a repository by URL. Inline jobs use it in place of
    :class:`Checkout`, since a job without an SCM has no ``scm`` to check out."""

    url: str = attrs.field(validator=[_checks.no_url_password, _checks.text(multiline=False)])
    branch: str = attrs.field(validator=_checks.text(multiline=False))
    credentials: str | None = attrs.field(
        default=None, kw_only=True, validator=_checks.optional(_checks.CREDENTIAL_ID)
    )


@attrs.frozen(eq=False, repr=False)
class Dir(Block):
    """``dir(path) { ... }``: run ``steps`` inside a folder of the workspace."""

    path: str = attrs.field(validator=_checks.text(multiline=False))
    steps: tuple[Step, ...] = attrs.field(converter=steps_tuple, validator=_checks.tuple_of(Step))


@attrs.frozen(eq=False, repr=False)
class InContainer(Block):
    """``container(name) { ... }``: run ``steps`` in a container of the stage's Kubernetes pod
    agent (:class:`~pipedsl.PodContainer`); the name must be one of that pod's."""

    name: str = attrs.field(validator=k8s.NAME)
    steps: tuple[Step, ...] = attrs.field(converter=steps_tuple, validator=_checks.tuple_of(Step))


@attrs.frozen(eq=False, repr=False)
class WithCredentials(Block):
    """Bind a Jenkins credential to environment variables for ``steps``.

    ``variables`` names them: two (user, password) for a username/password credential, one
    otherwise. Jenkins masks their values in the log.
    """

    credential: Credential = attrs.field(validator=_checks.instance_of(Credential))
    variables: tuple[str, ...] = attrs.field(
        converter=_checks.str_tuple, validator=_checks.tuple_of(str)
    )
    steps: tuple[Step, ...] = attrs.field(converter=steps_tuple, validator=_checks.tuple_of(Step))

    def __attrs_post_init__(self) -> None:
        wanted = 2 if self.credential.kind == "username_password" else 1
        if len(self.variables) != wanted:
            raise ModelError(
                f"WithCredentials.variables: a {self.credential.kind} credential binds {wanted} "
                f"variable(s), got {len(self.variables)}"
            )
        for name in self.variables:
            _checks.ENV_NAME(self, attrs.fields(WithCredentials).variables, name)


@attrs.frozen(eq=False, repr=False)
class SlackSend(Step):
    """``slackSend``: one Slack message. The token is a secret-text credential id
    (``tokenCredentialId``), never a token."""

    channel: str | None = attrs.field(validator=_checks.optional(_checks.text(multiline=False)))
    message: Text = attrs.field(validator=TEXT)
    color: str = attrs.field(default="good", validator=_checks.text(multiline=False))
    team_domain: str | None = attrs.field(
        default=None, validator=_checks.optional(_checks.text(multiline=False))
    )
    token: Credential | None = attrs.field(
        default=None, validator=_checks.optional(credential_of("secret_text"))
    )
    base_url: str | None = attrs.field(
        default=None, validator=_checks.optional(_checks.text(multiline=False))
    )
    fail_on_error: bool = attrs.field(default=False, validator=_checks.instance_of(bool))


@attrs.frozen(eq=False, repr=False)
class DiscordSend(Step):
    """``discordSend``: one Discord message, the webhook URL read from a secret-text
    credential (bound with ``withCredentials`` when rendered)."""

    webhook: Credential = attrs.field(validator=credential_of("secret_text"))
    title: Text = attrs.field(validator=TEXT)
    description: Text = attrs.field(validator=TEXT)
    result: Text | None = attrs.field(default=None, validator=_checks.optional(TEXT))
    link: Text | None = attrs.field(default=None, validator=_checks.optional(TEXT))


@attrs.frozen(eq=False, repr=False)
class SshTransfer(CachedRecord):
    """One transfer of a Publish Over SSH publisher.

    ``source_files`` is an Ant pattern list relative to the workspace (comma-separated);
    ``remove_prefix`` is stripped from the sent paths; ``remote_directory`` is relative to the
    server's configured remote directory; ``exec_command`` runs on the server afterwards.
    """

    source_files: str = attrs.field(default="", validator=_checks.text(empty=True, multiline=False))
    remove_prefix: str = attrs.field(
        default="", validator=_checks.text(empty=True, multiline=False)
    )
    remote_directory: str = attrs.field(
        default="", validator=_checks.text(empty=True, multiline=False)
    )
    exec_command: Text = attrs.field(default="", validator=TEXT)
    exec_timeout: int = attrs.field(default=120_000, validator=_checks.positive_int)
    clean_remote: bool = attrs.field(default=False, validator=_checks.instance_of(bool))
    """Empty ``remote_directory`` before sending, so files removed from the repository do not
    linger (and get applied) on the server."""

    def __attrs_post_init__(self) -> None:
        if not self.source_files and self.exec_command == "":
            raise ModelError("SshTransfer: give source_files, exec_command, or both")


def _transfers(value: Iterable[SshTransfer]) -> tuple[SshTransfer, ...]:
    return _checks.to_tuple(value)  # type: ignore[return-value]


@attrs.frozen(eq=False, repr=False)
class SshPublish(Step):
    """``sshPublisher``: send files to / run commands on a Publish Over SSH server.

    ``fail_on_error`` is on by default: without it a failed transfer only marks the build
    unstable and the pipeline goes on as if the deploy had worked.
    """

    server: SshServer = attrs.field(validator=_checks.instance_of(SshServer))
    transfers: tuple[SshTransfer, ...] = attrs.field(
        converter=_transfers, validator=_checks.tuple_of(SshTransfer)
    )
    fail_on_error: bool = attrs.field(
        default=True, kw_only=True, validator=_checks.instance_of(bool)
    )
    verbose: bool = attrs.field(default=False, kw_only=True, validator=_checks.instance_of(bool))

    def __attrs_post_init__(self) -> None:
        if not self.transfers:
            raise ModelError("SshPublish.transfers: at least one SshTransfer is needed")


# ----------------------------------------------------------------------------- tool steps


def _pairs(value: object) -> object:
    if isinstance(value, Mapping):
        return tuple((str(k), str(v) if not isinstance(v, str) else v) for k, v in value.items())
    return value


def _check_pairs(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, tuple) or not all(
        isinstance(p, tuple) and len(p) == 2 and all(isinstance(x, str) for x in p) for p in value
    ):
        raise _checks.fail(instance, attribute, "expected a dict of names to values")
    names = _checks.ENV_NAME if attribute.name == "build_args" else _LABEL_KEY
    for name, text in value:
        names(instance, attribute, name)
        _checks.text(empty=True, multiline=False)(instance, attribute, text)


_LABEL_KEY = _checks.matches(
    r"[A-Za-z0-9][A-Za-z0-9._/-]*", "a label key such as org.opencontainers.image.source"
)


def _args(value: str | Iterable[str]) -> tuple[str, ...]:
    if isinstance(value, str):
        return _split_words(value)
    return _checks.to_tuple(value)  # type: ignore[return-value]


@functools.lru_cache(maxsize=4096)
def _split_words(value: str) -> tuple[str, ...]:
    # The same goals ("clean", "package -DskipTests") recur in every component.
    return tuple(shlex.split(value))


@attrs.frozen(eq=False, repr=False)
class Maven(Step):
    """Run Maven goals: ``Maven("clean")``, ``Maven(["package", "-DskipTests"])``.

    A string is split like a shell would split it. Each word reaches Maven as the shell passes
    it inside double quotes: ``$NAME`` and ``${NAME}`` become the environment variable's value
    (``Maven("sonar:sonar -Dsonar.token=$SONAR_TOKEN")``), without word splitting or globbing;
    everything else is literal (``$(...)``, backquotes, globs). ``wrapper=True`` runs
    ``./mvnw`` instead of ``mvn``.
    """

    goals: tuple[str, ...] = attrs.field(converter=_args, validator=_checks.words())
    flags: tuple[str, ...] = attrs.field(
        default=("-B",), kw_only=True, converter=_args, validator=_checks.words(non_empty=False)
    )
    wrapper: bool = attrs.field(default=False, kw_only=True, validator=_checks.instance_of(bool))


@attrs.frozen(eq=False, repr=False)
class Npm(Step):
    """Run npm: ``Npm("install")``, ``Npm("run build")``. Words are split, and ``$NAME`` and
    ``${NAME}`` expanded, as for :class:`Maven`."""

    args: tuple[str, ...] = attrs.field(converter=_args, validator=_checks.words())


@attrs.frozen(eq=False, repr=False)
class Gradle(Step):
    """Run Gradle tasks: ``Gradle("build")``, ``Gradle(["bootJar", "-x", "test"])``. Words are
    split, and ``$NAME`` and ``${NAME}`` expanded, as for :class:`Maven`.

    ``wrapper=True`` (the default) runs the project's ``./gradlew`` through ``sh``, so it works
    whether or not the file is executable in the repository (a common cause of "Permission
    denied"); ``wrapper=False`` runs ``gradle`` (a Gradle tool installation, ``Tools(gradle=...)``).
    ``flags`` default to ``--no-daemon`` (a daemon outliving a CI build only holds memory)."""

    tasks: tuple[str, ...] = attrs.field(converter=_args, validator=_checks.words())
    flags: tuple[str, ...] = attrs.field(
        default=("--no-daemon",),
        kw_only=True,
        converter=_args,
        validator=_checks.words(non_empty=False),
    )
    wrapper: bool = attrs.field(default=True, kw_only=True, validator=_checks.instance_of(bool))


@attrs.frozen(eq=False, repr=False)
class Yarn(Step):
    """Run Yarn through Node's corepack (``corepack yarn ...``: the version the project's
    ``packageManager`` field pins, nothing installed globally): ``Yarn("install --immutable")``.
    Words as for :class:`Maven`."""

    args: tuple[str, ...] = attrs.field(converter=_args, validator=_checks.words())


@attrs.frozen(eq=False, repr=False)
class Pnpm(Step):
    """Run pnpm through Node's corepack (``corepack pnpm ...``): ``Pnpm("install
    --frozen-lockfile")``. Words as for :class:`Maven`."""

    args: tuple[str, ...] = attrs.field(converter=_args, validator=_checks.words())


@attrs.frozen(eq=False, repr=False)
class DockerBuild(Step):
    """``docker build`` of ``image`` from ``context`` (and ``dockerfile``, default
    ``<context>/Dockerfile``), tagged with the image's per-build reference.

    ``build_args`` (``--build-arg NAME=value``; ``$NAME`` in a value is expanded by the shell,
    as in tool steps, so a credential variable can be passed), ``target`` (a stage of a
    multi-stage Dockerfile), ``platform`` (``linux/amd64``), ``labels`` and ``no_cache`` are
    ``docker build``'s own options."""

    image: Image = attrs.field(validator=_checks.instance_of(Image))
    context: str = attrs.field(default=".", validator=_checks.text(multiline=False))
    dockerfile: str | None = attrs.field(
        default=None, validator=_checks.optional(_checks.text(multiline=False))
    )
    build_args: tuple[tuple[str, str], ...] = attrs.field(
        factory=tuple, kw_only=True, converter=_pairs, validator=_check_pairs
    )
    target: str | None = attrs.field(
        default=None,
        kw_only=True,
        validator=_checks.optional(_checks.matches(r"[A-Za-z0-9][A-Za-z0-9_.-]*", "a stage name")),
    )
    platform: str | None = attrs.field(
        default=None,
        kw_only=True,
        validator=_checks.optional(
            _checks.matches(
                r"[a-z0-9]+/[a-z0-9]+(/[a-z0-9]+)?(,[a-z0-9]+/[a-z0-9]+(/[a-z0-9]+)?)*",
                "a platform such as linux/amd64",
            )
        ),
    )
    labels: tuple[tuple[str, str], ...] = attrs.field(
        factory=tuple, kw_only=True, converter=_pairs, validator=_check_pairs
    )
    no_cache: bool = attrs.field(default=False, kw_only=True, validator=_checks.instance_of(bool))


@attrs.frozen(eq=False, repr=False)
class DockerPush(Step):
    """Log in to the image's registry with its username/password credential (password on
    stdin, inside ``withCredentials``), push the image, and log out.

    ``extra_tags`` (``["latest", "stable"]``) are pushed too, as further names of the same
    image; what is deployed stays the per-build reference. ``remove_local=True`` removes the
    image and its tags from the agent after the push (the agent's disk does not fill up)."""

    image: Image = attrs.field(validator=_checks.instance_of(Image))
    extra_tags: tuple[str, ...] = attrs.field(
        factory=tuple,
        kw_only=True,
        converter=_checks.str_tuple,
        validator=_checks.tuple_of(str),
    )
    remove_local: bool = attrs.field(
        default=False, kw_only=True, validator=_checks.instance_of(bool)
    )

    def __attrs_post_init__(self) -> None:
        for tag in self.extra_tags:
            if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}", tag):
                raise ModelError(
                    f"DockerPush.extra_tags: {tag!r} is not a Docker tag (letters, digits, "
                    "'_', '.', '-'; at most 128 characters)"
                )


@attrs.frozen(eq=False, repr=False)
class BuildkitImage(Step):
    """A ``DockerBuild`` (``push`` None) or ``DockerPush`` run by a Kubernetes pod agent's
    BuildKit container ``container`` (a generated step): ``build`` says how the image is built;
    a push builds it again from the pod's BuildKit cache and pushes it."""

    build: DockerBuild = attrs.field(validator=_checks.instance_of(DockerBuild))
    push: DockerPush | None = attrs.field(
        default=None, validator=_checks.optional(_checks.instance_of(DockerPush))
    )
    container: str = attrs.field(default="buildkit", kw_only=True)


@attrs.frozen(eq=False, repr=False)
class ShipFiles(Step):
    """Send workspace files to an SSH server's ``remote_directory`` (Publish Over SSH).

    ``files`` are Ant patterns relative to the workspace; ``remove_prefix`` is the folder part
    not to recreate on the server. ``shared_files`` (under ``shared_prefix``) are sent to the
    same folder after them: the project's objects shared with other components.
    """

    server: SshServer = attrs.field(validator=_checks.instance_of(SshServer))
    files: tuple[str, ...] = attrs.field(converter=_checks.str_tuple, validator=_checks.words())
    remote_directory: str = attrs.field(validator=_checks.text(multiline=False))
    remove_prefix: str = attrs.field(
        default="", validator=_checks.text(empty=True, multiline=False)
    )
    shared_files: tuple[str, ...] = attrs.field(
        factory=tuple,
        kw_only=True,
        converter=_checks.str_tuple,
        validator=_checks.words(non_empty=False),
    )
    shared_prefix: str = attrs.field(
        default="", kw_only=True, validator=_checks.text(empty=True, multiline=False)
    )


@attrs.frozen(eq=False, repr=False)
class Rollout(CachedRecord):
    """After ``kubectl apply``: point a Deployment's container at the image this build pushed
    and wait for the rollout, failing the stage when it does not complete in ``timeout``."""

    deployment: str = attrs.field(
        validator=_checks.matches(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?", "a Kubernetes object name")
    )
    container: str = attrs.field(validator=k8s.NAME)
    image: Image = attrs.field(validator=_checks.instance_of(Image))
    namespace: str | None = attrs.field(
        default=None, kw_only=True, validator=_checks.optional(k8s.NAME)
    )
    timeout_seconds: int = attrs.field(default=300, kw_only=True, validator=_checks.positive_int)
    kind: str = attrs.field(
        default="deployment",
        kw_only=True,
        validator=_checks.one_of(("deployment", "statefulset", "job", "cronjob")),
    )
    """What is rolled and waited for: a Deployment or StatefulSet rolls out, a Job is waited
    for until it completes, a CronJob only applied."""
    manifest: str | None = attrs.field(
        default=None,
        kw_only=True,
        validator=_checks.optional(_checks.matches(r"[A-Za-z0-9_.-]+\.yaml", "a file name")),
    )
    """The workload's manifest among the sent files. When given, the container's image is set
    in that file (``kubectl set image --local``, by container name) before it is applied, so
    the apply rolls straight onto the pushed image: one rollout, never one of a stale image."""


def _secrets(value: Iterable[Secret]) -> tuple[Secret, ...]:
    return _checks.to_tuple(value)  # type: ignore[return-value]


@attrs.frozen(eq=False, repr=False)
class ManifestFile(CachedRecord):
    """One rendered manifest a deploy applies: its path in the repository, its file name, and
    the namespace ``kubectl`` is told (the object's own; for a cluster-scoped object, that of
    the workload deployed)."""

    path: str
    name: str
    namespace: str


@attrs.frozen(eq=False, repr=False)
class WorkloadRef(CachedRecord):
    """A workload a deploy waits for: ``kind`` as ``kubectl`` names it (``deployment``,
    ``statefulset``: rolled out; ``job``: replaced, then waited for until it completes;
    ``cronjob``: applied), its name, namespace, and manifest file."""

    kind: str
    name: str
    namespace: str
    manifest: str


@attrs.frozen(eq=False, repr=False)
class Colours(CachedRecord):
    """The two Deployments of a blue/green deploy and the Service that selects one of them
    (by the ``app.kubernetes.io/name`` label, the Deployment's name)."""

    service: str
    service_file: str
    namespace: str
    blue: WorkloadRef
    green: WorkloadRef
    selector: tuple[tuple[str, str], ...] = ()
    """The Service's other selected labels, kept when the deploy switches colour."""


@attrs.frozen(eq=False, repr=False)
class Pin(CachedRecord):
    """The containers of one manifest file that run the pushed image (init containers
    included), set to it before the file is applied."""

    manifest: str
    containers: tuple[str, ...]


@attrs.frozen(eq=False, repr=False)
class DeployPlan(CachedRecord):
    """What every deploy target does, resolved from a component's runtime: apply exactly
    ``files`` (in order), after checking ``secrets`` exist and pinning every container that
    runs the pushed image (``pins``; ``container`` of the workload ``pinned`` is the one rolled
    out); then wait for every one of ``workloads``."""

    files: tuple[ManifestFile, ...]
    secrets: tuple[Secret, ...]
    pinned: WorkloadRef
    container: str
    workloads: tuple[WorkloadRef, ...]
    timeout_seconds: int = 300
    colours: Colours | None = None
    """Set for a blue/green deploy: ``pinned`` is then the blue Deployment, and the deploy
    picks the idle colour when it runs."""
    pins: tuple[Pin, ...] = ()
    """Every file with a container running the image; when empty, ``container`` of
    ``pinned`` alone."""

    @property
    def all_pins(self) -> tuple[Pin, ...]:
        return self.pins or (Pin(self.pinned.manifest, (self.container,)),)

    @property
    def jobs(self) -> tuple[WorkloadRef, ...]:
        """The Jobs it replaces and waits for."""
        return tuple(w for w in self.workloads if w.kind == "job")


@attrs.frozen(eq=False, repr=False)
class KubectlApply(Step):
    """Run ``kubectl apply -f`` on the files in ``remote_directory`` of an SSH server (where
    :class:`ShipFiles` sent them), then the optional :class:`Rollout`.

    Each of ``secrets`` is checked to exist first: the command fails, naming the Secret and how
    to create it, before anything is applied.
    """

    server: SshServer = attrs.field(validator=_checks.instance_of(SshServer))
    remote_directory: str = attrs.field(validator=_checks.text(multiline=False))
    rollout: Rollout | None = attrs.field(
        default=None, kw_only=True, validator=_checks.optional(_checks.instance_of(Rollout))
    )
    timeout_ms: int = attrs.field(default=600_000, kw_only=True, validator=_checks.positive_int)
    secrets: tuple[Secret, ...] = attrs.field(
        factory=tuple, kw_only=True, converter=_secrets, validator=_checks.tuple_of(Secret)
    )
    plan: DeployPlan | None = attrs.field(
        default=None, kw_only=True, validator=_checks.optional(_checks.instance_of(DeployPlan))
    )
    """Set when resolved from :class:`ApplyManifests`: the files, workloads and namespaces of
    the rendered manifests, deployed as every target deploys them (then ``rollout`` and
    ``secrets`` repeat what the plan says)."""


@attrs.frozen(eq=False, repr=False)
class ShipManifests(Step):
    """Send the component's own rendered manifests (``pipedsl render`` writes them under
    ``<generated_dir>/<project>/<component>/k8s/``) to ``remote_directory`` of ``server``.

    The file list and the prefix to strip are computed when the Jenkinsfile is rendered, from
    the same function that names the files, so they cannot drift apart.
    """

    server: SshServer = attrs.field(validator=_checks.instance_of(SshServer))
    remote_directory: str = attrs.field(validator=_checks.text(multiline=False))
    environment: str | None = attrs.field(
        default=None, kw_only=True, validator=_checks.optional(_checks.instance_of(str))
    )
    """The component's environment whose manifests are sent."""


@attrs.frozen(eq=False, repr=False)
class ApplyManifests(Step):
    """Apply the manifests :class:`ShipManifests` sent, and roll the component's workload onto
    the image this build pushed.

    Resolved when rendered into a :class:`KubectlApply`: the Secrets the runtime needs are
    checked first, the workload and container are those of the runtime that run the
    component's image, and the stage fails if the rollout does not finish in
    ``timeout_seconds``.
    """

    server: SshServer = attrs.field(validator=_checks.instance_of(SshServer))
    remote_directory: str = attrs.field(validator=_checks.text(multiline=False))
    timeout_seconds: int = attrs.field(default=300, kw_only=True, validator=_checks.positive_int)
    timeout_ms: int = attrs.field(default=600_000, kw_only=True, validator=_checks.positive_int)
    environment: str | None = attrs.field(
        default=None, kw_only=True, validator=_checks.optional(_checks.instance_of(str))
    )
    """The component's environment whose manifests are applied."""
