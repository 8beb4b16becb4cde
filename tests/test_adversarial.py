"""Hostile strings in every field that reaches a Jenkinsfile or config.xml.

For each generated project either the model refuses it, with an error naming the field, or
the rendered files mean exactly what the model says: Groovy (run by the real Groovy 2.4,
many projects per JVM) yields the same strings, shell commands built from the values give the
same words to a real ``sh``, and the job's XML parses. The number of cases tried is recorded
for docs/reliability.md by the ``-s`` output.
"""

from __future__ import annotations

import re
import subprocess
import xml.etree.ElementTree as ET
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from pipedsl import (
    Agent,
    Component,
    Credential,
    Dir,
    DockerBuild,
    DockerHub,
    DockerPush,
    Echo,
    JenkinsJobs,
    KubectlApply,
    Maven,
    ModelError,
    Npm,
    Pipeline,
    Project,
    ShipFiles,
    Slack,
    SshServer,
    Stage,
    Tools,
    When,
    render_project,
    sh,
)
from tests.support import tally
from tests.support.declarative import children, descendants, only, walk

NASTY = [
    "'", "'''", '"', '"""', "\\", "$", "${x}", "$HOME", "`id`", "$(id)", "\n", "\r", "\t",
    "{{", "{%", "{#", "}}", "]]>", "&", "<", ">", "yes", "on", "null", "~", "0123", "1e3",
    "\u2028", "\ufeff", "\U0001f600", "한글", " ", "-", "--x", "*", ";", "|", "\\u0041", "#",
]  # fmt: skip

# Every field gets arbitrary Unicode; lone surrogates and NUL cannot reach a file or a shell
# in any encoding, so they are kept for the fields that are only ever Groovy literals.
chars = st.characters(codec="utf-8", exclude_characters="\x00")
text = st.one_of(
    st.lists(st.sampled_from(NASTY) | chars, max_size=12).map("".join),
    st.text(chars, max_size=20),
)
FIELDS = (
    "stage", "script", "label", "echo", "env", "branch", "dir", "arg", "npm", "channel",
    "team", "message", "context", "dockerfile", "server", "files", "remote", "prefix", "agent",
    "tool",
)  # fmt: skip
DEFAULTS = {
    "stage": "Test", "script": "make test", "label": "tests", "echo": "hello", "env": "x",
    "branch": "main", "dir": "app", "arg": "y", "npm": "build", "channel": "#ci", "team": "acme",
    "message": "done", "context": "app", "dockerfile": "app/Dockerfile", "server": "master",
    "files": "k8s/*.yaml", "remote": "deploy/app", "prefix": "k8s", "agent": "linux", "tool": "maven",
}  # fmt: skip
# One hostile field per project, the others ordinary: a rejection then names that field, and
# most projects are accepted and checked end to end.
values = st.tuples(st.sampled_from(FIELDS), text).map(lambda fv: {**DEFAULTS, fv[0]: fv[1]})

