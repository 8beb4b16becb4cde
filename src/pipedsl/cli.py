"""The ``pipedsl`` command: parse, call the library, print, exit. Everything it prints goes
through ``pipedsl.redact``, which masks the secrets of its arguments, environment and settings;
an unexpected exception is one masked ``error:`` line too, never a traceback showing a secret."""

from __future__ import annotations

import gc
import os
import stat
import sys
import traceback
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
import typer.core

from pipedsl.errors import PipedslError, SyncError
from pipedsl.redact import Secrets, mask_until_exit, masked_output

_ENV_SECRETS = ("PIPEDSL_JENKINS_TOKEN", "PIPEDSL_GITHUB_TOKEN")
_ENV_URLS = ("PIPEDSL_JENKINS_URL", "PIPEDSL_GITHUB_API")
_SECRET_FLAGS = ("--token", "--github-token")


def _add_arguments(secrets: Secrets, args: Sequence[str], environ: Mapping[str, str]) -> None:
    """Secrets on the command line (``--token``, ``--github-token``, URLs) and in the
    environment, before anything parses them."""
    for index, arg in enumerate(args):
        flag, equals, value = arg.partition("=")
        if flag in _SECRET_FLAGS:
            secrets.add(value if equals else (args[index + 1] if index + 1 < len(args) else ""))
        elif flag == "--user" and not equals and index + 1 < len(args):
            secrets.add(None, args[index + 1])
        secrets.add_url(arg)
    for name in _ENV_SECRETS:
        secrets.add(environ.get(name))
    secrets.add(None, environ.get("PIPEDSL_JENKINS_USER"))
    for name in _ENV_URLS:
        secrets.add_url(environ.get(name))


SECRETS = Secrets()
# Set (to anything), an unexpected exception also prints its traceback, masked.
ENV_TRACEBACK = "PIPEDSL_TRACEBACK"


