"""The base of pipedsl's attrs classes: equality, hashing and ``repr``, written once.

attrs compiles an ``__eq__``, a ``__hash__`` and a ``__repr__`` for each class when its module is
imported; for pipedsl's classes that was 0.04 s of every command's start, a seventh of a render.
These are the same methods, written once, reading the class's fields. A class takes them with
``@attrs.frozen(eq=False, repr=False)`` and :class:`Record` (or :class:`CachedRecord`, which keeps
its hash like attrs' ``cache_hash=True``) among its bases; a test holds every class to it. For
frozen classes only: the hash is the fields'. One difference from attrs: objects and fields are
compared as tuples compare their items, an object being equal to itself, so a field holding the
same NaN object compares equal (no field of pipedsl holds a bare float).

Imports nothing of pipedsl: every layer may build on it.
"""

from __future__ import annotations

import operator
import threading
from collections.abc import Callable
from typing import Any

import attrs

__all__ = ["CachedRecord", "Record"]

_Key = Callable[[Any], tuple[Any, ...]]
# Per class: the values its equality compares (and its hash hashes), and how its repr shows
# each field (name, the field's own repr function if it has one, whether it is set by __init__).
_KEYS: dict[type, _Key] = {}
_SHOWN: dict[type, tuple[tuple[str, Callable[[Any], str] | None, bool], ...]] = {}


def _nothing(_: object) -> tuple[Any, ...]:
    return ()


def _key(cls: type) -> _Key:
    fields = cls.__attrs_attrs__  # type: ignore[attr-defined]
    names = [a.name for a in fields if a.eq]
    if any(a.eq_key is not None or (a.hash is not None and a.hash != a.eq) for a in fields):
        raise TypeError(
            f"{cls.__qualname__}: a Record compares and hashes the fields its equality includes, "
            "as they are (no eq_key, no hash= of a field's own)"
        )
    if not names:
        key: _Key = _nothing
    elif len(names) == 1:
        get = operator.attrgetter(names[0])

        def key(value: object) -> tuple[Any, ...]:
            return (get(value),)

    else:
        key = operator.attrgetter(*names)
    _KEYS[cls] = key
    return key


class _Repring(threading.local):
    # The objects whose repr is being made, in this thread: a cycle shows as "...".
    ids: set[int]

    def __init__(self) -> None:
        self.ids = set()


_REPRING = _Repring()


def _shown(cls: type) -> tuple[tuple[str, Callable[[Any], str] | None, bool], ...]:
    shown = tuple(
        (a.name, None if a.repr is True else a.repr, a.init)
        for a in cls.__attrs_attrs__  # type: ignore[attr-defined]
        if a.repr is not False
    )
    _SHOWN[cls] = shown
    return shown


class Record:
    """Equality by class and field values, the hash of those values, and attrs' ``repr``:
    ``Name(field=value, ...)``."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        if other is self:  # as tuples compare their items (see above: NaN)
            return True
        cls = self.__class__
        if other.__class__ is not cls:
            return NotImplemented
        key = _KEYS.get(cls) or _key(cls)
        return key(self) == key(other)

    def __hash__(self) -> int:
        cls = self.__class__
        return hash((cls, (_KEYS.get(cls) or _key(cls))(self)))

    def __repr__(self) -> str:
        ids = _REPRING.ids
        if id(self) in ids:
            return "..."
        ids.add(id(self))
        try:
            cls = self.__class__
            parts = []
            for name, show, init in _SHOWN.get(cls) or _shown(cls):
                value = getattr(self, name) if init else getattr(self, name, attrs.NOTHING)
                parts.append(f"{name}={repr(value) if show is None else show(value)}")
            return f"{cls.__qualname__.rsplit('>.', 1)[-1]}({', '.join(parts)})"
        finally:
            ids.discard(id(self))


class CachedRecord(Record):
    """A :class:`Record` that keeps its hash once computed: for objects used as keys again and
    again (steps, stages, pipelines)."""

    __slots__ = ("_record_hash",)
    _record_hash: int

    def __hash__(self) -> int:
        # getattr with a default: a slot not set yet costs a third of a caught AttributeError.
        value: int | None = getattr(self, "_record_hash", None)
        if value is None:
            cls = self.__class__
            value = hash((cls, (_KEYS.get(cls) or _key(cls))(self)))
            object.__setattr__(self, "_record_hash", value)
        return value
