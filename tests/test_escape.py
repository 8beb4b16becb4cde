"""The escaping functions, checked against the real readers: Groovy 2.4 (Jenkins' Groovy) for
string literals and GStrings, ``/bin/sh`` (and bash) for shell words.

Each hypothesis example is a whole batch of strings evaluated in one process, so the property
tests stay fast while covering hundreds of strings each.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from pipedsl.model.values import GroovyExpr, GString
from pipedsl.render.escape import GroovyCode, groovy_gstring_part, groovy_str, sh_quote
from pipedsl.render.groovy import NO_INDENT, comment, finish, groovy_value, gstring, indent
from tests.support import tally
from tests.support.groovy import GroovyEvaluationError, evaluate_literals, utf16_units

# No shrinking: a failure already names the exact items Groovy misread, and shrinking a batch
# would start hundreds of JVMs.
NO_SHRINK = (Phase.explicit, Phase.reuse, Phase.generate)

BATCH = settings(
    max_examples=4,
    phases=NO_SHRINK,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Fragments that matter to one of the readers involved: Groovy quotes and escapes (including
# Groovy 2.4's source-level \uXXXX processing), GString interpolation, line ends, Jinja
# delimiters, the Jenkinsfile writer's own NO_INDENT mark, and UTF-16 corner cases.
GROOVY_NASTY = [
    "'", "''", "'''", "''''", "\\", "\\\\", "\\'", "'\\", "\\u0041", "\\u005c", "\\u0027",
    "\\uuu0041", "\\n", "$", "${", "${x}", "$x", "\\$", '"', '""', '"""', "\n", "\r", "\r\n",
    "\n\n", "\t", "\x00", "\x01", "\x0b", "\x0c", "\x1a", "\x1f", "\x7f", "\x85", "\u2028",
    "\u2029", "\ufeff", "\ufffe", "\ufffd", "{{", "}}", "{%", "%}", "{#", "#}", "{{ x }}",
    NO_INDENT, "\ud800", "\udbff", "\udc00", "\udfff", "\ud83d\ude00", "\U0001f600", "\\\n",
    "'\n", "\n'", "'''\n", "\n'''", "/*", "*/", "//", "#!", " ", "a", "é",
]  # fmt: skip

SHELL_NASTY = [
    "'", "''", '"', "\\", "$", "$x", "${x}", "$(id)", "`id`", "*", "?", "[a]", "~", "~/x",
    "#", "!", " ", "\t", "\n", "\r", "-", "--", "-n", "-e", "=", "a=b", "{a,b}", ";", "&",
    "|", "<", ">", "(", ")", "%", "%s", "\\0", "\x01", "\x7f", "\x85", "é", "\U0001f600",
    "\xa0", "IFS", ":", "@", "^", "a",
]  # fmt: skip

# All of Unicode, surrogates and U+FFFF (see test_uffff_reads_back) included.
any_char = st.characters(exclude_categories=())


