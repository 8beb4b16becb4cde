"""Model objects → the Python source of a project file, laid out as ``ruff format`` would.

Every object is written with the public ``from pipedsl import ...`` names: the constructor
of an attrs class with the fields that differ from their defaults, and the named
constructors where the model has them (``Credential.secret_text("id")``, ``Agent.on("x")``,
``hub.tagged("{build}")``, ``sh("...")``). Registries, SSH servers and notifiers are written
once, as module variables, and referred to by name. A call is written on one line when it
fits in 100 columns, otherwise one argument a line with a trailing comma (which ``ruff
format`` keeps), so the output is already formatted.
"""

from __future__ import annotations

import keyword
from collections.abc import Sequence

import attrs

from pipedsl.model.agents import Agent
from pipedsl.model.credentials import Credential
from pipedsl.model.infra import DOCKER_HUB, Image, Repository, SshServer
from pipedsl.model.k8s.custom import CustomObject
from pipedsl.model.k8s.network import ServicePort
from pipedsl.model.k8s.runtime import OBJECT_TYPES
from pipedsl.model.notify import Slack
from pipedsl.model.pipeline import Tool
from pipedsl.model.steps import Sh
from pipedsl.model.values import GString
from pipedsl.record import Record

LINE = 100
INDENT = "    "


@attrs.frozen(eq=False, repr=False)
class Node(Record):
    """A call, list or dict to lay out: ``head`` then ``items`` inside ``brackets``; each item is
    a key (or ``None``), its value (text or a node) and an optional own-line comment."""

    head: str
    items: tuple[tuple[str | None, Out, str | None], ...]
    brackets: str = "()"


@attrs.frozen(eq=False, repr=False)
class Lines(Record):
    """A long multi-line string written as one literal per line, concatenated inside
    parentheses (what ``ruff format`` keeps)."""

    parts: tuple[str, ...]


Out = str | Node | Lines


