"""Jenkins job ``config.xml`` for a component's pipeline.

Built with ElementTree, whose serializer is the one place text is escaped for XML; characters
XML cannot carry at all are refused with an error naming the job.
"""

from __future__ import annotations

import hashlib
import re
import xml.etree.ElementTree as ET

import attrs

from pipedsl.errors import RenderError
from pipedsl.model.jobs import JenkinsJobs
from pipedsl.model.project import Component, Project

MANAGED_MARK = "[managed by pipedsl"
_MARKER = re.compile(
    r"\[managed by pipedsl; project=([^;\]\n]+); job=([^;\]\n]+); digest=([0-9a-f]{64})\]"
)

# Characters XML 1.0 cannot represent even as character references.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

WORKFLOW_JOB = "org.jenkinsci.plugins.workflow.job.WorkflowJob"


def xml_text(value: str, where: str) -> str:
    """``value`` checked to be representable in XML (ElementTree escapes ``<``, ``&`` ...)."""
    bad = _NOT_XML.search(value)
    if bad:
        raise RenderError(
            f"{where}: character U+{ord(bad.group()):04X} cannot be written to a Jenkins config.xml"
        )
    return value


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrib: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrib)
    if text is not None:
        element.text = text
    return element


def job_full_name(project: Project, component: Component) -> str:
    """The job's full name on Jenkins: ``<folder>/<component>``."""
    return f"{project.jenkins_folder}/{component.name}"


def _github_project_url(repository: str) -> str | None:
    match = re.fullmatch(r"(?:https://|git@)github\.com[/:](.+?)(?:\.git)?/?", repository)
    return f"https://github.com/{match.group(1)}/" if match else None


def _config(
    *,
    project: Project,
    component: Component,
    settings: JenkinsJobs,
    jenkinsfile: str,
    script_path: str,
    description: str,
) -> ET.Element:
    where = job_full_name(project, component)
    root = ET.Element("flow-definition", plugin="workflow-job")
    _sub(root, "description", xml_text(description, where))
    _sub(root, "keepDependencies", "false")
    properties = _sub(root, "properties")
    github = _github_project_url(project.repository)
    if github:
        prop = _sub(
            properties, "com.coravy.hudson.plugins.github.GithubProjectProperty", plugin="github"
        )
        _sub(prop, "projectUrl", github)
        _sub(prop, "displayName", "")
    triggers = _sub(
        _sub(
            properties, "org.jenkinsci.plugins.workflow.job.properties.PipelineTriggersJobProperty"
        ),
        "triggers",
    )
    _sub(_sub(triggers, "com.cloudbees.jenkins.GitHubPushTrigger", plugin="github"), "spec", "")
    if settings.definition == "scm":
        definition = _sub(
            root,
            "definition",
            **{
                "class": "org.jenkinsci.plugins.workflow.cps.CpsScmFlowDefinition",
                "plugin": "workflow-cps",
            },
        )
        scm = _sub(definition, "scm", **{"class": "hudson.plugins.git.GitSCM", "plugin": "git"})
        _sub(scm, "configVersion", "2")
        remote = _sub(_sub(scm, "userRemoteConfigs"), "hudson.plugins.git.UserRemoteConfig")
        _sub(remote, "url", xml_text(project.repository, where))
        if settings.checkout_credentials:
            _sub(remote, "credentialsId", settings.checkout_credentials)
        _sub(
            _sub(_sub(scm, "branches"), "hudson.plugins.git.BranchSpec"),
            "name",
            f"*/{project.branch}",
        )
        _sub(scm, "doGenerateSubmoduleConfigurations", "false")
        _sub(scm, "submoduleCfg", **{"class": "empty-list"})
        _sub(scm, "extensions")
        _sub(definition, "scriptPath", xml_text(script_path, where))
        _sub(definition, "lightweight", "true")
    else:
        definition = _sub(
            root,
            "definition",
            **{
                "class": "org.jenkinsci.plugins.workflow.cps.CpsFlowDefinition",
                "plugin": "workflow-cps",
            },
        )
        _sub(definition, "script", xml_text(jenkinsfile, where))
        _sub(definition, "sandbox", "true")
    _sub(root, "triggers")
    _sub(root, "disabled", "false")
    return root


