"""Notification policies applied: each notifier's messages added to the ``post`` blocks."""

from __future__ import annotations

import functools

import attrs

from pipedsl.model.notify import Notifier
from pipedsl.model.pipeline import Pipeline, Post
from pipedsl.model.steps import Step


@functools.lru_cache(maxsize=1024)
def _notification(notifier: Notifier, condition: str, scope: str) -> tuple[Step, ...]:
    # The same few messages go into every stage of every component: built once each.
    return notifier.steps_for(condition, scope)


def with_notifications(pipeline: Pipeline, notifiers: tuple[Notifier, ...]) -> Pipeline:
    """``pipeline`` with every notifier's messages added after the steps already in the
    ``post`` conditions of each stage and/or of the pipeline."""
    if not notifiers:
        return pipeline

    def additions(scope: str) -> dict[str, tuple[Step, ...]]:
        added: dict[str, tuple[Step, ...]] = {}
        for notifier in notifiers:
            if scope in notifier.scopes():
                for condition in notifier.on:
                    added[condition] = (
                        *added.get(condition, ()),
                        *_notification(notifier, condition, scope),
                    )
        return added

    per_stage = tuple(additions("stage").items())
    stages = (
        [attrs.evolve(stage, post=_extended(stage.post, per_stage)) for stage in pipeline.stages]
        if per_stage
        else pipeline.stages
    )
    post = _extended(pipeline.post, tuple(additions("pipeline").items()))
    return attrs.evolve(pipeline, stages=stages, post=post)


@functools.lru_cache(maxsize=1024)
def _extended(post: Post, additions: tuple[tuple[str, tuple[Step, ...]], ...]) -> Post:
    # Most stages share their post block (often the empty one): each is extended once.
    return post.extended(dict(additions))
