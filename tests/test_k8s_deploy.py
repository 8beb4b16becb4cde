"""The deploy, executed: the Send Artifacts transfer is replayed into a fake server folder, and
the Apply Deployment command runs in a real ``sh`` there against a recording fake ``kubectl``.
The image running afterwards must be the tag the same build pushed, reached in one rollout."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pipedsl import (
    Artifact,
    Container,
    ContainerPort,
    Credential,
    Deployment,
    DockerHub,
    Project,
    Runtime,
    Secret,
    SshServer,
    mariadb,
    render_project,
    spring_boot_backend,
    write_artifacts,
)
from tests.support.declarative import DEFAULT_ENV, children, descendants, walk
from tests.support.fake_kubectl import FAKE_KUBECTL, REAL_KUBECTL


def _publishers(pipeline: dict[str, Any], stage: str) -> list[dict[str, Any]]:
    (node,) = [
        s
        for s in children(next(iter(children(pipeline, "stages"))), "stage")
        if s["args"][0] == stage
    ]
    (publisher,) = [n for n in descendants(node) if n["name"] == "sshPublisher"]
    (desc,) = publisher["named"]["publishers"]
    transfers: list[dict[str, Any]] = [t["named"] for t in desc["named"]["transfers"]]
    return transfers


def _pushed_image(pipeline: dict[str, Any]) -> str:
    (env,) = children(pipeline, "environment")
    values = {n["args"][0]: n["args"][1] for n in env["children"]}
    shell = " ".join(
        n["args"][0] if n["args"] else n["named"]["script"]
        for n in descendants(pipeline)
        if n["name"] == "sh"
    )
    assert 'docker push "$IMAGE"' in shell
    image: str = values["IMAGE"]
    return image


class Cluster:
    """A workspace with the rendered files, the server's folder, and the fake kubectl."""

    def __init__(self, root: Path, project: Project) -> None:
        self.workspace = root / "workspace"
        self.home = root / "home"
        self.bin = root / "bin"
        self.state = root / "cluster.json"
        self.home.mkdir()
        self.bin.mkdir()
        write_artifacts(render_project(project), self.workspace / project.generated_dir)
        kubectl = self.bin / "kubectl"
        kubectl.write_text(f"#!{sys.executable}\n{FAKE_KUBECTL}", encoding="utf-8")
        kubectl.chmod(0o755)

    def publish(self, transfer: dict[str, Any]) -> list[str]:
        """What Publish Over SSH does with a transfer: copy the matching workspace files,
        minus ``removePrefix``, into ``remoteDirectory`` (emptied first with cleanRemote)."""
        target = self.home / transfer["remoteDirectory"]
        if transfer["cleanRemote"] and target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True, exist_ok=True)
        prefix = transfer["removePrefix"].rstrip("/") + "/"
        sent = []
        for pattern in transfer["sourceFiles"].split(","):
            matches = sorted(self.workspace.glob(pattern))
            assert matches, f"{pattern} matches no file in the workspace"
            for file in matches:
                relative = file.relative_to(self.workspace).as_posix()
                assert relative.startswith(prefix), (relative, prefix)
                destination = target / relative[len(prefix) :]
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(file, destination)
                sent.append(relative)
        return sent

    def run(
        self, command: str, *, secrets: str = "", rollout_fails: bool = False
    ) -> subprocess.CompletedProcess[str]:
        env = {
            "PATH": f"{self.bin}{os.pathsep}{os.environ['PATH']}",
            "FAKE_KUBECTL_STATE": str(self.state),
            "FAKE_SECRETS": secrets,
            "HOME": str(self.home),
        }
        if REAL_KUBECTL:
            env["REAL_KUBECTL"] = REAL_KUBECTL
        if rollout_fails:
            env["FAKE_ROLLOUT_FAILS"] = "1"
        return subprocess.run(
            ["sh", "-c", command],
            cwd=self.home,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )

    @property
    def recorded(self) -> dict[str, Any]:
        if not self.state.exists():
            return {"calls": [], "live": {}, "rollouts": {}}
        data: dict[str, Any] = json.loads(self.state.read_text())
        return data


