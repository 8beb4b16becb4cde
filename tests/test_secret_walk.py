"""The fast walk over model values (``_is_clean``) never calls clean what the walk with paths
(``_value_leaks``) reports: a render relies on the first and only runs the second after it."""

from __future__ import annotations

from pathlib import Path

import attrs
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from pipedsl import GroovyExpr, GString, ModelError, Pipeline, Stage, load_project, sh
from pipedsl.model.project import Component
from pipedsl.model.steps import Sh, Step
from pipedsl.render import secrets

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = sorted((ROOT / "tests" / "fixtures" / "projects").glob("*.py"))
SEED = ROOT / "projects" / "lat32t.py"

_SECRETS = [
    "ghp_" + "a1B2" * 9,
    "xoxb-1234567890-abcdef",
    "AKIAABCDEFGHIJKLMNOP",
    "cGFzc3dvcmQ=",
    "'hunter22'",
]
_text = st.one_of(
    st.sampled_from(["mvn -B package", "echo ok", "", "hunter22", "${DB_PASSWORD}"]),
    st.sampled_from(_SECRETS).map(lambda s: f"run {s}"),
    st.text(max_size=20),
)
_value = st.one_of(
    _text,
    _text.map(lambda t: GString(t, GroovyExpr("env.X"))),
    st.sampled_from(["env.X", "params.TOKEN", "'" + _SECRETS[0] + "'"]).map(GroovyExpr),
)
_name = st.sampled_from(["X", "DB_PASSWORD", "API_KEY", "LABEL"])


def _walks_agree(value: object) -> None:
    # The fast walk may send a value to the slow one needlessly (it takes any pair of a name
    # and a value for an assignment), never the other way round.
    leaks = list(secrets._value_leaks(value))
    if leaks:
        assert not secrets._is_clean(value), leaks


@pytest.mark.parametrize("path", [*FIXTURES, SEED], ids=lambda p: p.stem)
def test_the_walks_agree_on_the_fixture_projects(path: Path) -> None:
    project = load_project(path)
    for value in [*project.components, attrs.evolve(project, components=())]:
        secrets._CLEAN_VALUES.clear()
        _walks_agree(value)
        if path == SEED:  # the fast walk alone decides an ordinary project
            assert secrets._is_clean(value)


@settings(max_examples=200)
@given(
    scripts=st.lists(_text, min_size=1, max_size=3),
    environment=st.dictionaries(_name, _value, max_size=3),
    data=st.dictionaries(_name, _text, max_size=3),
)
def test_no_secret_escapes_the_fast_walk(
    scripts: list[str], environment: dict[str, object], data: dict[str, str]
) -> None:
    secrets._CLEAN_VALUES.clear()
    try:
        stage = Stage("Build", [sh(s) for s in scripts], environment=environment)  # type: ignore[arg-type]
    except ModelError:
        assume(False)
    component = Component("c", Pipeline([stage]))
    _walks_agree(component)
    _walks_agree(stage)
    # Pairs of a name and a value outside the model's own classes are judged as assignments too.
    _walks_agree(tuple(data.items()))


def test_only_objects_whose_hash_is_kept_are_remembered() -> None:
    # The walk remembers clean objects by hash only where hashing is cheap: pipedsl's steps
    # and stages keep theirs. A team's own step class, made by attrs with its own hash, is
    # walked each time as before.
    @attrs.frozen
    class Notify(Step):
        text: str

    assert secrets._kind(Sh)[1] is True
    assert secrets._kind(Stage)[1] is True
    assert secrets._kind(Notify)[1] is False
    assert secrets._is_clean(Notify("hello"))
