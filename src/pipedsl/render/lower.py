"""Tool steps to primitive steps: where every generated shell command is built and quoted."""

from __future__ import annotations

import functools
import re

from pipedsl.errors import RenderError
from pipedsl.model.deploy import DeployManifests, KubernetesDeploy
from pipedsl.model.infra import DOCKER_HUB, EcrRegistry, SshServer
from pipedsl.model.steps import (
    ApplyManifests,
    BuildkitImage,
    DockerBuild,
    DockerPush,
    Gradle,
    InContainer,
    KubectlApply,
    Maven,
    Npm,
    Pnpm,
    Sh,
    ShipFiles,
    ShipManifests,
    SshPublish,
    SshTransfer,
    Step,
    WithCredentials,
    Yarn,
)
from pipedsl.model.values import GString
from pipedsl.render.deploy import chain, deploy_commands, kubernetes_deploy, secret_check
from pipedsl.render.escape import sh_quote

REGISTRY_USER = "REGISTRY_USER"
REGISTRY_PASSWORD = "REGISTRY_PASSWORD"  # noqa: S105  (a variable name, not a password)


# The variable references a tool step's words may hold: ``$NAME`` and ``${NAME}``.
_VARIABLE = re.compile(r"\$(?:([A-Za-z_][A-Za-z0-9_]*)|\{([A-Za-z_][A-Za-z0-9_]*)\})")


def sh_word(word: str) -> str:
    """A shell word that the shell reads as ``word`` with each ``$NAME`` and ``${NAME}``
    replaced by that environment variable's value, as in double quotes (no word splitting, no
    globbing); everything else is literal: other ``$`` forms (``$(...)``, ``$1``, ``${X:-y}``),
    backquotes, globs, quotes and backslashes.

    >>> sh_word("-Dsonar.token=$SONAR_TOKEN")
    '-Dsonar.token="${SONAR_TOKEN}"'
    """
    parts = []
    end = 0
    for match in _VARIABLE.finditer(word):
        if match.start() > end:
            parts.append(sh_quote(word[end : match.start()]))
        parts.append('"${' + (match.group(1) or match.group(2)) + '}"')
        end = match.end()
    if end < len(word) or not parts:
        parts.append(sh_quote(word[end:]))
    return "".join(parts)


def _words(*words: str) -> str:
    return " ".join(sh_word(w) for w in words)


def maven(step: Maven) -> Sh:
    return Sh(("./mvnw " if step.wrapper else "mvn ") + _words(*step.flags, *step.goals))


def npm(step: Npm) -> Sh:
    return Sh("npm " + _words(*step.args))


def gradle(step: Gradle) -> Sh:
    # Through sh: the wrapper runs whether or not it is executable in the repository.
    return Sh(("sh ./gradlew " if step.wrapper else "gradle ") + _words(*step.flags, *step.tasks))


def yarn(step: Yarn) -> Sh:
    return Sh("corepack yarn " + _words(*step.args))


def pnpm(step: Pnpm) -> Sh:
    return Sh("corepack pnpm " + _words(*step.args))


def docker_build(step: DockerBuild) -> Sh:
    options = [f'-t "${step.image.var}"']
    if step.dockerfile:
        options.append(f"-f {sh_quote(step.dockerfile)}")
    if step.target:
        options.append(f"--target {sh_quote(step.target)}")
    if step.platform:
        options.append(f"--platform {sh_quote(step.platform)}")
    if step.no_cache:
        options.append("--no-cache")
    options += [f"--build-arg {sh_word(f'{name}={value}')}" for name, value in step.build_args]
    options += [f"--label {sh_quote(f'{name}={value}')}" for name, value in step.labels]
    return Sh(f"docker build {' '.join(options)} {sh_quote(step.context)}")


PRIVATE_DOCKER_CONFIG = (
    'DOCKER_CONFIG="$(mktemp -d)"',
    "export DOCKER_CONFIG",
    "trap 'rm -rf \"$DOCKER_CONFIG\"' EXIT",
    # An aborted build is ended with a signal: exit, so the EXIT trap removes the login too.
    "trap 'exit 143' HUP INT TERM",
)
"""A Docker config folder of the script's own, removed when the script ends (normally, on an
error or aborted), so a registry login written there outlives neither."""


