"""The command line's own coercion of parameters (``cli._PlainText``) gives what typer's gives —
the same value, or the same error — for every parameter of every command, and spares a render
the import of pydantic that typer's costs."""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
import typer.main
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipedsl.cli import _PlainText, app
from tests.conftest import seed_projects
from tests.support.cli import run_main


def _parameters() -> Iterator[tuple[str, Any, Any]]:
    """(command name, command, parameter) of the group and of each command, ``--help`` too."""
    group = typer.main.get_command(app)
    assert isinstance(group, typer.core.TyperGroup)
    for name, command in [("pipedsl", group), *sorted(group.commands.items())]:
        for param in command.get_params(typer.Context(command)):
            yield name, command, param


PARAMETERS = list(_parameters())


def _outcome(coerce: Any, value: object, param: Any, ctx: Any) -> tuple[str, object]:
    try:
        result = coerce(value, param=param, ctx=ctx)
    except Exception as error:  # the same error, with the same message, is what counts
        return type(error).__name__, str(error)
    return type(result).__name__, result


def _typers_coercion() -> Any:
    """typer's own coercion of a parameter (typer 0.29 and later: before, typer coerced with
    click's types, and the command line leaves it alone)."""
    return pytest.importorskip("typer._coercion").build_runtime_param


def _same(value: object) -> None:
    build_runtime_param = _typers_coercion()
    for name, command, param in PARAMETERS:
        ctx = typer.Context(command)
        ours = param.get_runtime_param()
        assert isinstance(ours, _PlainText), f"{name} {param.name}: not given a _PlainText"
        theirs = build_runtime_param(param.type_descriptor)
        assert _outcome(ours.coerce, value, param, ctx) == _outcome(
            theirs.coerce, value, param, ctx
        ), f"{name} {param.name}: {value!r}"


@pytest.fixture(scope="module")
def places(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Paths of each kind, relative to the working folder the test runs in."""
    root = tmp_path_factory.mktemp("places")
    (root / "file").write_text("x")
    (root / "dir").mkdir()
    (root / "loop").symlink_to(root / "loop")
    (root / "dangling").symlink_to(root / "nowhere")
    (root / "fifo").mkdir()
    os.mkfifo(root / "fifo" / "pipe")
    before = Path.cwd()
    os.chdir(root)
    try:
        yield {
            "file": "file",
            "dir": "dir",
            "loop": "loop",
            "dangling": "dangling",
            "pipe": "fifo/pipe",
            "missing": "missing",
            "absolute file": str(root / "file"),
        }
    finally:
        os.chdir(before)


SPECIAL = ["", ".", "-", "~", "a\0b", "\udcff", "한글/경로", "a b", "$HOME", " ", "//"]


def test_every_parameter_gets_the_plain_coercion() -> None:
    _typers_coercion()
    names = {(name, param.name) for name, _, param in PARAMETERS}
    assert ("render", "projects") in names
    assert ("render", "templates") in names
    assert ("pipedsl", "help") in names


@pytest.mark.parametrize("value", [None, *SPECIAL, True, 3, 2.5, b"bytes", ("a",), ["a", "b"]])
def test_same_as_typer_for_odd_values(value: object, places: dict[str, str]) -> None:
    _same(value)


def test_same_as_typer_for_paths_of_every_kind(places: dict[str, str]) -> None:
    for path in places.values():
        _same(path)
        _same((path,))
        _same([path, "missing"])
    _same(tuple(places.values()))
    _same(())
    _same([])


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=st.text() | st.lists(st.text(), max_size=3) | st.tuples(st.text(), st.text()))
def test_same_as_typer_for_any_text(value: object, places: dict[str, str]) -> None:
    _same(value)


def test_typer_coerces_what_is_not_plain(places: dict[str, str]) -> None:
    _typers_coercion()
    # A file where a folder is asked for: typer's own message, from typer's own coercion.
    _, command, param = next(p for p in PARAMETERS if p[0] == "render" and p[2].name == "projects")
    with pytest.raises(typer.BadParameter, match="is a file"):
        param.get_runtime_param().coerce(places["file"], param=param, ctx=typer.Context(command))


@pytest.mark.parametrize(
    "args",
    [
        ["render"],
        ["render", "--projects", "projects", "--out", "generated"],
        ["render", "--templates", "templates", "projects/lat32t.py"],
        ["render", "--help"],
        ["--help"],
    ],
    ids=["render", "options", "paths", "render-help", "help"],
)
def test_a_render_does_not_import_pydantic(tmp_path: Path, args: list[str]) -> None:
    seed_projects(tmp_path / "projects")
    (tmp_path / "templates").mkdir()
    after = "print('pydantic imported' if 'pydantic' in sys.modules else 'pydantic not imported')"
    done = run_main(*args, cwd=tmp_path, after=after)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "pydantic not imported"


def test_the_coercion_copies_like_typers() -> None:
    # copy and pickle make the object without __init__ and ask for private names first.
    for _, _, param in PARAMETERS:
        ours = param.get_runtime_param()
        assert isinstance(copy.copy(ours), _PlainText)
        assert isinstance(copy.deepcopy(ours), _PlainText)
