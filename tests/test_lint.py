"""``pipedsl lint``: every rendered Jenkinsfile sent to the test Jenkins' declarative linter
(over real HTTP, through python-jenkins) and compiled by the real groovy; raw Groovy with
unbalanced brackets or strings refused by the model, before anything is rendered."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipedsl import Groovy, ModelError
from pipedsl.cli import app
from tests.conftest import FIXTURE_PROJECTS, SEED_PROJECT
from tests.support.cli import run_pipedsl
from tests.support.fake_jenkins import FakeJenkins

runner = CliRunner()
TOKEN = "lint-token-4f1c9e"  # noqa: S105  (the test Jenkins' token)
# The tool installations the seed project's pipelines name (projects/lat32t.py).
SEED_TOOLS = {"git": ["Default"], "jdk": [], "maven": ["maven3.9.6"], "nodejs": ["nodejs-20.10.0"]}


@pytest.fixture
def jenkins() -> Iterator[FakeJenkins]:
    with FakeJenkins(users={"admin": TOKEN}, tool_installations=SEED_TOOLS) as server:
        yield server


def _lint(server: FakeJenkins, *args: str) -> tuple[int, str]:
    result = runner.invoke(
        app,
        ["lint", "--url", server.url, "--user", "admin", "--token", TOKEN, *args],
    )
    assert TOKEN not in result.output
    return result.exit_code, result.output


def test_the_seed_project_passes_jenkins_and_groovy(jenkins: FakeJenkins) -> None:
    code, out = _lint(jenkins, str(SEED_PROJECT))
    assert code == 0, out
    assert (
        f"lint: 2 of 2 Jenkinsfile(s) valid (Jenkins' linter at {jenkins.url}, the local Groovy "
        "compiler)"
    ) in out


def test_jenkins_refusing_a_tool_fails_naming_the_file() -> None:
    # A Jenkins without the seed's Maven and Node.js installations: its linter says so.
    with FakeJenkins(users={"admin": TOKEN}, tool_installations={"git": ["Default"]}) as server:
        code, out = _lint(server, "--no-compile", str(SEED_PROJECT))
    assert code == 1
    assert 'lat32t/backend/Jenkinsfile: Jenkins: Invalid tool type "maven"' in out
    assert "lat32t/frontend/Jenkinsfile: Jenkins: " in out
    assert "lint: 0 of 2 Jenkinsfile(s) valid" in out


def test_raw_groovy_that_does_not_compile_is_found_offline(tmp_path: Path) -> None:
    source = (FIXTURE_PROJECTS / "many_stages.py").read_text()
    broken = source.replace("def x = 1", "def x = = 1", 1)
    assert broken != source
    project = tmp_path / "projects" / "many.py"
    project.parent.mkdir()
    project.write_text(broken)
    done = run_pipedsl("lint", "--offline", str(project), cwd=tmp_path, PYTHONWARNINGS="ignore")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "/Jenkinsfile: groovy: " in done.stderr
    assert "lint: 0 of 1 Jenkinsfile(s) valid (the local Groovy compiler)" in done.stdout


def test_lint_without_jenkins_is_a_clear_failure(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["lint", "--url", "http://127.0.0.1:9", "--timeout", "2", str(SEED_PROJECT)]
    )
    assert result.exit_code == 1
    assert result.output.startswith("error: ")
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("if (ready) {\n    echo 'go'\n", "Groovy.code: '{' opened at line 1, column 12 is never "
         "closed; raw Groovy must be balanced on its own"),
        ("echo 'done' }\n}\npipeline {", "Groovy.code: '}' at line 1, column 13 closes nothing"),
        ("echo \"it's ${name\"", "Groovy.code: the string \" opened at line 1, column 18 is never "
         "closed"),
        ("sh('make)", "Groovy.code: the string ' opened at line 1, column 4 is never closed"),
        ("foo(]", "Groovy.code: ']' at line 1, column 5 does not close '(' opened at line 1, "
         "column 4"),
        ("/* note", "Groovy.code: the comment opened at line 1, column 1 is never closed"),
    ],
)  # fmt: skip
def test_unbalanced_raw_groovy_is_refused(code: str, message: str) -> None:
    with pytest.raises(ModelError) as caught:
        Groovy(code)
    assert str(caught.value).startswith(message)


@pytest.mark.parametrize(
    "code",
    [
        "echo \"a ${items.collect { it.name }.join(',')} b\"",
        "def m = [a: 1]\nif (m.a) { echo('}') }",
        "def text = '''\n{ not code\n'''",
        "// a } in a comment\necho 'x'",
        "/* { */ echo 'y'",
        "echo 'it\\'s'",
    ],
)
def test_balanced_raw_groovy_is_accepted(code: str) -> None:
    assert Groovy(code).code == code


@pytest.mark.parametrize(
    ("code", "message"),
    [
        # Groovy decodes unicode escapes before anything else: a } written as one counts.
        ("echo 'x'\n\\u007d \\u007d", "Groovy.code: '}' at line 2, column 1 closes nothing"),
        ("echo 'x' // note \\u000a }", "Groovy.code: '}' at line 2, column 2 closes nothing"),
        # A slashy string is a string: the braces after it are code.
        ("echo(/'''/)\n}", "Groovy.code: '}' at line 2, column 1 closes nothing"),
    ],
)
def test_what_groovy_reads_as_a_brace_counts(code: str, message: str) -> None:
    with pytest.raises(ModelError) as caught:
        Groovy(code)
    assert str(caught.value).startswith(message)


@pytest.mark.parametrize(
    "code",
    [
        r'assert name ==~ /^[^"]*$/',
        r"def brace = /\}/",
        r"def parts = path.split(/\//)",
        r"def jars = /.*\/*.jar/",
        "def text = $/ it's } /$",
        "def half = margin / 2 / count",
        "if (x) { return /a}/ }",
    ],
)
def test_slashy_strings_and_division_are_read_as_groovy_reads_them(code: str) -> None:
    assert Groovy(code).code == code
