"""Every generated Jenkinsfile is valid Groovy for the real compiler (one JVM for all)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.groovy import assert_compiled, compile_files, compile_groovy

ROOT = Path(__file__).resolve().parent.parent
JENKINSFILES = sorted(ROOT.glob("generated/**/Jenkinsfile"))

VALID = """\
pipeline {
    agent any
    stages {
        stage('Notify') {
            steps {
                slackSend(channel: '#builds', message: "build ${env.BUILD_NUMBER}")
            }
        }
    }
}
"""


def test_generated_jenkinsfiles_compile() -> None:
    assert JENKINSFILES, f"no generated/**/Jenkinsfile under {ROOT}"
    assert_compiled({str(path): error for path, error in compile_files(JENKINSFILES).items()})


def test_compiler_reports_broken_sources() -> None:
    """The check can fail: an unclosed ``slackSend(`` and sources the harness refuses."""
    broken = VALID.replace('"build ${env.BUILD_NUMBER}")', '"build ${env.BUILD_NUMBER}"')
    assert broken != VALID
    sources = {
        "ok/Jenkinsfile": VALID,
        "broken/Jenkinsfile": broken,
        # Groovy 2.4 would silently stop reading at U+FFFF and accept this.
        "truncated/Jenkinsfile": VALID + "\uffff\n}}} not groovy (((",
        "surrogate/Jenkinsfile": VALID.replace("#builds", "\ud800"),
    }
    results = compile_groovy(sources)
    assert results["ok/Jenkinsfile"] is None
    assert "broken/Jenkinsfile" in (results["broken/Jenkinsfile"] or "")
    assert "U+FFFF" in (results["truncated/Jenkinsfile"] or "")
    assert "UTF-8" in (results["surrogate/Jenkinsfile"] or "")
    with pytest.raises(AssertionError, match="3 of 4 Groovy source") as failure:
        assert_compiled(results)
    assert "--- broken/Jenkinsfile" in str(failure.value)
    assert "--- ok/Jenkinsfile" not in str(failure.value)
