"""What the presets share: option checking and the image/deploy stages."""

from __future__ import annotations

import contextlib
import functools
import inspect
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, ParamSpec, TypeVar

import attrs

from pipedsl.errors import ModelError
from pipedsl.model.agents import Agent
from pipedsl.model.deploy import (
    BlueGreen,
    DeployManifests,
    DeployTarget,
    Environment,
    GitOps,
    Kubectl,
    Restart,
)
from pipedsl.model.infra import Image, SshServer
from pipedsl.model.jobs import Triggers
from pipedsl.model.k8s.runtime import Runtime, RuntimeSpec
from pipedsl.model.notify import Notifier
from pipedsl.model.pipeline import Options, Pipeline, Stage, Tools
from pipedsl.model.project import Component
from pipedsl.model.steps import (
    ApplyManifests,
    Dir,
    DockerBuild,
    DockerPush,
    Echo,
    KubectlApply,
    Rollout,
    ShipFiles,
    ShipManifests,
    Step,
)

P = ParamSpec("P")
R = TypeVar("R")


def preset(function: Callable[P, R]) -> Callable[P, R]:
    """Refuse unknown options with a message listing the allowed ones (instead of Python's
    bare ``TypeError``), and wrong argument counts likewise."""
    signature = inspect.signature(function)
    allowed = [n for n, p in signature.parameters.items() if p.kind is p.KEYWORD_ONLY]
    fits = _arguments_check(signature)

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        unknown = sorted(set(kwargs) - set(signature.parameters))
        if unknown:
            raise ModelError(
                f"{function.__name__}: unknown option(s) {', '.join(unknown)}; "
                f"allowed: {', '.join(allowed)}"
            )
        if not fits(args, kwargs):
            try:
                signature.bind(*args, **kwargs)
            except TypeError as exc:
                raise ModelError(f"{function.__name__}: {exc}") from None
        with _as_argument(function.__name__, kwargs):
            result = function(*args, **kwargs)
        if isinstance(result, RuntimeSpec):
            # A runtime preset's objects are built later, with the component's name and image:
            # their errors too name the option the user wrote.
            inner = result.build

            def build(name: str, image: Image) -> Runtime:
                with _as_argument(function.__name__, kwargs):
                    return inner(name, image)

            result = attrs.evolve(result, build=build)
        return result

    return wrapper


