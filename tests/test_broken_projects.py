"""A corpus of broken project files: each gives exit code 2 and a message naming the file and
line (or the object path) and what is wrong, never a traceback, and writes nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipedsl.cli import app
from tests.conftest import ROOT
from tests.support import tally

CORPUS = sorted((ROOT / "tests" / "fixtures" / "broken").glob("*.py"))


def test_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= 30


@pytest.mark.parametrize("file", CORPUS, ids=[f.stem for f in CORPUS])
def test_broken_project_is_reported(tmp_path: Path, file: Path) -> None:
    first = file.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# expect: ")
    expected = first.removeprefix("# expect: ")
    projects = tmp_path / "projects"
    projects.mkdir()
    shutil.copy(file, projects / file.name)
    out = tmp_path / "generated"
    (out / "previous").mkdir(parents=True)
    (out / "previous" / "Jenkinsfile").write_text("kept\n")
    result = CliRunner().invoke(app, ["render", "--projects", str(projects), "--out", str(out)])
    tally.add("malformed project files tried")
    if file.stem.startswith("base_"):
        tally.add("project files raising a BaseException that is not an Exception")
    assert result.exit_code == 2, result.output
    assert result.output.startswith(f"error: projects/{file.name}")
    assert expected in result.output
    assert "Traceback" not in result.output
    assert [p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()] == [
        "previous/Jenkinsfile"
    ]
