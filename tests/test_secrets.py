"""Secret hygiene: no generated file carries a secret, and no credential variable is ever
interpolated by Groovy."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from pipedsl import (
    Artifact,
    Component,
    Credential,
    Echo,
    GroovyExpr,
    GString,
    Maven,
    ModelError,
    Pipeline,
    Project,
    Slack,
    Stage,
    WithCredentials,
    render_project,
    sh,
)
from pipedsl.cli import app
from pipedsl.model.steps import Step
from pipedsl.model.values import Text
from pipedsl.render.escape import groovy_str
from pipedsl.render.secrets import (
    ASSIGNED_SECRET,
    credential_variables,
    find_interpolated_credentials,
    find_secrets,
    find_value_secrets,
    interpolated_names,
    interpolated_names_plain,
    interpolated_variables,
)
from tests.support import tally

LEAKS = {
    "private key": "-----BEGIN OPENSSH PRIVATE KEY-----",
    "github token": "export GH=ghp_" + "a1B2" * 9,
    "slack token": "curl -H 'Authorization: Bearer xoxb-1234567890-abcdefghij'",
    "slack webhook": "curl https://hooks.slack.com/services/T0001/B0002/abcdefXYZ123",
    "discord webhook": "https://discord.com/api/webhooks/123456/abcdefghijklmnopqrstuvwxyz",
    "aws key": "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE",
    "docker pat": "echo dckr_pat_abcdefghijklmnopqrstuvwx | docker login",
    "jwt": "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "docker login -p": "docker login -u me -p hunter2 docker.io",
    "password in environment": "        DB_PASSWORD = 'hunter2!'",
    "yaml password": '  password: "correct horse"',
    "base64 default": "  MARIADB_ROOT_PASSWORD: cGFzc3dvcmQ=",
}

CLEAN = [
    "withCredentials([usernamePassword(credentialsId: 'dockerhub', usernameVariable: 'U', passwordVariable: 'P')]) {",
    'printf \'%s\' "$REGISTRY_PASSWORD" | docker login -u "$REGISTRY_USER" --password-stdin',
    "    tokenCredentialId: 'slack-token',",
    "          password: ${DOCKERHUB_PASSWORD}",
    "  JWT_SECRET_KEY:",
]


@pytest.mark.parametrize("name", sorted(LEAKS))
def test_leak_is_found_with_file_and_line(name: str) -> None:
    artifact = Artifact("p/c/Jenkinsfile", f"pipeline {{\n{LEAKS[name]}\n}}\n", "jenkinsfile")
    problems = find_secrets([artifact])
    assert [p.path for p in problems] == ["p/c/Jenkinsfile:2"]


@pytest.mark.parametrize("line", CLEAN)
def test_references_are_not_secrets(line: str) -> None:
    assert find_secrets([Artifact("p/c/Jenkinsfile", line + "\n", "jenkinsfile")]) == []


def test_interpolated_credential_variables_are_found() -> None:
    text = (
        "withCredentials([string(credentialsId: 'x', variable: 'TOKEN')]) {\n"
        '    sh "curl -H \\"Authorization: $TOKEN\\" https://x"\n'
        "    sh 'curl -H \"Authorization: $TOKEN\"'\n"  # single-quoted: the shell reads it
        '    echo "escaped \\$TOKEN"\n'
        '    echo "${env.TOKEN}"\n'
        "}\n"
    )
    assert credential_variables(text) == {"TOKEN"}
    assert interpolated_variables(text, {"TOKEN"}) == ["TOKEN", "TOKEN"]
    assert (
        len(find_interpolated_credentials([Artifact("a/b/Jenkinsfile", text, "jenkinsfile")])) == 1
    )


def test_every_rendered_jenkinsfile_binds_credentials_safely(
    artifacts: dict[str, Artifact],
) -> None:
    jenkinsfiles = [a for a in artifacts.values() if a.kind == "jenkinsfile"]
    assert any(credential_variables(a.text) for a in jenkinsfiles)
    for artifact in jenkinsfiles:
        assert interpolated_variables(artifact.text, credential_variables(artifact.text)) == [], (
            artifact.path
        )
    assert find_secrets(artifacts.values()) == []


def test_render_refuses_a_pasted_token(tmp_path: Path) -> None:
    projects = tmp_path / "projects"
    projects.mkdir()
    (projects / "leak.py").write_text(
        "from pipedsl import Component, Pipeline, Project, Stage, sh\n"
        "p = Pipeline([Stage('Notify', [sh('curl -d x https://hooks.slack.com/services/T01/B02/abcdef123')])])\n"
        "project = Project('leak', repository='https://github.com/a/b.git', components=[Component('api', p)])\n"
    )
    result = CliRunner().invoke(
        app, ["render", "--projects", str(projects), "--out", str(tmp_path / "g")]
    )
    assert result.exit_code == 2
    assert "leak/api/Jenkinsfile:" in result.output
    assert "looks like a Slack webhook URL" in result.output
    assert "abcdef123" not in result.output  # the error names the place, never the value
    assert not (tmp_path / "g").exists()


# The fast paths of the interpolation check must agree with the plain lexer on any text: the
# reference below is the token pattern as first written (lazy loops, one alternation per
# character), lexing the whole text at once.
_REFERENCE_TOKENS = re.compile(
    r"(?=[/'\"])"
    r"(?://[^\n]*"
    r"|/\*.*?\*/"
    r"|'''(?:\\.|[^\\])*?'''"
    r'|"""((?:\\.|[^\\])*?)"""'
    r"|'(?:\\.|[^\\'\n])*'"
    r'|"((?:\\.|[^\\"\n])*)")',
    re.DOTALL,
)
_REFERENCE_NAME = re.compile(r"(?<!\\)\$\{?\s*(?:env\.)?([A-Za-z_][A-Za-z0-9_]*)")
_REFERENCE_BINDING = re.compile(
    r"(?:usernameVariable|passwordVariable|variable|keyFileVariable|passphraseVariable):\s*'([A-Za-z_][A-Za-z0-9_]*)'"
)


def _reference_names(code: str) -> list[str]:
    names = []
    for match in _REFERENCE_TOKENS.finditer(code):
        body = match.group(1) if match.group(1) is not None else match.group(2)
        if body is not None:
            names += _REFERENCE_NAME.findall(body)
    return names


# Texts made of the pieces that matter to the lexer: quotes of every kind, comments,
# backslashes, newlines, interpolations and bindings.
_PIECES = st.sampled_from(
    [
        "'", '"', "'''", '"""', "/*", "*/", "//", "\\", "\n", " ", "$", "${", "}", "env.",
        "TOKEN", "USER", "x", "sh ", "echo ", "variable: 'TOKEN'", "usernameVariable: 'USER'",
        "myvariable: 'X'",
    ]
)  # fmt: skip
_GROOVYISH = st.lists(_PIECES, max_size=40).map("".join)


