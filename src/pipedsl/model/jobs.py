"""How a project's pipelines become Jenkins jobs."""

from __future__ import annotations

import re
from typing import Any, Literal

import attrs

from pipedsl.model import _checks

Definition = Literal["scm", "inline"]

PLACEHOLDER_URL = "http://jenkins.example.com:14149"


@attrs.frozen
class JenkinsJobs:
    """Job settings of a project.

    ``definition="scm"`` (the default) makes each job load its Jenkinsfile from the project's
    repository and branch, where ``pipedsl render`` wrote it; the GitHub push webhook finds such
    a job through that repository even before its first build. ``"inline"`` embeds the
    Jenkinsfile in the job (sandboxed); Jenkins only learns the repository of an inline job from
    a first build, so until one has run a push does not start it (``pipedsl sync
    --first-build`` starts one).

    ``url`` is the Jenkins URL GitHub calls (the webhook is ``<url>/github-webhook/``);
    ``checkout_credentials`` the credential id for a private repository.
    """

    definition: Definition = attrs.field(default="scm", validator=_checks.one_of(("scm", "inline")))
    url: str = attrs.field(
        default=PLACEHOLDER_URL,
        kw_only=True,
        validator=_checks.matches(r"https?://[^\s/'\"<>]+(/[^\s'\"<>]*)?", "an http(s) URL"),
    )
    checkout_credentials: str | None = attrs.field(
        default=None, kw_only=True, validator=_checks.optional(_checks.CREDENTIAL_ID)
    )

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


@attrs.frozen(cache_hash=True)
class Triggers:
    """When a component's job starts besides a GitHub push: ``cron`` (a Jenkins cron spec,
    ``"H 2 * * *"``: nightly) and ``poll_scm`` (check the repository on that schedule and build
    when it changed: for repositories that cannot send a webhook). They are written into the
    job's config.xml with the push trigger — not into the Jenkinsfile, whose ``triggers {}``
    would replace the job's triggers, push trigger included, when it first runs."""

    cron: str | None = attrs.field(default=None, validator=_cron)
    poll_scm: str | None = attrs.field(default=None, kw_only=True, validator=_cron)
