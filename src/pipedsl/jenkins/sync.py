"""``pipedsl sync``: plan what must change on Jenkins, then apply the plan.

Deciding costs two requests whatever the number of jobs: an access check and one listing with
descriptions. Each managed job's description records a digest of its config, so an unchanged
job is recognised without downloading its config.
"""

from __future__ import annotations

import functools
import re
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Literal

import attrs

from pipedsl.errors import SyncError
from pipedsl.jenkins.client import FOLDER, Item, JenkinsApi
from pipedsl.render.configxml import canonical_digest, is_managed, managed_digest, read_marker


def recorded_digest(config_xml: str) -> str:
    """The digest a rendered config records in its description (falling back to its canonical
    digest for a config without one)."""
    description = re.search(r"<description>(.*?)</description>", config_xml, re.DOTALL)
    return managed_digest(description.group(1) if description else None) or canonical_digest(
        config_xml
    )


def server_digest(config_xml: str) -> str:
    """``canonical_digest`` of a config as Jenkins serves it; one that is not even XML (edited
    by hand, or by a plugin we do not know) digests to a value no rendered config has."""
    try:
        return canonical_digest(config_xml)
    except ET.ParseError:
        return "unreadable"


Action = Literal["create", "update", "unchanged", "delete", "conflict", "drift", "build"]

#: Actions that write to Jenkins, in the order ``apply_sync`` carries them out.
WRITES: tuple[Action, ...] = ("create", "update", "drift", "delete", "build")


@attrs.frozen
class DesiredJob:
    """A job as rendered: full name (``folder/job``) and config.xml; ``inline`` when the job
    embeds its Jenkinsfile (a push starts it only after a first build)."""

    full_name: str
    config_xml: str
    inline: bool = False

    @property
    def digest(self) -> str:
        """The digest the config records in its description (what a listing shows)."""
        return recorded_digest(self.config_xml)

    @property
    def canonical(self) -> str:
        """The digest of the config as Jenkins would store it (for drift detection)."""
        return canonical_digest(self.config_xml)

    @property
    def folders(self) -> list[str]:
        parts = self.full_name.split("/")[:-1]
        return ["/".join(parts[: i + 1]) for i in range(len(parts))]


@attrs.frozen
class Change:
    """One line of a plan: what happens to which job, and why."""

    action: Action
    job: str
    reason: str = ""

    def __str__(self) -> str:
        return f"{self.action:<9} {self.job}" + (f"  ({self.reason})" if self.reason else "")


@attrs.frozen
class SyncPlan:
    """What sync would do. ``conflicts`` block the sync (a job of the same name that pipedsl does
    not manage); ``drift`` lists managed jobs edited on the server since the last sync."""

    folders: tuple[str, ...]
    changes: tuple[Change, ...]

    def of(self, action: Action) -> list[Change]:
        return [c for c in self.changes if c.action == action]

    @property
    def writes(self) -> int:
        """Folder and job changes to make (each one write request, unless retried)."""
        return len(self.folders) + sum(c.action in WRITES for c in self.changes)

    def lines(self) -> list[str]:
        return [f"create    folder {f}" for f in self.folders] + [str(c) for c in self.changes]


_DRIFT_REASON = (
    "edited on the server since the last sync; pipedsl sync --drift restores the rendered config"
)
_BUILD_REASON = "inline job never built: a push starts it only after a first build"


def plan_sync(  # noqa: PLR0912  (one branch per outcome reads clearest)
    desired: Sequence[DesiredJob],
    existing: dict[str, Item],
    *,
    prune: bool = False,
    managed_folders: Sequence[str] = (),
    managed_projects: Sequence[str] = (),
    drift: dict[str, str] | None = None,
    first_build: bool = False,
) -> SyncPlan:
    """Compare desired jobs with the server's items (pure: no I/O).

    Item names are compared as Jenkins does, ignoring case. ``managed_folders`` limits pruning
    to the folders pipedsl writes into, and ``managed_projects`` to jobs whose marker names one
    of these projects (two repositories may share a folder); ``drift`` maps job names to the digest of their config
    as downloaded (when drift detection was asked for); ``first_build`` plans a build of each
    inline job that has never been built (created now, or created earlier and never started).
    """
    by_key = {name.casefold(): item for name, item in existing.items()}
    folders: list[str] = []
    for job in desired:
        for folder in job.folders:
            if folder.casefold() not in by_key and folder not in folders:
                folders.append(folder)
    changes: list[Change] = []
    builds: list[Change] = []
    for job in sorted(desired, key=lambda j: j.full_name):
        blocking_folder = next(
            (
                f
                for f in job.folders
                if f.casefold() in by_key and by_key[f.casefold()].kind != FOLDER
            ),
            None,
        )
        if blocking_folder:
            changes.append(
                Change("conflict", job.full_name, f"{blocking_folder} exists and is not a folder")
            )
            continue
        item = by_key.get(job.full_name.casefold())
        if item is None:
            changes.append(Change("create", job.full_name))
        elif not is_managed(item.description, job.full_name):
            changes.append(
                Change(
                    "conflict",
                    job.full_name,
                    "a job of this name exists and pipedsl does not manage it",
                )
            )
            continue
        elif managed_digest(item.description) != job.digest:
            changes.append(Change("update", job.full_name))
        elif drift is not None and job.full_name in drift and drift[job.full_name] != job.canonical:
            changes.append(Change("drift", job.full_name, _DRIFT_REASON))
        else:
            changes.append(Change("unchanged", job.full_name))
        if first_build and job.inline and (item is None or not item.built):
            builds.append(Change("build", job.full_name, _BUILD_REASON))
    if prune:
        wanted = {j.full_name.casefold() for j in desired}
        scopes = tuple(f.casefold() + "/" for f in managed_folders)
        for name, item in sorted(existing.items()):
            key = name.casefold()
            if key in wanted or item.kind == FOLDER or not is_managed(item.description, name):
                continue
            marker = read_marker(item.description)
            # Only jobs of the projects being synced: two repositories may share a folder.
            if managed_projects and (marker is None or marker.project not in managed_projects):
                continue
            if not scopes or key.startswith(scopes):
                changes.append(Change("delete", name, "no project defines it"))
    return SyncPlan(tuple(folders), tuple(changes + builds))


