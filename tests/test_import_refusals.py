"""What ``pipedsl import`` refuses, each with a message naming the file and line and saying
what is accepted."""

from __future__ import annotations

import pytest

from pipedsl.errors import PipedslError
from pipedsl.importer import ImportRefused, audit, import_jenkinsfiles
from tests.test_import import FIXTURES, read

REFUSED = FIXTURES / "refused"
DECLARATIVE = "only well-formed declarative pipelines (`pipeline { ... }`) are imported"


def refusal(files: list[tuple[str, str]], repository: str | None = None) -> str:
    with pytest.raises(ImportRefused) as caught:
        import_jenkinsfiles(files, project="demo", repository=repository)
    return str(caught.value)


def test_a_scripted_pipeline_is_refused() -> None:
    assert refusal(read(REFUSED / "scripted.Jenkinsfile")) == (
        "refused/scripted.Jenkinsfile:2: a scripted pipeline (`node { }`) cannot be imported; "
        "only declarative pipelines (`pipeline { agent ...; stages { ... } }`) are: rewrite it "
        "as one, or describe it in pipedsl directly"
    )


def test_text_that_is_not_groovy_is_refused() -> None:
    assert refusal(read(REFUSED / "not-groovy.yml")) == (
        "refused/not-groovy.yml:1: not a declarative Jenkinsfile (no top-level `pipeline { }`); "
        "only declarative pipelines are imported"
    )


def test_a_syntax_error_inside_the_pipeline_is_refused_at_its_line() -> None:
    text = "pipeline {\n    agent any\n    stages {\n        stage('A') {\n"
    text += "            steps { sh 'make' + }\n        }\n    }\n}\n"
    assert refusal([("Jenkinsfile", text)]) == (
        f"Jenkinsfile:5: cannot parse the Jenkinsfile (unexpected `+`); {DECLARATIVE}"
    )


def test_an_unclosed_call_is_refused_at_its_line() -> None:
    assert refusal(read(REFUSED / "broken.Jenkinsfile")) == (
        "refused/broken.Jenkinsfile:7: cannot parse the Jenkinsfile ('}' at line 7, column 13 "
        f"does not close '(' opened at line 6, column 26); {DECLARATIVE}"
    )


def test_an_unclosed_block_is_refused() -> None:
    text = "pipeline {\n    agent any\n    stages {\n        stage('A') {\n"
    assert refusal([("Jenkinsfile", text)]) == (
        "Jenkinsfile:4: cannot parse the Jenkinsfile ('{' opened at line 4, column 20 is never "
        f"closed); {DECLARATIVE}"
    )


def test_a_stray_closing_bracket_is_refused() -> None:
    text = "pipeline {\n    agent any\n}\n}\n"
    assert refusal([("Jenkinsfile", text)]) == (
        "Jenkinsfile:4: cannot parse the Jenkinsfile ('}' at line 4, column 1 closes nothing); "
        f"{DECLARATIVE}"
    )


def test_brackets_in_strings_and_comments_do_not_count() -> None:
    text = (
        "// a { comment\npipeline {\n    agent any\n    stages {\n        stage('A {') {\n"
        "            steps { sh 'echo \"(\"' }\n        }\n    }\n}\n"
    )
    result = import_jenkinsfiles(
        [("Jenkinsfile", text)], project="demo", repository="https://github.com/acme/demo.git"
    )
    assert 'Stage("A {", [sh(\'echo "("\')])' in result.source


def test_helper_methods_outside_the_pipeline_are_not_read() -> None:
    text = (
        "pipeline {\n    agent any\n    stages { stage('A') { steps { sh 'make' } } }\n}\n"
        "def greet(name) {\n    echo name\n}\n"
    )
    result = import_jenkinsfiles(
        [("Jenkinsfile", text)], project="demo", repository="https://github.com/acme/demo.git"
    )
    assert 'Stage("A", [sh("make")])' in result.source


def test_groovy_without_a_pipeline_is_refused() -> None:
    assert refusal([("tools.groovy", "def greet(name) {\n    echo name\n}\n")]) == (
        "tools.groovy:1: not a declarative Jenkinsfile (no top-level `pipeline { }`); only "
        "declarative pipelines are imported"
    )


def test_an_empty_file_is_refused() -> None:
    assert refusal([("Jenkinsfile", "")]) == (
        "Jenkinsfile:1: not a declarative Jenkinsfile (no top-level `pipeline { }`); only "
        "declarative pipelines are imported"
    )


def test_a_pipeline_without_stages_is_refused() -> None:
    assert refusal([("Jenkinsfile", "pipeline {\n    agent any\n}\n")]) == (
        "Jenkinsfile:1: the pipeline has no `stages { }`; a declarative pipeline needs at "
        "least one stage"
    )


def test_no_files_is_refused() -> None:
    assert refusal([]) == "no Jenkinsfiles given: pass at least one declarative Jenkinsfile"


def test_a_project_without_a_repository_asks_for_one() -> None:
    text = "pipeline {\n    agent any\n    stages { stage('A') { steps { checkout scm } } }\n}\n"
    assert refusal([("Jenkinsfile", text)]) == (
        "Jenkinsfile: no repository URL: the Jenkinsfiles check out `scm` and name no "
        "`git url:`; pass repository= (the project's Git URL)"
    )
    result = import_jenkinsfiles(
        [("Jenkinsfile", text)], project="demo", repository="https://github.com/acme/demo.git"
    )
    assert 'repository="https://github.com/acme/demo.git"' in result.source


def test_one_refused_file_refuses_the_import_but_not_the_audit() -> None:
    files = read(FIXTURES / "seed" / "backend.Jenkinsfile", REFUSED / "broken.Jenkinsfile")
    assert refusal(files).startswith("refused/broken.Jenkinsfile:7: ")
    rows = audit(files)
    assert [r.refused is None for r in rows] == [True, False]


def test_import_refused_is_a_pipedsl_error() -> None:
    assert issubclass(ImportRefused, PipedslError)
