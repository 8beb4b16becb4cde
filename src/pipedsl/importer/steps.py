"""Steps → typed steps (``sh`` commands, Docker, SSH deploys, credentials, notifications) or a
marked raw ``Groovy`` step."""

from __future__ import annotations

import posixpath
import shlex
from collections.abc import Callable, Sequence

import attrs

from pipedsl.errors import PipedslError
from pipedsl.importer import shell
from pipedsl.importer.context import Context, first_line, secret_in_text
from pipedsl.importer.parse import Assign, Call, ListV, Other, Ref, Str, Value
from pipedsl.model.credentials import Credential
from pipedsl.model.infra import SshServer
from pipedsl.model.steps import (
    Archive,
    Checkout,
    Dir,
    DiscordSend,
    DockerBuild,
    DockerPush,
    Echo,
    Git,
    Gradle,
    Groovy,
    JUnit,
    KubectlApply,
    Maven,
    Npm,
    Rollout,
    Sh,
    ShipFiles,
    SlackSend,
    SshPublish,
    SshTransfer,
    Step,
    WithCredentials,
)


def convert_steps(ctx: Context, statements: Sequence[Call | Assign | Other]) -> list[Step]:
    out: list[Step] = []
    for statement in statements:
        out += convert_step(ctx, statement)
    return out


def counted(ctx: Context, steps: list[Step]) -> list[Step]:
    ctx.steps += 1
    if any(isinstance(s, Groovy) for s in steps):
        return steps
    ctx.typed += 1
    return steps


def convert_step(ctx: Context, statement: Call | Assign | Other) -> list[Step]:
    """One statement of a ``steps`` (or ``post`` condition) block as model steps: typed where
    a converter below reads it, else a marked raw ``Groovy`` step (also when the model refuses
    the typed form, with the model's reason)."""
    try:
        return _convert_step(ctx, statement)
    except PipedslError as exc:
        ctx.steps += 1
        why = f"the model refuses its typed form: {exc}"
        return [ctx.raw_step(statement.text, statement.line, why)]


def _convert_step(ctx: Context, statement: Call | Assign | Other) -> list[Step]:
    if not isinstance(statement, Call):
        ctx.steps += 1
        return [ctx.raw_step(statement.text, statement.line, "Groovy code, not a step")]
    if statement.name in ("dir", "withCredentials"):
        return _block(ctx, statement)
    if statement.name == "script" and _plain_steps(statement):
        ctx.note(
            statement.line,
            "dropped",
            "script { }",
            "it holds only steps, which a stage runs without it",
        )
        return convert_steps(ctx, statement.body or ())
    if statement.name == "sh":
        return _sh(ctx, statement)
    if statement.name == "milestone" and ctx.gated:
        ctx.steps += 1
        ctx.typed += 1
        ctx.note(
            statement.line,
            "dropped",
            first_line(statement),
            "pipedsl writes the milestones an approval stage needs itself",
        )
        return []
    converter = _CONVERTERS.get(statement.name)
    steps = converter(ctx, statement) if converter is not None else None
    if steps is not None:
        return counted(ctx, steps)
    ctx.steps += 1
    why = (
        "a script block: pipedsl describes steps, not Groovy code"
        if statement.name == "script"
        else f"no typed step for `{statement.name}` with these arguments"
    )
    return [ctx.raw_step(statement.text, statement.line, why)]


def _plain_steps(call: Call) -> bool:
    """Whether a ``script`` block holds only step calls (no Groovy code of its own)."""
    steps = {"dir", "withCredentials", "sh", "milestone", *_CONVERTERS}
    return bool(call.body) and all(
        isinstance(s, Call)
        and s.name in steps
        and (s.body is None or s.name not in _CONVERTERS or _plain_steps(s))
        for s in call.body or ()
    )


def _echo(ctx: Context, call: Call) -> list[Step] | None:
    text = ctx.text(call.args[0]) if call.args else None
    if text is None:
        return None
    written = (
        text
        if isinstance(text, str)
        else "".join(p if isinstance(p, str) else "${}" for p in text.parts)
    )
    kind = secret_in_text(written)
    if kind is not None:
        return [ctx.secret_step(call.line, kind, "echo")]
    return [Echo(text)]


