"""Secrets kept out of everything the process prints: the forms in which a secret could
reach output, and streams and logging filters that mask them. Only the standard library, so
that the command line can mask its usage errors before it loads anything else."""

from __future__ import annotations

import atexit
import base64
import contextlib
import functools
import io
import re
import sys
from collections.abc import Iterator
from typing import Any, NamedTuple, TextIO
from urllib.parse import unquote

MASK = "****"
# Secrets shorter than this are not masked by value: masking them would garble the output.
_MIN_SECRET = 3
# The part of a base64 form that does not depend on the bytes around the secret is masked
# from this length on; shorter, it would match ordinary text.
_MIN_INNER = 8
# Between two characters of a base64 form: a line break (MIME wraps base64 at 76 characters),
# also as a JSON escape, and the indentation after it.
_BREAK = r"(?:\s|\\[rn]){0,8}"
_BREAK_LENGTH = 16  # the longest _BREAK spells
_SCHEME = re.compile(r"^(?:[A-Za-z][A-Za-z0-9+.-]*:/*|https?/+|/+)", re.IGNORECASE)
# A character spelled other than as itself, as :func:`_spellings` spells it.
_SPELLED = re.compile(
    r"%(?:25)?(?P<byte>[0-9a-f]{2})|\\u(?P<unit>[0-9a-f]{4})|&#(?P<dec>[0-9]{1,7});"
    r"|&#x(?P<hex>[0-9a-f]{1,6});|&(?P<name>amp|lt|gt|quot|apos);|\\(?P<escaped>[/\\\"])",
    re.IGNORECASE,
)
# A line of wrapped base64 so far (MIME: 76 characters a line; PEM: 64): where a line break
# may come inside a base64 form. (Only there: a line ending in a letter that begins a form
# would wait for the next write.)
_WRAPPED = re.compile(r"[A-Za-z0-9+/=_-]{32}(?:\s|\\[rn]){0,8}\Z", re.IGNORECASE)
# The start of such a spelling, cut off at the end of a write.
_CUT = re.compile(
    r"(?:%(?:25)?[0-9a-f]?|\\(?:u[0-9a-f]{0,3})?|&#?x?[0-9a-f]*|&[a-z]{0,4})\Z", re.IGNORECASE
)
_ENTITIES = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}
# The URL-safe base64 alphabet's two other characters.
_URL_SAFE = {"+": "-", "/": "_"}


@functools.lru_cache(maxsize=1024)
def _spellings(char: str, *, base64_form: bool = False) -> tuple[str, ...]:
    """Every way output may spell ``char``: as it is (in any case: the pattern ignores case),
    percent-encoded (also twice), as a JSON ``\\u`` escape, as an HTML character reference or
    entity, ``+`` for a space (form encoding), ``\\/``, ``\\\\`` and ``\\"`` (JSON); in base64,
    also in the URL-safe alphabet."""
    data = char.encode("utf-8", "surrogatepass")
    units = char.encode("utf-16-be", "surrogatepass")
    spellings = {
        char,
        "".join(f"%{b:02X}" for b in data),
        "".join(f"%25{b:02X}" for b in data),
        "".join(f"\\u{units[i]:02X}{units[i + 1]:02X}" for i in range(0, len(units), 2)),
        f"&#{ord(char)};",
        f"&#x{ord(char):X};",
        _html_escape(char),
    }
    if char == " ":
        spellings.add("+")
    if char in '/\\"':
        spellings.add(f"\\{char}")
    if base64_form and char in _URL_SAFE:
        spellings.add(_URL_SAFE[char])
    return tuple(sorted(spellings))


def _html_escape(char: str) -> str:
    # Imported when first needed: the html module costs 2 ms of every command's start.
    import html

    return html.escape(char)


def _canonical(text: str) -> str:
    """``text`` as its UTF-8 bytes (one character each), in lower case: what a spelled
    character is compared as."""
    return text.encode("utf-8", "surrogatepass").decode("latin-1").lower()


