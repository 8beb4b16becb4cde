"""The ``pipedsl`` command: parse, call the library, print, exit. Nothing else lives here."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pipedsl.errors import PipedslError, SyncError

app = typer.Typer(
    name="pipedsl",
    help="Render Jenkinsfiles (and more) from typed Python project descriptions.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """Render Jenkinsfiles (and more) from typed Python project descriptions."""


EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_INVALID = 2


def _fail(error: PipedslError) -> typer.Exit:
    typer.echo(f"error: {error}", err=True)
    return typer.Exit(EXIT_INVALID)


@app.command()
def render(
    projects: Annotated[
        Path, typer.Option(help="Folder of project files (*.py).", file_okay=False)
    ] = Path("projects"),
    out: Annotated[Path, typer.Option(help="Output folder, one subfolder per project.")] = Path(
        "generated"
    ),
    check: Annotated[
        bool, typer.Option("--check", help="Write nothing; exit 1 if the output folder is stale.")
    ] = False,
    templates: Annotated[
        list[Path] | None,
        typer.Option(help="Folder of templates overriding the built-in ones (repeatable)."),
    ] = None,
) -> None:
    """Render every project in PROJECTS into OUT.

    Exit codes: 0 done (or up to date with --check), 1 --check found differences,
    2 invalid project or usage.
    """
    from pipedsl.load import load_projects
    from pipedsl.render import render_projects
    from pipedsl.write import check_artifacts, write_artifacts

    try:
        artifacts = render_projects(load_projects(projects), templates=templates)
        if check:
            result = check_artifacts(artifacts, out)
            if not result.ok:
                typer.echo(f"{out} is out of date; run `pipedsl render`:", err=True)
                for line in result.lines():
                    typer.echo(f"  {line}", err=True)
                raise typer.Exit(EXIT_CHECK_FAILED)
            typer.echo(f"{out} is up to date ({len(artifacts)} files)")
            return
        changed = write_artifacts(artifacts, out)
    except PipedslError as error:
        raise _fail(error) from None
    state = "written" if changed else "already up to date"
    typer.echo(f"{len(artifacts)} files {state} in {out}")


@app.command()
def sync(
    projects: Annotated[
        Path, typer.Option(help="Folder of project files (*.py).", file_okay=False)
    ] = Path("projects"),
    url: Annotated[
        str | None,
        typer.Option(help="Jenkins URL [env PIPEDSL_JENKINS_URL; default http://localhost:14149]."),
    ] = None,
    user: Annotated[
        str | None, typer.Option(help="Jenkins user [env PIPEDSL_JENKINS_USER].")
    ] = None,
    token: Annotated[
        str | None, typer.Option(help="Jenkins API token [env PIPEDSL_JENKINS_TOKEN].")
    ] = None,
    config: Annotated[
        Path | None, typer.Option(help="TOML file with a [jenkins] table: url, user, token.")
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Print the plan (and jobs edited on the server); change nothing."
        ),
    ] = False,
    prune: Annotated[
        bool, typer.Option("--prune", help="Delete pipedsl-managed jobs that no project defines.")
    ] = False,
    first_build: Annotated[
        bool,
        typer.Option("--first-build", help="Start one build of each newly created inline job."),
    ] = False,
    workers: Annotated[int, typer.Option(min=1, max=32, help="Requests in flight at once.")] = 4,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Also list unchanged jobs and count requests.")
    ] = False,
) -> None:
    """Create, update (and with --prune delete) the projects' jobs on Jenkins.

    Exit codes: 0 in sync, 1 a job could not be synced or a job of the same name is not
    managed by pipedsl, 2 invalid project or usage.
    """
    from pipedsl.jenkins.syncing import run_sync

    try:
        code = run_sync(
            projects,
            url=url,
            user=user,
            token=token,
            config=config,
            dry_run=dry_run,
            prune=prune,
            first_build=first_build,
            workers=workers,
            verbose=verbose,
            echo=typer.echo,
        )
    except PipedslError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(
            EXIT_CHECK_FAILED if isinstance(error, SyncError) else EXIT_INVALID
        ) from None
    raise typer.Exit(code)


def main() -> None:
    """Entry point of the ``pipedsl`` console script."""
    app()