def _deploy(
    cluster: Cluster, pipeline: dict[str, Any], **options: Any
) -> subprocess.CompletedProcess[str]:
    (ship,) = _publishers(pipeline, "Send Artifacts")
    cluster.publish(ship)
    (apply,) = _publishers(pipeline, "Apply Deployment")
    assert apply["sourceFiles"] == ""
    return cluster.run(apply["execCommand"], **options)


@pytest.mark.parametrize(
    ("component", "secrets"), [("backend", "default/backend"), ("frontend", "")]
)
def test_the_deploy_runs_exactly_the_pushed_image_in_one_rollout(  # noqa: PLR0917  (fixtures)
    tmp_path: Path,
    projects: dict[str, Project],
    walked: dict[str, Any],
    artifacts: dict[str, Artifact],
    component: str,
    secrets: str,
) -> None:
    project = projects["lat32t"]
    pipeline = walked[f"lat32t/{component}/Jenkinsfile"]
    pushed = _pushed_image(pipeline)
    assert pushed == f"hosin/lat32t:{component}-{DEFAULT_ENV['BUILD_NUMBER']}"
    cluster = Cluster(tmp_path, project)

    (ship,) = _publishers(pipeline, "Send Artifacts")
    sent = cluster.publish(ship)
    # Exactly the manifests render wrote for this component, nothing else.
    rendered = sorted(
        f"generated/{p}" for p, a in artifacts.items() if p.startswith(f"lat32t/{component}/k8s/")
    )
    assert sorted(sent) == rendered
    assert sorted(
        f.name for f in (tmp_path / "home" / ship["remoteDirectory"]).iterdir()
    ) == sorted(p.rsplit("/", 1)[1] for p in rendered)

    done = _deploy(cluster, pipeline, secrets=secrets)
    assert done.returncode == 0, done.stderr
    state = cluster.recorded
    key = f"deployment/default/{component}"
    running = state["live"][key]["spec"]["template"]["spec"]["containers"]
    assert [c["image"] for c in running] == [pushed]
    # One rollout, straight onto the pushed image: never a pod of another tag.
    assert state["rollouts"] == {key: [{component: pushed}]}
    assert state["calls"][-1][:3] == ["rollout", "status", f"deployment/{component}"]
    if REAL_KUBECTL:
        # The pinned file is the real kubectl's output (it adds creationTimestamp).
        pinned = tmp_path / "home" / ship["remoteDirectory"] / f"50-deployment-{component}.yaml"
        assert "creationTimestamp: null" in pinned.read_text()

    # The next build: the same command with the next tag rolls once more, onto that tag.
    next_env = {**DEFAULT_ENV, "BUILD_NUMBER": "43"}
    files = {f"lat32t/{component}/Jenkinsfile": artifacts[f"lat32t/{component}/Jenkinsfile"].text}
    (tree,) = walk(files, next_env).values()
    (following,) = tree
    again = _deploy(cluster, following, secrets=secrets)
    assert again.returncode == 0, again.stderr
    state = cluster.recorded
    pushed_next = _pushed_image(following)
    assert pushed_next == f"hosin/lat32t:{component}-43"
    assert state["rollouts"][key] == [{component: pushed}, {component: pushed_next}]


def test_a_missing_secret_fails_the_deploy_naming_it(
    tmp_path: Path, projects: dict[str, Project], walked: dict[str, Any]
) -> None:
    cluster = Cluster(tmp_path, projects["lat32t"])
    done = _deploy(cluster, walked["lat32t/backend/Jenkinsfile"], secrets="")
    assert done.returncode != 0
    assert (
        "pipedsl: Secret default/backend is missing; create it once with: kubectl create secret "
        "generic backend -n default --from-env-file=backend.env  # with JWT_SECRET_KEY, "
        "AWS_S3_ACCESS_KEY, AWS_S3_SECRET_KEY, DB_USERNAME, DB_PASSWORD"
    ) in done.stderr
    # Nothing was applied.
    assert [c[0] for c in cluster.recorded["calls"]] == ["get"]


