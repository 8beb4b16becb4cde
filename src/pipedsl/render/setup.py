"""What a person needs to finish a project's Jenkins setup: plugins, global configuration and
credentials to create (as configuration-as-code with placeholders), and the webhook URL."""

from __future__ import annotations

import hashlib
import re
import weakref
from collections.abc import Iterable, Iterator, Sequence

from pipedsl.errors import RenderError
from pipedsl.model.agents import Agent, KubernetesPod
from pipedsl.model.credentials import Credential
from pipedsl.model.deploy import BlueGreen, DeployManifests, GitOps, Kubectl, Restart
from pipedsl.model.infra import EcrRegistry
from pipedsl.model.k8s.config import Secret
from pipedsl.model.k8s.runtime import Runtime
from pipedsl.model.notify import Slack
from pipedsl.model.pipeline import Pipeline, Tool
from pipedsl.model.project import Project
from pipedsl.model.steps import (
    ApplyManifests,
    Checkout,
    DiscordSend,
    JUnit,
    SlackSend,
    SshPublish,
    Step,
    WithCredentials,
)
from pipedsl.render.escape import yaml_document
from pipedsl.render.lower import lower
from pipedsl.resolve.deploy import shared_objects
from pipedsl.resolve.layout import SHARED, manifest_dir

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
    JUnit: "junit",
}

TOOL_PLUGINS = {"nodejs": "nodejs", "gradle": "gradle"}

# What multibranch jobs need besides: the branch source, its folders and its GitHub discovery.
MULTIBRANCH_PLUGINS = (
    "branch-api",
    "cloudbees-folder",
    "github-branch-source",
    "workflow-multibranch",
)

_KIND_TO_CASC = {
    "username_password": "usernamePassword",
    "secret_text": "string",
    "secret_file": "file",
    "ssh_key": "basicSSHUserPrivateKey",
}


def primitive_steps(pipelines: Iterable[Pipeline]) -> list[Step]:
    """Every primitive step the pipelines run (notifications included), in order. Computed
    once per render and handed to the functions below, which all need it."""

    found: list[Step] = []
    for pipeline in pipelines:
        for steps in pipeline.step_groups():
            found += _primitive(steps)
    return found


def _primitive(steps: tuple[Step, ...]) -> Iterator[Step]:
    # A module function: a nested one calling itself would leave a reference cycle per call.
    for step in steps:
        primitive = lower(step)
        yield primitive
        yield from _primitive(primitive.children)


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
    if project.jenkins.multibranch:
        plugins.update(MULTIBRANCH_PLUGINS)
        if project.jenkins.branch_selection.tags:
            plugins.add("basic-branch-build-strategies")
    kinds = {agent.kind for agent in project_agents(project)}
    if "kubernetes" in kinds:
        plugins.add("kubernetes")
    if "docker" in kinds:
        plugins.add("docker-workflow")
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


def _stem(credential_id: str) -> str:
    stem = "".join(ch if ch.isalnum() else "_" for ch in credential_id).upper()
    # An environment variable's name cannot start with a digit.
    return f"CREDENTIAL_{stem}" if stem[:1].isdigit() else stem


def _variable_names(credentials: list[Credential]) -> dict[str, str]:
    """The environment-variable stem of each credential id: the id in upper case with every
    character other than a letter or digit as ``_``. Ids that would share a stem (``db-pass``
    and ``DB_PASS``), or whose variables would take the SSH servers' (``ssh-1``: ``SSH_1_USER``),
    each get a short digest of the id added, so that no two credentials, and no credential and
    SSH server, ever read the same variable."""
    stems = {c.id: _stem(c.id) for c in credentials}
    taken: dict[str, list[str]] = {}
    for credential_id, stem in stems.items():
        taken.setdefault(stem, []).append(credential_id)
    for stem, ids in taken.items():
        if len(ids) > 1 or re.fullmatch(r"SSH_\d+", stem):
            for credential_id in ids:
                digest = hashlib.sha256(credential_id.encode("utf-8")).hexdigest()[:8].upper()
                stems[credential_id] = f"{stem}_{digest}"
    if len(set(stems.values())) != len(stems):  # two digests alike: never seen, never silent
        clash = sorted(stems, key=stems.__getitem__)
        raise RenderError(
            "credentials "
            + ", ".join(repr(i) for i in clash)
            + " need distinct configuration-as-code variables; rename one of them"
        )
    return stems


