"""The declarative pipeline: agent, tools, options, environment, stages and ``post`` blocks."""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Literal

import attrs

from pipedsl.errors import ModelError
from pipedsl.model import _checks
from pipedsl.model.agents import Agent
from pipedsl.model.k8s import _checks as k8s
from pipedsl.model.steps import Step, steps_tuple
from pipedsl.model.values import GroovyExpr, GString, Text, too_long
from pipedsl.record import CachedRecord

_TEXT = (str, GroovyExpr, GString)

POST_CONDITIONS = (
    "always",
    "changed",
    "fixed",
    "regression",
    "aborted",
    "failure",
    "success",
    "unstable",
    "unsuccessful",
    "cleanup",
)
"""Declarative ``post`` conditions, in the order Jenkins runs them."""

_POST_STEPS = operator.attrgetter(*POST_CONDITIONS)

PostCondition = Literal[
    "always",
    "changed",
    "fixed",
    "regression",
    "aborted",
    "failure",
    "success",
    "unstable",
    "unsuccessful",
    "cleanup",
]


EnvInput = Mapping[str, Text] | Iterable[tuple[str, Text]]


def _env_pairs(value: EnvInput) -> tuple[tuple[str, Text], ...]:
    found: tuple[tuple[str, Text], ...] = _checks.pairs(value)
    return found


def _check_env(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, tuple):
        raise _checks.fail(instance, attribute, "expected a mapping of variable name to value")
    seen: set[str] = set()
    for pair in value:
        if not (isinstance(pair, tuple) and len(pair) == 2):
            raise _checks.fail(instance, attribute, "expected a mapping of variable name to value")
        name, val = pair
        _checks.ENV_NAME(instance, attribute, name)
        if name in seen:
            raise _checks.fail(instance, attribute, f"variable {name!r} is set twice")
        seen.add(name)
        if not isinstance(val, _TEXT) or isinstance(val, bool):
            raise _checks.fail(
                instance, attribute, f"{name}: expected str, GroovyExpr or GString, got {val!r}"
            )
        if isinstance(val, str) and "\x00" in val:
            raise _checks.fail(instance, attribute, f"{name}: must not contain a NUL character")
        problem = too_long(val)
        if problem is not None:
            raise _checks.fail(instance, attribute, f"{name}: {problem}")


_VERSION = _checks.matches(r"[0-9A-Za-z][0-9A-Za-z.+_-]*", "a version such as 3.9.6 or 20.10.0")


@attrs.frozen(eq=False, repr=False)
class Tool(CachedRecord):
    """A tool installation of Jenkins' Global Tool Configuration, by its ``name`` there, and
    how Jenkins gets it: ``version`` installs that version automatically from the tool's own
    downloads (Maven, Node.js and Gradle), ``home`` is where it is already installed on every
    agent. With neither, the installation must exist on Jenkins already. The generated
    configuration-as-code and SETUP.md declare it either way."""

    name: str = attrs.field(validator=_checks.text(multiline=False))
    version: str | None = attrs.field(
        default=None, kw_only=True, validator=_checks.optional(_VERSION)
    )
    home: str | None = attrs.field(
        default=None, kw_only=True, validator=_checks.optional(_checks.text(multiline=False))
    )

    def __attrs_post_init__(self) -> None:
        if self.version is not None and self.home is not None:
            raise _checks.fail(
                self,
                attrs.fields(Tool).home,
                "give a version (installed by Jenkins) or a home (already installed), not both",
            )

    def __str__(self) -> str:
        return self.name


def _tool(value: object) -> object:
    return Tool(value) if isinstance(value, str) else value


