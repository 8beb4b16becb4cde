"""Notification policies: one setting that adds a message to every stage's (or the
pipeline's) ``post`` conditions, with the stage name read from Jenkins, never typed twice.
(:func:`pipedsl.resolve.notify.with_notifications` adds them to a pipeline.)"""

from __future__ import annotations

import functools
import string
from typing import Any, Literal

import attrs

from pipedsl.errors import ModelError
from pipedsl.model import _checks
from pipedsl.model.credentials import Credential
from pipedsl.model.pipeline import POST_CONDITIONS
from pipedsl.model.steps import DiscordSend, SlackSend, Step
from pipedsl.model.values import (
    BUILD_NUMBER,
    BUILD_RESULT,
    BUILD_URL,
    JOB_NAME,
    STAGE_NAME,
    GroovyExpr,
    GString,
    Text,
    format_text,
)
from pipedsl.record import CachedRecord

Scope = Literal["stage", "pipeline", "both"]

# What each post condition reports as its status. ``always`` and ``changed`` do not know the
# outcome in advance, so they ask Jenkins.
_STATUS: dict[str, Text] = {
    "always": BUILD_RESULT,
    "changed": BUILD_RESULT,
    "fixed": "FIXED",
    "regression": "REGRESSION",
    "aborted": "ABORTED",
    "failure": "FAILURE",
    "success": "SUCCESS",
    "unstable": "UNSTABLE",
    "unsuccessful": BUILD_RESULT,
    "cleanup": BUILD_RESULT,
}

SLACK_COLORS: dict[str, str] = {
    "success": "good",
    "fixed": "good",
    "failure": "danger",
    "regression": "danger",
    "unsuccessful": "danger",
    "unstable": "warning",
    "aborted": "#808080",
    "always": "#439FE0",
    "changed": "#439FE0",
    "cleanup": "#439FE0",
}

STAGE_MESSAGE = "{status}: stage '{stage}' of {job} #{build} ({url})"
PIPELINE_MESSAGE = "{status}: {job} #{build} ({url})"


DURATION = GroovyExpr("currentBuild.durationString")
COMMIT_VAR = "PIPEDSL_COMMIT"
"""Set right after the checkout (to the commit's 7 hex digits) when a message uses ``{commit}``."""
FAILED_STAGE_VAR = "PIPEDSL_FAILED_STAGE"
"""Set by the first stage that fails when a pipeline message uses ``{failed_stage}``."""
COMMIT = GroovyExpr(f"(env.{COMMIT_VAR} ?: 'unknown')")
FAILED_STAGE = GroovyExpr(f"(env.{FAILED_STAGE_VAR} ?: 'none')")


@functools.lru_cache(maxsize=256)
def _placeholders(template: str) -> frozenset[str]:
    """The placeholders a (checked) message template uses; the same few templates are asked
    about for every component."""
    return frozenset(name for _, name, _, _ in string.Formatter().parse(template) if name)


def _fields(condition: str, scope: str, image: str | None = "IMAGE") -> dict[str, Text]:
    """The placeholders of a message template. ``image`` is the variable holding the reference
    of the image the component pushes (None: the component pushes none, so ``{image}`` is not
    offered)."""
    fields: dict[str, Text] = {"status": _STATUS[condition]}
    if scope == "stage":
        fields["stage"] = STAGE_NAME
    fields.update(job=JOB_NAME, build=BUILD_NUMBER, url=BUILD_URL, duration=DURATION, commit=COMMIT)
    if scope == "pipeline":
        fields["failed_stage"] = FAILED_STAGE
    if image is not None:
        fields["image"] = GroovyExpr(f"env.{image}")
    return fields


def _check_conditions(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, tuple) or not value:
        raise _checks.fail(instance, attribute, "expected a non-empty list of post conditions")
    for condition in value:
        if condition not in POST_CONDITIONS:
            raise _checks.fail(
                instance,
                attribute,
                f"unknown condition {condition!r}; allowed: {', '.join(POST_CONDITIONS)}",
            )


