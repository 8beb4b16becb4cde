"""A typed component whose stages are a preset's → the preset call that renders them.

Each stage of the imported pipeline gets a role from the one step that matters in it
(``mvn test``, ``npm run build``, Docker Build, ...; ``pwd``/``ls`` only print and are left
out). When the roles are a preset's stages in order, the preset is called with the options
read from those steps, and the call is kept only if the preset's stages run the same steps
(the checkout by the job's SCM instead of ``git``, and ``mvn package`` with ``-DskipTests``
after the tests ran, aside).
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence

import attrs

from pipedsl.errors import PipedslError
from pipedsl.importer import shell
from pipedsl.importer.context import Context
from pipedsl.importer.report import ReportLine
from pipedsl.model.agents import Agent
from pipedsl.model.k8s.runtime import Runtime
from pipedsl.model.notify import Slack
from pipedsl.model.pipeline import Post, Stage, Tools
from pipedsl.model.project import Component
from pipedsl.model.steps import (
    Checkout,
    Dir,
    DockerBuild,
    DockerPush,
    Git,
    Gradle,
    KubectlApply,
    Maven,
    Npm,
    Sh,
    ShipFiles,
    Step,
)
from pipedsl.presets import npm_frontend, spring_boot_backend
from pipedsl.record import Record

BACKEND = ("checkout", "mvn:clean", "mvn:compile", "mvn:test", "mvn:package")
GRADLE_BACKEND = ("checkout", "gradle:clean", "gradle:classes", "gradle:test", "gradle:bootJar")
FRONTEND = ("checkout", "npm:install", "npm:test", "npm:build")
DELIVERY = ("DockerBuild", "DockerPush")
DEPLOY = ("ShipFiles", "KubectlApply")
NPM_ROLES = {"install": "install", "ci": "install", "test": "test", "run test": "test"}


@attrs.frozen(eq=False, repr=False)
class PresetCall(Record):
    """A component built by a preset: the function's name, the component name and the
    options, in the order they are written; ``checkout`` is the ``git`` step (URL, branch)
    the preset's ``checkout scm`` stands for, when there was one."""

    function: str
    name: str
    options: tuple[tuple[str, object], ...]
    component: Component
    checkout: tuple[str, str] | None = None
    notes: tuple[ReportLine, ...] = ()

    def with_branch(self, branch: str) -> PresetCall | None:
        """The same call building from ``branch`` (``branch=``), or ``None`` if it fails."""
        options = (*((k, v) for k, v in self.options if k != "branch"), ("branch", branch))
        maker = spring_boot_backend if self.function == "spring_boot_backend" else npm_frontend
        try:
            built = maker(self.name, **dict(options))  # type: ignore[arg-type]
        except PipedslError:
            return None
        return attrs.evolve(self, options=options, component=built)

    def with_options(self, **changes: object) -> PresetCall:
        """The same call with ``changes`` to its options; raises what the preset refuses."""
        options = (*((k, v) for k, v in self.options if k not in changes), *changes.items())
        maker = spring_boot_backend if self.function == "spring_boot_backend" else npm_frontend
        built = maker(self.name, **dict(options))  # type: ignore[arg-type]
        return attrs.evolve(self, options=options, component=built)

    def with_runtime(self, runtime: Runtime) -> PresetCall:
        """The same call deploying ``runtime``'s rendered manifests instead of the shipped
        ones (``manifests=`` and ``deployment=`` go); raises what the preset refuses."""
        options = (
            *((k, v) for k, v in self.options if k not in ("manifests", "deployment")),
            ("runtime", runtime),
        )
        maker = spring_boot_backend if self.function == "spring_boot_backend" else npm_frontend
        built = maker(self.name, **dict(options))  # type: ignore[arg-type]
        return attrs.evolve(self, options=options, component=built)

    @property
    def shipped(self) -> tuple[str, ...]:
        """The manifest files the component's deploy sends (``manifests=``, or the preset's
        default ``<source>/k8s/*.yaml``)."""
        options = dict(self.options)
        if "deploy" not in options:
            return ()  # it deploys nothing
        manifests = options.get("manifests")
        if isinstance(manifests, str):
            return (manifests,)
        if isinstance(manifests, list | tuple):
            return tuple(str(m) for m in manifests)
        source = str(options.get("source", ".")).strip("/")
        return (f"{source}/k8s/*.yaml" if source not in ("", ".") else "k8s/*.yaml",)


@attrs.frozen(eq=False, repr=False)
class Role(Record):
    """What one stage does: its kind, the folder its step runs in and the step, and the
    diagnostic steps around it."""

    kind: str
    folder: str | None
    step: Step
    noise: tuple[Sh, ...] = ()


