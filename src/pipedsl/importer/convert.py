"""The typed tree of a declarative pipeline → pipedsl model objects, with a report.

Each Jenkinsfile becomes one component: a preset (:func:`spring_boot_backend`,
:func:`npm_frontend`) when its stages are the preset's, otherwise a typed ``Component`` whose
stages hold typed steps where the model has them and a marked raw ``Groovy`` step where it
does not. Defects are turned into the safe form and reported: passwords in ``environment {}``,
``docker login -p``, secrets interpolated by Groovy into ``sh "..."``, ``sed`` on an image
placeholder, ``:latest``, hard-coded workspace paths.
"""

from __future__ import annotations

import attrs

from pipedsl.importer.context import Context, first_line, line_of
from pipedsl.importer.directives import (
    convert_agent,
    convert_options,
    convert_tools,
    convert_triggers,
    find_login,
    pipeline_environment,
    read_environment,
)
from pipedsl.importer.logins import settle_logins
from pipedsl.importer.notify import slack_notifier
from pipedsl.importer.parse import Call
from pipedsl.importer.presets import PresetCall, match_preset
from pipedsl.importer.report import ImportRefused, ReportLine
from pipedsl.importer.stages import convert_post, convert_stage, has_input, lift_agent_groups
from pipedsl.model.agents import Agent
from pipedsl.model.pipeline import (
    Pipeline,
)
from pipedsl.model.project import Component
from pipedsl.record import Record


@attrs.frozen(eq=False, repr=False)
class Converted(Record):
    """One imported Jenkinsfile: its typed ``Component``, the preset call that renders the same
    (if any), the repository and branch its ``git`` step named, its report and step counts."""

    path: str
    typed_component: Component
    preset: PresetCall | None
    repository: str | None
    branch: str | None
    notes: tuple[ReportLine, ...]
    steps: int
    typed: int
    raw: int

    @property
    def component(self) -> Component:
        """The component the project gets: the preset's when there is one."""
        return self.preset.component if self.preset else self.typed_component

    @property
    def report(self) -> list[ReportLine]:
        """The report, in line order, with the preset's lines when the preset is used."""
        lines = [*self.notes, *(self.preset.notes if self.preset else ())]
        return sorted(lines, key=lambda r: r.line)


def convert_file(path: str, name: str, pipeline: Call, comments: dict[int, str]) -> Converted:
    """One Jenkinsfile's ``pipeline { }`` as a component named ``name``."""
    ctx = Context(path, name, comments)
    read_environment(ctx, pipeline)
    ctx.secrets = dict(ctx.secret_env)
    ctx.gated = has_input(pipeline.first("stages"))
    find_login(ctx, pipeline)
    agent = convert_agent(ctx, pipeline.first("agent")) or Agent.any()
    tools = convert_tools(ctx, pipeline.first("tools"))
    options = convert_options(ctx, pipeline.first("options"))
    triggers = convert_triggers(ctx, pipeline.first("triggers"))
    for call in pipeline.calls("parameters") + pipeline.calls("libraries"):
        ctx.note(
            call.line,
            "dropped",
            f"{call.name} {{ }}",
            f"pipedsl has no {call.name}; set them on the job by hand",
        )
    stages_call = pipeline.first("stages")
    if stages_call is None:
        raise ImportRefused(
            f"{path}:{pipeline.line}: the pipeline has no `stages {{ }}`; a declarative "
            "pipeline needs at least one stage"
        )
    slack, dropped = slack_notifier(ctx, pipeline)
    stages = [convert_stage(ctx, s, dropped) for s in stages_call.calls("stage")]
    if agent.is_none and ctx.gated:
        agent, tools, stages = lift_agent_groups(ctx, stages_call, agent, tools, stages)
    for other in stages_call.body or ():
        if not (isinstance(other, Call) and other.name == "stage"):
            ctx.note(line_of(other), "dropped", first_line(other), "not a stage")
    post = convert_post(ctx, pipeline.first("post"), dropped)
    stages, post = settle_logins(ctx, stages, post)
    environment = pipeline_environment(ctx)
    component = Component(
        name,
        Pipeline(
            stages,
            agent=agent,
            tools=tools,
            options=options,
            environment=environment,
            post=post,
        ),
        notify=(slack,) if slack else (),
        image=next(iter(ctx.images.values()), None),
        triggers=triggers,
    )
    preset = match_preset(ctx, component, slack)
    return Converted(
        path,
        component,
        preset,
        ctx.repository,
        ctx.branch,
        tuple(ctx.report),
        ctx.steps,
        ctx.typed,
        ctx.raw,
    )
