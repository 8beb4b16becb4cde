"""What a person needs to finish a project's Jenkins setup: plugins, global configuration and
credentials to create (as configuration-as-code with placeholders), and the webhook URL."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from pipedsl.model.credentials import Credential
from pipedsl.model.notify import Slack
from pipedsl.model.pipeline import Pipeline
from pipedsl.model.project import Project
from pipedsl.model.steps import (
    Checkout,
    DiscordSend,
    SlackSend,
    SshPublish,
    Step,
    WithCredentials,
)
from pipedsl.render.escape import yaml_document
from pipedsl.render.lower import lower

# Plugins every generated job needs: declarative pipelines, Git checkout, GitHub push trigger.
BASE_PLUGINS = (
    "configuration-as-code",  # to load jenkins.yaml (SETUP.md)
    "git",
    "github",
    "pipeline-model-definition",
    "workflow-aggregator",
    "workflow-job",
)

STEP_PLUGINS: dict[type[Step], str] = {
    Checkout: "git",
    WithCredentials: "credentials-binding",
    SlackSend: "slack",
    DiscordSend: "discord-notifier",
    SshPublish: "publish-over-ssh",
}

TOOL_PLUGINS = {"nodejs": "nodejs", "gradle": "gradle"}

_KIND_TO_CASC = {
    "username_password": "usernamePassword",
    "secret_text": "string",
    "secret_file": "file",
    "ssh_key": "basicSSHUserPrivateKey",
}


def primitive_steps(pipelines: Iterable[Pipeline]) -> list[Step]:
    """Every primitive step the pipelines run (notifications included), in order. Computed
    once per render and handed to the functions below, which all need it."""

    def visit(steps: tuple[Step, ...]) -> Iterator[Step]:
        for step in steps:
            primitive = lower(step)
            yield primitive
            yield from visit(primitive.children)

    found: list[Step] = []
    for pipeline in pipelines:
        for _, steps in pipeline.step_lists():
            found += visit(steps)
    return found


def required_plugins(project: Project, steps: list[Step]) -> list[str]:
    """Plugin ids the project's pipelines use, sorted, one per line in ``plugins.txt``."""
    plugins = set(BASE_PLUGINS)
    for step in steps:
        for kind, plugin in STEP_PLUGINS.items():
            if isinstance(step, kind):
                plugins.add(plugin)
        if isinstance(step, DiscordSend):
            plugins.add("credentials-binding")
    for component in project.components:
        for tool, _ in component.pipeline.tools.items():
            if tool in TOOL_PLUGINS:
                plugins.add(TOOL_PLUGINS[tool])
    return sorted(plugins)


def _credentials(steps: list[Step]) -> list[Credential]:
    found: dict[str, Credential] = {}
    for step in steps:
        if isinstance(step, WithCredentials):
            found.setdefault(step.credential.id, step.credential)
        elif isinstance(step, SlackSend) and step.token is not None:
            found.setdefault(step.token.id, step.token)
        elif isinstance(step, DiscordSend):
            found.setdefault(step.webhook.id, step.webhook)
    return [found[k] for k in sorted(found)]


class CascVariable(str):
    """A ``${NAME}`` that configuration-as-code must read from the controller's environment."""

    __slots__ = ()


def _placeholder(credential_id: str, what: str) -> CascVariable:
    name = "".join(c if c.isalnum() else "_" for c in credential_id).upper()
    return CascVariable("${" + f"{name}_{what}" + "}")


def casc_literal(document: object) -> object:
    """``document`` with every string that is not a :class:`CascVariable` escaped for
    configuration-as-code, which substitutes ``${...}`` everywhere: its escape is ``^${``."""
    if isinstance(document, CascVariable):
        return str(document)
    if isinstance(document, str):
        return document.replace("${", "^${")
    if isinstance(document, dict):
        return {key: casc_literal(value) for key, value in document.items()}
    if isinstance(document, list):
        return [casc_literal(item) for item in document]
    return document


