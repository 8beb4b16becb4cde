"""Values that reach a Jenkinsfile: trusted Groovy expressions and interpolated strings.

Plain ``str`` values are always emitted as string literals (escaped). A :class:`GroovyExpr` is the
one way to emit Groovy code as-is, like troposphere's helper functions: use it for expressions
such as ``env.BUILD_NUMBER``, never for secrets.
"""

from __future__ import annotations

import itertools
import string
from collections.abc import Iterator, Mapping
from typing import Any

import attrs

from pipedsl.errors import ModelError
from pipedsl.model import _checks
from pipedsl.record import CachedRecord, Record


@attrs.frozen(eq=False, repr=False)
class GroovyExpr(CachedRecord):
    """A Groovy expression emitted verbatim, e.g. ``GroovyExpr("env.BUILD_NUMBER")``."""

    code: str = attrs.field(validator=_checks.text(multiline=False))


def _parts(value: object) -> tuple[str | GroovyExpr, ...]:
    parts = _checks.to_tuple(value)
    if not isinstance(parts, tuple):
        return (parts,)  # type: ignore[return-value]  # the validator reports the bad type
    flat: list[object] = []
    for part in parts:
        flat.extend(part.parts if isinstance(part, GString) else (part,))
    # Adjacent text is one literal when written, so it is one part (and measured as one).
    # Each run of text is joined once: a chain of many commands would be copied again and
    # again if it grew by concatenation.
    merged: list[object] = []
    for is_text, run in itertools.groupby(flat, key=lambda part: isinstance(part, str)):
        if not is_text:
            merged.extend(run)  # GroovyExprs (the validator reports any other type)
            continue
        texts = list(run)
        merged.append(texts[0] if len(texts) == 1 else "".join(texts))  # type: ignore[arg-type]
    return tuple(p for p in merged if p != "")  # type: ignore[misc]


@attrs.frozen(init=False, eq=False, repr=False)
class GString(Record):
    """A Groovy interpolated string: literal text and trusted expressions, in order.

    >>> GString("build #", GroovyExpr("env.BUILD_NUMBER"))
    GString(parts=('build #', GroovyExpr(code='env.BUILD_NUMBER')))
    """

    parts: tuple[str | GroovyExpr, ...] = attrs.field(
        converter=_parts, validator=_checks.tuple_of((str, GroovyExpr))
    )

    def __init__(self, *parts: str | GroovyExpr | GString) -> None:
        self.__attrs_init__(parts)

    @property
    def is_literal(self) -> bool:
        return all(isinstance(p, str) for p in self.parts)


Text = str | GroovyExpr | GString
"""Anything that renders to a Groovy string value."""


def literal_length(value: Text) -> int:
    """How many characters of literal text ``value`` holds (a GString's literal parts together;
    none for a :class:`GroovyExpr`)."""
    if isinstance(value, GString):
        return sum(len(part) for part in value.parts if isinstance(part, str))
    return len(value) if isinstance(value, str) else 0


def too_long(value: Text) -> str | None:
    """Why ``value`` is too long for a text field, or ``None``: at most
    :data:`~pipedsl.model._checks.MAX_TEXT` characters of literal text, as for every other text
    field."""
    length = literal_length(value)
    if length <= _checks.MAX_TEXT:
        return None
    return (
        f"is {length} characters long; at most {_checks.MAX_TEXT} are allowed (keep longer "
        "texts in a file in the repository)"
    )


def _check_text(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    _checks.instance_of((str, GroovyExpr, GString))(instance, attribute, value)
    problem = too_long(value) if isinstance(value, str | GroovyExpr | GString) else None
    if problem is not None:
        raise _checks.fail(instance, attribute, problem)


TEXT: _checks.Validator = _check_text
"""Validator of a :data:`Text` field: a ``str``, ``GroovyExpr`` or ``GString``, not too long
(:func:`too_long`). Empty and multi-line texts are allowed."""


def model_parts(value: object) -> Iterator[tuple[str, object, str | None]]:
    """The direct parts of a model object, for walks over every value a project holds:
    ``(path suffix, part, name)``. Fields are ``.field`` (those outside equality, such as
    ``Project.source``, are not part of the model), tuple items ``[index]``, and the values of
    ``(name, value)`` pairs (environments, ConfigMap data) ``[name]``, with the name they are
    assigned to; ``name`` is ``None`` otherwise. Strings, numbers and :class:`GString` /
    :class:`GroovyExpr` values have no parts."""
    if isinstance(value, tuple):
        pairs = all(
            isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str)
            for item in value
        )
        for index, item in enumerate(value):
            if pairs:
                yield f"[{item[0]}]", item[1], item[0]
            else:
                yield f"[{index}]", item, None
        return
    for name in model_fields(type(value)):
        yield f".{name}", getattr(value, name), None


def model_fields(kind: type) -> tuple[str, ...]:
    """The fields of a model class that :func:`model_parts` visits, in order (none for
    anything but an attrs class, and for :class:`GString` and :class:`GroovyExpr`)."""
    names = _FIELDS.get(kind)
    if names is None:
        names = _FIELDS[kind] = (
            tuple(f.name for f in attrs.fields(kind) if f.eq)
            if attrs.has(kind) and kind not in (GString, GroovyExpr)
            else ()
        )
    return names


# attrs.fields costs more than a lookup.
_FIELDS: dict[type, tuple[str, ...]] = {}


JOB_NAME = GroovyExpr("env.JOB_NAME")
BUILD_NUMBER = GroovyExpr("env.BUILD_NUMBER")
BUILD_URL = GroovyExpr("env.BUILD_URL")
STAGE_NAME = GroovyExpr("env.STAGE_NAME")
GIT_COMMIT = GroovyExpr("env.GIT_COMMIT")
BUILD_RESULT = GroovyExpr("currentBuild.currentResult")


def format_text(template: str, fields: Mapping[str, Text], *, what: str) -> GString:
    """Parse a ``str.format``-style template into a :class:`GString`.

    ``{name}`` is replaced by ``fields[name]``; ``{{`` and ``}}`` are literal braces. Format
    specs and conversions are refused, as is any name not in ``fields`` (the message lists the
    allowed names). ``what`` names the field for error messages.
    """
    parts: list[str | GroovyExpr | GString] = []
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ModelError(
            f"{what}: {exc} in {template!r} (write '{{{{' for a literal brace)"
        ) from None
    allowed = ", ".join("{" + name + "}" for name in fields)
    for literal, name, spec, conversion in parsed:
        parts.append(literal)
        if name is None:
            continue
        if name not in fields or spec or conversion:
            raise ModelError(
                f"{what}: unknown placeholder {{{name}}} in {template!r}; allowed: {allowed}"
            )
        parts.append(fields[name])
    return GString(*parts)