def _checkout(ctx: Context, call: Call) -> list[Step] | None:
    del ctx
    scm = call.args and isinstance(call.args[0], Ref) and call.args[0].code == "scm"
    return [Checkout()] if scm else None


def _junit(ctx: Context, call: Call) -> list[Step] | None:
    reports = ctx.literal(call.args[0] if call.args else call.arg("testResults"))
    allow = call.arg("allowEmptyResults")
    empty = isinstance(allow, Ref) and allow.code == "true"
    return [JUnit(reports, allow_empty=empty)] if reports else None


def _archive(ctx: Context, call: Call) -> list[Step] | None:
    artifacts = ctx.literal(call.args[0] if call.args else call.arg("artifacts"))
    return [Archive(artifacts.split(","))] if artifacts else None


def _one(step: Step | None) -> list[Step] | None:
    return [step] if step is not None else None


def _block(ctx: Context, call: Call) -> list[Step]:
    """``dir(path) { }`` and ``withCredentials([...]) { }``: checked before their steps are
    converted, so that one kept raw is kept whole."""
    if call.name == "dir":
        path = ctx.literal(call.args[0] if call.args else None)
        if path is None:
            ctx.steps += 1
            return [ctx.raw_step(call.text, call.line, "dir() of a computed path")]
        relative, changed = shell.without_workspace(path)
        if changed:
            _workspace_note(ctx, call.line, path)
        inner = convert_steps(ctx, call.body or ())
        return [Dir(relative, inner)] if relative not in (".", "") else inner
    bindings = call.args[0] if call.args else None
    items = bindings.items if isinstance(bindings, ListV) else ()
    found = [_binding(ctx, b) for b in items]
    if not items or any(f is None for f in found):
        ctx.steps += 1
        return [ctx.raw_step(call.text, call.line, "a credential binding pipedsl has not")]
    wrapped = convert_steps(ctx, call.body or ())
    for binding in reversed([f for f in found if f is not None]):
        credential, variables = binding
        wrapped = [WithCredentials(credential, variables, wrapped)]
        ctx.withcredentials_lines[id(wrapped[0])] = call.line
    return wrapped


def _binding(ctx: Context, value: Value) -> tuple[Credential, list[str]] | None:
    if not isinstance(value, Call):
        return None
    ident = ctx.credential_id(value.arg("credentialsId"))
    if ident is None:
        return None
    kinds = {
        "usernamePassword": ("username_password", ("usernameVariable", "passwordVariable")),
        "usernameColonPassword": None,
        "string": ("secret_text", ("variable",)),
        "file": ("secret_file", ("variable",)),
        "sshUserPrivateKey": ("ssh_key", ("keyFileVariable",)),
    }
    kind = kinds.get(value.name)
    extra = value.arg("usernameVariable") or value.arg("passphraseVariable")
    if kind is None or (kind[0] == "ssh_key" and extra is not None):
        return None  # a binding the model cannot say: the block stays raw
    names = [ctx.literal(value.arg(k)) for k in kind[1]]
    if any(n is None for n in names):
        return None
    credential = Credential(ident, kind[0])  # type: ignore[arg-type]
    variables = [n for n in names if n is not None]
    for variable in variables:
        ctx.bound[variable] = credential
    if kind[0] == "username_password":
        ctx.bound["__login__" + variables[1]] = credential
    return credential, variables


def _workspace_note(ctx: Context, line: int, path: str) -> None:
    ctx.note(
        line,
        "converted",
        f"hard-coded workspace path {path}",
        "it breaks when the job is renamed, moved or run on another agent; now relative "
        "to the workspace",
    )


def _git(ctx: Context, call: Call) -> list[Step]:
    url = ctx.literal(call.arg("url") or (call.args[0] if call.args else None))
    branch = ctx.literal(call.arg("branch")) or "main"
    credentials = ctx.credential_id(call.arg("credentialsId"))
    if url is None:
        return [ctx.raw_step(call.text, call.line, "git of a computed URL")]
    ctx.repository = ctx.repository or url
    ctx.branch = ctx.branch or branch
    return [Git(url, branch, credentials=credentials)]


