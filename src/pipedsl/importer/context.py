"""What converting one Jenkinsfile shares: the report, the environment, credentials and images."""

from __future__ import annotations

import re
import shlex
import textwrap

from pipedsl.errors import PipedslError
from pipedsl.importer.parse import Assign, Call, Expr, GStr, Other, Ref, Str, Value
from pipedsl.importer.report import Kind, ReportLine
from pipedsl.model.credentials import Credential
from pipedsl.model.infra import DockerHub, Image, Registry, Repository
from pipedsl.model.pipeline import POST_CONDITIONS as MODEL_POST_CONDITIONS
from pipedsl.model.steps import Groovy, Sh, Step
from pipedsl.model.values import GroovyExpr, GString

POST_CONDITIONS = MODEL_POST_CONDITIONS


BUILD_NUMBER_NAMES = frozenset(
    {"BUILD_ID", "BUILD_NUMBER", "env.BUILD_ID", "env.BUILD_NUMBER", "currentBuild.number"}
)


SECRET_WORDS = (
    "PASSWORD", "PASSWD", "PASS", "PW", "PWD", "SECRET", "TOKEN", "APIKEY", "API_KEY", "AUTH",
)  # fmt: skip


DOCKER_HUB_HOSTS = ("docker.io", "index.docker.io", "registry-1.docker.io")


def is_secret_name(name: str) -> bool:
    """A variable name that says it holds a secret (``dockerhubpw``, ``DB_PASSWORD``,
    ``DB_PWD``, ``NPM_AUTH``; not the shell's ``PWD``)."""
    upper = name.upper()
    if upper in ("PWD", "OLDPWD"):
        return False
    parts = upper.replace("-", "_").split("_")
    return any(w in parts or upper.endswith(w) for w in SECRET_WORDS)


def _literal_code(code: str) -> bool:
    return code.strip().isdigit() or "'" in code or '"' in code


def holds_literal(value: object) -> bool:
    """Whether a value has text written into the Jenkinsfile: a non-empty string, a GString
    with literal parts (or a quoted literal inside ``${}``), a number, a concatenation of
    quoted strings. For a secret's name, any of these is the secret, written down."""
    if isinstance(value, Str):
        return bool(value.value)
    if isinstance(value, GStr):
        return any(
            (isinstance(part, str) and part.strip())
            or (isinstance(part, Expr) and _literal_code(part.code))
            for part in value.parts
        )
    if isinstance(value, Ref):
        return _literal_code(value.code)
    return False


_ASSIGNED = re.compile(r"([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*['\"]?(?![$'\"\s])")
_SECRET_FORMS = (
    (re.compile(r"sshpass\s+-p\s*(?!\$)\S"), "sshpass -p"),
    (re.compile(r"(?:\s-u|--user)[=\s]+[^\s:'\"]+:(?![$\s])\S"), "a user:password option"),
    (
        re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^/@\s:'\"]+:(?!\$)[^/@\s'\"]+@"),
        "a password in a URL",
    ),
    (
        re.compile(r"(?i)--from-literal=[^=\s]*(?:pass|token|secret|key)[^=\s]*=(?![$\s])"),
        "kubectl --from-literal",
    ),
    (re.compile(r"(?i)bearer\s+(?![$\s])[A-Za-z0-9._~+/=-]{8,}"), "a bearer token"),
)
_PROSE = re.compile(
    r"(?i)\b(?:password|passwd|passphrase|pwd|token|secret|api[ _-]?key)s?"
    r"\s*(?:is|was|:|=)\s*['\"`]?([^\s'\"`]{6,})"
)
"""A secret given away in words: ``the password is Summer2024!``, ``token: ab12cd34``."""


def _looks_like_a_secret(word: str) -> bool:
    """A word that is a password rather than English: it has a digit or a symbol, or mixes
    case (``hunter2``, ``S3cr3t!``, ``xKcDpAsS``; not ``required``, ``${PASS}``)."""
    word = word.rstrip(".,;)")
    if word.startswith(("$", "%", "<")) or len(word) < 6:
        return False
    symbols = any(not c.isalnum() for c in word)
    return any(c.isdigit() for c in word) or symbols or (word != word.lower() != word.upper())


def secret_in_text(text: str) -> str | None:
    """What kind of secret literal ``text`` (a command or Groovy kept as written) holds, never
    the secret itself; None when it holds none that the importer can tell."""
    for found in _ASSIGNED.finditer(text):
        if is_secret_name(found.group(1)):
            return f"a literal assigned to {found.group(1)}"
    for pattern, kind in _SECRET_FORMS:
        if pattern.search(text):
            return kind
    if any(_looks_like_a_secret(m.group(1)) for m in _PROSE.finditer(text)):
        return "a password written in words"
    return None


