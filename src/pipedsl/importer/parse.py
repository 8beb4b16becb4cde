"""Groovy text → a small typed tree of a declarative pipeline, read with tree-sitter.

The tree keeps what declarative Jenkins reads: calls (``stage('Build') { ... }``,
``sh 'make'``, ``git branch: 'main', url: '...'``), their positional and named arguments, their
closures, and assignments (``environment { X = 'y' }``). Anything else (``if``, ``def``, loops)
is kept as its source text (:class:`Other`), so that it can become a raw step. Strings are
decoded as Groovy reads them; a double-quoted string is split into its literal parts and its
``${...}``/``$name`` expressions (:class:`GStr`).
"""

from __future__ import annotations

from collections.abc import Iterator

import attrs
import tree_sitter
import tree_sitter_groovy

from pipedsl.importer.report import ImportRefused
from pipedsl.model._groovy import slashy_strings, unbalanced_at
from pipedsl.record import Record

_LANGUAGE = tree_sitter.Language(tree_sitter_groovy.language())
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "0": "\0"}


@attrs.frozen(eq=False, repr=False)
class Str(Record):
    """A string literal without interpolation (``'x'``, ``'''x'''``, or ``"x"`` with no ``$``)."""

    value: str
    quote: str


@attrs.frozen(eq=False, repr=False)
class Expr(Record):
    """A ``${...}`` or ``$name`` inside a double-quoted string, as its Groovy code."""

    code: str


@attrs.frozen(eq=False, repr=False)
class GStr(Record):
    """A double-quoted string with interpolation: literal ``str`` parts and :class:`Expr`."""

    parts: tuple[str | Expr, ...]
    quote: str


@attrs.frozen(eq=False, repr=False)
class Ref(Record):
    """Any other expression, as its source text (``SLACK_CHANNEL``, ``env.X``, ``10``)."""

    code: str


@attrs.frozen(eq=False, repr=False)
class ListV(Record):
    """A list literal ``[a, b]``."""

    items: tuple[Value, ...]


@attrs.frozen(eq=False, repr=False)
class Call(Record):
    """A call: ``name(args, key: value) { body }``; ``body`` is ``None`` without a closure."""

    name: str
    args: tuple[Value, ...]
    named: tuple[tuple[str, Value], ...]
    body: tuple[Statement, ...] | None
    line: int
    text: str

    def arg(self, key: str) -> Value | None:
        """The named argument ``key``, or ``None``."""
        for name, value in self.named:
            if name == key:
                return value
        return None

    def calls(self, name: str) -> list[Call]:
        """The calls called ``name`` directly in the body."""
        return [s for s in self.body or () if isinstance(s, Call) and s.name == name]

    def first(self, name: str) -> Call | None:
        found = self.calls(name)
        return found[0] if found else None


@attrs.frozen(eq=False, repr=False)
class Assign(Record):
    """``NAME = value`` (an ``environment {}`` entry)."""

    name: str
    value: Value
    line: int
    text: str


@attrs.frozen(eq=False, repr=False)
class Other(Record):
    """A statement the declarative subset does not describe, as its source text."""

    text: str
    line: int


Value = Str | GStr | Ref | ListV | Call
Statement = Call | Assign | Other


