"""Where a pipeline or a stage runs: any agent, agents with a label, a Docker container, or a
pod the Jenkins kubernetes plugin starts per build from typed containers (no YAML strings),
with a daemonless image builder instead of the host's docker.sock."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import attrs

from pipedsl.errors import ModelError
from pipedsl.model import _checks
from pipedsl.model.credentials import Credential
from pipedsl.model.infra import must_be_username_password
from pipedsl.model.k8s import _checks as k8s
from pipedsl.model.k8s.workloads import Resources, check_pinned
from pipedsl.record import CachedRecord

AGENT_CONTAINER = "jnlp"
"""The container the kubernetes plugin runs the Jenkins agent in (added when a pod has none)."""


def _pinned_image(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    check_pinned(
        instance,
        attribute,
        value,
        expected="an image with an explicit tag such as 'maven:3.9.9-eclipse-temurin-21'",
        moves="between builds",
    )


def _check_env(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, tuple):
        raise _checks.fail(instance, attribute, "expected a mapping of variable name to value")
    seen: set[str] = set()
    for pair in value:
        if not (isinstance(pair, tuple) and len(pair) == 2 and isinstance(pair[1], str)):
            raise _checks.fail(instance, attribute, "expected a mapping of name to a string")
        _checks.ENV_NAME(instance, attribute, pair[0])
        _checks.carriable(instance, attribute, pair[1])
        if pair[0] in seen:
            raise _checks.fail(instance, attribute, f"variable {pair[0]!r} is set twice")
        seen.add(pair[0])


@attrs.frozen(eq=False, repr=False)
class PodContainer(CachedRecord):
    """A container of a Kubernetes pod agent: ``PodContainer("maven",
    "maven:3.9.9-eclipse-temurin-21", resources=Resources(cpu="1", memory="2Gi"))``.

    Steps run in it inside ``InContainer(name, [...])`` (or all of a stage's steps when it is
    the agent's ``default_container``). Without ``command`` it is kept running with ``cat`` on
    a terminal, as the kubernetes plugin expects (an image's own entrypoint would exit or serve
    instead); a ``command`` must keep running too. ``env`` values are plain strings: secrets
    come from Jenkins credentials in the steps, never from the pod.
    """

    name: str = attrs.field(validator=k8s.NAME)
    image: str = attrs.field(validator=_pinned_image)
    command: tuple[str, ...] = attrs.field(
        factory=tuple,
        kw_only=True,
        converter=_checks.str_tuple,
        validator=_checks.words(non_empty=False),
    )
    resources: Resources | None = attrs.field(
        default=None, kw_only=True, validator=_checks.optional(_checks.instance_of(Resources))
    )
    env: tuple[tuple[str, str], ...] = attrs.field(
        factory=tuple, kw_only=True, converter=_checks.pairs, validator=_check_env
    )


@attrs.frozen(eq=False, repr=False)
class BuildKit(CachedRecord):
    """A daemonless image builder for Kubernetes pod agents: BuildKit rootless, in a container
    of its own. ``DockerBuild`` and ``DockerPush`` steps on such an agent build and push with it
    (``buildctl-daemonless.sh``): no Docker daemon, no host ``docker.sock`` (which is root on
    the node), not privileged. The build stage fills the pod's BuildKit cache; the push stage
    builds again from that cache (no step runs twice) and pushes the per-build reference, with
    the registry login written to a Docker config of the step's own, never on a command line.

    The container runs as user 1000 with seccomp and AppArmor unconfined (what rootless
    BuildKit needs to create its user namespace; the node must allow unprivileged user
    namespaces).
    """

    image: str = attrs.field(default="moby/buildkit:v0.16.0-rootless", validator=_pinned_image)
    name: str = attrs.field(default="buildkit", kw_only=True, validator=k8s.NAME)
    resources: Resources | None = attrs.field(
        default=None, kw_only=True, validator=_checks.optional(_checks.instance_of(Resources))
    )


def _containers(value: PodContainer | Iterable[PodContainer]) -> tuple[PodContainer, ...]:
    return (value,) if isinstance(value, PodContainer) else tuple(value)


_LABEL_KEY = re.compile(
    r"([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
)
_LABEL_VALUE = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?")


def _check_node_selector(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, tuple):
        raise _checks.fail(instance, attribute, "expected a mapping of node label to value")
    for pair in value:
        if not (
            isinstance(pair, tuple)
            and len(pair) == 2
            and isinstance(pair[0], str)
            and isinstance(pair[1], str)
            and _LABEL_KEY.fullmatch(pair[0])
            and _LABEL_VALUE.fullmatch(pair[1])
        ):
            raise _checks.fail(
                instance,
                attribute,
                f"{pair!r}: expected a node label and value such as "
                "('kubernetes.io/arch', 'amd64')",
            )


@attrs.frozen(eq=False, repr=False)
class KubernetesPod(CachedRecord):
    """A pod the kubernetes plugin starts for a build (or a stage) and removes after it.

    ``containers`` run the steps (``InContainer``); the plugin adds the agent's own ``jnlp``
    container. ``builder`` adds a daemonless image builder (:class:`BuildKit`).
    ``default_container`` runs a stage's steps there without ``InContainer`` (checkouts still
    run in the agent container, which has ``git``). ``cloud``, ``namespace`` and
    ``service_account`` are the plugin's; ``inherit_from`` names a pod template an
    administrator configured on Jenkins — nothing is inherited unless it is given.
    """

    containers: tuple[PodContainer, ...] = attrs.field(
        factory=tuple, converter=_containers, validator=_checks.tuple_of(PodContainer)
    )
    builder: BuildKit | None = attrs.field(
        default=None, kw_only=True, validator=_checks.optional(_checks.instance_of(BuildKit))
    )
    default_container: str | None = attrs.field(
        default=None, kw_only=True, validator=_checks.optional(k8s.NAME)
    )
    cloud: str | None = attrs.field(
        default=None, kw_only=True, validator=_checks.optional(_checks.text(multiline=False))
    )
    namespace: str | None = attrs.field(
        default=None, kw_only=True, validator=_checks.optional(k8s.NAME)
    )
    service_account: str | None = attrs.field(
        default=None, kw_only=True, validator=_checks.optional(k8s.NAME)
    )
    inherit_from: str | None = attrs.field(
        default=None, kw_only=True, validator=_checks.optional(_checks.text(multiline=False))
    )
    node_selector: tuple[tuple[str, str], ...] = attrs.field(
        factory=tuple, kw_only=True, converter=_checks.pairs, validator=_check_node_selector
    )

    def __attrs_post_init__(self) -> None:
        given = [c.name for c in self.containers]
        given += [self.builder.name] if self.builder is not None else []
        repeated = sorted({n for n in given if given.count(n) > 1})
        if repeated:
            raise ModelError(f"KubernetesPod.containers: names repeat: {repeated}")
        if self.builder is not None and self.builder.name == AGENT_CONTAINER:
            raise ModelError(f"BuildKit.name: {AGENT_CONTAINER!r} is the agent's own container")
        if (
            self.default_container is not None
            and self.default_container not in self.container_names()
        ):
            raise ModelError(
                f"KubernetesPod.default_container: no container {self.default_container!r}; "
                f"the pod has {self.container_names()}"
            )

    def container_names(self) -> list[str]:
        """Every container a step may run in: the agent's, the given ones, the builder."""
        names = [c.name for c in self.containers]
        names += [self.builder.name] if self.builder is not None else []
        return names if AGENT_CONTAINER in names else [AGENT_CONTAINER, *names]


