"""``pipedsl sync``: plan what must change on Jenkins, then apply the plan.

Deciding costs two requests whatever the number of jobs: an access check and one listing with
descriptions. Each managed job's description records a digest of its config, so an unchanged
job is recognised without downloading its config.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Literal

import attrs

from pipedsl.errors import SyncError
from pipedsl.jenkins.client import FOLDER, Item, JenkinsApi
from pipedsl.jenkins.configxml import canonical_digest, is_managed, managed_digest

Action = Literal["create", "update", "unchanged", "delete", "conflict", "drift"]


@attrs.frozen
class DesiredJob:
    """A job as rendered: full name (``folder/job``) and config.xml."""

    full_name: str
    config_xml: str
    inline: bool = False

    @property
    def digest(self) -> str:
        """The digest the config records in its description (what a listing shows)."""
        description = re.search(r"<description>(.*?)</description>", self.config_xml, re.DOTALL)
        return managed_digest(description.group(1) if description else None) or canonical_digest(
            self.config_xml
        )

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
    action: Action
    job: str
    reason: str = ""


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
        return len(self.folders) + sum(
            c.action in ("create", "update", "delete") for c in self.changes
        )

    def lines(self) -> list[str]:
        out = [f"create folder {f}" for f in self.folders]
        for change in self.changes:
            out.append(
                f"{change.action:<9} {change.job}"
                + (f"  ({change.reason})" if change.reason else "")
            )
        return out


def plan_sync(  # noqa: PLR0912  (one branch per outcome reads clearest)
    desired: Sequence[DesiredJob],
    existing: dict[str, Item],
    *,
    prune: bool = False,
    managed_folders: Sequence[str] = (),
    drift: dict[str, str] | None = None,
) -> SyncPlan:
    """Compare desired jobs with the server's items (pure: no I/O).

    ``managed_folders`` limits pruning to the folders pipedsl writes into; ``drift`` maps job
    names to the digest of their config as downloaded (when drift detection was asked for).
    """
    folders: list[str] = []
    for job in desired:
        for folder in job.folders:
            item = existing.get(folder)
            if item is None and folder not in folders:
                folders.append(folder)
    changes: list[Change] = []
    for job in sorted(desired, key=lambda j: j.full_name):
        blocking_folder = next(
            (f for f in job.folders if f in existing and existing[f].kind != FOLDER), None
        )
        if blocking_folder:
            changes.append(
                Change("conflict", job.full_name, f"{blocking_folder} exists and is not a folder")
            )
            continue
        item = existing.get(job.full_name)
        if item is None:
            changes.append(Change("create", job.full_name))
        elif not is_managed(item.description):
            changes.append(
                Change(
                    "conflict",
                    job.full_name,
                    "a job of this name exists and pipedsl does not manage it",
                )
            )
        elif managed_digest(item.description) != job.digest:
            changes.append(Change("update", job.full_name))
        elif drift is not None and job.full_name in drift and drift[job.full_name] != job.canonical:
            changes.append(
                Change(
                    "drift",
                    job.full_name,
                    "changed on the server since the last sync; sync will restore it",
                )
            )
        else:
            changes.append(Change("unchanged", job.full_name))
    if prune:
        wanted = {j.full_name for j in desired}
        scopes = tuple(f + "/" for f in managed_folders)
        for name, item in sorted(existing.items()):
            if name in wanted or item.kind == FOLDER or not is_managed(item.description):
                continue
            if not scopes or name.startswith(scopes):
                changes.append(Change("delete", name, "no project defines it"))
    return SyncPlan(tuple(folders), tuple(changes))


@attrs.frozen
class SyncReport:
    plan: SyncPlan
    done: tuple[Change, ...]
    failed: tuple[tuple[Change, str], ...]
    not_done: tuple[Change, ...]
    requests: int

    @property
    def ok(self) -> bool:
        return not self.failed and not self.not_done and not self.plan.of("conflict")


def detect_drift(
    client: JenkinsApi, desired: Sequence[DesiredJob], existing: dict[str, Item]
) -> dict[str, str]:
    """Download the config of each managed job that looks unchanged, to find hand edits
    (costs one request per such job; only for ``--dry-run``/``--drift``)."""
    found = {}
    for job in desired:
        item = existing.get(job.full_name)
        if item is not None and managed_digest(item.description) == job.digest:
            found[job.full_name] = canonical_digest(client.job_config(job.full_name))
    return found


def apply_sync(
    client: JenkinsApi,
    plan: SyncPlan,
    desired: Sequence[DesiredJob],
    *,
    workers: int = 4,
    first_build: bool = False,
    progress: Callable[[Change, str | None], None] | None = None,
) -> SyncReport:
    """Carry out ``plan``: folders first (in order), then jobs, ``workers`` at a time. A failure
    stops what has not started; the report says what was done, what failed and what was not
    done, and re-running sync converges."""
    configs = {j.full_name: j for j in desired}
    done: list[Change] = []
    failed: list[tuple[Change, str]] = []
    for folder in plan.folders:
        change = Change("create", folder, "folder")
        try:
            client.create_folder(folder)
        except SyncError as exc:
            failed.append((change, str(exc)))
            rest = tuple(
                c for c in plan.changes if c.action in ("create", "update", "delete", "drift")
            )
            return SyncReport(plan, tuple(done), tuple(failed), rest, client.requests_made)
        done.append(change)
        if progress:
            progress(change, None)

    work = [c for c in plan.changes if c.action in ("create", "update", "delete", "drift")]
    stop = False

    def run(change: Change) -> tuple[Change, str | None]:
        if stop:
            return change, "skipped"
        try:
            job = configs.get(change.job)
            if change.action in ("create", "update", "drift") and job is None:
                return change, "no rendered config for this job"
            if change.action == "create" and job is not None:
                client.create_job(change.job, job.config_xml)
                if first_build and job.inline:
                    client.build_job(change.job)
            elif change.action in ("update", "drift") and job is not None:
                client.update_job(change.job, job.config_xml)
            else:
                client.delete_job(change.job)
        except SyncError as exc:
            return change, str(exc)
        return change, None

    not_done: list[Change] = []
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for change, error in pool.map(run, work):
            if error == "skipped":
                not_done.append(change)
            elif error is not None:
                failed.append((change, error))
                stop = True
            else:
                done.append(change)
            if progress and error != "skipped":
                progress(change, error)
    return SyncReport(plan, tuple(done), tuple(failed), tuple(not_done), client.requests_made)
