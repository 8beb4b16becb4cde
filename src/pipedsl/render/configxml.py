"""Jenkins job ``config.xml`` for a component's pipeline.

Built with ElementTree, whose serializer is the one place text is escaped for XML; characters
XML cannot carry at all are refused with an error naming the job.

The file declares XML 1.1, as Jenkins writes and reads it. An XML 1.1 reader turns a raw CR,
NEL (U+0085) and LINE SEPARATOR (U+2028) into a line feed and refuses raw DEL and C1 controls
(U+007F-U+009F), so those are written as character references: every value reads back exactly
through an XML 1.1 parser (the JDK's, which Jenkins uses) and through ElementTree alike.
"""

from __future__ import annotations

import hashlib
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from urllib.parse import quote

import attrs

from pipedsl.errors import RenderError
from pipedsl.model.jobs import Branches, JenkinsJobs
from pipedsl.model.project import Component, Project
from pipedsl.model.validate import github_coordinates
from pipedsl.record import Record

MANAGED_MARK = "[managed by pipedsl"
_MARKER = re.compile(
    r"\[managed by pipedsl; project=([^;\]\n]+); repository=([^;\]\s]+); "
    r"job=([^;\]\n]+); digest=([0-9a-f]{64})\]"
)
# The marker of pipedsl releases before the repository was recorded.
_LEGACY_MARKER = re.compile(
    r"\[managed by pipedsl; project=([^;\]\n]+); job=([^;\]\n]+); digest=([0-9a-f]{64})\]"
)

# Characters XML cannot represent even as character references (XML 1.1 could carry the C0
# controls as references, but XML 1.0 readers, ElementTree among them, could not read them).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# Characters an XML 1.1 reader changes or refuses when raw: CR, NEL and U+2028 become LF, DEL
# and the C1 controls are "restricted". As character references they read back unchanged.
_AS_REFERENCE = re.compile("[\r\x7f-\x9f\u2028]")

WORKFLOW_JOB = "org.jenkinsci.plugins.workflow.job.WorkflowJob"
MULTIBRANCH_JOB = "org.jenkinsci.plugins.workflow.multibranch.WorkflowMultiBranchProject"
_GITHUB_TRAITS = "org.jenkinsci.plugins.github__branch__source"


# The ASCII characters among them, as bytes: a Jenkinsfile is mostly ASCII, and deleting these
# bytes from its encoding is several times faster than the search.
_NOT_XML_ASCII = bytes(c for c in range(0x20) if _NOT_XML.match(chr(c)))


def xml_text(value: str, where: str) -> str:
    """``value`` checked to be representable in XML (ElementTree escapes ``<``, ``&`` ...)."""
    if value.isascii():
        data = value.encode("ascii")
        if len(data.translate(None, _NOT_XML_ASCII)) == len(data):
            return value
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