def casc_document(project: Project, steps: list[Step]) -> dict[str, object]:
    """Jenkins configuration-as-code for what the pipelines expect: credentials (values left as
    ``${...}`` variables for the person installing them), Slack, SSH servers and tools."""
    credentials: list[dict[str, object]] = []
    for credential in _credentials(steps):
        entry: dict[str, object] = {"scope": "GLOBAL", "id": credential.id}
        if credential.kind == "username_password":
            entry |= {
                "username": _placeholder(credential.id, "USER"),
                "password": _placeholder(credential.id, "PASSWORD"),
            }
        elif credential.kind == "secret_text":
            entry |= {"secret": _placeholder(credential.id, "SECRET")}
        elif credential.kind == "secret_file":
            entry |= {
                "fileName": credential.id,
                "secretBytes": _placeholder(credential.id, "BASE64"),
            }
        else:
            entry |= {
                "username": _placeholder(credential.id, "USER"),
                "privateKeySource": {
                    "directEntry": {"privateKey": _placeholder(credential.id, "KEY")}
                },
            }
        credentials.append({_KIND_TO_CASC[credential.kind]: entry})
    document: dict[str, object] = {
        "credentials": {"system": {"domainCredentials": [{"credentials": credentials}]}},
    }
    unclassified: dict[str, object] = {}
    if not project.jenkins.is_placeholder:
        # Jenkins' own URL is what BUILD_URL in every message is built from.
        unclassified["location"] = {"url": project.jenkins.url.rstrip("/") + "/"}
    slack = [n for c in project.components for n in c.notify if isinstance(n, Slack)]
    if slack:
        first = slack[0]
        unclassified["slackNotifier"] = {
            k: v
            for k, v in {
                "teamDomain": first.team_domain,
                "tokenCredentialId": first.token.id,
                "baseUrl": first.base_url,
            }.items()
            if v is not None
        }
    servers = {s.server.config_name: s.server for s in steps if isinstance(s, SshPublish)}
    if servers:
        # The Publish Over SSH plugin's configuration-as-code key is its symbol, sshPublisher.
        unclassified["sshPublisher"] = {
            "hostConfigurations": [
                {
                    "name": name,
                    "hostname": CascVariable("${" + f"SSH_{i}_HOST" + "}"),
                    "username": CascVariable("${" + f"SSH_{i}_USER" + "}"),
                    "remoteRootDir": servers[name].remote_root or "",
                }
                for i, name in enumerate(sorted(servers), 1)
            ]
        }
    if unclassified:
        document["unclassified"] = unclassified
    tools: dict[str, object] = {}
    for kind in ("maven", "jdk", "nodejs", "gradle"):
        names = sorted(
            {n for c in project.components for k, n in c.pipeline.tools.items() if k == kind}
        )
        if names:
            tools[kind] = {"installations": [{"name": n} for n in names]}
    if tools:
        document["tool"] = tools
    return document


def render_plugins(project: Project, steps: list[Step]) -> str:
    return "\n".join(required_plugins(project, steps)) + "\n"


def render_casc(project: Project, steps: list[Step]) -> str:
    header = (
        f"# Jenkins configuration-as-code for project {project.name}, generated by pipedsl.\n"
        "# A fragment to merge into the controller's configuration-as-code file, not to load on\n"
        "# its own: configuration-as-code replaces whole lists (credentials, SSH hosts), so a file\n"
        "# with only this project's entries would delete the others.\n"
        "# Values in ${...} are read from the environment of the Jenkins controller when it loads\n"
        "# the file: set them there; never commit them. Fill in hosts and keys of SSH servers.\n"
    )
    document = casc_literal(casc_document(project, steps))
    assert isinstance(document, dict)  # noqa: S101  (casc_literal keeps the shape)
    return header + yaml_document(document)


def render_setup_notes(project: Project) -> str:
    jobs = project.jenkins
    lines = [
        f"# Jenkins setup for {project.name}",
        "",
        "1. Install the plugins in `plugins.txt` (`jenkins-plugin-cli --plugin-file plugins.txt`).",
        "2. Merge `jenkins.yaml` into the controller's configuration-as-code file (it lists only this",
        "   project's credentials and SSH hosts; loading it alone would replace the others), and set",
        "   the variables it names in the controller's environment.",
        f"3. In GitHub, add a webhook to {project.repository}: payload URL `{jobs.webhook_url}`,",
        "   content type `application/json`, event `push`.",
        "4. Run `pipedsl sync` to create the jobs in the Jenkins folder "
        f"`{project.jenkins_folder}`.",
    ]
    if jobs.is_placeholder:
        lines[2:2] = [
            "0. The project does not say where its Jenkins is: set "
            '`Project(jenkins=JenkinsJobs(url="http://<host>:14149"))`, render again, then follow',
            "   these steps (the webhook URL below is a placeholder until then).",
        ]
    if jobs.definition == "inline":
        lines.append(
            "5. The jobs embed their Jenkinsfiles: a push only starts a job after its first build; "
            "`pipedsl sync --first-build` starts one."
        )
    return "\n".join(lines) + "\n"
