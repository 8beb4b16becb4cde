"""Values that reach a Jenkinsfile: trusted Groovy expressions and interpolated strings.

Plain ``str`` values are always emitted as string literals (escaped). A :class:`GroovyExpr` is the
one way to emit Groovy code as-is, like troposphere's helper functions: use it for expressions
such as ``env.BUILD_NUMBER``, never for secrets.
"""

from __future__ import annotations

import string
from collections.abc import Mapping

import attrs

from pipedsl.errors import ModelError
from pipedsl.model import _checks


@attrs.frozen(cache_hash=True)
class GroovyExpr:
    """A Groovy expression emitted verbatim, e.g. ``GroovyExpr("env.BUILD_NUMBER")``."""

    code: str = attrs.field(validator=_checks.text(multiline=False))


def _parts(value: object) -> tuple[str | GroovyExpr, ...]:
    parts = _checks.to_tuple(value)
    if not isinstance(parts, tuple):
        return (parts,)  # type: ignore[return-value]  # the validator reports the bad type
    merged: list[str | GroovyExpr] = []
    for part in parts:
        if isinstance(part, GString):
            merged.extend(part.parts)
        elif merged and isinstance(part, str) and isinstance(merged[-1], str):
            merged[-1] = merged[-1] + part
        else:
            merged.append(part)
    return tuple(p for p in merged if p != "")


@attrs.frozen(init=False)
class GString:
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
