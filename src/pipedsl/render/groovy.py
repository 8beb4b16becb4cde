"""Model values to Groovy source text."""

from __future__ import annotations

import re
from collections.abc import Iterator

from pipedsl.errors import ModelError, Problem, RenderError
from pipedsl.model.steps import Step
from pipedsl.model.values import GroovyExpr, GString, model_parts
from pipedsl.render import lower
from pipedsl.render.escape import GroovyCode, groovy_gstring_part, groovy_str

# Continuation lines of a multi-line string literal start with this mark while a Jenkinsfile
# is assembled, so that indenting a block never shifts them (which would change the string);
# the finished file has none left. ``groovy_str`` always escapes the character itself.
NO_INDENT = "\ue000"

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

MAX_STRING_BYTES = 65_535
"""The longest string constant a Groovy class can hold, in bytes of the class file's modified
UTF-8: each of a GString's literal parts and each plain literal counts on its own. Groovy
refuses a longer one ("String too long", "UTF8 string too large")."""

# Modified UTF-8 is UTF-8 but for NUL (two bytes, not one) and characters outside the Basic
# Multilingual Plane (a surrogate pair of three bytes each: six, not four).
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


def string_bytes(value: str) -> int:
    """The size of ``value`` as a Groovy string constant: bytes of modified UTF-8."""
    if value.isascii():
        return len(value) + value.count("\x00")
    utf8 = len(value.encode("utf-8", "surrogatepass"))
    return utf8 + value.count("\x00") + 2 * len(_ASTRAL.findall(value))


def _too_long(value: str) -> str | None:
    """Why ``value`` cannot be one Groovy string constant, or ``None``."""
    # At most six bytes a character (one outside the Basic Multilingual Plane).
    if len(value) <= MAX_STRING_BYTES // 6:
        return None
    size = string_bytes(value)
    if size <= MAX_STRING_BYTES:
        return None
    return (
        f"is {size:,} bytes as a Groovy string (modified UTF-8); Groovy takes at most "
        f"{MAX_STRING_BYTES:,} in one string: keep long texts in a file in the repository"
    )


def _fits(value: str) -> None:
    # The last check before a literal is written: oversized_strings names the field first.
    problem = _too_long(value)
    if problem is not None:
        raise RenderError(f"the string {value[:40]!r}... {problem}")


def oversized_strings(value: object, path: str) -> list[Problem]:
    """Every string of ``value`` (a resolved pipeline) that Groovy could not hold as one string
    constant, with its object path: literals and each literal part of a GString, tool steps
    as the primitive steps they become."""
    return [Problem(where, message) for where, message in _oversized(value, path)]


# Steps repeat across stages and components: each distinct one is checked once.
_STEP_PROBLEMS: dict[Step, tuple[tuple[str, str], ...]] = {}