class Writer:
    """Writes values as source, collecting the names to import and the module variables."""

    def __init__(self, comments: dict[int, str]) -> None:
        self.comments = comments
        self.names: set[str] = set()
        self.variables: dict[object, str] = {}
        self.definitions: list[tuple[str, Out, str | None]] = []
        # Lower-case names the file imports or ends with: never a variable's.
        self.taken: set[str] = {"sh", "project", "spring_boot_backend", "npm_frontend"}

    def name(self, name: str) -> str:
        self.names.add(name)
        return name

    def variable(self, wanted: str) -> str:
        base = "".join(c if c.isalnum() else "_" for c in wanted).strip("_").lower() or "value"
        if base[0].isdigit() or keyword.iskeyword(base):
            base = f"v_{base}"
        name, n = base, 2
        while name in self.taken:
            name, n = f"{base}_{n}", n + 1
        self.taken.add(name)
        return name

    def define(self, value: object, wanted: str, build: Out, comment: str | None = None) -> str:
        if value not in self.variables:
            name = self.variable(wanted)
            self.variables[value] = name
            self.definitions.append((name, build, comment))
        return self.variables[value]

    # --- values ---------------------------------------------------------------------------

    def value(self, value: object) -> Out:  # noqa: PLR0912  (a kind a branch)
        if value is None or isinstance(value, bool | int | float):
            return repr(value)
        if isinstance(value, str):
            lines = value.splitlines(keepends=True)
            if len(lines) > 2 and len(value) > LINE:
                return Lines(tuple(string(line) for line in lines))
            return string(value)
        if isinstance(value, ServicePort) and value.port is None and value.node_port is None:
            return self.value(value.target)  # Service(ports=) takes the container port
        if isinstance(value, tuple | list):
            return self.sequence(value)
        if isinstance(value, dict):
            return Node(
                "", tuple((self.key(k), self.value(v), None) for k, v in value.items()), "{}"
            )
        if isinstance(value, Credential):
            return f"{self.name('Credential')}.{value.kind}({string(value.id)})"
        if isinstance(value, Sh):
            items: list[tuple[str | None, Out, str | None]] = [(None, string(value.script), None)]
            if value.label is not None:
                items.append(("label", string(value.label), None))
            return Node(self.name("sh"), tuple(items))
        if isinstance(value, Image):
            return self.image(value)
        if isinstance(value, Repository):
            return self.repository(value)
        if isinstance(value, SshServer):
            return self.define(value, value.config_name, self.attrs(value))
        if isinstance(value, Slack):
            return self.define(value, "slack", self.attrs(value))
        if isinstance(value, Agent):
            return self.agent(value)
        if isinstance(value, Tool) and value.version is None and value.home is None:
            return string(value.name)
        if isinstance(value, CustomObject):
            # As the document it is: CustomObject.of({...}).
            document = Node(
                f"{self.name('CustomObject')}.of", ((None, self.value(value.document()), None),)
            )
            return self.define(value, _object_variable(value), document)
        if isinstance(value, OBJECT_TYPES):
            # Kubernetes objects refer to each other: each is one module variable.
            return self.define(value, _object_variable(value), self.attrs(value))
        if isinstance(value, GString):
            return Node(
                self.name("GString"), tuple((None, self.value(p), None) for p in value.parts)
            )
        if attrs.has(type(value)):
            return self.attrs(value)
        raise TypeError(f"pipedsl import cannot write {value!r}")  # a bug: every kind is above

    def key(self, key: object) -> str:
        if isinstance(key, str):
            return string(key)
        out = self.value(key)
        assert isinstance(out, str)  # noqa: S101  (keys are strings)
        return out

    def sequence(self, values: Sequence[object]) -> Out:
        pairs = [
            v for v in values if isinstance(v, tuple) and len(v) == 2 and isinstance(v[0], str)
        ]
        if values and len(pairs) == len(values):
            if len({k for k, _ in pairs}) == len(pairs):
                return Node("", tuple((self.key(k), self.value(v), None) for k, v in pairs), "{}")
            # A key given twice (a Secret's key mounted at two paths) stays pairs: a dict
            # literal would keep the last one only.
            return Node(
                "",
                tuple(
                    (None, Node("", ((None, self.key(k), None), (None, self.value(v), None))), None)
                    for k, v in pairs
                ),
                "[]",
            )
        return Node(
            "",
            tuple((None, self.value(v), self.comments.get(id(v))) for v in values),
            "[]",
        )

    def image(self, image: Image) -> Out:
        repository = self.repository(image.repository)
        items: list[tuple[str | None, Out, str | None]] = [(None, string(image.tag), None)]
        if image.var != "IMAGE":
            items.append(("var", string(image.var), None))
        return Node(f"{repository}.tagged", tuple(items))

    def repository(self, repository: Repository) -> str:
        registry = repository.registry
        login: list[tuple[str | None, Out, str | None]] = []
        if registry.login is not None:
            login.append(("login", self.value(registry.login), None))
        if registry.host == DOCKER_HUB:
            build: Out = Node(
                self.name("DockerHub"), ((None, string(repository.path), None), *login)
            )
            return self.define(repository, "hub", build)
        host = registry.host.split(":")[0].split(".")
        wanted = host[1] if len(host) > 2 and host[0] == "www" else host[0]
        registry_name = self.define(
            registry,
            wanted,
            Node(self.name("Registry"), ((None, string(registry.host), None), *login)),
        )
        build = Node(f"{registry_name}.repository", ((None, string(repository.path), None),))
        return self.define(repository, repository.path.rsplit("/", 1)[-1] + "_repo", build)

    def agent(self, agent: Agent) -> Out:
        head = self.name("Agent")
        if agent == Agent.any():
            return f"{head}.any()"
        if agent == Agent.none():
            return f"{head}.none()"
        if agent.label is not None and agent == Agent.on(agent.label):
            return f"{head}.on({string(agent.label)})"
        docker = agent.docker_agent
        if docker is not None and agent == Agent.docker(docker.image):
            return f"{head}.docker({string(docker.image)})"
        return self.attrs(agent)

    def attrs(self, value: object) -> Node:
        """``Class(required, ..., field=value)`` for the fields that differ from the default."""
        cls = type(value)
        assert attrs.has(cls)  # noqa: S101  (called for attrs instances only)
        positional: list[tuple[str | None, Out, str | None]] = []
        keywords: list[tuple[str | None, Out, str | None]] = []
        for field in attrs.fields(cls):
            if not field.init:
                continue
            current = getattr(value, field.name)
            default = field.default
            if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
                default = default.factory(value) if default.takes_self else default.factory()
            required = default is attrs.NOTHING
            if not required and _same(current, default):
                continue
            if required and not field.kw_only:
                positional.append((None, self.value(current), None))
            else:
                keywords.append((field.alias or field.name, self.value(current), None))
        return Node(self.name(cls.__name__), (*positional, *keywords))