_DOCKER_ARG = re.compile(r"[A-Za-z0-9_./:=@,+%-]+")


# `docker run` options that hand the container the agent's host: the Docker socket or any host
# path (bind mounts), host namespaces, devices, extra capabilities, no confinement.
_HOST_OPTIONS = re.compile(
    r"--privileged(=true)?|--cap-add(=.*)?|--device(=.*)?|--security-opt(=.*)?"
    r"|--(pid|ipc|uts|userns|net|network)=host"
)


def _host_paths(words: tuple[str, ...]) -> str | None:
    """The first word that mounts a path of the agent's host, if any."""
    for index, word in enumerate(words):
        value = None
        if word in ("-v", "--volume", "--mount") and index + 1 < len(words):
            value = words[index + 1]
        elif word.startswith(("-v=", "--volume=", "--mount=")):
            value = word.split("=", 1)[1]
        if value is None:
            continue
        if word.startswith("--mount"):
            if "type=bind" in value.split(","):
                return value
        elif value.split(":", 1)[0].startswith(("/", ".", "~", "$")):
            return value
    return None


def _docker_args(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    _checks.tuple_of(str)(instance, attribute, value)
    assert isinstance(value, tuple)  # noqa: S101  (checked above)
    for word in value:
        if not _DOCKER_ARG.fullmatch(word):
            raise _checks.fail(
                instance,
                attribute,
                f"{word!r}: one `docker run` word per item, of letters, digits and "
                "_ . / : = @ , + % -",
            )
        if _HOST_OPTIONS.fullmatch(word):
            raise _checks.fail(
                instance,
                attribute,
                f"{word!r} gives the build the agent's host (root on it); build images on the "
                "agent itself or with a Kubernetes pod's BuildKit builder",
            )
    mounted = _host_paths(value)
    if mounted is not None:
        raise _checks.fail(
            instance,
            attribute,
            f"{mounted!r} mounts a path of the agent's host (the Docker socket among them would "
            "give the build root on it); use a named volume (-v cache:/root/.npm)",
        )


@attrs.frozen(eq=False, repr=False)
class DockerAgent(CachedRecord):
    """A Docker container on an agent with a Docker daemon (the docker-workflow plugin):
    the stage's steps run inside ``image``; ``label`` chooses the agent, ``args`` are extra
    ``docker run`` words (``["-v", "maven-cache:/root/.m2"]``), ``registry_url`` and
    ``registry_login`` pull from a private registry, ``always_pull`` pulls on every build, and
    ``reuse_node`` (on a stage) runs on the pipeline's agent and workspace."""

    image: str = attrs.field(validator=_pinned_image)
    label: str | None = attrs.field(
        default=None, kw_only=True, validator=_checks.optional(_checks.text(multiline=False))
    )
    args: tuple[str, ...] = attrs.field(
        factory=tuple, kw_only=True, converter=_checks.str_tuple, validator=_docker_args
    )
    registry_url: str | None = attrs.field(
        default=None,
        kw_only=True,
        validator=_checks.optional(
            _checks.matches(r"https?://[^\s'\"<>]+", "an http(s) URL of a registry")
        ),
    )
    registry_login: Credential | None = attrs.field(
        default=None, kw_only=True, validator=must_be_username_password
    )
    always_pull: bool = attrs.field(
        default=False, kw_only=True, validator=_checks.instance_of(bool)
    )
    reuse_node: bool = attrs.field(default=False, kw_only=True, validator=_checks.instance_of(bool))


@attrs.frozen(eq=False, repr=False)
class Agent(CachedRecord):
    """Where the pipeline (or a stage) runs: ``Agent.any()``, ``Agent.on("linux")``,
    ``Agent.none()`` (on a pipeline: each stage names its own), ``Agent.docker(image)`` or
    ``Agent.kubernetes(KubernetesPod(...))``."""

    label: str | None = attrs.field(
        default=None, validator=_checks.optional(_checks.text(multiline=False))
    )
    docker_agent: DockerAgent | None = attrs.field(
        default=None, kw_only=True, validator=_checks.optional(_checks.instance_of(DockerAgent))
    )
    pod: KubernetesPod | None = attrs.field(
        default=None, kw_only=True, validator=_checks.optional(_checks.instance_of(KubernetesPod))
    )
    is_none: bool = attrs.field(default=False, kw_only=True, validator=_checks.instance_of(bool))

    def __attrs_post_init__(self) -> None:
        given = [
            name
            for name, value in (
                ("label", self.label is not None),
                ("docker", self.docker_agent is not None),
                ("kubernetes", self.pod is not None),
                ("none", self.is_none),
            )
            if value
        ]
        if len(given) > 1:
            raise ModelError(f"Agent: give one of label, docker, kubernetes or none, not {given}")

    @classmethod
    def any(cls) -> Agent:
        return cls()

    @classmethod
    def on(cls, label: str) -> Agent:
        return cls(label)

    @classmethod
    def none(cls) -> Agent:
        """No agent for the pipeline: every stage says where it runs (``Stage(agent=...)``)."""
        return cls(is_none=True)

    @classmethod
    def docker(cls, image: str, **options: Any) -> Agent:
        """Run in a Docker container: ``Agent.docker("node:20.10-alpine", label="docker")``
        (the options of :class:`DockerAgent`)."""
        return cls(docker_agent=DockerAgent(image, **options))

    @classmethod
    def kubernetes(
        cls, pod: KubernetesPod | PodContainer | Iterable[PodContainer] = (), **options: Any
    ) -> Agent:
        """Run in a pod the kubernetes plugin starts per build: ``Agent.kubernetes(
        [PodContainer("jdk", "eclipse-temurin:21-jdk")], builder=BuildKit())`` (containers and
        the options of :class:`KubernetesPod`, or a whole ``KubernetesPod``)."""
        if isinstance(pod, KubernetesPod):
            if options:
                raise ModelError(
                    "Agent.kubernetes: give a KubernetesPod or containers with options, not both"
                )
            return cls(pod=pod)
        return cls(pod=KubernetesPod(_containers(pod), **options))

    @property
    def kind(self) -> str:
        """``any``, ``label``, ``docker``, ``kubernetes`` or ``none``."""
        if self.is_none:
            return "none"
        if self.pod is not None:
            return "kubernetes"
        if self.docker_agent is not None:
            return "docker"
        return "label" if self.label is not None else "any"
