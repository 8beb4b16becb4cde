"""Pods that run to completion: a Job (once per deploy: a migration, a cache warm-up) and a
CronJob (on a schedule: a nightly report). A component's deploy pins their containers to the
image its build pushed, exactly as it pins its Deployment's."""

from __future__ import annotations

import re
from typing import Any, ClassVar

import attrs

from pipedsl.model import _checks
from pipedsl.model.k8s import _checks as k8s
from pipedsl.model.k8s.workloads import Container, _check_containers, _containers, _Workload

_optional_seconds = _checks.optional(_checks.positive_int)


@attrs.frozen(eq=False, repr=False)
class _RunToCompletion(_Workload):
    """What Jobs and CronJobs share: pods that run until they succeed, retried on failure."""

    backoff_limit: int = attrs.field(default=2, kw_only=True, validator=k8s.non_negative_int)
    """Retries before a run counts as failed (Kubernetes' default is 6)."""
    active_deadline_seconds: int | None = attrs.field(
        default=None, kw_only=True, validator=_optional_seconds
    )
    """A run fails when it lasts longer than this, retries included."""
    restart_policy: str = attrs.field(
        default="Never", kw_only=True, validator=_checks.one_of(("Never", "OnFailure"))
    )
    termination_grace_period_seconds: int = attrs.field(
        default=30, kw_only=True, validator=k8s.non_negative_int
    )
    namespace: str = attrs.field(default="default", kw_only=True, validator=k8s.NAME)
    annotations: tuple[tuple[str, str], ...] = attrs.field(
        factory=tuple, kw_only=True, converter=_checks.pairs, validator=k8s.check_annotations
    )
    """The object's annotations, for the tools that apply it (an Argo CD sync hook)."""

    def __attrs_post_init__(self) -> None:
        self.check_pod()


@attrs.frozen(eq=False, repr=False)
class Job(_RunToCompletion):
    """Pods run once to success: ``Job("migrate", [Container("migrate", image,
    args=["migrate"])], namespace="shop")``.

    A Job's pods cannot be changed once it exists, so a deploy replaces it: the previous run is
    deleted, the Job applied with the pushed image, and the deploy waits for it to complete
    (``timeout`` of the deploy) — it fails when the Job fails ``backoff_limit + 1`` times."""

    kind: ClassVar[str] = "Job"
    api_version: ClassVar[str] = "batch/v1"

    name: str = attrs.field(validator=k8s.NAME)
    containers: tuple[Container, ...] = attrs.field(
        converter=_containers, validator=_check_containers
    )
    ttl_seconds_after_finished: int | None = attrs.field(
        default=None, kw_only=True, validator=_checks.optional(k8s.non_negative_int)
    )
    """Delete the finished Job (and its pods' logs) this long after it ends."""


# Five fields (minute hour day-of-month month day-of-week) of numbers, names, ranges, lists and
# steps, or one of the @-macros Kubernetes accepts.
_FIELD = (
    r"(\*|[0-9A-Za-z]+(-[0-9A-Za-z]+)?)(/[0-9]+)?(,(\*|[0-9A-Za-z]+(-[0-9A-Za-z]+)?)(/[0-9]+)?)*"
)
_SCHEDULE = re.compile(
    rf"@(yearly|annually|monthly|weekly|daily|midnight|hourly)|{_FIELD}( {_FIELD}){{4}}"
)
_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
_NAMES = (
    (),
    (),
    (),
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
    ("sun", "mon", "tue", "wed", "thu", "fri", "sat"),
)
_FIELD_NAMES = ("minute", "hour", "day of month", "month", "day of week")


def _check_schedule(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    allowed = (
        "a cron schedule of five fields (minute hour day-of-month month day-of-week) such as "
        "'30 2 * * *', or @daily, @hourly, @weekly, @monthly, @yearly"
    )
    if not isinstance(value, str) or not _SCHEDULE.fullmatch(value):
        raise _checks.fail(instance, attribute, f"expected {allowed}, got {value!r}")
    if value.startswith("@"):
        return
    for field, (low, high), names, what in zip(
        value.split(" "), _RANGES, _NAMES, _FIELD_NAMES, strict=True
    ):
        for item in field.split(","):
            span, _, step = item.partition("/")
            if step and int(step) == 0:
                raise _checks.fail(instance, attribute, f"{value!r}: a step of 0 never repeats")
            for word in span.split("-"):
                if word == "*":
                    continue
                if word.isdigit():
                    if not low <= int(word) <= high:
                        raise _checks.fail(
                            instance, attribute, f"{value!r}: {what} {word} is outside {low}-{high}"
                        )
                elif word.lower() not in names:
                    raise _checks.fail(instance, attribute, f"{value!r}: {word!r} is not a {what}")


_TIME_ZONE = _checks.matches(
    r"[A-Za-z_]+(/[A-Za-z0-9_+-]+){0,2}|UTC", "an IANA time zone such as 'Asia/Seoul' or 'UTC'"
)


@attrs.frozen(eq=False, repr=False)
class CronJob(_RunToCompletion):
    """Pods run on a schedule: ``CronJob("report", [Container("report", image)],
    schedule="0 3 * * *", time_zone="Asia/Seoul")``. By default a run is skipped while the
    previous one still runs (``concurrency_policy="Forbid"``)."""

    kind: ClassVar[str] = "CronJob"
    api_version: ClassVar[str] = "batch/v1"

    name: str = attrs.field(
        validator=_checks.matches(
            r"[a-z0-9]([-a-z0-9]{0,50}[a-z0-9])?",
            "a DNS-1123 label of at most 52 characters (Kubernetes adds 11 to name each run)",
        )
    )
    containers: tuple[Container, ...] = attrs.field(
        converter=_containers, validator=_check_containers
    )
    schedule: str = attrs.field(kw_only=True, validator=_check_schedule)
    time_zone: str | None = attrs.field(
        default=None, kw_only=True, validator=_checks.optional(_TIME_ZONE)
    )
    """The zone ``schedule`` is read in (the controller's, usually UTC, when None)."""
    concurrency_policy: str = attrs.field(
        default="Forbid", kw_only=True, validator=_checks.one_of(("Forbid", "Allow", "Replace"))
    )
    suspend: bool = attrs.field(default=False, kw_only=True, validator=_checks.instance_of(bool))
    starting_deadline_seconds: int | None = attrs.field(
        default=None, kw_only=True, validator=_optional_seconds
    )
    successful_jobs_history_limit: int = attrs.field(
        default=3, kw_only=True, validator=k8s.non_negative_int
    )
    failed_jobs_history_limit: int = attrs.field(
        default=1, kw_only=True, validator=k8s.non_negative_int
    )
