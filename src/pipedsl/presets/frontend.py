"""Frontends built with a Node package manager: ``npm_frontend`` (the seed team's),
``pnpm_frontend`` and ``yarn_frontend``, all one pipeline."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from pipedsl.errors import ModelError
from pipedsl.model.agents import Agent
from pipedsl.model.deploy import DeployTarget, Environment
from pipedsl.model.infra import Image
from pipedsl.model.jobs import Triggers
from pipedsl.model.k8s.runtime import Runtime, RuntimeSpec
from pipedsl.model.notify import Notifier
from pipedsl.model.pipeline import Stage, Tool, Tools
from pipedsl.model.project import Component
from pipedsl.model.steps import Checkout, Npm, Pnpm, Step, Yarn
from pipedsl.presets._common import (
    build_runtime,
    delivery_stages,
    in_source,
    preset,
    preset_component,
    require,
)

PACKAGE_MANAGERS: dict[str, Callable[[str], Step]] = {"npm": Npm, "pnpm": Pnpm, "yarn": Yarn}
DEFAULT_INSTALL = {
    "npm": "install",
    "pnpm": "install --frozen-lockfile",
    "yarn": "install --immutable",
}


@preset
def npm_frontend(
    name: str,
    *,
    image: Image,
    source: str = ".",
    deploy: DeployTarget | Sequence[Environment] | None = None,
    notify: Notifier | Sequence[Notifier] = (),
    manifests: str | Sequence[str] | None = None,
    remote_directory: str | None = None,
    deployment: str | None = None,
    container: str | None = None,
    install: str | None = None,
    test: str | None = "run test",
    build: str = "run build",
    nodejs: str | Tool | None = None,
    agent: Agent | None = None,
    runtime: Runtime | RuntimeSpec | None = None,
    branch: str | None = None,
    triggers: Triggers | None = None,
    package_manager: str = "npm",
) -> Component:
    """A frontend built with npm (the build writes ``dist/``), served from a container image.

    Stages: Checkout, Install Dependencies (``npm install``; ``install="ci"`` for a lockfile
    install), Project Test (``npm run test``; ``test=None`` drops it), Project Build (``npm run
    build``), Docker Build, Docker Push and, with ``deploy``, Send Artifacts and Apply
    Deployment as in :func:`~pipedsl.presets.spring_boot_backend`, including ``runtime``
    (typically :func:`~pipedsl.nginx_frontend`). ``nodejs`` names a NodeJS tool installation in
    Jenkins (or is a :class:`~pipedsl.Tool` that also says how Jenkins installs it).

    ``package_manager="pnpm"`` or ``"yarn"`` runs that manager through Node's corepack (the
    version the project's ``packageManager`` field pins) with the same stages; Install
    Dependencies then defaults to a lockfile install (``install --frozen-lockfile``,
    ``install --immutable``). :func:`pnpm_frontend` and :func:`yarn_frontend` say it shorter.
    """
    if package_manager not in PACKAGE_MANAGERS:
        raise ModelError(
            f"npm_frontend: package_manager must be one of {', '.join(PACKAGE_MANAGERS)}, "
            f"got {package_manager!r}"
        )
    run = PACKAGE_MANAGERS[package_manager]
    install = install if install is not None else DEFAULT_INSTALL[package_manager]
    require(image, Image, "image", "npm_frontend")
    cluster = build_runtime(
        "npm_frontend",
        name,
        image,
        runtime,
        manifests=manifests,
        deployment=deployment,
        container=container,
    )
    stages = [
        Stage("Checkout", [Checkout()]),
        Stage("Install Dependencies", in_source(source, [run(install)])),
    ]
    if test is not None:
        stages.append(Stage("Project Test", in_source(source, [run(test)])))
    stages += [
        Stage("Project Build", in_source(source, [run(build)])),
        *delivery_stages(
            name=name,
            image=image,
            source=source,
            deploy=deploy,
            manifests=manifests,
            remote_directory=remote_directory,
            deployment=deployment or name,
            runtime=cluster,
            container=container,
        ),
    ]
    return preset_component(
        name,
        stages,
        tools=Tools(nodejs=nodejs),
        agent=agent,
        notify=notify,
        image=image,
        source=source,
        runtime=cluster,
        deploy=deploy,
        branch=branch,
        triggers=triggers,
    )


def _with_manager(manager: str) -> Callable[..., Component]:
    def frontend(name: str, **options: Any) -> Component:
        if "package_manager" in options:
            raise ModelError(
                f"{manager}_frontend: the package manager is {manager}; use npm_frontend(package_manager=...) to choose"
            )
        return npm_frontend(name, package_manager=manager, **options)

    frontend.__name__ = f"{manager}_frontend"
    frontend.__doc__ = (
        f":func:`npm_frontend` with ``package_manager={manager!r}``: ``corepack {manager} "
        f"{DEFAULT_INSTALL[manager]}``, ``run test``, ``run build``; every other option as there."
    )
    return frontend


pnpm_frontend = _with_manager("pnpm")
yarn_frontend = _with_manager("yarn")
