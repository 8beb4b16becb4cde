"""Kinds pipedsl does not model (a CRD's objects: an Argo Rollout, a cert-manager Certificate,
an Elasticsearch cluster) as typed data: checked for apiVersion, kind and metadata, rendered in
apply order after the built-in kinds, secret-scanned like every manifest — never YAML text."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

import attrs

from pipedsl.errors import ModelError
from pipedsl.model import _checks
from pipedsl.model.k8s import _checks as k8s
from pipedsl.model.k8s.config import looks_secret
from pipedsl.record import Record

_API_VERSION = re.compile(
    r"([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+/)?v[0-9]+((alpha|beta)[0-9]+)?"
)
_KIND = re.compile(r"[A-Z][A-Za-z0-9]{0,62}")
_NAME = re.compile(r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?")
_MODELLED = {
    "Namespace": "Namespace",
    "ConfigMap": "ConfigMap",
    "Secret": "Secret (whose values never enter the repository)",
    "PersistentVolume": "PersistentVolume",
    "PersistentVolumeClaim": "PersistentVolumeClaim",
    "Deployment": "Deployment",
    "StatefulSet": "StatefulSet",
    "Service": "Service",
    "Ingress": "Ingress",
    "HorizontalPodAutoscaler": "HorizontalPodAutoscaler",
    "StorageClass": "StorageClass",
    "ServiceAccount": "ServiceAccount",
    "Role": "Role",
    "ClusterRole": "ClusterRole",
    "RoleBinding": "RoleBinding",
    "ClusterRoleBinding": "ClusterRoleBinding",
    "Job": "Job",
    "CronJob": "CronJob",
}
_METADATA = ("name", "namespace", "labels", "annotations")


def _literal_credential(key: object, item: object) -> bool:
    """``password: hunter2``, not ``password: ""``, ``passwordRef: {...}``, ``token: $T`` or
    the ``key:`` of a reference (``{name: db, key: password}``)."""
    if not isinstance(key, str) or not looks_secret(key) or not isinstance(item, str | int):
        return False
    if key.lower() in ("key", "keys"):
        return False
    return item not in ("", 0) and not str(item).startswith("$")


def _written_secret(value: object, where: str, *, top: bool = False) -> str | None:
    """Where ``value`` (a custom object's fields) holds a credential as a literal — a
    ``stringData`` mapping (or a top-level ``data`` one, as a Secret holds), a value under a
    credential's name (``password:``, ``apiToken:``) or an env entry ``{name: DB_PASSWORD,
    value: ...}`` — the field, never the value."""
    if isinstance(value, Mapping):
        name = value.get("name")
        if isinstance(name, str) and looks_secret(name) and value.get("value") not in (None, ""):
            return f"{where}.value"
        for key, item in value.items():
            inner = f"{where}.{key}"
            secret_data = key == "stringData" or (top and key == "data")
            if secret_data and isinstance(item, Mapping) and item:
                return inner
            if _literal_credential(key, item):
                return inner
            found = _written_secret(item, inner)
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _written_secret(item, f"{where}[{index}]")
            if found is not None:
                return found
    return None


def _plain(value: Any, where: str) -> Any:
    """``value`` as JSON data (str keys; str, int, float, bool, None, lists, mappings)."""
    if isinstance(value, Mapping):
        for key in value:
            if not isinstance(key, str):
                raise ModelError(f"{where}: key {key!r} is not a string")
        return {key: _plain(item, f"{where}.{key}") for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item, f"{where}[{index}]") for index, item in enumerate(value)]
    if isinstance(value, float) and not math.isfinite(value):
        raise ModelError(f"{where}: {value!r} is not a number YAML and JSON share")
    if value is None or isinstance(value, str | int | float | bool):
        if isinstance(value, str) and "\x00" in value:
            raise ModelError(f"{where}: must not contain a NUL character")
        return value
    raise ModelError(
        f"{where}: {type(value).__name__} is not manifest data (strings, numbers, booleans, "
        "null, lists and mappings)"
    )


@attrs.frozen(eq=False, repr=False)
class CustomObject(Record):
    """An object of a kind pipedsl does not model, made from its data with :meth:`of`::

        CustomObject.of({"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
                         "metadata": {"name": "api", "namespace": "shop"},
                         "spec": {"replicas": 3, ...}})

    ``metadata`` holds ``name`` (required), ``namespace``, ``labels`` and ``annotations``; the
    other top-level fields (``spec``...) are written as given. Kinds pipedsl models are refused
    (use their class, checked and wired), as is a ``Secret`` (its values never enter the
    repository). Its CRD must be installed in the cluster before it is applied.
    """

    api_version: str = attrs.field(
        validator=_checks.matches(
            _API_VERSION.pattern, "group/version such as argoproj.io/v1alpha1"
        )
    )
    kind: str = attrs.field(validator=_checks.matches(_KIND.pattern, "a kind such as Rollout"))
    name: str = attrs.field(validator=_checks.matches(_NAME.pattern, "a DNS subdomain name"))
    namespace: str | None = attrs.field(
        default=None, kw_only=True, validator=_checks.optional(k8s.NAME)
    )
    labels: tuple[tuple[str, str], ...] = attrs.field(
        factory=tuple, kw_only=True, validator=_checks.tuple_of(tuple)
    )
    annotations: tuple[tuple[str, str], ...] = attrs.field(
        factory=tuple, kw_only=True, validator=_checks.tuple_of(tuple)
    )
    body: str = attrs.field(default="{}", kw_only=True)
    """The fields besides apiVersion, kind and metadata, as canonical JSON (immutable)."""

    def __attrs_post_init__(self) -> None:
        if self.kind in _MODELLED:
            raise ModelError(
                f"CustomObject.kind: {self.kind} is modelled: use {_MODELLED[self.kind]} "
                "(checked, and wired to the objects it refers to)"
            )
        try:
            body = json.loads(self.body)
        except ValueError:
            body = None
        if not isinstance(body, dict) or set(body) & {"apiVersion", "kind", "metadata"}:
            raise ModelError("CustomObject.body: expected the JSON of the other top-level fields")
        written = _written_secret(body, self.kind, top=True)
        if written is not None:
            raise ModelError(
                f"CustomObject {self.kind} {self.name!r}: {written} holds a secret written into "
                "the manifest, which would be committed with the project; keep it in a Secret "
                "the object refers to"
            )

    @classmethod
    def of(cls, document: Mapping[str, Any]) -> CustomObject:
        """The object ``document`` describes (checked as the class docstring says)."""
        data = _plain(document, "CustomObject")
        if not isinstance(data, dict):
            raise ModelError("CustomObject: expected a mapping with apiVersion, kind and metadata")
        api_version, kind = data.pop("apiVersion", None), data.pop("kind", None)
        metadata = data.pop("metadata", None)
        if not isinstance(api_version, str) or not _API_VERSION.fullmatch(api_version):
            raise ModelError(
                f"CustomObject.apiVersion: expected group/version such as argoproj.io/v1alpha1, "
                f"got {api_version!r}"
            )
        if not isinstance(kind, str) or not _KIND.fullmatch(kind):
            raise ModelError(f"CustomObject.kind: expected a kind such as Rollout, got {kind!r}")
        if not isinstance(metadata, dict) or not isinstance(metadata.get("name"), str):
            raise ModelError("CustomObject.metadata: expected a mapping with a name")
        unknown = sorted(set(metadata) - set(_METADATA))
        if unknown:
            raise ModelError(
                f"CustomObject.metadata: {', '.join(unknown)} not allowed; allowed: "
                f"{', '.join(_METADATA)}"
            )
        pairs = {}
        for field in ("labels", "annotations"):
            given = metadata.get(field, {})
            if not isinstance(given, dict) or not all(isinstance(v, str) for v in given.values()):
                raise ModelError(f"CustomObject.metadata.{field}: expected a mapping of strings")
            pairs[field] = tuple(given.items())
        return cls(
            api_version,
            kind,
            metadata["name"],
            namespace=metadata.get("namespace"),
            labels=pairs["labels"],
            annotations=pairs["annotations"],
            body=json.dumps(data, ensure_ascii=False, allow_nan=False),
        )

    def document(self) -> dict[str, Any]:
        """The object as manifest data."""
        metadata: dict[str, Any] = {"name": self.name}
        if self.namespace is not None:
            metadata["namespace"] = self.namespace
        if self.labels:
            metadata["labels"] = dict(self.labels)
        if self.annotations:
            metadata["annotations"] = dict(self.annotations)
        body: dict[str, Any] = json.loads(self.body)
        return {"apiVersion": self.api_version, "kind": self.kind, "metadata": metadata, **body}
