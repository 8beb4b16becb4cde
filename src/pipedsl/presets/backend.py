"""``spring_boot_backend``: the seed team's Maven backend pipeline, or the same with Gradle."""

from __future__ import annotations

from collections.abc import Sequence

from pipedsl.errors import ModelError
from pipedsl.model.agents import Agent
from pipedsl.model.deploy import DeployTarget, Environment
from pipedsl.model.infra import Image
from pipedsl.model.jobs import Triggers
from pipedsl.model.k8s.runtime import Runtime, RuntimeSpec
from pipedsl.model.notify import Notifier
from pipedsl.model.pipeline import Stage, Tool, Tools
from pipedsl.model.project import Component
from pipedsl.model.steps import Checkout, Gradle, Maven, Step
from pipedsl.presets._common import (
    build_runtime,
    delivery_stages,
    in_source,
    preset,
    preset_component,
    require,
)

BUILD_TOOLS = ("maven", "gradle")


@preset
def spring_boot_backend(
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
    maven: str | Tool | None = None,
    jdk: str | Tool | None = None,
    wrapper: bool | None = None,
    build: str = "maven",
    gradle: str | Tool | None = None,
    agent: Agent | None = None,
    runtime: Runtime | RuntimeSpec | None = None,
    branch: str | None = None,
    triggers: Triggers | None = None,
) -> Component:
    """A Spring Boot service built with Maven, pushed as a container image and deployed.

    Stages: Checkout, Project Clean, Project Compile, Project Test, Project Build (``mvn
    package``, tests already ran), Docker Build, Docker Push and, with ``deploy``, Send Artifacts
    (the Kubernetes manifests ``manifests``, default ``<source>/k8s/*.yaml``, to
    ``remote_directory``, default ``k8s/<name>``) and Apply Deployment (``kubectl apply``, then
    the Deployment ``deployment`` (default ``name``) is rolled onto the pushed image: its
    container ``container``, default ``name``).

    With ``runtime`` (:func:`~pipedsl.spring_boot_service` or a :class:`~pipedsl.Runtime`), the
    component's Kubernetes objects are rendered under ``generated/<project>/<name>/k8s/``; Send
    Artifacts ships exactly those files and Apply Deployment checks the Secrets they need,
    applies them with the pushed image already set, and waits for the rollout (see
    ``docs/manifests.md``). ``manifests``, ``deployment`` and ``container`` are then not
    needed.

    ``maven`` and ``jdk`` name tool installations in Jenkins (or are :class:`~pipedsl.Tool`
    values that also say how Jenkins installs them); without them ``mvn`` and ``java`` come from the
    agent's PATH. ``wrapper=True`` uses the project's ``./mvnw``.

    ``build="gradle"`` builds with Gradle instead: Project Clean (``clean``), Project Compile
    (``classes``), Project Test (``test``), Project Build (``bootJar``), through the project's
    ``./gradlew`` (run by ``sh``, so whether or not it is executable; ``wrapper=False`` runs the
    Gradle tool installation ``gradle``)::

        spring_boot_backend("backend", source="backend/", image=hub.tagged("backend-{build}"),
                            deploy=SshServer("master"), notify=slack)
    """
    require(image, Image, "image", "spring_boot_backend")
    cluster = build_runtime(
        "spring_boot_backend",
        name,
        image,
        runtime,
        manifests=manifests,
        deployment=deployment,
        container=container,
    )

    if build not in BUILD_TOOLS:
        raise ModelError(
            f"spring_boot_backend: build must be one of {', '.join(BUILD_TOOLS)}, got {build!r}"
        )
    if build == "maven" and gradle is not None:
        raise ModelError(
            "spring_boot_backend: gradle= names a Gradle installation: add build='gradle'"
        )
    if build == "gradle" and maven is not None:
        raise ModelError("spring_boot_backend: maven= is for build='maven'; use gradle=")
    steps: dict[str, Step]
    if build == "gradle":
        use = True if wrapper is None else wrapper
        steps = {
            stage: Gradle(task, wrapper=use)
            for stage, task in (
                ("Project Clean", "clean"),
                ("Project Compile", "classes"),
                ("Project Test", "test"),
                ("Project Build", "bootJar"),
            )
        }
        tools = Tools(gradle=gradle, jdk=jdk)
    else:
        use = bool(wrapper)
        steps = {
            stage: Maven(goals, wrapper=use)
            for stage, goals in (
                ("Project Clean", "clean"),
                ("Project Compile", "compile"),
                ("Project Test", "test"),
                ("Project Build", "package -DskipTests"),
            )
        }
        tools = Tools(maven=maven, jdk=jdk)

    stages = [
        Stage("Checkout", [Checkout()]),
        *(Stage(stage, in_source(source, [step])) for stage, step in steps.items()),
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
        tools=tools,
        agent=agent,
        notify=notify,
        image=image,
        source=source,
        runtime=cluster,
        deploy=deploy,
        branch=branch,
        triggers=triggers,
    )
