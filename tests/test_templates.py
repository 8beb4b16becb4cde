"""Template overrides, and the guard that refuses unescaped values in templates."""

from __future__ import annotations

from pathlib import Path

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
