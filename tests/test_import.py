"""``pipedsl import``: the seed team's Jenkinsfiles import to the presets of projects/lat32t.py,
and an imported project renders the pipeline it was imported from (modulo fixed defects).

The comparison reads both Jenkinsfiles with the importer's own parser into an outline: each
stage's name, what its steps do (``mvn test``, ``docker push``, ``sshTransfer``, ``slackSend``,
...) and its post conditions. Steps pipedsl generates around a typed one (the registry login
before a push, approval milestones, the stages that hold an approval gate's neighbours) are
not part of the outline.
"""

from __future__ import annotations

import itertools
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pipedsl.importer import ImportResult, ReportLine, audit, import_jenkinsfiles
from pipedsl.importer.parse import Call, GStr, Statement, Str, parse_jenkinsfile
from pipedsl.load import load_project
from pipedsl.render import render_project

FIXTURES = Path(__file__).parent / "fixtures" / "jenkinsfiles"
SEED = FIXTURES / "seed"
LAT32T = Path(__file__).parent.parent / "projects" / "lat32t.py"
GENERATED_ONLY = frozenset({"docker login", "docker logout", "milestone"})

Outline = dict[str, Any]


# --- outlines -------------------------------------------------------------------------------


def _script(value: object) -> str:
    if isinstance(value, Str):
        return value.value
    if isinstance(value, GStr):
        return "".join(p if isinstance(p, str) else "${X}" for p in value.parts)
    return ""


def _command(line: str) -> str | None:
    """What one shell line does: ``mvn test``, ``docker push``, ``sh`` (anything else)."""
    try:
        words = shlex.split(line)
    except ValueError:
        return "sh"
    while len(words) > 3 and words[0] == "cd" and words[2] == "&&":
        words = words[3:]
    if words and words[0] == "sh" and len(words) > 1:
        words = words[1:]
    if not words:
        return None
    if ("docker", "login") in itertools.pairwise(words):
        return None  # the login the push does itself (a defect when written by hand)
    tool, rest = words[0], words[1:]
    if tool in ("mvn", "./mvnw"):
        return " ".join(["mvn", *(w for w in rest if w not in ("-B", "-DskipTests"))])
    if tool == "npm":
        return " ".join(["npm", *rest])
    if tool in ("./gradlew", "gradle"):
        return " ".join(["gradle", *(w for w in rest if w != "--no-daemon")])
    if tool == "docker" and rest:
        return f"docker {rest[0]}"
    return "sh"


def _sh(call: Call) -> list[str]:
    script = _script(call.args[0] if call.args else call.arg("script"))
    lines = [ln.strip() for ln in script.split("\n") if ln.strip()]
    found = [c for ln in lines if (c := _command(ln)) is not None]
    typed = [c for c in found if c != "sh"]
    if len(lines) > 1 and typed:
        found = typed  # a generated script: the lines around the tool are its plumbing
    return [c for c in found if c not in GENERATED_ONLY]


def steps_of(body: tuple[Statement, ...] | None) -> list[str]:
    out: list[str] = []
    for statement in body or ():
        if not isinstance(statement, Call):
            out.append("groovy")
        elif statement.name in ("dir", "withCredentials"):
            out += steps_of(statement.body)
        elif statement.name == "sh":
            out += _sh(statement)
        elif statement.name in ("git", "checkout"):
            out.append("checkout")
        elif statement.name == "sshPublisher":
            out += ["sshTransfer"] * statement.text.count("sshTransfer(")
        elif statement.name not in GENERATED_ONLY:
            out.append(statement.name)
    return out


def _post(call: Call | None) -> dict[str, list[str]]:
    if call is None:
        return {}
    return {b.name: steps_of(b.body) for b in call.body or () if isinstance(b, Call)}


def _stages(container: Call | None) -> list[tuple[str, list[str], dict[str, list[str]]]]:
    out: list[tuple[str, list[str], dict[str, list[str]]]] = []
    for stage in container.calls("stage") if container else []:
        name = stage.args[0].value if stage.args and isinstance(stage.args[0], Str) else "?"
        body = stage.first("steps")
        if body is not None:
            out.append((name, steps_of(body.body), _post(stage.first("post"))))
        out += _stages(stage.first("parallel")) + _stages(stage.first("stages"))
    return out


