"""Secret hygiene: no generated file carries a secret, and no credential variable is ever
interpolated by Groovy."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from pipedsl import Artifact
from pipedsl.cli import app
from pipedsl.render.secrets import (
    credential_variables,
    find_interpolated_credentials,
    find_secrets,
    interpolated_names,
    interpolated_names_plain,
    interpolated_variables,
)

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
