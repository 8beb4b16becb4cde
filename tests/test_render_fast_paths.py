"""Fast paths of the render (and of loading projects) agree with the plain definitions they
replace."""

from __future__ import annotations

import inspect
import xml.etree.ElementTree as ET
from pathlib import PurePosixPath

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipedsl.errors import ModelError, RenderError
from pipedsl.model import _checks
from pipedsl.model.agents import Agent
from pipedsl.model.project import Project
from pipedsl.model.steps import Sh, Step
from pipedsl.model.values import GroovyExpr, GString
from pipedsl.presets import _common, backend, frontend, nginx, runtimes
from pipedsl.render import groovy, secrets
from pipedsl.render.configxml import _AS_REFERENCE, _NOT_XML, _serialize, xml_text
from pipedsl.render.escape import GroovyCode
from pipedsl.render.setup import project_agents
from pipedsl.write import _folders, _normal, _parents


def _merged_by_concatenation(parts: tuple[object, ...]) -> tuple[object, ...]:
    flat: list[object] = []
    for part in parts:
        flat.extend(part.parts if isinstance(part, GString) else (part,))
    merged: list[object] = []
    for part in flat:
        if merged and isinstance(part, str) and isinstance(merged[-1], str):
            merged[-1] = merged[-1] + part
        else:
            merged.append(part)
    return tuple(p for p in merged if p != "")


_GSTRING_PART: st.SearchStrategy[str | GroovyExpr] = st.sampled_from(
    ["", "a", "bc", "\\n"]
) | st.builds(GroovyExpr, st.sampled_from(["x", "y"]))


@given(st.lists(st.lists(_GSTRING_PART, max_size=6), max_size=4))
def test_gstring_text_runs_are_joined_as_by_concatenation(
    groups: list[list[str | GroovyExpr]],
) -> None:
    # Every other group nested in a GString of its own, which the outer one flattens.
    flat: list[str | GroovyExpr | GString] = []
    for index, group in enumerate(groups):
        flat += [GString(*group)] if index % 2 else group
    made = GString(*flat)
    assert made.parts == _merged_by_concatenation(tuple(flat))
    assert all(type(p) is str or type(p) is GroovyExpr for p in made.parts)


_PIECES = st.sampled_from(["a", " ", "\n", "\r", groovy.NO_INDENT, "\u2028", "\x85", "\x0b", "é"])


def _indent_by_lines(code: str, width: int) -> str:
    pad = " " * width
    return "\n".join(
        line if line.startswith(groovy.NO_INDENT) or not line else pad + line
        for line in code.split("\n")
    )


@given(st.lists(_PIECES, max_size=20).map("".join), st.integers(0, 8))
def test_indent_pads_every_nonempty_line_but_continuations(code: str, width: int) -> None:
    assert groovy.indent(GroovyCode(code), width) == _indent_by_lines(code, width)


@given(
    st.lists(
        st.sampled_from(["a", "<", "&", "\n", "\r", "\x7f", "\x85", "\u2028", "é"]), max_size=12
    ).map("".join)
)
def test_config_xml_references_what_xml_11_would_change(text: str) -> None:
    root = ET.Element("script")
    root.text = text
    written = _serialize(root)
    assert not _AS_REFERENCE.search(written)
    assert ET.fromstring(written.split("\n", 1)[1]).text == (text or None)  # noqa: S314


_XML_CHARS = [chr(c) for c in range(0xA0)] + ["é", "\ud800", "\udfff", "\ue000", "\ufffe", "\uffff"]


@pytest.mark.parametrize("char", _XML_CHARS, ids=lambda c: f"U+{ord(c):04X}")
def test_config_xml_refuses_exactly_what_xml_cannot_hold(char: str) -> None:
    # Alone, and inside a long text of each kind (ASCII, or not) that is otherwise fine.
    for text in (char, "a" * 500 + char + "\n" * 10, "é" + "a" * 500 + char):
        if _NOT_XML.search(text) is None:
            assert xml_text(text, "here") is text
        else:
            with pytest.raises(RenderError, match=f"here: character U\\+{ord(char):04X} cannot"):
                xml_text(text, "here")


@given(st.lists(st.sampled_from(["a", "b", "/", ".", ".."]), max_size=10).map("".join))
def test_output_paths_are_read_as_pathlib_reads_them(path: str) -> None:
    normal = _normal(path)
    assert normal == PurePosixPath(path).as_posix()
    assert _parents(normal) == [q.as_posix() for q in PurePosixPath(normal).parents]


