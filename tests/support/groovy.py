"""Run the real Groovy compiler from tests, many sources per JVM.

Every public function starts exactly one ``groovy`` process (a third of a second to start), so callers
should collect everything they want checked and make one call.

Strings cross the process boundary as hex-encoded UTF-16 code units, so NUL, CR, newlines, lone
surrogates and supplementary characters arrive exactly as Java sees them. Two source texts are
reported as failures without asking Groovy, because handing them over would hide a problem:

* a lone surrogate: a Jenkinsfile is a UTF-8 file, which cannot hold one;
* a raw U+FFFF: Groovy 2.4 (Jenkins' Groovy) reads it as end of file, so everything after it is
  silently ignored and a truncated pipeline would "compile".

If ``groovy`` is not installed the functions raise :class:`GroovyUnavailableError`: tests fail
with that message rather than being skipped, because CI installs Groovy.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.support import tally

__all__ = [
    "GroovyError",
    "GroovyEvaluationError",
    "GroovyUnavailableError",
    "assert_compiled",
    "assert_compiles",
    "compile_files",
    "compile_groovy",
    "evaluate_literals",
    "groovy_command",
    "source_problem",
    "utf16_units",
]

DEFAULT_JAVA_HOME = Path("/usr/lib/jvm/java-17-openjdk-amd64")
DEFAULT_TIMEOUT = 300.0

# The driver reads one request file and writes one answer file, both ASCII, one item per line:
#
#   request:  line 1 "compile" or "evaluate"; for "evaluate" line 2 is "B:<count>" followed by
#             that many "K:<key>:<value>" lines for the ``env`` map; then "I:<name>:<text>" lines.
#   answer:   per item, in order, "OK:" (compiled) / "OK:<value>" (evaluated) / "ERR:<message>".
#
# Every <field> is the hex of the string's UTF-16 code units, four digits each.
_DRIVER = r"""
import org.codehaus.groovy.control.CompilationUnit
import org.codehaus.groovy.control.CompilerConfiguration
import org.codehaus.groovy.control.Phases

static String decodeUnits(String hex) {
    char[] units = new char[hex.length().intdiv(4)]
    for (int i = 0; i < units.length; i++) {
        units[i] = (char) Integer.parseInt(hex.substring(4 * i, 4 * i + 4), 16)
    }
    return new String(units)
}

static String encodeUnits(String text) {
    StringBuilder out = new StringBuilder(text.length() * 4)
    for (int i = 0; i < text.length(); i++) {
        String digits = Integer.toHexString((int) text.charAt(i))
        out.append('0000'.substring(digits.length())).append(digits)
    }
    return out.toString()
}

static String describe(Throwable error) {
    return error.getClass().getName() + ': ' + error.getMessage()
}

List<String> lines = new File(args[0]).readLines('US-ASCII')
String mode = lines[0]
int next = 1
Map<String, String> env = [:]
if (mode == 'evaluate') {
    int count = Integer.parseInt(lines[next++].substring(2))
    for (int k = 0; k < count; k++) {
        String[] fields = lines[next++].substring(2).split(':', -1)
        env[decodeUnits(fields[0])] = decodeUnits(fields[1])
    }
}

List<String[]> items = []
for (String line : lines.subList(next, lines.size())) {
    if (!line.startsWith('I:')) {
        throw new IllegalStateException('bad request line: ' + line)
    }
    String[] fields = line.substring(2).split(':', -1)
    items << ([decodeUnits(fields[0]), decodeUnits(fields[1])] as String[])
}

GroovyShell shell = new GroovyShell(new Binding([env: env]))
int scripts = 0

String evaluateOne(GroovyShell shell, String text, String scriptName) {
    try {
        Object value = shell.evaluate(text, scriptName)
        if (value instanceof CharSequence) {
            return 'OK:' + encodeUnits(value.toString())
        }
        String type = value == null ? 'null' : value.getClass().getName()
        return 'ERR:' + encodeUnits('the expression evaluated to ' + type + ', not a string')
    } catch (Throwable error) {
        return 'ERR:' + encodeUnits(describe(error))
    }
}

String compileOne(String name, String text) {
    try {
        CompilationUnit unit = new CompilationUnit(new CompilerConfiguration())
        unit.addSource(name, text)
        unit.compile(Phases.CLASS_GENERATION)
        return 'OK:'
    } catch (Throwable error) {
        return 'ERR:' + encodeUnits(describe(error))
    }
}

