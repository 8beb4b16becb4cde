"""A component building its own branch, and cron / SCM-polling triggers: written into the job's
config.xml (read back by ElementTree), and a push starts exactly the jobs of its branch on the
Jenkins stand-in."""

from __future__ import annotations

import re
import textwrap
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipedsl import ModelError, Triggers
from tests.support.fake_jenkins import FakeJenkins
from tests.test_sync import TOKEN, push, sync


def _config(artifacts: dict[str, Any], component: str) -> ET.Element:
    text = artifacts[f"build-tools/{component}/config.xml"].text
    return ET.fromstring(re.sub(r"^<\?xml[^>]*\?>", "", text))  # noqa: S314  (our own output)


def test_triggers_and_the_branch_are_in_the_job(artifacts: dict[str, Any]) -> None:
    batch = _config(artifacts, "batch")
    triggers = batch.find("properties/*/triggers")
    assert triggers is not None
    assert [t.tag for t in triggers] == [
        "com.cloudbees.jenkins.GitHubPushTrigger",
        "hudson.triggers.TimerTrigger",
        "hudson.triggers.SCMTrigger",
    ]
    assert triggers.findtext("hudson.triggers.TimerTrigger/spec") == "H 2 * * *"
    assert triggers.findtext("hudson.triggers.SCMTrigger/spec") == "H/15 * * * *"
    assert batch.findtext(".//hudson.plugins.git.BranchSpec/name") == "*/release"
    api = _config(artifacts, "api")
    assert api.findtext(".//hudson.plugins.git.BranchSpec/name") == "*/main"


@pytest.fixture
def server() -> Iterator[FakeJenkins]:
    with FakeJenkins(users={"admin": TOKEN}) as jenkins:
        yield jenkins


def test_a_push_starts_the_jobs_of_its_branch(server: FakeJenkins, tmp_path: Path) -> None:
    folder = tmp_path / "projects"
    folder.mkdir()
    (folder / "shop.py").write_text(
        textwrap.dedent(
            """\
            from pipedsl import Component, Pipeline, Project, Stage, sh

            def job(name, **kw):
                return Component(name, Pipeline([Stage("Build", [sh("make")])]), **kw)

            project = Project(
                "shop",
                repository="https://github.com/acme/shop.git",
                branch="main",
                components=[job("app"), job("hotfix", branch="release")],
            )
            """
        )
    )
    code, out = sync(server, folder)
    assert code == 0, out
    assert push(server, "https://github.com/acme/shop.git", "release") == 200
    assert server.triggered == ["shop/hotfix"]
    assert push(server, "https://github.com/acme/shop.git", "main") == 200
    assert server.triggered == ["shop/hotfix", "shop/app"]


@pytest.mark.parametrize(
    "spec", ["every night", "H 2 * *", "H 2 * * * *", "", "H 2 * * *\nrm -rf /"]
)
def test_a_schedule_jenkins_would_refuse_is_refused(spec: str) -> None:
    with pytest.raises(ModelError, match=r"Triggers\.cron"):
        Triggers(spec)


@pytest.mark.parametrize("spec", ["H 2 * * *", "@daily", "H/15 * * * 1-5", "0 8 1 JAN,JUL *"])
def test_schedules_jenkins_takes_are_taken(spec: str) -> None:
    assert Triggers(spec).cron == spec