def _casc_credentials(credentials: list[Credential]) -> list[dict[str, object]]:
    stems = _variable_names(credentials)

    def variable(credential: Credential, what: str) -> CascVariable:
        return CascVariable("${" + f"{stems[credential.id]}_{what}" + "}")

    entries: list[dict[str, object]] = []
    for credential in credentials:
        entry: dict[str, object] = {"scope": "GLOBAL", "id": credential.id}
        if credential.kind == "username_password":
            entry |= {
                "username": variable(credential, "USER"),
                "password": variable(credential, "PASSWORD"),
            }
        elif credential.kind == "secret_text":
            entry |= {"secret": variable(credential, "SECRET")}
        elif credential.kind == "secret_file":
            entry |= {"fileName": credential.id, "secretBytes": variable(credential, "BASE64")}
        else:
            entry |= {
                "username": variable(credential, "USER"),
                "privateKeySource": {"directEntry": {"privateKey": variable(credential, "KEY")}},
            }
        entries.append({_KIND_TO_CASC[credential.kind]: entry})
    return entries


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


# How configuration-as-code installs each tool from a version (Jenkins' own installers).
_INSTALLERS: dict[str, tuple[str, dict[str, object]]] = {
    "maven": ("maven", {}),
    "nodejs": ("nodeJSInstaller", {"npmPackagesRefreshHours": 72}),
    "gradle": ("gradleInstaller", {}),
}
TOOL_TITLES = {"maven": "Maven", "jdk": "JDK", "nodejs": "NodeJS", "gradle": "Gradle"}


def tool_installations(project: Project) -> dict[str, list[Tool]]:
    """Every tool installation the project's pipelines name, by tool type, each name once. Two
    pipelines that describe one installation differently are refused: Jenkins has one
    installation per name."""
    found: dict[str, dict[str, Tool]] = {}
    for component in project.components:
        for kind, tool in component.pipeline.tools.installations():
            same = found.setdefault(kind, {}).setdefault(tool.name, tool)
            if same != tool:
                raise RenderError(
                    f"{project.name}: the {TOOL_TITLES[kind]} installation {tool.name!r} is "
                    f"described twice, differently ({same!r} and {tool!r}); describe it once"
                )
    return {
        kind: [found[kind][name] for name in sorted(found[kind])]
        for kind in TOOL_TITLES
        if kind in found
    }


def _casc_tool(kind: str, tool: Tool) -> dict[str, object]:
    entry: dict[str, object] = {"name": tool.name}
    if tool.home is not None:
        entry["home"] = tool.home
    elif tool.version is not None:
        installer, extra = _INSTALLERS[kind]
        entry["properties"] = [
            {"installSource": {"installers": [{installer: {"id": tool.version, **extra}}]}}
        ]
    return entry


def casc_document(project: Project, steps: list[Step]) -> dict[str, object]:
    """Jenkins configuration-as-code for what the pipelines expect, Jenkins' own URL first
    (every message's build link and the GitHub webhook depend on it), then credentials (values
    left as ``${...}`` variables for the person installing them), Slack, SSH servers, tools."""
    unclassified: dict[str, object] = {
        "location": {
            "url": CascVariable("${JENKINS_URL}")
            if project.jenkins.is_placeholder
            else project.jenkins.url.rstrip("/") + "/"
        }
    }
    document: dict[str, object] = {"unclassified": unclassified}
    credentials = _casc_credentials(_credentials(steps))
    if credentials:
        document["credentials"] = {"system": {"domainCredentials": [{"credentials": credentials}]}}
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
    tools = {
        kind: {"installations": [_casc_tool(kind, tool) for tool in installations]}
        for kind, installations in tool_installations(project).items()
    }
    if tools:
        document["tool"] = tools
    clouds = _casc_clouds(project)
    if clouds:
        # Agents connect over WebSocket through Jenkins' own URL: no extra agent port to open.
        document["jenkins"] = {"clouds": clouds}
    return document


# Per project (held weakly, and only while it lives): its agents. Each setup file asks, and the
# walk over every stage of every component is the larger part of making them.
_AGENTS: dict[int, tuple[weakref.ref[Project], tuple[Agent, ...]]] = {}


def project_agents(project: Project) -> tuple[Agent, ...]:
    """Every agent the project's pipelines and stages name, in order, each once."""
    known = _AGENTS.get(id(project))
    if known is not None and known[0]() is project:
        return known[1]
    found: dict[Agent, None] = {}
    for component in project.components:
        found[component.pipeline.agent] = None
        for _, stage in component.pipeline.walk_stages():
            if stage.agent is not None:
                found[stage.agent] = None
    if len(_AGENTS) > 64:
        _AGENTS.clear()
    _AGENTS[id(project)] = (weakref.ref(project), tuple(found))
    return tuple(found)


