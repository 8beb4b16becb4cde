"""The sync command's flow: render, connect, plan, (apply), register webhooks, report. Printing
goes through ``echo`` so the CLI stays thin and tests can capture it."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import attrs

from pipedsl.errors import ModelError, Problem
from pipedsl.jenkins.client import Item, JenkinsApi, PythonJenkinsClient
from pipedsl.jenkins.github import GitHubHooks, HookChange, apply_hooks, plan_hooks
from pipedsl.jenkins.settings import resolve_github, resolve_settings
from pipedsl.jenkins.sync import (
    WRITES,
    Change,
    DesiredJob,
    Owner,
    SyncPlan,
    SyncReport,
    apply_sync,
    configs_to_read,
    plan_sync,
    read_configs,
)
from pipedsl.load import load_projects
from pipedsl.model.project import Project
from pipedsl.record import Record
from pipedsl.render import render_projects

Echo = Callable[..., None]


@attrs.frozen(eq=False, repr=False)
class Desired(Record):
    """What the projects ask of Jenkins: their jobs, the folders they live in, the projects."""

    jobs: list[DesiredJob]
    folders: list[str]
    projects: list[Project]
    notes: list[str]


_CHECKOUT_SCM = re.compile(r"\bcheckout\s*\(?\s*scm\b")


def _checks_out_scm(config_xml: str) -> bool:
    """Whether an inline job's script (in its config.xml) runs ``checkout scm``."""
    script = config_xml.find("<script>")
    # The pattern starts with no literal text, so the engine would try it at every position.
    return (
        script >= 0
        and config_xml.find("checkout", script) >= 0
        and _CHECKOUT_SCM.search(config_xml, script) is not None
    )


def desired_jobs(projects_dir: Path, templates: Sequence[Path] | None = None) -> Desired:
    """The jobs the projects define (from the same artifacts ``render`` writes, with the same
    ``templates``), and the Jenkins folders they live in. Two projects may share a folder, not a
    job name."""
    projects = load_projects(projects_dir)
    # Only the jobs are needed here: an inline job's config.xml holds its Jenkinsfile.
    rendered = render_projects(projects, templates=templates, kinds={"job"})
    artifacts = {a.path: a for a in rendered}
    jobs: list[DesiredJob] = []
    owners: dict[str, str] = {}
    problems: list[Problem] = []
    notes: list[str] = []
    folders: list[str] = []
    for project in projects:
        if project.jenkins_folder not in folders:
            folders.append(project.jenkins_folder)
        for component in project.components:
            config = artifacts.get(f"{project.name}/{component.name}/config.xml")
            if config is None:
                continue
            name = f"{project.jenkins_folder}/{component.name}"
            key = name.casefold()  # Jenkins item names ignore case
            if key in owners:
                problems.append(
                    Problem(
                        f"project {project.name!r}",
                        f"its job {name} is also defined by project {owners[key]!r}; give one "
                        "of them another folder (Project(folder=...))",
                    )
                )
                continue
            owners[key] = project.name
            inline = project.jenkins.definition == "inline"
            jobs.append(DesiredJob(name, config.text, inline))
            if inline and _checks_out_scm(config.text):
                notes.append(
                    f"note: {name} is an inline job whose Jenkinsfile runs `checkout scm`, which "
                    "works only in jobs that load their Jenkinsfile from SCM; its builds will "
                    "fail, and a push will not start it"
                )
    if problems:
        raise ModelError(problems)
    return Desired(jobs, folders, projects, notes)


