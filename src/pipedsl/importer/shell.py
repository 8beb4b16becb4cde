"""One shell command string → the typed step that runs it, when there is one.

Commands are split into words with :mod:`shlex` (as the shell would, quotes removed). A
command the model has a step for becomes that step (``mvn``, ``npm``, ``./gradlew``,
``docker build``, ``docker push``, ``cd dir && ...``); anything else stays ``sh``.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence

import attrs

from pipedsl.record import Record

WORKSPACE_ROOTS = ("/var/lib/jenkins/workspace/", "/var/jenkins_home/workspace/")
_OPERATORS = ("&&", "||", "|", ";", ">", "<", "&", "$(", "`")
DIAGNOSTICS = frozenset({"pwd", "ls", "whoami", "env", "printenv", "date"})


@attrs.frozen(eq=False, repr=False)
class Command(Record):
    """A command split into words, or ``None`` words when the shell would do more than run one
    command (pipes, redirections, substitutions, ``&&`` chains other than ``cd x && ...``)."""

    text: str
    words: tuple[str, ...] | None
    directory: str | None = None  # from a leading `cd dir &&`


def split_command(text: str) -> Command:
    """``text`` as one simple command (after an optional leading ``cd dir &&``, which
    ``directory`` holds and ``text`` no longer does)."""
    stripped = text.strip()
    try:
        lexer = shlex.shlex(stripped, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        words = tuple(lexer)
    except ValueError:
        return Command(stripped, None)
    directory = None
    if len(words) > 3 and words[0] == "cd" and words[2] == "&&":
        directory, words = words[1], words[3:]
        stripped = stripped.split("&&", 1)[1].strip()  # the command as written after `cd x &&`
    if not words or any(w in _OPERATORS or w.startswith(("$(", "`")) for w in words):
        return Command(stripped, None, directory)
    if "`" in stripped or "$(" in stripped or any("\n" in w for w in words):
        return Command(stripped, None, directory)
    return Command(stripped, words, directory)


def without_workspace(text: str) -> tuple[str, bool]:
    """``text`` with hard-coded Jenkins workspace paths made relative to the workspace
    (``/var/lib/jenkins/workspace/job/backend`` → ``backend``); whether anything changed."""
    changed = False
    for root in WORKSPACE_ROOTS:
        while root in text:
            start = text.index(root)
            rest = text[start + len(root) :]
            job_end = len(rest)
            for stop in ("/", " ", "'", '"', "\n", ";", "&"):
                found = rest.find(stop)
                if found != -1:
                    job_end = min(job_end, found)
            after = rest[job_end:]
            if after.startswith("/"):
                after = after[1:]
                end = len(after)
                for stop in (" ", "'", '"', "\n", ";", "&"):
                    found = after.find(stop)
                    if found != -1:
                        end = min(end, found)
                relative = after[:end].rstrip("/") or "."
                text = text[:start] + relative + after[end:]
            else:
                text = text[:start] + "." + after
            changed = True
    return text, changed


def is_diagnostic(words: tuple[str, ...] | None) -> bool:
    """``pwd``, ``ls -al`` and the like: commands that only print, for someone reading the log."""
    return bool(words) and words is not None and words[0] in DIAGNOSTICS


def option_values(words: tuple[str, ...], *names: str) -> list[str]:
    """The values of an option given as ``-t x``, ``--tag x`` or ``--tag=x``."""
    found: list[str] = []
    for i, word in enumerate(words):
        for name in names:
            if word == name and i + 1 < len(words):
                found.append(words[i + 1])
            elif name.startswith("--") and word.startswith(name + "="):
                found.append(word[len(name) + 1 :])
    return found


def positional(words: tuple[str, ...], takes_value: frozenset[str]) -> list[str]:
    """The words that are not options nor an option's value."""
    out: list[str] = []
    skip = False
    for word in words:
        if skip:
            skip = False
            continue
        if word.startswith("-"):
            skip = word in takes_value
            continue
        out.append(word)
    return out


