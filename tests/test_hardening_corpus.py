"""The fixed corpus of nasty values (tests/fixtures/nasty_corpus.py) as regression tests: every
value in every field of the adversarial project (tests/test_adversarial.py), the whole project
rendered; each Jenkinsfile compiled by the real Groovy 2.4 (one JVM for all) and run against
the declarative recorder (one more JVM), and every field read back: Groovy values, shell words
through a real ``sh``, config.xml through ElementTree. A value the model refuses must be refused
with an error naming the field.

The header comment of every Jenkinsfile carries the project file's path, which is free text
too: the same corpus goes there.
"""

from __future__ import annotations

import attrs

from pipedsl import ModelError, Project, render_project
from pipedsl.render.jenkinsfile import render_jenkinsfile
from tests.fixtures.nasty_corpus import corpus
from tests.support import tally
from tests.support.declarative import walk
from tests.support.groovy import assert_compiled, compile_groovy
from tests.test_adversarial import DEFAULTS, FIELD_NAME, FIELDS, build, check

# Fields whose value ends up in a shell command that tests/test_adversarial.py runs through a
# real sh: a lone surrogate cannot be passed to a process at all (no encoding holds it), so
# those combinations are checked as far as Groovy only.
SHELL_FIELDS = frozenset({"script", "arg", "npm", "context", "dockerfile", "remote"})


def _has_surrogate(text: str) -> bool:
    return any("\ud800" <= ch <= "\udfff" for ch in text)


def test_every_corpus_value_in_every_field() -> None:
    accepted: dict[str, tuple[Project, dict[str, str], str, str]] = {}
    rejected: list[tuple[str, str, str]] = []
    for value in corpus():
        for field in FIELDS:
            v = {**DEFAULTS, field: value}
            key = f"{field}:{value!r}"
            tally.add("corpus values x fields rendered (whole project)")
            try:
                project = build(v)
                artifacts = {a.path: a.text for a in render_project(project)}
            except ModelError as error:
                tally.add("corpus values x fields rejected, naming the field")
                rejected.append((field, value, str(error)))
                continue
            accepted[key] = (
                project,
                v,
                artifacts["adversarial/app/Jenkinsfile"],
                artifacts["adversarial/app/config.xml"],
            )
    unnamed = [(f, v, e) for f, v, e in rejected if not FIELD_NAME.search(e)]
    assert unnamed == [], "a rejection must name the field"
    # Most of the corpus must be accepted: a model that refused everything would pass too.
    assert len(accepted) > len(rejected)
    assert_compiled(compile_groovy({key: a[2] for key, a in accepted.items()}))
    tally.add("corpus Jenkinsfiles compiled by real Groovy", len(accepted))
    trees = walk({key: a[2] for key, a in accepted.items()})
    for key, tree in trees.items():
        project, v, _, config = accepted[key]
        field = key.split(":", 1)[0]
        if field in SHELL_FIELDS and _has_surrogate(v[field]):
            continue  # see SHELL_FIELDS
        check(project, v, tree[0], config)
        tally.add("corpus Jenkinsfiles read back field by field")


def test_corpus_values_in_the_project_file_path_do_not_change_the_jenkinsfile() -> None:
    """``load_project`` records the file's folder and name; the header comment of every
    Jenkinsfile names it. A CR, ``\\u000d`` text, a Windows path or U+FFFF there once made
    the comment end early, fail to compile, or end the file."""
    base = build(DEFAULTS)
    plain = {a.path: a.text for a in render_project(base)}["adversarial/app/Jenkinsfile"]
    sources = {}
    for index, value in enumerate(corpus()):
        project = attrs.evolve(base, source=f"projects{value}/{value}.py")
        # The Jenkinsfile alone: config.xml refuses characters XML cannot carry (U+FFFF,
        # surrogates, control characters), tested in tests/test_hardening_boundaries.py.
        sources[str(index)] = render_jenkinsfile(project, project.components[0])
    tally.add("corpus values in a Jenkinsfile header comment", len(sources))
    assert_compiled(compile_groovy(sources))
    plain_tree = walk({"plain": plain})["plain"]
    for key, tree in walk(sources).items():
        assert tree == plain_tree, f"the comment changed the program: {corpus()[int(key)]!r}"
