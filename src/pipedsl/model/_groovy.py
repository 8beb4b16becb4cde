"""A check of raw Groovy written into a Jenkinsfile: brackets balanced and strings and comments
closed, so that one unbalanced ``}`` in a :class:`~pipedsl.Groovy` step cannot close the
pipeline's blocks early and change what the rest of the Jenkinsfile means.

The scan knows Groovy's comments (``//``, ``/* */``), strings (``'…'``, ``"…"``, ``'''…'''``,
``\"\"\"…\"\"\"``, with backslash escapes) and the code inside a GString's ``${…}``. It does not
read slashy strings (``/…/``): a regular expression in raw Groovy is best written as a quoted
string.
"""

from __future__ import annotations

_PAIRS = {")": "(", "]": "[", "}": "{"}
_QUOTES = ("'''", '"""', "'", '"')


class _Scan:
    def __init__(self, code: str) -> None:
        self.code = code
        self.index = 0
        # Open brackets and strings: (what, where); "${" marks a GString's code.
        self.open: list[tuple[str, int]] = []

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

    def _step(self) -> str | None:
        code, i = self.code, self.index
        if code.startswith("//", i):
            end = code.find("\n", i)
            self.index = len(code) if end < 0 else end
            return None
        if code.startswith("/*", i):
            end = code.find("*/", i + 2)
            if end < 0:
                return f"the comment opened at {self.where(i)} is never closed"
            self.index = end + 2
            return None
        for quote in _QUOTES:
            if code.startswith(quote, i):
                return self._string(quote)
        char = code[i]
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
        interpolates = quote.startswith('"')
        multiline = len(quote) == 3
        while i < len(code):
            if code[i] == "\\":
                i += 2
                continue
            if code.startswith(quote, i):
                self.index = i + len(quote)
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
    found = _Scan(code).problem()
    if found is None:
        return None
    index, message = found
    return code.count("\n", 0, index) + 1, message
