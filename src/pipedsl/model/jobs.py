"""How a project's pipelines become Jenkins jobs."""

from __future__ import annotations

import re
from typing import Any, Literal

import attrs

from pipedsl.model import _checks
from pipedsl.record import CachedRecord, Record

Definition = Literal["scm", "inline", "multibranch"]

PLACEHOLDER_URL = "http://jenkins.example.com:14149"


def _wildcards(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    _checks.words(non_empty=False)(instance, attribute, value)
    assert isinstance(value, tuple)  # noqa: S101  (checked above)
    for pattern in value:
        if not re.fullmatch(r"[^\s\x00-\x1f\x7f]+", pattern):
            raise _checks.fail(
                instance,
                attribute,
                f"{pattern!r}: a branch pattern is a name with '*' wildcards, without spaces",
            )


@attrs.frozen(eq=False, repr=False)
class Branches(CachedRecord):
    """What a multibranch job builds (``JenkinsJobs(definition="multibranch")``).

    ``include``: wildcard patterns of the branch names that get builds (``"main"``,
    ``"release/*"``; every branch when empty). ``pull_requests``: pull requests from branches
    of the repository itself get builds (``PR-<number>``, merged with their target branch).
    ``forks``: pull requests from forks too, with the Jenkinsfile of the target branch unless the
    author may write to the repository (Jenkins' "trust permission"). ``tags``: wildcard
    patterns of the tags that get builds too (``["v*"]``; ``When(tag="v*")`` holds in them) —
    tags pushed within ``tag_days`` days; older ones, found on a first scan, are not built. ``prune``: jobs of
    deleted branches and closed pull requests are removed. ``scan_hours``: how often Jenkins
    re-scans the repository besides the webhook (a safety net for missed events).
    """

    include: tuple[str, ...] = attrs.field(
        factory=tuple, converter=_checks.str_tuple, validator=_wildcards
    )
    pull_requests: bool = attrs.field(
        default=True, kw_only=True, validator=_checks.instance_of(bool)
    )
    forks: bool = attrs.field(default=False, kw_only=True, validator=_checks.instance_of(bool))
    tags: tuple[str, ...] = attrs.field(
        factory=tuple, kw_only=True, converter=_checks.str_tuple, validator=_wildcards
    )
    tag_days: int = attrs.field(default=3, kw_only=True, validator=_checks.positive_int)
    prune: bool = attrs.field(default=True, kw_only=True, validator=_checks.instance_of(bool))
    scan_hours: int = attrs.field(default=24, kw_only=True, validator=_checks.positive_int)


@attrs.frozen(eq=False, repr=False)
class JenkinsJobs(Record):
    """Job settings of a project.

    ``definition="scm"`` (the default) makes each job load its Jenkinsfile from the project's
    repository and branch, where ``pipedsl render`` wrote it; the GitHub push webhook finds such
    a job through that repository even before its first build. ``"inline"`` embeds the
    Jenkinsfile in the job (sandboxed); Jenkins only learns the repository of an inline job from
    a first build, so until one has run a push does not start it (``pipedsl sync
    --first-build`` starts one).

    ``"multibranch"`` makes each component a multibranch job (GitHub branch source): every
    branch and pull request that ``branches`` (:class:`Branches`) selects gets a job of its own
    building its own Jenkinsfile, ``When(branch=...)`` and ``When(change_request=...)`` hold
    where they should, and the stages that push images, wait for an approval or deploy run
    only on the component's deploy branch (``Component.branch``, else ``Project.branch``).

    ``url`` is the Jenkins URL GitHub calls (the webhook is ``<url>/github-webhook/``);
    ``checkout_credentials`` the credential id for a private repository (for multibranch jobs
    also the GitHub API login: a username/password credential holding a token).
    """

    definition: Definition = attrs.field(
        default="scm", validator=_checks.one_of(("scm", "inline", "multibranch"))
    )
    url: str = attrs.field(
        default=PLACEHOLDER_URL,
        kw_only=True,
        validator=_checks.matches(r"https?://[^\s/'\"<>]+(/[^\s'\"<>]*)?", "an http(s) URL"),
    )
    checkout_credentials: str | None = attrs.field(
        default=None, kw_only=True, validator=_checks.optional(_checks.CREDENTIAL_ID)
    )
    branches: Branches | None = attrs.field(
        default=None, kw_only=True, validator=_checks.optional(_checks.instance_of(Branches))
    )
    """What a multibranch job builds (every branch and the repository's own pull requests when
    not given)."""

    def __attrs_post_init__(self) -> None:
        if self.branches is not None and self.definition != "multibranch":
            raise _checks.fail(
                self,
                attrs.fields(JenkinsJobs).branches,
                f"branches apply to multibranch jobs; this project's jobs are "
                f"definition={self.definition!r} (give definition='multibranch')",
            )

    @property
    def multibranch(self) -> bool:
        return self.definition == "multibranch"

    @property
    def branch_selection(self) -> Branches:
        """What a multibranch job builds."""
        return self.branches if self.branches is not None else Branches()

    @property
    def is_placeholder(self) -> bool:
        """Whether ``url`` is still the example default rather than the team's Jenkins."""
        return self.url == PLACEHOLDER_URL

    @property
    def webhook_url(self) -> str:
        return self.url.rstrip("/") + "/github-webhook/"


# One field of a Jenkins cron line: numbers, ranges, steps, lists, H (hash) and H(a-b), *,
# and month/day names.
_CRON_FIELD = r"(?:\*|H(?:\([0-9]+-[0-9]+\))?|[0-9A-Za-z]+(?:-[0-9A-Za-z]+)?)(?:/[0-9]+)?"
_CRON_LINE = re.compile(
    rf"@(?:yearly|annually|monthly|weekly|daily|midnight|hourly)"
    rf"|{_CRON_FIELD}(?:,{_CRON_FIELD})*(?:[ \t]+{_CRON_FIELD}(?:,{_CRON_FIELD})*){{4}}"
)


def _cron(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is None:
        return
    if not isinstance(value, str) or not value.strip():
        raise _checks.fail(instance, attribute, "expected a cron line such as 'H 2 * * *'")
    for line in value.strip().splitlines():
        if not _CRON_LINE.fullmatch(line.strip()):
            raise _checks.fail(
                instance,
                attribute,
                f"{line.strip()!r} is not a Jenkins cron line: five fields (minute hour "
                "day-of-month month day-of-week; H, *, ranges, steps, lists) or @daily, "
                "@hourly, ...",
            )


@attrs.frozen(eq=False, repr=False)
class Triggers(CachedRecord):
    """When a component's job starts besides a GitHub push: ``cron`` (a Jenkins cron spec,
    ``"H 2 * * *"``: nightly) and ``poll_scm`` (check the repository on that schedule and build
    when it changed: for repositories that cannot send a webhook). They are written into the
    job's config.xml with the push trigger — not into the Jenkinsfile, whose ``triggers {}``
    would replace the job's triggers, push trigger included, when it first runs."""

    cron: str | None = attrs.field(default=None, validator=_cron)
    poll_scm: str | None = attrs.field(default=None, kw_only=True, validator=_cron)
