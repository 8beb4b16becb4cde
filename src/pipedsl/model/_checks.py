"""Validators and converters shared by the model classes.

Each validator raises :class:`~pipedsl.errors.ModelError` with a message that names the class and
field, says what is allowed and shows what was given.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

import attrs

from pipedsl.errors import ModelError

T = TypeVar("T")

Validator = Callable[[Any, "attrs.Attribute[Any]", Any], None]


def where(instance: object, attribute: attrs.Attribute[Any]) -> str:
    return f"{type(instance).__name__}.{attribute.name}"


def fail(instance: object, attribute: attrs.Attribute[Any], message: str) -> ModelError:
    return ModelError(f"{where(instance, attribute)}: {message}")


def article(name: str) -> str:
    """``name`` with its indefinite article: ``an Image``, ``a Deployment``, ``an int``."""
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"


def _describe(types: type | tuple[type, ...]) -> str:
    if isinstance(types, tuple):
        return " or ".join(article(t.__name__) for t in types)
    return article(types.__name__)


def _plural(types: type | tuple[type, ...]) -> str:
    names = [t.__name__ for t in (types if isinstance(types, tuple) else (types,))]
    return " or ".join(f"{n}s" if not n.endswith("s") else n for n in names)


def _shown(value: object) -> str:
    """``repr(value)``, shortened: a message must stay readable whatever was given."""
    text = repr(value)
    return text if len(text) <= 80 else text[:60] + f"... ({len(text)} characters)"


def _got(value: object) -> str:
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{type(value).__name__} {text}"


@functools.cache  # validators are stateless: one per argument, however often asked
def instance_of(types: type | tuple[type, ...]) -> Validator:
    """The value is an instance of ``types`` (``bool`` is not accepted for ``int``)."""

    bool_allowed = bool in (types if isinstance(types, tuple) else (types,))

    def check(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        # (bool cannot be subclassed: its instances are exactly those of class bool.)
        if isinstance(value, types) and (bool_allowed or value.__class__ is not bool):
            return
        raise fail(instance, attribute, f"expected {_describe(types)}, got {_got(value)}")

    return check


def optional(validator: Validator) -> Validator:
    def check(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if value is not None:
            validator(instance, attribute, value)

    return check


@functools.cache  # validators are stateless: one per argument, however often asked
def tuple_of(types: type | tuple[type, ...]) -> Validator:
    """Every item of the (already converted) tuple is an instance of ``types``."""

    # A bool can pass the isinstance test only where ``types`` admit one (int, object...).
    bool_passes = any(
        issubclass(bool, t) for t in (types if isinstance(types, tuple) else (types,))
    )

    def check(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if not isinstance(value, tuple):
            raise fail(
                instance, attribute, f"expected a list of {_plural(types)}, got {_got(value)}"
            )
        for index, item in enumerate(value):
            if not isinstance(item, types) or (bool_passes and item.__class__ is bool):
                raise fail(
                    instance,
                    attribute,
                    f"item {index}: expected {_describe(types)}, got {_got(item)}",
                )

    return check


def to_tuple(value: object) -> object:
    """Converter: lists (and other non-string iterables) become tuples; a single item is kept
    as is so that the validator can report it."""
    if isinstance(value, tuple):
        return value
    if isinstance(value, list | set | frozenset) or (
        isinstance(value, Iterable) and not isinstance(value, str | bytes | dict)
    ):
        return tuple(value)
    return value


def matches(pattern: str, allowed: str) -> Validator:
    """The string matches ``pattern`` entirely; ``allowed`` says in words what that means."""
    compiled = re.compile(pattern)

    def check(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if not isinstance(value, str):
            raise fail(instance, attribute, f"expected a str, got {_got(value)}")
        if not compiled.fullmatch(value):
            raise fail(instance, attribute, f"{_shown(value)} is not allowed: {allowed}")

    return check


# Characters no output can carry: NUL (no process argument, C string or XML document), lone
# UTF-16 surrogates (no UTF-8 file) and the noncharacters U+FFFE/U+FFFF (no XML document).
_UNCARRIABLE = re.compile("[\x00\ud800-\udfff\ufffe\uffff]")

# Scripts longer than this belong in a file in the repository. (Groovy 2.4 refuses a string
# constant over 65,535 bytes of modified UTF-8, which 10,923 characters outside the Basic
# Multilingual Plane reach: render checks that limit, in bytes, on every literal it writes.)
MAX_TEXT = 20_000


def carriable(instance: object, attribute: attrs.Attribute[Any], value: str) -> None:
    """``value`` has no character that some output cannot carry."""
    bad = _UNCARRIABLE.search(value)
    if bad is not None:
        what = (
            "a NUL character"
            if bad.group() == "\x00"
            else f"the character U+{ord(bad.group()):04X}"
        )
        raise fail(
            instance, attribute, f"must not contain {what}, which no generated file can hold"
        )


@functools.cache  # validators are stateless: one per argument, however often asked
def text(*, empty: bool = False, multiline: bool = True) -> Validator:
    """A plain string that every output can carry: no NUL, lone surrogate or U+FFFE/U+FFFF, at
    most :data:`MAX_TEXT` characters; optionally non-empty and single-line."""

    def check(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if not isinstance(value, str):
            raise fail(instance, attribute, f"expected a str, got {_got(value)}")
        if not empty and not value.strip():
            raise fail(instance, attribute, "must not be empty")
        carriable(instance, attribute, value)
        if len(value) > MAX_TEXT:
            raise fail(
                instance,
                attribute,
                f"is {len(value)} characters long; at most {MAX_TEXT} are allowed (keep longer "
                "scripts in a file in the repository)",
            )
        if not multiline and ("\n" in value or "\r" in value):
            raise fail(instance, attribute, "must be a single line")

    return check


def words(*, non_empty: bool = True) -> Validator:
    """A tuple of strings (command words, file patterns), each carriable by every output."""

    def check(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        tuple_of(str)(instance, attribute, value)
        assert isinstance(value, tuple)  # noqa: S101  (tuple_of checked it)
        if non_empty and not value:
            raise fail(instance, attribute, "must not be empty")
        for item in value:
            carriable(instance, attribute, item)
            if len(item) > MAX_TEXT:
                raise fail(
                    instance,
                    attribute,
                    f"an item is {len(item)} characters long; at most {MAX_TEXT} are allowed",
                )

    return check


def one_of(choices: Iterable[T]) -> Validator:
    options = tuple(choices)

    def check(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if value not in options:
            listed = ", ".join(repr(o) for o in options)
            raise fail(instance, attribute, f"{_shown(value)} is not one of {listed}")

    return check


def positive_int(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise fail(instance, attribute, f"expected a positive int, got {_got(value)}")


CREDENTIAL_ID = matches(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}", "letters, digits, '_', '.', '-'")
ENV_NAME = matches(r"[A-Za-z_][A-Za-z0-9_]*", "a shell/Groovy identifier: letters, digits, '_'")


def pairs(value: Any) -> Any:
    """Converter: a mapping becomes its ``(key, value)`` items, in order; anything else as
    :func:`to_tuple` leaves it (``attrs.evolve`` passes a stored tuple back in)."""
    if isinstance(value, Mapping):
        return tuple(value.items())
    return to_tuple(value)


def str_tuple(value: str | Iterable[str]) -> tuple[str, ...]:
    """Converter for lists of strings; a single string is one item."""
    if isinstance(value, str):
        return (value,)
    return to_tuple(value)  # type: ignore[return-value]


_URL_PASSWORD = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^/@\s]*:[^/@\s]*@")


def no_url_password(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """A URL must not carry a password or token (``https://user:token@host``): it would be
    written into Jenkinsfiles, job definitions and logs. The message never shows it."""
    if isinstance(value, str) and _URL_PASSWORD.match(value):
        shown = re.sub(r"://([^/@:\s]*):[^/@\s]*@", r"://\1:***@", value)
        raise fail(
            instance,
            attribute,
            f"{shown} holds a password or token after the user name; give the URL without it "
            "and the login as a Jenkins credential (credentials=...)",
        )
