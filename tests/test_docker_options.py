"""docker build options, extra tags and removing the local image, run in a real sh against a
recording fake ``docker``."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from pipedsl import (
    Credential,
    DockerBuild,
    DockerHub,
    DockerPush,
    ModelError,
    Registry,
    Sh,
    WithCredentials,
)
from pipedsl.render.lower import lower

RECORDER = '#!/bin/sh\nprintf "%s\\n" "$*" >> "$RECORD"\n'
IMAGE = DockerHub("acme/api").tagged("api-{build}")


def _run(script: str, tmp_path: Path, fakes: dict[str, str] | None = None, **env: str) -> list[str]:
    """What ``script`` ran, run in a real sh against recording fakes (``fakes``: a script per
    command; a plain recording ``docker`` by default)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for command, body in (fakes or {"docker": RECORDER}).items():
        (bin_dir / command).write_text(body)
        (bin_dir / command).chmod(0o755)
    record = tmp_path / "record"
    done = subprocess.run(
        ["sh", "-c", script],
        env={
            "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
            "RECORD": str(record),
            "IMAGE": "acme/api:api-42",
            **env,
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return record.read_text().splitlines()


def test_build_options_reach_docker(tmp_path: Path) -> None:
    step = lower(
        DockerBuild(
            IMAGE,
            "api",
            dockerfile="api/Dockerfile.prod",
            target="runtime",
            platform="linux/amd64",
            no_cache=True,
            build_args={"VERSION": "1.2 beta", "TOKEN": "$NPM_TOKEN"},
            labels={"org.opencontainers.image.source": "https://github.com/acme/api"},
        )
    )
    assert isinstance(step, Sh)
    secret = "npm-t0ken with space"  # noqa: S105  (a test value)
    (call,) = _run(step.script, tmp_path, NPM_TOKEN=secret)
    assert call == (
        "build -t acme/api:api-42 -f api/Dockerfile.prod --target runtime --platform linux/amd64 "
        f"--no-cache --build-arg VERSION=1.2 beta --build-arg TOKEN={secret} "
        "--label org.opencontainers.image.source=https://github.com/acme/api api"
    )


def test_extra_tags_are_pushed_and_the_local_image_removed(tmp_path: Path) -> None:
    step = lower(DockerPush(IMAGE, extra_tags=["latest", "stable"], remove_local=True))
    assert isinstance(step, Sh)
    calls = _run(step.script, tmp_path)
    assert calls == [
        "push acme/api:api-42",
        "tag acme/api:api-42 acme/api:latest",
        "push acme/api:latest",
        "tag acme/api:api-42 acme/api:stable",
        "push acme/api:stable",
        "rmi acme/api:api-42 acme/api:latest acme/api:stable",
    ]


def test_a_login_still_wraps_the_push() -> None:
    image = DockerHub("acme/api", login=None).tagged()
    assert isinstance(lower(DockerPush(image)), Sh)
    logged = DockerHub("acme/api", login=Credential.username_password("hub")).tagged()
    assert isinstance(lower(DockerPush(logged, extra_tags=["latest"])), WithCredentials)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: DockerPush(IMAGE, extra_tags=["bad tag"]), "is not a Docker tag"),
        (lambda: DockerBuild(IMAGE, build_args={"1X": "v"}), "build_args"),
        (lambda: DockerBuild(IMAGE, platform="amd64"), "platform"),
        (lambda: DockerBuild(IMAGE, labels={"a": "x\ny"}), "labels"),
    ],
)
def test_docker_options_refuse_what_docker_would(build: object, message: str) -> None:
    with pytest.raises(ModelError, match=message):
        build()  # type: ignore[operator]


def test_an_ecr_push_logs_in_with_the_password_the_aws_cli_fetches(tmp_path: Path) -> None:
    registry = Registry.ecr(
        "123456789012", region="eu-west-1", aws=Credential.username_password("aws")
    )
    image = registry.repository("team/api").tagged("api-{build}")
    step = lower(DockerPush(image))
    assert isinstance(step, WithCredentials)
    assert step.variables == ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
    (script,) = step.steps
    assert isinstance(script, Sh)
    calls = _run(
        script.script,
        tmp_path,
        {
            "aws": '#!/bin/sh\nprintf "%s\\n" "$*" >> "$RECORD"\nprintf ecr-password\n',
            "docker": RECORDER
            + 'if [ "$1" = login ]; then printf "stdin:%s\\n" "$(cat)" >> "$RECORD"; fi\n',
        },
        IMAGE="x:1",
    )
    # The two sides of the pipe run at once: their lines come in either order.
    assert sorted(calls[:3]) == sorted(
        [
            "ecr get-login-password --region eu-west-1",
            "login --username AWS --password-stdin 123456789012.dkr.ecr.eu-west-1.amazonaws.com",
            "stdin:ecr-password",
        ]
    )
    assert calls[3:] == ["push x:1"]
    assert image.repository.reference == "123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/api"


@pytest.mark.parametrize(
    ("account", "region", "message"),
    [("1234", "eu-west-1", "12-digit"), ("123456789012", "europe", "AWS region")],
)
def test_ecr_refuses_what_aws_would(account: str, region: str, message: str) -> None:
    with pytest.raises(ModelError, match=message):
        Registry.ecr(account, region=region)