def parse_jenkinsfile(path: str, text: str) -> Call:
    """The ``pipeline { }`` call of a declarative Jenkinsfile.

    Raises :class:`ImportRefused` (naming ``path`` and the line) for text that does not parse,
    a scripted pipeline (``node { }``) and anything without a top-level ``pipeline { }``.
    Groovy outside the ``pipeline { }`` block (helper methods, imports) is not read.
    """
    source = text.encode("utf-8")
    tree = tree_sitter.Parser(_LANGUAGE).parse(_readable(text).encode("utf-8"))
    reader = _Reader(source)
    for node in _statements(tree.root_node):
        if _is_call(reader, _unwrap(node), "pipeline"):
            _refuse_problem(path, unbalanced_at(text) or _first_problem(node))
            statement = reader.statement(node)
            if isinstance(statement, Call) and statement.body is not None:
                return statement
    _refuse_problem(path, unbalanced_at(text))
    calls = dict(_called(reader, tree.root_node))
    if "pipeline" in calls:
        _refuse_problem(path, _first_problem(tree.root_node))
    for scripted in ("node", "podTemplate"):
        if scripted in calls:
            raise ImportRefused(
                f"{path}:{calls[scripted]}: a scripted pipeline (`{scripted} {{ }}`) cannot "
                "be imported; only declarative pipelines (`pipeline { agent ...; stages { "
                "... } }`) are: rewrite it as one, or describe it in pipedsl directly"
            )
    raise ImportRefused(
        f"{path}:{calls.get('pipeline', 1)}: not a declarative Jenkinsfile (no top-level "
        "`pipeline { }`); only declarative pipelines are imported"
    )


def _refuse_problem(path: str, problem: tuple[int, str] | None) -> None:
    if problem is not None:
        line, what = problem
        raise ImportRefused(
            f"{path}:{line}: cannot parse the Jenkinsfile ({what}); only well-formed "
            "declarative pipelines (`pipeline { ... }`) are imported"
        )


def _unwrap(node: tree_sitter.Node) -> tree_sitter.Node:
    if node.type == "expression_statement" and node.named_child_count == 1:
        inner = node.named_children[0]
        if inner is not None:
            return inner
    return node


def _is_call(reader: _Reader, node: tree_sitter.Node, name: str) -> bool:
    if node.type not in ("method_invocation", "juxt_function_call"):
        return False
    first = node.named_children[0] if node.named_child_count else None
    return first is not None and first.type == "identifier" and reader.text(first) == name


def _called(reader: _Reader, node: tree_sitter.Node) -> Iterator[tuple[str, int]]:
    """Every called name in the tree (``node``, ``pipeline``, ...) and its first line, errors
    included (a ``pipeline`` inside an unparsable region is still one)."""
    found: dict[str, int] = {}
    stack = [node]
    while stack:
        current = stack.pop()
        if current.type == "identifier" and current.parent is not None:
            parent = current.parent
            head = parent.named_children[0] if parent.named_child_count else None
            called = parent.type in ("method_invocation", "juxt_function_call", "ERROR")
            if called and head is not None and head.id == current.id:
                name = reader.text(current)
                found.setdefault(name, current.start_point[0] + 1)
                found[name] = min(found[name], current.start_point[0] + 1)
        stack.extend(current.children)
    yield from found.items()


def _readable(text: str) -> str:
    """``text`` with what the tree-sitter grammar cannot read respelled in as many characters
    (so every offset stays, and the reader takes the text itself from the original): each
    empty single-quoted string ``''`` as ``""``, the Elvis operator ``?:`` as ``||``, and a
    ``return`` that opens a closure (``expression { return x }``, which is ``{ x }``) as
    spaces; a slashy string as a double-quoted one.

    A scan of Groovy's lexical states (as :mod:`pipedsl.model._groovy`'s): ``''`` inside a string or comment, or opening
    ``'''``, is left alone."""
    out = list(text)
    i, n = 0, len(text)
    last = ""  # the last character of code before ``i`` that is not white space
    while i < n:
        if last == "{" and text.startswith("return", i) and text[i + 6 : i + 7] in (" ", "\t"):
            out[i : i + 6] = " " * 6
            i += 6
            continue
        if not text[i].isspace() and text[i] not in "'\"/":
            last = text[i]
        if text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end == -1 else end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end == -1 else end + 2
        elif text.startswith("'''", i) or text.startswith('"""', i):
            end = text.find(text[i : i + 3], i + 3)
            i = n if end == -1 else end + 3
        elif text.startswith("''", i):
            out[i] = out[i + 1] = '"'
            i += 2
        elif text.startswith("?:", i):
            out[i] = out[i + 1] = "|"
            i += 2
        elif text[i] in "'\"":
            quote, i = text[i], i + 1
            while i < n and text[i] != quote and text[i] != "\n":
                i += 2 if text[i] == "\\" else 1
            i += 1
        else:
            i += 1
    _unslash(text, out)
    return "".join(out)


