"""Round trips: each Jenkinsfile of ``tests/fixtures/jenkinsfiles/constructs`` imports to a
project that renders the same stages, steps and post conditions (modulo the defects fixed:
the registry login the push now does itself)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipedsl.importer import import_jenkinsfiles
from pipedsl.load import load_project
from pipedsl.render import render_project
from tests.test_import import FIXTURES, outline, read, render_source

CONSTRUCTS = sorted((FIXTURES / "constructs").glob("*.Jenkinsfile"))
REPOSITORY = "https://github.com/acme/demo.git"


@pytest.mark.parametrize("path", CONSTRUCTS, ids=[p.stem for p in CONSTRUCTS])
def test_import_renders_the_same_pipeline(tmp_path: Path, path: Path) -> None:
    files = read(path)
    result = import_jenkinsfiles(files, project="demo", repository=REPOSITORY)
    rendered = render_source(result.source, tmp_path, "demo")
    original = outline(files[0][1])
    assert outline(rendered[f"demo/{path.stem}/Jenkinsfile"]) == original


def test_all_constructs_import_as_one_project(tmp_path: Path) -> None:
    result = import_jenkinsfiles(read(*CONSTRUCTS), project="demo", repository=REPOSITORY)
    rendered = render_source(result.source, tmp_path, "demo")
    assert sorted(p for p in rendered if p.endswith("/Jenkinsfile")) == [
        f"demo/{p.stem}/Jenkinsfile" for p in CONSTRUCTS
    ]


def test_a_repeated_round_trip_is_stable(tmp_path: Path) -> None:
    """Importing what pipedsl rendered gives the same pipeline again."""
    first = import_jenkinsfiles(read(*CONSTRUCTS), project="demo", repository=REPOSITORY)
    rendered = render_source(first.source, tmp_path, "demo")
    again = import_jenkinsfiles(
        [(f"{p.stem}/Jenkinsfile", rendered[f"demo/{p.stem}/Jenkinsfile"]) for p in CONSTRUCTS],
        project="demo",
        repository=REPOSITORY,
    )
    (tmp_path / "again").mkdir()
    twice = render_source(again.source, tmp_path / "again", "demo")
    for path in CONSTRUCTS:
        jenkinsfile = f"demo/{path.stem}/Jenkinsfile"
        assert outline(twice[jenkinsfile]) == outline(rendered[jenkinsfile]), jenkinsfile


PRESET_SHAPED = sorted((FIXTURES / "presets").glob("*.Jenkinsfile")) + sorted(
    (FIXTURES / "seed").glob("*.Jenkinsfile")
)


@pytest.mark.parametrize(
    "path", PRESET_SHAPED, ids=[p.parent.name + "-" + p.stem for p in PRESET_SHAPED]
)
def test_a_preset_shaped_pipeline_renders_the_same_steps(tmp_path: Path, path: Path) -> None:
    """Stage for stage, the preset runs the original's steps: the stage names are the
    preset's, and commands that only print (``pwd``, ``ls``, ``sh`` in the outline) and the
    hand-written registry login are left out."""
    files = read(path)
    result = import_jenkinsfiles(files, project="demo", repository=REPOSITORY)
    assert f"{path.stem} = spring_boot_backend(" in result.source or (
        f"{path.stem} = npm_frontend(" in result.source
    )
    rendered = outline(
        render_source(result.source, tmp_path, "demo")[f"demo/{path.stem}/Jenkinsfile"]
    )
    original = outline(files[0][1])
    assert [(steps, post) for _, steps, post in rendered["stages"]] == [
        ([s for s in steps if s != "sh"], post) for _, steps, post in original["stages"]
    ]
    assert rendered["post"] == original["post"]


PROJECTS = sorted((Path(__file__).parent / "fixtures" / "projects").glob("*.py"))


def _rendered_jenkinsfiles() -> list[tuple[str, str]]:
    """Every Jenkinsfile pipedsl renders for its fixture projects: Jenkinsfiles written by
    someone else than these tests, using every construct the model has."""
    found: list[tuple[str, str]] = []
    for project in PROJECTS:
        for artifact in render_project(load_project(project)):
            if artifact.path.endswith("/Jenkinsfile"):
                found.append((artifact.path, artifact.text))
    return found


def test_every_jenkinsfile_pipedsl_renders_round_trips(tmp_path: Path) -> None:
    """Importing what pipedsl renders from its fixture projects (every agent, condition,
    notifier, deploy target and approval the model has) gives the same pipeline back."""
    files = _rendered_jenkinsfiles()
    assert len(files) >= 20
    for index, (path, text) in enumerate(files):
        result = import_jenkinsfiles([(path, text)], project="demo", repository=REPOSITORY)
        folder = tmp_path / str(index)
        folder.mkdir()
        rendered = render_source(result.source, folder, "demo")
        (jenkinsfile,) = [v for k, v in rendered.items() if k.endswith("/Jenkinsfile")]
        assert outline(jenkinsfile) == outline(text), path
