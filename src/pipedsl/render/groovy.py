"""Model values to Groovy source text."""

from __future__ import annotations

import re

from pipedsl.errors import RenderError
from pipedsl.model.values import GroovyExpr, GString
from pipedsl.render.escape import GroovyCode, groovy_gstring_part, groovy_str

# Continuation lines of a multi-line string literal start with this mark while a Jenkinsfile
# is assembled, so that indenting a block never shifts them (which would change the string);
# the finished file has none left. ``groovy_str`` always escapes the character itself.
NO_INDENT = "\ue000"

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def gstring(value: GString) -> GroovyCode:
    """A double-quoted GString: literal parts escaped, expressions as ``${...}``."""
    out = []
    for part in value.parts:
        if isinstance(part, GroovyExpr):
            out.append("${" + part.code + "}")
        else:
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
    return GroovyCode(
        "\n".join(
            line if line.startswith(NO_INDENT) or not line else pad + line
            for line in code.split("\n")
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
