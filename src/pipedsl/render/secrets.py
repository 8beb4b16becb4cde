"""The last line of defence: no generated file may contain a secret, and no Jenkinsfile may
let Groovy interpolate a credential variable into a string.

The model cannot hold a secret value, but raw ``sh`` scripts, ``Groovy`` steps, messages and
ConfigMap values are free text; this scan catches a pasted token there before it is written.
Each value of the model is judged as the shell, Groovy or YAML reads it (before escaping,
which turns ``'`` into ``\\'`` in a Groovy literal), and every line of every file as written.
"""

from __future__ import annotations

import bisect
import itertools
import operator
import re
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from pipedsl.errors import Problem
from pipedsl.model.values import GroovyExpr, GString, model_fields, model_parts
from pipedsl.record import CachedRecord
from pipedsl.render.artifacts import Artifact

# (what, pattern): each pattern matches a value, never a reference such as ${VAR} or $VAR, and
# starts with literal text so that the regular expression engine can skip ahead quickly. Lines
# are judged many at a time, joined: no pattern may match across a line break.
SECRET_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (what, re.compile(pattern))
    for what, pattern in (
        ("a private key", r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED )?PRIVATE KEY-----"),
        ("a GitHub token", r"gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,}"),
        ("a Slack token", r"xox[abposr]-[A-Za-z0-9-]{10,}"),
        (
            "a Slack webhook URL",
            r"hooks\.slack\.com/services/T[A-Za-z0-9]+/B[A-Za-z0-9]+/[A-Za-z0-9]+",
        ),
        ("a Discord webhook URL", r"discord(?:app)?\.com/api/webhooks/\d+/[A-Za-z0-9_-]{20,}"),
        ("an AWS access key id", r"(?:AKIA|ASIA)[0-9A-Z]{16}(?![0-9A-Z])"),
        ("a Docker Hub access token", r"dckr_pat_[A-Za-z0-9_-]{20,}"),
        ("a JSON web token", r"eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"),
        (
            "a password on a docker login command line",
            r"docker[ \t]+login\b[^\n]*[ \t](?:-p|--password)(?:[ \t]|=)(?!-)",
        ),
        (
            "the base64 of a common default password",
            r"(?:cGFzc3dvcmQ=?|YWRtaW4=?|cm9vdA==|Y2hhbmdlbWU=?|c2VjcmV0|MTIzNDU2|cGFzc3dvcmQxMjM=?)"
            r"(?![A-Za-z0-9+/])",
        ),
    )
)
# Tokens only count as whole words: preceded by one of these, a match is part of something
# else (the base64 one also of a longer base64 text).
_WORD = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
_WHOLE_WORD = {
    "a GitHub token": _WORD,
    "a Slack token": _WORD,
    "an AWS access key id": _WORD,
    "a Docker Hub access token": _WORD,
    "a JSON web token": _WORD,
    "the base64 of a common default password": _WORD | {"+", "/"},
}

# A literal assigned to a name that ends in a secret word (``DB_PASSWORD = 'hunter2'``,
# ``password: "x"``). The assignment is found first (it starts with a character the engine can
# skip to), then the name before it is checked: tokenCredentialId or passwordVariable name a
# credential id or a variable, not a secret, and are not matched.
_ASSIGNED_LITERAL = re.compile(r"[:=][ \t]*(?:'([^'\n]{4,})'|\"([^\"\n]{4,})\")")
_SECRET_NAME = re.compile(
    r"(?i:password|passwd|secret|token|api_?key|access_?key|private_?key)[ \t]*\Z"
)
ASSIGNED_SECRET = "a literal assigned to a secret-looking name"  # noqa: S105  (a description)
# What stands for a value kept elsewhere rather than being one: a whole placeholder
# (``'${DB_PASSWORD}'``, filled in by a templating tool or Groovy), or in double quotes anything
# the shell expands (``"$X"``, ``"${X}"``, ``"$(cat f)"``, backquotes). Any other ``$`` is
# literal text: ``'pa$$word'`` is a password, in single quotes as in double ones.
_PLACEHOLDER = re.compile(r"\$\{?[A-Za-z_][A-Za-z0-9_.]*\}?")
_EXPANSION = re.compile(r"\$[A-Za-z_{(0-9@*#?$!-]|`")


