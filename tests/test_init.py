"""``pipedsl init`` in a fresh folder: the project file it writes loads and renders at once, its
snapshot test passes under pytest, every combination of answers renders, and a bad answer or an
existing file writes nothing."""

from __future__ import annotations

import itertools
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipedsl import ModelError, Project, load_project, render_project
from pipedsl.cli import app
from pipedsl.scaffold import BACKENDS, DEPLOYS, FRONTENDS, Answers, scaffold
from tests.support.cli import run_python

runner = CliRunner()
URL = "https://github.com/acme/shop.git"


def _run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_python(*args, cwd=cwd, PYTHONDONTWRITEBYTECODE="1")


def test_init_then_render_then_snapshot_test_in_a_fresh_folder(tmp_path: Path) -> None:
    done = _run(
        tmp_path, "-m", "pipedsl", "init", "shop", "--repository", URL, "--frontend", "pnpm",
        "--slack", "#deploys", "--no-ask",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[:3] == [
        "wrote projects/shop.py",
        "wrote tests/test_shop_generated.py",
        "wrote .pre-commit-config.yaml",
    ]
    assert (tmp_path / "generated" / "shop" / "frontend" / "Jenkinsfile").is_file()
    assert _run(tmp_path, "-m", "pipedsl", "render", "--check").returncode == 0
    # The test it wrote records the snapshots, then passes; run from the tests folder.
    tests = tmp_path / "tests"
    first = _run(tests, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
                 "--snapshot-update")  # fmt: skip
    assert first.returncode == 0, first.stdout
    again = _run(tests, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist")
    assert again.returncode == 0, again.stdout
    hook = (tmp_path / ".pre-commit-config.yaml").read_text()
    assert "entry: pipedsl render --check" in hook


def test_the_name_and_repository_come_from_the_folder_and_its_origin(tmp_path: Path) -> None:
    folder = tmp_path / "Order_Service"
    (folder / ".git").mkdir(parents=True)
    (folder / ".git" / "config").write_text(
        '[core]\n\tbare = false\n[remote "origin"]\n\turl = git@github.com:acme/orders.git\n'
        "\tfetch = +refs/heads/*:refs/remotes/origin/*\n"
    )
    result = runner.invoke(app, ["init", "--dir", str(folder), "--no-ask", "--no-render"])
    assert result.exit_code == 0, result.output
    project = load_project(folder / "projects" / "order-service.py")
    assert (project.name, project.repository) == ("order-service", "git@github.com:acme/orders.git")


def test_init_asks_in_a_terminal(tmp_path: Path) -> None:
    answers = "\n".join(["web", URL, "gradle", "yarn", "ghcr.io/acme", "ssh", "#ci"]) + "\n"
    result = runner.invoke(
        app, ["init", "--dir", str(tmp_path), "--ask", "--no-render"], input=answers
    )
    assert result.exit_code == 0, result.output
    source = (tmp_path / "projects" / "web.py").read_text()
    assert 'build="gradle"' in source
    assert "yarn_frontend(" in source
    assert 'registry.repository("acme/backend")' in source
    assert 'SshServer("deploy")' in source
    assert 'Slack(channel="#ci"' in source


@pytest.mark.parametrize(
    ("backend", "frontend", "deploy", "registry"),
    [
        (b, f, d, r)
        for (b, f, d), r in zip(
            itertools.product(BACKENDS, FRONTENDS, DEPLOYS),
            itertools.cycle(["", "dockerhub:acme/shop", "ghcr.io", "registry.example.com:5000/t"]),
            strict=False,
        )
        if (b, f) != ("none", "none")
    ],
)
def test_every_combination_renders(
    tmp_path: Path, backend: str, frontend: str, deploy: str, registry: str
) -> None:
    answers = Answers(
        "shop", URL, backend=backend, frontend=frontend, deploy=deploy, registry=registry
    )
    scaffold(answers, tmp_path)
    project = load_project(tmp_path / "projects" / "shop.py")
    paths = {a.path for a in render_project(project)}
    assert ("shop/backend/Jenkinsfile" in paths) == (backend != "none")
    assert ("shop/frontend/Jenkinsfile" in paths) == (frontend != "none")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["Shop!"], "error: the project name 'Shop!' is not allowed: lower-case letters, digits "
         "and '-' (a DNS label, such as 'shop')"),
        (["shop", "--backend", "ant"], "error: --backend: 'ant' is not one of maven, gradle, none"),
        (["shop", "--deploy", "helm"], "error: --deploy: 'helm' is not one of kubectl, ssh, none"),
        (["shop", "--backend", "none"], "error: --backend and --frontend are both 'none': "
         "nothing to build"),
        (["shop", "--repository", "not a url"], "error: projects/shop.py would not load (nothing "
         "written): Project.repository: 'not a url' is not allowed: a Git URL such as "),
    ],
)  # fmt: skip
def test_bad_answers_write_nothing(tmp_path: Path, args: list[str], message: str) -> None:
    repository = [] if "--repository" in args else ["--repository", URL]
    result = runner.invoke(
        app, ["init", *args, *repository, "--dir", str(tmp_path), "--no-ask", "--no-render"]
    )
    assert result.exit_code == 2
    assert result.output.startswith(message), result.output
    assert list(tmp_path.iterdir()) == []


