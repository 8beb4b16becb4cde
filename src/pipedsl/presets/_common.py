"""What the presets share: option checking and the image/deploy stages."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from typing import Any, ParamSpec, TypeVar

import attrs

from pipedsl.errors import ModelError
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
from pipedsl.model.k8s.runtime import Runtime, RuntimeSpec
from pipedsl.model.pipeline import Stage
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

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        unknown = sorted(set(kwargs) - set(signature.parameters))
        if unknown:
            raise ModelError(
                f"{function.__name__}: unknown option(s) {', '.join(unknown)}; "
                f"allowed: {', '.join(allowed)}"
            )
        try:
            signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise ModelError(f"{function.__name__}: {exc}") from None
        return function(*args, **kwargs)

    return wrapper


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
) -> list[Stage]:
    """Docker Build, Docker Push and, with a deploy target, the deploy: over SSH, Send
    Artifacts and Apply Deployment; to any other target, one Deploy stage.

    With a ``runtime`` the component's rendered manifests are sent (:class:`ShipManifests`) and
    applied, rolling the runtime's workload onto the pushed image (:class:`ApplyManifests`), or
    deployed to the target (:class:`DeployManifests`).
    Without one, the hand-written ``manifests`` are sent to ``remote_directory`` and applied
    from there; with ``deployment`` the Deployment's container ``name`` is pointed at the image
    this build pushed and the stage waits for the rollout.
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
        return [*stages, Stage("Deploy", [DeployManifests(deploy)])]
    target = remote_directory or f"k8s/{name}"
    if runtime is not None:
        return [
            *stages,
            Stage("Send Artifacts", [ShipManifests(deploy, target)]),
            Stage("Apply Deployment", [ApplyManifests(deploy, target)]),
        ]
    files = (
        (manifests,) if isinstance(manifests, str) else tuple(manifests or (f"{prefix}k8s/*.yaml",))
    )
    common = _common_prefix(files)
    rollout = Rollout(deployment, name, image) if deployment else None
    stages += [
        Stage("Send Artifacts", [ShipFiles(deploy, files, target, remove_prefix=common)]),
        Stage("Apply Deployment", [KubectlApply(deploy, target, rollout=rollout)]),
    ]
    return stages


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
    return gate + _deploy_stages(name, env, remote_directory)


def _deploy_stages(name: str, env: Environment, remote_directory: str | None) -> list[Stage]:
    target = env.deploy
    if isinstance(target, SshServer):
        folder = f"{remote_directory or f'k8s/{name}'}/{env.name}"
        return [
            Stage(
                f"Send Artifacts ({env.name})",
                [ShipManifests(target, folder, environment=env.name)],
            ),
            Stage(
                f"Apply Deployment ({env.name})",
                [ApplyManifests(target, folder, environment=env.name)],
            ),
        ]
    return [Stage(f"Deploy {env.name}", [DeployManifests(target, environment=env.name)])]


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
) -> Runtime | None:
    """The component's runtime: a :class:`RuntimeSpec` completed with its name and image."""
    if runtime is None:
        return None
    if manifests is not None or deployment is not None:
        raise ModelError(
            f"{function}: with runtime=, the manifests are rendered and the workload is known; "
            "drop manifests= and deployment="
        )
    if isinstance(runtime, RuntimeSpec):
        return runtime(name, image)
    if isinstance(runtime, Runtime):
        return runtime
    raise ModelError(
        f"{function}: runtime must be a Runtime or a runtime preset such as "
        f"spring_boot_service(...), got {runtime!r}"
    )