def _is_reference(single: str | None, double: str | None) -> bool:
    body = single if single is not None else double
    assert body is not None  # noqa: S101  (one of the two alternatives matched)
    return bool(_PLACEHOLDER.fullmatch(body)) or (
        double is not None and _EXPANSION.search(double) is not None
    )


def _leaks(text: str) -> Iterator[tuple[int, str]]:
    """(offset, what) of everything in ``text`` that looks like a secret."""
    for what, pattern in SECRET_PATTERNS:
        before = _WHOLE_WORD.get(what, frozenset())
        for match in pattern.finditer(text):
            start = match.start()
            if (start and text[start - 1] in before) or "\n" in match.group():
                continue
            yield start, what
    for match in _ASSIGNED_LITERAL.finditer(text):
        start = match.start()
        if _SECRET_NAME.search(text, max(0, start - 40), start) and not _is_reference(
            *match.groups()
        ):
            yield start, ASSIGNED_SECRET


# Generated files repeat lines heavily (the same notification in every stage and component, an
# inline job embedding its Jenkinsfile): each distinct line is judged once per process.
_CLEAN: set[str] = set()
_LEAKY: dict[str, str] = {}
_REMEMBERED = 200_000


def _judge(lines: list[str]) -> None:
    """Record for each of ``lines`` (new ones) whether it looks like it holds a secret: one
    scan of them all, joined, with each pattern."""
    blob = "\n".join(lines)
    starts = [0]
    for line in lines[:-1]:
        starts.append(starts[-1] + len(line) + 1)
    leaky: dict[int, str] = {}
    for offset, what in _leaks(blob):
        leaky.setdefault(bisect.bisect_right(starts, offset) - 1, what)
    for index, line in enumerate(lines):
        if index in leaky:
            _LEAKY[line] = leaky[index]
        else:
            _CLEAN.add(line)


def _advice(what: str) -> str:
    return (
        f"looks like {what}; keep secrets in Jenkins credentials or Kubernetes Secrets and "
        "refer to them by id"
    )


def find_value_secrets(
    value: object, path: str, *, reported: Iterable[Problem] = ()
) -> list[Problem]:
    """Every string of a model object (a component, a project) that looks like a secret, with
    its object path under ``path``. Values are judged as written in the model, before any
    escaping: a one-line ``sh`` script is judged as the shell reads it, although its Groovy
    literal turns ``'`` into ``\\'``. A value assigned to a secret-looking name (an environment
    variable such as ``DB_PASSWORD``) must be a reference, never a literal.

    ``reported`` are the problems :func:`find_secrets` found in the files written from
    ``value``: a kind of secret they already show by file and line is not reported again."""
    if _is_clean(value):
        return []
    shown = {problem.message for problem in reported}
    return [
        Problem(f"{path}{suffix}".lstrip("."), message)
        for suffix, what in dict.fromkeys(_value_leaks(value))
        if (message := _advice(what)) not in shown
    ]


# Model objects whose hash is cached (steps, stages, pipelines) repeat across components: each
# distinct one found clean is remembered. Hashing the others would cost more than walking them.
_CLEAN_VALUES: set[object] = set()
_TUPLE = "tuple"
_TEXT = "text"
# Per class, how the walk treats its objects: as a tuple, as text (GString, GroovyExpr), as a
# model object (the function giving its parts, and whether its hash is cached), or not at all.
_KINDS: dict[type, tuple[str | Callable[[object], tuple[object, ...]] | None, bool]] = (
    dict.fromkeys((int, bool, float, type(None)), (None, False))
)