def test_an_existing_file_is_never_replaced(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_shop_generated.py").write_text("# mine\n")
    result = runner.invoke(
        app, ["init", "shop", "--repository", URL, "--dir", str(tmp_path), "--no-ask"]
    )
    assert result.exit_code == 2
    assert "test_shop_generated.py exists; pipedsl init writes only new files" in result.output
    assert not (tmp_path / "projects").exists()
    assert (tmp_path / "tests" / "test_shop_generated.py").read_text() == "# mine\n"


def test_no_repository_and_no_origin_is_named(tmp_path: Path) -> None:
    result = runner.invoke(app, ["init", "shop", "--dir", str(tmp_path), "--no-ask"])
    assert result.exit_code == 2
    assert result.output.startswith("error: --repository is needed")


def test_the_monorepo_recipe_of_the_quickstart_renders() -> None:
    recipe = Path(__file__).parent / "fixtures" / "recipes" / "monorepo.py"
    docs = (Path(__file__).parent.parent / "docs" / "quickstart.md").read_text()
    assert recipe.read_text() in docs
    artifacts = {a.path: a.text for a in render_project(load_project(recipe))}
    api = artifacts["shop/api/Jenkinsfile"]
    assert api.count("changeset 'services/api/**'") == api.count("stage('")
    assert "changeset 'apps/web/**'" in artifacts["shop/web/Jenkinsfile"]


def test_a_render_that_cannot_be_written_leaves_nothing_behind(tmp_path: Path) -> None:
    (tmp_path / "generated").mkdir()
    (tmp_path / "generated" / "keep.txt").write_text("not pipedsl's\n")
    result = runner.invoke(
        app, ["init", "shop", "--repository", URL, "--dir", str(tmp_path), "--no-ask"]
    )
    assert result.exit_code == 2
    assert "was not written by pipedsl" in result.output
    assert result.output.rstrip().endswith("(pipedsl init wrote nothing)")
    assert not (tmp_path / "projects" / "shop.py").exists()
    assert not (tmp_path / "tests" / "test_shop_generated.py").exists()
    assert not (tmp_path / ".pre-commit-config.yaml").exists()
    # Nothing is left to block the next attempt.
    (tmp_path / "generated" / "keep.txt").unlink()
    again = runner.invoke(
        app, ["init", "shop", "--repository", URL, "--dir", str(tmp_path), "--no-ask"]
    )
    assert again.exit_code == 0, again.output


def test_a_token_in_the_origin_url_is_never_copied(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "config").write_text(
        '[remote "origin"]\n\turl = https://bot:ghp_0123456789abcdef@github.com/acme/shop.git\n'
    )
    result = runner.invoke(app, ["init", "shop", "--dir", str(tmp_path), "--no-ask"])
    assert result.exit_code == 0, result.output
    files = [p for p in tmp_path.rglob("*") if p.is_file() and ".git" not in p.parts]
    assert files
    for file in files:
        assert "ghp_0123456789abcdef" not in file.read_text(), file
    assert load_project(tmp_path / "projects" / "shop.py").repository == (
        "https://bot@github.com/acme/shop.git"
    )


def test_a_password_in_a_repository_url_is_refused_without_showing_it() -> None:
    with pytest.raises(ModelError) as caught:
        Project("shop", repository="https://bot:s3cr3t@github.com/acme/shop.git", components=[])
    assert str(caught.value).startswith(
        "Project.repository: https://bot:***@github.com/acme/shop.git holds a password or token"
    )
    assert "s3cr3t" not in str(caught.value)


def test_no_answers_in_a_terminal_is_a_usage_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["init", "--dir", str(tmp_path), "--ask"], input="")
    assert result.exit_code == 2
    assert "error: pipedsl init: no answer (input ended); nothing written" in result.output
    assert not (tmp_path / "projects").exists()
