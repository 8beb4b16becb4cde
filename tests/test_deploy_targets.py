"""Deploy targets other than SSH, executed: the Deploy stage's shell, as Groovy hands it to
``sh``, runs in a real ``sh`` in a workspace holding the rendered files, against a recording
fake ``kubectl`` (tests/support/fake_kubectl.py), the real ``git`` with a local bare repository
standing in for the deploy repository, and a recording fake ``argocd``. Each target must keep
every deploy guarantee: exactly the rendered files, Secrets checked first, the pushed image
pinned before the apply, the namespace on every kubectl call, a wait on every workload, and a
failed step on any failure."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipedsl import (
    BlueGreen,
    Container,
    ContainerPort,
    Credential,
    Deployment,
    DeployTarget,
    GitOps,
    HorizontalPodAutoscaler,
    Kubectl,
    ModelError,
    Project,
    Registry,
    Resources,
    Restart,
    Runtime,
    Service,
    StatefulSet,
    load_project,
    render_project,
    spring_boot_backend,
    spring_boot_service,
    write_artifacts,
)
from tests.conftest import FIXTURE_PROJECTS
from tests.support import tally
from tests.support.declarative import DEFAULT_ENV, children, descendants
from tests.support.fake_kubectl import FAKE_KUBECTL, REAL_KUBECTL

PROJECT = "targets"
CONCURRENT_PUSH = r"""#!/bin/sh
# git, with one concurrent push from another clone just before the first push of a deploy.
if [ "$1" = "-c" ] || [ "$1" = "push" ]; then
  case " $* " in *" push "*)
    if [ ! -e "$FAKE_GIT_RACED" ]; then
      touch "$FAKE_GIT_RACED"
      other="$(mktemp -d)"
      "$REAL_GIT" clone --quiet "$FAKE_GIT_REMOTE" "$other/c" &&
      (cd "$other/c" && git checkout --quiet "$FAKE_GIT_BRANCH" &&
       echo concurrent > "concurrent.txt" && "$REAL_GIT" add concurrent.txt &&
       "$REAL_GIT" -c user.name=other -c user.email=o@x commit --quiet -m concurrent &&
       "$REAL_GIT" push --quiet origin "HEAD:$FAKE_GIT_BRANCH") || exit 99
    fi;;
  esac
fi
exec "$REAL_GIT" "$@"
"""
FAKE_ARGOCD = r"""#!/bin/sh
printf '%s|%s\n' "$ARGOCD_AUTH_TOKEN" "$*" >> "$FAKE_ARGOCD_LOG"
"""


def _deploy_script(pipeline: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """The Deploy stage's shell script and the credentials it is bound with, outermost first."""
    stages = children(next(iter(children(pipeline, "stages"))), "stage")
    (stage,) = [s for s in stages if s["args"][0] == "Deploy"]
    (sh,) = [n for n in descendants(stage) if n["name"] == "sh"]
    bindings = [n for n in descendants(stage) if n["name"] == "withCredentials"]
    script: str = sh["args"][0] if sh["args"] else sh["named"]["script"]
    return script, bindings


def _pushed(pipeline: dict[str, Any]) -> str:
    (env,) = children(pipeline, "environment")
    values = {n["args"][0]: n["args"][1] for n in env["children"]}
    image: str = values["IMAGE"]
    return image


class Agent:
    """A build agent's workspace with the rendered files, fake tools first on PATH."""

    def __init__(self, root: Path, project: Project) -> None:
        self.root = root
        self.workspace = root / "workspace"
        self.bin = root / "bin"
        self.state = root / "cluster.json"
        self.bin.mkdir(parents=True)
        write_artifacts(render_project(project), self.workspace / project.generated_dir)
        self._tool("kubectl", f"#!{sys.executable}\n{FAKE_KUBECTL}")
        self._tool("argocd", FAKE_ARGOCD)

    def _tool(self, name: str, text: str) -> None:
        path = self.bin / name
        path.write_text(text, encoding="utf-8")
        path.chmod(0o755)

    def run(self, script: str, image: str, **extra: str) -> subprocess.CompletedProcess[str]:
        env = {
            "PATH": f"{self.bin}{os.pathsep}{os.environ['PATH']}",
            "HOME": str(self.root),
            "FAKE_KUBECTL_STATE": str(self.state),
            "FAKE_ARGOCD_LOG": str(self.root / "argocd.log"),
            "IMAGE": image,
            "JOB_NAME": "targets/app",
            "BUILD_NUMBER": DEFAULT_ENV["BUILD_NUMBER"],
            "GIT_CONFIG_NOSYSTEM": "1",
            **extra,
        }
        if REAL_KUBECTL:
            env["REAL_KUBECTL"] = REAL_KUBECTL
        return subprocess.run(
            ["sh", "-c", script],
            cwd=self.workspace,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )

    @property
    def cluster(self) -> dict[str, Any]:
        if not self.state.exists():
            return {"calls": [], "live": {}, "rollouts": {}, "contexts": [], "kubeconfigs": []}
        data: dict[str, Any] = json.loads(self.state.read_text())
        return data


