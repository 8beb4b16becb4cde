"""``npm_frontend``: the seed team's npm-built frontend pipeline."""

from __future__ import annotations

from collections.abc import Sequence

from pipedsl.model.deploy import DeployTarget, Environment
from pipedsl.model.infra import Image
from pipedsl.model.k8s.runtime import Runtime, RuntimeSpec
from pipedsl.model.notify import Notifier
from pipedsl.model.pipeline import Agent, Options, Pipeline, Stage, Tool, Tools
from pipedsl.model.project import Component
from pipedsl.model.steps import Checkout, Npm
from pipedsl.presets._common import (
    build_runtime,
    delivery_stages,
    environments_of,
    in_source,
    preset,
    require,
)


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
    install: str = "install",
    test: str | None = "run test",
    build: str = "run build",
    nodejs: str | Tool | None = None,
    agent: Agent | None = None,
    runtime: Runtime | RuntimeSpec | None = None,
) -> Component:
    """A frontend built with npm (the build writes ``dist/``), served from a container image.

    Stages: Checkout, Install Dependencies (``npm install``; ``install="ci"`` for a lockfile
    install), Project Test (``npm run test``; ``test=None`` drops it), Project Build (``npm run
    build``), Docker Build, Docker Push and, with ``deploy``, Send Artifacts and Apply
    Deployment as in :func:`~pipedsl.presets.spring_boot_backend`, including ``runtime``
    (typically :func:`~pipedsl.nginx_frontend`). ``nodejs`` names a NodeJS tool installation in
    Jenkins (or is a :class:`~pipedsl.Tool` that also says how Jenkins installs it).
    """
    require(image, Image, "image", "npm_frontend")
    cluster = build_runtime(
        "npm_frontend", name, image, runtime, manifests=manifests, deployment=deployment
    )
    stages = [
        Stage("Checkout", [Checkout()]),
        Stage("Install Dependencies", in_source(source, [Npm(install)])),
    ]
    if test is not None:
        stages.append(Stage("Project Test", in_source(source, [Npm(test)])))
    stages += [
        Stage("Project Build", in_source(source, [Npm(build)])),
        *delivery_stages(
            name=name,
            image=image,
            source=source,
            deploy=deploy,
            manifests=manifests,
            remote_directory=remote_directory,
            deployment=deployment or name,
            runtime=cluster,
        ),
    ]
    pipeline = Pipeline(
        stages,
        agent=agent or Agent.any(),
        tools=Tools(nodejs=nodejs),
        options=Options(skip_default_checkout=True, disable_concurrent_builds=True),
    )
    return Component(
        name,
        pipeline,
        notify=notify,
        image=image,
        source=source,
        runtime=cluster,
        environments=environments_of(deploy),
    )
