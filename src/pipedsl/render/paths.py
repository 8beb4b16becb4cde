"""Where each generated file goes, relative to the output folder: one function per kind, so
render, the jobs and the deploy stages cannot disagree."""

from __future__ import annotations

from pipedsl.k8s.manifests import manifest_file
from pipedsl.k8s.runtime import K8sObject
from pipedsl.model.project import Project


def jenkinsfile_path(project: Project, component_name: str) -> str:
    """``<project>/<component>/Jenkinsfile``."""
    return f"{project.name}/{component_name}/Jenkinsfile"


def job_config_path(project: Project, component_name: str) -> str:
    """``<project>/<component>/config.xml``."""
    return f"{project.name}/{component_name}/config.xml"


def manifest_path(project: Project, component_name: str, obj: K8sObject) -> str:
    """Where the manifest of ``obj``, run by a component (or backing service), is written:
    ``<project>/<component>/k8s/<rank>-<kind>-<name>.yaml``."""
    return manifest_file(project.name, component_name, obj)
