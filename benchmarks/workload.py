"""Synthetic workloads: N components of the seed's shape, as a pipedsl project and as the
equivalent Jenkins Job Builder YAML (the same Jenkinsfiles, inline, with a GitHub trigger)."""

from __future__ import annotations

from pathlib import Path

import yaml

PROJECT_TEMPLATE = '''\
"""Benchmark workload: {n} backend components of the seed's shape."""

from pipedsl import (
    ConfigMap, Credential, DockerHub, Project, Secret, Slack, SshServer, spring_boot_backend,
    spring_boot_service,
)
from pipedsl.model.jobs import JenkinsJobs


MANIFESTS = {manifests}


def runtime(i):
    """The component's Kubernetes objects (Deployment, Service, ConfigMap; its Secret is
    referenced), as the seed's backend has them."""
    return spring_boot_service(
        port=8080,
        health="/actuator/health",
        config=ConfigMap(f"svc-{{i:04d}}-config", {{"SPRING_PROFILES_ACTIVE": "prod", "REGION": "eu-west-1"}}),
        secrets=Secret(f"svc-{{i:04d}}", keys=["DB_USERNAME", "DB_PASSWORD"]),
    )


slack = Slack(channel="#ci", team_domain="bench", token=Credential.secret_text("slack-token"))
changed = Slack(channel="#ci-changed", team_domain="bench", token=Credential.secret_text("slack-token"))
hub = DockerHub("bench/app", login=Credential.username_password("dockerhub"))
master = SshServer("master")

project = Project(
    "bench",
    repository="https://github.com/bench/app.git",
    jenkins=JenkinsJobs("{definition}"),
    components=[
        spring_boot_backend(
            f"svc-{{i:04d}}",
            source=f"services/svc-{{i:04d}}",
            image=hub.tagged(f"svc-{{i:04d}}-{{{{build}}}}", var="IMAGE"),
            deploy=master,
            notify=changed if i < {changed} else slack,
            runtime=runtime(i) if MANIFESTS else None,
        )
        for i in range({n})
    ],
)
'''


def write_project(
    folder: Path,
    n: int,
    *,
    definition: str = "inline",
    changed: int = 0,
    manifests: bool = False,
) -> Path:
    """A projects folder holding one project with ``n`` seed-shaped backend components, the
    first ``changed`` of which notify another channel (a "changed" variant of the workload);
    with ``manifests``, each component also has the seed backend's Kubernetes objects and its
    pipeline ships and applies them."""
    folder.mkdir(parents=True, exist_ok=True)
    text = PROJECT_TEMPLATE.format(n=n, definition=definition, changed=changed, manifests=manifests)
    path = folder / "bench.py"
    path.write_text(text, encoding="utf-8")
    return path


def write_jjb(path: Path, jenkinsfiles: dict[str, str]) -> Path:
    """Jenkins Job Builder YAML with one pipeline job per Jenkinsfile in the folder ``bench``,
    the Jenkinsfile inline (sandboxed) and a GitHub push trigger: what pipedsl's inline jobs
    are. (The folder itself is not a JJB job here: ``jenkins-jobs test`` cannot write a folder
    and jobs inside it to the same output tree; the sync benchmark creates it beforehand.)"""
    jobs: list[dict[str, object]] = []
    for name, text in sorted(jenkinsfiles.items()):
        jobs.append(
            {
                "job": {
                    "name": f"bench/{name}",
                    "project-type": "pipeline",
                    "description": f"Pipeline of {name}",
                    "sandbox": True,
                    # JJB expands {placeholders} in job fields: braces are doubled to stay literal.
                    "dsl": text.replace("{", "{{").replace("}", "}}"),
                    "triggers": ["github"],
                }
            }
        )
    path.write_text(yaml.safe_dump(jobs, sort_keys=False, width=1000), encoding="utf-8")
    return path