SLACK_TOKEN_ID = "slack-token"  # noqa: S105  (the id of a Jenkins credential, not a secret)


def _slack_send(ctx: Context, call: Call) -> SlackSend | None:
    """``slackSend``: the token read from a credential (a token written into the Jenkinsfile
    becomes the credential ``slack-token``); ``None`` when a setting is computed at run time."""
    message = ctx.text(call.arg("message") or (call.args[0] if call.args else None))
    settings = {k: call.arg(k) for k in ("channel", "color", "teamDomain", "baseUrl")}
    found = {k: ctx.literal(v) if v is not None else None for k, v in settings.items()}
    if message is None or any(v is not None and found[k] is None for k, v in settings.items()):
        return None
    token = call.arg("tokenCredentialId")
    token_id = ctx.credential_id(token) if token is not None else None
    if token is not None and token_id is None:
        return None
    written = call.arg("token")
    if written is not None:
        if not isinstance(written, Str | Ref):
            return None
        token_id = SLACK_TOKEN_ID
        if isinstance(written, Ref):
            ctx.used_env.add(written.code.removeprefix("env."))
            ctx.secret_env.pop(written.code.removeprefix("env."), None)
        ctx.note(
            call.line,
            "converted",
            "slackSend token written into the Jenkinsfile",
            "anyone with the token can post as the bot; it is now read from the Jenkins "
            "credential 'slack-token' (secret text)",
        )
    return SlackSend(
        found["channel"],
        message,
        found["color"] or "good",
        found["teamDomain"],
        Credential.secret_text(token_id) if token_id else None,
        found["baseUrl"],
    )


def _discord(ctx: Context, call: Call) -> DiscordSend | None:
    """``discordSend``, its webhook URL read from a credential: the one it was bound from, or,
    for a URL written into the Jenkinsfile, the credential ``discord-webhook``."""
    url = call.arg("webhookURL")
    title = ctx.text(call.arg("title") or Str("", "'"))
    description = ctx.text(call.arg("description") or Str("", "'"))
    if url is None or title is None or description is None:
        return None
    name = url.code.removeprefix("env.") if isinstance(url, Ref) else None
    if name is not None and name in ctx.bound:
        webhook = Credential.secret_text(ctx.bound[name].id)
    elif isinstance(url, Str) or (name is not None and isinstance(ctx.env.get(name), Str)):
        webhook = Credential.secret_text("discord-webhook")
        if name is not None:
            ctx.used_env.add(name)
            ctx.secret_env.pop(name, None)
        ctx.note(
            call.line,
            "converted",
            "discordSend webhook URL written into the Jenkinsfile",
            "anyone with the URL can post to the channel; it is now read from the Jenkins "
            "credential 'discord-webhook' (secret text)",
        )
    else:
        return None
    result, link = call.arg("result"), call.arg("link")
    return DiscordSend(
        webhook,
        title,
        description,
        ctx.text(result) if result is not None else None,
        ctx.text(link) if link is not None else None,
    )


def _sh(ctx: Context, call: Call) -> list[Step]:
    value = call.args[0] if call.args else call.arg("script")
    if call.arg("returnStdout") is not None or call.arg("returnStatus") is not None:
        ctx.steps += 1
        return [ctx.raw_step(call.text, call.line, "sh whose output or status Groovy reads")]
    script = ctx.shell_text(value, call.line)
    if script is None:
        ctx.steps += 1
        return [ctx.raw_step(call.text, call.line, "sh with a Groovy expression in its script")]
    for word in script.split():
        if any(root in word for root in shell.WORKSPACE_ROOTS):
            _workspace_note(ctx, call.line, word.strip("'\";&"))
    script, _ = shell.without_workspace(script)
    lines = [ln.strip() for ln in script.strip().split("\n") if ln.strip()]
    commands = [shell.split_command(ln) for ln in lines]
    if len(lines) > 1 and not all(c.words and c.directory is None for c in commands):
        return counted(ctx, [ctx.guarded_sh(script.strip(), call.line)])
    out: list[Step] = []
    for command in commands:
        out += _command(ctx, command, call.line)
    label = ctx.literal(call.arg("label"))
    if label is not None and len(out) == 1 and isinstance(out[0], Sh):
        out = [Sh(out[0].script, label=label)]
    for step in out:
        ctx.lines[id(step)] = call.line
    return counted(ctx, out)