def _multibranch_config(
    *,
    project: Project,
    component: Component,
    settings: JenkinsJobs,
    script_path: str,
    description: str,
) -> ET.Element:
    """A multibranch job reading the Jenkinsfile at ``script_path`` of every branch and pull
    request ``settings.branches`` selects, through GitHub's branch source. Every part Jenkins
    would otherwise default (the traits above all: missing traits mean the legacy defaults,
    fork pull requests included) is written out."""
    where = job_full_name(project, component)
    coordinates = github_coordinates(project.repository)
    if coordinates is None:  # validate_project refuses it first
        raise RenderError(f"{where}: multibranch jobs need a GitHub repository")
    owner, name = coordinates
    branches = settings.branch_selection
    root = ET.Element(MULTIBRANCH_JOB, plugin="workflow-multibranch")
    # No <actions/>: Jenkins adds it, and the digest (like sync's) is taken without it.
    _sub(root, "description", xml_text(description, where))
    _sub(root, "properties")
    orphans = _sub(
        root,
        "orphanedItemStrategy",
        **{"class": "com.cloudbees.hudson.plugins.folder.computed.DefaultOrphanedItemStrategy"},
    )
    _sub(orphans, "pruneDeadBranches", "true" if branches.prune else "false")
    _sub(orphans, "daysToKeep", "-1")
    _sub(orphans, "numToKeep", "-1")
    _sub(orphans, "abortBuilds", "false")
    scan = _sub(
        _sub(root, "triggers"), "com.cloudbees.hudson.plugins.folder.computed.PeriodicFolderTrigger"
    )
    _sub(scan, "spec", _scan_spec(branches.scan_hours))
    _sub(scan, "interval", str(branches.scan_hours * 3_600_000))
    _sub(root, "disabled", "false")
    sources = _sub(
        root, "sources", **{"class": "jenkins.branch.MultiBranchProject$BranchSourceList"}
    )
    branch_source = _sub(_sub(sources, "data"), "jenkins.branch.BranchSource")
    source = _sub(
        branch_source,
        "source",
        **{"class": "org.jenkinsci.plugins.github_branch_source.GitHubSCMSource"},
    )
    # A stable id: Jenkins keys the branch jobs' state on it.
    _sub(source, "id", f"pipedsl-{project.name}-{component.name}")
    _sub(source, "apiUri", "https://api.github.com")
    if settings.checkout_credentials:
        _sub(source, "credentialsId", settings.checkout_credentials)
    _sub(source, "repoOwner", xml_text(owner, where))
    _sub(source, "repository", xml_text(name, where))
    _sub(source, "repositoryUrl", xml_text(github_url(owner, name), where))
    _github_traits(_sub(source, "traits"), branches, where)
    strategy = _sub(
        branch_source, "strategy", **{"class": "jenkins.branch.DefaultBranchPropertyStrategy"}
    )
    _sub(strategy, "properties", **{"class": "empty-list"})
    if branches.tags:
        _build_strategies(_sub(branch_source, "buildStrategies"), branches)
    factory = _sub(
        root,
        "factory",
        **{"class": "org.jenkinsci.plugins.workflow.multibranch.WorkflowBranchProjectFactory"},
    )
    _sub(factory, "scriptPath", xml_text(script_path, where))
    return root


def _github_traits(traits: ET.Element, branches: Branches, where: str) -> None:
    """What the branch source discovers, every trait written (see _multibranch_config)."""
    # Branches that are also pull requests are built as the pull request (strategy 1), unless
    # pull requests are not built at all (then every branch: strategy 3).
    _sub(
        _sub(traits, f"{_GITHUB_TRAITS}.BranchDiscoveryTrait"),
        "strategyId",
        "1" if branches.pull_requests else "3",
    )
    if branches.pull_requests:
        # The pull request merged with its target branch: what merging it would build.
        _sub(_sub(traits, f"{_GITHUB_TRAITS}.OriginPullRequestDiscoveryTrait"), "strategyId", "1")
    if branches.forks:
        fork = _sub(traits, f"{_GITHUB_TRAITS}.ForkPullRequestDiscoveryTrait")
        _sub(fork, "strategyId", "1")
        _sub(
            fork,
            "trust",
            **{
                "class": "org.jenkinsci.plugins.github_branch_source."
                "ForkPullRequestDiscoveryTrait$TrustPermission"
            },
        )
    if branches.tags:
        _sub(traits, f"{_GITHUB_TRAITS}.TagDiscoveryTrait")
    if branches.include:
        wildcard = _sub(traits, "jenkins.scm.impl.trait.WildcardSCMHeadFilterTrait")
        # Pull requests are heads named PR-<number> and tags their names: a filter on branch
        # names keeps the ones that are built.
        includes = [
            *branches.include,
            *(["PR-*"] if branches.pull_requests or branches.forks else []),
            *branches.tags,
        ]
        _sub(wildcard, "includes", xml_text(" ".join(includes), where))
        _sub(wildcard, "excludes", "")