def outline(text: str) -> Outline:
    """The stages (with steps, each with its steps and post conditions) and the pipeline's
    post conditions of a declarative Jenkinsfile."""
    pipeline = parse_jenkinsfile("Jenkinsfile", text)
    return {"stages": _stages(pipeline.first("stages")), "post": _post(pipeline.first("post"))}


# --- helpers --------------------------------------------------------------------------------


def read(*paths: Path) -> list[tuple[str, str]]:
    return [(p.relative_to(FIXTURES).as_posix(), p.read_text(encoding="utf-8")) for p in paths]


def render_source(source: str, tmp_path: Path, name: str) -> dict[str, str]:
    """Write an imported project file, load it as `pipedsl render` does, render it."""
    path = tmp_path / f"{name}.py"
    path.write_text(source, encoding="utf-8")
    return {a.path: a.text for a in render_project(load_project(path))}


def seed_import() -> ImportResult:
    return import_jenkinsfiles(
        read(SEED / "backend.Jenkinsfile", SEED / "frontend.Jenkinsfile"), project="lat32t"
    )


def lines_of(report: list[ReportLine]) -> list[str]:
    return [str(line) for line in report]


# --- the seed team's Jenkinsfiles -------------------------------------------------------------


def test_seed_fixtures_import_to_the_presets_of_lat32t() -> None:
    source = seed_import().source
    assert "backend = spring_boot_backend(\n" in source
    assert "frontend = npm_frontend(\n" in source
    assert "Groovy(" not in source


@pytest.mark.parametrize("component", ["backend", "frontend"])
def test_seed_fixtures_render_what_lat32t_renders(tmp_path: Path, component: str) -> None:
    imported = render_source(seed_import().source, tmp_path, "lat32t")
    expected = {a.path: a.text for a in render_project(load_project(LAT32T))}
    jenkinsfile = f"lat32t/{component}/Jenkinsfile"
    assert outline(imported[jenkinsfile]) == outline(expected[jenkinsfile])
    ours = parse_jenkinsfile(jenkinsfile, imported[jenkinsfile])
    theirs = parse_jenkinsfile(jenkinsfile, expected[jenkinsfile])
    for directive in ("agent", "tools", "options"):
        mine, seed = ours.first(directive), theirs.first(directive)
        assert (mine.text if mine else None) == (seed.text if seed else None), directive
    components = {p.split("/")[1] for p in imported if p.endswith("/Jenkinsfile")}
    assert components == {"backend", "frontend"}


def test_seed_stages_keep_their_steps_in_the_preset_stages() -> None:
    """Stage for stage, the original's steps (retyped Slack blocks, diagnostics and the login
    aside) are the preset's."""
    (path, text), *_ = read(SEED / "backend.Jenkinsfile")
    original = outline(text)["stages"]
    assert [s[1] for s in original] == [
        ["checkout"],
        ["sh", "mvn clean"],
        ["mvn compile"],
        ["mvn test"],
        ["sh", "mvn package"],
        ["docker build"],
        ["docker push"],
        ["sshTransfer"],
        ["sshTransfer"],
    ]
    assert all(set(s[2]) == {"success", "failure"} for s in original), path


