"""The shared equality, hash and repr of pipedsl's attrs classes (``pipedsl.record``): every
class uses them, and they answer as the methods attrs would have compiled for the class."""

from __future__ import annotations

import copy
import importlib
import itertools
import pickle
import pkgutil
import sys
import threading
from collections.abc import Iterator, Mapping
from typing import Any, cast
from unittest import mock

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import pipedsl
from pipedsl.model.pipeline import (
    POST_CONDITIONS,
    Post,
    Stage,
    _stage_step_groups,
    _stage_step_lists,
)
from pipedsl.model.project import Project
from pipedsl.model.steps import Echo, Sh
from pipedsl.record import CachedRecord, Record
from pipedsl.resolve.pipeline import effective_pipeline


def _all_classes() -> list[type]:
    for info in pkgutil.walk_packages(pipedsl.__path__, "pipedsl."):
        if info.name != "pipedsl.__main__":
            importlib.import_module(info.name)
    found = {
        value
        for module in list(sys.modules.values())
        if getattr(module, "__name__", "").startswith("pipedsl.")
        for value in vars(module).values()
        if isinstance(value, type) and attrs.has(value) and value.__module__.startswith("pipedsl")
    }
    return sorted(found, key=lambda c: (c.__module__, c.__qualname__))


CLASSES = _all_classes()


def _fields(cls: type) -> tuple[attrs.Attribute[Any], ...]:
    return attrs.fields(cast(Any, cls))  # type: ignore[no-any-return]


def test_there_are_classes_to_check() -> None:
    assert len(CLASSES) > 150


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: f"{c.__module__}.{c.__qualname__}")
def test_every_class_uses_the_shared_methods(cls: type) -> None:
    # attrs compiles none of the three for the class (its own __repr__ may hide a secret).
    assert issubclass(cls, Record)
    assert cls.__eq__ is Record.__eq__
    assert cls.__hash__ in (Record.__hash__, CachedRecord.__hash__)
    # A __repr__ of the class's own is written in its source (one hiding a secret); attrs'
    # compiled ones are not.
    if cls.__repr__ is not Record.__repr__:
        own = vars(cls)["__repr__"]
        assert own.__code__.co_filename == sys.modules[cls.__module__].__file__
    for field in _fields(cls):
        assert getattr(field, "eq_key", None) is None


def _objects(value: object) -> Iterator[object]:
    """``value`` and every model object inside it."""
    stack = [value]
    seen: set[int] = set()
    while stack:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if attrs.has(type(item)):
            yield item
            stack.extend(getattr(item, a.name) for a in _fields(type(item)))
        elif isinstance(item, tuple | list | frozenset | set):
            stack.extend(item)
        elif isinstance(item, Mapping):
            stack.extend(item.keys())
            stack.extend(item.values())


def _reference(cls: type) -> type:
    """The class attrs makes from ``cls``'s fields with its own compiled methods."""
    fields: dict[str, Any] = {
        a.name: attrs.field(repr=a.repr, eq=a.eq, init=True, default=None) for a in _fields(cls)
    }
    made = attrs.make_class(cls.__name__, fields, frozen=True, kw_only=True, cache_hash=True)
    made.__qualname__ = cls.__qualname__
    return made


def _as_reference(value: object, references: dict[type, type]) -> object:
    cls = type(value)
    reference = references.get(cls) or references.setdefault(cls, _reference(cls))
    return reference(**{a.name: getattr(value, a.name) for a in _fields(cls)})


@pytest.fixture(scope="module")
def objects(projects: dict[str, Project]) -> list[object]:
    """Every model object of every project under test, and of the pipelines they render."""
    roots: list[object] = list(projects.values())
    roots += [effective_pipeline(c, "main") for p in projects.values() for c in p.components]
    return list({id(o): o for root in roots for o in _objects(root)}.values())


def test_the_projects_reach_most_classes(objects: list[object]) -> None:
    assert len({type(o) for o in objects}) > 60


def test_repr_is_attrs_repr(objects: list[object]) -> None:
    references: dict[type, type] = {}
    for value in objects:
        if "__repr__" not in vars(type(value)):
            assert repr(value) == repr(_as_reference(value, references))


def test_equality_and_hash_are_attrs(objects: list[object]) -> None:
    references: dict[type, type] = {}
    by_class: dict[type, list[object]] = {}
    for value in objects:
        by_class.setdefault(type(value), []).append(value)
        twin = copy.copy(value)
        assert twin is not value
        assert value == twin
        assert not value != twin  # noqa: SIM202  (the operator itself is under test)
        assert hash(value) == hash(twin)
        assert value != 1
    compared = 0
    for values in by_class.values():
        for a, b in itertools.islice(itertools.combinations(values, 2), 200):
            same = _as_reference(a, references) == _as_reference(b, references)
            assert (a == b) is same
            assert (a != b) is not same
            compared += 1
    assert compared > 1000