def _unslash(text: str, out: list[str]) -> None:
    """Slashy strings of ``text`` respelled in ``out`` as double-quoted ones of the same
    length (the grammar reads no slashy strings): the delimiters, and a double quote inside
    made a single one."""
    for start, end, quote in slashy_strings(text):
        for j in range(start + len(quote), end - len(quote)):
            if out[j] == '"':
                out[j] = "'"
        out[start : start + len(quote)] = list(" " * (len(quote) - 1) + '"')
        out[end - len(quote) : end] = list('"' + " " * (len(quote) - 1))


def _first_problem(node: tree_sitter.Node) -> tuple[int, str] | None:
    """The first syntax error below ``node``: an ERROR node or a missing token. A missing
    ``;`` is not one: the grammar asks for it where Groovy does not (``{ return x }``)."""
    if not node.has_error and not node.is_missing:
        return None
    if node.type == "ERROR":
        snippet = (node.text or b"").decode("utf-8", "replace").split("\n", 1)[0].strip()[:40]
        return node.start_point[0] + 1, f"unexpected `{snippet}`"
    if node.is_missing and node.type != ";":
        return node.start_point[0] + 1, f"missing `{node.type}`"
    for child in node.children:
        found = _first_problem(child)
        if found is not None:
            return found
    return None


def _statements(node: tree_sitter.Node) -> Iterator[tree_sitter.Node]:
    """The statements directly in a program or closure, comments left out."""
    for child in node.named_children:
        if "comment" in child.type:
            continue
        yield child


class _Reader:
    """Turns tree-sitter nodes into the typed tree, reading text from ``source``."""

    def __init__(self, source: bytes) -> None:
        self.source = source

    def text(self, node: tree_sitter.Node) -> str:
        return self.source[node.start_byte : node.end_byte].decode("utf-8")

    def statement(self, node: tree_sitter.Node) -> Statement:
        line = node.start_point[0] + 1
        if node.type == "expression_statement" and node.named_child_count == 1:
            inner = node.named_children[0]
            assert inner is not None  # noqa: S101  (counted above)
            return self.statement(inner)
        if node.type in ("method_invocation", "juxt_function_call"):
            call = self.call(node)
            if call is not None:
                return call
        if node.type == "local_variable_declaration":
            call = self.word_call(node)
            if call is not None:
                return call
        if node.type == "assignment_expression":
            left, right = node.named_children[0], node.named_children[-1]
            if left is not None and right is not None and left.type == "identifier":
                return Assign(self.text(left), self.value(right), line, self.text(node))
        return Other(self.text(node), line)

    def call(self, node: tree_sitter.Node) -> Call | None:
        """``name(...)``, ``name ...`` or ``name { }``; ``None`` for ``a.b(...)`` and the like."""
        kids = [c for c in node.named_children if "comment" not in c.type]
        if not kids or kids[0].type != "identifier":
            return None
        if any(k.type not in ("argument_list", "closure") for k in kids[1:]):
            return None
        args: list[Value] = []
        named: list[tuple[str, Value]] = []
        body: tuple[Statement, ...] | None = None
        for kid in kids[1:]:
            if kid.type == "closure":
                body = tuple(self.statement(s) for s in _statements(kid))
                continue
            for arg in kid.named_children:
                if "comment" in arg.type:
                    continue
                if arg.type == "map_item":
                    key, value = arg.named_children[0], arg.named_children[-1]
                    assert key is not None  # noqa: S101  (a map item has a key and a value)
                    assert value is not None  # noqa: S101
                    named.append((self.key(key), self.value(value)))
                elif arg.type == "closure":
                    body = tuple(self.statement(s) for s in _statements(arg))
                else:
                    args.append(self.value(arg))
        return Call(
            self.text(kids[0]),
            tuple(args),
            tuple(named),
            body,
            node.start_point[0] + 1,
            self.text(node),
        )

    def word_call(self, node: tree_sitter.Node) -> Call | None:
        """``agent any`` / ``agent none``, which the grammar reads as a declaration."""
        kids = node.named_children
        if len(kids) != 2 or kids[0] is None or kids[1] is None:
            return None
        kind, declarator = kids[0], kids[1]
        if kind.type != "type_identifier" or declarator.named_child_count != 1:
            return None
        word = declarator.named_children[0]
        if word is None or word.type != "identifier":
            return None
        return Call(
            self.text(kind),
            (Ref(self.text(word)),),
            (),
            None,
            node.start_point[0] + 1,
            self.text(node),
        )

    def key(self, node: tree_sitter.Node) -> str:
        value = self.value(node)
        return value.value if isinstance(value, Str) else self.text(node)

    def value(self, node: tree_sitter.Node) -> Value:
        if node.type in ("character_literal", "string_literal"):
            return decode_string(self.text(node))
        if node.type == "array_literal":
            return ListV(tuple(self.value(c) for c in node.named_children if c is not None))
        if node.type in ("method_invocation", "juxt_function_call"):
            call = self.call(node)
            if call is not None:
                return call
        return Ref(self.text(node))


