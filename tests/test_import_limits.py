"""What the model has no words for is kept as a marked raw step or left out, always reported;
never silently dropped in a way that changes when something runs."""

from __future__ import annotations

from pathlib import Path

from pipedsl.importer import import_jenkinsfiles
from tests.test_import import FIXTURES, lines_of, outline, read, render_source

REPOSITORY = "https://github.com/acme/demo.git"
ODD = FIXTURES / "odd" / "matrix.Jenkinsfile"


def test_unmodelled_constructs_are_reported(tmp_path: Path) -> None:
    result = import_jenkinsfiles(read(ODD), project="odd", repository=REPOSITORY)
    report = lines_of(result.report)
    assert [line.split(" — ")[0] for line in report] == [
        "odd/matrix.Jenkinsfile:3: dropped: agent {",
        "odd/matrix.Jenkinsfile:20: dropped: ansiColor('xterm')",
        "odd/matrix.Jenkinsfile:21: dropped: timestamps()",
        "odd/matrix.Jenkinsfile:24: dropped: environment PATH",
        "odd/matrix.Jenkinsfile:36: raw: stage 'Cross'",
        "odd/matrix.Jenkinsfile:37: dropped: matrix {",
        "odd/matrix.Jenkinsfile:55: converted: when { branch 'release-\\d+' }",
        "odd/matrix.Jenkinsfile:58: converted: password literal in environment { NEXUS_PASSWORD }",
        "odd/matrix.Jenkinsfile:68: raw: cleanWs()",
    ]
    assert "plain-text-secret" not in result.source
    rendered = render_source(result.source, tmp_path, "odd")["odd/matrix/Jenkinsfile"]
    stages = {name: steps for name, steps, _ in outline(rendered)["stages"]}
    assert stages["Cross"] == ["error"]  # fails loudly instead of passing without its matrix
    assert "env.BRANCH_NAME != null && env.BRANCH_NAME ==~ 'release-\\\\d+'" in rendered


def test_a_condition_it_cannot_read_skips_the_stage(tmp_path: Path) -> None:
    text = (
        "pipeline {\n    agent any\n    stages {\n        stage('Deploy') {\n"
        "            when { triggeredBy 'TimerTrigger' }\n"
        "            steps { sh './deploy.sh' }\n        }\n    }\n}\n"
    )
    result = import_jenkinsfiles([("Jenkinsfile", text)], project="demo", repository=REPOSITORY)
    assert lines_of(result.report) == [
        "Jenkinsfile:5: raw: triggeredBy 'TimerTrigger' — a when condition pipedsl cannot read: "
        "the stage is skipped (expression false) until the condition is written in pipedsl",
    ]
    assert 'when=When(expression=GroovyExpr("false"))' in result.source
    render_source(result.source, tmp_path, "demo")


def test_scripted_code_inside_steps_is_kept_raw_and_commented(tmp_path: Path) -> None:
    text = (
        "pipeline {\n    agent any\n    stages {\n        stage('Tag') {\n            steps {\n"
        "                script {\n"
        "                    def tag = sh(script: 'git describe', returnStdout: true).trim()\n"
        "                    currentBuild.displayName = tag\n"
        "                }\n"
        "            }\n        }\n    }\n}\n"
    )
    result = import_jenkinsfiles([("Jenkinsfile", text)], project="demo", repository=REPOSITORY)
    assert "# pipedsl import: a script block: pipedsl describes steps, not Groovy code" in (
        result.source
    )
    rendered = render_source(result.source, tmp_path, "demo")["demo/app/Jenkinsfile"]
    assert "def tag = sh(script: 'git describe', returnStdout: true).trim()" in rendered
    assert outline(rendered)["stages"] == [("Tag", ["script"], {})]


def test_a_script_block_of_plain_steps_is_unwrapped() -> None:
    text = (
        "pipeline {\n    agent any\n    stages {\n        stage('Build') {\n            steps {\n"
        "                script {\n                    dir('web') { sh 'npm ci' }\n"
        "                }\n            }\n        }\n    }\n}\n"
    )
    result = import_jenkinsfiles([("Jenkinsfile", text)], project="demo", repository=REPOSITORY)
    assert lines_of(result.report) == [
        "Jenkinsfile:6: dropped: script { } — it holds only steps, which a stage runs without it",
    ]
    assert 'Stage("Build", [Dir("web", [Npm(["ci"])])])' in result.source


def test_an_unreadable_condition_under_not_keeps_the_stage_from_running() -> None:
    text = (
        "pipeline {\n    agent any\n    stages {\n        stage('Deploy') {\n"
        "            when { not { triggeredBy 'TimerTrigger' } }\n"
        "            steps { sh './deploy.sh' }\n        }\n    }\n}\n"
    )
    result = import_jenkinsfiles([("Jenkinsfile", text)], project="demo", repository=REPOSITORY)
    assert lines_of(result.report) == [
        "Jenkinsfile:5: raw: triggeredBy 'TimerTrigger' — a when condition pipedsl cannot read: "
        "the stage is kept from running (expression true) until the condition is written in "
        "pipedsl",
    ]
    assert 'when=When(not_=When(expression=GroovyExpr("true")))' in result.source


def test_a_slashy_regex_is_read_and_kept() -> None:
    text = (
        "pipeline {\n    agent any\n    stages {\n        stage('Release') {\n"
        '            when { expression { env.BRANCH_NAME ==~ /release-[^"]*/ } }\n'
        "            steps {\n"
        "                git branch: 'main', url: 'https://github.com/acme/app.git'\n"
        "                sh 'make'\n            }\n        }\n    }\n}\n"
    )
    result = import_jenkinsfiles([("Jenkinsfile", text)], project="p")
    assert (
        "When(expression=GroovyExpr('env.BRANCH_NAME ==~ /release-[^\"]*/'))" in (result.source)
        or 'When(expression=GroovyExpr("env.BRANCH_NAME ==~ /release-[^\\"]*/"))' in result.source
    )


def test_the_project_file_parses_whatever_the_jenkinsfiles_are_called() -> None:
    text = (
        Path(__file__).parent / "fixtures" / "jenkinsfiles" / "seed" / "backend.Jenkinsfile"
    ).read_text()
    result = import_jenkinsfiles([('odd"""name\\x.Jenkinsfile', text)], project="p")
    compile(result.source, "p.py", "exec")
    assert '"""' not in result.source.split('"""', 2)[1]