def test_objects_of_other_classes_are_never_equal() -> None:
    assert Sh("x") != Echo("x")
    assert Sh("x") == Sh("x")
    assert Sh("x") != Sh("y")
    # The other object is asked (as attrs does): a value equal to anything stays so.
    assert Sh("x").__eq__(Echo("x")) is NotImplemented
    assert Sh("x") == mock.ANY

    @attrs.frozen(eq=False, repr=False)
    class Base(Record):
        value: int

    @attrs.frozen(eq=False, repr=False)
    class Derived(Base):
        pass

    assert Base(1) != Derived(1)
    assert Derived(1) != Base(1)
    assert Derived(1) == Derived(1)


def test_fields_left_out_of_equality_are_left_out_of_the_hash() -> None:
    @attrs.frozen(eq=False, repr=False)
    class Noted(CachedRecord):
        value: int
        note: str = attrs.field(eq=False)

    assert Noted(1, "a") == Noted(1, "b")
    assert hash(Noted(1, "a")) == hash(Noted(1, "b"))
    assert Noted(1, "a") != Noted(2, "a")


def test_the_repr_of_one_thread_does_not_hide_another_threads() -> None:
    # While one thread is inside an object's repr, another thread shows it whole: the guard
    # against cycles is per thread.
    inside, done = threading.Event(), threading.Event()

    def slow(value: object) -> str:
        if threading.current_thread() is not threading.main_thread():
            inside.set()
            done.wait(10)
        return "v"

    @attrs.frozen(eq=False, repr=False)
    class Slow(Record):
        value: object = attrs.field(repr=slow)

    shown = Slow(1)
    other = threading.Thread(target=repr, args=(shown,))
    other.start()
    try:
        assert inside.wait(10)
        assert repr(shown) == "Slow(value=v)"
    finally:
        done.set()
        other.join()


def test_a_kept_hash_survives_nothing_it_should_not(objects: list[object]) -> None:
    # Pickling (the rendering processes send results back) keeps equality and hash. The kept
    # hash itself is never carried (by a pickle, a copy or evolve): another process hashes
    # strings with another seed, and evolve makes another value.
    cached = [o for o in objects if isinstance(o, CachedRecord)]
    assert cached
    for value in cached:
        hash(value)
        back = pickle.loads(pickle.dumps(value))  # noqa: S301  (our own objects)
        for made in [back, copy.copy(value), copy.deepcopy(value), attrs.evolve(cast(Any, value))]:
            assert not hasattr(made, "_record_hash")
            assert made == value
            assert hash(made) == hash(value)


def test_a_remembered_walk_is_the_walk_and_is_never_carried(objects: list[object]) -> None:
    # Stages and post blocks keep the lists of steps a walk over them finds, as they keep their
    # hash: the same answer as a fresh walk, and never carried to another object.
    stages = [o for o in objects if isinstance(o, Stage)]
    posts = [o for o in objects if isinstance(o, Post)]
    assert stages
    assert posts
    for stage in stages:
        assert _stage_step_groups(stage) == tuple(s for _, s in _stage_step_lists(None, stage))
        assert _stage_step_groups(stage) is _stage_step_groups(stage)
    for post in posts:
        first = post.conditions()
        first.append(("always", ()))  # the caller's own list
        assert post.conditions() == [
            (c, getattr(post, c)) for c in POST_CONDITIONS if getattr(post, c)
        ]
    for value in [*stages, *posts]:
        back = pickle.loads(pickle.dumps(value))  # noqa: S301  (our own objects)
        for made in [back, copy.copy(value), copy.deepcopy(value), attrs.evolve(cast(Any, value))]:
            assert not hasattr(made, "_remembered")


def test_an_unset_field_shows_as_nothing() -> None:
    @attrs.frozen(eq=False, repr=False)
    class Late(Record):
        early: int
        late: int = attrs.field(init=False)

    assert repr(Late(1)) == "Late(early=1, late=NOTHING)"


def test_a_cycle_shows_as_dots() -> None:
    @attrs.define(eq=False, repr=False)
    class Node(Record):
        items: list[Any]

    node = Node([])
    node.items.append(node)
    assert repr(node) == "Node(items=[...])"


@given(st.lists(st.text(max_size=5) | st.integers(), max_size=4))
def test_a_custom_field_repr_is_used(values: list[object]) -> None:
    @attrs.frozen(eq=False, repr=False)
    class Shown(Record):
        hidden: object = attrs.field(repr=lambda v: "<hidden>")
        shown: object = None

    assert repr(Shown(values, values)) == f"Shown(hidden=<hidden>, shown={values!r})"


def test_a_field_compared_by_a_key_of_its_own_is_refused() -> None:
    @attrs.frozen(eq=False, repr=False)
    class Keyed(Record):
        name: str = attrs.field(eq=str.lower)

    with pytest.raises(TypeError, match="no eq_key"):
        _ = Keyed("a") == Keyed("A")
