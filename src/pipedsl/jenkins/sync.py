"""``pipedsl sync``: plan what must change on Jenkins, then apply the plan.

Deciding costs two requests whatever the number of jobs: an access check and one listing with
descriptions. Each managed job's description records its owner (project and repository) and a
digest of its config, so an unchanged job is recognised without downloading its config. A job
sync would overwrite or delete costs one download more: its config must carry the digest its
marker records, so a marker copied into another job never makes pipedsl touch that job.
"""

from __future__ import annotations

import functools
import re
import threading
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Literal
from urllib.parse import unquote

import attrs

from pipedsl.errors import SyncError
from pipedsl.jenkins.client import FOLDER, Item, JenkinsApi
from pipedsl.model.validate import github_coordinates
from pipedsl.record import Record
from pipedsl.render.configxml import (
    MULTIBRANCH_JOB,
    WORKFLOW_JOB,
    Marker,
    canonical_digest,
    read_marker,
)


def recorded_digest(config_xml: str) -> str:
    """The digest a rendered config records in its description (falling back to its canonical
    digest for a config without one)."""
    marker = read_marker(_description(config_xml))
    return marker.digest if marker else canonical_digest(config_xml)


def _description(config_xml: str) -> str | None:
    found = re.search(r"<description>(.*?)</description>", config_xml, re.DOTALL)
    return found.group(1) if found else None


def server_digest(config_xml: str) -> str:
    """``canonical_digest`` of a config as Jenkins serves it; one that is not even XML (edited
    by hand, or by a plugin we do not know) digests to a value no rendered config has."""
    try:
        return canonical_digest(config_xml)
    except ET.ParseError:
        return "unreadable"


def _builds(config_xml: str, repository: str) -> bool:
    """Whether a config, as Jenkins serves it, builds ``repository``: the URL of one of its SCM
    remotes is exactly that, its GitHub branch source names that repository, or its inline
    script checks exactly that out by URL (as pipedsl writes it: ``url: '<repository>'``). A mention anywhere else (a comment, another URL that
    starts the same) does not count."""
    try:
        root = ET.fromstring(re.sub(r"^<\?xml[^>]*\?>", "", config_xml.lstrip("\ufeff")))  # noqa: S314
    except ET.ParseError:
        return False
    remotes = root.findall(".//userRemoteConfigs/*/url")
    if any((url.text or "") == repository for url in remotes):
        return True
    wanted = github_coordinates(repository)
    if wanted is not None:
        # A multibranch job's GitHub branch source names the repository by owner and name
        # (GitHub compares both without regard to case).
        for source in root.iter("source"):
            named = (source.findtext("repoOwner") or "", source.findtext("repository") or "")
            if all(named) and [n.casefold() for n in named] == [w.casefold() for w in wanted]:
                return True
    checkout = re.compile(r"\burl:\s*(['\"])" + re.escape(repository) + r"\1")
    return any(checkout.search(script.text or "") for script in root.iter("script"))


Action = Literal["create", "update", "unchanged", "delete", "conflict", "drift", "edited", "build"]

#: Actions that write to Jenkins, in the order ``apply_sync`` carries them out.
WRITES: tuple[Action, ...] = ("create", "update", "drift", "delete", "build")

#: Actions that leave Jenkins different from the projects: sync exits 1.
BLOCKING: tuple[Action, ...] = ("conflict", "edited")


@attrs.frozen(eq=False, repr=False)
class Owner(Record):
    """Who a managed job belongs to: a project of a repository (two repositories may have
    projects of the same name, and may share a Jenkins folder)."""

    project: str
    repository: str


@attrs.frozen(eq=False, repr=False)
class DesiredJob(Record):
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
    def owner(self) -> Owner | None:
        """The project and repository its marker names (None for a config without one)."""
        marker = read_marker(_description(self.config_xml))
        if marker is None or marker.repository is None:
            return None
        return Owner(marker.project, unquote(marker.repository))

    @property
    def item_class(self) -> str | None:
        """The Jenkins class of the item its config makes (what a listing's ``_class`` shows),
        None when the config is not XML."""
        try:
            root = ET.fromstring(re.sub(r"^\ufeff?<\?xml[^>]*\?>", "", self.config_xml.lstrip()))  # noqa: S314
        except ET.ParseError:
            return None
        return WORKFLOW_JOB if root.tag == "flow-definition" else root.tag

    @property
    def folders(self) -> list[str]:
        parts = self.full_name.split("/")[:-1]
        return ["/".join(parts[: i + 1]) for i in range(len(parts))]


@attrs.frozen(eq=False, repr=False)
class Change(Record):
    """One line of a plan: what happens to which job, and why."""

    action: Action
    job: str
    reason: str = ""

    def __str__(self) -> str:
        return f"{self.action:<9} {self.job}" + (f"  ({self.reason})" if self.reason else "")


