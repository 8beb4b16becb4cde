"""Walk rendered Jenkinsfiles as declarative Jenkins reads them, with the real Groovy runtime.

Each Jenkinsfile is *executed* by Groovy against a recorder: every block (``pipeline``,
``stages``, ``stage``, ``steps``, ``post``, ``dir``, ``withCredentials``, ...) runs its closure
and every step call is recorded with its arguments, GStrings evaluated with ``env`` bound (and
``env.STAGE_NAME`` set inside each stage, as Jenkins does). All files go through one JVM.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

JAVA_HOME = "/usr/lib/jvm/java-17-openjdk-amd64"

# Calls whose result is an argument of another call (not a step of their own).
_VALUE_CALLS = [
    "usernamePassword",
    "string",
    "file",
    "sshUserPrivateKey",
    "sshPublisherDesc",
    "sshTransfer",
    "logRotator",
]

_DRIVER = r"""
import groovy.json.JsonOutput

class Recorder {
    static final Set VALUE_CALLS = new HashSet(%(value_calls)s)
    List nodes = []
    Map env
    Map stdout

    Recorder(Map env, Map stdout) { this.env = env; this.stdout = stdout }

    static Object plain(Object v) {
        if (v instanceof Map) return v.collectEntries { k, x -> [(k.toString()): plain(x)] }
        if (v instanceof List) return v.collect { plain(it) }
        if (v == null || v instanceof Boolean || v instanceof Number) return v
        return v.toString()
    }

    def methodMissing(String name, Object args) {
        Object[] list = args as Object[]
        Map node = [name: name, args: [], named: [:], children: []]
        Closure body = null
        list.each { x ->
            if (x instanceof Closure) body = x
            else if (x instanceof Map && !x.containsKey('name')) node.named.putAll(plain(x))
            else node.args << plain(x)
        }
        if (VALUE_CALLS.contains(name)) return node
        nodes << node
        if (name == 'sh' && node.named.returnStdout) {
            // What the command prints, as the test says it would (never run here).
            return stdout.containsKey(node.named.script) ? stdout[node.named.script] : ''
        }
        if (body != null) {
            Recorder child = new Recorder(env, stdout)
            Object previous = env.STAGE_NAME
            if (name == 'stage') env.STAGE_NAME = node.args[0]
            body.delegate = child
            body.resolveStrategy = Closure.DELEGATE_FIRST
            body.call()
            env.STAGE_NAME = previous
            node.children = child.nodes
        }
        return null
    }

    def propertyMissing(String name) {
        if (name == 'env') return env
        if (name == 'currentBuild') return [currentResult: 'SUCCESS', changeSets: [], durationString: '1 min 2 sec']
        return name
    }

    def propertyMissing(String name, Object value) {
        // An `environment {}` assignment: recorded, and visible to later `env.NAME` reads.
        env[name] = plain(value)
        nodes << [name: '=', args: [name, plain(value)], named: [:], children: []]
    }
}

def input = new groovy.json.JsonSlurper().parse(new File(args[0]))
def results = [:]
input.files.each { name, text ->
    try {
        Map env = new HashMap(input.env)
        Recorder top = new Recorder(env, input.stdout)
        Script script = new GroovyShell().parse(text, 'Jenkinsfile')
        Closure run = { script.run() }
        script.metaClass.methodMissing = { String n, Object a -> top.methodMissing(n, a) }
        script.metaClass.propertyMissing = { String n -> top.propertyMissing(n) }
        script.setBinding(new Binding([env: env, currentBuild: [currentResult: 'SUCCESS', changeSets: [], durationString: '1 min 2 sec']]))
        script.run()
        results[name] = [ok: true, tree: top.nodes]
    } catch (Throwable t) {
        results[name] = [ok: false, error: t.toString()]
    }
}
new File(args[1]).setText(JsonOutput.toJson(results), 'UTF-8')
"""

DEFAULT_ENV = {
    "JOB_NAME": "lat32t/backend",
    "BUILD_NUMBER": "42",
    "BUILD_URL": "http://jenkins.example:14149/job/lat32t/job/backend/42/",
    "GIT_COMMIT": "0123456789abcdef0123456789abcdef01234567",
    # Set by Jenkins in multibranch jobs only (where {branch} tags read it).
    "BRANCH_NAME": "main",
}


def walk(
    files: dict[str, str],
    env: dict[str, str] | None = None,
    stdout: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Run every Jenkinsfile against the recorder; ``{name: tree}`` (a list of top-level
    nodes). ``stdout`` maps a script to what ``sh(script:, returnStdout: true)`` returns for it
    (empty otherwise); ``env.NAME = value`` assignments in ``script`` blocks are recorded like
    ``environment {}`` ones. Raises AssertionError naming the files Groovy could not run."""
    driver = _DRIVER % {"value_calls": json.dumps(_VALUE_CALLS)}
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp, "walk.groovy")
        script.write_text(driver, encoding="utf-8")
        request = Path(tmp, "in.json")
        request.write_text(
            json.dumps({"files": files, "env": env or DEFAULT_ENV, "stdout": stdout or {}}),
            encoding="utf-8",
        )
        answer = Path(tmp, "out.json")
        environ = {**os.environ, "JAVA_HOME": os.environ.get("JAVA_HOME", JAVA_HOME)}
        completed = subprocess.run(
            ["groovy", str(script), str(request), str(answer)],
            capture_output=True,
            text=True,
            env=environ,
            timeout=300,
            check=False,
        )
        if completed.returncode != 0 or not answer.exists():
            raise AssertionError(f"groovy failed: {completed.stderr[-3000:]}")
        results: dict[str, Any] = json.loads(answer.read_text(encoding="utf-8"))
    failed = {n: r["error"] for n, r in results.items() if not r["ok"]}
    if failed:
        raise AssertionError(f"Groovy could not run: {failed}")
    return {name: r["tree"] for name, r in results.items()}


def children(node: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """The child nodes of ``node`` called ``name``."""
    return [c for c in node["children"] if c["name"] == name]


def only(node: dict[str, Any], name: str) -> dict[str, Any]:
    found = children(node, name)
    assert len(found) == 1, f"expected one {name!r} in {node['name']}, found {len(found)}"
    return found[0]


def descendants(node: dict[str, Any]) -> list[dict[str, Any]]:
    """Every node below ``node``, depth first."""
    out = []
    for child in node["children"]:
        out.append(child)
        out.extend(descendants(child))
    return out
