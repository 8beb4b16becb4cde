"""The LAT32T team's delivery setup: a Spring Boot backend and an npm frontend, each built,
pushed to Docker Hub and deployed over SSH to the Kubernetes master, with Slack on every stage;
in the cluster, nginx behind a LoadBalancer proxies /api and /ws to the backend, which reads its
settings from a ConfigMap and its credentials from a Secret, and MariaDB keeps its data on a
PersistentVolumeClaim."""

from pipedsl import (
    ConfigMap,
    Credential,
    DockerHub,
    Project,
    Secret,
    Slack,
    SshServer,
    Tool,
    mariadb,
    nginx_frontend,
    npm_frontend,
    spring_boot_backend,
    spring_boot_service,
)

slack = Slack(
    channel="#slack-notification",
    team_domain="lat32t",
    token=Credential.secret_text("slack-token"),
    per="stage",  # success and failure of every stage
)
hub = DockerHub("hosin/lat32t", login=Credential.username_password("dockerhub"))
master = SshServer("master")  # a Publish Over SSH server configured in Jenkins
# The team's Jenkins provides Maven and Node.js only as tool installations of these names.
maven = Tool("maven3.9.6", version="3.9.6")
nodejs = Tool("nodejs-20.10.0", version="20.10.0")

db = mariadb(
    "mariadb",
    database="ssm",
    storage="10Gi",
    credentials=Secret(
        "mariadb", keys=["MARIADB_ROOT_PASSWORD", "MARIADB_USER", "MARIADB_PASSWORD"]
    ),
)

backend = spring_boot_backend(
    "backend",
    source="backend/",  # Maven project folder in the repository
    maven=maven,
    image=hub.tagged("backend-{build}"),  # one tag, used for push and deploy
    deploy=master,
    notify=slack,
    runtime=spring_boot_service(
        port=8080,
        health="/calendar/event/healthcheck",
        config=ConfigMap(
            "backend-config",
            {"DB_URL": db.jdbc_url(), "AWS_REGION": "ap-northeast-2", "S3_BUCKET": "lat32t-ssm"},
        ),
        secrets=Secret(
            "backend",
            keys=[
                "JWT_SECRET_KEY",
                "AWS_S3_ACCESS_KEY",
                "AWS_S3_SECRET_KEY",
                "DB_USERNAME",
                "DB_PASSWORD",
            ],
        ),
    ),
)

frontend = npm_frontend(
    "frontend",
    source="frontend/",
    nodejs=nodejs,
    image=hub.tagged("frontend-{build}"),
    deploy=master,
    notify=slack,
    runtime=nginx_frontend(proxy={"/api": backend, "/ws": backend}, expose="LoadBalancer"),
)

project = Project(
    "lat32t",
    repository="https://github.com/beyond-sw-camp/be02-fin-LAT32T-SSM.git",
    branch="develop",
    components=[backend, frontend],
    backing_services=[db],
)