def run_sync(  # noqa: PLR0912  (the command's whole flow, step by step)
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
    drift: bool = False,
    timeout: float = 30.0,
    retries: int = 3,
    backoff: float = 0.5,
    github_token: str | None = None,
    github_api: str | None = None,
    tty: bool = False,
    templates: Sequence[Path] | None = None,
    client: JenkinsApi | None = None,
    offline: bool = False,
    json_output: bool = False,
) -> int:
    """``pipedsl sync``; returns the exit code (0 in sync, 1 something failed or conflicts).
    Errors before anything is planned (settings, projects, no Jenkins) raise.

    ``offline`` (with ``dry_run``) plans against an empty Jenkins without asking any server:
    what a first sync would create. ``json_output`` prints the dry run's plan as one JSON
    document on standard output (notes stay on standard error)."""
    if (offline or json_output) and not dry_run:
        flag = "--offline" if offline else "--json"
        raise ModelError(f"{flag} goes with --dry-run (it shows a plan; it changes nothing)")
    if offline:
        desired = desired_jobs(projects_dir, templates)
        plan = plan_sync(
            desired.jobs,
            {},
            managed_folders=desired.folders,
            owners=[Owner(p.name, p.repository) for p in desired.projects],
        )
        for note in desired.notes:
            echo(note, err=True)
        return _show_plan(plan, [], echo, verbose=verbose, json_output=json_output, jenkins=None)
    settings = resolve_settings(url, user, token, config)
    github = resolve_github(github_token, github_api, config)
    desired = desired_jobs(projects_dir, templates)
    api = client or PythonJenkinsClient(
        settings.url,
        settings.user,
        settings.token,
        timeout=timeout,
        retries=retries,
        backoff=backoff,
        pool_size=workers,
    )
    hooks = (
        GitHubHooks(github.api, github.token, timeout=timeout, retries=retries, backoff=backoff)
        if github.token
        else None
    )
    who = api.check_access()
    if verbose:
        echo(f"Jenkins {api_url(api, settings.url)} as {who or 'anonymous'}")
    existing = api.list_items()
    owners = [Owner(p.name, p.repository) for p in desired.projects]
    wanted = configs_to_read(
        desired.jobs,
        existing,
        prune=prune,
        managed_folders=desired.folders,
        owners=owners,
        drift=dry_run or drift,
    )
    plan = plan_sync(
        desired.jobs,
        existing,
        prune=prune,
        managed_folders=desired.folders,
        owners=owners,
        configs=read_configs(api, wanted, workers=workers),
        restore=drift,
        first_build=first_build,
    )
    for note in desired.notes:
        echo(note, err=True)
    for change in plan.of("conflict"):
        echo(
            f"conflict  {change.job}: {change.reason}; pipedsl will not overwrite it (rename "
            "the job on Jenkins, or give the component or project folder another name)",
            err=True,
        )
    for change in plan.of("edited"):
        echo(f"edited    {change.job}: {change.reason}; left as it is", err=True)
    never_built = [
        j.full_name
        for j in desired.jobs
        if j.inline and not first_build and not _built(existing, j.full_name)
    ]
    if never_built:
        echo(
            f"note: {len(never_built)} inline job(s) never built ({', '.join(never_built)}): a "
            "GitHub push starts an inline job only after its first build; "
            "pipedsl sync --first-build starts one",
            err=True,
        )

    if dry_run:
        hook_plan = plan_hooks(hooks, desired.projects, github.api) if hooks else []
        code = _show_plan(
            plan,
            hook_plan,
            echo,
            verbose=verbose,
            json_output=json_output,
            jenkins=api_url(api, settings.url),
        )
        if verbose and not json_output:
            _echo_requests(echo, api, hooks)
        return code

    progress = _Progress(echo, plan.writes, tty=tty)
    try:
        report = apply_sync(api, plan, desired.jobs, workers=workers, progress=progress.show)
    finally:
        progress.close()
    code = _report(report, echo)
    if hooks is not None:
        hook_result = apply_hooks(hooks, plan_hooks(hooks, desired.projects, github.api))
        for hook in hook_result:
            if hook.action == "error":
                echo(str(hook), err=True)
            elif verbose or hook.action != "skip":
                echo(str(hook))
        if any(h.action == "error" for h in hook_result):
            code = 1
        echo(f"webhooks: {_hook_summary(hook_result)}")
    if verbose:
        _echo_requests(echo, api, hooks)
    return code


def _show_plan(
    plan: SyncPlan,
    hook_plan: Sequence[HookChange],
    echo: Echo,
    *,
    verbose: bool,
    json_output: bool,
    jenkins: str | None,
) -> int:
    """Print a dry run's plan (as lines, or one JSON document); the exit code: 1 when the
    plan is blocked or a webhook cannot be registered."""
    failed = bool(plan.blocked) or any(h.action == "error" for h in hook_plan)
    summary = _plan_summary(plan)
    if json_output:
        document = {
            "jenkins": jenkins,
            "offline": jenkins is None,
            "folders": list(plan.folders),
            "changes": [
                {"action": c.action, "job": c.job, "reason": c.reason} for c in plan.changes
            ],
            "webhooks": [
                {"action": h.action, "repository": h.repository, "url": h.url, "note": h.note}
                for h in hook_plan
            ],
            "summary": summary,
            "blocked": failed,
        }
        echo(json.dumps(document, indent=2))
        return 1 if failed else 0
    for line in plan.lines():
        # Unchanged jobs only with -v; conflicts are explained above already.
        explained = line.startswith(("conflict", "edited"))
        if not explained and (verbose or not line.startswith("unchanged")):
            echo(line)
    for hook in hook_plan:
        if verbose or hook.action != "skip":
            echo(str(hook))
    done = (
        "dry run: nothing changed"
        if jenkins is not None
        else "offline dry run: as if Jenkins had none of these jobs; no server was asked"
    )
    echo(f"plan: {summary} ({done})")
    return 1 if failed else 0