def _cluster_calls_name_their_namespace(calls: list[list[str]]) -> None:
    for call in calls:
        if "--local" in call:
            continue  # edits a file; contacts nothing
        assert "-n" in call, f"kubectl {' '.join(call)} names no namespace"


@pytest.mark.parametrize("component", ["kubeconfig", "incluster"])
def test_kubectl_deploys_exactly_the_pushed_image_with_every_guarantee(
    tmp_path: Path, projects: dict[str, Project], walked: dict[str, Any], component: str
) -> None:
    project = projects[PROJECT]
    pipeline = walked[f"{PROJECT}/{component}/Jenkinsfile"]
    script, bindings = _deploy_script(pipeline)
    pushed = _pushed(pipeline)
    namespace = "apps" if component == "kubeconfig" else "agents"
    agent = Agent(tmp_path, project)
    kubeconfig = str(tmp_path / "kubeconfig")
    secret = f"{namespace}/{component}-secrets"

    # A missing Secret fails the step, naming it, before anything is applied.
    failed = agent.run(script, pushed, KUBECONFIG=kubeconfig)
    assert failed.returncode != 0
    assert f"pipedsl: Secret {secret} is missing" in failed.stderr
    assert [c[0] for c in agent.cluster["calls"]] == ["get"]

    done = agent.run(script, pushed, KUBECONFIG=kubeconfig, FAKE_SECRETS=secret)
    assert done.returncode == 0, done.stderr
    cluster = agent.cluster
    key = f"deployment/{namespace}/{component}"
    # One rollout, straight onto the pushed image.
    assert cluster["rollouts"] == {key: [{component: pushed}]}
    applied = {k.split("/")[0] for k in cluster["live"]}
    assert applied == {"namespace", "configmap", "service", "deployment"}
    _cluster_calls_name_their_namespace(cluster["calls"])
    assert cluster["calls"][-1] == [
        "rollout",
        "status",
        f"deployment/{component}",
        "-n",
        namespace,
        "--timeout=300s",
    ]
    if component == "kubeconfig":
        assert [b["args"][0][0]["named"] for b in bindings] == [
            {"credentialsId": "kubeconfig-staging", "variable": "KUBECONFIG"}
        ]
        assert set(cluster["contexts"]) == {"staging"}
    else:
        assert bindings == []
        assert set(cluster["contexts"]) == {None}
    # The workspace's rendered files are untouched (the pin edits copies).
    rendered = agent.workspace / "generated" / PROJECT / component / "k8s"
    assert "{build}" in (rendered / f"50-deployment-{component}.yaml").read_text()

    # A failed rollout fails the step.
    again = agent.run(
        script, pushed, KUBECONFIG=kubeconfig, FAKE_SECRETS=secret, FAKE_ROLLOUT_FAILS="1"
    )
    assert again.returncode != 0
    assert "exceeded its progress deadline" in again.stderr
    tally.add("deploy target runs executed in a real sh", 3)


def test_restart_applies_then_restarts_and_waits(
    tmp_path: Path, projects: dict[str, Project], walked: dict[str, Any]
) -> None:
    pipeline = walked[f"{PROJECT}/docs/Jenkinsfile"]
    script, _ = _deploy_script(pipeline)
    agent = Agent(tmp_path, projects[PROJECT])
    done = agent.run(script, _pushed(pipeline), KUBECONFIG=str(tmp_path / "k"))
    assert done.returncode == 0, done.stderr
    calls = agent.cluster["calls"]
    _cluster_calls_name_their_namespace(calls)
    verbs = [c[:2] for c in calls]
    assert verbs[-2:] == [["rollout", "restart"], ["rollout", "status"]]
    assert ["set", "image"] not in verbs  # a fixed tag: nothing to pin
    key = "deployment/default/docs"
    assert agent.cluster["rollouts"][key] == [
        {"docs": "registry.example.com/team/docs:stable"},
        {"docs": "registry.example.com/team/docs:stable"},
    ]
    tally.add("deploy target runs executed in a real sh")