def _kind(kind: type) -> tuple[str | Callable[[object], tuple[object, ...]] | None, bool]:
    if issubclass(kind, tuple):
        entry: tuple[str | Callable[[object], tuple[object, ...]] | None, bool] = (_TUPLE, False)
    elif kind is GString or kind is GroovyExpr:
        entry = (_TEXT, False)
    else:
        entry = (_getter(kind), kind.__hash__ is CachedRecord.__hash__)
    _KINDS[kind] = entry
    return entry


def _is_clean(value: object) -> bool:
    """Whether nothing in ``value`` looks like a secret: the fast walk, without paths."""
    if len(_CLEAN_VALUES) > _REMEMBERED:
        _CLEAN_VALUES.clear()
    stack: list[Any] = [value]
    pop, extend = stack.pop, stack.extend
    while stack:
        item = pop()
        kind = type(item)
        if kind is str:
            if _text_leaks(item):
                return False
            continue
        how, cached = _KINDS.get(kind) or _kind(kind)
        if how is _TUPLE:
            if len(item) == 2 and type(item[0]) is str and _assigns_secret(item):
                return False
            extend(item)
        elif how is _TEXT:
            if _text_leaks(_text_of(item) or ""):
                return False
        elif how is None:
            continue
        elif item is value or not cached:
            extend(how(item))  # type: ignore[operator]
        elif item not in _CLEAN_VALUES:
            if not _is_clean(item):
                return False
            _CLEAN_VALUES.add(item)
    return True


def _assigns_secret(pair: tuple[object, ...]) -> bool:
    """Whether ``pair`` may be a literal assigned to a secret-looking name (the paths walk
    decides which tuples are ``(name, value)`` pairs)."""
    if len(pair) != 2 or type(pair[0]) is not str:
        return False
    text = _text_of(pair[1])
    return text is not None and _assigned_literal(pair[0], text, pair[1])


def _getter(kind: type) -> Callable[[object], tuple[object, ...]] | None:
    """A function giving the parts of a model object of class ``kind`` (``None`` if it has
    none)."""
    names = model_fields(kind)
    if not names:
        return None
    get = operator.attrgetter(*names)
    if len(names) == 1:
        return lambda value: (get(value),)
    return get


def _value_leaks(value: object) -> Iterator[tuple[str, str]]:
    """``(path suffix, what)`` of every secret-looking string inside ``value``."""
    text = _text_of(value)
    if text is not None:
        for what in _text_leaks(text):
            yield "", what
        return
    for suffix, part, name in model_parts(value):
        for inner, what in _value_leaks(part):
            yield suffix + inner, what
        assigned = _text_of(part) if name is not None else None
        if assigned is not None and _assigned_literal(name or "", assigned, part):
            yield suffix, ASSIGNED_SECRET


def _text_of(value: object) -> str | None:
    """The text a Groovy or shell reader gets from a model value (a GString's expressions as
    ``${...}``), or ``None`` for values that are not text."""
    if isinstance(value, str):
        return value
    if isinstance(value, GroovyExpr):
        return value.code
    if isinstance(value, GString):
        return "".join(p if isinstance(p, str) else "${" + p.code + "}" for p in value.parts)
    return None


_TEXT_LEAKS: dict[str, tuple[str, ...]] = {}


def _text_leaks(text: str) -> tuple[str, ...]:
    found = _TEXT_LEAKS.get(text)
    if found is None:
        if len(_TEXT_LEAKS) > _REMEMBERED:
            _TEXT_LEAKS.clear()
        found = _TEXT_LEAKS[text] = tuple(dict.fromkeys(what for _, what in _leaks(text)))
    return found


def _assigned_literal(name: str, text: str, value: object) -> bool:
    """Whether ``value``, assigned to ``name`` (an environment variable, a data key), is a
    literal secret: a secret-looking name and a literal (no expression) of four characters or
    more that is not a placeholder."""
    literal = isinstance(value, str) or (isinstance(value, GString) and value.is_literal)
    return (
        literal
        and len(text) >= 4
        and _SECRET_NAME.search(name) is not None
        and not _PLACEHOLDER.fullmatch(text)
    )


