"""Loading project files: run ``projects/<name>.py`` as a module and take its ``project``."""

from __future__ import annotations

import difflib
import importlib.util
import inspect
import os
import re
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import attrs

from pipedsl.errors import (
    PipedslError,
    PipedslWarning,
    ProjectLoadError,
    describe_exception,
    line_in,
    shown_text,
)
from pipedsl.model.project import Project

if TYPE_CHECKING:
    import importlib.abc  # imports importlib.resources: 3 ms of every command, for an annotation

__all__ = [
    "PROJECTS_FOLDER",
    "argument_error",
    "find_project_files",
    "find_repository_root",
    "load_paths",
    "load_project",
    "load_projects",
]


def _display(path: Path) -> str:
    """The name a project file is shown (and recorded in generated headers) under: its folder
    and file name, so the text does not depend on where the command ran."""
    resolved = path.resolve()
    return f"{resolved.parent.name}/{resolved.name}"


def _as_given(path: Path) -> str:
    """The name a project file is given in messages under: ``projects/x.py`` in a
    repository's projects folder (wherever the command ran), else its path from the working
    folder, else its absolute path (``/tmp/x.py``, not ``tmp/x.py``)."""
    resolved = path.resolve()
    if resolved.parent.name == PROJECTS_FOLDER:
        return _display(path)
    try:
        return resolved.relative_to(Path.cwd().resolve()).as_posix()
    except (ValueError, OSError):
        return resolved.as_posix()


def _return_to(cwd: Path, shown: str) -> None:
    """Make ``cwd`` the working folder again, if the project file changed it."""
    try:
        if Path.cwd() == cwd:
            return
    except OSError:  # the folder it moved to is gone
        pass
    try:
        os.chdir(cwd)
    except OSError as exc:
        raise ProjectLoadError(
            shown, f"changed the working folder, and {cwd} cannot be returned to: {exc.strerror}"
        ) from None


def _run(loader: importlib.abc.Loader, module: ModuleType, file: Path, shown: str) -> None:
    """Execute the project file as ``module``; whatever it raises becomes a
    :class:`ProjectLoadError` (except Ctrl-C, which interrupts the command)."""
    name = module.__name__  # before the file can rebind its __name__
    sys.modules[name] = module
    # Helper modules beside the project files (``_common.py``) are importable from them.
    folder = str(file.resolve().parent)
    sys.path.insert(0, folder)
    # Relative paths (the output folder, the next project file) mean what they meant before.
    cwd = Path.cwd()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", PipedslWarning)
            loader.exec_module(module)
        _report(caught, file, shown)
    except SystemExit as exc:
        code = shown_text(repr, exc.code)
        raise ProjectLoadError(
            shown,
            f"SystemExit: the project file called sys.exit({code}); it must define "
            "`project` instead",
            line_in(exc, str(file.resolve())),
        ) from None
    except SyntaxError as exc:
        message = shown_text(str, exc.msg)
        raise ProjectLoadError(
            shown, f"syntax error: {message}", exc.lineno or line_in(exc, str(file.resolve()))
        ) from None
    except PipedslError as exc:
        # pipedsl's own messages are kept whole (a model error lists every problem).
        raise ProjectLoadError(
            shown, shown_text(str, exc, None), line_in(exc, str(file.resolve()))
        ) from None
    except KeyboardInterrupt:
        raise  # Ctrl-C (or a stop signal) while loading: the command is interrupted
    except TypeError as exc:
        line = line_in(exc, str(file.resolve()))
        better = argument_error(exc, module)
        raise ProjectLoadError(shown, better or describe_exception(exc), line) from None
    except BaseException as exc:  # CancelledError, GeneratorExit, a class of its own
        raise ProjectLoadError(
            shown, describe_exception(exc), line_in(exc, str(file.resolve()))
        ) from None
    finally:
        sys.modules.pop(name, None)
        if folder in sys.path:
            sys.path.remove(folder)
        _return_to(cwd, shown)


def _report(caught: list[warnings.WarningMessage], file: Path, shown: str) -> None:
    """Warn again about what loading the file warned of, each once, located in the project
    file (the line, when the warning names one of it); other warnings pass on unchanged."""
    seen: set[tuple[str, int]] = set()
    for item in caught:
        if not issubclass(item.category, PipedslWarning):
            warnings.warn_explicit(item.message, item.category, item.filename, item.lineno)
            continue
        line = item.lineno if Path(item.filename).resolve() == file.resolve() else 0
        key = (str(item.message), line)
        if key not in seen:
            seen.add(key)
            warnings.warn_explicit(str(item.message), PipedslWarning, shown, line)


_CALL = re.compile(
    r"(?P<callee>[A-Za-z_][\w.]*)\(\) (?:got an unexpected keyword argument '(?P<unknown>\w+)'"
    r"|missing (?:\d+ )?required (?:keyword-only |positional )?arguments?: (?P<missing>.+))"
)


def _pipedsl_callable(qualname: str) -> Any:
    """The class or function of pipedsl's modules (already imported) named ``qualname``
    (``Container.__init__``, ``Credential.secret_text``), or None."""
    head, *rest = qualname.split(".")
    for name, module in list(sys.modules.items()):
        if name != "pipedsl" and not name.startswith("pipedsl."):
            continue
        found = getattr(module, head, None)
        if found is None or not getattr(found, "__module__", "").startswith("pipedsl"):
            continue
        for part in rest:
            if part == "__init__":
                break
            found = getattr(found, part, None)
        return found
    return None


