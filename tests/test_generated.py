"""The committed generated/ folder is exactly a fresh render of projects/."""

from __future__ import annotations

from pipedsl import check_artifacts, load_projects, render_projects
from tests.conftest import ROOT


def test_committed_generated_equals_a_fresh_render() -> None:
    artifacts = render_projects(load_projects(ROOT / "projects"))
    result = check_artifacts(artifacts, ROOT / "generated")
    assert result.lines() == [], "run `pipedsl render` and commit generated/"
    assert {a.path for a in artifacts} >= {
        "lat32t/backend/Jenkinsfile",
        "lat32t/frontend/Jenkinsfile",
    }
