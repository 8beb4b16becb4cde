"""``stage`` blocks → ``Stage``: steps, ``when``, ``post``, options, agents, approvals."""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from typing import Any

import attrs

from pipedsl.errors import PipedslError
from pipedsl.importer.context import POST_CONDITIONS, Context, first_line, line_of, reads
from pipedsl.importer.directives import convert_agent, convert_tools, keep_variable, minutes_of
from pipedsl.importer.parse import Assign, Call, Other, Ref
from pipedsl.importer.steps import convert_steps
from pipedsl.model.agents import Agent
from pipedsl.model.credentials import Credential
from pipedsl.model.pipeline import (
    Approval,
    Post,
    Stage,
    StageOptions,
    Tools,
    When,
)
from pipedsl.model.steps import (
    Step,
    WithCredentials,
)
from pipedsl.model.values import GroovyExpr, GString


def has_input(container: Call | None) -> bool:
    """Whether a stage below ``container`` waits for an approval (``input { }``)."""
    for stage in container.calls("stage") if container else []:
        if stage.first("input") or has_input(stage.first("stages")):
            return True
        if has_input(stage.first("parallel")):
            return True
    return False


def lift_agent_groups(
    ctx: Context, container: Call, agent: Agent, tools: Tools, stages: list[Stage]
) -> tuple[Agent, Tools, list[Stage]]:
    """A pipeline with ``agent none`` whose approval stages sit between groups of stages that
    each run on the same agent (what pipedsl renders for approval gates): the agent becomes the
    pipeline's and the groups' stages top-level stages again (pipedsl regroups them)."""
    groups = [s for s in stages if s.approval is None]
    agents = {s.agent for s in groups}
    plain = all(
        s.stages and not s.steps and s.when is None and not s.environment and s.post == Post()
        for s in groups
    )
    if not groups or len(agents) != 1 or None in agents or not plain:
        return agent, tools, stages
    lifted: list[Stage] = []
    for stage in stages:
        lifted += [stage] if stage.approval is not None else list(stage.stages)
    for call in container.calls("stage"):
        group = call.first("stages")
        if group is None or call.first("input"):
            continue
        ctx.note(
            call.line,
            "dropped",
            f"stage '{ctx.literal(call.args[0]) if call.args else ''}' around "
            f"{len(group.calls('stage'))} stage(s)",
            "it only gave them the agent; pipedsl groups the stages around an approval itself",
        )
        inner = call.first("tools")
        if inner is not None and tools == Tools():
            tools = convert_tools(ctx, inner)
    lifted_agent = next(iter(agents))
    assert lifted_agent is not None  # noqa: S101  (checked above)
    return lifted_agent, tools, lifted


STAGE_DIRECTIVES = frozenset(
    {"steps", "parallel", "stages", "failFast", "when", "environment", "options", "agent"}
    | {"input", "post"}
)


def convert_stage(ctx: Context, call: Call, dropped: set[int]) -> Stage:
    """A ``stage('name') { ... }`` block; ``dropped`` holds the post blocks a notifier
    replaces."""
    name = ctx.literal(call.args[0] if call.args else None) or f"Stage {call.line}"
    steps_call = call.first("steps")
    steps = convert_steps(ctx, steps_call.body or ()) if steps_call is not None else []
    options = _nested(ctx, call, dropped)
    when = call.first("when")
    if when is not None:
        options["when"] = convert_when(ctx, when)
    environment = call.first("environment")
    if environment is not None:
        options["environment"] = _stage_environment(ctx, environment)
    agent = call.first("agent")
    if agent is not None:
        options["agent"] = convert_agent(ctx, agent) or Agent.any()
    options.update(_gate(ctx, call))
    post = convert_post(ctx, call.first("post"), dropped)
    if post != Post():
        options["post"] = post
    for other in call.body or ():
        label = other.name if isinstance(other, Call) else None
        if label == "tools" and ctx.gated and call.first("stages") is not None:
            continue  # the tools of an approval gate's group: read with the group
        if label not in STAGE_DIRECTIVES:
            ctx.note(line_of(other), "dropped", first_line(other), "not a stage directive")
    steps = with_secrets(ctx, steps)
    if not steps and not options.get("parallel") and not options.get("stages"):
        steps = [_unconverted(ctx, call, "it has no steps pipedsl could read")]
    try:
        return Stage(name, steps, **options)
    except PipedslError as exc:
        return Stage(name, [_unconverted(ctx, call, str(exc))])