def _serialize(root: ET.Element) -> str:
    ET.indent(root, space="  ")
    text = ET.tostring(root, encoding="unicode")
    # A reader turns a raw CR into LF; as a character reference it survives. Our markup has no
    # CR of its own, so every one here is content.
    return "<?xml version='1.1' encoding='UTF-8'?>\n" + text.replace("\r", "&#13;") + "\n"


# What Jenkins itself adds to a job's config once it has run: declarative ``options {}`` become
# job properties, and build actions are recorded. Not edits, so drift detection ignores them.
_WRITTEN_PROPERTIES = frozenset(
    {
        "org.jenkinsci.plugins.workflow.job.properties.PipelineTriggersJobProperty",
        "com.coravy.hudson.plugins.github.GithubProjectProperty",
    }
)


def canonical_digest(config_xml: str) -> str:
    """A digest of a config.xml that ignores its description and what Jenkins rewrites or adds
    when it stores a config or runs the job: the XML declaration, empty-element form,
    insignificant whitespace, plugin versions in ``plugin="name@1.2"``, ``<actions>``, and job
    properties pipedsl does not write (those declarative ``options`` create)."""
    body = re.sub(r"^<\?xml[^>]*\?>", "", config_xml.lstrip("\ufeff"))
    root = ET.fromstring(body)  # noqa: S314  (our own output, or the config of a job we manage)
    for actions in root.findall("actions"):
        root.remove(actions)
    for properties in root.findall("properties"):
        for prop in list(properties):
            if prop.tag not in _WRITTEN_PROPERTIES:
                properties.remove(prop)
    for element in root.iter():
        if element.tag == "description":
            element.text = None
        if "plugin" in element.attrib:
            element.set("plugin", element.get("plugin", "").split("@", 1)[0])
        if element.text is not None and not element.text.strip() and len(element):
            element.text = None
        if element.tail is not None and not element.tail.strip():
            element.tail = None
    canonical = ET.canonicalize(ET.tostring(root, encoding="unicode"), strip_text=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@attrs.frozen
class Marker:
    """What a managed job's description records: the project that defines it, its own full
    name, and the digest of its config."""

    project: str
    job: str
    digest: str


def read_marker(description: str | None) -> Marker | None:
    """The marker in a job's description, or None if there is none."""
    match = _MARKER.search(description or "")
    return Marker(*match.groups()) if match else None


def managed_digest(description: str | None) -> str | None:
    """The digest recorded in a managed job's description, or None if pipedsl does not manage
    the job."""
    marker = read_marker(description)
    return marker.digest if marker else None


def is_managed(description: str | None, name: str) -> bool:
    """Whether pipedsl manages the job ``name``: its description carries a marker that names
    this very job. A job copied from a managed one ("New Item, copy from") carries the other
    job's name in its copied description, so pipedsl neither updates nor prunes it."""
    marker = read_marker(description)
    return marker is not None and marker.job.casefold() == name.casefold()


def render_job_config(
    project: Project,
    component: Component,
    settings: JenkinsJobs,
    jenkinsfile: str,
    script_path: str,
) -> str:
    """The config.xml of the component's pipeline job. Its description says who manages the job
    and records a digest of the rest of the config, so ``sync`` can tell from a job listing
    alone whether a job is up to date."""
    source = project.source or "a pipedsl project"
    text = (
        f"Pipeline of {component.name} in {project.name}, generated by pipedsl from {source}.\n"
        "Edit the project file, not this job: pipedsl sync overwrites changes made here."
    )
    if settings.definition == "inline":
        text += (
            "\nInline pipeline: a GitHub push starts it only after a first build "
            "(pipedsl sync --first-build)."
        )
    # Serialised once with a placeholder where the digest goes; the digest is the hash of that
    # text (our serialisation is deterministic, so it identifies the config), then put in place.
    # What Jenkins stores is compared through ``canonical_digest``, only when drift is looked for.
    placeholder = "0" * 64
    mark = f"{MANAGED_MARK}; project={project.name}; job={job_full_name(project, component)}"
    draft = _serialize(
        _config(
            project=project,
            component=component,
            settings=settings,
            jenkinsfile=jenkinsfile,
            script_path=script_path,
            description=f"{text}\n{mark}; digest={placeholder}]",
        )
    )
    digest = hashlib.sha256(draft.encode("utf-8")).hexdigest()
    return draft.replace(f"{mark}; digest={placeholder}]", f"{mark}; digest={digest}]", 1)
