"""Gradle (wrapper-aware) and the Node package managers npm, pnpm and Yarn: the rendered shell
runs in a real sh against recording fakes."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from pipedsl import (
    Credential,
    Gradle,
    ModelError,
    Pnpm,
    Registry,
    Sh,
    Yarn,
    npm_frontend,
    pnpm_frontend,
    spring_boot_backend,
)
from pipedsl.render.lower import lower
from tests.support.declarative import children, descendants

RECORDER = '#!/bin/sh\nprintf "%s\\n" "$0" "$@" >> "$RECORD"\n'


def _stage_script(pipeline: dict[str, Any], name: str) -> str:
    (stage,) = [n for n in descendants(pipeline) if n["name"] == "stage" and n["args"][0] == name]
    (sh,) = [n for n in descendants(stage) if n["name"] == "sh"]
    script: str = sh["args"][0] if sh["args"] else sh["named"]["script"]
    return script


def _run(script: str, cwd: Path, bin_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sh", "-c", script],
        cwd=cwd,
        env={"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_gradle_wrapper_runs_even_when_it_is_not_executable(
    tmp_path: Path, walked: dict[str, Any]
) -> None:
    pipeline = walked["build-tools/api/Jenkinsfile"]
    script = _stage_script(pipeline, "Project Build")
    assert script == "sh ./gradlew --no-daemon bootJar"
    (tmp_path / "bin").mkdir()
    (tmp_path / "gradlew").write_text(RECORDER)
    (tmp_path / "gradlew").chmod(0o644)  # as committed from a Windows checkout
    record = tmp_path / "record"
    done = _run(script, tmp_path, tmp_path / "bin", RECORD=str(record))
    assert done.returncode == 0, done.stderr
    assert record.read_text().split("\n")[1:3] == ["--no-daemon", "bootJar"]
    # The control: run directly, the same wrapper is refused.
    direct = _run("./gradlew bootJar", tmp_path, tmp_path / "bin", RECORD=str(record))
    assert direct.returncode != 0


@pytest.mark.parametrize(
    ("component", "stage", "words"),
    [
        ("web", "Install Dependencies", ["pnpm", "install", "--frozen-lockfile"]),
        ("web", "Project Build", ["pnpm", "run", "build"]),
        ("admin", "Install Dependencies", ["yarn", "install", "--immutable"]),
    ],
)
def test_pnpm_and_yarn_run_through_corepack(
    tmp_path: Path, walked: dict[str, Any], component: str, stage: str, words: list[str]
) -> None:
    pipeline = walked[f"build-tools/{component}/Jenkinsfile"]
    (dir_node,) = [
        n
        for n in descendants(pipeline)
        if n["name"] == "stage" and n["args"][0] == stage
        for n in descendants(n)
        if n["name"] == "dir"
    ]
    assert dir_node["args"] == [component]
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "corepack").write_text(RECORDER)
    (bin_dir / "corepack").chmod(0o755)
    record = tmp_path / "record"
    done = _run(_stage_script(pipeline, stage), tmp_path, bin_dir, RECORD=str(record))
    assert done.returncode == 0, done.stderr
    assert record.read_text().split("\n")[1:-1] == words


def test_tool_words_expand_variables_as_for_maven(tmp_path: Path) -> None:
    step = lower(Gradle("publish -Ptoken=$NEXUS_TOKEN"))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "gradle").write_text(RECORDER)
    (bin_dir / "gradle").chmod(0o755)
    record = tmp_path / "record"
    plain = lower(Gradle("publish -Ptoken=$NEXUS_TOKEN", wrapper=False))
    assert isinstance(plain, Sh)
    value = "a b*"  # a variable's value with a space and a glob: one word, not expanded
    done = _run(plain.script, tmp_path, bin_dir, RECORD=str(record), NEXUS_TOKEN=value)
    assert done.returncode == 0, done.stderr
    assert record.read_text().split("\n")[1:-1] == ["--no-daemon", "publish", "-Ptoken=a b*"]
    assert isinstance(step, Sh)
    assert step.script.startswith("sh ./gradlew ")
    for tool in (Pnpm("run build"), Yarn("run build")):
        lowered = lower(tool)
        assert isinstance(lowered, Sh)
        assert lowered.script.startswith("corepack ")


REGISTRY = Registry("ghcr.io", login=Credential.username_password("ghcr"))
IMAGE = REGISTRY.repository("acme/x").tagged("x-{build}")


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda: spring_boot_backend("x", image=IMAGE, build="ant"),
            "build must be one of maven, gradle",
        ),
        (lambda: spring_boot_backend("x", image=IMAGE, gradle="g8"), "add build='gradle'"),
        (lambda: spring_boot_backend("x", image=IMAGE, build="gradle", maven="m"), "use gradle="),
        (
            lambda: npm_frontend("x", image=IMAGE, package_manager="bun"),
            "package_manager must be one of",
        ),
        (
            lambda: pnpm_frontend("x", image=IMAGE, package_manager="npm"),
            "the package manager is pnpm",
        ),
        (lambda: pnpm_frontend("x", image=IMAGE, colour="red"), "unknown option"),
    ],
)
def test_presets_refuse_what_they_cannot_build(build: Any, message: str) -> None:
    with pytest.raises(ModelError, match=message):
        build()


def test_the_gradle_backend_keeps_the_preset_stage_names(walked: dict[str, Any]) -> None:
    pipeline = walked["build-tools/api/Jenkinsfile"]
    stages = [s["args"][0] for s in children(next(iter(children(pipeline, "stages"))), "stage")]
    assert stages[:5] == [
        "Checkout",
        "Project Clean",
        "Project Compile",
        "Project Test",
        "Project Build",
    ]


def test_reports_and_archives_are_typed_steps(walked: dict[str, Any]) -> None:
    pipeline = walked["build-tools/api/Jenkinsfile"]
    (test_stage,) = [
        n for n in descendants(pipeline) if n["name"] == "stage" and n["args"][0] == "Project Test"
    ]
    (post,) = children(test_stage, "post")
    (always,) = children(post, "always")
    (junit,) = always["children"]
    assert (junit["name"], junit["named"]) == (
        "junit",
        {"testResults": "api/build/test-results/test/*.xml", "allowEmptyResults": False},
    )
    (pipeline_post,) = children(pipeline, "post")
    (success,) = children(pipeline_post, "success")
    (archive,) = success["children"]
    assert archive["named"] == {
        "artifacts": "api/build/libs/*.jar",
        "fingerprint": True,
        "allowEmptyArchive": False,
    }
