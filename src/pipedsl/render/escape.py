"""One escaping function per language boundary.

Each function turns a Python string into source text of the target language that, once that
language reads it, yields exactly the original string. They return marker types (``GroovyCode``)
so that templates can refuse any value that did not go through one of them.
"""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Callable, Mapping
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


# Documents are emitted by libyaml, PyYAML's C emitter, where it is installed and writes the
# same text as the Python emitter, several times faster; what either is given is built here
# (what PyYAML's representer and serializer would build for these types, without their generic
# dispatch and alias bookkeeping, which cost more than emitting). The two judge a few things
# differently: libyaml escapes characters outside the Basic Multilingual Plane, cannot encode
# surrogates, measures the 128-character limit of a simple key in bytes, writes an empty key
# without ``?``, and ends a document whose block scalar keeps its trailing line breaks (``|+``)
# with ``...``. A document with any of those goes through the Python emitter; property tests
# hold both paths to the text of PyYAML's own ``yaml.dump``.
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
# The resolver PyYAML's dumpers start from (its implicit resolvers are its class's): the tags
# of plain texts, for both emitters alike, whatever a project file registers on a dumper.
_RESOLVER = yaml.resolver.Resolver()


def _plain_tag(text: str) -> str:
    """The tag a YAML reader gives ``text`` written plain."""
    tag = _PLAIN_TAGS.get(text)
    if tag is None:
        tag = _RESOLVER.resolve(_SCALAR_NODE, text, (True, False))  # type: ignore[no-untyped-call]
        if len(_PLAIN_TAGS) < _REMEMBERED:
            _PLAIN_TAGS[text] = tag
    return tag


def _resolve(self: Any, kind: type, value: Any, implicit: Any) -> str:
    # Both emitters ask the (pure-Python) resolver about every node they write, and twice about
    # a scalar: which tag its text has written plain (``implicit[0]``), and quoted. Neither
    # dumper has path resolvers, so only a plain text's tag depends on anything: the same keys
    # and values recur in every manifest, and each is resolved once.
    if kind is _SCALAR_NODE:
        return _plain_tag(value) if implicit[0] else _STR  # (the resolver's default tag)
    return _MAP if kind is _MAPPING_NODE else _SEQ  # the resolver's defaults


class _PyDumper(yaml.SafeDumper):
    resolve = _resolve


Dumper = type[yaml.SafeDumper] | type[yaml.CSafeDumper]
_CDumper: Dumper | None = None
if getattr(yaml, "__with_libyaml__", False):

    class _CSafeDumper(yaml.CSafeDumper):
        resolve = _resolve

    _CDumper = _CSafeDumper


# Per distinct string (they recur across manifests): its style, whether libyaml writes it
# alike as a value and as a key, and its event's implicit flags (see _emit_document). Plain
# values only: the collector need not walk them.
_STRINGS: dict[str, tuple[str | None, bool, bool, tuple[bool, bool]]] = {}


def _string_facts(value: str) -> tuple[str | None, bool, bool, tuple[bool, bool]]:
    facts = _STRINGS.get(value)
    if facts is None:
        style = yaml_scalar_style(value)
        # Double quotes are chosen exactly for the characters libyaml escapes differently.
        alike = not (
            style == '"' or value == "\n" or value.endswith("\n\n") or _ASTRAL.search(value)
        )
        alike_key = alike and 0 < len(value.encode()) <= 120 and "\n" not in value
        facts = (style, alike, alike_key, _implicit(_STR, value))
        if len(_STRINGS) >= _REMEMBERED:
            _STRINGS.clear()
        _STRINGS[value] = facts
    return facts


def _implicit(tag: str, text: str) -> tuple[bool, bool]:
    """A scalar event's implicit flags, as a serializer sets them: whether the tag may be left
    out when the text is written plain, and when quoted (only a string's)."""
    return (_plain_tag(text) == tag, tag == _STR)


def _node(data: object) -> yaml.Node:
    """The node tree of ``data``, for an emitter to serialize."""
    kind = type(data)
    if kind is str:
        style = (_STRINGS.get(data) or _string_facts(data))[0]  # type: ignore[call-overload,arg-type]
        return _SCALAR_NODE(_STR, data, None, None, style)
    if kind is dict:
        items = [(_node(key), _node(value)) for key, value in data.items()]  # type: ignore[attr-defined]
        return _MAPPING_NODE(_MAP, items, None, None, False)
    if kind is list:
        return _SEQUENCE_NODE(_SEQ, list(map(_node, data)), None, None, False)  # type: ignore[call-overload]
    scalar = _SCALARS.get(kind)
    if scalar is None:
        raise yaml.representer.RepresenterError("cannot represent an object", data)
    tag, text = scalar
    return _SCALAR_NODE(tag, text(data))


