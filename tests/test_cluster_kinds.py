"""Kinds and pod settings beyond the seed's (fixture tests/fixtures/projects/cluster_kinds.py):
Jobs and CronJobs pinned by the deploy like the Deployment (and an init container running the
component's image), the Job replaced and waited for before the workloads roll; ServiceAccounts,
roles and bindings, StorageClasses, volumes without a class, security contexts, Secret volume
items and host paths — each rule with its exact message. Strict schema validation of these
manifests: tests/test_k8s_manifests.py (every project under test)."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipedsl import (
    ClaimTemplate,
    ClusterRole,
    Container,
    ContainerPort,
    Credential,
    CronJob,
    Deployment,
    ExternalMetric,
    HorizontalPodAutoscaler,
    HostPathVolume,
    HttpGet,
    Job,
    Kubectl,
    ModelError,
    Namespace,
    PersistentVolumeClaim,
    PipedslWarning,
    PodSecurityContext,
    PodsMetric,
    PolicyRule,
    Probe,
    Project,
    Registry,
    Resources,
    Role,
    RoleBinding,
    Runtime,
    Secret,
    SecretVolume,
    SecurityContext,
    Service,
    ServiceAccount,
    StorageClass,
    VolumeMount,
    render_project,
    spring_boot_backend,
)
from tests.support import tally
from tests.test_deploy_targets import Agent, _deploy_script, _pushed

PROJECT = "kinds"


def _calls(agent: Agent) -> list[list[str]]:
    calls: list[list[str]] = agent.cluster["calls"]
    return calls


def test_the_deploy_pins_every_container_of_the_image_and_runs_the_job_first(
    tmp_path: Path, projects: dict[str, Project], walked: dict[str, Any]
) -> None:
    pipeline = walked[f"{PROJECT}/orders/Jenkinsfile"]
    script, _ = _deploy_script(pipeline)
    pushed = _pushed(pipeline)
    agent = Agent(tmp_path, projects[PROJECT])
    env = {"KUBECONFIG": str(tmp_path / "k"), "FAKE_SECRETS": "orders/orders-tls,orders/orders-db"}

    done = agent.run(script, pushed, **env)
    assert done.returncode == 0, done.stderr
    live = agent.cluster["live"]
    # The init container, the Job and the CronJob run the pushed image, like the Deployment.
    assert agent.cluster["rollouts"] == {
        "deployment/orders/orders": [{"migrate": pushed, "orders": pushed}]
    }
    assert agent.cluster["jobs"] == {"job/orders/orders-schema": [{"schema": pushed}]}
    cron = live["cronjob/orders/orders-report"]["spec"]["jobTemplate"]["spec"]["template"]
    assert [c["image"] for c in cron["spec"]["containers"]] == [pushed]
    # The Job is replaced, and waited for, before the Deployment is applied and rolled.
    verbs = [
        " ".join(c[:2]) for c in _calls(agent) if "--local" not in c and c[:2] != ["get", "secret"]
    ]
    assert verbs == [
        "delete job",
        "apply -n",
        "wait --for=condition=complete",
        "apply -n",
        "rollout status",
    ]
    applied_first = _calls(agent)[[" ".join(c[:2]) for c in _calls(agent)].index("apply -n")]
    assert "45-job-orders-schema.yaml" in applied_first
    assert "50-deployment-orders.yaml" not in applied_first
    for call in _calls(agent):
        assert "--local" in call or "-n" in call, call

    # The next build runs the Job afresh with its image (applying over the old one would fail).
    again = agent.run(script, pushed.replace("orders-", "orders-next-"), **env)
    assert again.returncode == 0, again.stderr
    assert len(agent.cluster["jobs"]["job/orders/orders-schema"]) == 2

    # A Job that does not complete fails the step before the workloads roll onto the new code.
    failed = agent.run(
        script, pushed.replace("orders-", "orders-third-"), FAKE_JOB_FAILS="1", **env
    )
    assert failed.returncode != 0
    assert "pipedsl: Job orders/orders-schema did not complete in 300s" in failed.stderr
    assert len(agent.cluster["rollouts"]["deployment/orders/orders"]) == 2
    tally.add("deploy target runs executed in a real sh", 3)


def test_kinds_are_rendered_in_apply_order(artifacts: dict[str, Any]) -> None:
    # The Namespace is used by the web frontend too: written once, in the project's shared folder.
    assert f"{PROJECT}/_shared/k8s/00-namespace-orders.yaml" in artifacts
    files = sorted(p.rsplit("/", 1)[1] for p in artifacts if p.startswith(f"{PROJECT}/orders/k8s/"))
    assert files == [
        "05-storageclass-orders-fast.yaml",
        "10-persistentvolume-orders-archive.yaml",
        "20-persistentvolumeclaim-orders-archive.yaml",
        "20-persistentvolumeclaim-orders-uploads.yaml",
        "25-serviceaccount-orders.yaml",
        "26-clusterrole-orders-nodes.yaml",
        "26-role-orders-reader.yaml",
        "27-clusterrolebinding-orders-nodes.yaml",
        "27-rolebinding-orders-reads.yaml",
        "40-service-orders.yaml",
        "45-job-orders-schema.yaml",
        "50-deployment-orders.yaml",
        "65-cronjob-orders-report.yaml",
        "70-horizontalpodautoscaler-orders.yaml",
    ]

    def doc(name: str) -> Any:
        return yaml.safe_load(artifacts[f"{PROJECT}/orders/k8s/{name}"].text)

    # Volumes of no class say so (''), and bind to each other only.
    assert doc("10-persistentvolume-orders-archive.yaml")["spec"]["storageClassName"] == ""
    claim = doc("20-persistentvolumeclaim-orders-archive.yaml")["spec"]
    assert (claim["storageClassName"], claim["volumeName"]) == ("", "orders-archive")
    assert doc("20-persistentvolumeclaim-orders-uploads.yaml")["spec"]["storageClassName"] == (
        "orders-fast"
    )
    # Cluster-scoped kinds have no namespace; the binding names its account's.
    assert "namespace" not in doc("26-clusterrole-orders-nodes.yaml")["metadata"]
    binding = doc("27-clusterrolebinding-orders-nodes.yaml")
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "orders", "namespace": "orders"}
    ]


def _component(*objects: Any, image: Any = None) -> Project:
    registry = Registry("registry.example.com", login=Credential.username_password("r"))
    built = image or registry.repository("t/app").tagged("app-{build}")
    return Project(
        "p",
        repository="https://github.com/acme/p.git",
        components=[
            spring_boot_backend(
                "app",
                image=built,
                deploy=Kubectl(Credential.secret_file("kc")),
                runtime=Runtime(list(objects)),
            )
        ],
    )


def test_a_batch_only_component_deploys_its_cronjob() -> None:
    image = (
        Registry("r.example.com", login=Credential.username_password("r"))
        .repository("t/app")
        .tagged("app-{build}")
    )
    cron = CronJob("app", [Container("app", image)], schedule="@daily")
    rendered = {a.path: a.text for a in render_project(_component(cron, image=image))}
    jenkinsfile = rendered["p/app/Jenkinsfile"]
    assert "set image --local -f 65-cronjob-app.yaml app=" in jenkinsfile
    assert "rollout status" not in jenkinsfile  # nothing long-running to wait for


def _error(build: Any) -> str:
    with pytest.raises(ModelError) as caught:
        build()
    return str(caught.value)


IMAGE = "example/app:1.0"
HTTP = ContainerPort("http", 8080)
PORT = ContainerPort("http", 8080)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda: RoleBinding(
                "b",
                Role("r", [PolicyRule(["pods"], ["get"])], namespace="a"),
                [ServiceAccount("s", namespace="b")],
                namespace="b",
            ),
            "RoleBinding.role: Role a/r is in another namespace than the binding (b); a "
            "RoleBinding grants a Role of its own namespace (or a ClusterRole)",
        ),
        (
            lambda: Deployment(
                "d", [Container("c", IMAGE)], service_account=ServiceAccount("s", namespace="x")
            ),
            "Deployment.service_account: ServiceAccount x/s is in another namespace than "
            "Deployment default/d; a pod runs as an account of its own namespace",
        ),
        (
            lambda: Deployment(
                "d",
                [Container("c", IMAGE)],
                init_containers=[
                    Container("i", IMAGE, ports=[PORT], readiness=Probe(HttpGet("/", PORT)))
                ],
            ),
            "Deployment.init_containers: init container 'i' has a readiness probe; an init "
            "container runs to completion before the others start, so it is never probed",
        ),
        (
            lambda: Deployment(
                "d", [Container("c", IMAGE)], init_containers=[Container("c", IMAGE)]
            ),
            "Deployment.init_containers: 'd' has an init container and a container of one name; "
            "names must be unique in a pod: ['c', 'c']",
        ),
        (
            lambda: CronJob("c", [Container("c", IMAGE)], schedule="61 * * * *"),
            "CronJob.schedule: '61 * * * *': minute 61 is outside 0-59",
        ),
        (
            lambda: CronJob("c", [Container("c", IMAGE)], schedule="0 3 * *"),
            "CronJob.schedule: expected a cron schedule of five fields (minute hour day-of-month "
            "month day-of-week) such as '30 2 * * *', or @daily, @hourly, @weekly, @monthly, "
            "@yearly, got '0 3 * *'",
        ),
        (
            lambda: CronJob("c", [Container("c", IMAGE)], schedule="0 3 * * funday"),
            "CronJob.schedule: '0 3 * * funday': 'funday' is not a day of week",
        ),
        (
            lambda: CronJob("c" * 53, [Container("c", IMAGE)], schedule="@daily"),
            f"CronJob.name: {'c' * 53!r} is not allowed: a DNS-1123 label of at most 52 "
            "characters (Kubernetes adds 11 to name each run)",
        ),
        (
            lambda: SecurityContext(run_as_non_root=True, run_as_user=0),
            "SecurityContext.run_as_user: 0 is root, but run_as_non_root=True; the pod would "
            "never start",
        ),
        (
            lambda: PodSecurityContext(seccomp="Localhost"),
            "PodSecurityContext.seccomp: 'Localhost' is not one of 'RuntimeDefault', 'Unconfined'",
        ),
        (
            lambda: SecretVolume("v", Secret("s", keys=["a"]), items={"b": "b.txt"}),
            "SecretVolume.items: Secret 's' has no key 'b'; its keys: a",
        ),
        (
            lambda: SecretVolume("v", Secret("s", keys=["a"]), items={"a": "../a"}),
            "SecretVolume.items: '../a' is not allowed: a relative file path without '..' such "
            "as 'tls/cert.pem'",
        ),
        (
            lambda: Job(
                "j",
                [
                    Container(
                        "c", IMAGE, mounts=[VolumeMount(ClaimTemplate("d", storage="1Gi"), "/d")]
                    )
                ],
            ),
            "Job 'j': ClaimTemplate 'd' is for StatefulSets; mount a ClaimVolume of a "
            "PersistentVolumeClaim instead",
        ),
        (
            lambda: CronJob(
                "c",
                [
                    Container(
                        "c", IMAGE, mounts=[VolumeMount(ClaimTemplate("d", storage="1Gi"), "/d")]
                    )
                ],
                schedule="@daily",
            ),
            "CronJob 'c': ClaimTemplate 'd' is for StatefulSets",
        ),
        (
            lambda: Job("j", [Container("c", IMAGE)], restart_policy="Always"),
            "Job.restart_policy: 'Always' is not one of 'Never', 'OnFailure'",
        ),
        (
            lambda: PolicyRule(["pods"], ["read"]),
            "PolicyRule.verbs: 'read' is not one of 'get', 'list', 'watch',",
        ),
        (
            lambda: Service(_labelled(), ports=[HTTP], selector={"tier": "web"}),
            "Service.selector: tier=web is not a label of Deployment 'web''s pods (their "
            "pod_labels: tier=api); a Service selecting a label its pods lack has no endpoints",
        ),
        (
            lambda: Service(_labelled({}), ports=[HTTP], selector={"tier": "api"}),
            "Service.selector: tier=api is not a label of Deployment 'web''s pods (their "
            "pod_labels: none)",
        ),
        (
            lambda: _labelled({"app.kubernetes.io/name": "other"}),
            "Deployment.pod_labels: 'app.kubernetes.io/name' is set by pipedsl to the workload's "
            "name ('web'); choose another label",
        ),
        (
            lambda: _labelled({"tier": "a b"}),
            "Deployment.pod_labels: label 'tier': value 'a b' is not allowed: at most 63 "
            "letters, digits, '-', '_' and '.', starting and ending with a letter or digit",
        ),
        (
            lambda: _labelled({"-tier": "a"}),
            "Deployment.pod_labels: '-tier' is not allowed: a label key such as 'colour' or "
            "'example.com/tier'",
        ),
        (
            lambda: ExternalMetric("queue", value="1", average_value="1"),
            "ExternalMetric 'queue': give value (the metric's own target) or average_value (a "
            "target per pod), exactly one",
        ),
        (
            lambda: ExternalMetric("queue"),
            "ExternalMetric 'queue': give value",
        ),
        (
            lambda: PodsMetric("rate", average_value="fast"),
            "PodsMetric.average_value: 'fast' is not allowed: a Kubernetes quantity",
        ),
        (
            lambda: PodsMetric("rate per second", average_value="1"),
            "PodsMetric.name: 'rate per second' is not allowed: a metric name such as "
            "'http_requests_per_second'",
        ),
        (
            lambda: HorizontalPodAutoscaler(_labelled(), max_replicas=2, cpu_percent=None),
            "HorizontalPodAutoscaler: give cpu_percent, memory_percent or metrics (what to scale "
            "on)",
        ),
        (
            lambda: HorizontalPodAutoscaler(
                _labelled(),
                max_replicas=2,
                cpu_percent=None,
                metrics=[PodsMetric("rate", average_value="1")] * 2,
            ),
            "HorizontalPodAutoscaler.metrics: a metric is given twice: ['rate', 'rate']",
        ),
        (
            lambda: HorizontalPodAutoscaler(
                _labelled(), max_replicas=2, cpu_percent=None, metrics=["rate"]
            ),
            "HorizontalPodAutoscaler.metrics: ",
        ),
        (
            lambda: HorizontalPodAutoscaler(
                _labelled(),
                max_replicas=2,
                metrics=PodsMetric("rate", average_value="1"),
                scale_down_seconds=7200,
            ),
            "HorizontalPodAutoscaler.scale_down_seconds: expected seconds 0-3600, got 7200",
        ),
    ],
)
def test_pod_and_access_rules(build: Any, message: str) -> None:
    assert message in _error(build)


def _labelled(labels: dict[str, str] | None = None) -> Deployment:
    return Deployment(
        "web",
        [Container("web", IMAGE, ports=[HTTP], resources=Resources(cpu="100m"))],
        pod_labels={"tier": "api"} if labels is None else labels,
    )


def test_the_blue_green_switch_keeps_the_services_other_labels(
    tmp_path: Path, projects: dict[str, Project], walked: dict[str, Any]
) -> None:
    pipeline = walked[f"{PROJECT}/tiers/Jenkinsfile"]
    script, _ = _deploy_script(pipeline)
    first = _pushed(pipeline)
    agent = Agent(tmp_path, projects[PROJECT])
    env = {"KUBECONFIG": str(tmp_path / "k")}
    for build in (first, first.replace("tiers-", "tiers-next-")):
        done = agent.run(script, build, **env)
        assert done.returncode == 0, done.stderr
    selector = agent.cluster["live"]["service/orders/tiers"]["spec"]["selector"]
    assert selector == {"app.kubernetes.io/name": "tiers-green", "tier": "api"}
    pods = agent.cluster["live"]["deployment/orders/tiers-green"]["spec"]["template"]
    assert pods["metadata"]["labels"] == {
        "app.kubernetes.io/name": "tiers-green",
        "tier": "api",
        "example.com/team": "orders",
    }
    assert (
        "roll back with: kubectl -n orders set selector service/tiers "
        "app.kubernetes.io/name=tiers-blue,tier=api"
    ) in done.stdout
    tally.add("deploy target runs executed in a real sh", 2)


def test_objects_a_runtime_refers_to_must_be_defined() -> None:
    fast = StorageClass("fast", "ebs.csi.aws.com")
    claim = PersistentVolumeClaim("data", storage="1Gi", storage_class=fast)
    account = ServiceAccount("app")
    reader = ClusterRole("reader", [PolicyRule(["pods"], ["get"])])
    binding = RoleBinding("reads", reader, [account])
    message = _error(lambda: render_project(_component(claim, binding)))
    assert (
        "components[app].runtime.PersistentVolumeClaim[data].storage_class: StorageClass fast is "
        "referenced but not defined"
    ) in message
    assert "RoleBinding[reads].role: ClusterRole reader is referenced but not defined" in message
    assert (
        "RoleBinding[reads].subjects[0]: ServiceAccount default/app is referenced but not defined"
    ) in message


def test_a_host_path_is_allowed_with_a_warning() -> None:
    with pytest.warns(PipedslWarning, match=r"HostPathVolume 'logs' mounts /var/log of whichever"):
        HostPathVolume("logs", "/var/log")


def test_render_shows_a_warning_with_the_project_line(tmp_path: Path) -> None:
    projects = tmp_path / "projects"
    projects.mkdir()
    (projects / "p.py").write_text(
        "from pipedsl import *\n"
        "registry = Registry('r.example.com', login=Credential.username_password('r'))\n"
        "image = registry.repository('t/app').tagged('app-{build}')\n"
        "logs = HostPathVolume('logs', '/var/log')\n"
        "app = Deployment('app', [Container('app', image, mounts=[VolumeMount(logs, '/l')])])\n"
        "project = Project('p', repository='https://github.com/acme/p.git', components=[\n"
        "    spring_boot_backend('app', image=image, runtime=Runtime([app]))])\n",
        encoding="utf-8",
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipedsl",
            "render",
            "--projects",
            str(projects),
            "--out",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.startswith(
        "warning: projects/p.py:4: HostPathVolume 'logs' mounts /var/log of whichever node"
    ), done.stderr
    assert done.stderr.count("warning:") == 1
    assert "Traceback" not in done.stderr


def test_a_pod_without_a_host_path_warns_of_nothing() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Deployment("d", [Container("c", IMAGE, mounts=[])])
        Namespace("n")