def piped_login(text: str) -> tuple[str, tuple[str, ...]] | None:
    """``echo "$PASS" | docker login -u "$USER" --password-stdin host`` as (the word the
    password comes from, the words after ``docker login``)."""
    try:
        lexer = shlex.shlex(text.strip(), posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        words = tuple(lexer)
    except ValueError:
        return None
    if words.count("|") != 1:
        return None
    cut = words.index("|")
    source, login = words[:cut], words[cut + 1 :]
    if not source or source[0] not in ("echo", "printf", "cat") or len(source) < 2:
        return None
    if login[:2] != ("docker", "login") or "--password-stdin" not in login:
        return None
    if any(w in _OPERATORS for w in login):
        return None
    return source[-1], login[2:]


def split_and(text: str) -> list[Command]:
    """``a && b; c`` as its commands, each split into words (``None`` words for a command
    with pipes, redirections or substitutions)."""
    try:
        lexer = shlex.shlex(text.strip(), posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        words = list(lexer)
    except ValueError:
        return [Command(text.strip(), None)]
    out: list[Command] = []
    current: list[str] = []
    for word in [*words, "&&"]:
        if word in ("&&", ";"):
            if current:
                plain = not any(w in _OPERATORS or w.startswith(("$(", "`")) for w in current)
                out.append(Command(shlex.join(current), tuple(current) if plain else None))
            current = []
        else:
            current.append(word)
    return out


SECRET_OPTIONS = ("--password", "--passwd", "--token", "--secret", "--api-key", "--apikey")
MYSQL_TOOLS = frozenset({"mysql", "mysqldump", "mariadb", "mariadb-dump", "mysqladmin"})


def _secret_name(name: str) -> bool:
    upper = name.upper()
    parts = upper.split("_")
    words = ("PASSWORD", "PASSWD", "PASS", "PW", "SECRET", "TOKEN")
    return any(w in parts or upper.endswith(w) for w in words) or upper.endswith("API_KEY")


def _literal(value: str) -> bool:
    return bool(value) and not value.startswith("$")


def without_inline_secrets(
    words: tuple[str, ...],
) -> tuple[tuple[str, ...], list[tuple[str, str]]]:
    """``words`` with secrets written into the command replaced by environment variables,
    and those variables with where each was (``DB_PASSWORD=...``, ``--password``, ``-p...``):
    a leading ``NAME=literal`` of a secret-looking name, ``--password=literal`` /
    ``--password literal`` (and ``--token``, ``--secret``, ``--api-key``), and MySQL's
    ``-pLITERAL``."""
    out: list[str] = []
    found: list[tuple[str, str]] = []
    tool = next((w for w in words if "=" not in w), words[0] if words else "")
    prefix = "".join(c if c.isalnum() else "_" for c in tool.rsplit("/", 1)[-1]).upper()
    index, leading = 0, True
    while index < len(words):
        word = words[index]
        name, equals, value = word.partition("=")
        if leading and equals and name.isidentifier() and _secret_name(name) and _literal(value):
            found.append((name, f"{name}=..."))
            index += 1
            continue
        leading = leading and bool(equals) and name.isidentifier()
        option = next((o for o in SECRET_OPTIONS if name == o), None)
        variable = f"{prefix}_{(option or '').strip('-').replace('-', '_').upper()}"
        if option and equals and _literal(value):
            out.append(f"{option}=${{{variable}}}")
            found.append((variable, option))
        elif option and not equals and index + 1 < len(words) and _literal(words[index + 1]):
            out += [option, f"${{{variable}}}"]
            found.append((variable, option))
            index += 1
        elif tool in MYSQL_TOOLS and word.startswith("-p") and len(word) > 2 and _literal(word[2:]):
            out.append(f"-p${{{prefix}_PASSWORD}}")
            found.append((f"{prefix}_PASSWORD", "-p..."))
        else:
            out.append(word)
        index += 1
    return tuple(out), found


def join(words: Sequence[str]) -> str:
    """Words as one command line: plain words as they are, a word with ``$`` in double quotes
    (the shell still expands its variables), any other in single quotes."""
    out: list[str] = []
    for word in words:
        if word and all(c.isalnum() or c in "@%+=:,./-_" for c in word):
            out.append(word)
        elif "$" in word:
            escaped = word.replace("\\", "\\\\").replace('"', '\\"').replace("`", "\\`")
            out.append(f'"{escaped}"')
        else:
            out.append(shlex.quote(word))
    return " ".join(out)


def tokens(text: str) -> tuple[str, ...]:
    """The shell words and operators of ``text`` (empty when it does not split)."""
    try:
        lexer = shlex.shlex(text, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        return tuple(lexer)
    except ValueError:
        return ()
