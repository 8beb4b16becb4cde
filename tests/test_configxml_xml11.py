"""config.xml declares XML 1.1, and Jenkins reads it with the JDK's XML 1.1 parser: every value
pipedsl writes must read back exactly through that parser, not only through ElementTree.

An XML 1.1 reader turns raw NEL (U+0085), U+2028 and CR into line feeds (an inline job's script
would differ from the rendered Jenkinsfile: a comment could become a command) and refuses raw
DEL and C1 controls.
"""

from __future__ import annotations

import random
from pathlib import Path

from pipedsl import Component, Echo, Pipeline, Project, Stage, sh
from pipedsl.errors import PipedslError
from pipedsl.model.jobs import JenkinsJobs
from pipedsl.render import render_projects
from tests.support import tally
from tests.support.jdk_xml import XmlReadError, read_leaves

# What XML 1.1 treats differently from XML 1.0, and what XML escapes anyway.
HAZARDS = ["\x85", "\u2028", "\u2029", "\r", "\r\n", "\r\x85", "\x7f", "\x80", "\x9b", "\x9f"]
MARKUP = ["&", "<", "]]>", "'", '"', "\t", "é", "\U0001f600"]


def _values() -> list[str]:
    rng = random.Random(1185)  # noqa: S311  (test data, fixed so every run tries the same)
    alphabet = [*HAZARDS, *MARKUP, "a", "\n", " "]
    mixed = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12))) for _ in range(40)]
    return [*HAZARDS, *(f"x{h}y" for h in HAZARDS), *mixed]


def _project(value: str, field: str) -> Project:
    """A one-job project with ``value`` in ``field``."""
    inline = field == "script"
    steps = [Echo(f"before {value} after"), sh(f"echo '{value}'")] if inline else [sh("make")]
    return Project(
        "demo",
        repository=f"https://github.com/acme/demo{value}.git"
        if field == "repository"
        else ("https://github.com/acme/demo.git"),
        branch=f"feat{value}" if field == "branch" else "develop",
        generated_dir=f"gen{value}" if field == "generated_dir" else "generated",
        jenkins=JenkinsJobs("inline" if inline else "scm"),
        components=[Component("app", Pipeline([Stage("Build", steps)]))],
    )


def test_every_value_reads_back_exactly_through_the_jdk_xml_11_parser(tmp_path: Path) -> None:
    cases: list[tuple[str, str, Project, str]] = []
    refused = 0
    for field in ("repository", "branch", "generated_dir", "script"):
        for value in _values():
            try:
                project = _project(value, field)
                artifacts = render_projects([project], kinds={"job"})
            except PipedslError:
                refused += 1  # the model refuses the value, naming the field
                continue
            (config,) = [a.text for a in artifacts if a.path.endswith("config.xml")]
            cases.append((field, value, project, config))
    files = []
    for i, (_, _, _, config) in enumerate(cases):
        files.append(tmp_path / f"{i}.xml")
        files[-1].write_text(config, encoding="utf-8")
    results = read_leaves(files)
    for (field, value, project, _), leaves in zip(cases, results, strict=True):
        assert not isinstance(leaves, XmlReadError), (field, value, str(leaves))
        definition = "flow-definition/definition"
        if field == "script":
            jenkinsfile = render_projects([project], kinds={"jenkinsfile"})[0].text
            assert leaves[f"{definition}/script"] == [jenkinsfile], (field, value)
        else:
            scm = f"{definition}/scm"
            url = f"{scm}/userRemoteConfigs/hudson.plugins.git.UserRemoteConfig/url"
            assert leaves[url] == [project.repository], (field, value)
            branch = f"{scm}/branches/hudson.plugins.git.BranchSpec/name"
            assert leaves[branch] == [f"*/{project.branch}"], (field, value)
            assert leaves[f"{definition}/scriptPath"] == [
                project.repository_path("demo/app/Jenkinsfile")
            ], (field, value)
        assert "[managed by pipedsl" in leaves["flow-definition/description"][0]
    assert len(cases) > 60
    tally.add("config.xml values read back by the JDK's XML 1.1 parser", len(cases))
    tally.add("config.xml values refused by the model (XML 1.1 check)", refused)