def _built(existing: dict[str, Item], name: str) -> bool:
    item = existing.get(name)
    return item is not None and item.built


def api_url(api: JenkinsApi, fallback: str) -> str:
    return str(getattr(api, "shown_url", fallback))


def _echo_requests(echo: Echo, api: JenkinsApi, hooks: GitHubHooks | None) -> None:
    echo(f"requests: {api.requests_made}")
    if hooks is not None:
        echo(f"GitHub requests: {hooks.requests_made}")


_PLANNED = {
    "create": "to create",
    "update": "to update",
    "drift": "edited on the server, to restore",
    "delete": "to delete",
    "build": "to build",
    "unchanged": "unchanged",
    "conflict": "in conflict",
    "edited": "edited on the server and left as it is",
}
_DONE = {
    "create": "created",
    "update": "updated",
    "drift": "restored",
    "delete": "deleted",
    "build": "first build(s) started",
}


def _counts(changes: Sequence[Change], labels: dict[str, str]) -> list[str]:
    counts: dict[str, int] = {}
    for change in changes:
        counts[change.action] = counts.get(change.action, 0) + 1
    return [f"{counts[a]} {label}" for a, label in labels.items() if counts.get(a)]


def _plan_summary(plan: SyncPlan) -> str:
    parts = _counts(plan.changes, _PLANNED)
    if plan.folders:
        parts.insert(0, f"{len(plan.folders)} folder(s) to create")
    return ", ".join(parts) or "nothing to do"


def _hook_summary(result: Sequence[HookChange]) -> str:
    counts: dict[str, int] = {}
    for hook in result:
        counts[hook.action] = counts.get(hook.action, 0) + 1
    labels = {
        "create": "created",
        "existing": "already there",
        "error": "failed",
        "skip": "skipped",
    }
    return ", ".join(f"{counts[a]} {label}" for a, label in labels.items() if counts.get(a)) or (
        "no repository on that GitHub"
    )


class _Progress:
    """One updating line on a terminal; one plain line per change otherwise."""

    def __init__(self, echo: Echo, total: int, *, tty: bool) -> None:
        self.echo = echo
        self.total = total
        self.tty = tty
        self.count = 0
        self.drawn = False

    def show(self, change: Change, error: str | None) -> None:
        self.count += 1
        what = f"folder {change.job}" if change.reason == "folder" else change.job
        line = f"[{self.count}/{self.total}] {change.action} {what}"
        if not self.tty:
            self.echo(f"{line}: {'FAILED' if error else 'done'}")
            return
        if error:
            self._erase()
            self.echo(f"{line}: FAILED")
            return
        self.echo(f"\r{line}\033[K", nl=False)
        self.drawn = True

    def _erase(self) -> None:
        if self.drawn:
            self.echo("\r\033[K", nl=False)
            self.drawn = False

    def close(self) -> None:
        self._erase()


def _report(report: SyncReport, echo: Echo) -> int:
    for change, error in report.failed:
        echo(f"failed    {change.action} {change.job}: {error}", err=True)
    if report.failed or report.not_done:
        listed = [c for c in report.done if c.action in WRITES]

        def names(changes: Sequence[Change]) -> str:
            return (
                ", ".join(
                    f"{c.action} {'folder ' if c.reason == 'folder' else ''}{c.job}"
                    for c in changes
                )
                or "nothing"
            )

        echo(f"done:      {names(listed)}", err=True)
        echo(f"failed:    {names([c for c, _ in report.failed])}", err=True)
        echo(f"not done:  {names(report.not_done)}", err=True)
        echo(
            "sync stopped part-way; fix the cause and run pipedsl sync again: it picks up "
            "where this run left off",
            err=True,
        )
        return 1
    folders = len(report.plan.folders)
    jobs_done = [c for c in report.done if c.reason != "folder"]
    parts = _counts(jobs_done, _DONE) + _counts(report.plan.of("unchanged"), _PLANNED)
    if folders:
        parts.insert(0, f"{folders} folder(s) created")
    conflicts = report.plan.of("conflict")
    if conflicts:
        parts.append(f"{len(conflicts)} in conflict (not touched)")
    edited = report.plan.of("edited")
    if edited:
        parts.append(f"{len(edited)} edited on the server (not touched; --drift restores)")
    echo(f"sync: {', '.join(parts) or 'nothing to do'}")
    return 1 if report.plan.blocked else 0
