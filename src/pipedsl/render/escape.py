"""One escaping function per language boundary.

Each function turns a Python string into source text of the target language that, once that
language reads it, yields exactly the original string. They return marker types (``GroovyCode``)
so that templates can refuse any value that did not go through one of them.
"""

from __future__ import annotations

import re

__all__ = ["GroovyCode", "groovy_gstring_part", "groovy_str", "sh_quote"]


class GroovyCode(str):
    """Groovy source text that is safe to emit as-is (produced by an escaping function or
    taken from a trusted :class:`~pipedsl.model.values.GroovyExpr`)."""

    __slots__ = ()


def _char_escape(ch: str) -> str:
    return f"\\u{ord(ch):04x}"


# Characters Groovy would not read back verbatim inside a string literal: control characters,
# DEL, lone UTF-16 surrogates (which cannot even be written to a UTF-8 file), and U+E000, which
# the Jenkinsfile writer uses as an internal mark.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f\ud800-\udfff\ue000]")

_COMMON = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(value: str, specials: dict[str, str]) -> str:
    table = {**_COMMON, **specials}
    out = []
    for ch in value:
        if ch in table:
            out.append(table[ch])
        elif _UNPRINTABLE.match(ch):
            out.append(_char_escape(ch))
        else:
            out.append(ch)
    return "".join(out)


def groovy_str(value: str) -> GroovyCode:
    """A Groovy string literal whose value is ``value``, never interpolated.

    Single-line values become ``'...'``; values with newlines become ``'''...'''`` so that shell
    scripts stay readable in the Jenkinsfile. Quotes, backslashes and control characters are
    escaped; ``$`` needs no escape because single-quoted Groovy strings do not interpolate.

    >>> groovy_str("it's $HOME")
    "'it\\\\'s $HOME'"
    """
    if "\n" in value:
        lines = value.split("\n")
        body = _triple_quote_safe("\n".join(_escape(line, {}) for line in lines))
        # The backslash after the opening quotes swallows the first newline, so the script's
        # first line starts at column zero of the next line.
        return GroovyCode("'''\\\n" + body + "'''")
    return GroovyCode("'" + _escape(value, {"'": "\\'"}) + "'")


def _triple_quote_safe(body: str) -> str:
    # Inside a triple-quoted literal a lone quote is literal; only a quote followed by another,
    # or one ending the text, could close the string, so only those are escaped. Scripts stay
    # readable (``printf '%s'``) and no run of three unescaped quotes can occur.
    out = []
    for index, ch in enumerate(body):
        if ch == "'" and (index + 1 == len(body) or body[index + 1] == "'"):
            out.append("\\'")
        else:
            out.append(ch)
    return "".join(out)


def groovy_gstring_part(value: str) -> str:
    """The literal text ``value`` escaped for use inside a double-quoted Groovy GString.

    Only a fragment: :func:`pipedsl.render.groovy.gstring` assembles whole GStrings from literal
    fragments and trusted ``${...}`` expressions.
    """
    return _escape(value, {'"': '\\"', "$": "\\$"})


_SH_SAFE = re.compile(r"[A-Za-z0-9_@%+=:,./-]+")


def sh_quote(value: str) -> str:
    """A POSIX shell word that the shell reads back as exactly ``value``.

    Safe words are left bare for readability; anything else is single-quoted, with embedded
    single quotes written as ``'\\''``. NUL cannot be passed to a shell command at all.
    """
    if "\x00" in value:
        raise ValueError("a shell argument cannot contain a NUL character")
    if _SH_SAFE.fullmatch(value):
        return value
    return "'" + value.replace("'", "'\\''") + "'"