@attrs.frozen(eq=False, repr=False)
class Tools(CachedRecord):
    """Tool installations put on PATH, each by its name in Jenkins' Global Tool Configuration
    (a string) or as a :class:`Tool` that also says how Jenkins installs it."""

    maven: Tool | None = attrs.field(
        default=None, converter=_tool, validator=_checks.optional(_checks.instance_of(Tool))
    )
    jdk: Tool | None = attrs.field(
        default=None, converter=_tool, validator=_checks.optional(_checks.instance_of(Tool))
    )
    nodejs: Tool | None = attrs.field(
        default=None, converter=_tool, validator=_checks.optional(_checks.instance_of(Tool))
    )
    gradle: Tool | None = attrs.field(
        default=None, converter=_tool, validator=_checks.optional(_checks.instance_of(Tool))
    )

    def __attrs_post_init__(self) -> None:
        if self.jdk is not None and self.jdk.version is not None:
            raise _checks.fail(
                self,
                attrs.fields(Tools).jdk,
                "Jenkins has no built-in JDK installer: give the JDK's home "
                "(Tool(name, home=...)) or only its name",
            )

    def items(self) -> list[tuple[str, str]]:
        """``(tool type, installation name)`` for the tools that are set, in a fixed order."""
        return [(kind, tool.name) for kind, tool in self.installations()]

    def installations(self) -> list[tuple[str, Tool]]:
        """``(tool type, installation)`` for the tools that are set, in a fixed order."""
        return [
            (f.name, v) for f in attrs.fields(Tools) if (v := getattr(self, f.name)) is not None
        ]


@attrs.frozen(eq=False, repr=False)
class Options(CachedRecord):
    """Pipeline ``options``."""

    timeout_minutes: int | None = attrs.field(
        default=None, validator=_checks.optional(_checks.positive_int)
    )
    disable_concurrent_builds: bool = attrs.field(
        default=False, validator=_checks.instance_of(bool)
    )
    keep_builds: int | None = attrs.field(
        default=None, validator=_checks.optional(_checks.positive_int)
    )
    skip_default_checkout: bool = attrs.field(default=False, validator=_checks.instance_of(bool))