// Expressions are evaluated in chunks, each chunk one script that stores every expression's
// value (one class per chunk instead of per expression). A chunk that fails in any way is
// evaluated again one expression per script, so every error names its own expression.
int CHUNK = 100
List<String> answers = []
for (int start = 0; start < items.size(); start += CHUNK) {
    List<String[]> chunk = items.subList(start, Math.min(start + CHUNK, items.size()))
    if (mode == 'compile') {
        chunk.each { answers << compileOne(it[0], it[1]) }
        continue
    }
    List<String> chunkAnswers = null
    if (chunk.size() > 1) {
        StringBuilder script = new StringBuilder('def pipedslValues = new Object[' + chunk.size() + ']\n')
        chunk.eachWithIndex { String[] item, int i ->
            script.append('pipedslValues[').append(i).append('] = (\n').append(item[1]).append('\n)\n')
        }
        script.append('pipedslValues\n')
        try {
            Object[] values = (Object[]) shell.evaluate(script.toString(), 'PipedslChunk' + (scripts++) + '.groovy')
            if (values.every { it instanceof CharSequence }) {
                chunkAnswers = values.collect { 'OK:' + encodeUnits(it.toString()) }
            }
        } catch (Throwable ignored) {
            chunkAnswers = null
        }
    }
    if (chunkAnswers == null) {
        chunkAnswers = chunk.collect { evaluateOne(shell, it[1], 'PipedslLiteral' + (scripts++) + '.groovy') }
    }
    answers.addAll(chunkAnswers)
}

new File(args[1]).withWriter('US-ASCII') { out ->
    answers.each { out.write(it); out.write('\n') }
}
"""


class GroovyError(Exception):
    """The Groovy harness itself failed."""


class GroovyUnavailableError(GroovyError):
    """No usable ``groovy`` command."""


class GroovyEvaluationError(GroovyError):
    """Some expressions passed to :func:`evaluate_literals` did not yield a string."""

    def __init__(self, failures: Sequence[tuple[int, str, str]]) -> None:
        self.failures = list(failures)
        shown = "\n".join(
            f"  [{index}] {source!r:.300}\n      -> {message}"
            for index, source, message in self.failures[:10]
        )
        more = f"\n  ... and {len(self.failures) - 10} more" if len(self.failures) > 10 else ""
        super().__init__(f"{len(self.failures)} Groovy expression(s) failed:\n{shown}{more}")


@dataclass(frozen=True)
class _Item:
    name: str
    text: str


def utf16_units(text: str) -> bytes:
    """The UTF-16 code units of ``text`` as Java would hold them (big-endian bytes).

    Use this to compare a Python string with a Groovy result: a Python string may hold lone
    surrogates, and two lone surrogates forming a pair are the same Java string as the
    supplementary character they encode.
    """
    return text.encode("utf-16-be", "surrogatepass")


def _hex(text: str) -> str:
    return utf16_units(text).hex()


def _unhex(digits: str) -> str:
    return bytes.fromhex(digits).decode("utf-16-be", "surrogatepass")


def groovy_command() -> tuple[list[str], dict[str, str]]:
    """The command that starts ``groovy`` and the environment to run it in.

    ``JAVA_HOME`` is set to the Debian OpenJDK 17 when the environment does not set it (Debian's
    ``groovy`` wrapper needs it). Raises :class:`GroovyUnavailableError` if there is no groovy.
    """
    groovy = shutil.which("groovy")
    if groovy is None:
        raise GroovyUnavailableError(
            "the `groovy` command is not on PATH; these tests need the real Groovy compiler "
            "(Debian/Ubuntu: `apt-get install groovy`). They are deliberately not skipped."
        )
    env = dict(os.environ)
    if not env.get("JAVA_HOME") and DEFAULT_JAVA_HOME.is_dir():
        env["JAVA_HOME"] = str(DEFAULT_JAVA_HOME)
    # The driver runs for a second or two: skip the optimising JIT, which only costs start-up.
    env.setdefault("JAVA_OPTS", "-XX:TieredStopAtLevel=1 -Xshare:auto")
    return [groovy], env


def source_problem(text: str) -> str | None:
    """Why ``text`` cannot be a faithful Groovy source file, or ``None``."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        return (
            f"not writable as UTF-8: {error.reason} {text[error.start : error.end]!r} "
            f"at index {error.start}"
        )
    end_of_file = text.find("\uffff")
    if end_of_file >= 0:
        return (
            f"raw U+FFFF at index {end_of_file}: Groovy 2.4 reads it as end of "
            "file and silently ignores the rest of the source"
        )
    return None


def _run(
    mode: str, items: Sequence[_Item], env_map: Mapping[str, str], timeout: float
) -> list[tuple[bool, str]]:
    """(ok, value-or-message) per item; items with a :func:`source_problem` fail unasked."""
    problems = [source_problem(item.text) for item in items]
    sent = [item for item, problem in zip(items, problems, strict=True) if problem is None]
    answered = iter(_run_driver(mode, sent, env_map, timeout))
    return [
        (False, f"{item.name}: {problem}") if problem is not None else next(answered)
        for item, problem in zip(items, problems, strict=True)
    ]


