"""Retyped ``slackSend`` post blocks → one Slack notifier on the component."""

from __future__ import annotations

from pipedsl.errors import PipedslError
from pipedsl.importer.context import POST_CONDITIONS, Context
from pipedsl.importer.parse import Call, Ref, Str
from pipedsl.model.credentials import Credential
from pipedsl.model.notify import Scope, Slack


def slack_blocks(pipeline: Call) -> list[tuple[str | None, str, Call, list[Call]]]:
    """Every post condition made only of ``slackSend``: (stage or None, condition, block, sends)."""
    found: list[tuple[str | None, str, Call, list[Call]]] = []

    def visit(post: Call | None, stage: str | None) -> None:
        for block in post.body or () if post else ():
            if not isinstance(block, Call) or block.name not in POST_CONDITIONS:
                continue
            sends = [s for s in block.body or () if isinstance(s, Call) and s.name == "slackSend"]
            if sends and len(sends) == len(block.body or ()):
                found.append((stage, block.name, block, sends))

    def stages(container: Call | None) -> None:
        for stage in container.calls("stage") if container else ():
            name = stage.args[0].value if stage.args and isinstance(stage.args[0], Str) else None
            visit(stage.first("post"), name)
            stages(stage.first("parallel"))
            stages(stage.first("stages"))

    stages(pipeline.first("stages"))
    visit(pipeline.first("post"), None)
    return found


Block = tuple[str | None, str, Call, list[Call]]
ORDER = tuple(dict.fromkeys(("success", "failure", *POST_CONDITIONS)))


def slack_notifier(ctx: Context, pipeline: Call) -> tuple[Slack | None, set[int]]:
    """A Slack notifier that sends exactly what the replaced ``slackSend`` blocks sent (one
    message, the same channel, team and token, in the same conditions of the same stages, of
    the pipeline, or both), and the ids of the blocks it replaces; the others stay steps."""
    blocks = [b for b in slack_blocks(pipeline) if len(b[3]) == 1]
    settings = _settings(ctx, blocks)
    if settings is None:
        return None, set()
    channel, team, token_id, base = settings
    stage_blocks = [b for b in blocks if b[0] is not None]
    pipeline_blocks = [b for b in blocks if b[0] is None]
    stage_on = _product(stage_blocks)
    pipeline_on = tuple(c for c in ORDER if any(b[1] == c for b in pipeline_blocks))
    per: Scope
    if stage_on and pipeline_on and set(stage_on) == set(pipeline_on):
        per, on, chosen = "both", stage_on, blocks
    elif stage_on:
        per, on, chosen = "stage", stage_on, stage_blocks
    elif pipeline_on:
        per, on, chosen = "pipeline", pipeline_on, pipeline_blocks
    else:
        return None, set()
    names = {b[0] for b in chosen if b[0] is not None}
    leaves = leaf_stage_names(pipeline)
    limit = tuple(n for n in leaves if n in names) if names and names != set(leaves) else ()
    try:
        slack = Slack(
            channel=channel,
            team_domain=team,
            token=Credential.secret_text(token_id),
            base_url=base,
            per=per,
            on=on,
            stages=limit,
        )
    except PipedslError:
        return None, set()
    for stage, condition, _, sends in chosen:
        where = f"stage '{stage}'" if stage else "the pipeline"
        ctx.steps += 1
        ctx.typed += 1
        ctx.note(
            sends[0].line,
            "dropped",
            f"slackSend in post {{ {condition} }} of {where}",
            "replaced by the component's Slack notifier, which reads the stage name from "
            "Jenkins instead of a retyped copy",
        )
    return slack, {id(b[2]) for b in chosen}


def _settings(
    ctx: Context, blocks: list[Block]
) -> tuple[str | None, str | None, str, str | None] | None:
    """(channel, team, token credential id, base URL) when every block sends with the same
    ones, all known before the build runs."""
    found: set[tuple[str | None, ...]] = set()
    for _, _, _, sends in blocks:
        send = sends[0]
        token = send.arg("tokenCredentialId")
        if isinstance(token, Ref):
            ctx.id_env.add(token.code.removeprefix("env."))
        values = [send.arg(k) for k in ("channel", "teamDomain", "tokenCredentialId", "baseUrl")]
        read = tuple(ctx.literal(v) if v is not None else None for v in values)
        if any(v is not None and r is None for v, r in zip(values, read, strict=True)):
            return None  # a setting computed at run time: keep the steps as they are
        found.add(read)
    if len(found) != 1:
        return None
    channel, team, token_id, base = next(iter(found))
    return (channel, team, token_id, base) if token_id is not None else None


def _product(blocks: list[Block]) -> tuple[str, ...]:
    """The conditions, when ``blocks`` are the same conditions in each of their stages (what
    a per-stage notifier sends), else ``()``."""
    pairs = {(b[0], b[1]) for b in blocks}
    stages = {b[0] for b in blocks}
    conditions = tuple(c for c in ORDER if any(b[1] == c for b in blocks))
    if not blocks or pairs != {(s, c) for s in stages for c in conditions}:
        return ()
    return conditions


def leaf_stage_names(pipeline: Call) -> list[str]:
    names: list[str] = []

    def visit(container: Call | None) -> None:
        for stage in container.calls("stage") if container else ():
            if stage.first("parallel") or stage.first("stages"):
                visit(stage.first("parallel"))
                visit(stage.first("stages"))
            elif stage.args and isinstance(stage.args[0], Str):
                names.append(stage.args[0].value)

    visit(pipeline.first("stages"))
    return names