def _mixed(fragments: Sequence[str], chars: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    pieces = st.sampled_from(fragments) | chars
    return st.one_of(
        st.lists(pieces, max_size=16).map("".join),
        st.text(chars, max_size=30),
    )


groovy_text = _mixed(GROOVY_NASTY, any_char)
shell_text = _mixed(SHELL_NASTY, st.characters(codec="utf-8", exclude_characters="\x00"))


def batch(strategy: st.SearchStrategy[str]) -> st.SearchStrategy[list[str]]:
    return st.lists(strategy, min_size=100, max_size=250)


def assert_same_strings(actual: Sequence[str], expected: Sequence[str]) -> None:
    """Equal as Java strings (UTF-16 code units), reporting the first difference."""
    assert len(actual) == len(expected)
    for index, (got, want) in enumerate(zip(actual, expected, strict=True)):
        assert utf16_units(got) == utf16_units(want), f"item {index}: {want!r} read as {got!r}"


# -- groovy_str ----------------------------------------------------------------------------


def test_groovy_str_examples() -> None:
    script = "set -e\necho 'done'"
    assert groovy_str("it's") == "'it\\'s'"
    assert groovy_str("$HOME ${x}") == "'$HOME ${x}'"
    assert groovy_str(script) == "'''\\\nset -e\necho 'done\\''''"
    assert groovy_str("a\n'''") == "'''\\\na\n\\'\\'\\''''"
    assert groovy_str("\x00\ud800\ue000") == "'\\u0000\\ud800\\ue000'"


def test_fixed_nasty_values_read_back() -> None:
    """Every fragment alone, every ordered pair, and each wrapped in line breaks, in one JVM."""
    values = [*GROOVY_NASTY, "", "it's", "set -e\necho 'done'", "\n".join(GROOVY_NASTY)]
    values += [a + b for a in GROOVY_NASTY for b in GROOVY_NASTY]
    values += [f"x\n{a}" for a in GROOVY_NASTY] + [f"{a}\nx" for a in GROOVY_NASTY]
    assert_same_strings(evaluate_literals([groovy_str(v) for v in values]), values)


def in_indented_block(value: str) -> str:
    """As in a Jenkinsfile: the literal inside an indented block, marks removed by ``finish``."""
    text = finish("[\n" + indent(indent(groovy_value(value), 4), 12) + "\n][0]")
    assert NO_INDENT not in text
    return text


@BATCH
@given(batch(groovy_text))
def test_groovy_str_reads_back_alone_and_indented(values: list[str]) -> None:
    # One JVM for both checks: the bare literal, and the literal placed as a Jenkinsfile places
    # it (which proves the NO_INDENT mechanism for multi-line literals).
    sources = [groovy_str(v) for v in values] + [in_indented_block(v) for v in values]
    assert_same_strings(evaluate_literals(sources), values + values)


def test_multiline_continuation_lines_are_not_indented() -> None:
    text = finish("steps {\n" + indent(GroovyCode("sh " + groovy_value("a\n  b\n'")), 16) + "\n}")
    assert text == "steps {\n                sh '''\\\na\n  b\n\\''''\n}\n"


def test_uffff_reads_back() -> None:
    values = ["\uffff", "a\n\uffff"]
    sources = [groovy_str(v) for v in values] + [gstring(GString("\uffff", GroovyExpr("env.X")))]
    assert_same_strings(evaluate_literals(sources, {"X": "x"}), [*values, "\uffffx"])


# -- comments ------------------------------------------------------------------------------

AFTER = "\n'after the comment'"


comment_text = groovy_text


@BATCH
@given(batch(comment_text))
def test_comment_does_not_change_the_program(texts: list[str]) -> None:
    sources = [finish(comment(text) + AFTER) for text in texts]
    assert evaluate_literals(sources) == ["after the comment"] * len(texts)


# Texts that once let comment() change the program (Groovy 2.4 decodes \uXXXX before lexing).
COMMENT_CASES = {
    "x\rreturn 'injected'": "CR is written \\u000d, which ends the comment line",
    "x\\u000dreturn 'injected'": "a backslash-u in the text is decoded before lexing",
    "from C:\\users\\me\\project.py": "\\u without four hex digits is a compile error",
    "x\uffff": "U+FFFF is kept raw and ends the file",
}


def test_comment_regressions() -> None:
    try:
        values = evaluate_literals([finish(comment(text) + AFTER) for text in COMMENT_CASES])
    except GroovyEvaluationError as error:
        failing = {index for index, _, _ in error.failures}
    else:
        failing = {i for i, value in enumerate(values) if value != "after the comment"}
    still = [
        f"{text!r}: {why}" for i, (text, why) in enumerate(COMMENT_CASES.items()) if i in failing
    ]
    assert not still, "comment() changes the program:\n" + "\n".join(still)


# -- GStrings ------------------------------------------------------------------------------

ENV_NAMES = ("BUILD_NUMBER", "JOB_NAME", "X")

gstring_part: st.SearchStrategy[str | GroovyExpr] = groovy_text | st.sampled_from(ENV_NAMES).map(
    lambda name: GroovyExpr(f"env.{name}")
)


def _expected(value: GString, binding: dict[str, str]) -> str:
    return "".join(
        binding[part.code.removeprefix("env.")] if isinstance(part, GroovyExpr) else part
        for part in value.parts
    )


def test_gstring_examples() -> None:
    value = GString('say "${x}" \\ $HOME #', GroovyExpr("env.BUILD_NUMBER"), "\n")
    assert gstring(value) == '"say \\"\\${x}\\" \\\\ \\$HOME #${env.BUILD_NUMBER}\\n"'
    assert groovy_gstring_part("\x00\ue000") == "\\u0000\\ue000"
    assert groovy_value(GString("a", "b")) == "'ab'"


@BATCH
@given(
    st.lists(st.lists(gstring_part, max_size=8), min_size=50, max_size=120),
    st.fixed_dictionaries(dict.fromkeys(ENV_NAMES, groovy_text)),
)
def test_gstring_reads_back(parts: list[list[str | GroovyExpr]], binding: dict[str, str]) -> None:
    values = [GString(*p) for p in parts]
    expected = [_expected(v, binding) for v in values]
    # Both the GString builder itself and the dispatcher (which writes literal-only GStrings as
    # plain literals, possibly multi-line and so needing ``finish``).
    sources = [gstring(v) for v in values] + [finish(groovy_value(v)) for v in values]
    assert_same_strings(evaluate_literals(sources, binding), expected + expected)


# -- sh_quote ------------------------------------------------------------------------------

SHELLS = [shell for shell in ("/bin/sh", shutil.which("bash")) if shell]


def shell_read(shell: str, words: Sequence[str]) -> list[bytes]:
    """What ``shell`` makes of each quoted word, as the bytes a command receives."""
    script = "printf '%s\\0'" + "".join(" " + sh_quote(w) for w in words) + "\n"
    completed = subprocess.run(
        [shell], input=script.encode("utf-8"), capture_output=True, timeout=60, check=False
    )
    assert completed.returncode == 0, completed.stderr.decode("utf-8", "replace")
    assert completed.stdout.endswith(b"\0")
    return completed.stdout[:-1].split(b"\0")


def test_sh_quote_examples() -> None:
    assert sh_quote("a b") == "'a b'"
    assert sh_quote("simple-word_1.2") == "simple-word_1.2"
    assert sh_quote("it's") == "'it'\\''s'"
    assert sh_quote("") == "''"


def test_sh_quote_refuses_nul() -> None:
    with pytest.raises(ValueError, match="NUL"):
        sh_quote("a\x00b")


@pytest.mark.parametrize("shell", SHELLS)
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(words=st.lists(shell_text, min_size=1, max_size=80))
def test_sh_quote_reads_back(shell: str, words: list[str]) -> None:
    tally.add("shell words read back by a real sh", len(words))
    assert shell_read(shell, words) == [w.encode("utf-8") for w in words]


@pytest.mark.parametrize("shell", SHELLS)
def test_sh_quote_fixed_nasty_words(shell: str) -> None:
    words = [*SHELL_NASTY, "", " ".join(SHELL_NASTY)] + [
        a + b for a in SHELL_NASTY for b in SHELL_NASTY
    ]
    tally.add("shell words read back by a real sh", len(words))
    assert shell_read(shell, words) == [w.encode("utf-8") for w in words]