_SHORT = {
    "ConfigMap": "config",
    "PersistentVolumeClaim": "claim",
    "PersistentVolume": "volume",
    "HorizontalPodAutoscaler": "autoscaler",
}


def _object_variable(obj: object) -> str:
    """``backend-config`` ConfigMap → ``backend_config``; ``backend`` Deployment →
    ``backend_deployment``."""
    kind = str(getattr(obj, "kind", type(obj).__name__))  # a custom object's own kind
    short = _SHORT.get(kind, kind.lower())
    name = str(getattr(obj, "name", "")).replace("-", "_").replace(".", "_")
    return name if name.endswith(short) else f"{name}_{short}"


def _same(current: object, default: object) -> bool:
    try:
        return bool(current == default)
    except Exception:
        return False


def string(text: str) -> str:
    """A Python string literal for ``text``, quoted as ``ruff format`` prefers."""
    quote = "'" if text.count('"') > text.count("'") else '"'
    out = [quote]
    for char in text:
        if char == "\\":
            out.append("\\\\")
        elif char == quote:
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif char == "\r":
            out.append("\\r")
        elif ord(char) < 32 or ord(char) == 127:
            out.append(f"\\x{ord(char):02x}")
        else:
            out.append(char)
    out.append(quote)
    return "".join(out)


def flat(out: Out) -> str | None:
    """``out`` on one line, or ``None`` when a comment forces it onto several."""
    if isinstance(out, str):
        return out
    if isinstance(out, Lines):
        return None
    parts: list[str] = []
    for key, value, comment in out.items:
        if comment is not None:
            return None
        text = flat(value)
        if text is None:
            return None
        parts.append(
            f"{key}={text}" if key and out.brackets == "()" else (f"{key}: {text}" if key else text)
        )
    return f"{out.head}{out.brackets[0]}{', '.join(parts)}{out.brackets[1]}"


def layout(out: Out, indent: int, prefix: int, suffix: int) -> str:
    """``out`` starting after ``prefix`` columns at nesting ``indent``, with ``suffix`` columns
    to follow it on its last line."""
    one = flat(out)
    if one is not None and (
        isinstance(out, str) or indent * 4 + prefix + len(one) + suffix <= LINE
    ):
        return one
    if isinstance(out, Lines):
        pad = INDENT * (indent + 1)
        return "(\n" + "".join(f"{pad}{part}\n" for part in out.parts) + f"{INDENT * indent})"
    assert isinstance(out, Node)  # noqa: S101  (a string always fits as itself)
    if not out.items:
        return f"{out.head}{out.brackets}"
    pad = INDENT * (indent + 1)
    lines = [f"{out.head}{out.brackets[0]}"]
    for key, value, comment in out.items:
        if comment is not None:
            lines += [f"{pad}# {c}" for c in wrap(comment, LINE - len(pad) - 2)]
        lead = f"{key}=" if key and out.brackets == "()" else (f"{key}: " if key else "")
        lines.append(f"{pad}{lead}{layout(value, indent + 1, len(lead), 1)},")
    lines.append(f"{INDENT * indent}{out.brackets[1]}")
    return "\n".join(lines)


def wrap(text: str, width: int) -> list[str]:
    """``text`` in lines of at most ``width`` characters, broken at spaces."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        if current and len(current) + 1 + len(word) > width:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    return [*lines, current] if current else lines


def statement(name: str, out: Out, comment: str | None = None) -> str:
    """``name = out`` laid out at module level."""
    head = f"{name} = "
    text = f"{head}{layout(out, 0, len(head), 0)}"
    if comment:
        return "\n".join([*(f"# {c}" for c in wrap(comment, LINE - 2)), text])
    return text


def imports(names: set[str]) -> str:
    """``from pipedsl import (...)`` sorted as ruff's isort sorts them (constants, classes,
    then functions)."""

    def order(name: str) -> tuple[int, str, str]:
        if name.isupper() and len(name) > 1:
            return 0, name.lower(), name
        return (1 if name[0].isupper() else 2), name.lower(), name

    ordered = sorted(names, key=order)
    one = f"from pipedsl import {', '.join(ordered)}"
    if len(one) <= LINE:
        return one
    return "from pipedsl import (\n" + "".join(f"{INDENT}{n},\n" for n in ordered) + ")"
