"""The words of tool steps (Maven, Npm) as the tool receives them: ``$NAME`` and ``${NAME}``
expanded by the shell from the environment, as in double quotes (no word splitting, no
globbing), everything else literal. Checked end to end: the Jenkinsfile read by the real
Groovy, its ``sh`` script run by a real ``sh`` against recording fakes."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipedsl import (
    Artifact,
    Component,
    Credential,
    Maven,
    Npm,
    Pipeline,
    Project,
    Stage,
    WithCredentials,
    render_project,
)
from pipedsl.model.steps import Step
from pipedsl.render.lower import lower
from pipedsl.render.secrets import find_interpolated_credentials
from tests.support import tally
from tests.support.declarative import descendants, walk

REPO = "https://github.com/acme/tools.git"


def _run(script: str, tool: str, env: dict[str, str], cwd: Path) -> list[list[str]]:
    """The arguments of each call of ``tool`` when a real sh runs ``script`` in ``cwd``."""
    fake = f'{tool}() {{ printf \'%s\\0\' "$#" "$@"; }}\n'
    done = subprocess.run(
        ["sh", "-c", fake + script], capture_output=True, check=True, env=env, cwd=cwd
    )
    fields = done.stdout.decode("utf-8").split("\0")[:-1]
    calls = []
    while fields:
        count = int(fields.pop(0))
        calls.append(fields[:count])
        del fields[:count]
    return calls


def _scripts(*steps: Step) -> tuple[Artifact, list[str]]:
    """The Jenkinsfile of a pipeline of ``steps`` and its sh scripts, as Groovy reads them."""
    pipeline = Pipeline([Stage("Build", list(steps))])
    project = Project("tools", repository=REPO, components=[Component("api", pipeline)])
    (jenkinsfile,) = (a for a in render_project(project) if a.kind == "jenkinsfile")
    (tree,) = walk({"J": jenkinsfile.text})["J"]
    scripts = [n["args"][0] for n in descendants(tree) if n["name"] == "sh"]
    return jenkinsfile, scripts


def test_a_credential_variable_reaches_the_tool_expanded_by_the_shell(tmp_path: Path) -> None:
    step = WithCredentials(
        Credential.secret_text("sonar"),
        ["SONAR_TOKEN"],
        [Maven("sonar:sonar -Dsonar.token=$SONAR_TOKEN")],
    )
    jenkinsfile, (script,) = _scripts(step)
    # Groovy passes the reference on untouched (a single-quoted literal): the shell expands it.
    assert find_interpolated_credentials([jenkinsfile]) == []
    assert '-Dsonar.token="${SONAR_TOKEN}"' in script
    (tmp_path / "pom.xml").touch()
    env = {"SONAR_TOKEN": "t0k en * $(id)"}
    assert _run(script, "mvn", env, tmp_path) == [
        ["-B", "sonar:sonar", "-Dsonar.token=t0k en * $(id)"]
    ]


def test_everything_but_variables_stays_literal(tmp_path: Path) -> None:
    words = [
        "-Da=$(id)",
        "-Db=`id`",
        "-Dc=*",
        "-Dd=${X:-fallback}",
        "-De=$1$$$?",
        "-Df=$",
        "-Dg=${X}${HOME}x$HOME_DIR",
        "-Dh='$X' \"$X\"",
        "-Di=\\$X",
        "-Dj=$UNSET.",
        "~",
    ]
    _, (maven, npm) = _scripts(Maven(words), Npm(["run", *words]))
    (tmp_path / "a-file").touch()  # a glob that was not quoted would match it
    env = {"X": "v a*", "HOME": "/home/ci", "HOME_DIR": "/srv"}
    expected = [
        "-Da=$(id)",
        "-Db=`id`",
        "-Dc=*",
        "-Dd=${X:-fallback}",
        "-De=$1$$$?",
        "-Df=$",
        "-Dg=v a*/home/cix/srv",
        "-Dh='v a*' \"v a*\"",
        "-Di=\\v a*",
        "-Dj=.",
        "~",
    ]
    assert _run(maven, "mvn", env, tmp_path) == [["-B", *expected]]
    assert _run(npm, "npm", env, tmp_path) == [["run", *expected]]


# Words of fragments that matter to the shell, and variable references.
_FRAGMENTS = [
    "'", '"', "\\", "$", "$X", "${X}", "$Y_1", "${UNSET}", "$(id)", "`id`", "*", "?", "[a]",
    "~", "#", "!", " ", "\t", "\n", ";", "&", "|", "<", ">", "(", ")", "{", "}", "=", "-",
    "${X:-y}", "$1", "$$", "é", "a",
]  # fmt: skip
_words = st.lists(
    st.lists(st.sampled_from(_FRAGMENTS), min_size=1, max_size=8).map("".join),
    min_size=1,
    max_size=30,
)
_ENV = {"X": "x * $(id) 'q'", "Y_1": "  y  "}
_REFERENCE = re.compile(r"\$(?:([A-Za-z_][A-Za-z0-9_]*)|\{([A-Za-z_][A-Za-z0-9_]*)\})")


def _expanded(word: str) -> str:
    return _REFERENCE.sub(lambda m: _ENV.get(m.group(1) or m.group(2), ""), word)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(words=_words)
def test_words_reach_the_tool_as_the_shell_expands_them(words: list[str]) -> None:
    step = lower(Npm(words))
    script = step.script  # type: ignore[attr-defined]
    assert _run(script, "npm", _ENV, Path("/")) == [[_expanded(w) for w in words]]
    tally.add("tool step words run through a real sh", len(words))