@attrs.frozen(eq=False, repr=False)
class SyncPlan(Record):
    """What sync would do. ``conflicts`` block the sync (a job of the same name that pipedsl does
    not manage, or that another repository's project manages); ``drift`` lists managed jobs
    edited on the server since the last sync that will be restored, ``edited`` those that will
    not (they block the sync too)."""

    folders: tuple[str, ...]
    changes: tuple[Change, ...]

    def of(self, action: Action) -> list[Change]:
        return [c for c in self.changes if c.action == action]

    @property
    def blocked(self) -> list[Change]:
        return [c for c in self.changes if c.action in BLOCKING]

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


def _owned(marker: Marker, owner: Owner | None) -> bool:
    return owner is not None and marker.owned_by(owner.project, owner.repository)


def _candidates(
    existing: dict[str, Item], owners: Collection[Owner], managed_folders: Sequence[str]
) -> list[tuple[str, Marker]]:
    """Jobs ``--prune`` may delete, as the listing shows them: managed jobs whose marker names
    the job itself and one of ``owners``, inside one of ``managed_folders``."""
    scopes = tuple(f.casefold() + "/" for f in managed_folders)
    found = []
    for name, item in sorted(existing.items()):
        marker = read_marker(item.description)
        if (
            item.kind == FOLDER
            or marker is None
            or marker.job.casefold() != name.casefold()
            or not any(_owned(marker, owner) for owner in owners)
        ):
            continue
        if not scopes or name.casefold().startswith(scopes):
            found.append((name, marker))
    return found


def configs_to_read(
    desired: Sequence[DesiredJob],
    existing: dict[str, Item],
    *,
    prune: bool = False,
    managed_folders: Sequence[str] = (),
    owners: Collection[Owner] = (),
    drift: bool = False,
) -> list[str]:
    """The jobs whose config ``plan_sync`` needs: every managed job sync would overwrite or
    delete (to check that its marker belongs to the config it sits in, so a marker copied into
    another job never makes pipedsl touch that job) and, when drift is looked for, every job
    that looks unchanged. An unchanged Jenkins still costs no download."""
    by_key = {name.casefold(): name for name in existing}
    names: list[str] = []
    for job in desired:
        name = by_key.get(job.full_name.casefold())
        if name is None:
            continue
        marker = read_marker(existing[name].description)
        mine = marker is not None and marker.job.casefold() == name.casefold()
        stale = marker is not None and (marker.repository is None or marker.digest != job.digest)
        if mine and (drift or stale):
            names.append(name)
    if prune:
        wanted = {j.full_name.casefold() for j in desired}
        names += [
            name
            for name, _ in _candidates(existing, owners, managed_folders)
            if name.casefold() not in wanted
        ]
    return names


def _existing_change(job: DesiredJob, item: Item, config: str | None, *, restore: bool) -> Change:
    """What to do with a job that exists: ``config`` is its config as Jenkins serves it (read
    when the listing alone cannot decide)."""
    marker = read_marker(item.description)
    owner = job.owner
    if marker is None or marker.job.casefold() != job.full_name.casefold():
        return Change(
            "conflict", job.full_name, "a job of this name exists and pipedsl does not manage it"
        )
    if marker.repository is None:  # written before owners were recorded
        if owner is None or marker.project != owner.project:
            return Change(
                "conflict",
                job.full_name,
                f"a job of this name is managed by pipedsl for project {marker.project!r}",
            )
        if config is None or not _builds(config, owner.repository):
            return Change(
                "conflict",
                job.full_name,
                "its marker names no repository and its config does not build "
                f"{owner.repository}; pipedsl will not take it over",
            )
        return Change("update", job.full_name, "taking over a job of an earlier pipedsl")
    if not _owned(marker, owner):
        return Change(
            "conflict",
            job.full_name,
            f"a job of this name is managed by pipedsl for project {marker.project!r} of "
            f"repository {unquote(marker.repository)}",
        )
    if config is None:
        if marker.digest == job.digest:  # the listing decides: the marker records its digest
            return Change("unchanged", job.full_name)
        return Change(
            "conflict", job.full_name, "its config was not read, so its marker cannot be checked"
        )
    on_server = server_digest(config)
    if on_server == job.digest:
        return Change("unchanged", job.full_name)
    if on_server == marker.digest:  # the config is what pipedsl wrote with this marker
        return Change("update", job.full_name)
    if owner is not None and _builds(config, owner.repository):
        return Change("drift" if restore else "edited", job.full_name, _DRIFT_REASON)
    return Change(
        "conflict",
        job.full_name,
        "its description carries pipedsl's marker, but the marker does not belong to its "
        "config, which does not build this repository (copied from another job?)",
    )


_KINDS = {WORKFLOW_JOB: "a pipeline job", MULTIBRANCH_JOB: "a multibranch job"}