def _check_template(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is None:
        return
    _checks.text(multiline=True)(instance, attribute, value)
    scopes = ("stage", "pipeline") if instance.per == "both" else (instance.per,)
    for scope in scopes:
        try:
            format_text(value, _fields("success", scope), what=_checks.where(instance, attribute))
        except ModelError as exc:
            raise ModelError(f"{exc} (for per={scope!r} notifications)") from None


@attrs.frozen(kw_only=True, eq=False, repr=False)
class _Notifier(CachedRecord):
    per: Scope = attrs.field(
        default="stage", validator=_checks.one_of(("stage", "pipeline", "both"))
    )
    on: tuple[str, ...] = attrs.field(
        default=("success", "failure"), converter=_checks.str_tuple, validator=_check_conditions
    )
    message: str | None = attrs.field(default=None, validator=_check_template)
    stages: tuple[str, ...] = attrs.field(
        factory=tuple, converter=_checks.str_tuple, validator=_checks.tuple_of(str)
    )
    """With ``per="stage"`` (or ``"both"``): only these stages notify (all when empty)."""

    def text(self, condition: str, scope: str, image: str | None = "IMAGE") -> GString:
        """The message for ``condition`` in a stage's or the pipeline's ``post``; ``image`` is
        the variable of the component's pushed image (None when it pushes none)."""
        template = self.message or (STAGE_MESSAGE if scope == "stage" else PIPELINE_MESSAGE)
        return format_text(template, _fields(condition, scope, image), what="message")

    def notifies(self, stage: str) -> bool:
        """Whether the stage called ``stage`` gets this notifier's per-stage messages."""
        return not self.stages or stage in self.stages

    def scopes(self) -> tuple[str, ...]:
        return ("stage", "pipeline") if self.per == "both" else (self.per,)

    def uses(self, placeholder: str) -> bool:
        """Whether its message template uses ``{placeholder}`` (the default messages use
        neither ``{commit}`` nor ``{failed_stage}``)."""
        return self.message is not None and placeholder in _placeholders(self.message)


@attrs.frozen(kw_only=True, eq=False, repr=False)
class Slack(_Notifier):
    """Slack messages on ``on`` conditions (success and failure by default) of every stage
    (``per="stage"``), of the whole pipeline (``"pipeline"``), or both.

    ``message`` is a template with ``{status}``, ``{stage}`` (stage scope only), ``{job}``,
    ``{build}``, ``{url}``, ``{duration}``, ``{commit}`` (the checked-out commit),
    ``{failed_stage}`` (pipeline scope only: the first stage that failed) and ``{image}`` (the
    reference the component pushed); ``stages`` limits per-stage messages to those stages; without ``channel`` the
    Slack plugin's default channel is used::

        Slack(channel="#deploys", team_domain="acme", token=Credential.secret_text("slack-token"))
    """

    channel: str | None = attrs.field(
        default=None, validator=_checks.optional(_checks.text(multiline=False))
    )
    token: Credential = attrs.field(validator=_checks.instance_of(Credential))
    team_domain: str | None = attrs.field(
        default=None, validator=_checks.optional(_checks.text(multiline=False))
    )
    base_url: str | None = attrs.field(
        default=None, validator=_checks.optional(_checks.text(multiline=False))
    )
    fail_on_error: bool = attrs.field(default=False, validator=_checks.instance_of(bool))

    def __attrs_post_init__(self) -> None:
        if self.token.kind != "secret_text":
            raise ModelError(
                "Slack.token: expected Credential.secret_text(...) (its id, never the token)"
            )

    def steps_for(
        self, condition: str, scope: str, image: str | None = "IMAGE"
    ) -> tuple[Step, ...]:
        return (
            SlackSend(
                channel=self.channel,
                message=self.text(condition, scope, image),
                color=SLACK_COLORS[condition],
                team_domain=self.team_domain,
                token=self.token,
                base_url=self.base_url,
                fail_on_error=self.fail_on_error,
            ),
        )


@attrs.frozen(kw_only=True, eq=False, repr=False)
class Discord(_Notifier):
    """Discord messages (``discordSend``), the webhook URL kept in a secret-text credential::

    Discord(webhook=Credential.secret_text("discord-webhook"))
    """

    webhook: Credential = attrs.field(validator=_checks.instance_of(Credential))

    def __attrs_post_init__(self) -> None:
        if self.webhook.kind != "secret_text":
            raise ModelError(
                "Discord.webhook: expected Credential.secret_text(...) holding the webhook URL"
            )

    def steps_for(
        self, condition: str, scope: str, image: str | None = "IMAGE"
    ) -> tuple[Step, ...]:
        title_parts: list[Text] = [JOB_NAME, " #", BUILD_NUMBER]
        if scope == "stage":
            title_parts += [" ", STAGE_NAME]
        return (
            DiscordSend(
                webhook=self.webhook,
                title=GString(*title_parts),
                description=self.text(condition, scope, image),
                result=BUILD_RESULT if _STATUS[condition] == BUILD_RESULT else _STATUS[condition],
                link=BUILD_URL,
            ),
        )


Notifier = Slack | Discord
