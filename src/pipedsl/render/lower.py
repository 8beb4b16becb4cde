"""Tool steps to primitive steps: where every generated shell command is built and quoted."""

from __future__ import annotations

from pipedsl.model.infra import DOCKER_HUB, Image, SshServer
from pipedsl.model.steps import (
    DockerBuild,
    DockerPush,
    KubectlApply,
    Maven,
    Npm,
    Sh,
    ShipFiles,
    SshPublish,
    SshTransfer,
    Step,
    WithCredentials,
)
from pipedsl.model.values import GString
from pipedsl.render.escape import sh_quote

REGISTRY_USER = "REGISTRY_USER"
REGISTRY_PASSWORD = "REGISTRY_PASSWORD"  # noqa: S105  (a variable name, not a password)


def _words(*words: str) -> str:
    return " ".join(sh_quote(w) for w in words)


def maven(step: Maven) -> Sh:
    return Sh(("./mvnw " if step.wrapper else "mvn ") + _words(*step.flags, *step.goals))


def npm(step: Npm) -> Sh:
    return Sh("npm " + _words(*step.args))


def docker_build(step: DockerBuild) -> Sh:
    dockerfile = f" -f {sh_quote(step.dockerfile)}" if step.dockerfile else ""
    return Sh(f'docker build -t "${step.image.var}"{dockerfile} {sh_quote(step.context)}')


def docker_push(step: DockerPush) -> Step:
    registry = step.image.repository.registry
    host = "" if registry.host == DOCKER_HUB else " " + sh_quote(registry.host)
    push = f'docker push "${step.image.var}"'
    if registry.login is None:
        return Sh(push)
    script = "\n".join(
        [
            # The password goes through stdin, never on a command line; the Groovy string is
            # single-quoted so the shell, not Groovy, expands the variables.
            f'printf \'%s\' "${REGISTRY_PASSWORD}" | docker login -u "${REGISTRY_USER}" --password-stdin{host}',
            push,
            f"docker logout{host}",
        ]
    )
    return WithCredentials(registry.login, (REGISTRY_USER, REGISTRY_PASSWORD), [Sh(script)])


def remote_path(server: SshServer, directory: str) -> str:
    """Where a directory sent to ``server`` lands, as the remote shell should name it."""
    if server.remote_root is None:
        return directory
    return server.remote_root.rstrip("/") + "/" + directory


def ship_files(step: ShipFiles) -> SshPublish:
    transfer = SshTransfer(
        source_files=",".join(step.files),
        remove_prefix=step.remove_prefix,
        remote_directory=step.remote_directory,
        clean_remote=True,
    )
    return SshPublish(step.server, [transfer])


def kubectl_apply_command(step: KubectlApply, image_ref: GString | None = None) -> GString:
    """The remote command: apply the sent manifests, then roll the Deployment onto the image
    this build pushed and wait for it. ``&&`` makes the first failure the command's status, so
    ``sshPublisher`` fails the stage."""
    commands: list[str | GString] = [
        f"cd {sh_quote(remote_path(step.server, step.remote_directory))}",
        "kubectl apply -f .",
    ]
    rollout = step.rollout
    if rollout is not None:
        ns = f" -n {sh_quote(rollout.namespace)}" if rollout.namespace else ""
        target = f"deployment/{rollout.deployment}"
        commands.append(
            GString(
                f"kubectl set image{ns} {target} {rollout.container}=",
                image_ref or rollout.image.env_ref,
            )
        )
        commands.append(f"kubectl rollout status{ns} {target} --timeout={rollout.timeout_seconds}s")
    parts: list[str | GString] = []
    for index, command in enumerate(commands):
        if index:
            parts.append(" && ")
        parts.append(command)
    return GString(*parts)


def kubectl_apply(step: KubectlApply) -> SshPublish:
    transfer = SshTransfer(exec_command=kubectl_apply_command(step), exec_timeout=step.timeout_ms)
    return SshPublish(step.server, [transfer])


def lower(step: Step) -> Step:
    """The primitive step(s) a tool step stands for; primitive steps are returned unchanged."""
    if isinstance(step, Maven):
        return maven(step)
    if isinstance(step, Npm):
        return npm(step)
    if isinstance(step, DockerBuild):
        return docker_build(step)
    if isinstance(step, DockerPush):
        return docker_push(step)
    if isinstance(step, ShipFiles):
        return ship_files(step)
    if isinstance(step, KubectlApply):
        return kubectl_apply(step)
    return step


def image_environment(images: list[Image]) -> dict[str, GString]:
    """The pipeline environment entries that fix each image's reference once per build."""
    return {image.var: image.reference() for image in images}