def stage_role(stage: Stage) -> Role | None:
    """The role of a plain stage (no ``when``, options, agent, post, nesting) with one step
    that matters."""
    if stage.when or stage.environment or stage.options or stage.agent or stage.approval:
        return None
    if stage.parallel or stage.stages or stage.post != Post():
        return None
    steps = list(stage.steps)
    folder = None
    if len(steps) == 1 and isinstance(steps[0], Dir):
        folder, steps = steps[0].path, list(steps[0].steps)
    noise = tuple(
        s
        for s in steps
        if isinstance(s, Sh) and shell.is_diagnostic(shell.split_command(s.script).words)
    )
    useful = [s for s in steps if s not in noise]
    if len(useful) != 1:
        return None
    kind = _kind(useful[0])
    return Role(kind, folder, useful[0], noise) if kind else None


def _kind(step: Step) -> str | None:
    if isinstance(step, Checkout) or (isinstance(step, Git) and step.credentials is None):
        return "checkout"
    if isinstance(step, Maven) and step.goals and set(step.goals[1:]) <= {"-DskipTests"}:
        goal = step.goals[0]
        return f"mvn:{goal}" if goal in ("clean", "compile", "test", "package") else None
    if isinstance(step, Gradle) and len(step.tasks) == 1 and step.flags == ("--no-daemon",):
        task = step.tasks[0]
        return f"gradle:{task}" if task in ("clean", "classes", "test", "bootJar") else None
    if isinstance(step, Npm):
        args = " ".join(step.args)
        role = NPM_ROLES.get(args) or ("build" if args == "run build" else None)
        return f"npm:{role}" if role else None
    if isinstance(step, DockerBuild | DockerPush | ShipFiles | KubectlApply):
        return type(step).__name__
    return None


def match_preset(ctx: Context, component: Component, slack: Slack | None) -> PresetCall | None:
    """The preset call that renders the same stages, when the pipeline is a preset's."""
    pipeline = component.pipeline
    if pipeline.environment or pipeline.post != Post() or pipeline.options.timeout_minutes:
        return None
    if pipeline.options.keep_builds or component.triggers:
        return None
    found = [stage_role(s) for s in pipeline.stages]
    roles = [r for r in found if r is not None]
    if len(roles) != len(found):
        return None
    kinds = tuple(r.kind for r in roles)
    shapes: tuple[tuple[tuple[str, ...], str], ...] = (
        (BACKEND, "spring_boot_backend"),
        (GRADLE_BACKEND, "spring_boot_backend"),
        (FRONTEND, "npm_frontend"),
    )
    for shape, function in shapes:
        expected = shape
        if function == "npm_frontend" and "npm:test" not in kinds:
            expected = tuple(k for k in shape if k != "npm:test")
        build, tail = roles[: len(expected)], kinds[len(expected) :]
        if kinds[: len(expected)] != expected or tail not in (DELIVERY, DELIVERY + DEPLOY):
            continue
        call = _preset_call(component, function, build, roles[len(expected) :], slack)
        if call is not None:
            return attrs.evolve(call, notes=_noise(ctx, component, roles))
    return None


def _preset_call(
    component: Component,
    function: str,
    build: Sequence[Role],
    delivery: Sequence[Role],
    slack: Slack | None,
) -> PresetCall | None:
    folders = {r.folder for r in build[1:]}
    if len(folders) != 1:
        return None
    folder = folders.pop()
    options: dict[str, object] = {"source": f"{folder}/" if folder else "."}
    tools = _tool_options(function, component.pipeline.tools, build)
    image = _image(folder, delivery)
    deploy = _deploy_options(component.name, folder, delivery[2:])
    if tools is None or image is None or deploy is None:
        return None
    options.update(tools)
    options["image"] = image
    options.update(deploy)
    if slack is not None:
        options["notify"] = slack
    if component.pipeline.agent != Agent.any():
        options["agent"] = component.pipeline.agent
    maker = spring_boot_backend if function == "spring_boot_backend" else npm_frontend
    try:
        built = maker(component.name, **options)  # type: ignore[arg-type]
    except PipedslError:
        return None
    if not _same_steps(component, built):
        return None
    git = build[0].step
    checkout = (git.url, git.branch) if isinstance(git, Git) else None
    return PresetCall(function, component.name, tuple(options.items()), built, checkout)


