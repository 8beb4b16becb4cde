"""A check of raw Groovy written into a Jenkinsfile: brackets balanced and strings and comments
closed, so that one unbalanced ``}`` in a :class:`~pipedsl.Groovy` step cannot close the
pipeline's blocks early and change what the rest of the Jenkinsfile means.

The scan reads the code as Groovy's lexer does: ``\\uXXXX`` escapes decoded first (Groovy
decodes them everywhere, so ``\\u007d`` is a ``}`` and ``\\u000a`` ends a ``//`` comment);
comments (``//``, ``/* */``); strings (``'…'``, ``"…"``, triple-quoted, with backslash escapes;
slashy ``/…/`` where an operand may start, and dollar-slashy ``$/…/$``); and the code inside a
GString's ``${…}``.
"""

from __future__ import annotations

import re

_PAIRS = {")": "(", "]": "[", "}": "{"}
_QUOTES = ("'''", '"""', "$/", "'", '"')
_CLOSERS = {"$/": "/$"}
_INTERPOLATING = ('"', '"""', "/", "$/")
_MULTILINE = ("'''", '"""', "/", "$/")
# After these (or at the start), a "/" opens a slashy string; after an operand it divides.
_OPERAND_ENDS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_$)]}'\"")
_KEYWORD_BEFORE = re.compile(r"(?<![\w$])(return|case|in|assert|yield)\s*\Z")
_UNICODE_ESCAPE = re.compile(r"(?<!\\)((?:\\\\)*)\\u+([0-9A-Fa-f]{4})")


def decode_unicode_escapes(code: str) -> str:
    """``code`` as Groovy reads it: every ``\\uXXXX`` (not itself escaped) replaced by its
    character, before anything else is read."""
    return _UNICODE_ESCAPE.sub(lambda m: m.group(1) + chr(int(m.group(2), 16)), code)


class _Scan:
    def __init__(self, code: str) -> None:
        self.code = code
        self.index = 0
        self.last = ""  # the last character of code read (not white space), for "/"
        # Open brackets and strings: (what, where); "${" marks a GString's code.
        self.open: list[tuple[str, int]] = []
        # Strings read: (start, end, opening quote).
        self.spans: list[tuple[int, int, str]] = []

    def where(self, index: int) -> str:
        line = self.code.count("\n", 0, index) + 1
        column = index - (self.code.rfind("\n", 0, index) + 1) + 1
        return f"line {line}, column {column}"

    def problem(self) -> tuple[int, str] | None:
        code = self.code
        while self.index < len(code):
            start = self.index
            found = self._step()
            if found is not None:
                return start, found
        if self.open:
            what, at = self.open[-1]
            shown = "'{' of a GString's ${" if what == "${" else repr(what)
            return at, f"{shown} opened at {self.where(at)} is never closed"
        return None

    def _comment(self) -> str | None:
        """Skip the comment at the index: a problem, or None (also when there is none)."""
        code, i = self.code, self.index
        if code.startswith("//", i):
            end = code.find("\n", i)
            self.index = len(code) if end < 0 else end
        elif code.startswith("/*", i):
            end = code.find("*/", i + 2)
            if end < 0:
                return f"the comment opened at {self.where(i)} is never closed"
            self.index = end + 2
        return None

    def _step(self) -> str | None:
        code, i = self.code, self.index
        if code.startswith(("//", "/*"), i):
            return self._comment()
        for quote in _QUOTES:
            if code.startswith(quote, i) and (quote != "$/" or self._operand_may_start()):
                self.last = quote[-1]
                return self._string(quote)
        char = code[i]
        if char == "/" and self._operand_may_start():
            self.last = "/"
            return self._string("/")
        if not char.isspace():
            self.last = char
        if char in "([{":
            self.open.append((char, i))
        elif char in ")]}":
            if not self.open:
                return f"{char!r} at {self.where(i)} closes nothing"
            what, at = self.open.pop()
            if what == "${":
                what = "{"
                if char == "}":
                    self.index = i + 1
                    return self._resume()
            if _PAIRS[char] != what:
                return f"{char!r} at {self.where(i)} does not close {what!r} opened at {self.where(at)}"
        self.index = i + 1
        return None

    def _operand_may_start(self) -> bool:
        """Whether what comes next is an operand (so "/" opens a slashy string), not an
        operator after one (a division)."""
        if self.last == "" or self.last not in _OPERAND_ENDS:
            return True
        return _KEYWORD_BEFORE.search(self.code, 0, self.index) is not None

    def _resume(self) -> str | None:
        """Back in the GString a ``${…}`` interrupted."""
        quote, start = self.open.pop()
        return self._string(quote, start=start, body=self.index)

    def _string(
        self, quote: str, *, start: int | None = None, body: int | None = None
    ) -> str | None:
        code = self.code
        begin = self.index if start is None else start
        i = self.index + len(quote) if body is None else body
        closer = _CLOSERS.get(quote, quote)
        interpolates = quote in _INTERPOLATING
        multiline = quote in _MULTILINE
        while i < len(code):
            if quote == "$/" and code.startswith(("$$", "$/"), i):
                i += 2
                continue
            if code[i] == "\\" and quote != "$/":
                i += 2
                continue
            if code.startswith(closer, i):
                self.index = i + len(closer)
                self.spans.append((begin, self.index, quote))
                return None
            if code[i] == "\n" and not multiline:
                break
            if interpolates and code.startswith("${", i):
                # The string resumes after the matching "}"; the code inside is scanned as code.
                self.open.append((quote, begin))
                self.open.append(("${", i))
                self.index = i + 2
                return None
            i += 1
        return f"the string {quote} opened at {self.where(begin)} is never closed"


def balance_problem(code: str) -> str | None:
    """What is unbalanced in ``code`` (a bracket, a string, a comment), with its line and
    column, or None."""
    found = unbalanced_at(code)
    return None if found is None else found[1]


def unbalanced_at(code: str) -> tuple[int, str] | None:
    """:func:`balance_problem` with the line (1-based) it is found on."""
    code = decode_unicode_escapes(code)
    found = _Scan(code).problem()
    if found is None:
        return None
    index, message = found
    return code.count("\n", 0, index) + 1, message


def slashy_strings(code: str) -> list[tuple[int, int, str]]:
    """Where ``code`` (read as is, escapes not decoded) has slashy (``/…/``) and dollar-slashy
    (``$/…/$``) strings: (start, end, opening quote), for tools that must tell them from
    division (the importer's parser does not read them)."""
    scan = _Scan(code)
    scan.problem()
    return [span for span in scan.spans if span[2] in ("/", "$/")]