# libyaml is handed a document as the events PyYAML's serializer would make of its node tree,
# not as the tree: serializing nodes, libyaml calls back into Python's resolver three or four
# times per node, which cost more than the emitting. libyaml copies an event as it is handed
# it, so one scalar event is filled in for each scalar in turn, and the collections' events are
# made once: nothing is left for the collector. The Python emitter is handed the node tree.
_MAPPING_START = yaml.MappingStartEvent(None, _MAP, True, flow_style=False)
_MAPPING_END = yaml.MappingEndEvent()
_SEQUENCE_START = yaml.SequenceStartEvent(None, _SEQ, True, flow_style=False)
_SEQUENCE_END = yaml.SequenceEndEvent()
_DOCUMENT_START = (yaml.StreamStartEvent(), yaml.DocumentStartEvent(explicit=False))
_DOCUMENT_END = (yaml.DocumentEndEvent(), yaml.StreamEndEvent())


class _NotAlike(Exception):  # noqa: N818  (a signal, not an error)
    """libyaml would not write the document as the Python emitter does."""


def _emit_document(data: Mapping[str, Any], emit: Callable[[yaml.Event], object]) -> None:
    """Hand ``emit`` the events of a document holding ``data``, each as a serializer would;
    raises :class:`_NotAlike` where libyaml would write it otherwise than the Python emitter
    (see above), before handing it the scalar concerned. A scalar event is handed over only for
    the time of the call: it is the same object each time, filled in anew."""
    for start in _DOCUMENT_START:
        emit(start)
    _Events(emit).add(data if type(data) is dict else dict(data))
    for end in _DOCUMENT_END:
        emit(end)


class _Events:
    """Hands an emitter the events of a node and the nodes below it (a class, not a nested
    function calling itself, which would leave a reference cycle for the collector)."""

    __slots__ = ("emit", "other", "string")

    def __init__(self, emit: Callable[[yaml.Event], object]) -> None:
        self.emit = emit
        self.string = yaml.ScalarEvent(None, _STR, (True, True), "")
        self.other = yaml.ScalarEvent(None, _STR, (True, False), "")

    def add(self, item: Any) -> None:
        kind = type(item)
        emit, string, strings = self.emit, self.string, _STRINGS
        if kind is str:
            style, alike, _, implicit = strings.get(item) or _string_facts(item)
            if not alike:
                raise _NotAlike
            string.value, string.style, string.implicit = item, style, implicit
            emit(string)
        elif kind is dict:
            emit(_MAPPING_START)
            for key, value in item.items():
                if type(key) is str:
                    style, _, alike, implicit = strings.get(key) or _string_facts(key)
                    if not alike:
                        raise _NotAlike
                    string.value, string.style, string.implicit = key, style, implicit
                    emit(string)
                else:
                    scalar = _SCALARS.get(type(key))
                    if scalar is not None and len(scalar[1](key)) > 120:
                        # The Python emitter counts a key's tag (``!!int``) against the
                        # 128-character limit of a simple key; libyaml does not.
                        raise _NotAlike
                    self.add(key)
                self.add(value)
            emit(_MAPPING_END)
        elif kind is list:
            emit(_SEQUENCE_START)
            for value in item:
                self.add(value)
            emit(_SEQUENCE_END)
        else:
            scalar = _SCALARS.get(kind)
            if scalar is None:
                raise yaml.representer.RepresenterError("cannot represent an object", item)
            tag, text = scalar
            other = self.other
            other.tag, other.value = tag, text(item)
            other.implicit = _implicit(tag, other.value)
            emit(other)


def _libyaml_document(data: Mapping[str, Any], dumper: Dumper) -> str:
    """The document holding ``data``, written by libyaml (``dumper``, a C dumper) from its
    events, as ``yaml.emit`` writes events; raises :class:`_NotAlike` as _emit_document."""
    stream = io.StringIO()
    emitter = dumper(stream, allow_unicode=True, width=1_000_000)
    try:
        _emit_document(data, emitter.emit)
    finally:
        emitter.dispose()
    return stream.getvalue()


def yaml_emitter(data: Mapping[str, Any]) -> Dumper:
    """The emitter :func:`yaml_document` writes ``data`` with."""
    if _CDumper is None:
        return _PyDumper
    try:
        _emit_document(data, lambda event: None)
    except _NotAlike:
        # The walk stopped early: a value that cannot be written is still refused.
        _node(data if type(data) is dict else dict(data))
        return _PyDumper
    return _CDumper


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
    if dumper is None:
        if _CDumper is not None:
            with contextlib.suppress(_NotAlike):
                return _libyaml_document(data, _CDumper)
        dumper = _PyDumper
    node = _node(data if type(data) is dict else dict(data))
    text: str = yaml.serialize(
        node, Dumper=dumper, allow_unicode=True, width=1_000_000, explicit_start=False
    )
    return text
