"""The one jinja2 ``Environment`` factory.

No HTML autoescape (it would turn ``'`` into ``&#39;`` in Groovy); instead ``finalize`` refuses
any printed value that did not come out of an escaping filter, so a template cannot emit an
unescaped string by forgetting a filter.

Compiled templates are kept in jinja2's bytecode cache (see ``template_cache``), as Python keeps
compiled modules in ``__pycache__``: compiling the templates costs more than the rest of a small
render.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import secrets
import stat
import sys
import types
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from pathlib import Path
from typing import Any

import jinja2
import jinja2.bccache

from pipedsl.errors import RenderError
from pipedsl.render import groovy
from pipedsl.render.escape import GroovyCode


def builtin_templates() -> Path:
    """The templates shipped with pipedsl: inside the installed package, or the checkout's
    top-level ``templates/`` when running from source."""
    package = Path(__file__).resolve().parent.parent
    for candidate in (package / "templates", package.parent.parent / "templates"):
        if candidate.is_dir():
            return candidate
    raise RenderError(f"pipedsl's templates are missing (looked in {package / 'templates'})")


def _finalize_for(safe: type[str]) -> Callable[[Any], str]:
    def finalize(value: Any) -> str:
        if isinstance(value, safe):
            return value
        if value is None:
            raise RenderError("a template printed None: a value it needs is missing")
        raise RenderError(
            f"a template printed {type(value).__name__} {value!r:.60} without escaping it; "
            "pass it through a filter such as |groovy"
        )

    return finalize


ENV_CACHE_DIR = "PIPEDSL_CACHE_DIR"
ENV_NO_CACHE = "PIPEDSL_NO_CACHE"


class _TemplateCache(jinja2.BytecodeCache):
    """jinja2's cache of compiled templates, kept in one folder that was checked once to be
    this user's alone (see :func:`_private_folder`) and is then only reached through the file
    descriptor opened for that check: renaming the folder, or a folder above it, cannot put
    other files in its place. It never fails a render: a file it cannot read or write, a
    damaged one, or one that holds no compiled template is compiled again (jinja2 itself drops
    a file of another version and one compiled from other source)."""

    def __init__(self, folder: int, path: Path) -> None:
        self._folder = folder
        self.path = path  # where the folder was when it was opened (to report, not to use)

    def __del__(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self._folder)

    @staticmethod
    def _name(bucket: jinja2.bccache.Bucket) -> str:
        return f"__jinja2_{bucket.key}.cache"

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC  # NONBLOCK: a FIFO
        try:
            fd = os.open(self._name(bucket), flags, dir_fd=self._folder)
        except OSError:
            return
        try:
            with os.fdopen(fd, "rb") as file:
                if stat.S_ISREG(os.fstat(file.fileno()).st_mode):
                    bucket.load_bytecode(file)
        except Exception:  # a damaged file: jinja2 guards only some of what reading it raises
            bucket.reset()
        if bucket.code is not None and not _compiled_template(bucket.code):
            bucket.reset()

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        # Written under a name of its own, then renamed: a reader never sees half a file.
        name = self._name(bucket)
        partial = f"{name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            fd = os.open(partial, flags, 0o600, dir_fd=self._folder)
        except OSError:
            return
        try:
            with os.fdopen(fd, "wb") as file:
                bucket.write_bytecode(file)
            os.replace(partial, name, src_dir_fd=self._folder, dst_dir_fd=self._folder)
        except BaseException as error:
            with contextlib.suppress(OSError):
                os.unlink(partial, dir_fd=self._folder)
            if not isinstance(error, OSError):
                raise


def _compiled_template(code: object) -> bool:
    """Whether ``code`` is what jinja2 compiles a template to: a module defining the template's
    render function, its blocks and its debug information."""
    return isinstance(code, types.CodeType) and {"root", "blocks", "debug_info"} <= set(
        code.co_names
    )


def _cache_root(environ: Mapping[str, str]) -> Path | None:
    if environ.get(ENV_NO_CACHE):
        return None
    if environ.get(ENV_CACHE_DIR):
        return Path(environ[ENV_CACHE_DIR])
    if environ.get("XDG_CACHE_HOME"):
        return Path(environ["XDG_CACHE_HOME"], "pipedsl")
    try:
        home = Path.home()
    except RuntimeError:  # no home folder to be found
        return None
    # A home folder that is not there is not made (only the cache folders inside one are).
    return home / ".cache" / "pipedsl" if home.is_dir() else None


def _compile_settings(env: jinja2.Environment) -> str:
    """A digest of everything compiled template code depends on besides its source: jinja2's
    and Python's versions, the environment's syntax and compiler options, and its filters and
    tests. Caches of other settings live in other folders, so a changed setting never meets
    stale code."""
    finalize = env.finalize
    settings = (
        jinja2.__version__,
        sys.implementation.cache_tag,
        env.block_start_string,
        env.block_end_string,
        env.variable_start_string,
        env.variable_end_string,
        env.comment_start_string,
        env.comment_end_string,
        env.line_statement_prefix,
        env.line_comment_prefix,
        env.trim_blocks,
        env.lstrip_blocks,
        env.newline_sequence,
        env.keep_trailing_newline,
        sorted(env.extensions),
        env.optimized,
        env.autoescape if isinstance(env.autoescape, bool) else "callable",
        env.is_async,
        finalize is not None,
        getattr(finalize, "jinja_pass_arg", None),
        # Compiled code names each filter and test it uses, and passes it the environment or
        # the context as the function asks: a change of either must not meet old code.
        sorted((n, repr(getattr(f, "jinja_pass_arg", None))) for n, f in env.filters.items()),
        sorted((n, repr(getattr(f, "jinja_pass_arg", None))) for n, f in env.tests.items()),
    )
    return hashlib.sha256(repr(settings).encode()).hexdigest()[:16]


def _private_folder(folder: Path) -> int | None:
    """Make ``folder`` (mode 0700) if needed and open it: its file descriptor when it is a real
    folder (not a symbolic link) of this user that no one else can write to, since cached code
    is run; else ``None``."""
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
    except OSError:
        info = None
    if (
        info is not None
        and stat.S_ISDIR(info.st_mode)
        and info.st_uid == os.getuid()
        and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    ):
        return fd
    os.close(fd)
    return None


def template_cache(env: jinja2.Environment, environ: Mapping[str, str]) -> _TemplateCache | None:
    """The bytecode cache for ``env``'s templates: ``$PIPEDSL_CACHE_DIR`` (else
    ``$XDG_CACHE_HOME/pipedsl``, else ``~/.cache/pipedsl``), one folder per
    ``_compile_settings``; ``None`` (compile every time) with ``PIPEDSL_NO_CACHE`` set, or
    where no such folder can be made safely."""
    root = _cache_root(environ)
    if root is None or not hasattr(os, "getuid"):
        return None
    folder = root / f"templates-{_compile_settings(env)}"
    fd = _private_folder(folder)
    return _TemplateCache(fd, folder) if fd is not None else None


class _Environment(jinja2.Environment):
    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        # A template's globals as a plain dict, not jinja2's ChainMap over the environment's:
        # each render copies them twice (into its context, and as the set of global names),
        # and a ChainMap is copied in Python, key by key (three quarters of a render's setup).
        # The environment's globals are complete before any template is loaded and never
        # changed after, so the copy misses nothing; a template's own still overlay them.
        return {**self.globals, **(d or {})}


@functools.cache
def groovy_environment(template_dirs: tuple[Path, ...] = ()) -> jinja2.Environment:
    """The environment for Jenkinsfile templates, made once per ``template_dirs``."""
    return build_groovy_environment(template_dirs, os.environ)


def build_groovy_environment(
    template_dirs: tuple[Path, ...], environ: Mapping[str, str]
) -> jinja2.Environment:
    """A new environment for Jenkinsfile templates; ``template_dirs`` come before the built-in
    templates, so a file there overrides the built-in one of the same name. ``environ`` places
    the cache of compiled templates (``template_cache``)."""
    loader = jinja2.ChoiceLoader(
        [
            jinja2.FileSystemLoader([str(d) for d in template_dirs]),
            jinja2.FileSystemLoader(str(builtin_templates())),
        ]
    )
    env = _Environment(
        loader=loader,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # not HTML: finalize enforces Groovy escaping instead
        finalize=_finalize_for(GroovyCode),
        auto_reload=False,  # templates do not change during a render: no stat per use
    )
    env.filters.update(
        groovy=groovy.groovy_value,
        env_value=groovy.environment_value,
        ident=groovy.identifier,
        indent=groovy.indent,
        comment=groovy.comment,
        raw_groovy=groovy.raw,
    )
    env.bytecode_cache = template_cache(env, environ)
    return env


def template_dirs(dirs: Sequence[Path | str] | None) -> tuple[Path, ...]:
    """Normalise user template folders (for caching) and check they exist."""
    result = []
    for d in dirs or ():
        path = Path(d).resolve()
        if not path.is_dir():
            raise RenderError(f"template folder {d} does not exist")
        result.append(path)
    return tuple(result)