def test_blue_green_switches_the_service_only_after_the_idle_colour_rolled(
    tmp_path: Path, projects: dict[str, Project], artifacts: dict[str, Any], walked: dict[str, Any]
) -> None:
    pipeline = walked[f"{PROJECT}/colours/Jenkinsfile"]
    script, _ = _deploy_script(pipeline)
    first = _pushed(pipeline)
    agent = Agent(tmp_path, projects[PROJECT])
    env = {"KUBECONFIG": str(tmp_path / "k"), "FAKE_SECRETS": "apps/colours-secrets"}

    def selected() -> str:
        service = agent.cluster["live"]["service/apps/colours"]
        name: str = service["spec"]["selector"]["app.kubernetes.io/name"]
        return name

    def image(colour: str) -> str:
        live = agent.cluster["live"][f"deployment/apps/colours-{colour}"]
        (container,) = live["spec"]["template"]["spec"]["containers"]
        found: str = container["image"]
        return found

    # First deploy: no Service yet, so blue is idle; the Service is created selecting it.
    done = agent.run(script, first, **env)
    assert done.returncode == 0, done.stderr
    assert selected() == "colours-blue"
    assert image("blue") == first
    assert "deployment/apps/colours-green" not in agent.cluster["live"]
    _cluster_calls_name_their_namespace(agent.cluster["calls"])

    # The next build: green is idle; it rolls onto the new image, then the Service switches;
    # blue keeps running the previous image, and the rollback command is printed.
    second = first.replace(DEFAULT_ENV["BUILD_NUMBER"], "43")
    done = agent.run(script, second, **env)
    assert done.returncode == 0, done.stderr
    assert selected() == "colours-green"
    assert (image("green"), image("blue")) == (second, first)
    assert (
        "pipedsl: service apps/colours now selects colours-green; roll back with: "
        "kubectl -n apps set selector service/colours app.kubernetes.io/name=colours-blue"
    ) in done.stdout
    calls = agent.cluster["calls"]
    switch = max(
        i
        for i, c in enumerate(calls)
        if c[:2] == ["apply", "-n"] and "40-service-colours.yaml" in c
    )
    wait = max(
        i for i, c in enumerate(calls) if c[:3] == ["rollout", "status", "deployment/colours-green"]
    )
    assert wait < switch

    # A third build whose rollout fails: the Service stays on green, the live colour.
    third = first.replace(DEFAULT_ENV["BUILD_NUMBER"], "44")
    failed = agent.run(script, third, FAKE_ROLLOUT_FAILS="1", **env)
    assert failed.returncode != 0
    assert selected() == "colours-green"
    assert image("green") == second
    # The rendered Service and both colours' manifests are in the repository; only one colour
    # is applied per deploy.
    # (The namespace every target's runtime lives in is the project's, written once.)
    assert f"{PROJECT}/_shared/k8s/00-namespace-apps.yaml" in artifacts
    assert {p.rsplit("/", 1)[1] for p in artifacts if p.startswith(f"{PROJECT}/colours/k8s/")} == {
        "30-configmap-colours-config.yaml",
        "40-service-colours.yaml",
        "50-deployment-colours-blue.yaml",
        "50-deployment-colours-green.yaml",
    }
    tally.add("deploy target runs executed in a real sh", 3)


def _bare_repository(root: Path, branch: str, folder: str, manifest: str | None) -> Path:
    """A bare repository with one commit on ``branch`` (holding ``manifest`` at ``folder`` when
    given, and an unrelated file the deploy must keep)."""
    remote = root / "remote.git"
    seed = root / "seed"
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@x"]
    subprocess.run(["git", "init", "--quiet", "--bare", str(remote)], check=True)
    subprocess.run(["git", "init", "--quiet", "-b", branch, str(seed)], check=True)
    (seed / "README").write_text("deploy repository\n")
    if manifest is not None:
        (seed / folder).mkdir(parents=True)
        (seed / folder / Path(manifest).name).write_text(Path(manifest).read_text())
        (seed / folder / "stale.yaml").write_text("kind: Stale\n")
    subprocess.run([*git, "-C", str(seed), "add", "-A"], check=True)
    subprocess.run([*git, "-C", str(seed), "commit", "--quiet", "-m", "seed"], check=True)
    subprocess.run(
        [*git, "-C", str(seed), "push", "--quiet", str(remote), f"HEAD:{branch}"], check=True
    )
    return remote


