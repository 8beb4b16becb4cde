"""The LAT32T team's delivery setup: a Spring Boot backend and an npm frontend, each built,
pushed to Docker Hub and deployed over SSH to the Kubernetes master, with Slack on every stage."""

from pipedsl import (
    Credential,
    DockerHub,
    Project,
    Slack,
    SshServer,
    npm_frontend,
    spring_boot_backend,
)

slack = Slack(
    channel="#slack-notification",
    team_domain="lat32t",
    token=Credential.secret_text("slack-token"),
    per="stage",  # success and failure of every stage
)
hub = DockerHub("hosin/lat32t", login=Credential.username_password("dockerhub"))
master = SshServer("master")  # a Publish Over SSH server configured in Jenkins

backend = spring_boot_backend(
    "backend",
    source="backend/",  # Maven project folder in the repository
    image=hub.tagged("backend-{build}"),  # one tag, used for push and deploy
    deploy=master,
    notify=slack,
)

frontend = npm_frontend(
    "frontend",
    source="frontend/",
    image=hub.tagged("frontend-{build}"),
    deploy=master,
    notify=slack,
)

project = Project(
    "lat32t",
    repository="https://github.com/beyond-sw-camp/be02-fin-LAT32T-SSM.git",
    branch="develop",
    components=[backend, frontend],
)
