"""The pipeline's directives: ``agent``, ``tools``, ``environment``, ``options``, ``triggers``."""

from __future__ import annotations

import shlex
from typing import Any

from pipedsl.errors import PipedslError
from pipedsl.importer.context import (
    Context,
    first_line,
    holds_literal,
    is_secret_name,
    line_of,
    reads,
)
from pipedsl.importer.parse import Assign, Call, ListV, Ref, Str
from pipedsl.model.agents import Agent
from pipedsl.model.credentials import Credential
from pipedsl.model.jobs import Triggers
from pipedsl.model.pipeline import (
    Options,
    Tool,
    Tools,
)
from pipedsl.model.validate import RESERVED_ENV
from pipedsl.model.values import GroovyExpr, GString


def find_login(ctx: Context, call: Call) -> None:
    """The registry login: the username/password credential a ``docker login`` reads, bound
    by the ``withCredentials`` around it or by ``environment { X = credentials('id') }``
    (found first, so every image of the file uses it)."""
    for statement in call.body or ():
        if not isinstance(statement, Call):
            continue
        if statement.name == "withCredentials" and "docker login" in statement.text:
            bindings = statement.args[0] if statement.args else None
            for binding in bindings.items if isinstance(bindings, ListV) else ():
                if isinstance(binding, Call) and binding.name == "usernamePassword":
                    ident = ctx.credential_id(binding.arg("credentialsId"))
                    if ident is not None and ctx.login is None:
                        ctx.login = Credential.username_password(ident)
        if statement.name == "sh" and "docker login" in statement.text and ctx.login is None:
            for key, credential in ctx.bound.items():
                if key.startswith("__login__") and reads(statement.text, key[len("__login__") :]):
                    ctx.login = credential
        find_login(ctx, statement)


def read_environment(ctx: Context, pipeline: Call) -> None:
    """Read the pipeline's ``environment {}`` into ``ctx``: values (so that settings read from
    a variable resolve), ``credentials()`` bindings, and literals of secret-looking names."""
    block = pipeline.first("environment")
    for entry in block.body or () if block else ():
        if isinstance(entry, Assign):
            ctx.env[entry.name] = entry.value
            value = entry.value
            if isinstance(value, Call) and value.name == "credentials" and value.args:
                ident = ctx.literal(value.args[0])
                if ident is not None:
                    # `credentials()` of a username/password also sets NAME_USR and NAME_PSW.
                    ctx.bound[entry.name] = Credential.secret_text(ident)
                    login = Credential.username_password(ident)
                    ctx.bound[f"{entry.name}_PSW"] = ctx.bound[f"{entry.name}_USR"] = login
                    ctx.bound[f"__login__{entry.name}_PSW"] = login
            ctx.env_lines[entry.name] = entry.line
            if holds_literal(entry.value) and is_secret_name(entry.name):
                ctx.secret_env[entry.name] = entry.name.lower().replace("_", "-")
        else:
            ctx.note(line_of(entry), "dropped", first_line(entry), "not an environment entry")


def keep_variable(ctx: Context, entry: Assign) -> bool:
    """Whether a stage's ``environment`` entry can stay: not a variable Jenkins sets, and not
    a secret written as a literal (that one is reported and read from a credential)."""
    if entry.name in RESERVED_ENV:
        _reserved(ctx, entry.name, entry.line)
        return False
    if holds_literal(entry.value) and is_secret_name(entry.name):
        ident = entry.name.lower().replace("_", "-")
        ctx.secret_env[entry.name] = ident
        ctx.note(
            entry.line,
            "converted",
            f"password literal in environment {{ {entry.name} }}",
            "a secret written into the Jenkinsfile is readable by everyone with the "
            f"repository; removed: steps that read it get it from the Jenkins credential '{ident}'",
        )
        return False
    return True


def _reserved(ctx: Context, name: str, line: int) -> None:
    ctx.note(
        line,
        "dropped",
        f"environment {name}",
        "Jenkins sets this variable itself; assigning it breaks what reads it (for tools on "
        "the PATH use tools {} or Tool(name, home=...))",
    )


def pipeline_environment(ctx: Context) -> dict[str, str | GString | GroovyExpr]:
    """The pipeline's environment, once the stages are converted: without the secrets (each
    reported), the variables Jenkins sets, and those only a typed setting read."""
    out: dict[str, str | GString | GroovyExpr] = {}
    for name, value in ctx.env.items():
        if name in RESERVED_ENV:
            _reserved(ctx, name, env_line(ctx, name))
            continue
        if name in ctx.secrets and name not in ctx.id_env:
            ident = ctx.secrets[name]
            where = (
                f"the registry login uses the Jenkins credential '{ctx.login.id}'"
                if ctx.login is not None and name in ctx.used_env
                else f"steps that read it get it from the Jenkins credential '{ident}'"
            )
            ctx.note(
                env_line(ctx, name),
                "converted",
                f"password literal in environment {{ {name} }}",
                "a secret written into the Jenkinsfile is readable by everyone with the "
                f"repository; removed: {where}",
            )
            continue
        if name in ctx.used_env and isinstance(value, Str):
            ctx.note(
                env_line(ctx, name),
                "dropped",
                f"environment {name}",
                "its value is now part of a typed setting (notifier, registry, deploy)",
            )
            continue
        if isinstance(value, Call) and value.name == "credentials":
            out[name] = GroovyExpr(value.text.strip())
            continue
        text = ctx.text(value)
        if text is None:
            continue
        out[name] = text
    return out