def _arguments_check(
    signature: inspect.Signature,
) -> Callable[[tuple[Any, ...], Mapping[str, Any]], bool]:
    """A quick test that ``signature.bind(*args, **kwargs)`` succeeds, for arguments whose
    names are all parameters: it answers True only when it would (a project of a thousand
    components calls presets a thousand times, and binding was a tenth of loading it); a
    False is confirmed by binding, which also words the error."""
    params = list(signature.parameters.values())
    if any(p.kind not in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) for p in params):
        return lambda args, kwargs: False
    positional = [p.name for p in params if p.kind is p.POSITIONAL_OR_KEYWORD]
    required = [p.name for p in params if p.default is p.empty]

    def fits(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> bool:
        given = len(args)
        if given > len(positional) or any(name in kwargs for name in positional[:given]):
            return False
        taken = positional[:given]
        return all(name in kwargs or name in taken for name in required)

    return fits


_FIELD_ERROR = re.compile(r"(?P<field>[A-Z]\w*\.\w+): (?P<rest>.*)", re.S)


@contextlib.contextmanager
def _as_argument(function: str, options: Mapping[str, object]) -> Iterator[None]:
    """An error of an object a preset builds from an option names the option as the user wrote
    it (``spring_boot_service(port=99999): expected a port number 1-65535, got 99999 (as
    ContainerPort.number)``), not only the inner object's field."""
    try:
        yield
    except ModelError as error:
        message = str(error)
        found = _FIELD_ERROR.fullmatch(message)
        if found is None or "\n" in message:
            raise
        # Named only when one option alone holds the value the message shows.
        matching = [
            (option, value)
            for option, value in options.items()
            if isinstance(value, str | int | float) and message.endswith(f"got {value!r}")
        ]
        if len(matching) == 1:
            ((option, value),) = matching
            raise ModelError(
                f"{function}({option}={value!r}): {found.group('rest')} (as {found.group('field')})"
            ) from None
        raise ModelError(f"{function}: {message}") from None


def in_source(source: str, steps: Sequence[Step]) -> tuple[Step, ...]:
    """``steps``, run inside the component's source folder unless that is the repository root."""
    if source in (".", "./", ""):
        return tuple(steps)
    return (Dir(source.rstrip("/"), steps),)


def require(value: Any, kind: type, option: str, function: str) -> None:
    if not isinstance(value, kind):
        raise ModelError(f"{function}: {option} must be a {kind.__name__}, got {value!r}")


def delivery_stages(
    *,
    name: str,
    image: Image,
    source: str,
    deploy: DeployTarget | Sequence[Environment] | None,
    manifests: str | Sequence[str] | None,
    remote_directory: str | None,
    deployment: str | None,
    runtime: Runtime | None = None,
    container: str | None = None,
) -> list[Stage]:
    """Docker Build, Docker Push and, with a deploy target, the deploy: over SSH, Send
    Artifacts and Apply Deployment; to any other target, one Deploy stage.

    With a ``runtime`` the component's rendered manifests are sent (:class:`ShipManifests`) and
    applied, rolling the runtime's workload onto the pushed image (:class:`ApplyManifests`), or
    deployed to the target (:class:`DeployManifests`).
    Without one, the hand-written ``manifests`` are sent to ``remote_directory`` and applied
    from there; with ``deployment`` the Deployment's container ``container`` (default ``name``)
    is pointed at the image this build pushed and the stage waits for the rollout.
    """
    root = source.rstrip("/") if source not in (".", "./", "") else ""
    prefix = f"{root}/" if root else ""
    stages = [
        Stage("Docker Build", [DockerBuild(image, context=root or ".")]),
        Stage("Docker Push", [DockerPush(image)]),
    ]
    if deploy is None:
        return stages
    environments = environments_of(deploy)
    if environments:
        if runtime is None:
            raise ModelError(
                "deploy: environments deploy the component's runtime: give it runtime=..."
            )
        for env in environments:
            stages += _environment_stages(name, env, remote_directory)
        return stages
    if not isinstance(deploy, SshServer):
        if not isinstance(deploy, Kubectl | GitOps | Restart | BlueGreen):
            raise ModelError(
                "deploy: expected SshServer(...), Kubectl(...), GitOps(...), Restart(...), "
                f"BlueGreen(...) or a list of Environment(...), got {deploy!r}"
            )
        if runtime is None:
            raise ModelError(
                f"deploy: {deploy.label} deploys the component's rendered manifests: give it "
                "runtime=... (hand-written manifests are deployed over SSH only)"
            )
    if runtime is not None:
        return [*stages, *_deploy_stages(name, deploy, None, remote_directory)]
    assert isinstance(deploy, SshServer)  # noqa: S101  (the other targets need a runtime)
    target = remote_directory or f"k8s/{name}"
    files = (
        (manifests,) if isinstance(manifests, str) else tuple(manifests or (f"{prefix}k8s/*.yaml",))
    )
    common = _common_prefix(files)
    rolled = name if container is None else container
    rollout = Rollout(deployment, rolled, image) if deployment else None
    stages += [
        Stage("Send Artifacts", [ShipFiles(deploy, files, target, remove_prefix=common)]),
        Stage("Apply Deployment", [KubectlApply(deploy, target, rollout=rollout)]),
    ]
    return stages


def preset_component(
    name: str,
    stages: Sequence[Stage],
    *,
    tools: Tools,
    agent: Agent | None,
    notify: Notifier | Sequence[Notifier],
    image: Image,
    source: str,
    runtime: Runtime | None,
    deploy: object,
    branch: str | None,
    triggers: Triggers | None,
) -> Component:
    """The component a build preset returns: its stages on ``agent`` (any by default), with
    the checkout its first stage does (no implicit one) and one build at a time."""
    pipeline = Pipeline(
        stages,
        agent=agent or Agent.any(),
        tools=tools,
        options=Options(skip_default_checkout=True, disable_concurrent_builds=True),
    )
    return Component(
        name,
        pipeline,
        notify=notify,
        image=image,
        source=source,
        runtime=runtime,
        environments=environments_of(deploy),
        branch=branch,
        triggers=triggers,
    )


def environments_of(deploy: object) -> tuple[Environment, ...]:
    """The environments ``deploy=`` lists (none when it is one target)."""
    if isinstance(deploy, list | tuple):
        if not deploy or not all(isinstance(e, Environment) for e in deploy):
            raise ModelError(
                f"deploy: expected one target or a list of Environment(...), got {list(deploy)!r}"
            )
        return tuple(deploy)
    return ()


def _environment_stages(name: str, env: Environment, remote_directory: str | None) -> list[Stage]:
    """The stages that deploy the pushed image to ``env``: over SSH, Send Artifacts and Apply
    Deployment; to any other target, one Deploy stage (each named after the environment),
    after an Approve stage when the environment asks for an approval."""
    gate: list[Stage] = []
    if env.approval is not None:
        message = env.approval.message or f"Deploy {name} to {env.name}?"
        approval = attrs.evolve(env.approval, message=message)
        gate = [Stage(f"Approve {env.name}", [Echo(f"{env.name}: approved")], approval=approval)]
    return gate + _deploy_stages(name, env.deploy, env.name, remote_directory)


def _deploy_stages(
    name: str, target: DeployTarget, environment: str | None, remote_directory: str | None
) -> list[Stage]:
    """The stages that deploy the component's rendered manifests (of ``environment``, if it
    has environments) to ``target``: over SSH, Send Artifacts and Apply Deployment; to any
    other target, one Deploy stage. Stage names and the SSH folder carry the environment."""
    if isinstance(target, SshServer):
        folder = remote_directory or f"k8s/{name}"
        folder, suffix = (
            (f"{folder}/{environment}", f" ({environment})") if environment else (folder, "")
        )
        return [
            Stage(
                f"Send Artifacts{suffix}", [ShipManifests(target, folder, environment=environment)]
            ),
            Stage(
                f"Apply Deployment{suffix}",
                [ApplyManifests(target, folder, environment=environment)],
            ),
        ]
    stage = f"Deploy {environment}" if environment else "Deploy"
    return [Stage(stage, [DeployManifests(target, environment=environment)])]


def _common_prefix(patterns: Sequence[str]) -> str:
    """The folder all patterns share before any wildcard, so the server gets flat files."""
    folders = []
    for pattern in patterns:
        fixed = pattern.split("*", 1)[0]
        folders.append(fixed.rsplit("/", 1)[0] if "/" in fixed else "")
    first = folders[0]
    return first if all(f == first for f in folders) else ""


def build_runtime(
    function: str,
    name: str,
    image: Image,
    runtime: Runtime | RuntimeSpec | None,
    *,
    manifests: object,
    deployment: object,
    container: object = None,
) -> Runtime | None:
    """The component's runtime: a :class:`RuntimeSpec` completed with its name and image."""
    if runtime is None:
        return None
    if manifests is not None or deployment is not None or container is not None:
        raise ModelError(
            f"{function}: with runtime=, the manifests are rendered and the workload is known; "
            "drop manifests=, deployment= and container="
        )
    if isinstance(runtime, RuntimeSpec):
        return runtime(name, image)
    if isinstance(runtime, Runtime):
        return runtime
    raise ModelError(
        f"{function}: runtime must be a Runtime or a runtime preset such as "
        f"spring_boot_service(...), got {runtime!r}"
    )
