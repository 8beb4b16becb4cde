"""Registry logins written by hand, settled once the whole pipeline is converted.

A ``docker login`` is first converted to its safe form (the password piped on stdin from a
credential). When the pipeline pushes with a typed ``DockerPush``, which logs in itself, the
login is left out, and so is a ``withCredentials`` that only that login read; otherwise the
safe login stays in place of the original.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import attrs

from pipedsl.importer.context import Context, reads
from pipedsl.model.pipeline import Post, Stage
from pipedsl.model.steps import Block, DockerPush, Step, WithCredentials

CONDITIONS = tuple(f.name for f in attrs.fields(Post))


def settle_logins(ctx: Context, stages: Sequence[Stage], post: Post) -> tuple[list[Stage], Post]:
    """``stages`` and ``post`` with the pending logins left out when a typed push logs in,
    each login reported."""
    if not ctx.pending_logins:
        return list(stages), post
    pushes = any(isinstance(s, DockerPush) for s in _all_steps(stages, post))
    assert ctx.login is not None  # noqa: S101  (a pending login sets it)
    for line, what in ctx.pending_logins.values():
        if what == "docker login --password-stdin" and pushes:
            ctx.note(
                line,
                "dropped",
                what,
                f"Docker Push logs in itself, with the Jenkins credential '{ctx.login.id}'",
            )
        elif pushes:
            ctx.note(
                line,
                "converted",
                what,
                "a password on the command line shows in the process list and the log; Docker "
                f"Push now logs in with the Jenkins credential '{ctx.login.id}' (password on "
                "stdin)",
            )
        elif what != "docker login --password-stdin":
            ctx.note(
                line,
                "converted",
                what,
                "a password on the command line shows in the process list and the log; the "
                f"login now reads the Jenkins credential '{ctx.login.id}' and gets the password "
                "on stdin",
            )
    if not pushes:
        return list(stages), post
    return [_stage(ctx, s) for s in stages], _post(ctx, post)


def _all_steps(stages: Sequence[Stage], post: Post) -> Iterator[Step]:
    for stage in stages:
        yield from _walk(stage.steps)
        yield from _all_steps([*stage.parallel, *stage.stages], stage.post)
    for condition in CONDITIONS:
        yield from _walk(getattr(post, condition))


def _walk(steps: Sequence[Step]) -> Iterator[Step]:
    for step in steps:
        yield step
        yield from _walk(step.children)


def _stage(ctx: Context, stage: Stage) -> Stage:
    return attrs.evolve(
        stage,
        steps=_steps(ctx, stage.steps),
        parallel=[_stage(ctx, s) for s in stage.parallel],
        stages=[_stage(ctx, s) for s in stage.stages],
        post=_post(ctx, stage.post),
    )


def _post(ctx: Context, post: Post) -> Post:
    return Post(**{c: _steps(ctx, getattr(post, c)) for c in CONDITIONS})


def _steps(ctx: Context, steps: Sequence[Step]) -> list[Step]:
    out: list[Step] = []
    for step in steps:
        if id(step) in ctx.pending_logins:
            continue
        if isinstance(step, Block):
            inner = _steps(ctx, step.steps)
            if isinstance(step, WithCredentials) and _only_for_login(ctx, step, inner):
                out += inner
                continue
            out.append(step.with_children(tuple(inner)))
            continue
        out.append(step)
    return out


def _only_for_login(ctx: Context, step: WithCredentials, inner: Sequence[Step]) -> bool:
    """A ``withCredentials`` of the registry login whose variables nothing reads any more."""
    if step.credential.id not in ctx.login_bindings:
        return False
    text = repr(list(inner))
    if any(reads(text, v) for v in step.variables):
        return False
    ctx.note(
        ctx.withcredentials_lines.get(id(step), 0),
        "dropped",
        f"withCredentials of '{step.credential.id}'",
        "only the docker login read its variables; Docker Push logs in with the credential itself",
    )
    return True