# The lines of the texts split last: a Jenkinsfile is scanned for secrets and then for
# interpolated credentials, and its lines, once split, have their hashes. Kept with the text,
# so that no other text can have its id while it is remembered; never changed by a caller.
_SPLIT: OrderedDict[int, tuple[str, list[str]]] = OrderedDict()
_SPLITS_KEPT = 8


def _lines(text: str) -> list[str]:
    entry = _SPLIT.get(id(text))
    if entry is not None and entry[0] is text:
        return entry[1]
    lines = text.split("\n")
    if len(_SPLIT) >= _SPLITS_KEPT:
        _SPLIT.popitem(last=False)  # the oldest
    _SPLIT[id(text)] = (text, lines)
    return lines


def find_secrets(artifacts: Iterable[Artifact]) -> list[Problem]:
    """Every line of every artifact that looks like it holds a secret, as ``file:line``."""
    if len(_CLEAN) > _REMEMBERED:
        _CLEAN.clear()
    files = [(artifact, _lines(artifact.text)) for artifact in artifacts]
    # Lines not seen before, from all the files, are judged together in one scan.
    new: set[str] = set()
    for _, lines in files:
        if not _CLEAN.issuperset(lines):
            new.update(lines)
    new -= _CLEAN
    new -= _LEAKY.keys()
    if new:
        _judge(sorted(new))
    problems = []
    for artifact, lines in files:
        if not _LEAKY or _LEAKY.keys().isdisjoint(lines):
            continue
        for number, line in enumerate(lines, 1):
            what = _LEAKY.get(line)
            if what is not None:
                problems.append(Problem(f"{artifact.path}:{number}", _advice(what)))
    return problems


# Groovy tokens that can hold a quote character: comments and string literals. The body of a
# double-quoted (interpolating) literal is captured; everything else is skipped over whole.
_Q3 = "'" * 3
_D3 = '"' * 3
_GROOVY_TOKENS = re.compile(
    # The lookahead lets the engine skip every position that cannot start a token at once.
    r"(?=[/'\"])"
    r"(?://[^\n]*"
    r"|/\*.*?\*/"
    # Loops unrolled (runs of ordinary characters, then one escape or lone quote): much faster
    # than an alternation tried at every character.
    rf"|{_Q3}[^\\']*(?:(?:\\.|'(?!''))[^\\']*)*{_Q3}"
    rf"|{_D3}([^\\\"]*(?:(?:\\.|\"(?!\"\"))[^\\\"]*)*){_D3}"
    r"|'[^\\'\n]*(?:\\.[^\\'\n]*)*'"
    r'|"([^\\"\n]*(?:\\.[^\\"\n]*)*)")',
    re.DOTALL,
)


_INTERPOLATION = re.compile(r"(?<!\\)\$\{?\s*(?:env\.)?([A-Za-z_][A-Za-z0-9_]*)")


def _names(match: re.Match[str]) -> list[str]:
    return _INTERPOLATION.findall(match.group(match.lastindex or 0))


def interpolated_names_plain(code: str) -> list[str]:
    """Every variable name the GStrings of ``code`` interpolate, in order, by lexing the whole
    text: the reference that :func:`interpolated_names` computes faster."""
    return [
        name
        for match in _GROOVY_TOKENS.finditer(code)
        if match.lastindex is not None  # a double-quoted (interpolating) literal
        for name in _names(match)
    ]


# Generated Jenkinsfiles repeat lines heavily. A line that cannot start a token running past its
# end (no triple quote, no block comment, no backslash at its end) lexes alone exactly as in its
# file whenever it starts outside any token: its names are remembered per process. The others
# start a stretch that the whole-text lexer reads, up to the first line start outside a token.
_LINE_NAMES: dict[str, tuple[str, ...] | None] = {}
_UNSEEN: tuple[str, ...] = ("<unseen>",)