@attrs.frozen
class SyncReport:
    """What ``apply_sync`` did, in plan order: done, failed (with the error) and not done
    (skipped after a failure)."""

    plan: SyncPlan
    done: tuple[Change, ...]
    failed: tuple[tuple[Change, str], ...]
    not_done: tuple[Change, ...]
    requests: int

    @property
    def ok(self) -> bool:
        return not self.failed and not self.not_done and not self.plan.of("conflict")


def detect_drift(
    client: JenkinsApi,
    desired: Sequence[DesiredJob],
    existing: dict[str, Item],
    *,
    workers: int = 4,
) -> dict[str, str]:
    """Download the config of each managed job that looks unchanged, ``workers`` at a time, to
    find hand edits (one request per such job; only for ``--dry-run`` and ``--drift``)."""
    by_key = {name.casefold(): item for name, item in existing.items()}
    names = [
        job.full_name
        for job in desired
        if (item := by_key.get(job.full_name.casefold())) is not None
        and managed_digest(item.description) == job.digest
    ]
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        configs = list(pool.map(client.job_config, names))
    return {name: server_digest(config) for name, config in zip(names, configs, strict=True)}


Progress = Callable[[Change, str | None], None]


def apply_sync(
    client: JenkinsApi,
    plan: SyncPlan,
    desired: Sequence[DesiredJob],
    *,
    workers: int = 4,
    progress: Progress | None = None,
) -> SyncReport:
    """Carry out ``plan``: folders first (in order, parents before children), then job
    creates, updates and deletes ``workers`` at a time, then first builds.

    The first failure stops what has not started yet (what is in flight finishes); the report
    lists, in plan order, what was done, what failed and what was not done. Every step is
    idempotent, so re-running sync converges.
    """
    configs = {j.full_name: j for j in desired}
    done: set[Change] = set()
    failed: dict[Change, str] = {}
    stop = threading.Event()
    folder_changes = [Change("create", f, "folder") for f in plan.folders]
    job_changes = [c for c in plan.changes if c.action in WRITES and c.action != "build"]
    builds = [c for c in plan.changes if c.action == "build"]

    def record(change: Change, error: str | None) -> None:
        if error is None:
            done.add(change)
        else:
            failed[change] = error
            stop.set()
        if progress:
            progress(change, error)

    def attempt(change: Change, call: Callable[[], None]) -> str | None:
        try:
            call()
        except SyncError as exc:
            # The report names the job already.
            return str(exc).removeprefix(f"{change.job}: ")
        return None

    for change in folder_changes:
        record(change, attempt(change, functools.partial(client.create_folder, change.job)))
        if stop.is_set():
            break

    def run(change: Change) -> str | None:
        job = configs.get(change.job)
        if change.action == "delete":
            return attempt(change, lambda: client.delete_job(change.job))
        if job is None:
            return "no rendered config for this job"
        if change.action == "create":
            return attempt(change, lambda: client.create_job(change.job, job.config_xml))
        if change.action == "build":
            return attempt(change, lambda: client.build_job(change.job))
        return attempt(change, lambda: client.update_job(change.job, job.config_xml))

    def guarded(change: Change) -> tuple[Change, str | None] | None:
        if stop.is_set():
            return None
        error = run(change)
        if error is not None:
            stop.set()  # here, so that this worker's next task already sees it
        return change, error

    for phase in (job_changes, builds):
        if stop.is_set() or not phase:
            continue
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            futures = [pool.submit(guarded, c) for c in phase]
            try:
                for future in as_completed(futures):
                    outcome = future.result()
                    if outcome is not None:
                        record(*outcome)
            except BaseException:  # Ctrl-C: start nothing more, let what runs finish
                stop.set()
                for future in futures:
                    future.cancel()
                raise

    everything = folder_changes + job_changes + builds
    return SyncReport(
        plan,
        tuple(c for c in everything if c in done),
        tuple((c, failed[c]) for c in everything if c in failed),
        tuple(c for c in everything if c not in done and c not in failed),
        client.requests_made,
    )