def kubernetes_clouds(project: Project) -> dict[str, list[KubernetesPod]]:
    """The kubernetes plugin clouds the pod agents use (``kubernetes`` unless a pod names
    another), with their pods."""
    clouds: dict[str, list[KubernetesPod]] = {}
    for agent in project_agents(project):
        if agent.pod is not None:
            clouds.setdefault(agent.pod.cloud or "kubernetes", []).append(agent.pod)
    return clouds


def _casc_clouds(project: Project) -> list[dict[str, object]]:
    url = (
        CascVariable("${JENKINS_URL}")
        if project.jenkins.is_placeholder
        else project.jenkins.url.rstrip("/") + "/"
    )
    entries: list[dict[str, object]] = []
    for name, pods in kubernetes_clouds(project).items():
        namespaces = sorted({p.namespace for p in pods if p.namespace is not None})
        entry: dict[str, object] = {"name": name, "jenkinsUrl": url, "webSocket": True}
        if namespaces:
            entry["namespace"] = namespaces[0]
        entries.append({"kubernetes": entry})
    return entries


def render_plugins(project: Project, steps: list[Step]) -> str:
    return "\n".join(required_plugins(project, steps)) + "\n"


def render_casc(project: Project, steps: list[Step]) -> str:
    header = (
        f"# Jenkins configuration-as-code for project {project.name}, generated by pipedsl.\n"
        "# A fragment to merge into the controller's configuration-as-code file, not to load on\n"
        "# its own: configuration-as-code replaces whole lists (credentials, SSH hosts, tool\n"
        "# installations), so a file with only this project's entries would delete the others.\n"
        "# First of all it sets Jenkins' own URL (unclassified.location.url): every message's\n"
        "# build link and the GitHub webhook are made from it.\n"
        "# Values in ${...} are read from the environment of the Jenkins controller when it loads\n"
        "# the file: set them there; never commit them. Fill in hosts and keys of SSH servers.\n"
    )
    document = casc_literal(casc_document(project, steps))
    assert isinstance(document, dict)  # noqa: S101  (casc_literal keeps the shape)
    return header + yaml_document(document)


def agent_commands(project: Project) -> list[str]:
    """The commands the project's deploy targets (and ECR logins) run on the build agent
    besides ``docker``."""
    targets: list[object] = [
        step.target
        for component in project.components
        for step in component.pipeline.all_steps()
        if isinstance(step, DeployManifests)
    ]
    targets += [e.deploy for c in project.components for e in c.environments]
    needs: set[str] = set()
    for component in project.components:
        if component.image is not None and isinstance(
            component.image.repository.registry, EcrRegistry
        ):
            needs.add("aws")
    for target in targets:
        if isinstance(target, Kubectl | Restart | BlueGreen):
            needs.add("kubectl")
        if isinstance(target, GitOps):
            needs |= {"git", "kubectl"}  # kubectl pins the image offline
            if target.argocd is not None:
                needs.add("argocd")
    return sorted(needs)


def _tool_line(kind: str, tool: Tool) -> str:
    title = f"{TOOL_TITLES[kind]} `{tool.name}`"
    if tool.version is not None:
        return f"   - {title}: installed by Jenkins on first use, version {tool.version}"
    if tool.home is not None:
        return f"   - {title}: already installed on every agent at `{tool.home}`"
    return (
        f"   - {title}: must exist in Manage Jenkins > Tools (give it a home or an installer: "
        "`jenkins.yaml` gives only its name)"
    )


def _deploy_hosts(project: Project) -> list[str]:
    """The Publish Over SSH servers the project's deploys run ``kubectl`` on."""
    hosts = {
        step.server.config_name
        for component in project.components
        for step in component.pipeline.all_steps()
        if isinstance(step, ApplyManifests)
    }
    return sorted(hosts)


def cluster_lines(project: Project, runtimes: Sequence[Runtime]) -> list[str]:
    """The cluster's prerequisites: the Secrets to create once (and how) for ``runtimes`` (the
    components' runtimes as rendered), the backing services to apply (no pipeline deploys
    them), where ``kubectl`` must run."""
    secrets: dict[tuple[str, str], Secret] = {}
    for runtime in [*runtimes, *(b.runtime for b in project.backing_services)]:
        for secret in runtime.needed_secrets:
            secrets.setdefault((secret.namespace, secret.name), secret)
    lines: list[str] = []
    if secrets:
        lines.append(
            "   Create these Secrets once (pipedsl never holds their values; each deploy checks "
            "they exist):"
        )
        lines += [
            f"   - `{ns}/{name}` (keys {', '.join(f'`{k}`' for k in secret.keys)}): "
            f"`{secret.create_command().partition('  # ')[0]}`"
            for (ns, name), secret in sorted(secrets.items())
        ]
    if project.backing_services:
        lines.append(
            "   Apply the backing services once, and after each change (no pipeline deploys "
            "them), from the repository:"
        )
        if shared_objects(project):
            lines.append(
                "   - first, the objects several runtimes share: `kubectl apply -f "
                f"{project.generated_dir}/{manifest_dir(project, SHARED)}/`"
            )
        lines += [
            f"   - {service.name}: `kubectl apply -f "
            f"{project.generated_dir}/{manifest_dir(project, service.name)}/`"
            for service in project.backing_services
        ]
    hosts = _deploy_hosts(project)
    if hosts:
        lines.append(
            "   The deploy stages run `kubectl` on the SSH server(s) "
            + ", ".join(f"`{h}`" for h in hosts)
            + " (Publish Over SSH): install it there, with access to the cluster."
        )
    return lines


