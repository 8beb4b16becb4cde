"""Manifest files read as data, and the strict field reader every kind's conversion uses:
what a document holds is either read or named."""

from __future__ import annotations

import fnmatch
import posixpath
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs
import yaml

from pipedsl.importer.report import ImportRefused, Kind, ReportLine
from pipedsl.record import Record

if TYPE_CHECKING:
    from pipedsl.importer.cluster.cluster import Cluster


NAME_LABEL = "app.kubernetes.io/name"


MANAGED_BY = "app.kubernetes.io/managed-by"


_IGNORED_METADATA = frozenset(
    {
        "labels",
        "annotations",
        "creationTimestamp",
        "generation",
        "resourceVersion",
        "uid",
        "selfLink",
        "managedFields",
    }
)


class UnconvertibleError(Exception):
    """A document (or a field of it) the model has no typed form for: ``why`` says which."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


@attrs.frozen(eq=False, repr=False)
class Manifest(Record):
    """One YAML document of a manifest file: where it starts and its data."""

    path: str
    line: int
    data: Mapping[str, Any] = attrs.field(eq=False)

    @property
    def kind(self) -> str:
        return str(self.data.get("kind", ""))

    @property
    def name(self) -> str:
        return str(mapping_of(self.data.get("metadata"), "metadata").get("name", ""))

    @property
    def namespace(self) -> str:
        meta = mapping_of(self.data.get("metadata"), "metadata")
        return str(meta.get("namespace") or "default")

    @property
    def key(self) -> tuple[str, str, str]:
        return self.kind, self.namespace, self.name

    @property
    def title(self) -> str:
        return f"{self.kind} {self.name!r}"

    def line_of(self, kind: Kind, what: str, why: str) -> ReportLine:
        """A report line about this document."""
        return ReportLine(self.path, self.line, kind, what, why)


def read_manifests(path: str, text: str) -> list[Manifest]:
    """The documents of one manifest file (a ``List`` is its items); refused, with the file
    and line, when it is not YAML or a document is not a Kubernetes object."""
    loader = yaml.SafeLoader(text)
    found: list[Manifest] = []
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            line = node.start_mark.line + 1
            data = loader.construct_document(node)
            if data is None:
                continue
            found += _documents(path, line, data)
    except RecursionError:
        raise ImportRefused(f"{path}: not a YAML manifest (nested too deeply)") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else path
        problem = getattr(exc, "problem", None) or "not YAML"
        raise ImportRefused(f"{where}: not a YAML manifest ({problem})") from None
    finally:
        loader.dispose()
    return found


def _documents(path: str, line: int, data: object) -> list[Manifest]:
    if not isinstance(data, Mapping) or not isinstance(data.get("kind"), str):
        raise ImportRefused(
            f"{path}:{line}: not a Kubernetes object: a manifest document is a mapping with "
            "apiVersion, kind and metadata.name"
        )
    if data["kind"] == "List":
        items = data.get("items")
        if not isinstance(items, list):
            raise ImportRefused(f"{path}:{line}: a List's items must be a list of objects")
        return [m for item in items for m in _documents(path, line, item)]
    meta = data.get("metadata")
    if not isinstance(meta, Mapping) or not isinstance(meta.get("name"), str):
        raise ImportRefused(
            f"{path}:{line}: {data['kind']} without metadata.name (a string naming the object)"
        )
    if not isinstance(meta.get("namespace", ""), str):
        raise ImportRefused(f"{path}:{line}: {data['kind']}'s metadata.namespace is not a string")
    return [Manifest(path, line, data)]


def mapping_of(value: object, where: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise UnconvertibleError(f"{where} is not a mapping")
    return value


class Fields:
    """A mapping read field by field: :meth:`done` refuses any field nobody read, so that a
    setting the model cannot carry is named instead of silently lost."""

    def __init__(self, value: object, where: str) -> None:
        self.data = mapping_of(value, where)
        self.where = where
        self.read: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        self.read.add(key)
        return self.data.get(key, default)

    def sub(self, key: str) -> Fields:
        return Fields(self.get(key), f"{self.where}.{key}")

    def items(self, key: str) -> list[Fields]:
        value = self.get(key) or []
        if not isinstance(value, list):
            raise UnconvertibleError(f"{self.where}.{key} is not a list")
        for index, item in enumerate(value):
            if not isinstance(item, Mapping):
                raise UnconvertibleError(f"{self.where}.{key}[{index}] is not a mapping")
        return [Fields(v, f"{self.where}.{key}[{i}]") for i, v in enumerate(value)]

    def text(self, key: str, default: str | None = None) -> Any:
        value = self.get(key, default)
        if value is not None and not isinstance(value, str):
            raise UnconvertibleError(f"{self.where}.{key}: expected a string, got {value!r}")
        return value

    def number(self, key: str, default: int | None = None) -> Any:
        value = self.get(key, default)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise UnconvertibleError(f"{self.where}.{key}: expected a number, got {value!r}")
        return value

    def ignore(self, *keys: str) -> None:
        self.read.update(keys)

    def done(self) -> None:
        extra = [k for k in self.data if k not in self.read]
        if extra:
            names = ", ".join(f"{self.where}.{k}" for k in extra)
            raise UnconvertibleError(f"{names}: not in pipedsl's model of this kind")


def list_of(value: object, kind: type, where: str) -> tuple[Any, ...]:
    """A list of ``kind`` (nothing for None)."""
    if value is None:
        return ()
    if not isinstance(value, list) or not all(
        isinstance(v, kind) and not isinstance(v, bool) for v in value
    ):
        raise UnconvertibleError(f"{where}: expected a list of {kind.__name__} values")
    return tuple(value)


def defaults_only(fields: Fields, **allowed: tuple[object, ...]) -> None:
    """Fields pipedsl has no place for, read when they hold a value it behaves as (Kubernetes'
    default, or one that does the same here), refused naming the field otherwise."""
    for key, values in allowed.items():
        value = fields.get(key)
        if value is not None and value not in values:
            allowed_text = " or ".join(repr(v) for v in values)
            raise UnconvertibleError(
                f"{fields.where}.{key} {value!r}: only {allowed_text} is modelled"
            )


def word_list(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UnconvertibleError(f"{where}: expected a list of strings")
    return tuple(value)


def listed(labels: Mapping[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in labels.items())


def label_map(value: object, where: str) -> dict[str, str]:
    labels = mapping_of(value, where)
    wrong = [k for k, v in labels.items() if not isinstance(k, str) or not isinstance(v, str)]
    if wrong:
        raise UnconvertibleError(f"{where}: {wrong[0]!r} is not a string key with a string value")
    return dict(labels)


def matches_pattern(path: str, pattern: str) -> bool:
    """Whether ``path`` is a file an Ant-style ``sourceFiles`` pattern ships (compared from
    the end, so that a path given from another folder still matches)."""
    path = posixpath.normpath(path.replace("\\", "/"))
    pattern = pattern.replace("**/", "*/").strip()
    parts = path.split("/")
    depth = len(pattern.split("/"))
    return fnmatch.fnmatchcase("/".join(parts[-depth:]), pattern)


def dig(value: object, *keys: str) -> Any:
    """``value[k1][k2]...``, or None where a step is missing or not a mapping."""
    for key in keys:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def mappings_in(value: object) -> list[Mapping[str, Any]]:
    """The mappings of a list (nothing for anything else): for the looks ahead at documents
    that are read strictly, with their errors, later."""
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def containers_of(pod: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return mappings_in(pod.get("containers")) + mappings_in(pod.get("initContainers"))


def pod_spec_of(data: Mapping[str, Any]) -> Mapping[str, Any] | None:
    pod = dig(data, "spec", "template", "spec")
    return pod if isinstance(pod, Mapping) else None


def annotations_of(manifest: Manifest) -> dict[str, str]:
    """The object's annotations, but kubectl's own record of the last apply."""
    meta = mapping_of(manifest.data.get("metadata"), "metadata")
    annotations = label_map(meta.get("annotations"), "metadata.annotations")
    annotations.pop("kubectl.kubernetes.io/last-applied-configuration", None)
    return annotations


def read_head(cluster: Cluster, manifest: Manifest, *, annotated: bool = False) -> Fields:
    """The document's fields with apiVersion, kind and metadata read; metadata labels are
    pipedsl's own. Annotations are refused unless the kind carries them (``annotated``)."""
    doc = Fields(manifest.data, manifest.kind)
    doc.ignore("apiVersion", "kind", "status")
    meta = doc.sub("metadata")
    meta.ignore(*_IGNORED_METADATA)
    meta.text("name")
    meta.text("namespace")
    meta.done()
    labels = label_map(meta.data.get("labels"), "metadata.labels")
    own = {NAME_LABEL: manifest.name, MANAGED_BY: "pipedsl"}
    selecting = label_map(dig(manifest.data, "spec", "selector", "matchLabels"), "matchLabels")
    extra = {k: v for k, v in labels.items() if own.get(k) != v and selecting.get(k) != v}
    if extra:
        cluster.note(
            manifest,
            "dropped",
            f"labels {listed(extra)} of {manifest.title}",
            f"pipedsl labels its objects itself ({NAME_LABEL}, {MANAGED_BY}); pods keep their "
            "own labels (pod_labels)",
        )
    annotations = annotations_of(manifest)
    if annotations and not annotated:
        raise UnconvertibleError(
            f"metadata.annotations ({', '.join(annotations)}): pipedsl sets annotations only "
            "where its model names them"
        )
    return doc


def scalar_text(value: object, where: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if value is None:
        raise UnconvertibleError(f"{where} has no value (YAML null, which Kubernetes refuses)")
    raise UnconvertibleError(f"{where}: expected a string")


def quantity(fields: Fields, key: str) -> str | None:
    value = fields.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise UnconvertibleError(f"{fields.where}.{key}: expected a quantity")
    return str(value)
