"""The one deploy mechanism every target shares, as shell commands.

:func:`deploy_commands` is what runs in a folder holding exactly the rendered manifests: check
the Secrets the pods need (naming a missing one), pin the workload's container to the image
this build pushed (``kubectl set image --local``: the file is edited, nothing is contacted),
apply the files in order with an explicit namespace, and wait for every workload's rollout.
The SSH target runs it on the server (:func:`pipedsl.render.lower.kubectl_apply_command`), the
kubectl targets on the agent in a folder of copies (:func:`kubernetes_deploy`); the GitOps
target commits the pinned files instead of applying them. Commands are chained with ``&&``, so
the first failure fails the step.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from pipedsl.errors import RenderError
from pipedsl.model.deploy import GitOps, Kubectl, KubernetesDeploy, Restart
from pipedsl.model.k8s.config import Secret
from pipedsl.model.steps import Colours, DeployPlan, Sh, Step, WithCredentials
from pipedsl.model.values import GroovyExpr, GString
from pipedsl.render.escape import sh_quote

#: How the shell of a step on the agent reads the image reference: the pipeline's environment.
ImageWord = str | GroovyExpr

KUBECONFIG = "KUBECONFIG"
GIT_USER = "GIT_USER"
GIT_PASSWORD = "GIT_PASSWORD"  # noqa: S105  (a variable name, not a password)
GIT_SSH_KEY = "GIT_SSH_KEY"
ARGOCD_AUTH_TOKEN = "ARGOCD_AUTH_TOKEN"  # noqa: S105  (the variable the argocd CLI reads)
PUSH_ATTEMPTS = 5


def secret_check(secret: Secret, kubectl: str = "kubectl") -> str:
    """A command that fails, saying which Secret is missing and how to create it, unless the
    cluster holds ``secret``. Values are never read: only that the Secret exists."""
    message = (
        f"pipedsl: Secret {secret.namespace}/{secret.name} is missing; create it once with: "
        f"{secret.create_command()}"
    )
    get = f"{kubectl} get secret {sh_quote(secret.name)} -n {sh_quote(secret.namespace)}"
    # printf, not echo: some shells' echo would interpret backslashes in the text.
    report = f"printf '%s\\n' {sh_quote(message)} >&2"
    return f"{{ {get} >/dev/null || {{ {report}; false; }}; }}"


def _pin(
    file: str, pinned: str, containers: Sequence[str], image: ImageWord, kubectl: str
) -> list[str | GString]:
    """Set ``containers`` of the manifest ``file`` to ``image``, through the temporary file
    ``pinned`` (both shell words): ``kubectl set image --local`` edits, contacting nothing."""
    parts: list[str | ImageWord] = [f"{kubectl} set image --local -f {file}"]
    for name in containers:
        parts += [f" {name}=", image]
    parts.append(f" -o yaml > {pinned}")
    return [GString(*parts), f"mv {pinned} {file}"]


def pin_command(
    plan: DeployPlan, image: ImageWord, kubectl: str = "kubectl", *, skip: Sequence[str] = ()
) -> list[str | GString]:
    """Point every container that runs the pushed image (the plan's pins: the workload's, an
    init container's, a Job's or CronJob's), in the manifest files of the current folder, at
    ``image``; files in ``skip`` are left as they are."""
    commands: list[str | GString] = []
    for pin in plan.all_pins:
        if pin.manifest not in skip:
            file, pinned = sh_quote(pin.manifest), sh_quote(pin.manifest + ".pinned")
            commands += _pin(file, pinned, pin.containers, image, kubectl)
    return commands


def _job_replacements(plan: DeployPlan, kubectl: str) -> list[str]:
    """Delete the previous run of each Job: a Job's pods cannot be changed, so applying the
    new one over it would fail; the Job then runs afresh with the pushed image."""
    return [
        f"{kubectl} delete job {sh_quote(job.name)} -n {sh_quote(job.namespace)} --ignore-not-found"
        for job in plan.jobs
    ]


def _job_waits(plan: DeployPlan, kubectl: str) -> list[str]:
    """Wait for each Job to complete; a Job that fails (or outlasts the timeout) fails the
    deploy, naming where its logs are."""
    commands = []
    for job in plan.jobs:
        ns = sh_quote(job.namespace)
        message = (
            f"pipedsl: Job {job.namespace}/{job.name} did not complete in "
            f"{plan.timeout_seconds}s; its logs: kubectl logs -n {job.namespace} job/{job.name}"
        )
        commands.append(
            f"{{ {kubectl} wait --for=condition=complete job/{sh_quote(job.name)} -n {ns} "
            f"--timeout={plan.timeout_seconds}s || "
            f"{{ printf '%s\\n' {sh_quote(message)} >&2; false; }}; }}"
        )
    return commands


def phased_apply(plan: DeployPlan, kubectl: str = "kubectl") -> list[str]:
    """Apply the plan's files in order; with Jobs among them, the files up to the last Job
    first, then wait for the Jobs to complete (a migration finishes before the workloads roll
    onto the code that needs it), then the rest."""
    if not plan.jobs:
        return apply_commands(plan, kubectl)
    job_files = {job.manifest for job in plan.jobs}
    last = max(i for i, f in enumerate(plan.files) if f.name in job_files)
    first = attrs.evolve(plan, files=plan.files[: last + 1])
    rest = attrs.evolve(plan, files=plan.files[last + 1 :])
    return [
        *_job_replacements(plan, kubectl),
        *apply_commands(first, kubectl),
        *_job_waits(plan, kubectl),
        *apply_commands(rest, kubectl),
    ]


def apply_commands(plan: DeployPlan, kubectl: str = "kubectl") -> list[str]:
    """``kubectl apply`` of the files in order, one call per run of files of one namespace,
    each naming its namespace."""
    runs: list[tuple[str, list[str]]] = []
    for file in plan.files:
        if runs and runs[-1][0] == file.namespace:
            runs[-1][1].append(file.name)
        else:
            runs.append((file.namespace, [file.name]))
    return [
        f"{kubectl} apply -n {sh_quote(namespace)} "
        + " ".join(f"-f {sh_quote(name)}" for name in names)
        for namespace, names in runs
    ]


ROLLED = ("deployment", "statefulset")


def wait_commands(plan: DeployPlan, kubectl: str = "kubectl") -> list[str]:
    """Wait for every workload's rollout, failing when one does not finish in time (Jobs are
    waited for when applied; a CronJob has nothing to wait for)."""
    return [
        f"{kubectl} rollout status {w.kind}/{w.name} -n {sh_quote(w.namespace)} "
        f"--timeout={plan.timeout_seconds}s"
        for w in plan.workloads
        if w.kind in ROLLED
    ]


def deploy_commands(
    plan: DeployPlan, image: ImageWord | None, kubectl: str = "kubectl", *, restart: bool = False
) -> list[str | GString]:
    """The deploy, run in a folder that holds exactly the plan's files (see the module
    docstring). ``image`` is None for a restart deploy: its image keeps its fixed tag, and the
    workloads are restarted to pull it again."""
    if plan.colours is not None and image is not None:
        return blue_green_commands(plan, plan.colours, image, kubectl)
    commands: list[str | GString] = [secret_check(s, kubectl) for s in plan.secrets]
    if image is not None:
        commands += pin_command(plan, image, kubectl)
    commands += phased_apply(plan, kubectl)
    if restart:
        commands += [
            f"{kubectl} rollout restart {w.kind}/{w.name} -n {sh_quote(w.namespace)}"
            for w in plan.workloads
            if w.kind in ROLLED
        ]
    commands += wait_commands(plan, kubectl)
    return commands


NAME_LABEL = "app.kubernetes.io/name"


def blue_green_commands(
    plan: DeployPlan, colours: Colours, image: ImageWord, kubectl: str = "kubectl"
) -> list[str | GString]:
    """A blue/green deploy: the idle colour is the one the live Service does not select (blue
    when there is no Service yet); its Deployment is pinned, applied and waited for with the
    other files (the other colour's file is not applied: it keeps running the previous
    image); only then is the Service pointed at it. The rollback command is printed."""
    blue, green = colours.blue, colours.green
    ns = sh_quote(colours.namespace)
    prefix = blue.name.removesuffix("-blue")
    live_query = (
        f"{kubectl} get service {sh_quote(colours.service)} -n {ns} "
        "-o 'jsonpath={.spec.selector.app\\.kubernetes\\.io/name}' 2>/dev/null"
    )
    file = f'"{_file_prefix(blue.manifest)}$idle.yaml"'
    skipped = {blue.manifest, green.manifest, colours.service_file}
    others = attrs.evolve(plan, files=tuple(f for f in plan.files if f.name not in skipped))
    service = sh_quote(colours.service_file)
    waits = [
        w for w in plan.workloads if w.name not in (blue.name, green.name) and w.kind in ROLLED
    ]
    idle_pin = next(p for p in plan.all_pins if p.manifest == blue.manifest)
    # `kubectl set selector` replaces the whole selector: the Service's other labels go too.
    kept = "".join(f",{key}={value}" for key, value in colours.selector)
    rollback = (
        f"pipedsl: service {colours.namespace}/{colours.service} now selects "
        f"{prefix}-%s; roll back with: kubectl -n {colours.namespace} set selector "
        f"service/{colours.service} {NAME_LABEL}={prefix}-%s{kept}\\n"
    )
    commands: list[str | GString] = [secret_check(s, kubectl) for s in plan.secrets]
    commands += [
        f'{{ live="$({live_query})" || live=; }}',
        f'{{ if [ "$live" = {sh_quote(blue.name)} ]; then idle=green; old=blue; '
        "else idle=blue; old=green; fi; }",
        *_pin(file, '"$idle.pinned"', idle_pin.containers, image, kubectl),
        *pin_command(plan, image, kubectl, skip=(blue.manifest, green.manifest)),
        *phased_apply(others, kubectl),
        f"{kubectl} apply -n {ns} -f {file}",
        f'{kubectl} rollout status "deployment/{prefix}-$idle" -n {ns} '
        f"--timeout={plan.timeout_seconds}s",
        *(
            f"{kubectl} rollout status {w.kind}/{w.name} -n {sh_quote(w.namespace)} "
            f"--timeout={plan.timeout_seconds}s"
            for w in waits
        ),
        f"{kubectl} set selector --local -f {service} "
        f'"{NAME_LABEL}={prefix}-$idle{kept}" -o yaml > service.pinned',
        f"mv service.pinned {service}",
        f"{kubectl} apply -n {ns} -f {service}",
        f'{{ [ -z "$live" ] || printf {sh_quote(rollback)} "$idle" "$old"; }}',
    ]
    return commands


def _file_prefix(blue_file: str) -> str:
    """``50-deployment-api-`` of ``50-deployment-api-blue.yaml``."""
    return blue_file.removesuffix("blue.yaml")


def chain(commands: Sequence[str | GString]) -> GString:
    """``commands`` joined with ``&&``: the first failure is the status of the whole."""
    parts: list[str | GString] = []
    for index, command in enumerate(commands):
        if index:
            parts.append(" && ")
        parts.append(command)
    return GString(*parts)


def _in_copies(plan: DeployPlan) -> list[str]:
    """Copy exactly the plan's rendered files into a fresh folder (removed when the script
    ends) and go there: the workspace's files stay as rendered, and nothing else is applied."""
    files = " ".join(sh_quote(f.path) for f in plan.files)
    return [
        'work="$(mktemp -d)"',
        "trap 'rm -rf \"$work\"' EXIT",
        f'cp -- {files} "$work/"',
        'cd "$work"',
    ]