def test_seed_report_names_every_defect_it_fixed() -> None:
    report = lines_of(seed_import().report)
    backend = [r for r in report if r.startswith("seed/backend.Jenkinsfile:")]
    assert [r for r in backend if ": converted: " in r] == [
        "seed/backend.Jenkinsfile:10: converted: password literal in environment "
        "{ REGISTRY_PW } — a secret written into the Jenkinsfile is readable by everyone with "
        "the repository; removed: the registry login uses the Jenkins credential 'dockerhub'",
        "seed/backend.Jenkinsfile:62: converted: hard-coded workspace path "
        "/var/lib/jenkins/workspace/lat32t-backend/backend — it breaks when the job is renamed, "
        "moved or run on another agent; now relative to the workspace",
        'seed/backend.Jenkinsfile:106: converted: secret $REGISTRY_PW interpolated into sh "..."'
        " — Groovy wrote the secret into the command line; the step is now single-quoted and "
        "the shell reads it from the environment",
        "seed/backend.Jenkinsfile:106: converted: docker login -p — a password on the command "
        "line shows in the process list and the log; Docker Push now logs in with the Jenkins "
        "credential 'dockerhub' (password on stdin)",
        "seed/backend.Jenkinsfile:120: converted: sshPublisher without failOnError: true — a "
        "failed transfer or command only marked the build unstable and the pipeline went on; "
        "now it fails the stage",
        "seed/backend.Jenkinsfile:125: converted: remote directory /root/backend/ — Publish "
        "Over SSH reads it below the server's remote root, not as written; the files now go to "
        "k8s/backend, where the deploy applies them",
        "seed/backend.Jenkinsfile:146: converted: sshPublisher without failOnError: true — a "
        "failed transfer or command only marked the build unstable and the pipeline went on; "
        "now it fails the stage",
        "seed/backend.Jenkinsfile:151: converted: sed s/VERSION/... on the manifest — a "
        "placeholder that no longer matches deploys the wrong image; kubectl now points the "
        "Deployment 'backend' (container 'backend': check the names) at the pushed image and "
        "waits for the rollout",
    ]
    slack = [r for r in backend if ": dropped: slackSend in post" in r]
    assert len(slack) == 18  # success and failure of nine stages
    assert slack[0] == (
        "seed/backend.Jenkinsfile:22: dropped: slackSend in post { success } of stage "
        "'Git Clone' — replaced by the component's Slack notifier, which reads the stage name "
        "from Jenkins instead of a retyped copy"
    )
    assert (
        "seed/backend.Jenkinsfile:32: dropped: sh 'pwd' in stage 'Project Clean' — only "
        "prints to the log; the preset's stage runs the build step alone"
    ) in backend
    assert not [r for r in report if ": raw: " in r]


def test_seed_password_never_reaches_the_project_or_its_files(tmp_path: Path) -> None:
    result = seed_import()
    assert "hunter2-not-real" not in result.source
    assert "REGISTRY_PW" not in result.source
    assert 'Credential.username_password("dockerhub")' in result.source
    rendered = render_source(result.source, tmp_path, "lat32t")
    assert not [p for p, text in rendered.items() if "hunter2-not-real" in text]


FIXTURE_SETS = {
    "seed": sorted(SEED.glob("*.Jenkinsfile")),
    "constructs": sorted((FIXTURES / "constructs").glob("*.Jenkinsfile")),
    "odd": sorted((FIXTURES / "odd").glob("*.Jenkinsfile")),
    "presets": sorted((FIXTURES / "presets").glob("*.Jenkinsfile")),
}


@pytest.mark.parametrize("name", sorted(FIXTURE_SETS))
def test_imported_source_is_ruff_formatted_and_clean(tmp_path: Path, name: str) -> None:
    result = import_jenkinsfiles(
        read(*FIXTURE_SETS[name]), project=name, repository="https://github.com/acme/demo.git"
    )
    path = tmp_path / f"{name}.py"
    path.write_text(result.source, encoding="utf-8")
    assert_ruff_clean(path)


def assert_ruff_clean(path: Path) -> None:
    """``path`` is as ``ruff format`` lays it out, and ``ruff check`` finds nothing."""
    ruff = Path(sys.executable).parent / "ruff"
    for command in (
        [str(ruff), "format", "--check", "--line-length", "100", str(path)],
        [str(ruff), "check", "--select", "F,I,W,UP,B", "--line-length", "100", str(path)],
    ):
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stdout + done.stderr


# --- audit ----------------------------------------------------------------------------------


def test_audit_counts_steps_per_file() -> None:
    rows = audit(
        read(
            SEED / "backend.Jenkinsfile",
            FIXTURES / "constructs" / "web.Jenkinsfile",
            FIXTURES / "refused" / "scripted.Jenkinsfile",
        )
    )
    assert [str(r) for r in rows] == [
        "seed/backend.Jenkinsfile: 30 steps, 30 converted, 0 raw (100 %)",
        "constructs/web.Jenkinsfile: 10 steps, 9 converted, 1 raw (90 %)",
        "refused/scripted.Jenkinsfile: refused: refused/scripted.Jenkinsfile:2: a scripted "
        "pipeline (`node { }`) cannot be imported; only declarative pipelines (`pipeline { "
        "agent ...; stages { ... } }`) are: rewrite it as one, or describe it in pipedsl "
        "directly",
    ]
    assert rows[1].percent == 90
    assert rows[2].percent == 0