def _buildctl(build: DockerBuild, names: list[str], *, push: bool) -> str:
    """``buildctl-daemonless.sh build`` of ``build`` to the image ``names`` (the first is the
    per-build reference variable), pushed or not."""
    dockerfile = build.dockerfile or f"{build.context.rstrip('/') or '.'}/Dockerfile"
    folder, _, filename = dockerfile.rpartition("/")
    options = [
        "--frontend dockerfile.v0",
        f"--local context={sh_quote(build.context)}",
        f"--local dockerfile={sh_quote(folder or '.')}",
        f"--opt filename={sh_quote(filename)}",
    ]
    if build.target:
        options.append(f"--opt target={sh_quote(build.target)}")
    if build.platform:
        options.append(f"--opt platform={sh_quote(build.platform)}")
    options += [f"--opt {sh_word(f'build-arg:{name}={value}')}" for name, value in build.build_args]
    options += [f"--opt {sh_quote(f'label:{name}={value}')}" for name, value in build.labels]
    if build.no_cache and not push:
        options.append("--no-cache")  # the push then builds from what this build made
    # One name: name=...; several: the list quoted inside the CSV value, as buildctl reads it.
    listed = ",".join(names)
    value = f"name={listed}" if len(names) == 1 else f'\\"name={listed}\\"'
    output = f'--output "type=image,{value},push={"true" if push else "false"}"'
    return f"buildctl-daemonless.sh build {' '.join(options)} {output}"


def buildkit_image(step: BuildkitImage) -> Step:
    """Build (or build and push) with the pod's rootless BuildKit, in its container. The push
    logs in through a Docker config of the step's own, written by shell builtins from the
    credential's variables (never on a command line) outside the build context, and removed
    when the script ends."""
    image = step.build.image
    names = [f"${{{image.var}}}"]
    if step.push is not None:
        names += [f"{image.repository.reference}:{tag}" for tag in step.push.extra_tags]
    command = _buildctl(step.build, names, push=step.push is not None)
    registry = image.repository.registry
    if step.push is None or registry.login is None:
        return InContainer(step.container, [Sh(command)])
    host = "https://index.docker.io/v1/" if registry.host == DOCKER_HUB else registry.host
    script = "\n".join(
        [
            # Jenkins runs sh with -x: the trace would print the encoded login, which its
            # masking (of the password itself) does not recognise.
            "set +x",
            *PRIVATE_DOCKER_CONFIG,
            f'AUTH="$(printf \'%s:%s\' "${REGISTRY_USER}" "${REGISTRY_PASSWORD}" | base64 | tr -d \'\\n\')"',
            f'printf \'{{"auths":{{"%s":{{"auth":"%s"}}}}}}\' {sh_quote(host)} "$AUTH" '
            '> "$DOCKER_CONFIG/config.json"',
            "unset AUTH",
            command,
        ]
    )
    return InContainer(
        step.container,
        [WithCredentials(registry.login, (REGISTRY_USER, REGISTRY_PASSWORD), [Sh(script)])],
    )


def docker_push(step: DockerPush) -> Step:
    registry = step.image.repository.registry
    host = "" if registry.host == DOCKER_HUB else " " + sh_quote(registry.host)
    image = f'"${step.image.var}"'
    names = [f"{step.image.repository.reference}:{tag}" for tag in step.extra_tags]
    push = " && ".join(
        [
            f"docker push {image}",
            *(f"docker tag {image} {sh_quote(n)} && docker push {sh_quote(n)}" for n in names),
            *(
                [f"docker rmi {image} {' '.join(sh_quote(n) for n in names)}".rstrip()]
                if step.remove_local
                else []
            ),
        ]
    )
    if isinstance(registry, EcrRegistry):
        return _ecr_push(registry, push)
    if registry.login is None:
        return Sh(push)
    script = "\n".join(
        [
            # A Docker config of this build's own: the login is never written where other jobs
            # on the agent could read it or log it out mid-push, and is gone when the script
            # ends, whatever happens.
            *PRIVATE_DOCKER_CONFIG,
            # The password goes through stdin, never on a command line; the Groovy string is
            # single-quoted so the shell, not Groovy, expands the variables.
            f'printf \'%s\' "${REGISTRY_PASSWORD}" | docker login -u "${REGISTRY_USER}" --password-stdin{host}',
            push,
        ]
    )
    return WithCredentials(registry.login, (REGISTRY_USER, REGISTRY_PASSWORD), [Sh(script)])


AWS_ACCESS_KEY_ID = "AWS_ACCESS_KEY_ID"
AWS_SECRET_ACCESS_KEY = "AWS_SECRET_ACCESS_KEY"  # noqa: S105  (a variable name, not a secret)


def _ecr_push(registry: EcrRegistry, push: str) -> Step:
    """Log in to ECR with a password the AWS CLI fetches (piped to ``docker login``, never on a
    command line), in a Docker config of the build's own, then push."""
    script = "\n".join(
        [
            *PRIVATE_DOCKER_CONFIG,
            f"aws ecr get-login-password --region {sh_quote(registry.region)} | docker login "
            f"--username AWS --password-stdin {sh_quote(registry.host)}",
            push,
        ]
    )
    if registry.aws is None:
        return Sh(script)
    return WithCredentials(registry.aws, (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY), [Sh(script)])