def _whens(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    _checks.tuple_of(When)(instance, attribute, value)


def _optional_when(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    _checks.optional(_checks.instance_of(When))(instance, attribute, value)


def _change_request(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, bool):
        return
    if not isinstance(value, str) or not value:
        raise _checks.fail(
            instance, attribute, "expected True (any pull request) or the target branch's name"
        )
    _checks.text(multiline=False)(instance, attribute, value)


@attrs.frozen(eq=False, repr=False)
class When(CachedRecord):
    """A stage's ``when``: every condition given must hold.

    ``branch`` is a branch name or Ant pattern (``"main"``, ``"release/*"``) and
    ``change_request`` holds for a pull request's build (``True``) or for one targeting that
    branch (``"main"``): both only in multibranch jobs (``JenkinsJobs(definition="multibranch")``),
    where Jenkins knows what a build is for; ``expression`` a trusted Groovy expression;
    ``environment`` maps variable names to the values they must have; ``changeset`` holds when a
    file matching one of its Ant patterns (``"api/**"``) changed in the build's change set (for
    monorepos: build a component only when its folder changed). A build with no change set
    at all — the first build of a job, a manual or timer start — runs the stage
    (``no_changes="run"``, the safe default: nothing is skipped unseen) or skips it
    (``no_changes="skip"``). ``any_of``, ``all_of`` and ``not_`` combine other conditions;
    ``before_agent`` decides before the stage's agent is allocated.
    """

    branch: str | None = attrs.field(
        default=None, validator=_checks.optional(_checks.text(multiline=False))
    )
    expression: GroovyExpr | None = attrs.field(
        default=None, validator=_checks.optional(_checks.instance_of(GroovyExpr))
    )
    environment: tuple[tuple[str, Text], ...] = attrs.field(
        factory=tuple, kw_only=True, converter=_env_pairs, validator=_check_env
    )
    changeset: tuple[str, ...] = attrs.field(
        factory=tuple,
        kw_only=True,
        converter=_checks.str_tuple,
        validator=_checks.words(non_empty=False),
    )
    no_changes: Literal["run", "skip"] = attrs.field(
        default="run", kw_only=True, validator=_checks.one_of(("run", "skip"))
    )
    any_of: tuple[When, ...] = attrs.field(
        factory=tuple, kw_only=True, converter=_checks.to_tuple, validator=_whens
    )
    all_of: tuple[When, ...] = attrs.field(
        factory=tuple, kw_only=True, converter=_checks.to_tuple, validator=_whens
    )
    not_: When | None = attrs.field(default=None, kw_only=True, validator=_optional_when)
    change_request: bool | str = attrs.field(default=False, kw_only=True, validator=_change_request)
    tag: str | None = attrs.field(
        default=None, kw_only=True, validator=_checks.optional(_checks.text(multiline=False))
    )
    """A tag's build whose name matches this wildcard pattern (``"v*"``; ``"*"``: any tag):
    multibranch jobs that build tags (``Branches(tags=[...])``) only."""
    before_agent: bool = attrs.field(
        default=False, kw_only=True, validator=_checks.instance_of(bool)
    )
    before_input: bool = attrs.field(
        default=False, kw_only=True, validator=_checks.instance_of(bool)
    )
    """Decide before the stage's approval asks anyone (else Jenkins asks first)."""

    def __attrs_post_init__(self) -> None:
        if not (
            self.branch is not None
            or self.change_request is not False
            or self.tag is not None
            or self.expression is not None
            or self.environment
            or self.changeset
            or self.any_of
            or self.all_of
            or self.not_ is not None
        ):
            raise ModelError(
                "When: give at least one of branch, change_request, tag, expression, "
                "environment, changeset, any_of, all_of, not_"
            )
        for name in ("any_of", "all_of", "not_"):
            nested = getattr(self, name)
            for inner in nested if isinstance(nested, tuple) else (nested,) if nested else ():
                if inner.before_agent or inner.before_input:
                    raise ModelError(
                        f"When.{name}: before_agent and before_input apply to a stage's whole "
                        "when, not to a nested condition"
                    )

    @property
    def conditions(self) -> int:
        """How many conditions it states (``not_`` wants exactly one inside)."""
        return (
            (self.branch is not None)
            + (self.change_request is not False)
            + (self.tag is not None)
            + (self.expression is not None)
            + len(self.environment)
            + bool(self.changeset)
            + bool(self.any_of)
            + bool(self.all_of)
            + (self.not_ is not None)
        )

    def branch_conditions(self, path: str) -> Iterator[str]:
        """The places (from ``path``) of its conditions on what a build is for — ``branch``
        and ``change_request`` — nested ones included."""
        if self.branch is not None:
            yield f"{path}.branch"
        if self.change_request is not False:
            yield f"{path}.change_request"
        if self.tag is not None:
            yield f"{path}.tag"
        for name in ("any_of", "all_of"):
            for index, inner in enumerate(getattr(self, name)):
                yield from inner.branch_conditions(f"{path}.{name}[{index}]")
        if self.not_ is not None:
            yield from self.not_.branch_conditions(f"{path}.not_")


class _Remembering(CachedRecord):
    """A :class:`CachedRecord` that also keeps what a walk over it found (its fields cannot
    change), as it keeps its hash: set on first use, never pickled or copied."""

    __slots__ = ("_remembered",)


@attrs.frozen(eq=False, repr=False)
class Post(_Remembering):
    """``post`` conditions and their steps: ``Post(failure=[sh("./collect-logs")])``."""

    always: tuple[Step, ...] = attrs.field(
        factory=tuple, converter=steps_tuple, validator=_checks.tuple_of(Step)
    )
    changed: tuple[Step, ...] = attrs.field(
        factory=tuple, converter=steps_tuple, validator=_checks.tuple_of(Step)
    )
    fixed: tuple[Step, ...] = attrs.field(
        factory=tuple, converter=steps_tuple, validator=_checks.tuple_of(Step)
    )
    regression: tuple[Step, ...] = attrs.field(
        factory=tuple, converter=steps_tuple, validator=_checks.tuple_of(Step)
    )
    aborted: tuple[Step, ...] = attrs.field(
        factory=tuple, converter=steps_tuple, validator=_checks.tuple_of(Step)
    )
    failure: tuple[Step, ...] = attrs.field(
        factory=tuple, converter=steps_tuple, validator=_checks.tuple_of(Step)
    )
    success: tuple[Step, ...] = attrs.field(
        factory=tuple, converter=steps_tuple, validator=_checks.tuple_of(Step)
    )
    unstable: tuple[Step, ...] = attrs.field(
        factory=tuple, converter=steps_tuple, validator=_checks.tuple_of(Step)
    )
    unsuccessful: tuple[Step, ...] = attrs.field(
        factory=tuple, converter=steps_tuple, validator=_checks.tuple_of(Step)
    )
    cleanup: tuple[Step, ...] = attrs.field(
        factory=tuple, converter=steps_tuple, validator=_checks.tuple_of(Step)
    )

    def conditions(self) -> list[tuple[str, tuple[Step, ...]]]:
        """The conditions that have steps, in Jenkins' order."""
        found: tuple[tuple[str, tuple[Step, ...]], ...] | None = getattr(self, "_remembered", None)
        if found is None:
            # Every walk over a pipeline asks each post block (some fifty times a component).
            found = tuple(
                (c, steps)
                for c, steps in zip(POST_CONDITIONS, _POST_STEPS(self), strict=True)
                if steps
            )
            object.__setattr__(self, "_remembered", found)
        return list(found)

    def adding(self, condition: str, steps: Iterable[Step]) -> Post:
        """A copy with ``steps`` appended to ``condition``."""
        return self.extended({condition: tuple(steps)})

    def extended(self, additions: Mapping[str, tuple[Step, ...]]) -> Post:
        """A copy with each condition's ``additions`` appended after its steps (one copy, however
        many conditions change)."""
        unknown = [c for c in additions if c not in POST_CONDITIONS]
        if unknown:
            raise ModelError(
                f"Post: unknown condition {unknown[0]!r}; allowed: {', '.join(POST_CONDITIONS)}"
            )
        if not any(additions.values()):
            return self
        return attrs.evolve(
            self, **{c: (*getattr(self, c), *steps) for c, steps in additions.items() if steps}
        )


NO_POST = Post()
"""The empty ``post`` block, shared (values are immutable)."""


@attrs.frozen(eq=False, repr=False)
class StageOptions(CachedRecord):
    """A stage's ``options``: ``timeout_minutes`` aborts the stage when it runs longer (its
    ``post`` still runs); ``retries`` runs it again, up to that many more times, when it fails."""

    timeout_minutes: int | None = attrs.field(
        default=None, validator=_checks.optional(_checks.positive_int)
    )
    retries: int | None = attrs.field(
        default=None, kw_only=True, validator=_checks.optional(_checks.positive_int)
    )

    def __attrs_post_init__(self) -> None:
        if self.timeout_minutes is None and self.retries is None:
            raise ModelError("StageOptions: give timeout_minutes, retries or both")


@attrs.frozen(eq=False, repr=False)
class Approval(CachedRecord):
    """A person's go-ahead before an environment is deployed to: a stage-level ``input`` that
    waits at most ``timeout_minutes`` (then the build is aborted, nothing deployed) and that
    only ``submitters`` (Jenkins user or group ids; anyone who may build the job when empty)
    can give. While it waits, the build holds no executor and later builds are not blocked:
    they queue for the environment behind it, and a newer build that reaches the same gate
    supersedes this one (``milestone``). ``message`` is the question asked (``"Run <stage>?"``
    when not given)."""

    submitters: tuple[str, ...] = attrs.field(
        factory=tuple,
        converter=_checks.str_tuple,
        validator=_checks.words(non_empty=False),
    )
    timeout_minutes: int = attrs.field(default=60, kw_only=True, validator=_checks.positive_int)
    message: str | None = attrs.field(
        default=None, kw_only=True, validator=_checks.optional(_checks.text(multiline=False))
    )


def _first_below(stage: Stage, found: Callable[[Stage], bool]) -> Stage | None:
    """The first stage at or below ``stage`` (in document order) for which ``found`` holds."""
    return next((inner for _, inner in stage.walk("") if found(inner)), None)


def _nested_stages(kind: str) -> Callable[[object, attrs.Attribute[Any], object], None]:
    def check(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if type(value) is tuple and not value:  # most stages hold none
            return
        _checks.tuple_of(Stage)(instance, attribute, value)
        assert isinstance(value, tuple)  # noqa: S101  (checked above)
        for inner in value:
            nested = _first_below(inner, lambda s: bool(s.parallel)) if kind == "parallel" else None
            if nested is not None:
                raise _checks.fail(
                    instance,
                    attribute,
                    f"stage {nested.name!r} has parallel stages itself; Jenkins allows no "
                    "parallel stages below parallel stages",
                )
            waiting = _first_below(inner, lambda s: s.approval is not None)
            if waiting is not None:
                raise _checks.fail(
                    instance,
                    attribute,
                    f"stage {waiting.name!r}: only a top-level stage can wait for an approval "
                    f"(not one of {kind} stages)",
                )

    return check


@attrs.frozen(eq=False, repr=False)
class Stage(_Remembering):
    """A stage: a name, its steps, and optionally ``when``, ``environment`` and ``post``."""

    name: str = attrs.field(validator=_checks.text(multiline=False))
    steps: tuple[Step, ...] = attrs.field(converter=steps_tuple, validator=_checks.tuple_of(Step))
    when: When | None = attrs.field(
        default=None, kw_only=True, validator=_checks.optional(_checks.instance_of(When))
    )
    environment: tuple[tuple[str, Text], ...] = attrs.field(
        factory=tuple, kw_only=True, converter=_env_pairs, validator=_check_env
    )
    post: Post = attrs.field(default=NO_POST, kw_only=True, validator=_checks.instance_of(Post))
    options: StageOptions | None = attrs.field(
        default=None, kw_only=True, validator=_checks.optional(_checks.instance_of(StageOptions))
    )
    approval: Approval | None = attrs.field(
        default=None, kw_only=True, validator=_checks.optional(_checks.instance_of(Approval))
    )
    """A person's go-ahead before the stage runs (a stage-level ``input``). A pipeline with one
    runs its other stages on agents of their own, so the wait holds no executor."""
    parallel: tuple[Stage, ...] = attrs.field(
        factory=tuple,
        kw_only=True,
        converter=_checks.to_tuple,
        validator=_nested_stages("parallel"),
    )
    """Stages run side by side instead of ``steps`` (``Stage("Tests", [], parallel=[unit,
    integration])``); ``fail_fast`` aborts the others when one fails."""
    fail_fast: bool = attrs.field(default=False, kw_only=True, validator=_checks.instance_of(bool))
    agent: Agent | None = attrs.field(
        default=None, kw_only=True, validator=_checks.optional(_checks.instance_of(Agent))
    )
    """Where this stage (and the stages in it) run, instead of the pipeline's agent."""
    container: str | None = attrs.field(
        default=None,
        kw_only=True,
        validator=_checks.optional(k8s.NAME),
    )
    """A container of the stage's Kubernetes pod agent that runs all its steps (as if they
    were inside ``InContainer(container, [...])``)."""
    stages: tuple[Stage, ...] = attrs.field(
        factory=tuple,
        kw_only=True,
        converter=_checks.to_tuple,
        validator=_nested_stages("sequential"),
    )
    """Stages run one after the other inside this one instead of ``steps`` (``Stage("Java 21",
    [], stages=[build, test])``): to group stages under one ``when``, ``environment`` or
    ``options``, or to run a sequence as one branch of parallel stages."""

    def __attrs_post_init__(self) -> None:
        given = [k for k in ("steps", "parallel", "stages") if getattr(self, k)]
        if len(given) > 1:
            raise ModelError(
                f"Stage {self.name!r}: give one of steps, parallel or stages, not "
                f"{' and '.join(given)} (Jenkins runs exactly one of them in a stage)"
            )
        if not given:
            raise ModelError(
                f"Stage {self.name!r}: steps must not be empty (Jenkins rejects an empty stage)"
            )
        if self.fail_fast and not self.parallel:
            raise ModelError(f"Stage {self.name!r}: fail_fast needs parallel stages")
        if self.container is not None and not self.steps:
            raise ModelError(
                f"Stage {self.name!r}: container= runs a stage's steps; give it to the nested "
                "stages"
            )
        if self.substages and self.approval is not None:
            raise ModelError(
                f"Stage {self.name!r}: an approval waits before one stage's steps; put it on a "
                "stage of its own before the parallel or sequential stages"
            )
        if (
            self.approval is not None
            and self.options is not None
            and self.options.timeout_minutes is not None
        ):
            raise ModelError(
                f"Stage {self.name!r}: an approval stage's timeout is the approval's "
                "(Approval(timeout_minutes=...)); give no StageOptions timeout"
            )

    @property
    def substage_kind(self) -> Literal["parallel", "stages"]:
        """The field its nested stages are in (for their places: ``stages[1 'Test'].parallel[2 'Lint']``)."""
        return "parallel" if self.parallel else "stages"

    @property
    def substages(self) -> tuple[Stage, ...]:
        """The stages this one holds (parallel or sequential), empty for a stage of steps."""
        return self.parallel or self.stages

    def with_substages(self, stages: Iterable[Stage]) -> Stage:
        """A copy holding ``stages`` in place of its parallel or sequential stages."""
        if self.parallel:
            return attrs.evolve(self, parallel=tuple(stages))
        return attrs.evolve(self, stages=tuple(stages))

    def walk(self, path: str) -> Iterator[tuple[str, Stage]]:
        """This stage and every stage below it, each with its place (``path``,
        ``path.parallel[1 'Unit']``, ``path.stages[2 'Lint']``...), in document order."""
        yield path, self
        kind = self.substage_kind
        for index, inner in enumerate(self.substages):
            yield from inner.walk(f"{path}.{stage_place(kind, index, inner)}")


def _stages(value: Iterable[Stage]) -> tuple[Stage, ...]:
    return _checks.to_tuple(value)  # type: ignore[return-value]


def stage_place(kind: str, index: int, stage: Stage) -> str:
    """A stage's place in error messages and walks: its 1-based position among its siblings
    and its name, ``stages[3 'Docker Build']`` (``kind``: ``stages`` or ``parallel``)."""
    return f"{kind}[{index + 1} {stage.name!r}]"


def _stage_step_lists(
    prefix: str | None, stage: Stage
) -> Iterator[tuple[str | None, tuple[Step, ...]]]:
    """The lists of steps of ``stage`` and the stages below it, each with its place below
    ``prefix`` (None: places are not wanted, and not worked out)."""
    kind = stage.substage_kind
    for index, inner in enumerate(stage.substages):
        place = None if prefix is None else f"{prefix}.{stage_place(kind, index, inner)}"
        yield from _stage_step_lists(place, inner)
    if stage.steps:
        yield None if prefix is None else f"{prefix}.steps", stage.steps
    for condition, steps in stage.post.conditions():
        yield None if prefix is None else f"{prefix}.post.{condition}", steps


def _stage_step_groups(stage: Stage) -> tuple[tuple[Step, ...], ...]:
    """The lists of :func:`_stage_step_lists` without their places, found once per stage: a
    render walks each pipeline a dozen times, and its stages recur in the pipelines that
    resolving it makes."""
    found: tuple[tuple[Step, ...], ...] | None = getattr(stage, "_remembered", None)
    if found is None:
        found = tuple(steps for _, steps in _stage_step_lists(None, stage))
        object.__setattr__(stage, "_remembered", found)
    return found


@functools.lru_cache(maxsize=4096)
def _all_steps(pipeline: Pipeline) -> tuple[Step, ...]:
    # A render walks each pipeline's steps a dozen times (validation, images, agents, plugins,
    # deploy steps...); a pipeline cannot change, and its hash is cached.
    return tuple(pipeline.walk_steps())


def _walk(steps: tuple[Step, ...]) -> Iterator[Step]:
    for step in steps:
        yield step
        if step.children:
            yield from _walk(step.children)


# Pipeline.map_steps, part by part: module functions, not nested ones calling themselves, which
# would leave a reference cycle (and all they hold) for the collector on every call.
def _map_steps(items: tuple[Step, ...], change: Callable[[Step], Step]) -> tuple[Step, ...]:
    out = []
    for step in items:
        inner = step
        if step.children:
            children = _map_steps(step.children, change)
            if children is not step.children:
                inner = step.with_children(children)
        out.append(change(inner))
    return items if all(a is b for a, b in zip(out, items, strict=True)) else tuple(out)


def _map_post(block: Post, change: Callable[[Step], Step]) -> Post:
    changed = {
        c: new for c, old in block.conditions() if (new := _map_steps(old, change)) is not old
    }
    return attrs.evolve(block, **changed) if changed else block


def _map_stage(item: Stage, change: Callable[[Step], Step]) -> Stage:
    new_steps, new_post = _map_steps(item.steps, change), _map_post(item.post, change)
    branches = tuple(_map_stage(b, change) for b in item.parallel)
    sequence = tuple(_map_stage(b, change) for b in item.stages)
    same = all(a is b for a, b in zip(branches, item.parallel, strict=True))
    same_sequence = all(a is b for a, b in zip(sequence, item.stages, strict=True))
    if new_steps is item.steps and new_post is item.post and same and same_sequence:
        return item
    return attrs.evolve(
        item,
        steps=new_steps,
        post=new_post,
        parallel=branches if not same else item.parallel,
        stages=sequence if not same_sequence else item.stages,
    )


def _post_additions(steps: Mapping[str, Step | Sequence[Step]]) -> dict[str, tuple[Step, ...]]:
    return {
        condition: (value,) if isinstance(value, Step) else tuple(value)
        for condition, value in steps.items()
    }


@attrs.frozen(eq=False, repr=False)
class Pipeline(CachedRecord):
    """A declarative pipeline. Edit it with the methods below; each returns a new pipeline::

    p.without("Project Compile").insert_after("Project Test", Stage("Sonar", [sh("mvn sonar:sonar")]))
    """

    stages: tuple[Stage, ...] = attrs.field(converter=_stages, validator=_checks.tuple_of(Stage))
    agent: Agent = attrs.field(factory=Agent, kw_only=True, validator=_checks.instance_of(Agent))
    tools: Tools = attrs.field(factory=Tools, kw_only=True, validator=_checks.instance_of(Tools))
    options: Options = attrs.field(
        factory=Options, kw_only=True, validator=_checks.instance_of(Options)
    )
    environment: tuple[tuple[str, Text], ...] = attrs.field(
        factory=tuple, kw_only=True, converter=_env_pairs, validator=_check_env
    )
    post: Post = attrs.field(default=NO_POST, kw_only=True, validator=_checks.instance_of(Post))

    def __attrs_post_init__(self) -> None:
        if not self.stages:
            raise ModelError("Pipeline.stages: at least one stage is needed")

    # --- editing -------------------------------------------------------------------------

    @property
    def stage_names(self) -> list[str]:
        """The names of the top-level stages, in order."""
        return [s.name for s in self.stages]

    def walk_stages(self) -> Iterator[tuple[str, Stage]]:
        """Every stage, nested parallel and sequential ones included, with its place
        (``stages[1 'Build']``, ``stages[2 'Test'].parallel[1 'Unit']``...), in document
        order."""
        for index, stage in enumerate(self.stages):
            yield from stage.walk(stage_place("stages", index, stage))

    def _index(self, name: str) -> int:
        for index, stage in enumerate(self.stages):
            if stage.name == name:
                return index
        known = ", ".join(repr(n) for n in self.stage_names)
        raise ModelError(f"Pipeline: no stage named {name!r}; stages are {known}")

    def stage(self, name: str) -> Stage:
        """The stage called ``name``."""
        return self.stages[self._index(name)]

    def without(self, *names: str) -> Pipeline:
        """A copy without the named stages."""
        drop = {self._index(n) for n in names}
        return attrs.evolve(self, stages=[s for i, s in enumerate(self.stages) if i not in drop])

    def insert_after(self, name: str, *stages: Stage) -> Pipeline:
        """A copy with ``stages`` right after the stage called ``name``."""
        i = self._index(name) + 1
        return attrs.evolve(self, stages=(*self.stages[:i], *stages, *self.stages[i:]))

    def insert_before(self, name: str, *stages: Stage) -> Pipeline:
        """A copy with ``stages`` right before the stage called ``name``."""
        i = self._index(name)
        return attrs.evolve(self, stages=(*self.stages[:i], *stages, *self.stages[i:]))

    def append(self, *stages: Stage) -> Pipeline:
        """A copy with ``stages`` at the end."""
        return attrs.evolve(self, stages=(*self.stages, *stages))

    def replace(self, name: str, stage: Stage) -> Pipeline:
        """A copy with the stage called ``name`` replaced by ``stage``."""
        i = self._index(name)
        return attrs.evolve(self, stages=(*self.stages[:i], stage, *self.stages[i + 1 :]))

    def map_stage(self, name: str, change: Callable[[Stage], Stage]) -> Pipeline:
        """A copy with ``change`` applied to the stage called ``name``:
        ``p.map_stage("Project Test", lambda s: Stage("Unit Tests", s.steps))``."""
        return self.replace(name, change(self.stage(name)))

    def with_stage(self, name: str, **fields: Any) -> Pipeline:
        """A copy whose stage ``name`` has ``fields`` set (any of :class:`Stage`'s, checked as
        when a stage is made): ``p.with_stage("Project Test", options=StageOptions(10),
        when=When(changeset=["api/**"]))``."""
        unknown = sorted(set(fields) - {f.name for f in attrs.fields(Stage)})
        if unknown:
            raise ModelError(
                f"Pipeline.with_stage: unknown field(s) {', '.join(unknown)}; allowed: "
                + ", ".join(f.name for f in attrs.fields(Stage))
            )
        return self.map_stage(name, lambda stage: attrs.evolve(stage, **fields))

    def step_lists(self) -> Iterator[tuple[str, tuple[Step, ...]]]:
        """Every list of top-level steps with its place in the pipeline (``stages[1 'Build'].steps``,
        ``stages[1 'Build'].post.failure``, ``post.always``), in document order: the one definition of
        where steps live, for every walk over them."""
        for place, steps in self._step_lists(places=True):
            assert place is not None  # noqa: S101  (asked for)
            yield place, steps

    def _step_lists(self, *, places: bool) -> Iterator[tuple[str | None, tuple[Step, ...]]]:
        for index, stage in enumerate(self.stages):
            if places:
                yield from _stage_step_lists(stage_place("stages", index, stage), stage)
            else:
                for steps in _stage_step_groups(stage):
                    yield None, steps
        for condition, steps in self.post.conditions():
            yield f"post.{condition}" if places else None, steps

    def step_groups(self) -> Iterator[tuple[Step, ...]]:
        """The lists of :meth:`step_lists`, in the same order, without their places (a walk
        that needs no places does not pay for writing them)."""
        for _, steps in self._step_lists(places=False):
            yield steps

    def all_steps(self) -> Iterator[Step]:
        """Every step, nested ones and those in ``post`` blocks included, in document order
        (listed once per pipeline, then remembered)."""
        return iter(_all_steps(self))

    def walk_steps(self) -> Iterator[Step]:
        """The steps of :meth:`all_steps`, found as the walk goes: for a walk that may stop
        early, or happens once (nothing is hashed or remembered)."""
        for steps in self.step_groups():
            yield from _walk(steps)

    def map_steps(self, change: Callable[[Step], Step]) -> Pipeline:
        """A copy with every step — nested ones and those in ``post`` blocks included — replaced
        by ``change(step)`` (nested steps first). Parts nothing changed in are kept as they are."""
        stages = tuple(_map_stage(s, change) for s in self.stages)
        new_post = _map_post(self.post, change)
        if new_post is self.post and all(a is b for a, b in zip(stages, self.stages, strict=True)):
            return self
        return attrs.evolve(self, stages=stages, post=new_post)

    def with_post(self, **steps: Step | Sequence[Step]) -> Pipeline:
        """A copy whose pipeline-level ``post`` runs ``steps`` too, by condition, after the steps
        already there: ``p.with_post(always=[JUnit("**/target/surefire-reports/*.xml")])``."""
        return attrs.evolve(self, post=self.post.extended(_post_additions(steps)))

    def with_stage_post(self, name: str, **steps: Step | Sequence[Step]) -> Pipeline:
        """A copy whose stage ``name`` runs ``steps`` in its ``post`` too, by condition:
        ``p.with_stage_post("Project Test", always=[JUnit("target/surefire-reports/*.xml")])``."""
        additions = _post_additions(steps)
        return self.map_stage(name, lambda s: attrs.evolve(s, post=s.post.extended(additions)))

    def with_environment(self, **values: Text) -> Pipeline:
        """A copy with ``values`` added to (or replacing in) the pipeline's environment."""
        merged = dict(self.environment)
        merged.update(values)
        return attrs.evolve(self, environment=merged)