class Context:
    """What converting one Jenkinsfile collects: the report, comments on raw steps, the
    pipeline's environment, credentials, images and counts."""

    def __init__(self, path: str, name: str, comments: dict[int, str]) -> None:
        self.path = path
        self.name = name
        self.comments = comments
        self.report: list[ReportLine] = []
        self.env: dict[str, Value] = {}
        self.env_lines: dict[str, int] = {}
        self.lines: dict[int, int] = {}  # id(step) → the line it came from
        self.secret_env: dict[str, str] = {}  # name → credential id replacing its literal
        self.bound: dict[str, Credential] = {}  # variables bound by withCredentials
        self.used_env: set[str] = set()  # environment names a converted field read
        self.id_env: set[str] = set()  # environment names read as a credential id
        self.secrets: dict[str, str] = {}  # every secret-looking literal, name → credential id
        self.images: dict[tuple[str, str], Image] = {}
        self.latest: set[str] = set()
        self.gated = False  # the pipeline has an approval (input) stage
        self.login_bindings: set[str] = set()  # credential ids only a docker login read
        # id(login step) → (line, what): logins a typed Docker Push makes unnecessary
        self.pending_logins: dict[int, tuple[int, str]] = {}
        self.withcredentials_lines: dict[int, int] = {}  # id(WithCredentials) → its line
        self.login: Credential | None = None
        self.repository: str | None = None
        self.branch: str | None = None
        self.shipped: str | None = None
        self.steps = 0
        self.typed = 0
        self.raw = 0

    def note(self, line: int, kind: Kind, what: str, why: str) -> None:
        """Add a report line for this file."""
        self.report.append(ReportLine(self.path, line, kind, what, why))

    def secret_step(self, line: int, kind: str, head: str) -> Sh:
        """In place of a step kept as written that holds a secret: a step that fails saying
        so. The secret is never copied, into the project file or the report."""
        self.note(
            line,
            "raw",
            f"{head} holding a secret ({kind})",
            "replaced by a step that fails saying so, so the secret is never copied: move it to "
            "a Jenkins credential and write the step with WithCredentials",
        )
        message = (
            f"pipedsl import: {self.path}:{line}: this step held a secret ({kind}) and was not "
            "imported; move the secret to a Jenkins credential and write the step with "
            "WithCredentials"
        )
        return Sh(f"echo {shlex.quote(message)} >&2; exit 1")

    def guarded_sh(self, text: str, line: int, **options: str) -> Sh:
        """``sh`` of ``text``, unless it holds a secret literal (see :meth:`secret_step`)."""
        kind = secret_in_text(text)
        if kind is not None:
            return self.secret_step(line, kind, "sh")
        return Sh(text, **options)

    def raw_step(self, code: str, line: int, why: str, *, what: str | None = None) -> Step:
        """A marked raw Groovy step, reported and commented (a failing step in its place when
        it holds a secret literal)."""
        kind = secret_in_text(code)
        if kind is not None:
            self.raw += 1
            head = code.strip().split("(", 1)[0].split()[0] if code.strip() else "step"
            return self.secret_step(line, kind, head[:30])
        first, _, rest = code.strip().partition("\n")
        step = Groovy(f"{first}\n{textwrap.dedent(rest)}" if rest else first)
        if what is None:
            what = first if len(first) <= 60 else first[:57] + "..."
        self.comments[id(step)] = f"pipedsl import: {why} ({self.path}:{line})"
        self.note(line, "raw", what, why)
        self.raw += 1
        return step

    # --- values -------------------------------------------------------------------------

    def literal(self, value: Value | None) -> str | None:
        """A string the value surely is: a literal, or an environment variable set to one."""
        if isinstance(value, Str):
            return value.value
        if isinstance(value, Ref):
            name = value.code.removeprefix("env.")
            found = self.env.get(name)
            if isinstance(found, Str):
                self.used_env.add(name)
                return found.value
            if value.code.isdigit():
                return value.code
        return None

    def credential_id(self, value: Value | None) -> str | None:
        """A credential id; an environment variable it is read from holds an id, not a secret."""
        if isinstance(value, Ref):
            self.id_env.add(value.code.removeprefix("env."))
        return self.literal(value)

    def text(self, value: Value | None) -> str | GString | None:
        """A Groovy string as the model's text: a literal or a ``GString`` of expressions."""
        if isinstance(value, Str):
            return value.value
        if isinstance(value, GStr):
            return GString(*(p if isinstance(p, str) else GroovyExpr(p.code) for p in value.parts))
        literal = self.literal(value)
        if literal is not None:
            return literal
        if isinstance(value, Ref) and "\n" not in value.code:
            return GString(GroovyExpr(value.code))
        return None

    def shell_text(self, value: Value | None, line: int) -> str | None:
        """A script Groovy would interpolate, as the shell text that reads the same values from
        the environment (``"${env.X}"`` → ``$X``); ``None`` when an expression has no variable."""
        if isinstance(value, Str):
            return value.value
        if not isinstance(value, GStr):
            return None
        out: list[str] = []
        secrets: list[str] = []
        for part in value.parts:
            if isinstance(part, str):
                out.append(part)
                continue
            name = self.variable_of(part)
            if name is None:
                return None
            if name in self.bound or name in self.secret_env or is_secret_name(name):
                secrets.append(name)
            out.append("${" + name + "}")
        for name in secrets:
            self.note(
                line,
                "converted",
                f'secret ${name} interpolated into sh "..."',
                "Groovy wrote the secret into the command line; the step is now single-quoted "
                "and the shell reads it from the environment",
            )
        return "".join(out)

    def variable_of(self, part: Expr) -> str | None:
        """The environment variable a ``${...}`` reads (``env.X``, ``params.X``, ``X``; the
        build number under any of its names), or ``None`` for any other expression."""
        code = part.code.strip()
        if code in BUILD_NUMBER_NAMES:
            return "BUILD_NUMBER"
        for prefix in ("env.", "params."):
            if code.startswith(prefix):
                code = code[len(prefix) :]
        if code.replace("_", "a").isalnum() and not code[0].isdigit():
            return code
        return None

    # --- images -------------------------------------------------------------------------

    def image(self, reference: str, line: int) -> Image | None:
        """The image a ``docker build -t``/``docker push`` names, its tag as a template."""
        if "@" in reference:
            return None
        repo, _, tag = reference.rpartition(":")
        if not repo or "/" in tag:
            repo, tag = reference, ""
        for name in ("${BUILD_NUMBER}", "$BUILD_NUMBER", "${BUILD_ID}", "$BUILD_ID"):
            tag = tag.replace(name, "{build}")
        if "$" in tag or "$" in repo:
            return None
        if tag in ("", "latest") and reference not in self.latest:
            self.latest.add(reference)
            self.note(
                line,
                "converted",
                f"image {reference} (:latest)",
                "a moving tag deploys whatever was pushed last; the image is now tagged "
                "with the build number, one tag for push and deploy",
            )
        if tag in ("", "latest"):
            tag = "{build}"
        key = (repo, tag)
        if key not in self.images:
            var = "IMAGE" if not self.images else f"IMAGE_{len(self.images) + 1}"
            try:
                self.images[key] = self.repository_of(repo).tagged(tag, var=var)
            except PipedslError:
                return None
        return self.images[key]

    def repository_of(self, path: str) -> Repository:
        """The repository of an image path: Docker Hub unless its first part is a host."""
        first = path.split("/", 1)[0]
        if "/" in path and ("." in first or ":" in first or first == "localhost"):
            host, rest = path.split("/", 1)
            if host in DOCKER_HUB_HOSTS:
                return DockerHub(rest, login=self.login_for(host))
            return Registry(host, login=self.login_for(host)).repository(rest)
        return DockerHub(path, login=self.login_for("docker.io"))

    def login_for(self, host: str) -> Credential:
        """The registry login: the one found, else ``dockerhub`` or one named after the host."""
        if self.login is not None:
            return self.login
        ident = (
            "dockerhub"
            if host in DOCKER_HUB_HOSTS
            else host.split(":", maxsplit=1)[0].replace(".", "-")
        )
        self.login = Credential.username_password(ident)
        return self.login


def line_of(statement: Call | Assign | Other) -> int:
    """The line a statement starts on."""
    return statement.line


def first_line(statement: Call | Assign | Other) -> str:
    """A statement's first line, at most 60 characters: what a report line names."""
    return statement.text.strip().split("\n", 1)[0][:60]


def reads(text: str, name: str) -> bool:
    """Whether shell ``text`` reads the variable ``name`` (``$NAME`` or ``${NAME}``)."""
    if "${" + name + "}" in text:
        return True
    start = text.find("$" + name)
    while start != -1:
        end = start + 1 + len(name)
        if end >= len(text) or not (text[end].isalnum() or text[end] == "_"):
            return True
        start = text.find("$" + name, end)
    return False
