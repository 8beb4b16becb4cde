"""pipedsl: a team's delivery setup as typed Python, rendered to Jenkinsfiles.

Describe a project in ``projects/<name>.py``::

    from pipedsl import Credential, DockerHub, Project, Slack, SshServer, spring_boot_backend

    slack = Slack(channel="#deploys", team_domain="acme", token=Credential.secret_text("slack-token"))
    hub = DockerHub("acme/shop", login=Credential.username_password("dockerhub"))
    project = Project(
        "shop",
        repository="https://github.com/acme/shop.git",
        components=[spring_boot_backend("api", image=hub.tagged("api-{build}"),
                                        deploy=SshServer("master"), notify=slack)],
    )

then ``pipedsl render`` (or :func:`render_project`) writes its files.
"""

from pipedsl.errors import (
    ModelError,
    PipedslError,
    Problem,
    ProjectLoadError,
    RenderError,
    SyncError,
)
from pipedsl.load import find_project_files, load_project, load_projects
from pipedsl.model.credentials import Credential
from pipedsl.model.infra import DockerHub, Image, Registry, Repository, SshServer
from pipedsl.model.notify import Discord, Slack, with_notifications
from pipedsl.model.pipeline import Agent, Options, Pipeline, Post, Stage, Tools, When
from pipedsl.model.project import Component, Project
from pipedsl.model.steps import (
    Checkout,
    Dir,
    DiscordSend,
    DockerBuild,
    DockerPush,
    Echo,
    Groovy,
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
    sh,
)
from pipedsl.model.validate import validate_project
from pipedsl.model.values import (
    BUILD_NUMBER,
    BUILD_RESULT,
    BUILD_URL,
    GIT_COMMIT,
    JOB_NAME,
    STAGE_NAME,
    GroovyExpr,
    GString,
)
from pipedsl.presets import npm_frontend, spring_boot_backend
from pipedsl.render import Artifact, render_project, render_projects
from pipedsl.write import CheckResult, check_artifacts, write_artifacts

__all__ = [
    "BUILD_NUMBER",
    "BUILD_RESULT",
    "BUILD_URL",
    "GIT_COMMIT",
    "JOB_NAME",
    "STAGE_NAME",
    "Agent",
    "Artifact",
    "CheckResult",
    "Checkout",
    "Component",
    "Credential",
    "Dir",
    "Discord",
    "DiscordSend",
    "DockerBuild",
    "DockerHub",
    "DockerPush",
    "Echo",
    "GString",
    "Groovy",
    "GroovyExpr",
    "Image",
    "KubectlApply",
    "Maven",
    "ModelError",
    "Npm",
    "Options",
    "PipedslError",
    "Pipeline",
    "Post",
    "Problem",
    "Project",
    "ProjectLoadError",
    "Registry",
    "RenderError",
    "Repository",
    "Rollout",
    "Sh",
    "ShipFiles",
    "Slack",
    "SlackSend",
    "SshPublish",
    "SshServer",
    "SshTransfer",
    "Stage",
    "Step",
    "SyncError",
    "Tools",
    "When",
    "WithCredentials",
    "check_artifacts",
    "find_project_files",
    "load_project",
    "load_projects",
    "npm_frontend",
    "render_project",
    "render_projects",
    "sh",
    "spring_boot_backend",
    "validate_project",
    "with_notifications",
    "write_artifacts",
]