def test_a_failed_rollout_fails_the_deploy(
    tmp_path: Path, projects: dict[str, Project], walked: dict[str, Any]
) -> None:
    cluster = Cluster(tmp_path, projects["lat32t"])
    done = _deploy(
        cluster, walked["lat32t/backend/Jenkinsfile"], secrets="default/backend", rollout_fails=True
    )
    assert done.returncode != 0
    assert 'deployment "backend" exceeded its progress deadline' in done.stderr


def test_the_fake_would_catch_a_deploy_of_another_tag(
    tmp_path: Path, projects: dict[str, Project], walked: dict[str, Any]
) -> None:
    # The assertion above is only as good as the fake: an apply of the manifest as written
    # (its tag template), without the pin, must show up as a wrong image.
    pipeline = walked["lat32t/frontend/Jenkinsfile"]
    cluster = Cluster(tmp_path, projects["lat32t"])
    (ship,) = _publishers(pipeline, "Send Artifacts")
    cluster.publish(ship)
    done = cluster.run(f"cd {ship['remoteDirectory']} && kubectl apply -f .")
    assert done.returncode == 0, done.stderr
    live = cluster.recorded["live"]["deployment/default/frontend"]
    (container,) = live["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "hosin/lat32t:frontend-{build}"
    assert container["image"] != _pushed_image(pipeline)


def test_ship_paths_follow_generated_dir(
    projects: dict[str, Project], walked: dict[str, Any]
) -> None:
    own, shared = _publishers(walked["k8s-shop/api/Jenkinsfile"], "Send Artifacts")
    assert own["removePrefix"] == "generated/k8s-shop/api/k8s"
    assert own["sourceFiles"].split(",")[0].startswith("generated/k8s-shop/api/k8s/")
    assert own["cleanRemote"] is True
    # The namespace the web runtime and the databases hold too: written once, in the project's
    # _shared folder, sent to the same remote folder after the component's own files.
    assert shared["removePrefix"] == "generated/k8s-shop/_shared/k8s"
    assert shared["sourceFiles"] == "generated/k8s-shop/_shared/k8s/00-namespace-shop.yaml"
    assert shared["remoteDirectory"] == own["remoteDirectory"]
    assert shared["cleanRemote"] is False
    (apply,) = _publishers(walked["k8s-shop/api/Jenkinsfile"], "Apply Deployment")
    # The server's remote root is where the files landed; the secrets of the runtime are
    # checked in its namespace.
    assert apply["execCommand"].startswith(
        "cd /srv/deploy/k8s/api && { kubectl get secret api -n shop"
    )
    assert "kubectl get secret api-tls -n shop" in apply["execCommand"]


def test_the_deploy_checks_secrets_the_pods_read_from_another_runtime() -> None:
    shared = Secret("db", keys=["MARIADB_ROOT_PASSWORD", "MARIADB_PASSWORD"])
    db = mariadb("db", database="app", credentials=shared)
    image = DockerHub("acme/api", login=Credential.username_password("hub")).tagged()
    http = ContainerPort("http", 8080)
    workload = Deployment(
        "api",
        [
            Container(
                "api", image, ports=[http], env={"DB_PASSWORD": shared.key("MARIADB_PASSWORD")}
            )
        ],
    )
    api = spring_boot_backend(
        "api", image=image, deploy=SshServer("m"), runtime=Runtime([workload])
    )
    project = Project(
        "demo", repository="https://github.com/a/b.git", components=[api], backing_services=[db]
    )
    text = {a.path: a.text for a in render_project(project)}["demo/api/Jenkinsfile"]
    assert "kubectl get secret db -n default" in text
