"""Secrets kept out of everything the process prints: the forms in which a secret could
reach output, and streams and logging filters that mask them. Only the standard library, so
that the command line can mask its usage errors before it loads anything else."""

from __future__ import annotations

import base64
import contextlib
import html
import io
import logging
import re
import sys
from collections.abc import Iterator
from typing import Any, TextIO
from urllib.parse import quote, quote_plus, unquote

MASK = "****"
# Secrets shorter than this are not masked by value: masking them would garble the output.
_MIN_SECRET = 3
_SCHEME = re.compile(r"^(?:[A-Za-z][A-Za-z0-9+.-]*:/*|https?/+|/+)", re.IGNORECASE)


class Secrets:
    """The secrets this process knows, and every form in which one could reach its output: as
    given, percent-decoded, URL-encoded (``quote``, ``quote_plus``), HTML-escaped, in base64
    and as the base64 of an HTTP Basic ``user:secret`` (each of these URL-encoded too)."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()
        self._users: set[str] = {"x-access-token"}
        self._pattern: re.Pattern[str] | None = None
        self._forms: list[str] = []

    def add(self, secret: str | None, user: str | None = None) -> None:
        if user:
            self._users.add(user)
            self._users.add(unquote(user))
        if secret and len(secret) >= _MIN_SECRET:
            self._secrets |= {secret, unquote(secret)}
        self._pattern = None

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

    @property
    def forms(self) -> list[str]:
        if self._pattern is None:
            forms: set[str] = set(self._secrets)
            for secret in self._secrets:
                for prefix in ("", *(f"{u}:" for u in self._users)):
                    forms.add(base64.b64encode(f"{prefix}{secret}".encode()).decode())
            forms |= {quote(f, safe="") for f in forms} | {quote(f) for f in forms}
            forms |= {quote_plus(f) for f in forms} | {html.escape(f) for f in forms}
            self._forms = sorted(forms, key=len, reverse=True)
            self._pattern = re.compile("|".join(map(re.escape, self._forms)) or r"(?!)")
        return self._forms

    def mask(self, text: str) -> str:
        _ = self.forms
        assert self._pattern is not None  # noqa: S101  (set by forms)
        return self._pattern.sub(MASK, text) if self._forms else text

    def partial(self, text: str) -> int:
        """The length of the longest end of ``text`` that begins a form (the rest of it may
        come in the next write)."""
        longest = 0
        for form in self.forms:
            for size in range(min(len(form) - 1, len(text)), longest, -1):
                if text.endswith(form[:size]):
                    longest = size
                    break
        return longest


class MaskedStream(io.TextIOBase):
    """A text stream that writes to ``stream`` with every secret form masked. A secret split
    over two writes is masked too: an end that begins a secret waits for the next write."""

    def __init__(self, stream: TextIO, secrets: Secrets) -> None:
        super().__init__()
        self._stream = stream
        self._secrets = secrets
        self._pending = ""

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
        masked = self._secrets.mask(self._pending + text)
        keep = self._secrets.partial(masked)
        self._pending = masked[len(masked) - keep :]
        self._stream.write(masked[: len(masked) - keep])
        return len(text)

    def flush(self) -> None:
        self._stream.flush()

    def drain(self) -> None:
        """Write what waits (no secret: the output ended before one was complete)."""
        if self._pending:
            self._stream.write(self._secrets.mask(self._pending))
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
            record.exc_text = self._secrets.mask(
                logging.Formatter().formatException(record.exc_info)
            )
            record.exc_info = None
        return True


@contextlib.contextmanager
def masked_output(secrets: Secrets) -> Iterator[None]:
    """``sys.stdout``, ``sys.stderr`` and the handlers of every logger mask ``secrets`` until
    the block ends."""
    streams = sys.stdout, sys.stderr
    masked = [MaskedStream(s, secrets) if s is not None else None for s in streams]
    log_filter = _MaskedLogs(secrets)
    loggers = [
        logging.getLogger(),
        *(v for v in logging.Logger.manager.loggerDict.values() if isinstance(v, logging.Logger)),
    ]
    handlers = {h for logger in loggers for h in logger.handlers}
    for handler in handlers:
        handler.addFilter(log_filter)
    sys.stdout, sys.stderr = masked
    try:
        yield
    finally:
        for stream in masked:
            if stream is not None:
                with contextlib.suppress(Exception):
                    stream.drain()
        sys.stdout, sys.stderr = streams
        for handler in handlers:
            handler.removeFilter(log_filter)
