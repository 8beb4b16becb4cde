"""How a project's pipelines become Jenkins jobs."""

from __future__ import annotations

from typing import Literal

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