@given(
    st.lists(st.lists(st.sampled_from(["a", "b", "/", ".", "..", "/a"]), max_size=8).map("".join))
)
def test_the_folders_of_output_paths_are_their_parents(paths: list[str]) -> None:
    normal = [_normal(p) for p in paths]
    assert _folders(normal) == {q for p in normal for q in _parents(p)}


@given(
    st.lists(st.sampled_from(["", "a", "a\nb", "\n\n", "x\ny\nz"]), min_size=1, max_size=12),
    st.lists(st.integers(0, 30), max_size=40),
)
def test_remembered_line_splits_are_the_splits(texts: list[str], order: list[int]) -> None:
    # Texts asked for in any order, again and again, more of them than are remembered; each
    # made anew (a text that died may leave its id to another).
    for index in order:
        text = "#".join([texts[index % len(texts)], str(index)])
        assert secrets._lines(text) == text.split("\n")
        assert secrets._lines(text) is secrets._lines(text)
    assert len(secrets._SPLIT) <= secrets._SPLITS_KEPT


_PRESETS = [
    getattr(module, name).__wrapped__
    for module in (backend, frontend, nginx, runtimes)
    for name in dir(module)
    if getattr(getattr(module, name), "__module__", None) == module.__name__
    and hasattr(getattr(module, name), "__wrapped__")
]


def test_every_preset_is_checked() -> None:
    assert len(_PRESETS) >= 7, [f.__name__ for f in _PRESETS]


@settings(max_examples=300)
@given(st.sampled_from(_PRESETS), st.integers(0, 3), st.data())
def test_preset_arguments_are_checked_as_binding_checks_them(
    function: object, given_args: int, data: st.DataObject
) -> None:
    signature = inspect.signature(function)  # type: ignore[arg-type]
    names = data.draw(st.sets(st.sampled_from(list(signature.parameters))))
    args, kwargs = tuple(range(given_args)), dict.fromkeys(names)
    try:
        signature.bind(*args, **kwargs)
        binds = True
    except TypeError:
        binds = False
    assert _common._arguments_check(signature)(args, kwargs) == binds


_TYPES = [int, bool, str, object, (int, str), (bool, str), Step, (Step, int), float]
_VALUES = [True, False, 0, 3, "x", 1.5, None, Sh("make"), (), (1,), (True,), ("a", 2)]


def _instance_of_plainly(types: type | tuple[type, ...], value: object) -> bool:
    wanted = types if isinstance(types, tuple) else (types,)
    return not (isinstance(value, bool) and bool not in wanted) and isinstance(value, types)


def _tuple_of_plainly(types: type | tuple[type, ...], value: object) -> bool:
    return isinstance(value, tuple) and all(
        isinstance(item, types) and not isinstance(item, bool) for item in value
    )


@attrs.define
class _Holder:
    field: object = None


def _accepts(check: _checks.Validator, value: object) -> bool:
    try:
        check(_Holder(), attrs.fields(_Holder).field, value)
    except ModelError:
        return False
    return True


@given(st.sampled_from(_TYPES), st.sampled_from(_VALUES) | st.tuples(st.sampled_from(_VALUES)))
def test_type_checks_accept_what_the_plain_rules_accept(
    types: type | tuple[type, ...], value: object
) -> None:
    assert _accepts(_checks.instance_of(types), value) == _instance_of_plainly(types, value)
    assert _accepts(_checks.tuple_of(types), value) == _tuple_of_plainly(types, value)


def _agents_walked(project: Project) -> list[Agent]:
    found: list[Agent] = []
    for component in project.components:
        for agent in [
            component.pipeline.agent,
            *(s.agent for _, s in component.pipeline.walk_stages() if s.agent is not None),
        ]:
            if agent not in found:
                found.append(agent)
    return found


def test_each_project_gets_its_own_agents(projects: dict[str, Project]) -> None:
    # project_agents remembers its answer per project: never another project's answer.
    seen = []
    for project in projects.values():
        assert list(project_agents(project)) == _agents_walked(project)
        assert project_agents(project) == project_agents(project)
        other = attrs.evolve(project, components=project.components[:1])
        assert list(project_agents(other)) == _agents_walked(other)
        seen.append(project_agents(project))
    assert len(seen) == len(projects)
    for project, agents in zip(projects.values(), seen, strict=True):
        assert project_agents(project) == agents  # still its own after the others