def _unconverted(ctx: Context, call: Call, why: str) -> Step:
    """A step that fails the stage, saying it was not converted: never a silent no-op."""
    ctx.steps += 1
    message = f"pipedsl import: stage not converted ({ctx.path}:{call.line}): {why}"
    name = ctx.literal(call.args[0]) if call.args else None
    return ctx.raw_step(
        f"error({message!r})", call.line, f"stage not converted: {why}", what=f"stage '{name}'"
    )


def _nested(ctx: Context, call: Call, dropped: set[int]) -> dict[str, Any]:
    """The stage's ``parallel`` or sequential ``stages``, and ``failFast``."""
    options: dict[str, Any] = {}
    parallel = call.first("parallel")
    nested = call.first("stages")
    if parallel is not None:
        options["parallel"] = [convert_stage(ctx, s, dropped) for s in parallel.calls("stage")]
    if nested is not None:
        options["stages"] = [convert_stage(ctx, s, dropped) for s in nested.calls("stage")]
    fail_fast = call.first("failFast")
    if fail_fast is not None and fail_fast.args and isinstance(fail_fast.args[0], Ref):
        options["fail_fast"] = fail_fast.args[0].code == "true"
    return options


def _stage_environment(ctx: Context, call: Call) -> dict[str, str | GString | GroovyExpr]:
    values: dict[str, str | GString | GroovyExpr] = {}
    for entry in call.body or ():
        if isinstance(entry, Assign) and not keep_variable(ctx, entry):
            continue
        if isinstance(entry, Assign) and isinstance(entry.value, Call):
            values[entry.name] = GroovyExpr(entry.value.text.strip())
        elif isinstance(entry, Assign) and (text := ctx.text(entry.value)) is not None:
            values[entry.name] = text
        else:
            ctx.note(line_of(entry), "dropped", first_line(entry), "not an environment entry")
    return values


def _gate(ctx: Context, call: Call) -> dict[str, Any]:
    """The stage's ``options`` and its approval (``input``): a stage that waits for an
    approval has the approval's timeout, not its own."""
    options: dict[str, Any] = {}
    stage_options = call.first("options")
    timed = convert_stage_options(ctx, stage_options) if stage_options is not None else None
    gate = call.first("input")
    if gate is None:
        return {"options": timed} if timed is not None else {}
    approval = convert_approval(ctx, gate)
    if timed is not None and timed.retries is None and timed.timeout_minutes is not None:
        approval = attrs.evolve(approval, timeout_minutes=timed.timeout_minutes)
    elif timed is not None:
        options["options"] = timed
    options["approval"] = approval
    return options


def with_secrets(ctx: Context, steps: list[Step]) -> list[Step]:
    """``steps`` inside ``withCredentials`` for each secret they read that was a literal in
    ``environment {}``."""
    text = repr(steps)
    for name, ident in ctx.secret_env.items():
        if reads(text, name):
            steps = [WithCredentials(Credential.secret_text(ident), [name], steps)]
    return steps


def convert_stage_options(ctx: Context, call: Call) -> StageOptions | None:
    minutes = retries = None
    for entry in call.body or ():
        if isinstance(entry, Call) and entry.name == "timeout":
            minutes = minutes_of(ctx, entry)
        elif isinstance(entry, Call) and entry.name == "retry" and entry.args:
            count = ctx.literal(entry.args[0])
            retries = int(count) if count and count.isdigit() else None
        else:
            ctx.note(line_of(entry), "dropped", first_line(entry), "a stage option pipedsl has not")
    if minutes is None:
        if retries is not None:
            ctx.note(call.line, "dropped", "retry without timeout", "pipedsl retries timed stages")
        return None
    return StageOptions(minutes, retries=retries)


def convert_approval(ctx: Context, call: Call) -> Approval:
    said = call.first("message")
    message = ctx.literal(said.args[0]) if said is not None and said.args else None
    submitter = call.first("submitter")
    names = (ctx.literal(submitter.args[0]) if submitter and submitter.args else None) or ""
    return Approval([n.strip() for n in names.split(",") if n.strip()], message=message)


def convert_when(ctx: Context, call: Call) -> When | None:
    """A ``when { }`` block: all of its conditions must hold. A condition that cannot be read
    makes the stage never run (reported): a stage that ran only sometimes must not start
    running always."""
    found = _conditions(ctx, call.body or ())
    try:
        return When(**found) if found else None
    except PipedslError as exc:
        ctx.note(call.line, "dropped", first_line(call), str(exc))
        return None


