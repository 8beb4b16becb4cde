"""Loading project files: run ``projects/<name>.py`` as a module and take its ``project``."""

from __future__ import annotations

import importlib.util
import sys
import traceback
from pathlib import Path

import attrs

from pipedsl.errors import PipedslError, ProjectLoadError
from pipedsl.model.project import Project

__all__ = ["find_project_files", "load_project", "load_projects"]


def _display(path: Path) -> str:
    """The name a project file is shown (and recorded in generated headers) under: its folder
    and file name, so the text does not depend on where the command ran."""
    resolved = path.resolve()
    return f"{resolved.parent.name}/{resolved.name}"


def _line_in(exc: BaseException, file: Path) -> int | None:
    """The last line of ``file`` in the traceback of ``exc``: where the project went wrong."""
    target = str(file.resolve())
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if str(Path(frame.filename).resolve()) == target:
            line = frame.lineno
    return line


def load_project(path: str | Path) -> Project:
    """Run the project file at ``path`` and return its module-level ``project``.

    The file is imported as a module (not ``exec``-ed into our namespace), so tracebacks,
    relative helpers and type checkers treat it as ordinary Python. Errors become
    :class:`ProjectLoadError` with the file and line::

        project = load_project("projects/lat32t.py")
    """
    file = Path(path)
    shown = _display(file)
    if not file.is_file():
        raise ProjectLoadError(shown, "no such project file")
    module_name = f"_pipedsl_project_{abs(hash(str(file.resolve())))}"
    spec = importlib.util.spec_from_file_location(module_name, file)
    if spec is None or spec.loader is None:
        raise ProjectLoadError(shown, "cannot be loaded as a Python module (is it a .py file?)")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    # Helper modules beside the project files (``_common.py``) are importable from them.
    folder = str(file.resolve().parent)
    sys.path.insert(0, folder)
    try:
        spec.loader.exec_module(module)
    except SystemExit as exc:
        raise ProjectLoadError(
            shown,
            f"SystemExit: the project file called sys.exit({exc.code!r}); it must define "
            "`project` instead",
            _line_in(exc, file),
        ) from None
    except SyntaxError as exc:
        raise ProjectLoadError(shown, f"syntax error: {exc.msg}", exc.lineno) from None
    except PipedslError as exc:
        raise ProjectLoadError(shown, str(exc), _line_in(exc, file)) from None
    except Exception as exc:
        raise ProjectLoadError(shown, f"{type(exc).__name__}: {exc}", _line_in(exc, file)) from None
    finally:
        sys.modules.pop(module_name, None)
        if folder in sys.path:
            sys.path.remove(folder)
    project = getattr(module, "project", None)
    if project is None:
        raise ProjectLoadError(
            shown, "defines no `project`; end the file with `project = Project(...)`"
        )
    if not isinstance(project, Project):
        raise ProjectLoadError(
            shown, f"`project` must be a pipedsl Project, got {type(project).__name__}"
        )
    return attrs.evolve(project, source=shown)


def find_project_files(directory: str | Path) -> list[Path]:
    """The project files in ``directory``: ``*.py`` not starting with ``_``, sorted."""
    folder = Path(directory)
    if not folder.is_dir():
        raise ProjectLoadError(str(directory), "no such projects folder")
    return sorted(p for p in folder.glob("*.py") if not p.name.startswith("_"))


def load_projects(directory: str | Path) -> list[Project]:
    """Every project in ``directory``; all files are tried and every failure reported."""
    projects: list[Project] = []
    errors: list[ProjectLoadError] = []
    for file in find_project_files(directory):
        try:
            projects.append(load_project(file))
        except ProjectLoadError as exc:
            errors.append(exc)
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise PipedslError("\n".join(str(e) for e in errors))
    if not projects:
        raise ProjectLoadError(str(directory), "contains no project files (*.py)")
    return projects
