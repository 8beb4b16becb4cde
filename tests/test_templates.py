"""Template overrides, and the guard that refuses unescaped values in templates."""

from __future__ import annotations

from pathlib import Path

import jinja2.defaults
import pytest

from pipedsl import (
    Component,
    Groovy,
    ModelError,
    Pipeline,
    Project,
    RenderError,
    Stage,
    load_project,
    render_project,
)
from pipedsl.render.templating import build_groovy_environment
from tests.conftest import SEED_PROJECT
from tests.support.groovy import compile_groovy


def test_user_template_overrides_a_builtin_step(tmp_path: Path) -> None:
    steps = tmp_path / "jenkinsfile" / "steps"
    steps.mkdir(parents=True)
    (steps / "checkout.groovy.j2").write_text("checkout scm\nsh 'git log -1'\n")
    project = load_project(SEED_PROJECT)
    default = {a.path: a.text for a in render_project(project)}
    custom = {a.path: a.text for a in render_project(project, templates=[tmp_path])}
    text = custom["lat32t/backend/Jenkinsfile"]
    assert "sh 'git log -1'" in text
    assert (
        text.replace("                sh 'git log -1'\n", "")
        == default["lat32t/backend/Jenkinsfile"]
    )
    assert compile_groovy({"custom": text}) == {"custom": None}


def test_template_printing_an_unescaped_value_is_refused(tmp_path: Path) -> None:
    steps = tmp_path / "jenkinsfile" / "steps"
    steps.mkdir(parents=True)
    (steps / "sh.groovy.j2").write_text("sh {{ step.script }}\n")
    project = load_project(SEED_PROJECT)
    with pytest.raises(
        RenderError, match=r"without escaping it; pass it through a filter such as \|groovy"
    ):
        render_project(project, templates=[tmp_path])


def test_missing_template_folder(tmp_path: Path) -> None:
    project = load_project(SEED_PROJECT)
    with pytest.raises(RenderError, match=r"template folder .* does not exist"):
        render_project(project, templates=[tmp_path / "nope"])


@pytest.mark.parametrize("folder", ["nope", "a\0b", 5], ids=["missing", "nul", "not-a-path"])
def test_a_project_problem_is_reported_before_a_bad_template_folder(
    tmp_path: Path, folder: object
) -> None:
    project = load_project(SEED_PROJECT)
    twice = Project(
        project.name, repository=project.repository, components=[*project.components] * 2
    )
    with pytest.raises(ModelError, match="duplicate component name"):
        render_project(twice, templates=[tmp_path / folder if folder == "nope" else folder])  # type: ignore[list-item]


def test_indent_filter_cannot_bypass_escaping(tmp_path: Path) -> None:
    steps = tmp_path / "jenkinsfile" / "steps"
    steps.mkdir(parents=True)
    (steps / "sh.groovy.j2").write_text("sh {{ step.script | indent(0) }}\n")
    project = load_project(SEED_PROJECT)
    with pytest.raises(RenderError, match=r"indent takes Groovy code, got an unescaped str"):
        render_project(project, templates=[tmp_path])


def test_raw_groovy_keeps_its_own_lines() -> None:
    code = "sh '''\ncat <<EOF > out.txt\nhello\nEOF\n'''"
    project = Project(
        "raw",
        repository="https://github.com/acme/raw.git",
        components=[Component("app", Pipeline([Stage("Write", [Groovy(code)])]))],
    )
    text = {a.path: a.text for a in render_project(project)}["raw/app/Jenkinsfile"]
    assert "                sh '''\ncat <<EOF > out.txt\nhello\nEOF\n'''\n" in text
    assert compile_groovy({"raw": text}) == {"raw": None}


def test_user_templates_see_jinjas_globals(tmp_path: Path) -> None:
    # Templates get their globals as a plain copy of the environment's (see templating): every
    # global jinja2 provides is still there, and a template's own globals overlay them.
    steps = tmp_path / "jenkinsfile" / "steps"
    steps.mkdir(parents=True)
    (steps / "checkout.groovy.j2").write_text(
        "{% set seen = namespace(n=0) %}{% for i in range(3) %}{% set seen.n = seen.n + i %}"
        "{% endfor %}checkout scm // {{ seen.n | groovy }} {{ dict(a=1) | length | groovy }}"
        " {{ (cycler is defined and joiner is defined and lipsum is defined) | groovy }}\n"
    )
    project = load_project(SEED_PROJECT)
    text = {a.path: a.text for a in render_project(project, templates=[tmp_path])}[
        "lat32t/backend/Jenkinsfile"
    ]
    assert "checkout scm // 3 1 true\n" in text

    env = build_groovy_environment((), {})
    template = env.from_string("{{ x | groovy }}", globals={"x": "own", "range": 5})
    assert template.render() == "'own'"
    assert template.globals["range"] == 5
    assert env.globals == jinja2.defaults.DEFAULT_NAMESPACE  # a template's own stay its own