class _PlainText:
    """What typer makes of a parameter's command-line text, without the pydantic
    ``TypeAdapter`` typer (from 0.29) builds for every parameter it processes, even one not
    given: importing pydantic for it takes 0.1 s, as long as the rest of a seed render.

    Taken here: a parameter not given (``None``, which typer passes on as ``None``, or ``()``
    for one taking several values), and for a ``Path`` or ``str`` parameter that asks typer for
    no checks but ``file_okay``/``dir_okay``, text typer would turn into ``Path(text)`` or the
    text itself (for a path: no NUL, naming nothing, or something readable of a kind
    allowed). Anything else — and any attribute typer asks for — goes to typer's own
    coercion, made on first use, so typer's results and messages stay its own.
    ``tests/test_cli_coercion.py`` holds the two to the same results."""

    def __init__(self, param: Any, element: type | None, multiple: bool, info: Any) -> None:
        self._param = param
        self._element = element
        self._multiple = multiple
        # What must not be at the path: typer refuses a file for file_okay=False.
        self._refused = (() if info.file_okay else (stat.S_IFREG,)) + (
            () if info.dir_okay else (stat.S_IFDIR,)
        )
        self._typer: Any = None

    def _typers(self) -> Any:
        if self._typer is None:
            from typer._coercion import build_runtime_param

            self._typer = build_runtime_param(self._param.type_descriptor)
        return self._typer

    def _plain(self, value: object) -> bool:
        if type(value) is not str or self._element is None:
            return False
        if self._element is str:
            return True
        if "\0" in value:
            return False
        path = Path(value)  # what typer checks ("" is ".")
        try:
            found = path.stat()
        except OSError:
            return True  # typer checks nothing more of a path that does not exist
        return stat.S_IFMT(found.st_mode) not in self._refused and os.access(path, os.R_OK)

    def coerce(self, value: Any, *args: Any, **kwargs: Any) -> Any:
        if value is None:
            return () if self._multiple else None
        if self._element is not None:
            if not self._multiple:
                if self._plain(value):
                    return self._element(value)
            elif isinstance(value, list | tuple) and all(map(self._plain, value)):
                return [self._element(item) for item in value]
        return self._typers().coerce(value, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # not typer's (copying one, before __init__ ran, asks)
            raise AttributeError(name)
        return getattr(self._typers(), name)


# Typer's defaults for a parameter's own checks: a parameter asking for others keeps typer's
# coercion of its text.
_NO_CHECKS = {
    "exists": False,
    "writable": False,
    "readable": True,
    "resolve_path": False,
    "allow_dash": False,
    "path_type": None,
    "parser": None,
}


def _plain_coercion(params: list[Any]) -> list[Any]:
    """``params``, each given a :class:`_PlainText` where typer's parameters are as this was
    written for (else typer keeps its own coercion: the same results, only slower)."""
    for param in params:
        descriptor: Any = getattr(param, "type_descriptor", None)
        info = getattr(descriptor, "parameter_info", None)
        if info is None or getattr(param, "_runtime_param", False) is not None:
            continue
        multiple = bool(param.multiple or param.nargs == -1)
        annotation = descriptor.annotation
        if multiple:
            is_list = getattr(annotation, "__origin__", None) is list
            annotation = annotation.__args__[0] if is_list else None
        plain = annotation in (Path, str) and all(
            getattr(info, name, not default) == default for name, default in _NO_CHECKS.items()
        )
        param._runtime_param = _PlainText(param, annotation if plain else None, multiple, info)
    return params


class _Command(typer.core.TyperCommand):
    """A command whose parameters are coerced by :class:`_PlainText` where they can be."""

    def get_params(self, ctx: Any) -> list[Any]:
        return _plain_coercion(super().get_params(ctx))


class _Group(typer.core.TyperGroup):
    """The command group, printing with the secrets of its arguments and environment masked:
    also usage errors, which echo what was typed (``Got unexpected extra argument
    (http://user:token@host)``), and an unexpected exception, reported in one line."""

    def main(self, args: Sequence[str] | None = None, *rest: Any, **options: Any) -> Any:
        arguments = list(sys.argv[1:] if args is None else args)
        _add_arguments(SECRETS, arguments, os.environ)
        with masked_output(SECRETS):
            try:
                return super().main(args, *rest, **options)
            except Exception as exc:
                if not options.get("standalone_mode", True):
                    raise
                command = next((a for a in arguments if not a.startswith("-")), "")
                sys.exit(_unexpected(exc, command))

    def get_params(self, ctx: Any) -> list[Any]:
        return _plain_coercion(super().get_params(ctx))


def _unexpected(error: Exception, command: str) -> int:
    """Report an exception no command handled, in one line, and return the exit code: 1 for
    sync (something could not be synced), else 2."""
    try:
        text = str(error)
    except Exception:
        text = ""
    if os.environ.get(ENV_TRACEBACK):
        traceback.print_exception(error)
    detail = f": {SECRETS.excerpt(' '.join(text.split()), 300)}" if text.strip() else ""
    typer.echo(
        f"error: unexpected {type(error).__name__}{detail} (an error pipedsl does not handle; "
        f"{ENV_TRACEBACK}=1 prints where it happened)",
        err=True,
    )
    return EXIT_CHECK_FAILED if command == "sync" else EXIT_INVALID


app = typer.Typer(
    cls=_Group,
    name="pipedsl",
    help="Render Jenkinsfiles (and more) from typed Python project descriptions.",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    add_completion=True,
    pretty_exceptions_enable=False,
    # Plain help and usage errors: rich would cost more than the rest of `--help` together.
    rich_markup_mode=None,
)


_python_showwarning = warnings.showwarning


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: Any = None,
    line: str | None = None,
) -> None:
    """pipedsl's own warnings as one line, ``warning: <file>:<line>: <what>``; others as
    Python shows them."""
    from pipedsl.errors import PipedslWarning

    if not issubclass(category, PipedslWarning):
        _python_showwarning(message, category, filename, lineno, file, line)
        return
    where = f"{filename}:{lineno}" if lineno else filename
    typer.echo(f"warning: {where}: {message}", err=True)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            shown = version("pipedsl")
        except PackageNotFoundError:
            shown = "unknown (not installed)"
        typer.echo(f"pipedsl {shown}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", "-V", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Render Jenkinsfiles (and more) from typed Python project descriptions."""
    warnings.showwarning = _show_warning


EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_INVALID = 2


def _fail(error: PipedslError) -> typer.Exit:
    typer.echo(f"error: {error}", err=True)
    return typer.Exit(EXIT_INVALID)


def _folders(projects: Path | None, out: Path | None) -> tuple[Path, Path]:
    """``--projects`` and ``--out``, defaulting to ``projects/`` and ``generated/`` of the
    repository: the nearest folder from here up that has a ``projects/`` folder."""
    if projects is not None and out is not None:
        return projects, out
    from pipedsl.load import PROJECTS_FOLDER, find_repository_root

    root = find_repository_root(Path.cwd())
    base = Path() if root is None or root == Path.cwd().absolute() else root
    return (
        projects if projects is not None else base / PROJECTS_FOLDER,
        out if out is not None else base / "generated",
    )


_PROJECTS_HELP = (
    "Folder of project files (*.py); default: projects/ of the repository (the nearest folder "
    "from here up that has one)."
)


# Options several commands share, typed once.
ProjectsOption = Annotated[
    Path | None,
    typer.Option(help=_PROJECTS_HELP, file_okay=False, metavar="DIR", show_default=False),
]
PathsArgument = Annotated[
    list[Path] | None,
    typer.Argument(
        help="Project files (or folders of them); default: every project in --projects. Only "
        "their projects' subfolders of the output are concerned.",
        show_default=False,
        metavar="PATH...",
    ),
]
UrlOption = Annotated[
    str | None,
    typer.Option(
        help="Jenkins URL (env PIPEDSL_JENKINS_URL; default http://localhost:14149).",
        metavar="URL",
    ),
]
UserOption = Annotated[
    str | None, typer.Option(help="Jenkins user (env PIPEDSL_JENKINS_USER).", metavar="NAME")
]
TokenOption = Annotated[
    str | None,
    typer.Option(
        help="Jenkins API token (env PIPEDSL_JENKINS_TOKEN; prefer it, or --config).",
        metavar="TOKEN",
    ),
]
ConfigOption = Annotated[
    Path | None,
    typer.Option(
        help="TOML file with a jenkins table (url, user, token) and a github table (api, token).",
        dir_okay=False,
        metavar="FILE",
    ),
]
TemplatesOption = Annotated[
    list[Path] | None,
    typer.Option(
        help="Folder of templates overriding the built-in ones, as given to `pipedsl render` "
        "(repeatable).",
        metavar="DIR",
    ),
]


@app.command(cls=_Command)
def render(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Project files (or folders of them) to render; default: every project in "
            "--projects. With files, only their projects' subfolders of OUT change.",
            show_default=False,
            metavar="PATH...",
        ),
    ] = None,
    projects: ProjectsOption = None,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Output folder, one subfolder per project; default: generated/ beside the "
            "projects folder.",
            metavar="DIR",
            show_default=False,
        ),
    ] = None,
    check: Annotated[
        bool, typer.Option("--check", help="Write nothing; exit 1 if the output folder is stale.")
    ] = False,
    diff: Annotated[
        bool,
        typer.Option("--diff", help="With --check: also print a unified diff of what differs."),
    ] = False,
    templates: TemplatesOption = None,
) -> None:
    """Render every project in PROJECTS (or the PATHS given) into OUT.

    Exit codes: 0 done (or up to date with --check), 1 --check found differences,
    2 invalid project or usage (or an unexpected error).
    """
    from pipedsl.load import load_paths, load_projects
    from pipedsl.render import render_projects
    from pipedsl.write import (
        check_artifacts,
        diff_lines,
        rendered_from,
        signals_as_interrupt,
        write_artifacts,
    )

    if diff and not check:
        typer.echo(
            "error: --diff goes with --check (it shows what a render would change)", err=True
        )
        raise typer.Exit(EXIT_INVALID)
    projects, out = _folders(projects, out)
    # SIGTERM and SIGHUP stop a render as Ctrl-C does: nothing half-written is left.
    with signals_as_interrupt():
        try:
            _long_lived()
            loaded = load_paths(paths) if paths else load_projects(projects)
            _long_lived()
            # With paths named, only their projects' subfolders of the output are theirs (with
            # the folder a project file rendered under a name it no longer has).
            sources = {p.source for p in loaded if p.source}
            scope = {p.name for p in loaded} | rendered_from(out, sources) if paths else None
            artifacts = render_projects(loaded, templates=templates)
            if check:
                result = check_artifacts(artifacts, out, scope=scope)
                if not result.ok:
                    typer.echo(f"{out} is out of date; run `pipedsl render`:", err=True)
                    for line in result.lines():
                        typer.echo(f"  {line}", err=True)
                    if diff:
                        typer.echo("".join(diff_lines(artifacts, out, result)), nl=False)
                    raise typer.Exit(EXIT_CHECK_FAILED)
                typer.echo(f"{out} is up to date ({len(artifacts)} files)")
                return
            changed = write_artifacts(artifacts, out, scope=scope)
        except PipedslError as error:
            raise _fail(error) from None
    state = "written" if changed else "already up to date"
    typer.echo(f"{len(artifacts)} files {state} in {out}")
    repository = projects.resolve().parent
    for project in loaded:
        if (repository / project.generated_dir).resolve() != out.resolve():
            typer.echo(
                f"note: the jobs and deploy stages of {project.name} read its files from "
                f"{project.generated_dir}/ in the repository (Project.generated_dir), not {out}",
                err=True,
            )


@app.command(cls=_Command)
def sync(
    projects: ProjectsOption = None,
    url: UrlOption = None,
    user: UserOption = None,
    token: TokenOption = None,
    config: ConfigOption = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Print the plan (with jobs edited on the server, and webhooks); change nothing.",
        ),
    ] = False,
    prune: Annotated[
        bool,
        typer.Option(
            "--prune",
            help="Delete pipedsl-managed jobs in the projects' folders that no project defines.",
        ),
    ] = False,
    drift: Annotated[
        bool,
        typer.Option(
            "--drift",
            help="Also look for jobs edited on the server (one request per job) and restore them.",
        ),
    ] = False,
    first_build: Annotated[
        bool,
        typer.Option(
            "--first-build",
            help="Start one build of each never-built inline job, so that a push then starts it.",
        ),
    ] = False,
    workers: Annotated[int, typer.Option(min=1, max=32, help="Requests in flight at once.")] = 4,
    timeout: Annotated[
        float, typer.Option(min=0.01, help="Seconds to wait for each answer (Jenkins, GitHub).")
    ] = 30.0,
    retries: Annotated[
        int, typer.Option(min=0, max=10, help="Retries of a 5xx, timeout or dropped connection.")
    ] = 3,
    backoff: Annotated[
        float,
        typer.Option(min=0.0, help="Seconds before the first retry; doubled for each next one."),
    ] = 0.5,
    github_token: Annotated[
        str | None,
        typer.Option(
            help="Register each project's push webhook on GitHub with this token "
            "(env PIPEDSL_GITHUB_TOKEN).",
            metavar="TOKEN",
        ),
    ] = None,
    github_api: Annotated[
        str | None,
        typer.Option(
            help="GitHub API URL (env PIPEDSL_GITHUB_API; default https://api.github.com; "
            "GitHub Enterprise: https://HOST/api/v3).",
            metavar="URL",
        ),
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Also list unchanged jobs and count requests.")
    ] = False,
    templates: TemplatesOption = None,
    offline: Annotated[
        bool,
        typer.Option(
            "--offline",
            help="With --dry-run: ask no server; show what a first sync would create.",
        ),
    ] = False,
    json_output: Annotated[
        bool,
        typer.Option("--json", help="With --dry-run: print the plan as one JSON document."),
    ] = False,
) -> None:
    """Create, update (and with --prune delete) the projects' jobs on Jenkins; with a GitHub
    token, also register each repository's push webhook.

    Exit codes: 0 in sync, 1 something could not be synced (Jenkins or GitHub unreachable
    or refusing, a job of the same name not managed by pipedsl, an unexpected error),
    2 invalid project or usage; 130 interrupted.
    See docs/sync.md.
    """
    import sys

    from pipedsl.jenkins.settings import SettingsError, resolve_github, resolve_settings
    from pipedsl.jenkins.syncing import run_sync

    try:
        # The secrets from the config file, and those of the URLs, are masked too.
        jenkins = resolve_settings(url, user, token, config)
        github = resolve_github(github_token, github_api, config)
        SECRETS.add(jenkins.token, jenkins.user)
        SECRETS.add(github.token)
        SECRETS.add_url(jenkins.url)
        SECRETS.add_url(github.api)
        projects, _ = _folders(projects, Path("generated"))
        _long_lived(freeze=False)
        code = run_sync(
            projects,
            offline=offline,
            json_output=json_output,
            url=url,
            user=user,
            token=token,
            config=config,
            dry_run=dry_run,
            prune=prune,
            drift=drift,
            first_build=first_build,
            workers=workers,
            timeout=timeout,
            retries=retries,
            backoff=backoff,
            github_token=github_token,
            github_api=github_api,
            templates=templates,
            verbose=verbose,
            tty=sys.stdout.isatty(),
            echo=typer.echo,
        )
    except SettingsError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(EXIT_INVALID) from None
    except PipedslError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(
            EXIT_CHECK_FAILED if isinstance(error, SyncError) else EXIT_INVALID
        ) from None
    raise typer.Exit(code)


@app.command(cls=_Command)
def init(
    name: Annotated[
        str | None,
        typer.Argument(
            help="Project name (default: the folder's name).", show_default=False, metavar="NAME"
        ),
    ] = None,
    repository: Annotated[
        str | None,
        typer.Option(
            help="Git URL of the application repository (default: its origin remote).",
            metavar="URL",
            show_default=False,
        ),
    ] = None,
    backend: Annotated[
        str, typer.Option(help="Backend build: maven, gradle or none.", metavar="TOOL")
    ] = "maven",
    backend_dir: Annotated[
        str, typer.Option(help="The backend's folder in the repository.", metavar="DIR")
    ] = "backend/",
    frontend: Annotated[
        str, typer.Option(help="Frontend build: npm, pnpm, yarn or none.", metavar="TOOL")
    ] = "none",
    frontend_dir: Annotated[
        str, typer.Option(help="The frontend's folder in the repository.", metavar="DIR")
    ] = "frontend/",
    registry: Annotated[
        str,
        typer.Option(
            help="Where images go: dockerhub:ORG/REPO, or a registry HOST[/NAMESPACE] "
            "(default: dockerhub:NAME/NAME).",
            metavar="REGISTRY",
            show_default=False,
        ),
    ] = "",
    deploy: Annotated[
        str,
        typer.Option(
            help="Deploy target: kubectl (a kubeconfig credential), ssh (a Publish Over SSH "
            "server) or none.",
            metavar="TARGET",
        ),
    ] = "kubectl",
    slack: Annotated[
        str | None,
        typer.Option(help="Slack channel to notify (such as '#deploys').", metavar="CHANNEL"),
    ] = None,
    folder: Annotated[
        Path,
        typer.Option(
            "--dir", help="The application repository's folder.", file_okay=False, metavar="DIR"
        ),
    ] = Path(),
    no_render: Annotated[
        bool, typer.Option("--no-render", help="Write the files only; do not render them.")
    ] = False,
    ask: Annotated[
        bool | None,
        typer.Option(
            "--ask/--no-ask",
            help="Ask for each answer, flags giving the defaults (default: in a terminal).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Start a project: write projects/NAME.py for the repository, a snapshot test of what it
    renders (tests/test_NAME_generated.py) and a pre-commit hook, then render it.

    Exit codes: 0 done, 2 invalid answer or a file already there (nothing written).
    """
    from pipedsl.errors import PipedslError as Error
    from pipedsl.scaffold import Answers, default_name, origin_url, scaffold

    if ask is None:
        ask = sys.stdin.isatty()
    try:
        if ask:
            name, repository, backend, frontend, registry, deploy, slack = _ask(
                folder, name, repository, backend, frontend, registry, deploy, slack
            )
    except typer.Abort:
        typer.echo("error: pipedsl init: no answer (input ended); nothing written", err=True)
        raise typer.Exit(EXIT_INVALID) from None
    try:
        repository = repository or origin_url(folder)
        if not repository:
            raise Error(
                "--repository is needed: the Git URL of the application repository (no origin "
                f"remote in {folder.absolute()})"
            )
        answers = Answers(
            name or default_name(folder),
            repository,
            backend=backend,
            backend_dir=backend_dir,
            frontend=frontend,
            frontend_dir=frontend_dir,
            registry=registry,
            deploy=deploy,
            slack=slack,
        )
        written = scaffold(answers, folder)
    except PipedslError as error:
        raise _fail(error) from None
    if not no_render:
        from pipedsl.load import load_project
        from pipedsl.render import render_projects
        from pipedsl.write import write_artifacts

        try:
            _long_lived()
            loaded = load_project(folder / "projects" / f"{answers.name}.py")
            _long_lived()
            artifacts = render_projects([loaded])
            write_artifacts(artifacts, folder / "generated", scope={loaded.name})
        except PipedslError as error:
            # All or nothing: the files just written go again.
            for path in written:
                path.unlink(missing_ok=True)
            raise _fail(PipedslError(f"{error}\n(pipedsl init wrote nothing)")) from None
    for path in written:
        typer.echo(f"wrote {path}")
    if no_render:
        return
    typer.echo(f"rendered {answers.name} into {folder / 'generated'}")
    typer.echo(
        "next: commit projects/, generated/ and the test; `pytest --snapshot-update` records "
        "the snapshots; `pipedsl sync` registers the jobs (docs/quickstart.md)"
    )


_JENKINSFILE_SKIP = {".git", "node_modules", "generated", ".venv", "venv", "target", "build"}


def _files_below(folder: Path, wanted: Callable[[str], bool]) -> list[Path]:
    """The files below ``folder`` whose lower-case name is ``wanted``, never descending into
    version control, dependencies and build output."""
    found = []
    for where, folders, files in os.walk(folder):
        folders[:] = sorted(f for f in folders if f not in _JENKINSFILE_SKIP)
        found += [Path(where) / name for name in files if wanted(name.lower())]
    return sorted(found)


def _jenkinsfiles_in(folder: Path) -> list[Path]:
    """Files below ``folder`` named like Jenkinsfiles (``Jenkinsfile``, ``Jenkinsfile.prod``,
    ``deploy.jenkinsfile``)."""
    return _files_below(folder, lambda n: n.startswith("jenkinsfile") or n.endswith(".jenkinsfile"))


def _manifest_files(paths: Sequence[Path]) -> list[Path]:
    """``--manifests``: each file as given, each folder's ``*.yaml``/``*.yml`` below it (not
    in version control, dependencies or build output)."""
    found: list[Path] = []
    for path in paths:
        if not path.is_dir():
            found.append(path)  # a missing file is said when it is read
            continue
        inside = _files_below(path, lambda n: n.endswith((".yaml", ".yml")))
        if not inside:
            raise PipedslError(f"--manifests {path}: no *.yaml or *.yml file below it")
        found += inside
    return list(dict.fromkeys(found))


def _read_texts(paths: Sequence[Path]) -> list[tuple[str, str]]:
    texts = []
    for path in paths:
        try:
            texts.append((str(path), path.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError) as error:
            reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
            raise PipedslError(f"{path}: cannot be read ({reason})") from None
    return texts


@app.command("import", cls=_Command)
def import_(
    jenkinsfiles: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Declarative Jenkinsfiles, one component each.",
            show_default=False,
            metavar="JENKINSFILE...",
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            help="The project file to write (default: projects/NAME.py of the repository).",
            metavar="FILE",
            show_default=False,
        ),
    ] = None,
    project: Annotated[
        str | None,
        typer.Option(
            help="Project name (default: the --out file's name, else the repository folder's).",
            metavar="NAME",
            show_default=False,
        ),
    ] = None,
    repository: Annotated[
        str | None,
        typer.Option(
            help="Git URL of the repository (default: the Jenkinsfiles' `git url:`).",
            metavar="URL",
            show_default=False,
        ),
    ] = None,
    manifests: Annotated[
        list[Path] | None,
        typer.Option(
            "--manifests",
            help="Kubernetes YAML (a file, or a folder of *.yaml/*.yml) to import as the "
            "components' runtime= and the backing services; repeatable.",
            metavar="PATH",
            show_default=False,
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing --out file.")] = False,
    audit_dir: Annotated[
        Path | None,
        typer.Option(
            "--audit",
            help="Write nothing: for each Jenkinsfile below DIR, how much converts.",
            file_okay=False,
            metavar="DIR",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Turn declarative Jenkinsfiles into a project file (docs/import.md): presets where a
    pipeline is one, typed steps where the model has them, raw steps marked and reported; the
    defects pipedsl prevents are converted to the safe form, each reported.

    Exit codes: 0 written (or audited), 2 a Jenkinsfile refused (scripted, unparsable) or usage.
    """
    _long_lived()  # nothing to load: reading Jenkinsfiles makes garbage
    try:
        if audit_dir is not None:
            _audit(audit_dir, jenkinsfiles or [])
            return
        target, result = _import(
            jenkinsfiles or [], out, project, repository, manifests or [], force=force
        )
    except OSError as error:
        typer.echo(f"error: cannot write {error.filename}: {error.strerror}", err=True)
        raise typer.Exit(EXIT_INVALID) from None
    except PipedslError as error:
        raise _fail(error) from None
    for line in result.report:
        typer.echo(str(line))
    if not manifests:
        _hint_manifests(result.shipped)
    kinds = [line.kind for line in result.report]
    typer.echo(
        f"wrote {target}: {kinds.count('converted')} converted, {kinds.count('raw')} kept raw, "
        f"{kinds.count('dropped')} left out (see the lines above); `pipedsl render` renders it"
    )


def _hint_manifests(patterns: Sequence[str]) -> None:
    """Say which shipped manifests lie here, that --manifests would make typed runtimes."""
    from pipedsl.load import find_repository_root

    root = find_repository_root(Path.cwd()) or Path.cwd()
    for pattern in patterns:
        try:
            found = sorted(root.glob(pattern))
        except (ValueError, OSError, NotImplementedError):  # a pattern glob cannot read
            continue
        if found:
            folder = Path(pattern).parent.as_posix()
            typer.echo(
                f"note: the pipelines ship {pattern} ({len(found)} file(s) here): "
                f"`--manifests {folder}` imports them as a typed runtime= (docs/import.md)"
            )


def _audit(folder: Path, jenkinsfiles: Sequence[Path]) -> None:
    from pipedsl.importer import audit

    if jenkinsfiles:
        raise PipedslError("--audit takes a folder, not Jenkinsfiles: give one or the other")
    files = _jenkinsfiles_in(folder)
    if not files:
        raise PipedslError(f"{folder}: no Jenkinsfile below it (Jenkinsfile*, *.jenkinsfile)")
    rows = audit(_read_texts(files))
    for row in rows:
        typer.echo(str(row))
    steps = sum(r.steps for r in rows)
    converted = sum(r.converted for r in rows)
    refused = sum(r.refused is not None for r in rows)
    share = converted * 100 // steps if steps else 0
    typer.echo(
        f"audit: {len(rows)} file(s), {steps} steps, {converted} converted ({share} %), "
        f"{refused} refused"
    )


def _import(
    jenkinsfiles: Sequence[Path],
    out: Path | None,
    project: str | None,
    repository: str | None,
    manifests: Sequence[Path],
    *,
    force: bool,
) -> tuple[Path, Any]:
    """Import ``jenkinsfiles`` and write the project file; its path and the import result."""
    from pipedsl.importer import import_jenkinsfiles
    from pipedsl.load import PROJECTS_FOLDER, find_repository_root
    from pipedsl.scaffold import default_name

    if not jenkinsfiles:
        raise PipedslError("give the Jenkinsfiles to import (or --audit DIR)")
    found = find_repository_root(Path.cwd())
    root = Path() if found is None or found == Path.cwd().absolute() else found
    name = project or (out.stem if out is not None else default_name(root.absolute()))
    target = out if out is not None else root / PROJECTS_FOLDER / f"{name}.py"
    if target.exists() and not force:
        raise PipedslError(f"{target} exists; give --force to replace it, or another --out")
    result = import_jenkinsfiles(
        _read_texts(jenkinsfiles),
        project=name,
        repository=repository,
        manifests=_read_texts(_manifest_files(manifests)),
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    # Written beside it, then renamed: never half a project file.
    staging = target.with_name(f".{target.name}.importing")
    staging.write_text(result.source, encoding="utf-8")
    staging.replace(target)
    return target, result


def _ask(
    folder: Path,
    name: str | None,
    repository: str | None,
    backend: str,
    frontend: str,
    registry: str,
    deploy: str,
    slack: str | None,
) -> tuple[str, str, str, str, str, str, str | None]:
    """``pipedsl init``'s questions, in a terminal."""
    from pipedsl.scaffold import default_name, origin_url

    name = name or typer.prompt("Project name", default=default_name(folder))
    repository = repository or typer.prompt(
        "Git URL of the repository", default=origin_url(folder) or ""
    )
    backend = typer.prompt("Backend build (maven, gradle, none)", default=backend)
    frontend = typer.prompt("Frontend build (npm, pnpm, yarn, none)", default=frontend)
    registry = typer.prompt(
        "Image registry (dockerhub:ORG/REPO or HOST[/NAMESPACE])",
        default=registry or f"dockerhub:{name}/{name}",
    )
    deploy = typer.prompt("Deploy target (kubectl, ssh, none)", default=deploy)
    slack = slack or typer.prompt("Slack channel (empty: none)", default="") or None
    return name, repository, backend, frontend, registry, deploy, slack


@app.command(cls=_Command)
def lint(
    paths: PathsArgument = None,
    projects: ProjectsOption = None,
    url: UrlOption = None,
    user: UserOption = None,
    token: TokenOption = None,
    config: ConfigOption = None,
    offline: Annotated[
        bool, typer.Option("--offline", help="Ask no Jenkins: compile with the local groovy only.")
    ] = False,
    no_compile: Annotated[
        bool, typer.Option("--no-compile", help="Do not compile with a local groovy.")
    ] = False,
    timeout: Annotated[
        float, typer.Option(min=0.01, help="Seconds to wait for each answer.", metavar="SECONDS")
    ] = 30.0,
    templates: TemplatesOption = None,
) -> None:
    """Check every rendered Jenkinsfile with the team's Jenkins (its declarative linter, which
    knows its plugins and tool installations) and, where a `groovy` command is installed, by
    compiling it locally.

    Exit codes: 0 all valid, 1 a Jenkinsfile is refused (or Jenkins cannot be asked),
    2 invalid project or usage.
    """
    from pipedsl.jenkins.client import PythonJenkinsClient
    from pipedsl.jenkins.linting import run_lint
    from pipedsl.jenkins.settings import SettingsError, resolve_settings
    from pipedsl.load import load_paths, load_projects

    try:
        linter = None
        if not offline:
            jenkins = resolve_settings(url, user, token, config)
            SECRETS.add(jenkins.token, jenkins.user)
            SECRETS.add_url(jenkins.url)
            linter = PythonJenkinsClient(
                jenkins.url, jenkins.user, jenkins.token, timeout=timeout, retries=1
            )
        projects, _ = _folders(projects, Path("generated"))
        _long_lived()
        loaded = load_paths(paths) if paths else load_projects(projects)
        _long_lived()
        code = run_lint(
            loaded, linter=linter, local=not no_compile, echo=typer.echo, templates=templates
        )
    except SettingsError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(EXIT_INVALID) from None
    except PipedslError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(
            EXIT_CHECK_FAILED if isinstance(error, SyncError) else EXIT_INVALID
        ) from None
    raise typer.Exit(code)


_COLLECTIONS = {"managed": False}


def _long_lived(*, freeze: bool = True) -> None:
    """Called when a command has imported what it needs, and again when it has loaded its
    projects: what exists then lives until the process ends. Where :func:`main` runs the
    command, it is frozen (kept out of every later collection, and so of the pages a forked
    render shares), and the collections :func:`main` paused during the imports resume: the
    project files' code runs with them, so garbage it makes is collected. ``freeze=False``
    only resumes them, for a command that loads and renders in one call (the render then
    freezes all it loaded before it forks, which it leaves to a caller that froze first)."""
    if _COLLECTIONS["managed"]:
        if freeze:
            gc.freeze()
        gc.enable()


def main() -> None:
    """Entry point of the ``pipedsl`` console script."""
    # Until the process ends: also what threads, atexit functions and shutdown print.
    mask_until_exit(SECRETS)
    # Python's advice for a process that forks without exec (see gc.freeze): no collections
    # while the command imports its modules, which live until the end, then those frozen
    # (_long_lived): collections would walk them again and again while a thousand components
    # load (0.04 s; 0.01 s with them frozen).
    if gc.isenabled():
        gc.disable()
        _COLLECTIONS["managed"] = True
    try:
        app()
    finally:
        # The process ends now: a last garbage collection over everything a render built
        # would only delay the exit (by a tenth of a second for a thousand components).
        gc.freeze()
