"""Compiling Jenkinsfiles with a local Groovy, where one is installed: a syntax check that
needs no Jenkins (Jenkins' declarative linter checks the pipeline's structure; this checks that
the Groovy, raw Groovy steps included, parses and compiles)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

DEBIAN_JAVA_HOME = Path("/usr/lib/jvm/java-17-openjdk-amd64")

# Compiles each file named on the command line to class generation, one answer line per file:
# "OK<TAB>path" or "ERR<TAB>path<TAB>message" (backslashes and line breaks escaped).
_DRIVER = r"""
import org.codehaus.groovy.control.CompilationUnit
import org.codehaus.groovy.control.CompilerConfiguration
import org.codehaus.groovy.control.Phases

for (String path in args) {
    try {
        CompilationUnit unit = new CompilationUnit(new CompilerConfiguration())
        unit.addSource(new File(path))
        unit.compile(Phases.CLASS_GENERATION)
        println("OK\t" + path)
    } catch (Throwable error) {
        String text = (error.message ?: error.toString())
        println("ERR\t" + path + "\t" + text.replace("\\", "\\\\").replace("\n", "\\n"))
    }
}
"""


class GroovyMissing(Exception):  # noqa: N818  (not an error of the user's: a missing tool)
    """No ``groovy`` command on PATH."""


def groovy_available() -> bool:
    return shutil.which("groovy") is not None


def compile_jenkinsfiles(texts: Mapping[str, str], *, timeout: float = 300.0) -> dict[str, str]:
    """Compile each Jenkinsfile text (by name) with the local ``groovy``; the compiler's
    message for each that fails (an empty dict: all compile). Raises :class:`GroovyMissing`
    without a ``groovy`` command, :class:`OSError` or :class:`subprocess.SubprocessError` when it
    cannot run."""
    groovy = shutil.which("groovy")
    if groovy is None:
        raise GroovyMissing("no `groovy` command on PATH")
    env = dict(os.environ)
    # Debian's groovy wrapper needs JAVA_HOME.
    if not env.get("JAVA_HOME") and DEBIAN_JAVA_HOME.is_dir():
        env["JAVA_HOME"] = str(DEBIAN_JAVA_HOME)
    with tempfile.TemporaryDirectory(prefix="pipedsl-lint-") as folder:
        names: dict[str, str] = {}
        for index, (name, text) in enumerate(texts.items()):
            file = Path(folder) / f"Jenkinsfile{index}.groovy"
            file.write_text(text, encoding="utf-8")
            names[str(file)] = name
        driver = Path(folder) / "compile_all.groovy"
        driver.write_text(_DRIVER, encoding="utf-8")
        done = subprocess.run(  # noqa: S603  (the groovy found on PATH, our own file names)
            [groovy, str(driver), *names],
            capture_output=True,
            text=True,
            env=env,
            timeout=timeout,
            check=False,
        )
    failures: dict[str, str] = {}
    answered: set[str] = set()
    for line in done.stdout.splitlines():
        status, _, rest = line.partition("\t")
        path, _, message = rest.partition("\t")
        if path not in names:
            continue
        answered.add(path)
        if status == "ERR":
            failures[names[path]] = message.replace("\\n", "\n").replace("\\\\", "\\")
    if answered != set(names):
        raise subprocess.SubprocessError(
            f"groovy stopped before compiling every file (exit {done.returncode}): "
            + (done.stderr.strip().splitlines() or ["no message"])[-1]
        )
    return failures