def _build_strategies(strategies: ET.Element, branches: Branches) -> None:
    """Jenkins discovers tags but builds none by default; once any build strategy is set, only
    what a strategy accepts builds: so branches, pull requests and recent tags, each."""
    basic = "jenkins.branch.buildstrategies.basic"
    plugin = {"plugin": "basic-branch-build-strategies"}
    _sub(strategies, f"{basic}.BranchBuildStrategyImpl", **plugin)
    if branches.pull_requests or branches.forks:
        change = _sub(strategies, f"{basic}.ChangeRequestBuildStrategyImpl", **plugin)
        _sub(change, "ignoreTargetOnlyChanges", "false")
        _sub(change, "ignoreUntrustedChanges", "false")
    tag = _sub(strategies, f"{basic}.TagBuildStrategyImpl", **plugin)
    # Tags pushed before the last tag_days days (all of them, on a first scan) are not built.
    _sub(tag, "atLeastMillis", "-1")
    _sub(tag, "atMostMillis", str(branches.tag_days * 86_400_000))


def _scan_spec(hours: int) -> str:
    """The cron line Jenkins derives from a periodic scan interval (as its own form writes it)."""
    if hours <= 1:
        return "H/15 * * * *"
    if hours <= 8:
        return "H/30 * * * *"
    if hours <= 24:
        return "H H/4 * * *"
    if hours <= 48:
        return "H H/12 * * *"
    return "H H * * *"


def github_url(owner: str, name: str) -> str:
    """A GitHub repository's web URL, as the branch source records it."""
    return f"https://github.com/{owner}/{name}"


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
    if component.triggers is not None and component.triggers.cron is not None:
        _sub(_sub(triggers, "hudson.triggers.TimerTrigger"), "spec", component.triggers.cron)
    if component.triggers is not None and component.triggers.poll_scm is not None:
        poll = _sub(triggers, "hudson.triggers.SCMTrigger")
        _sub(poll, "spec", component.triggers.poll_scm)
        _sub(poll, "ignorePostCommitHooks", "false")
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
            f"*/{xml_text(project.branch_of(component), where)}",
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
    # Our markup is ASCII without CR, so every character referenced here is content.
    if not text.isascii() or "\r" in text or "\x7f" in text:  # else nothing to reference
        text = _AS_REFERENCE.sub(lambda m: f"&#{ord(m.group())};", text)
    return "<?xml version='1.1' encoding='UTF-8'?>\n" + text + "\n"


# What Jenkins itself adds to a job's config once it has run: declarative ``options {}`` become
# job properties, and build actions are recorded. Not edits, so drift detection ignores them.
_WRITTEN_PROPERTIES = frozenset(
    {
        "org.jenkinsci.plugins.workflow.job.properties.PipelineTriggersJobProperty",
        "com.coravy.hudson.plugins.github.GithubProjectProperty",
    }
)


def _tree_digest(root: ET.Element) -> str:
    """A digest of an element tree that ignores the job's description, attribute order, the
    version in ``plugin="name@1.2"``, and text that is only whitespace between elements (how
    Jenkins re-indents a config when it stores it). Each piece is length-prefixed, so no two
    different trees feed the hash the same bytes."""
    # The pieces are gathered and hashed at once (the same bytes as fed one by one).
    parts: list[bytes] = []
    _feed(root, parts.append)
    return hashlib.sha256(b"".join(parts)).hexdigest()


# _tree_digest's walk: module functions, not nested ones calling themselves, which would leave
# a reference cycle (and every piece gathered) for the collector on every call.
def _feed(element: ET.Element, add: Callable[[bytes], None]) -> None:
    add(b"<")
    _piece(element.tag, add)
    for key, value in sorted(element.attrib.items()):
        _piece(key, add)
        _piece(value.split("@", 1)[0] if key == "plugin" else value, add)
    text = element.text
    if element.tag == "description" or (len(element) and _blank(text)):
        text = None
    _piece(text or "", add)
    for child in element:
        _feed(child, add)
        _piece("" if _blank(child.tail) else child.tail or "", add)
    add(b">")


