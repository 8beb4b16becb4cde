"""The sync command's flow: render, connect, plan, (apply), report. Printing goes through
``echo`` so the CLI stays thin and tests can capture it."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from pipedsl.jenkins.client import JenkinsApi, PythonJenkinsClient
from pipedsl.jenkins.settings import resolve_settings
from pipedsl.jenkins.sync import Change, DesiredJob, SyncReport, apply_sync, detect_drift, plan_sync
from pipedsl.load import load_projects
from pipedsl.render import render_projects

Echo = Callable[..., None]


def desired_jobs(projects_dir: Path) -> tuple[list[DesiredJob], list[str]]:
    """The jobs the projects define (from the same artifacts ``render`` writes), and the
    Jenkins folders they live in."""
    projects = load_projects(projects_dir)
    artifacts = {a.path: a for a in render_projects(projects)}
    jobs = []
    folders = []
    for project in projects:
        folders.append(project.jenkins_folder)
        for component in project.components:
            config = artifacts.get(f"{project.name}/{component.name}/config.xml")
            if config is not None:
                jobs.append(
                    DesiredJob(
                        f"{project.jenkins_folder}/{component.name}",
                        config.text,
                        project.jenkins.definition == "inline",
                    )
                )
    return jobs, folders


def run_sync(
    projects_dir: Path,
    *,
    url: str | None,
    user: str | None,
    token: str | None,
    config: Path | None,
    dry_run: bool,
    prune: bool,
    first_build: bool,
    workers: int,
    verbose: bool,
    echo: Echo,
    client: JenkinsApi | None = None,
) -> int:
    jobs, folders = desired_jobs(projects_dir)
    settings = resolve_settings(url, user, token, config)
    api = client or PythonJenkinsClient(settings.url, settings.user, settings.token)
    who = api.check_access()
    existing = api.list_items()
    drift = detect_drift(api, jobs, existing) if dry_run else None
    plan = plan_sync(jobs, existing, prune=prune, managed_folders=folders, drift=drift)
    if verbose:
        echo(f"Jenkins {settings.url} as {who or 'anonymous'}")
    for change in plan.of("conflict"):
        echo(
            f"conflict  {change.job}: {change.reason}; pipedsl will not overwrite it (rename the component or the folder)",
            err=True,
        )
    if dry_run:
        for line in plan.lines():
            if verbose or not line.startswith("unchanged"):
                echo(line)
        echo(f"plan: {_summary(plan.changes, len(plan.folders))} (dry run: nothing changed)")
        if verbose:
            echo(f"requests: {api.requests_made}")
        return 1 if plan.of("conflict") else 0
    progress = _progress(echo, plan.writes)
    report = apply_sync(
        api, plan, jobs, workers=workers, first_build=first_build, progress=progress
    )
    return _report(report, echo, verbose)


def _summary(changes: tuple[Change, ...] | list[Change], folders: int) -> str:
    counts: dict[str, int] = {}
    for change in changes:
        counts[change.action] = counts.get(change.action, 0) + 1
    parts = [
        f"{counts[a]} {a}"
        for a in ("create", "update", "drift", "delete", "unchanged", "conflict")
        if counts.get(a)
    ]
    if folders:
        parts.insert(0, f"{folders} folder(s) to create")
    return ", ".join(parts) or "nothing to do"


def _progress(echo: Echo, total: int) -> Callable[[Change, str | None], None]:
    tty = sys.stdout.isatty()
    count = 0

    def show(change: Change, error: str | None) -> None:
        nonlocal count
        count += 1
        status = "failed" if error else "done"
        line = f"[{count}/{total}] {change.action} {change.job}: {status}"
        if tty and not error:
            echo(f"\r{line}\033[K", nl=count == total)
        else:
            echo(line)

    return show


def _report(report: SyncReport, echo: Echo, verbose: bool) -> int:
    for change, error in report.failed:
        echo(f"failed    {change.action} {change.job}: {error}", err=True)
    if report.failed or report.not_done:
        echo(
            f"done: {', '.join(f'{c.action} {c.job}' for c in report.done) or 'nothing'}", err=True
        )
        echo(
            f"not done: {', '.join(f'{c.action} {c.job}' for c in report.not_done) or 'nothing'}",
            err=True,
        )
        echo(
            "Sync stopped part-way; fix the cause and run pipedsl sync again: it picks up where this left off.",
            err=True,
        )
    echo(f"sync: {_summary(list(report.plan.changes), len(report.plan.folders))}")
    if verbose:
        echo(f"requests: {report.requests}")
    return 0 if report.ok else 1
