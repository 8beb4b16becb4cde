"""Errors where new users got lost: the option they wrote (not an inner object's field), the
arguments a misspelt one could have been, a type named with its article."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from pipedsl import (
    BlueGreen,
    Container,
    DockerHub,
    ModelError,
    Restart,
    SshServer,
    Stage,
    nginx_frontend,
    spring_boot_service,
)
from pipedsl.cli import app

runner = CliRunner()
IMAGE = DockerHub("acme/app").tagged()


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: spring_boot_service(port=99999)("api", IMAGE),
         "spring_boot_service(port=99999): expected a port number 1-65535, got 99999 (as "
         "ContainerPort.number)"),
        (lambda: nginx_frontend(port="80")("web", IMAGE),  # type: ignore[arg-type]
         "nginx_frontend(port='80'): expected a port number 1-65535, got '80' (as "
         "ContainerPort.number)"),
        (lambda: spring_boot_service(replicas=-1)("api", IMAGE),
         "spring_boot_service(replicas=-1): expected an int >= 0, got -1 (as "
         "Deployment.replicas)"),
        (lambda: spring_boot_service(replicas=0, port=0)("api", IMAGE),
         "spring_boot_service: ContainerPort.number: expected a port number 1-65535, got 0"),
        (lambda: Stage("Build", ["make"]),  # type: ignore[list-item]
         "Stage.steps: item 0: expected a Step, got str 'make'"),
        (lambda: Container("a", "nginx:1.27", ports=3),
         "Container.ports: expected a list of ContainerPorts, got int 3"),
    ],
)  # fmt: skip
def test_errors_name_what_the_user_wrote(build: Any, message: str) -> None:
    with pytest.raises(ModelError) as caught:
        build()
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('Container("a", "nginx:1.27", imagee="x")',
         "Container: unknown argument 'imagee' (did you mean 'image'?); allowed: name, image, "
         "ports, env,"),
        ('Credential.secret_text(ident="x")',
         "Credential.secret_text: unknown argument 'ident'; allowed: id"),
        ('Slack(chanel="#x", token=Credential.secret_text("t"))',
         "Slack: unknown argument 'chanel' (did you mean 'channel'?); allowed: per, on, message,"),
        ("Container()",
         "Container: missing argument(s) 'name' and 'image'; it takes: name, image,"),
    ],
)  # fmt: skip
def test_a_misspelt_or_missing_argument_lists_the_allowed_ones(
    tmp_path: Path, line: str, message: str
) -> None:
    project = tmp_path / "projects" / "typo.py"
    project.parent.mkdir()
    project.write_text(f"from pipedsl import *\n\nx = {line}\n")
    result = runner.invoke(
        app, ["render", "--projects", str(project.parent), "--out", str(tmp_path / "out")]
    )
    assert result.exit_code == 2
    assert result.output.startswith("error: ")
    assert f"typo.py:3: {message}" in result.output, result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: BlueGreen(SshServer("master")),  # type: ignore[arg-type]
         "BlueGreen.kubectl: a blue/green deploy (a Service switched between colours) is not "
         "supported with SshServer SshServer(config_name='master', remote_root=None): it needs "
         "kubectl on the agent"),
        (lambda: Restart(SshServer("master")),  # type: ignore[arg-type]
         "Restart.kubectl: a restart (kubectl rollout restart) is not supported with SshServer"),
    ],
)  # fmt: skip
def test_a_deploy_target_that_cannot_do_what_was_asked_says_so(build: Any, message: str) -> None:
    with pytest.raises(ModelError) as caught:
        build()
    assert str(caught.value).startswith(message)


def test_a_project_file_outside_the_repository_is_named_by_its_path(tmp_path: Path) -> None:
    """``/tmp/x.py`` is not shown as ``tmp/x.py``; a file of a projects folder is still
    ``projects/x.py``, wherever the command runs."""
    outside = tmp_path / "drafts" / "x.py"
    outside.parent.mkdir()
    outside.write_text("from pipedsl import Project\nproject = Project('x', repository=5)\n")
    result = runner.invoke(app, ["render", str(outside), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert result.output.startswith(f"error: {outside.resolve().as_posix()}:2: "), result.output
    inside = tmp_path / "projects" / "x.py"
    inside.parent.mkdir()
    inside.write_text(outside.read_text())
    result = runner.invoke(app, ["render", str(inside), "--out", str(tmp_path / "out")])
    assert result.output.startswith("error: projects/x.py:2: "), result.output