def _line_names(line: str) -> tuple[str, ...] | None:
    if _Q3 in line or _D3 in line or "/*" in line or line.endswith("\\"):
        return None
    return tuple(interpolated_names_plain(line))


def interpolated_names(code: str) -> list[str]:
    """Every variable name the GStrings of ``code`` interpolate (``"$NAME"``, ``"${NAME}"``,
    ``"${env.NAME}"``), in order; comments and single-quoted strings are skipped."""
    if len(_LINE_NAMES) > _REMEMBERED:
        _LINE_NAMES.clear()
    lines = _lines(code)
    known = list(map(_LINE_NAMES.get, lines, itertools.repeat(_UNSEEN)))
    if _UNSEEN in known:
        for index, names in enumerate(known):
            if names is _UNSEEN:
                known[index] = _LINE_NAMES[lines[index]] = _line_names(lines[index])
    if None not in known:
        return list(itertools.chain.from_iterable(known))  # type: ignore[arg-type]
    found: list[str] = []
    done = 0  # lines before this one are accounted for; ``offset`` is where it starts
    offset = 0
    for index in [i for i, names in enumerate(known) if names is None]:
        if index < done:
            continue  # inside a stretch already lexed
        found += itertools.chain.from_iterable(known[done:index])  # type: ignore[arg-type]
        start = offset + sum(map(len, lines[done:index])) + (index - done)
        resume = _lex_stretch(code, start, code.find("\n", start) + 1 or len(code) + 1, found)
        if resume > len(code):
            return found  # the stretch ran to the end of the text
        done, offset = index + code.count("\n", start, resume), resume
    found += itertools.chain.from_iterable(known[done:])  # type: ignore[arg-type]
    return found


def _lex_stretch(code: str, start: int, line_end: int, found: list[str]) -> int:
    """Lex ``code`` from ``start`` to the first line start after ``line_end - 1`` that is
    outside every token, adding the interpolated names to ``found``; returns that line start."""
    resume = line_end
    position = start
    while True:
        match = _GROOVY_TOKENS.search(code, position)
        if match is None or match.start() >= resume:
            return resume
        if match.lastindex is not None:
            found += _names(match)
        position = match.end()
        if position >= resume:  # the token ran past its line: go on to the end of its last line
            newline = code.find("\n", position)
            resume = newline + 1 if newline >= 0 else len(code) + 1


def interpolated_variables(jenkinsfile: str, names: Iterable[str]) -> list[str]:
    """Which of ``names`` a Jenkinsfile interpolates in a GString (``"$NAME"``, ``"${NAME}"``,
    ``"${env.NAME}"``): for credential variables, exactly what Jenkins warns about."""
    wanted = set(names)
    if not wanted:
        return []
    return [name for name in interpolated_names(jenkinsfile) if name in wanted]


# Variables bound by withCredentials: found by their literal tail, then the key is checked.
_BINDING = re.compile(r"ariable:\s*'([A-Za-z_][A-Za-z0-9_]*)'")
_BINDING_KEYS = ("usernameV", "passwordV", "keyFileV", "passphraseV", "v")


def credential_variables(jenkinsfile: str) -> set[str]:
    """Variable names bound by ``withCredentials`` in a Jenkinsfile."""
    return {
        match.group(1)
        for match in _BINDING.finditer(jenkinsfile)
        if jenkinsfile.endswith(_BINDING_KEYS, 0, match.start())
    }


def find_interpolated_credentials(artifacts: Iterable[Artifact]) -> list[Problem]:
    problems = []
    for artifact in artifacts:
        if artifact.kind != "jenkinsfile":
            continue
        for name in sorted(
            set(interpolated_variables(artifact.text, credential_variables(artifact.text)))
        ):
            problems.append(
                Problem(
                    artifact.path,
                    f"the credential variable {name} is interpolated by Groovy; pass it to sh in a "
                    "single-quoted string so that the shell reads it",
                )
            )
    return problems