def _command(ctx: Context, command: shell.Command, line: int) -> list[Step]:
    words = command.words
    steps: list[Step] = [Sh(command.text)]
    piped = shell.piped_login(command.text) if words is None else None
    if piped is not None:
        password, login = piped
        steps = _docker_login(ctx, (*login, "--password", password), line, stdin=True)
    if words is None and piped is None:
        _, inline = shell.without_inline_secrets(shell.tokens(command.text))
        for _variable, where in inline:
            ctx.note(
                line,
                "raw",
                f"password literal in sh ({where})",
                "the command (with pipes or redirections, which pipedsl does not rewrite) is "
                "replaced by a step that fails saying so, so the password is never copied: move "
                "the secret to a Jenkins credential and write the command with WithCredentials",
            )
        if inline:
            message = (
                f"pipedsl import: {ctx.path}:{line}: this command had a password written into "
                "it and was not imported; move the secret to a Jenkins credential and write the "
                "command with WithCredentials"
            )
            steps = [Sh(f"echo {shlex.quote(message)} >&2; exit 1")]
    if words is not None and words[:2] != ("docker", "login"):
        safe, bindings = shell.without_inline_secrets(words)
        if bindings:
            rewritten = attrs.evolve(command, words=safe, text=shell.join(safe))
            return _bound(ctx, rewritten, bindings, line)
    if words is not None:
        typed = _typed_command(ctx, words, line)
        steps = typed if typed is not None else [ctx.guarded_sh(command.text, line)]
    if steps == [Sh(command.text)]:
        # Kept as written: never with a secret literal in it.
        steps = [ctx.guarded_sh(command.text, line)]
    if command.directory is not None:
        return [Dir(command.directory, steps)] if command.directory not in (".", "") else steps
    return steps


def _bound(
    ctx: Context, command: shell.Command, bindings: Sequence[tuple[str, str]], line: int
) -> list[Step]:
    """``command`` (its secret literals replaced by variables) inside ``withCredentials`` of
    the credentials that hold them, each reported."""
    steps = _command(ctx, command, line)
    for variable, where in bindings:
        ident = variable.lower().replace("_", "-")
        ctx.note(
            line,
            "converted",
            f"password literal in sh ({where})",
            "a secret written into the Jenkinsfile is readable by everyone with the repository "
            f"and shows in the log; removed: the command reads ${variable} from the Jenkins "
            f"credential '{ident}' (secret text)",
        )
        steps = [WithCredentials(Credential.secret_text(ident), [variable], steps)]
    return steps


def _typed_command(ctx: Context, words: tuple[str, ...], line: int) -> list[Step] | None:
    tool, rest = words[0], words[1:]
    if tool in ("mvn", "./mvnw") and rest:
        goals = tuple(w for w in rest if w not in ("-B", "--batch-mode"))
        return [Maven(goals, wrapper=tool == "./mvnw")] if goals else None
    if tool == "npm" and rest:
        return [Npm(rest)]
    if tool in ("./gradlew", "gradle") and rest:
        tasks = tuple(w for w in rest if w != "--no-daemon")
        return [Gradle(tasks, wrapper=tool == "./gradlew")] if tasks else None
    if tool == "docker" and rest:
        return _docker(ctx, rest, line)
    if tool == "sed" and _placeholder(words) is not None:
        ctx.note(
            line,
            "raw",
            f"sed s/{_placeholder(words)}/... on the agent",
            "an image placeholder rewritten by hand deploys the wrong image when it stops "
            "matching; kept as sh: ship the manifests with deploy=SshServer(...) (the image is "
            "then pinned by kubectl) or give the component a runtime=",
        )
    return None