def _conditions(
    ctx: Context, entries: Sequence[Call | Assign | Other], *, unknown: str = "false"
) -> dict[str, Any]:
    """The ``When`` fields of ``entries``; a second condition of a kind already there joins
    ``all_of``. A condition that cannot be read becomes the expression ``unknown``: ``false``,
    or ``true`` under a ``not``, so that the stage runs less often, never more."""
    found: dict[str, Any] = {}
    for entry in entries:
        part = _condition(ctx, entry, unknown) if isinstance(entry, Call) else None
        if part is None:
            skipped = "skipped" if unknown == "false" else "kept from running"
            ctx.note(
                line_of(entry),
                "raw",
                first_line(entry),
                f"a when condition pipedsl cannot read: the stage is {skipped} (expression "
                f"{unknown}) until the condition is written in pipedsl",
            )
            part = {"expression": GroovyExpr(unknown)}
        for key, value in part.items():
            if key in ("any_of", "all_of"):
                found[key] = [*found.get(key, ()), *value]
            elif key in found:
                found["all_of"] = [*found.get("all_of", ()), When(**{key: value})]
            else:
                found[key] = value
    return found


def _branch(ctx: Context, entry: Call, arg: str | None) -> dict[str, Any] | None:
    """``branch 'main'`` / ``branch pattern: '...', comparator: 'REGEXP'``, as an expression on
    ``env.BRANCH_NAME`` (which only multibranch jobs set)."""
    pattern = arg or ctx.literal(entry.arg("pattern"))
    comparator = (ctx.literal(entry.arg("comparator")) or "GLOB").upper()
    if pattern is None or comparator not in ("GLOB", "REGEXP", "EQUALS"):
        return None
    ctx.note(
        entry.line,
        "converted",
        f"when {{ branch '{pattern}' }}",
        "holds only in multibranch jobs; written as an expression on env.BRANCH_NAME "
        "(for multibranch jobs use When(branch=...) with JenkinsJobs(definition="
        "'multibranch'))",
    )
    if comparator == "EQUALS" or (not any(c in pattern for c in "*?[") and comparator == "GLOB"):
        return {"expression": GroovyExpr(f"env.BRANCH_NAME == {groovy_quote(pattern)}")}
    regex = fnmatch.translate(pattern) if comparator == "GLOB" else pattern
    matches = f"env.BRANCH_NAME ==~ {groovy_quote(regex)}"
    return {"expression": GroovyExpr(f"env.BRANCH_NAME != null && {matches}")}


def groovy_quote(text: str) -> str:
    """``text`` as a single-quoted Groovy string."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _condition(ctx: Context, entry: Call, unknown: str) -> dict[str, Any] | None:
    arg = ctx.literal(entry.args[0]) if entry.args else None
    if entry.name == "branch":
        return _branch(ctx, entry, arg)
    if entry.name == "expression" and entry.body and len(entry.body) == 1:
        words = entry.body[0].text.split(None, 1)
        code = (words[1] if len(words) > 1 else "") if words[:1] == ["return"] else " ".join(words)
        return {"expression": GroovyExpr(" ".join(code.split()))} if code else None
    if entry.name == "environment":
        key, value = ctx.literal(entry.arg("name")), ctx.literal(entry.arg("value"))
        return {"environment": {key: value}} if key and value is not None else None
    pattern = arg or ctx.literal(entry.arg("pattern"))
    if entry.name == "changeset" and pattern and entry.arg("comparator") is None:
        return {"changeset": [pattern]}
    if entry.name in ("beforeAgent", "beforeInput"):
        return {"before_agent" if entry.name == "beforeAgent" else "before_input": True}
    if entry.name in ("anyOf", "allOf"):
        parts = [
            When(**c) for e in entry.body or () if (c := _conditions(ctx, [e], unknown=unknown))
        ]
        return {"any_of" if entry.name == "anyOf" else "all_of": parts} if parts else None
    if entry.name == "not":
        flipped = "true" if unknown == "false" else "false"
        inner = _conditions(ctx, entry.body or (), unknown=flipped)
        return {"not_": When(**inner)} if inner else None
    return None


def convert_post(ctx: Context, call: Call | None, dropped: set[int]) -> Post:
    found: dict[str, list[Step]] = {}
    for block in call.body or () if call else ():
        if isinstance(block, Call) and block.name in POST_CONDITIONS:
            if id(block) in dropped:
                continue
            found[block.name] = convert_steps(ctx, block.body or ())
        else:
            ctx.note(line_of(block), "dropped", first_line(block), "not a post condition")
    return Post(**found)