def _run_driver(
    mode: str, items: Sequence[_Item], env_map: Mapping[str, str], timeout: float
) -> list[tuple[bool, str]]:
    if not items:
        return []
    command, env = groovy_command()
    request = [mode]
    if mode == "evaluate":
        request.append(f"B:{len(env_map)}")
        request.extend(f"K:{_hex(key)}:{_hex(value)}" for key, value in env_map.items())
    request.extend(f"I:{_hex(item.name)}:{_hex(item.text)}" for item in items)
    with tempfile.TemporaryDirectory(prefix="pipedsl-groovy-") as tmp:
        directory = Path(tmp)
        driver = directory / "PipedslGroovyDriver.groovy"
        request_file = directory / "request.txt"
        answer_file = directory / "answer.txt"
        driver.write_text(_DRIVER, encoding="utf-8")
        request_file.write_text("\n".join(request) + "\n", encoding="ascii")
        try:
            completed = subprocess.run(
                [*command, str(driver), str(request_file), str(answer_file)],
                env=env,
                cwd=directory,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except FileNotFoundError as error:
            raise GroovyUnavailableError(f"cannot start {command[0]}: {error}") from error
        answers = (
            answer_file.read_text(encoding="ascii").splitlines() if answer_file.exists() else []
        )
    if completed.returncode != 0 or len(answers) != len(items):
        raise GroovyError(
            f"the Groovy driver failed (exit {completed.returncode}, {len(answers)} of "
            f"{len(items)} answers)\nstdout:\n{completed.stdout}\nstderr:\n{completed.stderr}"
        )
    results: list[tuple[bool, str]] = []
    for answer in answers:
        status, _, payload = answer.partition(":")
        if status not in {"OK", "ERR"}:
            raise GroovyError(f"unexpected answer from the Groovy driver: {answer[:200]!r}")
        results.append((status == "OK", _unhex(payload)))
    return results


def compile_groovy(
    sources: Mapping[str, str], *, timeout: float = DEFAULT_TIMEOUT
) -> dict[str, str | None]:
    """Compile each source (name -> text) with the real Groovy compiler, up to class
    generation, in one JVM. Returns name -> ``None`` if it compiled, else the compiler's
    message. The name is used as the source's file name in messages. Sources with a
    :func:`source_problem` fail with that problem."""
    items = [_Item(name, text) for name, text in sources.items()]
    results = _run("compile", items, {}, timeout)
    return {
        item.name: (None if ok else message)
        for item, (ok, message) in zip(items, results, strict=True)
    }


def compile_files(
    paths: Iterable[Path], *, timeout: float = DEFAULT_TIMEOUT
) -> dict[Path, str | None]:
    """:func:`compile_groovy` for files (read as UTF-8), keyed by path."""
    by_name = {str(path): path for path in paths}
    texts = {name: path.read_text(encoding="utf-8") for name, path in by_name.items()}
    return {by_name[name]: error for name, error in compile_groovy(texts, timeout=timeout).items()}


def assert_compiled(results: Mapping[str, str | None]) -> None:
    """Fail (``AssertionError``) listing every failed source in :func:`compile_groovy`
    results."""
    failures = {name: error for name, error in results.items() if error is not None}
    if failures:
        raise AssertionError(
            f"{len(failures)} of {len(results)} Groovy source(s) do not compile:\n"
            + "\n".join(f"--- {name}\n{error}" for name, error in failures.items())
        )


def assert_compiles(sources: Mapping[str, str], *, timeout: float = DEFAULT_TIMEOUT) -> None:
    """Compile ``sources`` (one JVM) and fail listing every source that does not compile."""
    assert_compiled(compile_groovy(sources, timeout=timeout))


def evaluate_literals(
    literals: Sequence[str],
    binding: Mapping[str, str] | None = None,
    *,
    timeout: float = DEFAULT_TIMEOUT,
) -> list[str]:
    """Evaluate each Groovy string expression (e.g. the output of ``groovy_str``), all in one
    JVM, with the script variable ``env`` bound to a map holding ``binding``.

    Expressions are evaluated a hundred per script, each wrapped as ``x[i] = (\n<expr>\n)``; a
    chunk that fails in any way is evaluated again one expression per script, so each error
    names its own expression.

    Returns the Java strings, decoded with lone surrogates kept (compare with
    :func:`utf16_units`). Raises :class:`GroovyEvaluationError` listing every expression that
    failed to compile or evaluate, or did not yield a ``CharSequence``.
    """
    tally.add("string literals read back by real Groovy", len(literals))
    items = [_Item(f"literal {index}", text) for index, text in enumerate(literals)]
    results = _run("evaluate", items, binding or {}, timeout)
    failures = [
        (index, literals[index], message) for index, (ok, message) in enumerate(results) if not ok
    ]
    if failures:
        raise GroovyEvaluationError(failures)
    return [value for _, value in results]