def _placeholder(words: tuple[str, ...]) -> str | None:
    """The placeholder a ``sed s/PLACEHOLDER/...`` replaces, when it looks like one (upper
    case, the image's tag or the build number)."""
    for word in words[1:]:
        if word.startswith("s") and len(word) > 2 and not word[1].isalnum():
            found = word[2:].split(word[1])[0]
            name = found.strip("{}$:")
            if name and name.replace("_", "").isupper():
                return found
    return None


def _docker(ctx: Context, words: tuple[str, ...], line: int) -> list[Step] | None:
    verb, rest = words[0], words[1:]
    if verb == "login":
        return _docker_login(ctx, rest, line)
    if verb == "logout":
        return []
    if verb == "build":
        tags = shell.option_values(rest, "-t", "--tag")
        takes = frozenset({"-t", "--tag", "-f", "--file", "--build-arg", "--target", "--platform"})
        context = shell.positional(rest, takes)
        if len(tags) != 1 or len(context) != 1:
            return None
        image = ctx.image(tags[0], line)
        files = shell.option_values(rest, "-f", "--file")
        args = dict(a.split("=", 1) for a in shell.option_values(rest, "--build-arg") if "=" in a)
        if image is None:
            return None
        return [
            DockerBuild(
                image, context=context[0], dockerfile=files[0] if files else None, build_args=args
            )
        ]
    if verb == "push" and len(rest) == 1:
        image = ctx.image(rest[0], line)
        return [DockerPush(image)] if image is not None else None
    return None


def _docker_login(
    ctx: Context, words: tuple[str, ...], line: int, *, stdin: bool = False
) -> list[Step]:
    """A registry login, written in its safe form (the password piped on stdin, from a
    credential) and marked pending: :func:`pipedsl.importer.logins.settle_logins` leaves it
    out when a typed ``DockerPush`` (which logs in itself) follows."""
    users = shell.option_values(words, "-u", "--username")
    passwords = shell.option_values(words, "-p", "--password")
    host = next(
        iter(shell.positional(words, frozenset({"-u", "--username", "-p", "--password"}))),
        "docker.io",
    )
    password = passwords[0].strip("${}") if passwords else None
    bound = ctx.bound.get("__login__" + password) if password else None
    if bound is not None:
        ctx.login = bound
        ctx.login_bindings.add(bound.id)
        user = users[0] if users else '""'
        step: Step = Sh(
            f'printf \'%s\\n\' "${{{password}}}" | docker login -u "{user.strip(chr(34))}" '
            f"--password-stdin{'' if host == 'docker.io' else ' ' + host}"
        )
    else:
        ctx.login_for(host)
        for word in (*users, *passwords):
            name = word.strip("${}")
            if name in ctx.env:
                ctx.used_env.add(name)
                ctx.secret_env.pop(name, None)
        assert ctx.login is not None  # noqa: S101  (set just above)
        step = WithCredentials(
            ctx.login,
            ["REGISTRY_USER", "REGISTRY_PASSWORD"],
            [
                Sh(
                    'printf \'%s\\n\' "$REGISTRY_PASSWORD" | docker login -u "$REGISTRY_USER" '
                    f"--password-stdin{'' if host == 'docker.io' else ' ' + host}"
                )
            ],
        )
    assert ctx.login is not None  # noqa: S101  (set above)
    ctx.pending_logins[id(step)] = (
        line,
        "docker login -p"
        if passwords and not stdin
        else ("docker login --password-stdin" if stdin else "docker login"),
    )
    return [step]