@settings(max_examples=1000, deadline=None)
@given(texts=st.lists(_GROOVYISH, min_size=1, max_size=4))
@example(texts=['"x\\\n$TOKEN"', "'a\\\n\"$TOKEN\"'"])  # a backslash joins two lines
@example(texts=['"""\n$TOKEN\n"""', '/*\n"$TOKEN"\n*/', "'''\n\"$TOKEN\"\n'''"])
def test_interpolation_fast_paths_agree_with_the_plain_lexer(texts: list[str]) -> None:
    # Several texts in a row, so later ones meet lines remembered from earlier ones.
    for text in texts + texts:
        assert interpolated_names(text) == _reference_names(text), text
        assert interpolated_names_plain(text) == _reference_names(text), text
        assert credential_variables(text) == set(_REFERENCE_BINDING.findall(text)), text


def test_interpolation_inside_a_multiline_string_is_seen_across_lines() -> None:
    text = 'sh """\necho ${\nTOKEN}\n"""\nsh \'\'\'\necho "$TOKEN"\n\'\'\'\necho "$TOKEN"\n'
    assert interpolated_names(text) == ["TOKEN", "TOKEN"]
    assert interpolated_names(text) == _reference_names(text)


def test_a_line_is_judged_alone_whatever_is_scanned_with_it() -> None:
    # Lines of several files are judged in one scan; a pattern must not join two of them.
    files = [
        Artifact("p/c/Jenkinsfile", "echo docker\n", "jenkinsfile"),
        Artifact("p/c/k8s/30-configmap-c.yaml", "login -p x\n", "manifest"),
    ]
    assert find_secrets(files) == []
    assert [p.path for p in find_secrets([Artifact("p/d/J", "docker login -p x\n", "job")])] == [
        "p/d/J:1"
    ]


