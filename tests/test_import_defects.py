"""Each defect the model exists to prevent, found in a Jenkinsfile, is converted to the safe
form and reported with its file, line and reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipedsl.importer import ImportResult, import_jenkinsfiles
from tests.test_import import lines_of, render_source

REPOSITORY = "https://github.com/acme/shop.git"


def jenkinsfile(steps: str, environment: str = "", post: str = "") -> str:
    """A declarative Jenkinsfile whose one stage ``Work`` (line 7 on) runs ``steps``."""
    return (
        "pipeline {\n"
        "    agent any\n"
        f"    environment {{\n{environment}    }}\n"
        "    stages {\n"
        "        stage('Work') {\n"
        "            steps {\n"
        f"{steps}"
        "            }\n"
        "        }\n"
        "    }\n"
        f"    post {{\n{post}    }}\n"
        "}\n"
    )


def run(text: str, tmp_path: Path | None = None) -> ImportResult:
    result = import_jenkinsfiles([("api/Jenkinsfile", text)], project="shop", repository=REPOSITORY)
    if tmp_path is not None:
        rendered = render_source(result.source, tmp_path, "shop")
        assert "shop/api/Jenkinsfile" in rendered
    return result


def test_a_password_in_environment_becomes_a_credential(tmp_path: Path) -> None:
    text = jenkinsfile(
        "                sh 'mysqldump -u app -p\"$DB_PASSWORD\" shop > dump.sql'\n",
        environment="        DB_PASSWORD = 'pa55word'\n",
    )
    result = run(text, tmp_path)
    assert lines_of(result.report) == [
        "api/Jenkinsfile:4: converted: password literal in environment { DB_PASSWORD } — a "
        "secret written into the Jenkinsfile is readable by everyone with the repository; "
        "removed: steps that read it get it from the Jenkins credential 'db-password'",
    ]
    assert "pa55word" not in result.source
    assert (
        'WithCredentials(\n                        Credential.secret_text("db-password"),\n'
        '                        ["DB_PASSWORD"],'
    ) in result.source


def test_docker_login_with_a_password_is_left_to_the_push(tmp_path: Path) -> None:
    text = jenkinsfile(
        "                sh 'docker build -t acme/shop:api-$BUILD_NUMBER .'\n"
        "                sh 'docker login -u acme -p t0ps3cret'\n"
        "                sh 'docker push acme/shop:api-$BUILD_NUMBER'\n"
    )
    result = run(text, tmp_path)
    assert lines_of(result.report) == [
        "api/Jenkinsfile:9: converted: docker login -p — a password on the command line shows "
        "in the process list and the log; Docker Push now logs in with the Jenkins credential "
        "'dockerhub' (password on stdin)",
    ]
    assert "t0ps3cret" not in result.source
    assert 'hub = DockerHub("acme/shop", login=Credential.username_password("dockerhub"))' in (
        result.source
    )
    assert '[DockerBuild(hub.tagged("api-{build}")), DockerPush(hub.tagged("api-{build}"))]' in (
        result.source
    )


def test_a_secret_interpolated_by_groovy_is_read_by_the_shell(tmp_path: Path) -> None:
    text = jenkinsfile(
        "                withCredentials([usernamePassword(credentialsId: 'nexus', "
        "usernameVariable: 'NEXUS_USER', passwordVariable: 'NEXUS_PASS')]) {\n"
        '                    sh "curl -fsS -u ${NEXUS_USER}:${env.NEXUS_PASS} -T app.jar '
        'https://nexus.example.com/upload"\n'
        "                }\n"
    )
    result = run(text, tmp_path)
    assert lines_of(result.report) == [
        'api/Jenkinsfile:9: converted: secret $NEXUS_USER interpolated into sh "..." — Groovy '
        "wrote the secret into the command line; the step is now single-quoted and the shell "
        "reads it from the environment",
        'api/Jenkinsfile:9: converted: secret $NEXUS_PASS interpolated into sh "..." — Groovy '
        "wrote the secret into the command line; the step is now single-quoted and the shell "
        "reads it from the environment",
    ]
    assert '"curl -fsS -u ${NEXUS_USER}:${NEXUS_PASS} -T app.jar https://nexus' in result.source
    rendered = render_source(result.source, tmp_path, "again")["shop/api/Jenkinsfile"]
    assert "sh 'curl -fsS -u ${NEXUS_USER}:${NEXUS_PASS}" in rendered


def test_a_sed_on_the_image_placeholder_becomes_a_pinned_rollout(tmp_path: Path) -> None:
    text = jenkinsfile(
        "                sh 'docker build -t acme/shop:api-$BUILD_NUMBER .'\n"
        "                sh 'docker push acme/shop:api-$BUILD_NUMBER'\n"
        "                sshPublisher(publishers: [sshPublisherDesc(configName: 'master', "
        "transfers: [sshTransfer(sourceFiles: 'k8s/*.yaml', removePrefix: 'k8s', "
        "remoteDirectory: 'deploy/api')])])\n"
        "                sshPublisher(publishers: [sshPublisherDesc(configName: 'master', "
        "transfers: [sshTransfer(execCommand: \"sed -i 's/IMAGE_TAG/api-${BUILD_NUMBER}/' "
        'deploy/api/deployment.yaml && kubectl apply -f deploy/api/")])])\n'
    )
    result = run(text, tmp_path)
    assert lines_of(result.report) == [
        "api/Jenkinsfile:10: converted: sshPublisher without failOnError: true — a failed "
        "transfer or command only marked the build unstable and the pipeline went on; now it "
        "fails the stage",
        "api/Jenkinsfile:11: converted: sed s/IMAGE_TAG/... on the manifest — a placeholder that "
        "no longer matches deploys the wrong image; kubectl now points the Deployment 'api' "
        "(container 'api': check the names) at the pushed image and waits for the rollout",
        "api/Jenkinsfile:11: converted: sshPublisher without failOnError: true — a failed "
        "transfer or command only marked the build unstable and the pipeline went on; now it "
        "fails the stage",
    ]
    assert 'rollout=Rollout("api", "api", hub.tagged("api-{build}"))' in result.source


def test_a_sed_on_the_agent_is_kept_and_reported() -> None:
    text = jenkinsfile("                sh \"sed -i 's/VERSION/${BUILD_NUMBER}/' k8s/app.yaml\"\n")
    assert lines_of(run(text).report) == [
        "api/Jenkinsfile:8: raw: sed s/VERSION/... on the agent — an image placeholder rewritten "
        "by hand deploys the wrong image when it stops matching; kept as sh: ship the manifests "
        "with deploy=SshServer(...) (the image is then pinned by kubectl) or give the component "
        "a runtime=",
    ]


def test_latest_becomes_the_build_number(tmp_path: Path) -> None:
    text = jenkinsfile(
        "                sh 'docker build -t registry.example.com/shop/api:latest .'\n"
        "                sh 'docker push registry.example.com/shop/api'\n"
    )
    result = run(text, tmp_path)
    assert lines_of(result.report) == [
        "api/Jenkinsfile:8: converted: image registry.example.com/shop/api:latest (:latest) — a "
        "moving tag deploys whatever was pushed last; the image is now tagged with the build "
        "number, one tag for push and deploy",
        "api/Jenkinsfile:9: converted: image registry.example.com/shop/api (:latest) — a moving "
        "tag deploys whatever was pushed last; the image is now tagged with the build number, "
        "one tag for push and deploy",
    ]
    assert 'api_repo = registry.repository("shop/api")' in result.source
    assert 'DockerPush(api_repo.tagged("{build}"))' in result.source


def test_hard_coded_workspace_paths_become_relative(tmp_path: Path) -> None:
    text = jenkinsfile(
        "                dir('/var/lib/jenkins/workspace/shop-api/api') {\n"
        "                    sh 'mvn -B verify'\n"
        "                }\n"
        "                sh 'cd /var/lib/jenkins/workspace/shop-api && ./gradlew build'\n"
    )
    result = run(text, tmp_path)
    assert lines_of(result.report) == [
        "api/Jenkinsfile:8: converted: hard-coded workspace path "
        "/var/lib/jenkins/workspace/shop-api/api — it breaks when the job is renamed, moved or "
        "run on another agent; now relative to the workspace",
        "api/Jenkinsfile:11: converted: hard-coded workspace path "
        "/var/lib/jenkins/workspace/shop-api — it breaks when the job is renamed, moved or run "
        "on another agent; now relative to the workspace",
    ]
    assert 'Stage("Work", [Dir("api", [Maven(["verify"])]), Gradle(["build"])])' in result.source


def test_a_discord_webhook_url_becomes_a_credential(tmp_path: Path) -> None:
    text = jenkinsfile(
        "                sh 'make'\n",
        post="        failure {\n            discordSend(webhookURL: "
        "'https://discord.com/api/webhooks/1/abc', title: 'shop', description: 'failed')\n"
        "        }\n",
    )
    result = run(text, tmp_path)
    assert lines_of(result.report) == [
        "api/Jenkinsfile:14: converted: discordSend webhook URL written into the Jenkinsfile — "
        "anyone with the URL can post to the channel; it is now read from the Jenkins "
        "credential 'discord-webhook' (secret text)",
    ]
    assert "webhooks/1/abc" not in result.source


def test_a_raw_step_is_marked_in_the_source(tmp_path: Path) -> None:
    text = jenkinsfile(
        "                script {\n"
        "                    env.VERSION = readFile('VERSION').trim()\n"
        "                }\n"
    )
    result = run(text, tmp_path)
    assert lines_of(result.report) == [
        "api/Jenkinsfile:8: raw: script { — a script block: pipedsl describes steps, not Groovy "
        "code",
    ]
    assert (
        "                    # pipedsl import: a script block: pipedsl describes steps, not Groovy code\n"
        "                    # (api/Jenkinsfile:8)\n"
        "                    Groovy(\"script {\\n    env.VERSION = readFile('VERSION').trim()\\n}\"),\n"
    ) in result.source


def test_a_credential_id_in_environment_is_not_a_password(tmp_path: Path) -> None:
    text = jenkinsfile(
        "                withCredentials([string(credentialsId: SONAR_TOKEN_ID, "
        "variable: 'SONAR_TOKEN')]) {\n"
        "                    sh 'mvn -B sonar:sonar -Dsonar.token=$SONAR_TOKEN'\n"
        "                }\n",
        environment="        SONAR_TOKEN_ID = 'sonar-token'\n",
    )
    result = run(text, tmp_path)
    assert lines_of(result.report) == [
        "api/Jenkinsfile:4: dropped: environment SONAR_TOKEN_ID — its value is now part of a "
        "typed setting (notifier, registry, deploy)",
    ]
    assert 'Credential.secret_text("sonar-token")' in result.source


def test_a_password_written_into_a_command_becomes_a_credential(tmp_path: Path) -> None:
    text = jenkinsfile(
        "                sh 'DB_PASSWORD=hunter2 ./migrate.sh'\n"
        "                sh 'mysqldump -u app -pS3cr3t shop'\n"
        "                sh 'cd tools && ./notify --token abc123 --channel ops'\n"
        "                sh './notify --token abc123 > notify.log'\n"
    )
    result = run(text, tmp_path)
    why = (
        "a secret written into the Jenkinsfile is readable by everyone with the repository and "
        "shows in the log; removed: the command reads ${} from the Jenkins credential '{}' "
        "(secret text)"
    )
    assert lines_of(result.report) == [
        "api/Jenkinsfile:8: converted: password literal in sh (DB_PASSWORD=...) — "
        + why.format("DB_PASSWORD", "db-password"),
        "api/Jenkinsfile:9: converted: password literal in sh (-p...) — "
        + why.format("MYSQLDUMP_PASSWORD", "mysqldump-password"),
        "api/Jenkinsfile:10: converted: password literal in sh (--token) — "
        + why.format("NOTIFY_TOKEN", "notify-token"),
        "api/Jenkinsfile:11: raw: password literal in sh (--token) — the command (with pipes "
        "or redirections, which pipedsl does not rewrite) is replaced by a step that fails "
        "saying so, so the password is never copied: move the secret to a Jenkins credential "
        "and write the command with WithCredentials",
    ]
    assert "hunter2" not in result.source
    assert "S3cr3t" not in result.source
    # Never copied, not even where the command could not be rewritten.
    assert "abc123" not in result.source
    assert "this command had a password written into it and was not imported" in result.source
    assert 'sh("./migrate.sh")' in result.source
    assert "sh('mysqldump -u app \"-p${MYSQLDUMP_PASSWORD}\" shop')" in result.source
    assert 'Dir("tools", [sh(\'./notify --token "${NOTIFY_TOKEN}" --channel ops\')])' in (
        result.source
    )


def test_a_slack_token_written_into_the_jenkinsfile_becomes_a_credential(tmp_path: Path) -> None:
    text = jenkinsfile(
        "                sh 'make'\n",
        post="        success {\n            slackSend(channel: '#ci', message: 'ok', "
        "token: 'xoxb-0000-not-real')\n        }\n",
    )
    result = run(text, tmp_path)
    assert lines_of(result.report) == [
        "api/Jenkinsfile:14: converted: slackSend token written into the Jenkinsfile — anyone "
        "with the token can post as the bot; it is now read from the Jenkins credential "
        "'slack-token' (secret text)",
    ]
    assert "xoxb-0000-not-real" not in result.source
    assert 'Credential.secret_text("slack-token")' in result.source


def test_triggers_move_to_the_job() -> None:
    text = (
        "pipeline {\n    agent any\n    triggers {\n        cron('H 4 * * 1-5')\n    }\n"
        "    stages { stage('A') { steps { sh 'make' } } }\n}\n"
    )
    result = run(text)
    assert lines_of(result.report) == [
        "api/Jenkinsfile:3: converted: triggers { } — a Jenkinsfile's triggers replace the "
        "job's, the push trigger included; they are now the job's own (config.xml), beside the "
        "push trigger",
    ]
    assert 'triggers=Triggers(cron="H 4 * * 1-5")' in result.source


SECRET = "Hunter2xyz"  # noqa: S105  (a made-up secret the import must never copy)


@pytest.mark.parametrize(
    "steps",
    [
        f"withEnv(['DB_PASSWORD={SECRET}']) {{ sh './run.sh' }}",
        f"sh 'export DB_PASSWORD={SECRET} && ./run.sh'",
        f"sh 'env DB_PASSWORD={SECRET} ./run.sh'",
        f"sh 'sshpass -p {SECRET} ssh deploy@host'",
        f"sh 'curl -u admin:{SECRET} https://example.com'",
        f"sh 'git push https://bot:{SECRET}@example.com/r.git'",
        f"sh 'helm upgrade app ./chart --set db.password={SECRET}'",
        f"sh 'kubectl create secret generic s --from-literal=password={SECRET}'",
        f"script {{ def pw = '{SECRET}'; sh \"./deploy.sh ${{pw}}\" }}",
        f"sh '''\n./prepare\nDB_PASSWORD={SECRET} ./migrate | tee log\n'''",
        f"echo 'the admin password is {SECRET}'",
        f"sh 'echo \"token: {SECRET}\" > notes.txt'",
    ],
)
def test_a_secret_in_a_step_kept_as_written_is_never_copied(steps: str, tmp_path: Path) -> None:
    result = run(jenkinsfile(f"                {steps}\n"), tmp_path)
    assert SECRET not in result.source
    assert not [line for line in result.report if SECRET in str(line)]
    (line,) = [line for line in result.report if "holding a secret" in line.what]
    assert line.kind == "raw"
    assert "this step held a secret" in result.source


@pytest.mark.parametrize(
    "words",
    [
        "echo 'the password is required'",
        "echo 'token: ${TOKEN_ID}'",
        "echo 'the token was revoked'",
        "sh 'echo password reset done'",
    ],
)
def test_prose_about_a_password_without_one_is_kept(words: str, tmp_path: Path) -> None:
    result = run(jenkinsfile(f"                {words}\n"), tmp_path)
    assert not [line for line in result.report if "holding a secret" in line.what]


@pytest.mark.parametrize(
    "entry",
    [
        f'DB_PASSWORD = "{SECRET}${{env.SUFFIX}}"',
        "DB_PASSWORD = 'Hunter' + '2xyz'",
        f"DB_PASSWORD = \"${{'{SECRET}'}}\"",
        f"DB_PWD = '{SECRET}'",
        f"NPM_AUTH = '{SECRET}'",
        "DB_PASSWORD = 98765432",
    ],
)
def test_a_secret_environment_value_of_any_form_becomes_a_credential(
    entry: str, tmp_path: Path
) -> None:
    result = run(
        jenkinsfile("                sh 'make'\n", environment=f"        {entry}\n"), tmp_path
    )
    for leaked in (SECRET, "Hunter", "2xyz", "98765432"):
        assert leaked not in result.source
        assert not [line for line in result.report if leaked in str(line)]
