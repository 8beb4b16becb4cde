"""Notification policies applied: each notifier's messages added to the ``post`` blocks."""

from __future__ import annotations

import functools

import attrs

from pipedsl.errors import ModelError
from pipedsl.model.notify import FAILED_STAGE_VAR, Notifier
from pipedsl.model.pipeline import Pipeline, Post, Stage
from pipedsl.model.steps import RecordFailedStage, Step


@functools.lru_cache(maxsize=1024)
def _notification(
    notifier: Notifier, condition: str, scope: str, image: str | None
) -> tuple[Step, ...]:
    # The same few messages go into every stage of every component: built once each.
    return notifier.steps_for(condition, scope, image)


def with_notifications(
    pipeline: Pipeline, notifiers: tuple[Notifier, ...], image: str | None = "IMAGE"
) -> Pipeline:
    """``pipeline`` with every notifier's messages added after the steps already in the
    ``post`` conditions of each stage (those the notifier names, if it names any) and/or of the
    pipeline. ``image`` is the variable of the component's pushed image (None: it pushes none,
    and a message using ``{image}`` is refused)."""
    if not notifiers:
        return pipeline
    names = {stage.name for _, stage in pipeline.walk_stages()}
    for index, notifier in enumerate(notifiers):
        unknown = [s for s in notifier.stages if s not in names]
        if unknown:
            raise ModelError(
                f"notify[{index}].stages: no stage {', '.join(map(repr, unknown))}; the "
                f"stages are {', '.join(map(repr, pipeline.stage_names))}"
            )

    notifying = _Notifying(notifiers, image)
    stages = [notifying.notified(stage) for stage in pipeline.stages]
    post = _extended(pipeline.post, tuple(notifying.additions("pipeline").items()))
    return attrs.evolve(pipeline, stages=stages, post=post)


class _Notifying:
    """What :func:`with_notifications` adds, stage by stage (a class, not nested functions
    calling themselves, which would leave a reference cycle for the collector on every call)."""

    def __init__(self, notifiers: tuple[Notifier, ...], image: str | None) -> None:
        self.notifiers = notifiers
        self.image = image
        self.chosen = any(n.stages for n in notifiers)
        self.per_stage = tuple(self.additions("stage").items())
        self.record: tuple[tuple[str, tuple[Step, ...]], ...] = ()
        if any(n.uses("failed_stage") for n in notifiers):
            # The first stage that fails says so, for the pipeline's message.
            self.record = (("failure", (RecordFailedStage(FAILED_STAGE_VAR),)),)
            self.per_stage = _merged(self.record, self.per_stage)

    def additions(self, scope: str, stage: str | None = None) -> dict[str, tuple[Step, ...]]:
        added: dict[str, tuple[Step, ...]] = {}
        for notifier in self.notifiers:
            if scope in notifier.scopes() and (stage is None or notifier.notifies(stage)):
                for condition in notifier.on:
                    added[condition] = (
                        *added.get(condition, ()),
                        *_notification(notifier, condition, scope, self.image),
                    )
        return added

    def notified(self, stage: Stage) -> Stage:
        # Nested stages notify for themselves; the stage holding them does not repeat it.
        if stage.parallel:
            return attrs.evolve(stage, parallel=[self.notified(b) for b in stage.parallel])
        if stage.stages:
            return attrs.evolve(stage, stages=[self.notified(b) for b in stage.stages])
        added = (
            _merged(self.record, tuple(self.additions("stage", stage.name).items()))
            if self.chosen
            else self.per_stage
        )
        return attrs.evolve(stage, post=_extended(stage.post, added)) if added else stage


def _merged(
    first: tuple[tuple[str, tuple[Step, ...]], ...], then: tuple[tuple[str, tuple[Step, ...]], ...]
) -> tuple[tuple[str, tuple[Step, ...]], ...]:
    merged: dict[str, tuple[Step, ...]] = dict(first)
    for condition, steps in then:
        merged[condition] = (*merged.get(condition, ()), *steps)
    return tuple(merged.items())


@functools.lru_cache(maxsize=1024)
def _extended(post: Post, additions: tuple[tuple[str, tuple[Step, ...]], ...]) -> Post:
    # Most stages share their post block (often the empty one): each is extended once.
    return post.extended(dict(additions))