BATCH = settings(
    max_examples=6,
    phases=(Phase.explicit, Phase.reuse, Phase.generate),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
REPO = "https://github.com/acme/adversarial.git"
FIELD_NAME = re.compile(r"\b[A-Z]\w*\.\w+: |\bcomponents\[|\bPipeline: |\bStage '|\bSshTransfer: ")


def build(v: dict[str, str]) -> Project:
    image = DockerHub("acme/app", login=Credential.username_password("hub")).tagged()
    server = SshServer(v["server"])
    slack = Slack(
        channel=v["channel"],
        team_domain=v["team"],
        token=Credential.secret_text("slack"),
        message=v["message"].replace("{", "{{").replace("}", "}}"),
    )
    stages = [
        Stage(
            v["stage"],
            [
                sh(v["script"], label=v["label"]),
                Echo(v["echo"]),
                Dir(v["dir"], [Maven(["-Dx=" + v["arg"], "verify"])]),
                Npm(["run", v["npm"]]),
            ],
            environment={"VALUE": v["env"]},
            when=When(branch=v["branch"]),
        ),
        Stage("Build", [DockerBuild(image, context=v["context"], dockerfile=v["dockerfile"])]),
        Stage("Push", [DockerPush(image)]),
        Stage(
            "Ship",
            [
                ShipFiles(server, [v["files"]], v["remote"], remove_prefix=v["prefix"]),
                KubectlApply(server, v["remote"]),
            ],
        ),
    ]
    pipeline = Pipeline(stages, agent=Agent.on(v["agent"]), tools=Tools(maven=v["tool"]))
    return Project(
        "adversarial",
        repository=REPO,
        components=[Component("app", pipeline, notify=slack)],
        jenkins=JenkinsJobs(definition="multibranch"),
    )


def shell_words(script: str, command: str, env: dict[str, str] | None = None) -> list[list[str]]:
    """Run ``script`` in a real sh with ``command`` replaced by a function printing its
    arguments; one list of words per call. Each call prints its argument count and then its
    arguments, NUL-terminated (no argument can hold a NUL), so any bytes are unambiguous."""
    prelude = f'kubectl() {{ :; }}\n{command}() {{ printf \'%s\\0\' "$#" "$@"; }}\n'
    done = subprocess.run(
        ["sh", "-c", prelude + script], capture_output=True, check=True, env=env or {}
    )
    fields = done.stdout.decode("utf-8").split("\0")[:-1]
    calls = []
    while fields:
        count = int(fields.pop(0))
        calls.append(fields[:count])
        del fields[:count]
    return calls


_VARIABLE = re.compile(r"\$(?:[A-Za-z_][A-Za-z0-9_]*|\{[A-Za-z_][A-Za-z0-9_]*\})")


def tool_word(word: str) -> str:
    """A word of a tool step as the tool receives it when no variable is set."""
    return _VARIABLE.sub("", word)


def check(project: Project, v: dict[str, str], pipeline: dict[str, Any], config: str) -> None:
    assert only(pipeline, "agent")["children"][0]["args"] == [v["agent"]]
    assert only(pipeline, "tools")["children"][0]["args"] == [v["tool"]]
    env = {n["args"][0]: n["args"][1] for n in only(pipeline, "environment")["children"]}
    first, build_stage, _, ship = only(pipeline, "stages")["children"]
    assert first["args"] == [v["stage"]]
    assert only(only(first, "when"), "branch")["args"] == [v["branch"]]
    assert only(first, "environment")["children"][0]["args"] == ["VALUE", v["env"]]
    script, echo, directory, npm = only(first, "steps")["children"]
    assert script["named"] == {"label": v["label"], "script": v["script"]}
    assert echo["args"] == [v["echo"]]
    assert directory["args"] == [v["dir"]]
    maven_script = directory["children"][0]["args"][0]
    # Tool steps expand $NAME and ${NAME} (unset here: empty), everything else is literal.
    assert shell_words(maven_script, "mvn") == [["-B", tool_word("-Dx=" + v["arg"]), "verify"]]
    assert shell_words(npm["args"][0], "npm") == [["run", tool_word(v["npm"])]]
    docker = only(build_stage, "steps")["children"][0]["args"][0]
    assert shell_words(docker, "docker", {"IMAGE": env["IMAGE"]}) == [
        ["build", "-t", env["IMAGE"], "-f", v["dockerfile"], v["context"]]
    ]
    ship_publish, apply_publish = only(ship, "steps")["children"]
    (desc,) = ship_publish["named"]["publishers"]
    assert desc["named"]["configName"] == v["server"]
    (transfer,) = desc["named"]["transfers"]
    assert transfer["named"]["sourceFiles"] == v["files"]
    assert transfer["named"]["removePrefix"] == v["prefix"]
    assert transfer["named"]["remoteDirectory"] == v["remote"]
    command = apply_publish["named"]["publishers"][0]["named"]["transfers"][0]["named"][
        "execCommand"
    ]
    assert shell_words(command + " && true", "cd") == [[v["remote"]]]
    for send in (n for n in descendants(first) if n["name"] == "slackSend"):
        assert send["named"]["channel"] == v["channel"]
        assert send["named"]["teamDomain"] == v["team"]
        assert send["named"]["message"] == v["message"]
    root = ET.fromstring(re.sub(r"^<\?xml[^>]*\?>", "", config))  # noqa: S314  (our own output)
    assert root.tag == "org.jenkinsci.plugins.workflow.multibranch.WorkflowMultiBranchProject"
    assert children(first, "post")


@BATCH
@given(st.lists(values, min_size=40, max_size=40))
def test_hostile_strings_are_rejected_or_rendered_exactly(batch: list[dict[str, str]]) -> None:
    accepted: dict[str, tuple[Project, dict[str, str], str]] = {}
    jenkinsfiles: dict[str, str] = {}
    rejections: list[str] = []
    for index, v in enumerate(batch):
        tally.add("hostile field values tried (whole project rendered and read back)")
        try:
            project = build(v)
            artifacts = {a.path: a.text for a in render_project(project)}
        except ModelError as error:
            tally.add("hostile field values rejected, naming the field")
            rejections.append(str(error))
            continue
        accepted[str(index)] = (project, v, artifacts["adversarial/app/config.xml"])
        jenkinsfiles[str(index)] = artifacts["adversarial/app/Jenkinsfile"]
    assert [r for r in rejections if not FIELD_NAME.search(r)] == [], "errors must name the field"
    for key, tree in walk(jenkinsfiles).items() if jenkinsfiles else ():
        project, v, config = accepted[key]
        check(project, v, tree[0], config)