def _ssh(ctx: Context, call: Call) -> list[Step] | None:
    """``sshPublisher``: manifests sent and applied become Send Artifacts/Apply Deployment
    steps (``ShipFiles``, ``KubectlApply``), other transfers an ``SshPublish``, in order."""
    publishers = call.arg("publishers")
    items = publishers.items if isinstance(publishers, ListV) else ()
    if len(items) != 1 or not isinstance(items[0], Call):
        return None
    desc = items[0]
    server_name = ctx.literal(desc.arg("configName"))
    transfers = desc.arg("transfers")
    if server_name is None or not isinstance(transfers, ListV):
        return None
    server = SshServer(server_name)
    out: list[Step] = []
    plain: list[SshTransfer] = []
    for transfer in transfers.items:
        found = _transfer(ctx, server, transfer) if isinstance(transfer, Call) else None
        if found is None:
            return None
        for item in found:
            if isinstance(item, SshTransfer):
                plain.append(item)
                continue
            if plain:
                out.append(SshPublish(server, plain))
                plain = []
            out.append(item)
    if plain:
        out.append(SshPublish(server, plain))
    fail = call.arg("failOnError") or desc.arg("failOnError")
    if not (isinstance(fail, Ref) and fail.code == "true"):
        ctx.note(
            call.line,
            "converted",
            "sshPublisher without failOnError: true",
            "a failed transfer or command only marked the build unstable and the pipeline went "
            "on; now it fails the stage",
        )
    return out


def _transfer(ctx: Context, server: SshServer, call: Call) -> list[Step | SshTransfer] | None:
    files = ctx.literal(call.arg("sourceFiles")) or ""
    prefix = (ctx.literal(call.arg("removePrefix")) or "").rstrip("/")
    remote = ctx.literal(call.arg("remoteDirectory")) or ""
    command_value = call.arg("execCommand")
    command = ctx.shell_text(command_value, call.line) if command_value is not None else ""
    if command is None:
        return None
    out: list[Step | SshTransfer] = []
    manifests = files and all(f.strip().endswith((".yaml", ".yml")) for f in files.split(","))
    deploy = "kubectl" in command
    if manifests and (deploy or not command):
        target = remote
        if remote.startswith("/") or (deploy and not remote):
            target = f"k8s/{ctx.name}"
            ctx.note(
                call.line,
                "converted",
                f"remote directory {remote or '(none)'}",
                "Publish Over SSH reads it below the server's remote root, not as written; the "
                f"files now go to {target}, where the deploy applies them",
            )
        ctx.shipped = target
        out.append(
            ShipFiles(server, [f.strip() for f in files.split(",")], target, remove_prefix=prefix)
        )
        files = ""
    if deploy and not files:
        applied = _kubectl(ctx, server, command, call.line)
        if applied is not None:
            return [*out, applied]
    if files or command:
        out.append(SshTransfer(files, prefix, remote, command))
    return out


def _kubectl(ctx: Context, server: SshServer, command: str, line: int) -> Step | None:
    lines = [c for ln in command.strip().split("\n") if ln.strip() for c in shell.split_and(ln)]
    placeholder = None
    applied: str | None = None
    for cmd in lines:
        words = cmd.words or ()
        if words[:1] == ("sed",) and _placeholder(words) is not None:
            placeholder = _placeholder(words)
        elif words[:2] == ("kubectl", "apply"):
            found = shell.option_values(words, "-f", "--filename")
            applied = found[0] if found else None
        else:
            return None
    if applied is None:
        return None
    directory = ctx.shipped or posixpath.dirname(applied.removeprefix("./")) or "."
    rollout = None
    image = next(iter(ctx.images.values()), None)
    if placeholder is not None:
        if image is None:
            return None
        rollout = Rollout(ctx.name, ctx.name, image)
        ctx.note(
            line,
            "converted",
            f"sed s/{placeholder}/... on the manifest",
            "a placeholder that no longer matches deploys the wrong image; kubectl now points "
            f"the Deployment '{ctx.name}' (container '{ctx.name}': check the names) at the "
            "pushed image and waits for the rollout",
        )
    return KubectlApply(server, directory, rollout=rollout)


_CONVERTERS: dict[str, Callable[[Context, Call], list[Step] | None]] = {
    "echo": _echo,
    "git": _git,
    "checkout": _checkout,
    "junit": _junit,
    "archiveArtifacts": _archive,
    "slackSend": lambda ctx, call: _one(_slack_send(ctx, call)),
    "discordSend": lambda ctx, call: _one(_discord(ctx, call)),
    "sshPublisher": _ssh,
}