def _piece(text: str, add: Callable[[bytes], None]) -> None:
    data = text.encode("utf-8", "surrogatepass")
    add(len(data).to_bytes(8, "big"))
    add(data)


def _blank(text: str | None) -> bool:
    return text is None or not text.strip()


def canonical_digest(config_xml: str) -> str:
    """A digest of a config.xml that ignores its description and what Jenkins rewrites or adds
    when it stores a config or runs the job: the XML declaration, empty-element form,
    insignificant whitespace, plugin versions in ``plugin="name@1.2"``, ``<actions>``, and job
    properties pipedsl does not write (those declarative ``options`` create). It is the digest a
    managed job's marker records, so the marker can be checked against the config it sits in."""
    body = re.sub(r"^<\?xml[^>]*\?>", "", config_xml.lstrip("\ufeff"))
    root = ET.fromstring(body)  # noqa: S314  (our own output, or the config of a job we manage)
    for actions in root.findall("actions"):
        root.remove(actions)
    for properties in root.findall("properties"):
        for prop in list(properties):
            if prop.tag not in _WRITTEN_PROPERTIES:
                properties.remove(prop)
    return _tree_digest(root)


def marker_repository(repository: str) -> str:
    """How the marker records a repository URL: percent-encoded, so that it holds no ``;``,
    ``]``, space, XML markup or non-ASCII character."""
    return quote(repository, safe="/:@!$()*+,=.~-_")


@attrs.frozen(eq=False, repr=False)
class Marker(Record):
    """What a managed job's description records: the project that defines it and the
    repository that project builds (together, the owner: two repositories' projects may share
    a name, not both), the job's own full name, and the digest of its config
    (``canonical_digest``). ``repository`` is None in markers written before it was recorded."""

    project: str
    repository: str | None
    job: str
    digest: str

    def owned_by(self, project: str, repository: str) -> bool:
        """Whether the marker names this project of this repository as the job's owner."""
        return self.project == project and self.repository == marker_repository(repository)


def read_marker(description: str | None) -> Marker | None:
    """The marker in a job's description, or None if there is none."""
    match = _MARKER.search(description or "")
    if match:
        return Marker(*match.groups())
    legacy = _LEGACY_MARKER.search(description or "")
    return Marker(legacy[1], None, legacy[2], legacy[3]) if legacy else None


def managed_digest(description: str | None) -> str | None:
    """The digest recorded in a managed job's description, or None if pipedsl does not manage
    the job."""
    marker = read_marker(description)
    return marker.digest if marker else None


def is_managed(description: str | None, name: str) -> bool:
    """Whether the job ``name`` carries a marker that names this very job. A job copied from a
    managed one ("New Item, copy from") carries the other job's name in its copied description,
    so pipedsl neither updates nor prunes it. (Whose job it is, and whether the marker belongs
    to the config it sits in, are decided by ``sync``.)"""
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
    alone whether a job is up to date, and can check that a marker belongs to its config."""
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
    if settings.multibranch:
        text += (
            "\nMultibranch job: branches and pull requests get jobs of their own; only "
            f"{project.branch_of(component)!r} pushes and deploys."
        )
        root = _multibranch_config(
            project=project,
            component=component,
            settings=settings,
            script_path=script_path,
            description="",
        )
    else:
        root = _config(
            project=project,
            component=component,
            settings=settings,
            jenkinsfile=jenkinsfile,
            script_path=script_path,
            description="",
        )
    # The digest ignores the description, so it is taken before the description is filled in.
    mark = (
        f"{MANAGED_MARK}; project={project.name}; "
        f"repository={marker_repository(project.repository)}; "
        f"job={job_full_name(project, component)}; digest={_tree_digest(root)}]"
    )
    description = root.find("description")
    assert description is not None  # noqa: S101  (_config writes it first)
    description.text = xml_text(f"{text}\n{mark}", job_full_name(project, component))
    return _serialize(root)
