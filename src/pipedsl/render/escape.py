"""One escaping function per language boundary.

Each function turns a Python string into source text of the target language that, once that
language reads it, yields exactly the original string. They return marker types (``GroovyCode``)
so that templates can refuse any value that did not go through one of them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import yaml

__all__ = [
    "GroovyCode",
    "groovy_gstring_part",
    "groovy_str",
    "sh_quote",
    "yaml_comment",
    "yaml_document",
]


class GroovyCode(str):
    """Groovy source text that is safe to emit as-is (produced by an escaping function or
    taken from a trusted :class:`~pipedsl.model.values.GroovyExpr`)."""

    __slots__ = ()


def _char_escape(ch: str) -> str:
    return f"\\u{ord(ch):04x}"


_COMMON = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}

# Groovy 2.4 decodes \uXXXX before it lexes and takes U+FFFF for the end of the file, raw or as
# \uffff. An escaped backslash followed by "uffff" reaches the string lexer as the escape
# \uffff instead, which it reads as the character.
_UFFFF = "\\u005cuffff"

# Characters Groovy would not read back verbatim inside a string literal are written as \uXXXX:
# control characters, DEL, lone UTF-16 surrogates (which cannot even be written to a UTF-8
# file), and U+E000, which the Jenkinsfile writer uses as an internal mark.
_BASE_TABLE: dict[int, str] = {
    **{code: _char_escape(chr(code)) for code in [*range(0x20), 0x7F, *range(0xD800, 0xE001)]},
    **{ord(k): v for k, v in _COMMON.items()},
    0xFFFF: _UFFFF,
}


class _Escaper:
    """Escapes for one kind of Groovy literal: the base table plus that literal's specials.
    Built on first use (the table is large), then shared."""

    def __init__(self, specials: dict[str, str]) -> None:
        self.specials = specials
        self.table: dict[int, str] | None = None
        self.needed: re.Pattern[str] | None = None

    def __call__(self, value: str) -> str:
        if self.needed is None or self.table is None:
            self.table = {**_BASE_TABLE, **{ord(k): v for k, v in self.specials.items()}}
            self.needed = re.compile(_char_class(sorted(self.table)))
        # Most values need no escape at all: one search finds that out faster than translate.
        return value.translate(self.table) if self.needed.search(value) else value


def _char_class(codes: list[int]) -> str:
    """A regular expression character class of ``codes`` (sorted), written as ranges."""
    ranges: list[list[int]] = []
    for code in codes:
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1][1] = code
        else:
            ranges.append([code, code])
    parts = (
        re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}"
        for a, b in ranges
    )
    return "[" + "".join(parts) + "]"


_escape_triple = _Escaper({})
_escape_single = _Escaper({"'": "\\'"})
_escape_gstring = _Escaper({'"': '\\"', "$": "\\$"})


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
        body = _triple_quote_safe("\n".join(_escape_triple(line) for line in lines))
        # The backslash after the opening quotes swallows the first newline, so the script's
        # first line starts at column zero of the next line.
        return GroovyCode("'''\\\n" + body + "'''")
    return GroovyCode("'" + _escape_single(value) + "'")


def _triple_quote_safe(body: str) -> str:
    # Inside a triple-quoted literal a lone quote is literal; only a quote followed by another,
    # or one ending the text, could close the string, so only those are escaped. Scripts stay
    # readable (``printf '%s'``) and no run of three unescaped quotes can occur.
    return _CLOSING_QUOTE.sub(r"\\'", body)


_CLOSING_QUOTE = re.compile(r"'(?='|\Z)")


def groovy_gstring_part(value: str) -> str:
    """The literal text ``value`` escaped for use inside a double-quoted Groovy GString.

    Only a fragment: :func:`pipedsl.render.groovy.gstring` assembles whole GStrings from literal
    fragments and trusted ``${...}`` expressions.
    """
    return _escape_gstring(value)


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


# Plain scalars that some YAML reader would not read back as a string: YAML 1.1 booleans
# (PyYAML; Go's yaml.v2, which kubectl uses, also reads y/n), null, merge/value keys, and
# anything that starts like a number (``0123``, ``1e3``, ``.5``, ``+1``, ``1_000``, ``12:30``,
# ``.inf``). Quoting more than needed is harmless; quoting less changes data.
_YAML_WORDS = frozenset(
    {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~", "=", "<<"}
    | {".inf", "-.inf", "+.inf", ".nan"}
)
_YAML_NUMBERISH = re.compile(r"[-+]?\.?[0-9]")
# Characters a quoted or block scalar could not carry verbatim (YAML folds NEL and the Unicode
# line separators, normalises CR): such strings are double-quoted, where they are escaped.
_YAML_ESCAPE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff\ud800-\udfff]")


def yaml_scalar_style(value: str) -> str | None:
    """How a string is written so that every YAML reader reads it back as that string:
    double-quoted where it holds characters only escapes can carry, a literal block (``|``)
    when multi-line, single-quoted where a plain scalar would read as something else, else
    plain (``None``)."""
    if _YAML_ESCAPE.search(value):
        return '"'
    if "\n" in value:
        return "|"
    if value == "" or value.lower() in _YAML_WORDS or _YAML_NUMBERISH.match(value):
        return "'"
    return None


def yaml_comment(text: str) -> str:
    """``#`` comment lines saying ``text``. Everything YAML (or a person) could take for the end
    of a line — CR, NEL, U+2028/9 — and other control characters are spelled ``U+XXXX``, so
    the comment cannot end early and inject YAML."""
    lines = text.split("\n")
    safe = [
        re.sub(
            "[\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff\ud800-\udfff]",
            lambda m: f"U+{ord(m.group()):04X}",
            line,
        )
        for line in lines
    ]
    return "".join(f"# {line}".rstrip() + "\n" for line in safe)


# Documents are built as PyYAML nodes here (what PyYAML's representer would build for these
# types, without its generic dispatch and alias bookkeeping, which cost more than emitting) and
# emitted by libyaml, PyYAML's C emitter, where it is installed and writes the same text as the
# Python emitter, about five times faster. The two judge a few things differently: libyaml
# escapes characters outside the Basic Multilingual Plane, cannot encode surrogates, measures
# the 128-character limit of a simple key in bytes, writes an empty key without ``?``, and ends
# a document whose block scalar keeps its trailing line breaks (``|+``) with ``...``. A document
# with any of those goes through the Python emitter; property tests hold both paths to the text
# of PyYAML's own ``yaml.dump``.
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_FLOATS = yaml.representer.SafeRepresenter()
_SCALARS: dict[type, tuple[str, Any]] = {
    bool: ("tag:yaml.org,2002:bool", lambda v: "true" if v else "false"),
    int: ("tag:yaml.org,2002:int", str),
    # Written as PyYAML writes it (``0.5``, ``1.0e+20``): a custom object's number.
    float: ("tag:yaml.org,2002:float", lambda v: _FLOATS.represent_float(v).value),
    type(None): ("tag:yaml.org,2002:null", lambda v: "null"),
}

_SCALAR_NODE = yaml.ScalarNode
_MAPPING_NODE = yaml.MappingNode
_SEQUENCE_NODE = yaml.SequenceNode
_PLAIN_TAGS: dict[str, str] = {}
_REMEMBERED = 100_000


def _resolve(self: Any, kind: type, value: Any, implicit: Any) -> str:
    # Both emitters ask the (pure-Python) resolver about every node they write, and twice about
    # a scalar: which tag its text has written plain (``implicit[0]``), and quoted. Neither
    # dumper has path resolvers, so only a plain text's tag depends on anything: the same keys
    # and values recur in every manifest, and each is resolved once.
    if kind is _SCALAR_NODE:
        if not implicit[0]:
            return _STR  # the resolver's default scalar tag
        tag = _PLAIN_TAGS.get(value)
        if tag is None:
            tag = yaml.resolver.BaseResolver.resolve(self, kind, value, implicit)  # type: ignore[no-untyped-call]
            if len(_PLAIN_TAGS) < _REMEMBERED:
                _PLAIN_TAGS[value] = tag
        return tag
    return _MAP if kind is _MAPPING_NODE else _SEQ  # the resolver's defaults


class _PyDumper(yaml.SafeDumper):
    resolve = _resolve


Dumper = type[yaml.SafeDumper] | type[yaml.CSafeDumper]
_CDumper: Dumper | None = None
if getattr(yaml, "__with_libyaml__", False):

    class _CSafeDumper(yaml.CSafeDumper):
        resolve = _resolve

    _CDumper = _CSafeDumper


# Per distinct string (they recur across manifests): its style, and whether libyaml writes it
# alike as a value and as a key.
_STRINGS: dict[str, tuple[str | None, bool, bool]] = {}


def _string_facts(value: str) -> tuple[str | None, bool, bool]:
    facts = _STRINGS.get(value)
    if facts is None:
        style = yaml_scalar_style(value)
        # Double quotes are chosen exactly for the characters libyaml escapes differently.
        alike = not (
            style == '"' or value == "\n" or value.endswith("\n\n") or _ASTRAL.search(value)
        )
        alike_key = alike and 0 < len(value.encode()) <= 120 and "\n" not in value
        facts = (style, alike, alike_key)
        if len(_STRINGS) >= _REMEMBERED:
            _STRINGS.clear()
        _STRINGS[value] = facts
    return facts


class _Builder:
    """Turns plain data into a node tree, noting whether libyaml would write it alike."""

    def __init__(self) -> None:
        self.alike = True

    def node(self, data: object) -> yaml.Node:
        kind = type(data)
        if kind is str:
            style, alike, _ = _STRINGS.get(data) or _string_facts(data)  # type: ignore[call-overload,arg-type]
            if not alike:
                self.alike = False
            return _SCALAR_NODE(_STR, data, None, None, style)
        if kind is dict:
            node = self.node
            strings = _STRINGS
            items: list[tuple[yaml.Node, yaml.Node]] = []
            append = items.append
            for key, value in data.items():  # type: ignore[attr-defined]
                key_node: yaml.Node
                if type(key) is str:
                    style, _, alike = strings.get(key) or _string_facts(key)
                    if not alike:
                        self.alike = False
                    key_node = _SCALAR_NODE(_STR, key, None, None, style)
                else:
                    key_node = node(key)
                if type(value) is str:
                    style, alike, _ = strings.get(value) or _string_facts(value)
                    if not alike:
                        self.alike = False
                    append((key_node, _SCALAR_NODE(_STR, value, None, None, style)))
                else:
                    append((key_node, node(value)))
            return _MAPPING_NODE(_MAP, items, None, None, False)
        if kind is list:
            return _SEQUENCE_NODE(_SEQ, list(map(self.node, data)), None, None, False)  # type: ignore[call-overload]
        scalar = _SCALARS.get(kind)
        if scalar is None:
            raise yaml.representer.RepresenterError("cannot represent an object", data)
        tag, text = scalar
        return _SCALAR_NODE(tag, text(data))


def _nodes(data: Mapping[str, Any]) -> tuple[yaml.Node, bool]:
    builder = _Builder()
    node = builder.node(data if type(data) is dict else dict(data))
    return node, builder.alike


def yaml_emitter(data: Mapping[str, Any]) -> Dumper:
    """The emitter :func:`yaml_document` writes ``data`` with."""
    return _CDumper if _CDumper is not None and _nodes(data)[1] else _PyDumper


def yaml_document(data: Mapping[str, Any], *, dumper: Dumper | None = None) -> str:
    """One YAML document whose data, read back by any YAML reader, is exactly ``data``.

    Keys keep their insertion order; strings that YAML would read as booleans, numbers or null
    (``yes``, ``on``, ``0123``, ``1e3``, ``null``, ``~``) are quoted; multi-line strings are
    literal blocks (``|``) so that embedded files stay readable. Only ``dict``, ``list``,
    ``str``, ``int``, ``float`` (finite: a custom object's), ``bool`` and ``None`` are
    accepted. ``dumper`` (for tests) forces an emitter; by default libyaml writes the document
    where it writes it alike (see above).

    >>> yaml_document({"data": {"ENABLED": "yes", "PORT": "8080"}})
    "data:\\n  ENABLED: 'yes'\\n  PORT: '8080'\\n"
    """
    node, alike = _nodes(data)
    if dumper is None:
        dumper = _CDumper if _CDumper is not None and alike else _PyDumper
    text: str = yaml.serialize(
        node, Dumper=dumper, allow_unicode=True, width=1_000_000, explicit_start=False
    )
    return text