# --- values judged as the shell and Groovy read them ----------------------------------------
#
# A one-line script is a single-quoted Groovy literal, where ' becomes \' and \ becomes \\:
# the scan of the written line reads the escaped text. Each literal below is refused in a
# one-line script exactly as in a multi-line one, and as an environment value.

REPO = "https://github.com/acme/leaky.git"
ESCAPED_FORMS = {
    "quoted assignment": ("DB_PASSWORD='hunter2!' ./run", ASSIGNED := "a literal assigned"),
    "--password='...'": ("mysql --password='hunter2' shop", ASSIGNED),
    "double quotes": ('export API_TOKEN="s3cr3t-value" && ./deploy', ASSIGNED),
    "a $ in single quotes": ("DB_PASSWORD='pa$$w0rd' ./run", ASSIGNED),
    "a lone $ in double quotes": ('DB_PASSWORD="hunter2$" ./run', ASSIGNED),
    "backslashes": ("DB_PASSWORD='hun\\ter\\2' ./run", ASSIGNED),
    "a tab before the quote": ("DB_PASSWORD=\t'hunter2!' ./run", ASSIGNED),
    "docker login -p": ("docker login -u me -p 'hunter2' docker.io", "docker login"),
    "docker login -p with $": ('docker login -u me -p "pa$$" docker.io', "docker login"),
    "a token in quotes": ("curl -H 'Authorization: token ghp_" + "a1B2" * 9 + "' x", "GitHub"),
}
# (environment value, the same literal in a multi-line script)
ENV_FORMS = {
    "a $": ("pa$$w0rd", "DB_PASSWORD='pa$$w0rd'"),
    "a quote": ("hu'nter2", 'DB_PASSWORD="hu\'nter2"'),
    "a double quote": ('hu"nter2', "DB_PASSWORD='hu\"nter2'"),
    "backslashes": ("a\\b\\c\\d", "DB_PASSWORD='a\\b\\c\\d'"),
    "plain": ("hunter2!", "DB_PASSWORD='hunter2!'"),
}


def _project(*steps: Step, environment: dict[str, Text] | None = None) -> Project:
    stage = Stage("Run", list(steps) or [sh("make")], environment=environment or {})
    return Project("leaky", repository=REPO, components=[Component("api", Pipeline([stage]))])


SCRIPT = "components[api].pipeline.stages[0].steps[0].script: "


def _messages(problems: list[str]) -> set[str]:
    return {p.split(": ", 1)[1] for p in problems}


def _refusal(project: Project) -> list[str]:
    with pytest.raises(ModelError) as caught:
        render_project(project)
    return [str(p) for p in caught.value.problems]


@pytest.mark.parametrize("form", sorted(ESCAPED_FORMS))
def test_a_literal_is_refused_in_a_one_line_script_as_in_a_multi_line_one(form: str) -> None:
    literal, what = ESCAPED_FORMS[form]
    one_line = _refusal(_project(sh(literal)))
    multi_line = _refusal(_project(sh(literal + "\nmake")))
    assert any(what in p for p in multi_line), multi_line
    # The same refusal, named by the file's line where the written text shows the secret and
    # by the model path where only the value does.
    assert _messages(one_line) == _messages(multi_line)
    assert all(p.startswith(("leaky/api/Jenkinsfile:", SCRIPT)) for p in one_line)
    tally.add("escaped secret forms refused as the shell reads them")