def _tool_options(function: str, tools: Tools, build: Sequence[Role]) -> dict[str, object] | None:
    options: dict[str, object] = {}
    if function == "spring_boot_backend":
        return _backend_tools(tools, build[-1].step)
    if tools.gradle is not None or tools.maven is not None or tools.jdk is not None:
        return None
    if tools.nodejs is not None:
        options["nodejs"] = tools.nodejs.name
    steps = {r.kind: r.step for r in build}
    install, test = steps["npm:install"], steps.get("npm:test")
    if isinstance(install, Npm) and install.args == ("ci",):
        options["install"] = "ci"
    if test is None:
        options["test"] = None
    elif isinstance(test, Npm) and test.args != ("run", "test"):
        options["test"] = " ".join(test.args)
    return options


def _backend_tools(tools: Tools, package: Step) -> dict[str, object] | None:
    """``maven=``/``jdk=``/``wrapper=`` of a Maven backend, ``build="gradle"``, ``gradle=``,
    ``jdk=``, ``wrapper=`` of a Gradle one."""
    if tools.nodejs is not None:
        return None
    options: dict[str, object] = {}
    if isinstance(package, Gradle):
        if tools.maven is not None:
            return None
        options["build"] = "gradle"
        if tools.gradle is not None:
            options["gradle"] = tools.gradle.name
        if not package.wrapper:
            options["wrapper"] = False
    elif tools.gradle is not None:
        return None
    elif tools.maven is not None:
        options["maven"] = tools.maven.name
    if tools.jdk is not None:
        options["jdk"] = tools.jdk.name
    if isinstance(package, Maven) and package.wrapper:
        options["wrapper"] = True
    return options


def _image(folder: str | None, delivery: Sequence[Role]) -> object | None:
    """The image Docker Build builds in the source folder and Docker Push pushes."""
    build, push = delivery[0], delivery[1]
    if not isinstance(build.step, DockerBuild) or not isinstance(push.step, DockerPush):
        return None
    context = posixpath.normpath(posixpath.join(build.folder or ".", build.step.context))
    if context != (folder or ".") or build.step.image != push.step.image:
        return None
    return build.step.image


def _deploy_options(
    name: str, folder: str | None, deploy: Sequence[Role]
) -> dict[str, object] | None:
    """``deploy=``, ``manifests=`` and ``remote_directory=`` of Send Artifacts and Apply
    Deployment (none without them)."""
    if not deploy:
        return {}
    ship, apply = deploy[0].step, deploy[1].step
    if not isinstance(ship, ShipFiles) or not isinstance(apply, KubectlApply):
        return None
    if ship.server != apply.server or ship.remote_directory != apply.remote_directory:
        return None
    if apply.rollout is None:
        return None
    options: dict[str, object] = {"deploy": ship.server}
    if ship.files != ((f"{folder}/" if folder else "") + "k8s/*.yaml",):
        options["manifests"] = ship.files[0] if len(ship.files) == 1 else list(ship.files)
    if ship.remote_directory != f"k8s/{name}":
        options["remote_directory"] = ship.remote_directory
    return options


def _same_steps(ours: Component, preset: Component) -> bool:
    """Whether the preset's stages run our stages' steps (diagnostics aside), allowing the
    preset's ``checkout scm`` for a ``git`` step and ``-DskipTests`` on ``mvn package``."""
    if len(ours.pipeline.stages) != len(preset.pipeline.stages):
        return False
    for mine, theirs in zip(ours.pipeline.stages, preset.pipeline.stages, strict=True):
        a, b = stage_role(mine), stage_role(theirs)
        if a is None or b is None or a.kind != b.kind:
            return False
        if a.kind in ("checkout", "mvn:package"):
            continue
        if _effective(a) != _effective(b):
            return False
    return True


def _effective(role: Role) -> tuple[str | None, Step]:
    """A role's step as it runs: a Docker build's context joined to its folder."""
    if isinstance(role.step, DockerBuild):
        context = posixpath.normpath(posixpath.join(role.folder or ".", role.step.context))
        return None, attrs.evolve(role.step, context=context)
    if isinstance(role.step, DockerPush | ShipFiles | KubectlApply):
        return None, role.step
    return role.folder, role.step


def _noise(ctx: Context, component: Component, roles: Sequence[Role]) -> tuple[ReportLine, ...]:
    """The report lines for the diagnostic steps the preset leaves out."""
    return tuple(
        ReportLine(
            ctx.path,
            ctx.lines.get(id(noise), 0),
            "dropped",
            f"sh '{noise.script}' in stage '{stage.name}'",
            "only prints to the log; the preset's stage runs the build step alone",
        )
        for stage, role in zip(component.pipeline.stages, roles, strict=True)
        for noise in role.noise
    )