def _kubectl(target: Kubectl) -> str:
    return "kubectl" + (f" --context {sh_quote(target.context)}" if target.context else "")


def _with_kubeconfig(target: Kubectl, step: Step) -> Step:
    if target.kubeconfig is None:
        return step
    return WithCredentials(target.kubeconfig, (KUBECONFIG,), [step])


def _script(commands: Sequence[str | GString]) -> str:
    text = chain(commands)
    if any(not isinstance(p, str) for p in text.parts):
        raise RenderError("a deploy run on the agent reads the image from its environment")
    return "".join(p for p in text.parts if isinstance(p, str))


# A credential helper that answers git with the bound username and password: the values stay
# in the environment, never on a command line or in a file.
_HELPER = (
    """helper='!f() { printf "username=%s\\npassword=%s\\n" "$GIT_USER" "$GIT_PASSWORD"; }; f'"""
)


def _gitops_commands(target: GitOps, plan: DeployPlan, image: str) -> list[str | GString]:
    folder = target.path.rstrip("/")
    inside = f'"$work/repo/"{sh_quote(folder)}'
    branch = sh_quote(target.branch)
    if target.credential.kind == "username_password":
        auth = [_HELPER]
        git = 'git -c credential.helper= -c credential.helper="$helper"'
    else:
        auth = [
            'export GIT_SSH_COMMAND="ssh -i \\"$GIT_SSH_KEY\\" -o IdentitiesOnly=yes '
            '-o StrictHostKeyChecking=accept-new"'
        ]
        git = "git"
    commands: list[str | GString] = [
        'work="$(mktemp -d)"',
        "trap 'rm -rf \"$work\"' EXIT",
        *auth,
        f'{git} clone --quiet --branch {branch} -- {sh_quote(target.repository)} "$work/repo"',
    ]
    if target.update == "manifests":
        files = " ".join(sh_quote(f.path) for f in plan.files)
        commands += [f"rm -rf -- {inside}", f"mkdir -p -- {inside}", f"cp -- {files} {inside}/"]
    else:
        for pin in plan.all_pins:
            missing = (
                f"pipedsl: {folder}/{pin.manifest} is not in {target.repository} "
                f"({target.branch}); update='image' changes only a manifest already there"
            )
            commands.append(
                f"{{ test -f {inside}/{sh_quote(pin.manifest)} || "
                f"{{ printf '%s\\n' {sh_quote(missing)} >&2; false; }}; }}"
            )
    message = f'"Deploy ${{{image}}} ($JOB_NAME #$BUILD_NUMBER)"'
    commands += [
        f"cd -- {inside}",
        *pin_command(plan, f'"${{{image}}}"'),
        'cd "$work/repo"',
        # The identity of the commit, and of its rebase onto a concurrent push.
        "git config user.name pipedsl",
        "git config user.email pipedsl@localhost",
        f"git add -A -- {sh_quote(folder)}",
        f"{{ git diff --cached --quiet || git commit --quiet -m {message}; }}",
        "attempt=1",
        f"until {git} push --quiet origin HEAD:{branch}; do "
        f'if [ "$attempt" -ge {PUSH_ATTEMPTS} ]; then '
        f"printf '%s\\n' 'pipedsl: the push was rejected {PUSH_ATTEMPTS} times' >&2; exit 1; fi; "
        "attempt=$((attempt + 1)); "
        f"{git} pull --quiet --rebase origin {branch} || exit 1; done",
    ]
    if target.argocd is not None:
        argo = target.argocd
        server = f"--server {sh_quote(argo.server)} --grpc-web"
        commands += [
            f"argocd app get {sh_quote(argo.application)} {server} --refresh >/dev/null",
            f"argocd app wait {sh_quote(argo.application)} {server} --sync --health "
            f"--timeout {argo.timeout_seconds}",
        ]
    return commands


def kubernetes_deploy(step: KubernetesDeploy) -> Step:
    """The steps a resolved deploy runs on the agent (see the module docstring)."""
    target, plan = step.target, step.plan
    image = f'"${{{step.image.var}}}"'
    if not isinstance(target, GitOps):
        # kubectl on the agent: plain, blue/green (the plan has the colours) or a restart (the
        # image keeps its fixed tag: nothing to pin).
        kubectl = target if isinstance(target, Kubectl) else target.kubectl
        restart = isinstance(target, Restart)
        commands = deploy_commands(
            plan, None if restart else image, _kubectl(kubectl), restart=restart
        )
        return _with_kubeconfig(kubectl, Sh(_script([*_in_copies(plan), *commands])))
    step_: Step = Sh(_script(_gitops_commands(target, plan, step.image.var)))
    if target.argocd is not None:
        step_ = WithCredentials(target.argocd.token, (ARGOCD_AUTH_TOKEN,), [step_])
    variables = (
        (GIT_USER, GIT_PASSWORD)
        if target.credential.kind == "username_password"
        else (GIT_SSH_KEY,)
    )
    return WithCredentials(target.credential, variables, [step_])
