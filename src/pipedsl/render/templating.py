"""The one jinja2 ``Environment`` factory.

No HTML autoescape (it would turn ``'`` into ``&#39;`` in Groovy); instead ``finalize`` refuses
any printed value that did not come out of an escaping filter, so a template cannot emit an
unescaped string by forgetting a filter.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import jinja2

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


@functools.cache
def groovy_environment(template_dirs: tuple[Path, ...] = ()) -> jinja2.Environment:
    """The environment for Jenkinsfile templates; ``template_dirs`` come before the built-in
    templates, so a file there overrides the built-in one of the same name."""
    loader = jinja2.ChoiceLoader(
        [
            jinja2.FileSystemLoader([str(d) for d in template_dirs]),
            jinja2.FileSystemLoader(str(builtin_templates())),
        ]
    )
    env = jinja2.Environment(
        loader=loader,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # noqa: S701  (not HTML: finalize enforces Groovy escaping instead)
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