def _inner(data: bytes, offset: int) -> str:
    """The characters of the base64 of any text holding ``data`` ``offset`` bytes past a
    multiple of three that depend on ``data`` alone (not on the bytes around it)."""
    encoded = base64.b64encode(bytes(offset) + data).decode()
    return encoded[-(-8 * offset // 6) : 8 * (offset + len(data)) // 6]


def _readings(text: str, pos: int, spaced: bool) -> Iterator[tuple[int, str]]:
    """The ways to read the character spelled at ``text[pos]``: (length, canonical text);
    ``spaced``: inside a base64 form, where a line break after a line of base64 reads as
    nothing."""
    char = text[pos]
    yield 1, _canonical(char)
    if char == "+":
        yield 1, " "
    escaped_break = text.startswith(("\\r", "\\n", "\\R", "\\N"), pos)
    if (
        spaced
        and (char.isspace() or escaped_break)
        and _WRAPPED.search(text, max(0, pos - 64), pos)
    ):
        yield (2 if escaped_break else 1), ""
    if spaced and char in "-_":
        yield 1, "+" if char == "-" else "/"
    match = _SPELLED.match(text, pos)
    if match is None:
        return
    size = match.end() - pos
    if match["byte"]:
        yield size, chr(int(match["byte"], 16)).lower()
    elif match["unit"] or match["dec"] or match["hex"]:
        point = int(match["dec"]) if match["dec"] else int(match["unit"] or match["hex"], 16)
        if point <= sys.maxunicode:
            yield size, _canonical(chr(point))
    elif match["name"]:
        yield size, _canonical(_ENTITIES[match["name"].lower()])
    else:
        yield size, match["escaped"]


class _Forms(NamedTuple):
    pattern: re.Pattern[str]  # every form, each character in every spelling
    plain: frozenset[str]  # the beginnings of the forms as given, canonical
    encoded: frozenset[str]  # the same, for the base64 forms
    starts: frozenset[str]  # what a spelled form may start with
    reach: int  # the longest a spelled form may be


@functools.lru_cache(maxsize=64)
def _forms(secrets: frozenset[str], users: frozenset[str]) -> _Forms:
    plain = set(secrets)
    encoded: set[str] = set()
    for secret in secrets:
        data = secret.encode("utf-8", "surrogatepass")
        for prefix in ("", *(f"{u}:" for u in users)):
            encoded.add(base64.b64encode(prefix.encode("utf-8", "surrogatepass") + data).decode())
        encoded |= {f for f in (_inner(data, o) for o in range(3)) if len(f) >= _MIN_INNER}
    forms = [(f, False) for f in plain] + [(f, True) for f in encoded]
    forms.sort(key=lambda form: len(form[0]), reverse=True)
    alternatives = []
    reach = 0
    for form, spaced in forms:
        letters = [_spellings(c, base64_form=spaced) for c in form]
        alternatives.append(
            (_BREAK if spaced else "").join(
                "(?:" + "|".join(map(re.escape, spelled)) + ")" for spelled in letters
            )
        )
        longest = sum(max(map(len, spelled)) for spelled in letters)
        reach = max(reach, longest + (len(form) * _BREAK_LENGTH if spaced else 0))

    def beginnings(found: set[str]) -> frozenset[str]:
        canonical = {_canonical(f) for f in found}
        return frozenset(f[:n] for f in canonical for n in range(1, len(f) + 1))

    plain_starts, encoded_starts = beginnings(plain), beginnings(encoded)
    return _Forms(
        re.compile("|".join(alternatives) or r"(?!)", re.IGNORECASE),
        plain_starts,
        encoded_starts,
        frozenset(f[:1] for f in plain_starts | encoded_starts) | {"%", "\\", "&", "-", "_"},
        reach,
    )


class Secrets:
    """The secrets this process knows, and every form in which one could reach its output:
    as given or percent-decoded, in base64 (alone, as an HTTP Basic ``user:secret``, and the
    part of any base64 text holding it that does not depend on what surrounds it, at each of
    the three byte alignments, standard or URL-safe, also wrapped over lines), each character
    spelled as itself in any case, percent-encoded (also twice), JSON- or HTML-escaped."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()
        self._users: set[str] = {"x-access-token"}
        self._forms: _Forms | None = None

    def add(self, secret: str | None, user: str | None = None) -> None:
        if user:
            self._users.add(user)
            self._users.add(unquote(user))
        if secret and len(secret) >= _MIN_SECRET:
            self._secrets |= {secret, unquote(secret)}
        self._forms = None

    def add_url(self, text: str | None) -> None:
        """The credentials written into a URL, however mistyped (``http:/u:t@h``,
        ``http//u:t@h``, a ``/``, ``@`` or ``:`` in the password): all before its last ``@``."""
        head, at, _ = (text or "").rpartition("@")
        if not at:
            return
        userinfo = _SCHEME.sub("", head)
        user, colon, password = userinfo.partition(":")
        self.add(userinfo)
        if colon:
            self.add(password, user)

    def _compile(self) -> _Forms:
        if self._forms is None:
            self._forms = _forms(frozenset(self._secrets), frozenset(self._users))
        return self._forms

    def mask(self, text: str) -> str:
        return self._compile().pattern.sub(MASK, text) if self._secrets else text

    def excerpt(self, text: str, limit: int) -> str:
        """``text`` masked, then shortened to ``limit`` characters (a cut never shows a part
        of a secret)."""
        masked = self.mask(text)
        return masked if len(masked) <= limit else masked[: limit - 1] + "…"

    def partial(self, text: str) -> int:
        """The length of the longest end of ``text`` that begins a form (the rest of it may
        come in the next write), with any form found across its start: what comes before it
        is masked as it would be with the rest of the text there."""
        forms = self._compile()
        if not self._secrets:
            return 0
        for start in range(max(0, len(text) - forms.reach), len(text)):
            if _canonical(text[start])[:1] not in forms.starts:
                continue
            if self._begins(text, start, forms.plain, spaced=False) or self._begins(
                text, start, forms.encoded, spaced=True
            ):
                found = forms.pattern.finditer(text)
                across = (m.start() for m in found if m.start() < start < m.end())
                return len(text) - next(across, start)
        return 0

    @staticmethod
    def _begins(text: str, start: int, beginnings: frozenset[str], *, spaced: bool) -> bool:
        """Whether ``text[start:]`` spells the beginning of a form, of which ``beginnings``
        holds every beginning: each character read in each way it may be spelled."""
        todo = [(start, "")]
        seen: set[tuple[int, str]] = set()
        while todo:
            pos, read = todo.pop()
            if pos == len(text):
                return bool(read)
            if _CUT.match(text, pos):
                return True
            for size, chars in _readings(text, pos, spaced and bool(read)):
                step = (pos + size, read + chars)
                if (not chars or step[1] in beginnings) and step not in seen:
                    seen.add(step)
                    todo.append(step)
        return False


class MaskedStream(io.TextIOBase):
    """A text stream that writes to ``stream`` with every secret form masked. A secret split
    over two writes is masked too: an end that begins a secret waits for the next write."""

    def __init__(self, stream: TextIO, secrets: Secrets) -> None:
        super().__init__()
        self._stream = stream
        self.secrets = secrets
        self._pending = ""
        self._holding = True

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return str(getattr(self._stream, "encoding", None) or "utf-8")

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return getattr(self._stream, "errors", None)

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return self._stream.isatty()

    def write(self, text: str) -> int:
        if not isinstance(text, str):  # click tells text from binary streams by this
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        waiting = self._pending + text
        keep = self.secrets.partial(waiting) if self._holding else 0
        self._pending = waiting[len(waiting) - keep :]
        self._stream.write(self.secrets.mask(waiting[: len(waiting) - keep]))
        return len(text)

    def flush(self) -> None:
        self._stream.flush()

    def drain(self, *, last: bool = False) -> None:
        """Write what waits (no secret: the output ended before one was complete); ``last``:
        nothing waits any more, every later write goes out at once, masked."""
        self._holding = self._holding and not last
        if self._pending:
            self._stream.write(self.secrets.mask(self._pending))
            self._pending = ""
        self._stream.flush()


class _MaskedLogs:
    """A logging filter that masks the secrets in every record a handler emits."""

    def __init__(self, secrets: Secrets) -> None:
        self._secrets = secrets

    def filter(self, record: Any) -> bool:
        with contextlib.suppress(Exception):
            record.msg = self._secrets.mask(record.getMessage())
            record.args = ()
        if record.exc_info:
            import logging  # a record exists: logging is imported already

            record.exc_text = self._secrets.mask(
                logging.Formatter().formatException(record.exc_info)
            )
            record.exc_info = None
        if record.stack_info:  # the source lines of the frames that logged
            record.stack_info = self._secrets.mask(record.stack_info)
        return True


def _log_handlers() -> set[Any]:
    """The handlers of every logger: none before ``logging`` is imported (which is left to the
    commands that log: it costs 3 ms of every start)."""
    if "logging" not in sys.modules:
        return set()
    import logging

    loggers = [
        logging.getLogger(),
        *(v for v in logging.Logger.manager.loggerDict.values() if isinstance(v, logging.Logger)),
    ]
    return {h for logger in loggers for h in logger.handlers}


def _masking(stream: TextIO | None, secrets: Secrets) -> TextIO | None:
    """``stream`` masking ``secrets`` (itself when it does already)."""
    if stream is None or (isinstance(stream, MaskedStream) and stream.secrets is secrets):
        return stream
    return MaskedStream(stream, secrets)  # type: ignore[return-value]


@contextlib.contextmanager
def masked_output(secrets: Secrets) -> Iterator[None]:
    """``sys.stdout``, ``sys.stderr`` and the handlers of every logger mask ``secrets`` until
    the block ends."""
    streams = sys.stdout, sys.stderr
    masked = [_masking(s, secrets) for s in streams]
    log_filter = _MaskedLogs(secrets)
    handlers = _log_handlers()
    for handler in handlers:
        handler.addFilter(log_filter)
    sys.stdout, sys.stderr = masked
    try:
        yield
    finally:
        for stream in masked:
            if isinstance(stream, MaskedStream):
                with contextlib.suppress(Exception):
                    stream.drain()
        sys.stdout, sys.stderr = streams
        for handler in handlers:
            handler.removeFilter(log_filter)


def mask_until_exit(secrets: Secrets) -> None:
    """``sys.stdout`` and ``sys.stderr`` mask ``secrets`` for the rest of the process: also
    what threads, ``atexit`` functions and the interpreter's shutdown print (a traceback, an
    exception ignored in ``__del__``); what waits for a next write is written at exit."""
    streams = [_masking(s, secrets) for s in (sys.stdout, sys.stderr)]
    sys.stdout, sys.stderr = streams

    def last() -> None:
        for stream in streams:
            if isinstance(stream, MaskedStream):
                with contextlib.suppress(Exception):
                    stream.drain(last=True)

    # Registered before any function of the command's: run after all of them.
    atexit.register(last)
