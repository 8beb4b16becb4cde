"""``pipedsl import``: declarative Jenkinsfiles → a project file in pipedsl's DSL.

::

    result = import_jenkinsfiles([("backend/Jenkinsfile", text)], project="shop")
    result.source   # a complete projects/shop.py
    result.report   # what was converted, kept raw or dropped, where and why

Pure: it takes texts and returns results; the CLI reads and writes the files.
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence

import attrs

from pipedsl.errors import PipedslError
from pipedsl.importer.cluster_import import shipped_patterns, with_runtimes
from pipedsl.importer.convert import Converted, convert_file
from pipedsl.importer.emit import Node, Out, Writer, imports, statement, string
from pipedsl.importer.parse import Call, Str, parse_jenkinsfile
from pipedsl.importer.report import AuditRow, ImportRefused, ImportResult, ReportLine
from pipedsl.importer.shell import without_workspace
from pipedsl.model.project import BackingService, Component, Project
from pipedsl.render import render_project

__all__ = [
    "AuditRow",
    "ImportRefused",
    "ImportResult",
    "ReportLine",
    "audit",
    "import_jenkinsfiles",
]


def component_name(path: str, pipeline: Call, taken: set[str]) -> str:
    """A DNS-1123 component name: the folder every ``dir()`` of the pipeline works in (the
    component's source), else from the Jenkinsfile's path: ``backend/Jenkinsfile`` →
    ``backend``, ``frontend.Jenkinsfile`` → ``frontend``, ``backpipe.txt`` → ``backpipe``."""
    folders = source_folders(pipeline)
    if len(folders) == 1:
        stem = folders.pop()
    else:
        folder, file = posixpath.split(path.replace("\\", "/"))
        stem = file.split(".", 1)[0]
        if stem.lower() in ("jenkinsfile", ""):
            stem = posixpath.basename(folder) or "app"
        elif file.lower().startswith(("jenkinsfile.", "jenkinsfile-")):
            stem = file[len("jenkinsfile.") :].split(".", 1)[0] or "app"
    name = "".join(c if c.isascii() and c.isalnum() else "-" for c in stem.lower())
    name = "-".join(part for part in name.split("-") if part)[:63].strip("-") or "app"
    if not name[0].isalpha():
        name = f"c-{name}"[:63]
    base, n = name, 2
    while name in taken:
        name, n = f"{base}-{n}", n + 1
    taken.add(name)
    return name


def source_folders(call: Call) -> set[str]:
    """The first path segments of the literal ``dir()`` paths below ``call``, workspace
    prefixes removed."""
    found: set[str] = set()
    for inner in call.body or ():
        if not isinstance(inner, Call):
            continue
        if inner.name == "dir" and inner.args and isinstance(inner.args[0], Str):
            relative, _ = without_workspace(inner.args[0].value)
            first = relative.strip("/").split("/", 1)[0]
            if first not in ("", "."):
                found.add(first)
        found |= source_folders(inner)
    return found


def import_jenkinsfiles(
    files: Sequence[tuple[str, str]],
    *,
    project: str,
    repository: str | None = None,
    manifests: Sequence[tuple[str, str]] = (),
) -> ImportResult:
    """Import ``files`` ((display path, text) pairs, one component each) as the project
    ``project``; ``repository`` overrides the Git URL the checkouts name. ``manifests`` are
    the team's Kubernetes YAML files ((path, text) pairs): what they describe becomes the
    components' typed ``runtime=`` and the project's backing services (see
    :mod:`pipedsl.importer.cluster`).

    Raises :class:`ImportRefused` for a file that is not a declarative Jenkinsfile, a manifest
    file that is not YAML, and for a project without a repository URL (none given, none in a
    ``git`` step).
    """
    if not files:
        raise ImportRefused("no Jenkinsfiles given: pass at least one declarative Jenkinsfile")
    comments: dict[int, str] = {}
    taken: set[str] = set()
    converted: list[Converted] = []
    for path, text in files:
        converted.append(_convert(path, text, taken, comments))
    url = repository or next((c.repository for c in converted if c.repository), None)
    if url is None:
        raise ImportRefused(
            f"{files[0][0]}: no repository URL: the Jenkinsfiles check out `scm` and name no "
            "`git url:`; pass repository= (the project's Git URL)"
        )
    branch = next((c.branch for c in converted if c.branch), None)
    converted = [
        _checkout_of_project(c, url, branch, override=repository is not None) for c in converted
    ]
    report: list[ReportLine] = [line for c in converted for line in c.report]
    backing: list[BackingService] = []
    if manifests:
        converted, backing, notes = with_runtimes(
            converted, manifests, lambda cs, bs: _project(project, url, branch, cs, bs)
        )
        report += notes
    try:
        render_project(_project(project, url, branch, [c.component for c in converted], backing))
    except PipedslError as exc:
        where = "; ".join(f"components[{c.component.name}] is {c.path}" for c in converted)
        raise ImportRefused(
            f"the imported project is not valid ({where}): {exc}; fix the Jenkinsfile or "
            "import the others and describe this one in pipedsl"
        ) from exc
    source = _source(
        project=project,
        url=url,
        branch=branch,
        converted=converted,
        backing=backing,
        comments=comments,
        paths=[p for p, _ in files] + [p for p, _ in manifests],
    )
    shipped = tuple(dict.fromkeys(p for c in converted for p in shipped_patterns(c)))
    return ImportResult(source, report, shipped)


def _project(
    name: str,
    url: str,
    branch: str | None,
    components: Sequence[Component],
    backing: Sequence[BackingService],
) -> Project:
    if branch:
        return Project(
            name, repository=url, branch=branch, components=components, backing_services=backing
        )
    return Project(name, repository=url, components=components, backing_services=backing)


def _convert(path: str, text: str, taken: set[str], comments: dict[int, str]) -> Converted:
    """One file, parsed and converted; what the model refuses is refused with the file."""
    pipeline = parse_jenkinsfile(path, text)
    try:
        return convert_file(path, component_name(path, pipeline, taken), pipeline, comments)
    except ImportRefused:
        raise
    except PipedslError as exc:
        raise ImportRefused(f"{path}: the model refuses what it converts to: {exc}") from exc


def _checkout_of_project(
    converted: Converted, url: str, branch: str | None, *, override: bool
) -> Converted:
    """A preset checks out the job's repository (``checkout scm``): keep it only when that is
    the repository its ``git`` step named (or the one the user gave), on the same branch
    (or with ``branch=``)."""
    call = converted.preset
    if call is None or call.checkout is None:
        return converted
    git_url, git_branch = call.checkout
    if git_url != url and not override:
        return attrs.evolve(converted, preset=None)
    if branch is not None and git_branch != branch:
        moved = call.with_branch(git_branch)
        return attrs.evolve(converted, preset=moved)
    return converted


def _source(
    *,
    project: str,
    url: str,
    branch: str | None,
    converted: list[Converted],
    backing: Sequence[BackingService],
    comments: dict[int, str],
    paths: list[str],
) -> str:
    writer = Writer(comments)
    bodies: list[str] = []
    variables: list[str] = []
    for one in converted:
        name = writer.variable(one.component.name)
        variables.append(name)
        if one.preset is not None:
            items = [(None, string(one.preset.name), None)] + [
                (key, writer.value(value), None) for key, value in one.preset.options
            ]
            out = Node(writer.name(one.preset.function), tuple(items))
            bodies.append(statement(name, out, f"{one.path}: the {one.preset.function} preset"))
        else:
            bodies.append(statement(name, writer.value(one.component), f"{one.path}"))
    options: list[tuple[str | None, Out, str | None]] = [
        (None, string(project), None),
        ("repository", string(url), None),
    ]
    if branch:
        options.append(("branch", string(branch), None))
    options.append(("components", Node("", tuple((None, v, None) for v in variables), "[]"), None))
    if backing:
        options.append(("backing_services", writer.sequence(list(backing)), None))
    final = statement("project", Node(writer.name("Project"), tuple(options)))
    shared = [statement(n, out, c) for n, out, c in writer.definitions]
    # Paths as plain text in the docstring: no quote or backslash can end it early.
    listed = "".join(f"- {_plain(path)}\n" for path in paths)
    docstring = (
        f'"""Imported by `pipedsl import` from\n\n{listed}\n'
        "Review the import report: every raw step below is marked `# pipedsl import:`.\n"
        '"""'
    )
    blocks = [docstring, imports(writer.names), *shared, *bodies, final]
    source = "\n\n".join(blocks) + "\n"
    try:
        compile(source, f"projects/{project}.py", "exec")
    except (SyntaxError, ValueError) as exc:  # a defect of the emitter: never written
        raise ImportRefused(
            f"the project file the import would write does not parse ({exc}); please report it"
        ) from None
    return source


def _plain(path: str) -> str:
    return "".join(c if c.isprintable() and c not in '\\"' else "?" for c in path)


def audit(files: Sequence[tuple[str, str]]) -> list[AuditRow]:
    """Per file, how much of it converts: its steps, how many became typed steps (or part of
    a preset or notifier), how many stay raw; a refused file says why."""
    rows: list[AuditRow] = []
    taken: set[str] = set()
    for path, text in files:
        try:
            pipeline = parse_jenkinsfile(path, text)
            one = convert_file(path, component_name(path, pipeline, taken), pipeline, {})
        except ImportRefused as exc:
            rows.append(AuditRow(path, 0, 0, 0, refused=str(exc)))
            continue
        except PipedslError as exc:
            rows.append(AuditRow(path, 0, 0, 0, refused=f"{path}: {exc}"))
            continue
        rows.append(AuditRow(path, one.steps, one.typed, one.raw))
    return rows