def _oversized(value: object, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        problem = _too_long(value)
        if problem is not None:
            yield path, problem
    elif isinstance(value, GString):
        literal = "".join(p for p in value.parts if isinstance(p, str))
        parts = (literal,) if value.is_literal else value.parts
        for part in parts:
            if isinstance(part, str) and (problem := _too_long(part)) is not None:
                yield path, f"has a literal part that {problem}"
    elif isinstance(value, Step):
        found = _STEP_PROBLEMS.get(value)
        if found is None:
            if len(_STEP_PROBLEMS) > 100_000:
                _STEP_PROBLEMS.clear()
            found = _STEP_PROBLEMS[value] = tuple(_step_oversized(value))
        for suffix, message in found:
            yield path + suffix, message
    else:
        for suffix, inner, _ in model_parts(value):
            yield from _oversized(inner, path + suffix)


def _step_oversized(step: Step) -> Iterator[tuple[str, str]]:
    """``(path suffix, problem)`` of a step, as the primitive step it is written as."""
    name = type(step).__name__
    try:
        primitive = lower.lower(step)
    except ModelError as exc:  # a value built from the step's own is out of bounds
        yield "", f"this {name} step does not fit in the step it becomes: {exc}"
        return
    if primitive is step:
        for suffix, inner, _ in model_parts(step):
            yield from _oversized(inner, suffix)
        return
    for suffix, problem in _oversized(primitive, ""):
        yield "", f"this {name} step becomes {type(primitive).__name__}{suffix}, which {problem}"


def gstring(value: GString) -> GroovyCode:
    """A double-quoted GString: literal parts escaped, expressions as ``${...}``."""
    out = []
    for part in value.parts:
        if isinstance(part, GroovyExpr):
            out.append("${" + part.code + "}")
        else:
            _fits(part)
            out.append(groovy_gstring_part(part))
    return GroovyCode('"' + "".join(out) + '"')


def groovy_value(value: object) -> GroovyCode:
    """The Groovy source for a model value: a literal for ``str``, ``int`` and ``bool``, the
    expression itself for :class:`GroovyExpr`, an interpolated string for :class:`GString`."""
    if isinstance(value, GroovyCode):
        return value
    if isinstance(value, bool):
        return GroovyCode("true" if value else "false")
    if isinstance(value, int):
        return GroovyCode(str(value))
    if isinstance(value, str):
        _fits(value)
        return _mark_continuations(groovy_str(value))
    if isinstance(value, GroovyExpr):
        return GroovyCode(value.code)
    if isinstance(value, GString):
        if value.is_literal:
            return groovy_value("".join(p for p in value.parts if isinstance(p, str)))
        return gstring(value)
    raise RenderError(f"cannot write {type(value).__name__} {value!r:.60} as Groovy")


def environment_value(value: object) -> GroovyCode:
    """A value for declarative ``environment {}`` (and ``when { environment }``), which takes
    only string literals and GStrings: a bare expression is written as ``"${expr}"``."""
    if isinstance(value, GroovyExpr):
        return gstring(GString(value))
    return groovy_value(value)


def _mark_continuations(code: GroovyCode) -> GroovyCode:
    if "\n" not in code:
        return code
    first, *rest = code.split("\n")
    return GroovyCode("\n".join([first, *(NO_INDENT + line for line in rest)]))


def identifier(value: object) -> GroovyCode:
    """A bare Groovy identifier (variable names, tool types, post conditions)."""
    if not isinstance(value, str) or not _IDENT.fullmatch(value):
        raise RenderError(f"{value!r} is not a Groovy identifier")
    return GroovyCode(value)


def indent(code: str, width: int) -> GroovyCode:
    """Indent every line of ``code`` by ``width`` spaces, except continuation lines of
    multi-line string literals, which must keep their exact content. Only code that is already
    Groovy (escaped) can be indented: the filter must not be a way around escaping."""
    if not isinstance(code, GroovyCode):
        raise RenderError(
            f"indent takes Groovy code, got an unescaped {type(code).__name__} {code!r:.60}; "
            "pass it through |groovy first"
        )
    pad = " " * width
    if code and "\n\n" not in code and code[0] != "\n" and code[-1] != "\n":
        # No empty line: every line is padded (most blocks; a search for line starts costs far
        # more than a replace), then the pad taken off again where a continuation line starts
        # (each line break is followed by exactly one pad).
        padded = code.replace("\n", "\n" + pad)
        if NO_INDENT in code:
            padded = padded.replace("\n" + pad + NO_INDENT, "\n" + NO_INDENT)
        return GroovyCode(padded if code[0] == NO_INDENT else pad + padded)
    # Line by line (a multi-line regular expression for line starts tries every position).
    return GroovyCode(
        "\n".join(
            pad + line if line and line[0] != NO_INDENT else line for line in code.split("\n")
        )
    )


def raw(code: object) -> GroovyCode:
    """The code of a raw :class:`~pipedsl.model.steps.Groovy` step, as written."""
    if not isinstance(code, str):
        raise RenderError(f"raw Groovy must be a str, got {code!r:.60}")
    # Written as given: its lines after the first keep their own indentation (a heredoc or a
    # multi-line string in it must not be shifted).
    first, *rest = code.split("\n")
    return GroovyCode("\n".join([first, *(NO_INDENT + line for line in rest)]))


def comment(text: object) -> GroovyCode:
    """``//`` comment lines saying ``text``.

    Groovy 2.4 decodes ``\\uXXXX`` everywhere before it lexes, comments included, so a
    backslash is doubled (``\\\\u`` is not decoded) and characters that could end the line or
    the file (control characters, U+2028/9, U+FFFF, surrogates) are written as ``U+XXXX`` text.
    """
    if not isinstance(text, str):
        raise RenderError(f"comment text must be a str, got {text!r:.60}")
    safe = [
        re.sub(
            r"[\x00-\x1f\x7f\u2028\u2029\ue000\ud800-\udfff\uffff]",
            lambda m: f"U+{ord(m.group()):04X}",
            line.replace("\\", "\\\\"),
        )
        for line in text.split("\n")
    ]
    return GroovyCode("\n".join(f"// {line}".rstrip() for line in safe))


def finish(text: str) -> str:
    """The final file text: marks removed, one trailing newline, LF line endings."""
    return text.replace(NO_INDENT, "").rstrip("\n") + "\n"