def remote_path(server: SshServer, directory: str) -> str:
    """Where a directory sent to ``server`` lands, as the remote shell should name it."""
    if server.remote_root is None:
        return directory
    return server.remote_root.rstrip("/") + "/" + directory


def ship_files(step: ShipFiles) -> SshPublish:
    transfers = [
        SshTransfer(
            source_files=",".join(step.files),
            remove_prefix=step.remove_prefix,
            remote_directory=step.remote_directory,
            clean_remote=True,
        )
    ]
    if step.shared_files:
        # Into the same folder, after the one that empties it.
        transfers.append(
            SshTransfer(
                source_files=",".join(step.shared_files),
                remove_prefix=step.shared_prefix,
                remote_directory=step.remote_directory,
            )
        )
    return SshPublish(step.server, transfers)


def kubectl_apply_command(step: KubectlApply) -> GString:
    """The remote command: check the Secrets the manifests need, apply the sent manifests, then
    roll the workload onto the image this build pushed and wait for it. ``&&`` makes the first
    failure the command's status, so ``sshPublisher`` fails the stage."""
    folder = f"cd {sh_quote(remote_path(step.server, step.remote_directory))}"
    if step.plan is not None and step.rollout is not None:
        # The component's rendered manifests: deployed as every target deploys them.
        return chain([folder, *deploy_commands(step.plan, step.rollout.image.env_ref)])
    rollout = step.rollout
    ns = f" -n {sh_quote(rollout.namespace)}" if rollout and rollout.namespace else ""
    commands: list[str | GString] = [
        folder,
        *(secret_check(secret) for secret in step.secrets),
        f"kubectl apply{ns} -f .",
    ]
    if rollout is not None and rollout.manifest is not None:
        image = rollout.image.env_ref
        file = sh_quote(rollout.manifest)
        pinned = sh_quote(rollout.manifest + ".pinned")
        commands[-1:-1] = [
            GString(
                f"kubectl set image --local -f {file} {rollout.container}=",
                image,
                f" -o yaml > {pinned}",
            ),
            f"mv {pinned} {file}",
        ]
    if rollout is not None:
        target = f"{rollout.kind}/{rollout.deployment}"
        if rollout.manifest is None:
            # Manifests pipedsl did not render cannot be pinned before they are applied: point
            # the workload at the pushed image afterwards (a second rollout, unavoidable here).
            commands.append(
                GString(
                    f"kubectl set image {target} {rollout.container}=",
                    rollout.image.env_ref,
                    ns,
                )
            )
        if rollout.kind == "job":
            commands.append(
                f"kubectl wait --for=condition=complete {target}{ns} "
                f"--timeout={rollout.timeout_seconds}s"
            )
        elif rollout.kind != "cronjob":
            commands.append(
                f"kubectl rollout status {target}{ns} --timeout={rollout.timeout_seconds}s"
            )
    return chain(commands)


def kubectl_apply(step: KubectlApply) -> SshPublish:
    transfer = SshTransfer(exec_command=kubectl_apply_command(step), exec_timeout=step.timeout_ms)
    return SshPublish(step.server, [transfer])


@functools.lru_cache(maxsize=65536)
def lower(step: Step) -> Step:
    """The primitive step(s) a tool step stands for; primitive steps are returned unchanged.
    (Steps are frozen values that repeat across stages and components: each is lowered once.)"""
    if isinstance(step, Maven):
        return maven(step)
    if isinstance(step, Npm):
        return npm(step)
    if isinstance(step, Gradle):
        return gradle(step)
    if isinstance(step, Yarn):
        return yarn(step)
    if isinstance(step, Pnpm):
        return pnpm(step)
    if isinstance(step, DockerBuild):
        return docker_build(step)
    if isinstance(step, DockerPush):
        return docker_push(step)
    if isinstance(step, BuildkitImage):
        return buildkit_image(step)
    if isinstance(step, ShipFiles):
        return ship_files(step)
    if isinstance(step, KubectlApply):
        return kubectl_apply(step)
    if isinstance(step, KubernetesDeploy):
        return kubernetes_deploy(step)
    if isinstance(step, ShipManifests | ApplyManifests | DeployManifests):
        # render_jenkinsfile resolves these against the rendered manifests first
        # (pipedsl.resolve.deploy.resolve_deploy_steps); validation makes sure it can.
        raise RenderError(f"{type(step).__name__} was not resolved against the rendered manifests")
    return step