def _class_changed(job: DesiredJob, item: Item, change: Change) -> Change:
    """``change`` (to a job sync may write), unless the job's class on Jenkins is not the class
    of its rendered config (a project switched to or from multibranch jobs): Jenkins never
    changes an item's class through its config.xml (it answers 500 "Expecting class ... but got
    class ... instead"), so no sync could update it; that is a conflict, said plainly."""
    if change.action not in ("update", "drift", "edited") or "." not in item.kind:
        return change  # a listing without Jenkins class names decides nothing
    wanted = job.item_class
    if wanted is None or wanted == item.kind:
        return change
    return Change(
        "conflict",
        job.full_name,
        f"it is {_KINDS.get(item.kind, item.kind)} on Jenkins and its project now makes it "
        f"{_KINDS.get(wanted, wanted)}; Jenkins cannot change the class of a job, so delete "
        "the job on Jenkins (its builds go with it) and sync again",
    )


def _deletes(
    desired: Sequence[DesiredJob],
    existing: dict[str, Item],
    owners: Collection[Owner],
    managed_folders: Sequence[str],
    configs: Mapping[str, str],
) -> list[Change]:
    """What ``--prune`` deletes: managed jobs no project defines any more whose config still
    carries the digest its marker records; the others are reported and left alone."""
    wanted = {j.full_name.casefold() for j in desired}
    changes = []
    for name, marker in _candidates(existing, owners, managed_folders):
        if name.casefold() in wanted:
            continue
        config = configs.get(name)
        repository = unquote(marker.repository or "")
        # Its marker belongs to its config, and the config builds the owner's repository: a
        # job pipedsl wrote, not one whose marker (digest included) was forged.
        if (
            config is not None
            and server_digest(config) == marker.digest
            and _builds(config, repository)
        ):
            changes.append(Change("delete", name, "no project defines it"))
        else:
            changes.append(
                Change(
                    "edited",
                    name,
                    "no project defines it, but its config was edited on the server since the "
                    "last sync (or its marker was copied into it); delete it by hand",
                )
            )
    return changes


def plan_sync(
    desired: Sequence[DesiredJob],
    existing: dict[str, Item],
    *,
    prune: bool = False,
    managed_folders: Sequence[str] = (),
    owners: Collection[Owner] = (),
    configs: Mapping[str, str] | None = None,
    restore: bool = False,
    first_build: bool = False,
    managed_projects: Sequence[str] | None = None,
) -> SyncPlan:
    """Compare desired jobs with the server's items (pure: no I/O).

    Item names are compared as Jenkins does, ignoring case. A job is pipedsl's to change only
    when its marker names the job itself and the owner (project and repository) that renders
    it, and, whenever it would be overwritten or deleted, when the marker's digest is that of
    the config it sits in (``configs``: the configs ``configs_to_read`` named, as Jenkins
    serves them). A managed job whose config was edited on the server is restored when
    ``restore`` (``--drift``) is given and still builds the owner's repository, and is
    reported as ``edited`` otherwise. ``managed_folders`` and ``owners`` limit pruning;
    ``first_build`` plans a build of each inline job that has never been built.
    ``managed_projects`` (project names) is deprecated and decides nothing: names alone cannot
    tell two repositories' projects apart.
    """
    if managed_projects is not None:
        warnings.warn(
            "plan_sync(managed_projects=...) is deprecated and no longer decides what is "
            "pruned (two repositories may have projects of one name); pass "
            "owners=[Owner(project.name, project.repository), ...]",
            DeprecationWarning,
            stacklevel=2,
        )
    configs = configs or {}
    by_key = {name.casefold(): (name, item) for name, item in existing.items()}
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
                if f.casefold() in by_key and by_key[f.casefold()][1].kind != FOLDER
            ),
            None,
        )
        if blocking_folder:
            changes.append(
                Change("conflict", job.full_name, f"{blocking_folder} exists and is not a folder")
            )
            continue
        found = by_key.get(job.full_name.casefold())
        if found is None:
            changes.append(Change("create", job.full_name))
        else:
            change = _existing_change(job, found[1], configs.get(found[0]), restore=restore)
            change = _class_changed(job, found[1], change)
            changes.append(change)
            if change.action == "conflict":
                continue
        item = found[1] if found else None
        if first_build and job.inline and (item is None or not item.built):
            builds.append(Change("build", job.full_name, _BUILD_REASON))
    if prune:
        changes += _deletes(desired, existing, owners, managed_folders, configs)
    return SyncPlan(tuple(folders), tuple(changes + builds))


@attrs.frozen(eq=False, repr=False)
class SyncReport(Record):
    """What ``apply_sync`` did, in plan order: done, failed (with the error) and not done
    (skipped after a failure)."""

    plan: SyncPlan
    done: tuple[Change, ...]
    failed: tuple[tuple[Change, str], ...]
    not_done: tuple[Change, ...]
    requests: int

    @property
    def ok(self) -> bool:
        return not self.failed and not self.not_done and not self.plan.blocked


def read_configs(client: JenkinsApi, names: Sequence[str], *, workers: int = 4) -> dict[str, str]:
    """The configs of ``names`` as Jenkins serves them, ``workers`` at a time (one request
    each)."""
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        configs = list(pool.map(client.job_config, names))
    return dict(zip(names, configs, strict=True))


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