def env_line(ctx: Context, name: str) -> int:
    return ctx.env_lines.get(name, 0)


def convert_agent(ctx: Context, call: Call | None) -> Agent | None:
    """``agent any``, ``agent none``, ``agent { label 'x' }``, ``agent { docker ... }``;
    ``None`` (reported: it runs on any agent) for an agent pipedsl cannot read."""
    if call is None:
        return None
    agent: Agent | None = None
    if call.body is None:
        word = call.args[0].code if call.args and isinstance(call.args[0], Ref) else ""
        agent = {"none": Agent.none(), "any": Agent.any()}.get(word)
    elif len(call.body) == 1 and isinstance(call.body[0], Call):
        inner = call.body[0]
        if inner.name == "label":
            value = ctx.literal(inner.args[0] if inner.args else None)
            agent = Agent.on(value) if value else None
        elif inner.name == "docker":
            agent = _docker_agent(ctx, inner)
    if agent is None:
        ctx.note(
            call.line,
            "dropped",
            first_line(call),
            "an agent pipedsl cannot read; it runs on any agent instead: see docs/agents.md",
        )
    return agent


_DOCKER_OPTIONS = {
    "label": "label",
    "args": "args",
    "registryUrl": "registry_url",
    "registryCredentialsId": "registry_login",
    "alwaysPull": "always_pull",
    "reuseNode": "reuse_node",
}


def _docker_agent(ctx: Context, call: Call) -> Agent | None:
    """``docker 'image'`` or ``docker { image '...'; label; args; registryUrl; ... }``."""
    image = ctx.literal(call.args[0] if call.args else call.arg("image"))
    options: dict[str, Any] = {}
    for entry in call.body or ():
        if not isinstance(entry, Call) or not entry.args:
            return None
        argument = entry.args[0]
        if entry.name == "image":
            image = ctx.literal(argument)
        elif entry.name in ("alwaysPull", "reuseNode") and isinstance(argument, Ref):
            options[_DOCKER_OPTIONS[entry.name]] = argument.code == "true"
        elif entry.name in _DOCKER_OPTIONS and (value := ctx.literal(argument)) is not None:
            if entry.name == "args":
                options["args"] = shlex.split(value)
            elif entry.name == "registryCredentialsId":
                options["registry_login"] = Credential.username_password(value)
            else:
                options[_DOCKER_OPTIONS[entry.name]] = value
        else:
            return None
    if image is None:
        return None
    try:
        return Agent.docker(image, **options)
    except PipedslError:
        return None


def convert_tools(ctx: Context, call: Call | None) -> Tools:
    found: dict[str, Tool] = {}
    for entry in call.body or () if call else ():
        name = ctx.literal(entry.args[0] if isinstance(entry, Call) and entry.args else None)
        if isinstance(entry, Call) and entry.name in ("maven", "jdk", "nodejs", "gradle") and name:
            found[entry.name] = Tool(name)
        else:
            ctx.note(line_of(entry), "dropped", first_line(entry), "a tool type pipedsl has not")
    return Tools(**found)


def minutes_of(ctx: Context, call: Call) -> int | None:
    time = ctx.literal(call.arg("time") or (call.args[0] if call.args else None))
    unit = (ctx.literal(call.arg("unit")) or "MINUTES").upper()
    if time is None or not time.isdigit():
        return None
    factor = {"MINUTES": 1, "HOURS": 60, "DAYS": 1440}.get(unit)
    return int(time) * factor if factor else None


def convert_options(ctx: Context, call: Call | None) -> Options:
    found: dict[str, Any] = {}
    for entry in call.body or () if call else ():
        if isinstance(entry, Call) and entry.name == "timeout" and minutes_of(ctx, entry):
            found["timeout_minutes"] = minutes_of(ctx, entry)
        elif isinstance(entry, Call) and entry.name == "disableConcurrentBuilds":
            found["disable_concurrent_builds"] = True
        elif isinstance(entry, Call) and entry.name == "skipDefaultCheckout":
            found["skip_default_checkout"] = True
        elif isinstance(entry, Call) and entry.name == "buildDiscarder" and entry.args:
            rotator = entry.args[0]
            keep = ctx.literal(rotator.arg("numToKeepStr")) if isinstance(rotator, Call) else None
            if keep and keep.isdigit():
                found["keep_builds"] = int(keep)
            else:
                ctx.note(entry.line, "dropped", first_line(entry), "only numToKeepStr is read")
        else:
            ctx.note(line_of(entry), "dropped", first_line(entry), "an option pipedsl has not")
    return Options(**found)


def convert_triggers(ctx: Context, call: Call | None) -> Triggers | None:
    if call is None:
        return None
    cron = poll = None
    for entry in call.body or ():
        value = ctx.literal(entry.args[0] if isinstance(entry, Call) and entry.args else None)
        if isinstance(entry, Call) and entry.name == "cron" and value:
            cron = value
        elif isinstance(entry, Call) and entry.name == "pollSCM" and value:
            poll = value
        else:
            ctx.note(line_of(entry), "dropped", first_line(entry), "a trigger pipedsl has not")
    ctx.note(
        call.line,
        "converted",
        "triggers { }",
        "a Jenkinsfile's triggers replace the job's, the push trigger included; they are "
        "now the job's own (config.xml), beside the push trigger",
    )
    return Triggers(cron, poll_scm=poll) if cron or poll else None
