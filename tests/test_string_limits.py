"""Strings Groovy cannot hold: a string constant of a class is at most 65,535 bytes of modified
UTF-8 (each plain literal and each literal part of a GString on its own). A value that would
make a longer one is refused, naming the field, before anything is written; the limit is
checked against the real Groovy 2.4 on both sides of it."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from pipedsl import (
    BUILD_NUMBER,
    Agent,
    Component,
    Credential,
    Dir,
    Echo,
    GString,
    JenkinsJobs,
    Maven,
    ModelError,
    Npm,
    Pipeline,
    Post,
    Project,
    RenderError,
    Slack,
    SlackSend,
    Stage,
    When,
    render_project,
    sh,
)
from pipedsl.cli import app
from pipedsl.model._checks import MAX_TEXT
from pipedsl.model.steps import SshTransfer
from pipedsl.render.escape import groovy_gstring_part, groovy_str
from pipedsl.render.groovy import MAX_STRING_BYTES, groovy_value, string_bytes
from tests.support import tally
from tests.support.groovy import compile_groovy

REPO = "https://github.com/acme/long.git"
TOKEN = Credential.secret_text("slack")
EMOJI = "\U0001f600"  # six bytes in modified UTF-8, one Python character


def _java_size(text: str) -> int:
    """Modified UTF-8, unit by unit as the JVM counts it."""
    units = text.encode("utf-16-be", "surrogatepass")
    size = 0
    for index in range(0, len(units), 2):
        unit = int.from_bytes(units[index : index + 2], "big")
        size += 1 if 0 < unit < 0x80 else 2 if unit < 0x800 else 3
    return size


@given(st.text(st.characters(exclude_categories=())))
def test_string_bytes_is_modified_utf8(text: str) -> None:
    assert string_bytes(text) == _java_size(text)


# (what, a value of exactly MAX_STRING_BYTES, one character that adds bytes to it)
BOUNDARY = {
    "ascii": ("a" * MAX_STRING_BYTES, "a"),
    "two-byte": ("é" * (MAX_STRING_BYTES // 2) + "a", "é"),
    "three-byte": ("한" * (MAX_STRING_BYTES // 3), "a"),
    "nul": ("\x00" * (MAX_STRING_BYTES // 2) + "a", "\x00"),
    "astral": (EMOJI * (MAX_STRING_BYTES // 6) + "abc", "a"),
}


def test_the_limit_is_groovys() -> None:
    # Literals of exactly the limit compile, one byte more does not: a plain literal, a
    # multi-line one, and a GString's literal part.
    sources = {}
    for what, (value, more) in BOUNDARY.items():
        assert string_bytes(value) == MAX_STRING_BYTES
        for size, text in (("fits", value), ("over", value + more)):
            sources[f"{what} {size}"] = f"echo {groovy_str(text)}\n"
            sources[f"{what} multi-line {size}"] = f"echo {groovy_str(text[:-1] + chr(10))}\n"
            part = groovy_gstring_part(text)
            sources[f"{what} gstring {size}"] = f'def n = 1\necho "{part}${{n}}x"\n'
    results = compile_groovy(sources)
    tally.add("string constants at Groovy's limit compiled", len(results))
    for name, error in results.items():
        if name.endswith("fits"):
            assert error is None, name
        else:
            assert error is not None, name
            assert "too l" in error, name  # "String too long", "UTF8 string too large"


def test_an_oversized_literal_is_never_written() -> None:
    value, more = BOUNDARY["astral"]
    assert groovy_value(value)
    with pytest.raises(RenderError, match="65,535"):
        groovy_value(value + more)
    with pytest.raises(RenderError, match="65,535"):
        groovy_value(GString(value + more, BUILD_NUMBER))


def test_text_split_over_nested_gstrings_is_one_literal_and_measured_as_one() -> None:
    # Written as one literal, so measured as one: two halves that each fit do not.
    half = EMOJI * (MAX_STRING_BYTES // 12 + 1)
    nested = GString(half, GString(half, BUILD_NUMBER))
    assert nested.parts == (half + half, BUILD_NUMBER)
    with pytest.raises(RenderError, match="65,535"):
        groovy_value(nested)


# --- every field, found generically, named by its path ----------------------------------------

FITS = EMOJI * (MAX_STRING_BYTES // 6)  # 65,532 bytes, far below MAX_TEXT characters
OVER = FITS + "abcd"  # 65,536 bytes
assert len(OVER) < MAX_TEXT


def _project(value: str) -> dict[str, Project]:
    """One project per field, each with ``value`` in that field (by the field's path)."""

    def one(stage: Stage, **kw: object) -> Project:
        pipeline = Pipeline([stage], **kw)  # type: ignore[arg-type]
        return Project(
            "long",
            repository=REPO,
            components=[Component("api", pipeline)],
            jenkins=JenkinsJobs(definition="multibranch"),
        )

    base = Stage("Build", [sh("make")])
    return {
        "stages[0].name": one(Stage(value, [sh("make")])),
        "stages[0].steps[0].script": one(Stage("Build", [sh(value)])),
        "stages[0].steps[0].label": one(Stage("Build", [sh("make", label=value)])),
        "stages[0].steps[0].path": one(Stage("Build", [Dir(value, [sh("make")])])),
        "stages[0].steps[0].steps[0].script": one(Stage("Build", [Dir("app", [sh(value)])])),
        "stages[0].when.branch": one(Stage("Build", [sh("make")], when=When(branch=value))),
        "stages[0].environment[VALUE]": one(
            Stage("Build", [sh("make")], environment={"VALUE": value})
        ),
        "environment[VALUE]": one(base, environment={"VALUE": value}),
        "agent.label": one(base, agent=Agent.on(value)),
        "stages[0].steps[0].channel": one(
            Stage("Build", [SlackSend(channel=value, message="done")])
        ),
        "stages[0].post.failure[0].message": one(
            Stage("Build", [sh("make")], post=Post(failure=[Echo(GString(value, BUILD_NUMBER))]))
        ),
        "post.always[0].message": one(
            base, post=Post(always=[SlackSend(channel="#ci", message=value)])
        ),
        # The notifier's message template becomes the message of every stage's post step.
        "stages[0].post.success[0].message": Project(
            "long",
            repository=REPO,
            components=[
                Component(
                    "api",
                    Pipeline([base]),
                    notify=Slack(channel="#ci", token=TOKEN, message=value, on=["success"]),
                )
            ],
        ),
    }


def test_every_field_over_the_limit_is_refused_by_its_path_and_under_it_compiles() -> None:
    fitting = {}
    for path, project in _project(FITS).items():
        fitting[path] = next(
            a.text for a in render_project(project) if a.path == "long/api/Jenkinsfile"
        )
    for path, project in _project(OVER).items():
        with pytest.raises(ModelError) as caught:
            render_project(project)
        (problem,) = caught.value.problems
        assert problem.path == f"components[api].pipeline.{path}"
        assert "65,536 bytes" in problem.message
        assert "at most 65,535" in problem.message
        tally.add("oversized Groovy strings refused, naming the field")
    results = compile_groovy(fitting)
    assert results == dict.fromkeys(fitting)


def test_a_tool_step_is_refused_for_the_command_it_becomes() -> None:
    # Each word is within bounds; the script they make together is not.
    words = ["a" * (MAX_TEXT - 1)] * 4
    stage = Stage("Build", [sh("make"), Maven(words), Npm(["run", *words[:3]])])
    project = Project("long", repository=REPO, components=[Component("api", Pipeline([stage]))])
    with pytest.raises(ModelError) as caught:
        render_project(project)
    assert [str(p) for p in caught.value.problems] == [
        "components[api].pipeline.stages[0].steps[1]: this Maven step does not fit in the step "
        "it becomes: Sh.script: is 80006 characters long; at most 20000 are allowed (keep "
        "longer scripts in a file in the repository)",
        "components[api].pipeline.stages[0].steps[2]: this Npm step does not fit in the step "
        "it becomes: Sh.script: is 60007 characters long; at most 20000 are allowed (keep "
        "longer scripts in a file in the repository)",
    ]


def test_a_script_just_under_the_limit_renders_and_compiles(tmp_path: Path) -> None:
    projects = tmp_path / "projects"
    projects.mkdir()
    for size, script, exit_code in (
        (MAX_STRING_BYTES, FITS + "abc", 0),
        (MAX_STRING_BYTES + 1, FITS + "abcd", 2),
    ):
        assert string_bytes(script) == size
        (projects / "long.py").write_text(
            "from pipedsl import Component, Pipeline, Project, Stage, sh\n"
            f"p = Pipeline([Stage('Build', [sh({script!r})])])\n"
            f"project = Project('long', repository={REPO!r}, components=[Component('api', p)])\n",
            encoding="utf-8",
        )
        out = tmp_path / f"out-{size}"
        result = CliRunner().invoke(app, ["render", "--projects", str(projects), "--out", str(out)])
        assert result.exit_code == exit_code, result.output
        if exit_code:
            assert "components[api].pipeline.stages[0].steps[0].script: is 65,536 bytes" in (
                result.output
            )
            assert "at most 65,535" in result.output
            assert not out.exists()
        else:
            jenkinsfile = (out / "long" / "api" / "Jenkinsfile").read_text(encoding="utf-8")
            assert compile_groovy({"Jenkinsfile": jenkinsfile}) == {"Jenkinsfile": None}


# --- the model bounds its free-text fields like every other text field -----------------------

TOO_LONG = "x" * (MAX_TEXT + 1)


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: Echo(TOO_LONG), "Echo.message"),
        (lambda: Echo(GString(TOO_LONG[:-10], BUILD_NUMBER, "y" * 10)), "Echo.message"),
        (lambda: SlackSend(channel="#ci", message=TOO_LONG), "SlackSend.message"),
        (lambda: SshTransfer(exec_command=TOO_LONG), "SshTransfer.exec_command"),
        (lambda: Stage("S", [sh("make")], environment={"V": TOO_LONG}), "Stage.environment: V"),
        (lambda: Pipeline([Stage("S", [sh("m")])], environment={"V": TOO_LONG}), "Pipeline"),
        (lambda: When(environment={"V": GString(TOO_LONG)}), "When.environment: V"),
    ],
)
def test_free_text_fields_are_bounded(build: object, field: str) -> None:
    with pytest.raises(ModelError, match=f"{field}.*{MAX_TEXT + 1} characters long; at most"):
        build()  # type: ignore[operator]