def render_setup_notes(project: Project, runtimes: Sequence[Runtime] = ()) -> str:
    jobs = project.jenkins
    if jobs.is_placeholder:
        url_step = [
            "1. First set Jenkins' own URL (Manage Jenkins > System > Jenkins URL; `jenkins.yaml`",
            "   reads it from `JENKINS_URL`): the build link in every notification and the GitHub",
            "   webhook are made from it (without it, messages show `null`). The project does not",
            '   say where its Jenkins is: set `Project(jenkins=JenkinsJobs(url="http://<host>:14149"))`',
            "   and render again (the webhook URL below is a placeholder until then).",
        ]
    else:
        url_step = [
            f"1. First set Jenkins' own URL to `{jobs.url.rstrip('/')}/` (Manage Jenkins > System >",
            "   Jenkins URL; `jenkins.yaml` sets it): the build link in every notification and the",
            "   GitHub webhook are made from it (without it, messages show `null`).",
        ]
    lines = [
        f"# Jenkins setup for {project.name}",
        "",
        *url_step,
        "2. Install the plugins in `plugins.txt` (`jenkins-plugin-cli --plugin-file plugins.txt`).",
        "3. Merge `jenkins.yaml` into the controller's configuration-as-code file (it lists only",
        "   this project's credentials, SSH hosts and tools; loading it alone would replace the",
        "   others), and set the variables it names in the controller's environment.",
    ]
    installations = tool_installations(project)
    if installations:
        lines.append("   The pipelines use these tool installations (`tools {}`), by name:")
        lines += [_tool_line(k, t) for k, tools in installations.items() for t in tools]
    needs = agent_commands(project)
    if needs:
        lines.append(
            "   The deploy stages run these commands on the build agent: "
            + ", ".join(f"`{c}`" for c in needs)
            + " (see docs/deploy.md)."
        )
    cluster = cluster_lines(project, runtimes)
    if cluster:
        lines.append("   In the Kubernetes cluster:")
        lines += cluster
    events = "events `push` and `pull_request`" if jobs.multibranch else "event `push`"
    clouds = kubernetes_clouds(project)
    for cloud, pods in clouds.items():
        accounts = sorted({p.service_account for p in pods if p.service_account})
        namespaces = sorted({p.namespace for p in pods if p.namespace})
        lines.append(
            f"   Pod agents run in the Kubernetes cloud `{cloud}` (`jenkins.yaml` declares it;\n"
            "   give it the cluster's address and credentials unless Jenkins runs in that cluster)"
            + (f", in namespace(s) {', '.join(f'`{n}`' for n in namespaces)}" if namespaces else "")
            + (
                f", with service account(s) {', '.join(f'`{a}`' for a in accounts)}"
                if accounts
                else ""
            )
            + "."
        )
        if any(p.builder is not None for p in pods):
            lines.append(
                "   Their BuildKit builder runs rootless: the nodes must allow unprivileged user\n"
                "   namespaces (see docs/agents.md)."
            )
    lines += [
        f"4. In GitHub, add a webhook to {project.repository}: payload URL `{jobs.webhook_url}`,",
        f"   content type `application/json`, {events}.",
        "5. Run `pipedsl sync` to create the jobs in the Jenkins folder "
        f"`{project.jenkins_folder}`.",
    ]
    if jobs.multibranch:
        login = (
            f"the credential `{jobs.checkout_credentials}` (username and a GitHub token)"
            if jobs.checkout_credentials
            else "no credential: public repositories only, at GitHub's anonymous rate limit "
            "(set `JenkinsJobs(checkout_credentials=...)` to a username/token credential)"
        )
        lines.append(
            "6. The jobs are multibranch jobs: Jenkins scans the repository through GitHub's API "
            f"with {login}, then gives each branch and pull request a job of its own."
        )
    if jobs.definition == "inline":
        lines.append(
            "6. The jobs embed their Jenkinsfiles: a push only starts a job after its first build; "
            "`pipedsl sync --first-build` starts one."
        )
    return "\n".join(lines) + "\n"