@pytest.mark.parametrize("component", ["gitops", "imageonly"])
def test_gitops_commits_the_pinned_manifests_once_despite_a_concurrent_push(
    tmp_path: Path, projects: dict[str, Project], walked: dict[str, Any], component: str
) -> None:
    project = projects[PROJECT]
    pipeline = walked[f"{PROJECT}/{component}/Jenkinsfile"]
    script, bindings = _deploy_script(pipeline)
    pushed = _pushed(pipeline)
    agent = Agent(tmp_path / "agent", project)
    rendered = agent.workspace / "generated" / PROJECT / component / "k8s"
    url, branch = (
        ("https://github.com/acme/deploy.git", "main")
        if component == "gitops"
        else ("git@github.com:acme/deploy.git", "production")
    )
    folder = f"apps/{component}"
    workload = f"50-deployment-{component}.yaml"
    remote = _bare_repository(
        tmp_path, branch, folder, str(rendered / workload) if component == "imageonly" else None
    )
    config = tmp_path / "gitconfig"
    config.write_text(f'[url "{remote.as_uri()}"]\n\tinsteadOf = {url}\n')
    real_git = shutil.which("git")
    assert real_git is not None
    (agent.bin / "git").write_text(CONCURRENT_PUSH)
    (agent.bin / "git").chmod(0o755)
    done = agent.run(
        script,
        pushed,
        GIT_CONFIG_GLOBAL=str(config),
        REAL_GIT=real_git,
        FAKE_GIT_REMOTE=str(remote),
        FAKE_GIT_BRANCH=branch,
        FAKE_GIT_RACED=str(tmp_path / "raced"),
        GIT_USER="deployer",
        GIT_PASSWORD="unused-by-a-file-remote",  # noqa: S106  (a test value)
        GIT_SSH_KEY=str(tmp_path / "key"),
        ARGOCD_AUTH_TOKEN="argo-token",  # noqa: S106  (a test value)
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "raced").exists(), "the concurrent push did not happen"
    log = subprocess.run(
        ["git", "--git-dir", str(remote), "log", "--format=%s", branch],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    # Exactly one deploy commit, on top of the concurrent one: rebased, not duplicated.
    assert log == [
        f"Deploy {pushed} (targets/app #{DEFAULT_ENV['BUILD_NUMBER']})",
        "concurrent",
        "seed",
    ]
    listing = subprocess.run(
        ["git", "--git-dir", str(remote), "ls-tree", "--name-only", f"{branch}:{folder}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    if component == "gitops":
        # Its own manifests and the project's shared namespace it lives in: all it needs.
        own = [p.name for p in rendered.iterdir()]
        assert sorted(listing) == sorted([*own, "00-namespace-apps.yaml"])
    else:
        assert sorted(listing) == sorted([workload, "stale.yaml"])  # only the image changes
    shown = subprocess.run(
        ["git", "--git-dir", str(remote), "show", f"{branch}:{folder}/{workload}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    (container,) = yaml.safe_load(shown)["spec"]["template"]["spec"]["containers"]
    assert container["image"] == pushed
    assert agent.cluster["calls"] == [
        ["set", "image", "--local", "-f", workload, f"{component}={pushed}", "-o", "yaml"]
    ]
    argocd = tmp_path / "agent" / "argocd.log"
    if component == "gitops":
        lines = argocd.read_text().splitlines()
        assert [line.split("|")[0] for line in lines] == ["argo-token", "argo-token"]
        assert "app wait gitops" in lines[-1]
        assert "--sync --health" in lines[-1]
        assert {b["args"][0][0]["named"].get("credentialsId") for b in bindings} == {
            "deploy-repo",
            "argocd-token",
        }
    else:
        assert not argocd.exists()
    tally.add("deploy target runs executed in a real sh")


def test_gitops_fails_when_the_push_is_always_rejected(
    tmp_path: Path, projects: dict[str, Project], walked: dict[str, Any]
) -> None:
    pipeline = walked[f"{PROJECT}/gitops/Jenkinsfile"]
    script, _ = _deploy_script(pipeline)
    agent = Agent(tmp_path / "agent", projects[PROJECT])
    remote = _bare_repository(tmp_path, "main", "apps/gitops", None)
    hook = remote / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'protected branch' >&2\nexit 1\n")
    hook.chmod(0o755)
    config = tmp_path / "gitconfig"
    config.write_text(
        f'[url "{remote.as_uri()}"]\n\tinsteadOf = https://github.com/acme/deploy.git\n'
    )
    done = agent.run(script, _pushed(pipeline), GIT_CONFIG_GLOBAL=str(config))
    assert done.returncode != 0
    assert "pipedsl: the push was rejected 5 times" in done.stderr
    assert not (tmp_path / "agent" / "argocd.log").exists()


REGISTRY = Registry("registry.example.com", login=Credential.username_password("registry"))


def _component(tag: str, deploy: DeployTarget, runtime: bool = True) -> Project:
    image = REGISTRY.repository("team/app").tagged(tag)
    app = spring_boot_backend(
        "app",
        image=image,
        deploy=deploy,
        runtime=spring_boot_service(port=8080, health="/health") if runtime else None,
    )
    return Project("p", repository="https://github.com/acme/p.git", components=[app])


@pytest.mark.parametrize(
    ("tag", "deploy", "message"),
    [
        ("app-{build}", BlueGreen(Kubectl.in_cluster()), None),
        ("app-{build}", Restart(Kubectl.in_cluster()), "Restart re-pulls an image"),
        ("stable", Kubectl.in_cluster(), "is the same every build"),
    ],
)
def test_tags_and_targets_that_cannot_deploy_the_pushed_image_are_refused(
    tag: str, deploy: DeployTarget, message: str | None
) -> None:
    if message is None:  # the control: this one deploys
        assert render_project(_component(tag, deploy))
        return
    with pytest.raises(ModelError, match=message) as error:
        render_project(_component(tag, deploy))
    assert "components[app].image" in str(error.value)


def test_a_target_needs_a_runtime() -> None:
    with pytest.raises(ModelError, match=r"deploy: kubectl \(in-cluster service account\) deploys"):
        _component("app-{build}", Kubectl.in_cluster(), runtime=False)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Kubectl(Credential.secret_text("k")), "Credential.secret_file"),
        (lambda: Kubectl(context="x"), "in-cluster kubectl has none"),
        (
            lambda: GitOps("https://x/y.git", path="a", credential=Credential.secret_text("t")),
            "Credential.username_password",
        ),
        (
            lambda: GitOps("https://x/y.git", path="../a", credential=Credential.ssh_key("k")),
            "no '..'",
        ),
    ],
)
def test_targets_refuse_what_cannot_work(build: Any, message: str) -> None:
    with pytest.raises(ModelError, match=message):
        build()


def test_the_fixture_project_is_the_one_under_test() -> None:
    assert load_project(FIXTURE_PROJECTS / "deploy_targets.py").name == PROJECT


def _blue_green(kind: str) -> Project:
    image = REGISTRY.repository("team/app").tagged("app-{build}")
    http = ContainerPort("http", 8080)
    container = Container("app", image, ports=[http], resources=Resources(cpu="100m"))
    workload = (
        StatefulSet("app", [container]) if kind == "statefulset" else Deployment("app", [container])
    )
    objects: list[Any] = [workload]
    if kind != "no service":
        objects.append(Service(workload, ports=[http]))
    if kind == "autoscaled":
        objects.append(HorizontalPodAutoscaler(workload, max_replicas=3))
    app = spring_boot_backend(
        "app", image=image, deploy=BlueGreen(Kubectl.in_cluster()), runtime=Runtime(objects)
    )
    return Project("p", repository="https://github.com/acme/p.git", components=[app])


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("statefulset", "needs a Deployment, not a StatefulSet"),
        ("no service", "add a Service exposing this Deployment"),
        ("autoscaled", "an autoscaler cannot follow"),
    ],
)
def test_blue_green_refuses_what_it_cannot_switch(kind: str, message: str) -> None:
    with pytest.raises(ModelError, match=message) as error:
        render_project(_blue_green(kind))
    assert "components[app].runtime." in str(error.value)