def argument_error(error: TypeError, module: ModuleType | None = None) -> str | None:
    """A clearer message for a call to a pipedsl class or function with an unknown or a
    missing argument: the arguments it takes (and the nearest to a misspelt one). None when
    the callee is not pipedsl's (``module``, the project file, defines a name of its own)."""
    try:
        text = str(error)
    except Exception:
        return None
    found = _CALL.search(text)
    if found is None:
        return None
    head = found.group("callee").split(".", 1)[0]
    own = getattr(module, head, None) if module is not None else None
    if own is not None and not str(getattr(own, "__module__", "")).startswith("pipedsl"):
        return None
    callee = _pipedsl_callable(found.group("callee"))
    if callee is None:
        return None
    try:
        parameters = inspect.signature(callee).parameters
    except (TypeError, ValueError):
        return None
    allowed = [n for n, p in parameters.items() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    shown = found.group("callee").removesuffix(".__init__")
    if found.group("unknown"):
        unknown = found.group("unknown")
        near = difflib.get_close_matches(unknown, allowed, n=1)
        hint = f" (did you mean {near[0]!r}?)" if near else ""
        return f"{shown}: unknown argument {unknown!r}{hint}; allowed: {', '.join(allowed)}"
    return f"{shown}: missing argument(s) {found.group('missing')}; it takes: {', '.join(allowed)}"


def load_project(path: str | Path) -> Project:
    """Run the project file at ``path`` and return its module-level ``project``.

    The file is imported as a module (not ``exec``-ed into our namespace), so tracebacks,
    relative helpers and type checkers treat it as ordinary Python. Errors become
    :class:`ProjectLoadError` with the file and line::

        project = load_project("projects/lat32t.py")
    """
    file = Path(path)
    shown = _as_given(file)
    if not file.is_file():
        raise ProjectLoadError(shown, "no such project file")
    module_name = f"_pipedsl_project_{abs(hash(str(file.resolve())))}"
    spec = importlib.util.spec_from_file_location(module_name, file)
    if spec is None or spec.loader is None:
        raise ProjectLoadError(shown, "cannot be loaded as a Python module (is it a .py file?)")
    module = importlib.util.module_from_spec(spec)
    _run(spec.loader, module, file, shown)
    try:
        project = getattr(module, "project", None)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # a module __getattr__ of its own
        raise ProjectLoadError(
            shown, describe_exception(exc), line_in(exc, str(file.resolve()))
        ) from None
    if project is None:
        raise ProjectLoadError(
            shown, "defines no `project`; end the file with `project = Project(...)`"
        )
    if not isinstance(project, Project):
        raise ProjectLoadError(
            shown, f"`project` must be a pipedsl Project, got {type(project).__name__}"
        )
    return attrs.evolve(project, source=_display(file))


def find_project_files(directory: str | Path) -> list[Path]:
    """The project files in ``directory``: ``*.py`` not starting with ``_``, sorted."""
    folder = Path(directory)
    if not folder.is_dir():
        raise ProjectLoadError(str(directory), "no such projects folder")
    return sorted(p for p in folder.glob("*.py") if not p.name.startswith("_"))


def load_projects(directory: str | Path) -> list[Project]:
    """Every project in ``directory``; all files are tried and every failure reported."""
    projects: list[Project] = []
    errors: list[PipedslError] = []
    for file in find_project_files(directory):
        try:
            projects.append(load_project(file))
        except ProjectLoadError as exc:
            errors.append(exc)
    _raise_all(errors)
    if not projects:
        raise ProjectLoadError(str(directory), "contains no project files (*.py)")
    return projects


PROJECTS_FOLDER = "projects"


def find_repository_root(start: str | Path) -> Path | None:
    """The nearest folder, from ``start`` up, that holds a ``projects/`` folder (the repository
    whose projects the commands work on), or None."""
    folder = Path(start).absolute()
    for candidate in (folder, *folder.parents):
        if (candidate / PROJECTS_FOLDER).is_dir():
            return candidate
    return None


def load_paths(paths: Sequence[str | Path]) -> list[Project]:
    """The projects of ``paths``: each a project file or a folder of them; every failure
    reported, as :func:`load_projects` does."""
    projects: list[Project] = []
    errors: list[PipedslError] = []
    files: dict[Path, Path] = {}  # a file named twice (itself and in its folder) loads once
    for path in paths:
        try:
            found = find_project_files(path) if Path(path).is_dir() else [Path(path)]
            if Path(path).is_dir() and not found:
                raise ProjectLoadError(str(path), "contains no project files (*.py)")
        except PipedslError as exc:
            errors.append(exc)
            continue
        for file in found:
            files.setdefault(file.resolve(), file)
    for file in files.values():
        try:
            projects.append(load_project(file))
        except PipedslError as exc:
            errors.append(exc)
    _raise_all(errors)
    return projects


def _raise_all(errors: Sequence[PipedslError]) -> None:
    """Every load failure at once: the one error as it is, several as one, a line each."""
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise PipedslError("\n".join(str(e) for e in errors))
