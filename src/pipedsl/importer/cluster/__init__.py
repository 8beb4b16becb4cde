"""Kubernetes YAML manifests → the typed objects of a component's ``runtime=``.

A team's hand-written manifests (the ones its Jenkinsfile ships and applies) are read as
data, never copied as text: each document of a kind the model has becomes that object —
references between objects become the objects themselves (a container's ``envFrom`` the
:class:`ConfigMap`, a Service's selector the workload it selects) — and every field is
either converted or the document is not converted at all, with the field named. A Secret's
values are never read: its keys are.

``read`` reads files and fields, ``pods`` and ``objects`` convert the kinds, ``cluster``
converts on first use and gives each object its owner. Pure: the CLI reads the files and
hands their texts over.
"""

from pipedsl.importer.cluster.cluster import Assigned, Cluster
from pipedsl.importer.cluster.pods import repository_of, same_repository
from pipedsl.importer.cluster.read import (
    Manifest,
    UnconvertibleError,
    matches_pattern,
    read_manifests,
)

__all__ = [
    "Assigned",
    "Cluster",
    "Manifest",
    "UnconvertibleError",
    "matches_pattern",
    "read_manifests",
    "repository_of",
    "same_repository",
]
