"""The package's shape: one direction of imports, a lazy public facade, a CLI that loads only
what the command it runs needs. (The layers themselves are import-linter's contract in
pyproject.toml, checked by ``make lint``; these tests cover what it cannot see.)"""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import pipedsl
from tests.conftest import ROOT, seed_projects
from tests.support.cli import run_main

PACKAGE = ROOT / "src" / "pipedsl"


def _layers() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    (contract,) = config["tool"]["importlinter"]["contracts"]
    return [m.strip() for layer in contract["layers"] for m in layer.split("|")]


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if p != PACKAGE / "__init__.py")


def test_every_module_sits_in_a_layer() -> None:
    # A new top-level module outside the contract would be checked by nothing.
    layers = set(_layers())
    for path in _modules():
        top = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
        assert f"pipedsl.{top}" in layers, f"{path.relative_to(ROOT)} is in no layer"


def test_no_module_imports_the_public_facade() -> None:
    # `from pipedsl import X` inside the package would reach every layer through the facade,
    # where import-linter (which sees an import of the root package) cannot tell.
    for path in _modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "pipedsl" and node.level == 0:
                subpackages = {alias.name for alias in node.names}
                assert all(
                    (PACKAGE / name).is_dir() or (PACKAGE / f"{name}.py").is_file()
                    for name in subpackages
                ), f"{path.relative_to(ROOT)}:{node.lineno} imports the facade"
            if isinstance(node, ast.Import):
                assert all(a.name != "pipedsl" for a in node.names), path


def _type_checking_imports() -> dict[str, str]:
    tree = ast.parse((PACKAGE / "__init__.py").read_text(encoding="utf-8"))
    (block,) = [n for n in tree.body if isinstance(n, ast.If)]
    return {
        alias.name: node.module
        for node in block.body
        if isinstance(node, ast.ImportFrom) and node.module is not None
        for alias in node.names
    }


def test_facade_table_matches_its_static_imports_and_all() -> None:
    exports: dict[str, str] = pipedsl._EXPORTS
    assert _type_checking_imports() == exports
    assert sorted(pipedsl.__all__) == sorted(exports)
    assert len(set(pipedsl.__all__)) == len(pipedsl.__all__)


@pytest.mark.parametrize("name", pipedsl.__all__)
def test_every_public_name_resolves(name: str) -> None:
    value = getattr(pipedsl, name)
    assert value is getattr(sys.modules[pipedsl._EXPORTS[name]], name)


def test_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'Jenkinsfile'"):
        _ = pipedsl.Jenkinsfile


_LOADED = """
import sys
from pipedsl.cli import main
sys.argv = ["pipedsl", *sys.argv[1:]]
try:
    main()
except SystemExit:
    pass
heavy = {"pipedsl", "jinja2", "yaml", "jenkins", "requests"}
print(" ".join(sorted(m for m in sys.modules if m.split(".")[0] in heavy)), file=sys.stderr)
"""


@pytest.mark.parametrize(
    "args", [["--help"], ["render", "--help"], ["sync", "--help"], ["render", "--bogus"]]
)
def test_help_loads_nothing_of_the_library(args: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _LOADED, *args], capture_output=True, text=True, check=True
    )
    loaded = done.stderr.strip().splitlines()[-1].split()
    assert loaded == [
        "pipedsl",
        "pipedsl.cli",
        "pipedsl.errors",
        "pipedsl.record",
        "pipedsl.redact",
    ]


# Modules a render has no use for, each a few milliseconds of its start: pydantic (typer's
# coercion), logging and html (the masking of output, which needs them only once a secret or a
# logger exists), importlib.resources (importlib.abc's).
_NOT_FOR_A_RENDER = ("pydantic", "logging", "html", "importlib.resources")


def test_a_render_imports_only_what_it_uses(tmp_path: Path) -> None:
    seed_projects(tmp_path / "projects")
    after = f"print(sorted(m for m in {_NOT_FOR_A_RENDER!r} if m in sys.modules))"
    done = run_main("render", cwd=tmp_path, after=after)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "[]"


def test_only_the_whole_output_tests_read_the_projects_folder() -> None:
    # README: a team adding projects/<team>.py changes nothing the suite checks except that
    # generated/ equals a fresh render. Everything else takes the seed project by its file.
    whole_folder = ('ROOT / "projects")', 'ROOT / "projects",', '(ROOT / "projects").glob')
    readers = sorted(
        path.name
        for path in (ROOT / "tests").rglob("*.py")
        if any(pattern in path.read_text(encoding="utf-8") for pattern in whole_folder)
        and path.name != "test_layers.py"
    )
    assert readers == ["test_generated.py", "test_package.py"]