@pytest.mark.parametrize("form", sorted(ENV_FORMS))
def test_an_environment_value_is_refused_as_the_same_literal_in_a_script(form: str) -> None:
    value, script = ENV_FORMS[form]
    assert _refusal(_project(sh(script + "\nmake")))
    refused = _refusal(_project(environment={"DB_PASSWORD": value}))
    assert any(ASSIGNED_SECRET in p for p in refused), refused
    assert all(
        p.startswith(("components[api].pipeline.stages[0].environment[DB_PASSWORD]: ", "leaky/"))
        for p in refused
    )
    tally.add("escaped secret forms refused as the shell reads them")


def test_a_refused_value_is_named_by_its_model_path_and_never_shown() -> None:
    # Escaped in the file: ' in a single-quoted literal, " in a GString.
    notify = Slack(
        channel="#ci", token=Credential.secret_text("slack"), message='{status} api_key="hunter2!"'
    )
    stage = Stage("Run", [Echo("token: 'abcdefgh'")])
    component = Component("api", Pipeline([stage]), notify=notify)
    refused = _refusal(Project("leaky", repository=REPO, components=[component]))
    assert refused == [
        f"components[api].pipeline.stages[0].steps[0].message: looks like {ASSIGNED_SECRET}; "
        "keep secrets in Jenkins credentials or Kubernetes Secrets and refer to them by id",
        f"components[api].notify[0].message: looks like {ASSIGNED_SECRET}; "
        "keep secrets in Jenkins credentials or Kubernetes Secrets and refer to them by id",
    ]
    assert not any("hunter2" in p or "abcdefgh" in p for p in refused)


BENIGN: dict[str, list[Step]] = {
    "a credential variable": [
        WithCredentials(
            Credential.secret_text("sonar"),
            ["SONAR_TOKEN"],
            [Maven("sonar:sonar -Dsonar.token=$SONAR_TOKEN"), sh('export TOKEN="$SONAR_TOKEN"')],
        )
    ],
    "${VAR} in quotes": [sh('mysql --password="${DB_PASSWORD}" shop')],
    "$(...) in quotes": [sh('API_TOKEN="$(cat /run/secrets/token)" ./deploy')],
    "a short literal": [sh("TOKEN='abc' ./run")],
    "no secret-looking name": [sh("GREETING='hello world' ./run")],
    "stdin login": [
        sh('printf \'%s\' "$REGISTRY_PASSWORD" | docker login -u "$U" --password-stdin')
    ],
}


@pytest.mark.parametrize("name", sorted(BENIGN))
def test_references_render(name: str) -> None:
    assert render_project(_project(*BENIGN[name]))


@pytest.mark.parametrize(
    "value", ["${DB_PASS}", "$DB_PASS", "${env.DB_PASS}", "abc", GString(GroovyExpr("env.X"))]
)
def test_environment_references_render(value: Text) -> None:
    assert render_project(_project(environment={"DB_PASSWORD": value}))


@pytest.mark.parametrize(
    ("line", "leaks"),
    [
        ("DB_PASSWORD='pa$$word'", True),  # single quotes: the $ is literal
        ('DB_PASSWORD="hunter2$"', True),
        ("password: '${DB_PASSWORD}'", False),  # a placeholder a templating tool fills in
        ('DB_PASSWORD="$X"', False),
        ('DB_PASSWORD="x-${X}"', False),
        ('DB_PASSWORD="`cat f`"', False),
    ],
)
def test_dollar_signs_in_quoted_literals(line: str, leaks: bool) -> None:
    found = find_secrets([Artifact("p/c/Jenkinsfile", line + "\n", "jenkinsfile")])
    assert bool(found) is leaks


def test_values_are_judged_before_escaping() -> None:
    # The written line hides it (\' after the =); the value does not.
    step = sh("DB_PASSWORD='hunter2!' ./run")
    text = f"sh {groovy_str(step.script)}\n"
    assert find_secrets([Artifact("p/c/Jenkinsfile", text, "jenkinsfile")]) == []
    assert [p.path for p in find_value_secrets(step, "s")] == ["s.script"]
    # A kind of secret the files' scan already shows by file and line is not reported twice.
    shown = find_secrets([Artifact("p/c/J", "DB_PASSWORD='hunter2!'\n", "jenkinsfile")])
    assert find_value_secrets(step, "s", reported=shown) == []
