"""The last line of defence: no generated file may contain a secret, and no Jenkinsfile may
let Groovy interpolate a credential variable into a string.

The model cannot hold a secret value, but raw ``sh`` scripts, ``Groovy`` steps, messages and
ConfigMap values are free text; this scan catches a pasted token there before it is written.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from pipedsl.errors import Problem
from pipedsl.render.artifacts import Artifact

# (what, pattern) — each pattern matches a value, never a reference such as ${VAR} or $VAR.
SECRET_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (what, re.compile(pattern))
    for what, pattern in (
        ("a private key", r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED )?PRIVATE KEY-----"),
        ("a GitHub token", r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,})"),
        ("a Slack token", r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),
        (
            "a Slack webhook URL",
            r"hooks\.slack\.com/services/T[A-Za-z0-9]+/B[A-Za-z0-9]+/[A-Za-z0-9]+",
        ),
        ("a Discord webhook URL", r"discord(?:app)?\.com/api/webhooks/\d+/[A-Za-z0-9_-]{20,}"),
        ("an AWS access key id", r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
        ("a Docker Hub access token", r"\bdckr_pat_[A-Za-z0-9_-]{20,}"),
        ("a JSON web token", r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"),
        (
            "a password on a docker login command line",
            r"docker\s+login\b[^\n]*\s(?:-p|--password)(?:\s|=)(?!-)",
        ),
        (
            "a literal assigned to a secret-looking name",
            # The name must end in the secret word: tokenCredentialId or passwordVariable name
            # a credential id or a variable, not a secret.
            r"(?i:password|passwd|secret|token|api_?key|access_?key|private_?key)\s*[:=]\s*"
            r"(?:'[^'$\n]{4,}'|\"[^\"$\n]{4,}\")",
        ),
        (
            "the base64 of a common default password",
            r"\b(?:cGFzc3dvcmQ=?|YWRtaW4=?|cm9vdA==|Y2hhbmdlbWU=?|c2VjcmV0|MTIzNDU2|cGFzc3dvcmQxMjM=?)(?![A-Za-z0-9+/])",
        ),
    )
)


# All patterns in one expression, each a named group, so a file is scanned once.
_ANY_SECRET = re.compile(
    "|".join(f"(?P<p{i}>{pattern.pattern})" for i, (_, pattern) in enumerate(SECRET_PATTERNS))
)


# Generated files repeat lines heavily (the same notification in every stage and component, an
# inline job embedding its Jenkinsfile): each distinct line is matched once per process.
_VERDICTS: dict[str, str | None] = {}
_VERDICTS_LIMIT = 200_000


def find_secrets(artifacts: Iterable[Artifact]) -> list[Problem]:
    """Every line of every artifact that looks like it holds a secret, as ``file:line``."""
    verdicts = _VERDICTS
    if len(verdicts) > _VERDICTS_LIMIT:
        verdicts.clear()
    problems = []
    for artifact in artifacts:
        for number, line in enumerate(artifact.text.split("\n"), 1):
            if line not in verdicts:
                match = _ANY_SECRET.search(line)
                verdicts[line] = (
                    SECRET_PATTERNS[int(str(match.lastgroup)[1:])][0] if match else None
                )
            what = verdicts[line]
            if what is not None:
                problems.append(
                    Problem(
                        f"{artifact.path}:{number}",
                        f"looks like {what}; keep secrets in Jenkins credentials or Kubernetes "
                        "Secrets and refer to them by id",
                    )
                )
    return problems


# Groovy tokens that can hold a quote character: comments and string literals. The body of a
# double-quoted (interpolating) literal is captured; everything else is skipped over whole.
_Q3 = "'" * 3
_D3 = '"' * 3
_GROOVY_TOKENS = re.compile(
    r"//[^\n]*"
    r"|/\*.*?\*/"
    rf"|{_Q3}(?:\\.|[^\\])*?{_Q3}"
    rf"|{_D3}((?:\\.|[^\\])*?){_D3}"
    r"|'(?:\\.|[^\\'\n])*'"
    r'|"((?:\\.|[^\\"\n])*)"',
    re.DOTALL,
)


def _double_quoted_strings(code: str) -> Iterator[str]:
    """The contents of the double-quoted (interpolating) string literals of Groovy ``code``,
    skipping comments and single-quoted strings."""
    for match in _GROOVY_TOKENS.finditer(code):
        body = match.group(1) if match.group(1) is not None else match.group(2)
        if body is not None:
            yield body


def interpolated_variables(jenkinsfile: str, names: Iterable[str]) -> list[str]:
    """Which of ``names`` a Jenkinsfile interpolates in a GString (``"$NAME"``, ``"${NAME}"``,
    ``"${env.NAME}"``): for credential variables, exactly what Jenkins warns about."""
    wanted = set(names)
    found = []
    for body in _double_quoted_strings(jenkinsfile):
        for match in re.finditer(r"(?<!\\)\$\{?\s*(?:env\.)?([A-Za-z_][A-Za-z0-9_]*)", body):
            if match.group(1) in wanted:
                found.append(match.group(1))
    return found


_BINDING = re.compile(
    r"(?:usernameVariable|passwordVariable|variable|keyFileVariable|passphraseVariable):\s*'([A-Za-z_][A-Za-z0-9_]*)'"
)


def credential_variables(jenkinsfile: str) -> set[str]:
    """Variable names bound by ``withCredentials`` in a Jenkinsfile."""
    return set(_BINDING.findall(jenkinsfile))


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
