"""Job config.xml: valid XML, an embedded Jenkinsfile survives unchanged, digests ignore what
Jenkins rewrites."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipedsl import Component, Pipeline, Project, RenderError, Stage, sh
from pipedsl.jenkins.sync import DesiredJob, server_digest
from pipedsl.model.jobs import JenkinsJobs
from pipedsl.render.configxml import canonical_digest, managed_digest, render_job_config

XML_CHARS = st.characters(
    exclude_categories=["Cs"],
    exclude_characters="".join(chr(c) for c in range(0x20) if c not in (9, 10, 13))
    + "\ufffe\uffff",
)
NASTY = st.sampled_from(
    ["]]>", "&", "<", ">", "&amp;", "'", '"', "<![CDATA[", "\r\n", "\r", "\t", "${x}"]
)


def _project(definition: str = "inline") -> tuple[Project, Component]:
    component = Component("app", Pipeline([Stage("Build", [sh("make")])]))
    project = Project(
        "demo",
        repository="https://github.com/acme/demo.git",
        components=[component],
        jenkins=JenkinsJobs(definition),  # type: ignore[arg-type]
    )
    return project, component


def _parse(text: str) -> ET.Element:
    return ET.fromstring(re.sub(r"^<\?xml[^>]*\?>", "", text))  # noqa: S314  (our own output)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.text(XML_CHARS), NASTY)).map("".join))
def test_inline_jenkinsfile_round_trips_through_xml(jenkinsfile: str) -> None:
    project, component = _project()
    config = render_job_config(project, component, project.jenkins, jenkinsfile, "unused")
    script = _parse(config).find("definition/script")
    assert script is not None
    assert (script.text or "") == jenkinsfile


def test_characters_xml_cannot_carry_are_refused() -> None:
    project, component = _project()
    with pytest.raises(RenderError, match=r"demo/app: character U\+0001 cannot be written"):
        render_job_config(project, component, project.jenkins, "echo \x01", "unused")


def test_digest_ignores_jenkins_rewriting_and_description() -> None:
    project, component = _project("scm")
    config = render_job_config(
        project, component, project.jenkins, "", "generated/demo/app/Jenkinsfile"
    )
    assert (
        managed_digest(_parse(config).findtext("description"))
        == DesiredJob("demo/app", config).digest
    )
    digest = canonical_digest(config)
    rewritten = re.sub(r"<(\w[\w.-]*)([^>]*)></\1>", r"<\1\2/>", config)
    rewritten = rewritten.replace(
        "<?xml version='1.1' encoding='UTF-8'?>\n", '<?xml version="1.1" encoding="UTF-8"?>'
    )
    rewritten = rewritten.replace(
        "Edit the project file", "Someone edited this description. Edit the project file"
    )
    assert canonical_digest(rewritten) == digest
    assert canonical_digest(config.replace("*/develop", "*/main")) != digest


def test_scm_job_matches_the_reference_shape() -> None:
    project, component = _project("scm")
    root = _parse(
        render_job_config(project, component, project.jenkins, "", "generated/demo/app/Jenkinsfile")
    )
    assert root.tag == "flow-definition"
    trigger = root.find(
        "properties/org.jenkinsci.plugins.workflow.job.properties.PipelineTriggersJobProperty/triggers/"
        "com.cloudbees.jenkins.GitHubPushTrigger"
    )
    assert trigger is not None
    definition = root.find("definition")
    assert definition is not None
    assert definition.get("class") == "org.jenkinsci.plugins.workflow.cps.CpsScmFlowDefinition"
    assert (
        definition.findtext("scm/userRemoteConfigs/hudson.plugins.git.UserRemoteConfig/url")
        == project.repository
    )
    assert definition.findtext("scm/branches/hudson.plugins.git.BranchSpec/name") == "*/develop"
    assert definition.findtext("scriptPath") == "generated/demo/app/Jenkinsfile"
    assert definition.findtext("lightweight") == "true"


def test_a_server_config_that_is_not_xml_counts_as_drift() -> None:
    project, component = _project("scm")
    config = render_job_config(
        project, component, project.jenkins, "", "generated/demo/app/Jenkinsfile"
    )
    assert server_digest(config) == DesiredJob("demo/app", config).canonical
    assert server_digest("<flow-definition><oops></flow-definition>") == "unreadable"


def test_what_jenkins_adds_after_a_build_is_not_drift() -> None:
    project, component = _project("scm")
    config = render_job_config(
        project, component, project.jenkins, "", "generated/demo/app/Jenkinsfile"
    )
    built = config.replace(
        'plugin="workflow-job"', 'plugin="workflow-job@1508.v9cb_c3a_a_89dd7"'
    ).replace(
        "<properties>",
        "<actions/><properties><org.jenkinsci.plugins.workflow.job.properties."
        "DisableConcurrentBuildsJobProperty><abortPrevious>false</abortPrevious>"
        "</org.jenkinsci.plugins.workflow.job.properties.DisableConcurrentBuildsJobProperty>",
        1,
    )
    assert canonical_digest(built) == canonical_digest(config)
    # An edit of what pipedsl writes still counts.
    assert canonical_digest(built.replace("*/develop", "*/main")) != canonical_digest(config)