def decode_string(literal: str) -> Str | GStr:
    """A Groovy string literal as Groovy reads it: escapes decoded, and a double-quoted one
    split into literal parts and ``${...}``/``$name`` expressions."""
    for quote in ("'''", '"""', "'", '"'):
        if literal.startswith(quote) and literal.endswith(quote) and len(literal) >= 2 * len(quote):
            body = literal[len(quote) : len(literal) - len(quote)]
            break
    else:
        return Str(literal, "")
    if quote.startswith("'"):
        return Str(_unescape(body), quote)
    parts = _interpolation(body)
    if all(isinstance(p, str) for p in parts):
        return Str("".join(p for p in parts if isinstance(p, str)), quote)
    return GStr(parts, quote)


def _unescape(body: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(body):
        char = body[i]
        if char == "\\" and i + 1 < len(body):
            following = body[i + 1]
            if following == "\n":
                i += 2  # a line continuation
                continue
            out.append(_ESCAPES.get(following, following))
            i += 2
            continue
        out.append(char)
        i += 1
    return "".join(out)


def _interpolation(body: str) -> tuple[str | Expr, ...]:
    """Split a double-quoted string's body into literal text and expressions."""
    parts: list[str | Expr] = []
    literal: list[str] = []
    i = 0
    while i < len(body):
        char = body[i]
        if char == "\\" and i + 1 < len(body):
            literal.append(_unescape(body[i : i + 2]))
            i += 2
            continue
        if char == "$" and body[i + 1 : i + 2] == "{":
            depth, j = 1, i + 2
            while j < len(body) and depth:
                depth += {"{": 1, "}": -1}.get(body[j], 0)
                j += 1
            parts += ["".join(literal), Expr(body[i + 2 : j - 1].strip())]
            literal = []
            i = j
            continue
        if char == "$" and (body[i + 1 : i + 2].isalpha() or body[i + 1 : i + 2] == "_"):
            j = i + 1
            while j < len(body) and (body[j].isalnum() or body[j] in "_."):
                j += 1
            name = body[i + 1 : j].rstrip(".")
            parts += ["".join(literal), Expr(name)]
            literal = []
            i += 1 + len(name)
            continue
        literal.append(char)
        i += 1
    parts.append("".join(literal))
    return tuple(p for p in parts if p != "")
