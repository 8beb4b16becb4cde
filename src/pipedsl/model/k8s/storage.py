"""Storage: StorageClasses, PersistentVolume(Claim)s, StatefulSet claim templates, and the
volumes pods mount."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

import attrs

from pipedsl.errors import ModelError, PipedslWarning
from pipedsl.model import _checks
from pipedsl.model.k8s import _checks as k8s
from pipedsl.model.k8s.config import ConfigMap, Secret
from pipedsl.record import Record

ACCESS_MODES = ("ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod")


def _modes(value: str | Iterable[str]) -> tuple[str, ...]:
    return _checks.str_tuple(value)


def _check_modes(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not value:
        raise _checks.fail(instance, attribute, "give at least one access mode")
    for mode in value:
        _checks.one_of(ACCESS_MODES)(instance, attribute, mode)


@attrs.frozen(eq=False, repr=False)
class StorageClass(Record):
    """A kind of storage the cluster provisions on demand: ``StorageClass("fast-ssd",
    "ebs.csi.aws.com", parameters={"type": "gp3"})``. Claims name it with
    ``storage_class=fast_ssd`` (the object, or its name); ``default=True`` makes it the class of
    claims that name none."""

    kind: ClassVar[str] = "StorageClass"
    api_version: ClassVar[str] = "storage.k8s.io/v1"
    namespaced: ClassVar[bool] = False

    name: str = attrs.field(validator=k8s.NAME)
    provisioner: str = attrs.field(
        validator=_checks.matches(
            r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?(/[a-z0-9]([-a-z0-9.]*[a-z0-9])?)?",
            "a provisioner name such as 'ebs.csi.aws.com' or 'kubernetes.io/no-provisioner'",
        )
    )
    parameters: tuple[tuple[str, str], ...] = attrs.field(
        factory=tuple, kw_only=True, converter=_checks.pairs, validator=k8s.check_annotations
    )
    reclaim_policy: str = attrs.field(
        default="Delete", kw_only=True, validator=_checks.one_of(("Delete", "Retain"))
    )
    volume_binding_mode: str = attrs.field(
        default="WaitForFirstConsumer",
        kw_only=True,
        validator=_checks.one_of(("WaitForFirstConsumer", "Immediate")),
    )
    """``WaitForFirstConsumer`` (the default here) creates the volume where the pod is
    scheduled, so a zonal disk is never made in a zone the pod cannot run in."""
    allow_volume_expansion: bool = attrs.field(
        default=False, kw_only=True, validator=_checks.instance_of(bool)
    )
    default: bool = attrs.field(default=False, kw_only=True, validator=_checks.instance_of(bool))


def _check_class(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, StorageClass) or value == "":
        return
    if not isinstance(value, str):
        raise _checks.fail(
            instance, attribute, f"expected a StorageClass, its name or '', got {value!r}"
        )
    k8s.NAME(instance, attribute, value)


def class_name(storage_class: StorageClass | str | None) -> str | None:
    """The ``storageClassName`` a manifest states: ``''`` (no class), a name, or None."""
    return storage_class.name if isinstance(storage_class, StorageClass) else storage_class


@attrs.frozen(eq=False, repr=False)
class PersistentVolume(Record):
    """A volume of the cluster, here a ``host_path`` on a node (clusters without a storage
    provisioner): ``PersistentVolume("mariadb-data", storage="10Gi", host_path="/srv/mariadb")``.

    ``storage_class=""`` gives it no class: it then binds only claims that ask for none
    (``PersistentVolumeClaim(storage_class="")``), never a dynamically provisioned one."""

    kind: ClassVar[str] = "PersistentVolume"
    api_version: ClassVar[str] = "v1"
    namespaced: ClassVar[bool] = False

    name: str = attrs.field(validator=k8s.NAME)
    storage: str = attrs.field(kw_only=True, validator=k8s.QUANTITY)
    host_path: str = attrs.field(kw_only=True, validator=k8s.ABSOLUTE_PATH)
    access_modes: tuple[str, ...] = attrs.field(
        default=("ReadWriteOnce",), kw_only=True, converter=_modes, validator=_check_modes
    )
    storage_class: StorageClass | str = attrs.field(
        default="manual", kw_only=True, validator=_check_class
    )
    reclaim_policy: str = attrs.field(
        default="Retain", kw_only=True, validator=_checks.one_of(("Retain", "Delete", "Recycle"))
    )


@attrs.frozen(eq=False, repr=False)
class PersistentVolumeClaim(Record):
    """A claim on storage: from the cluster's provisioner (``storage_class``: a
    :class:`StorageClass`, its name, or ``""`` for no dynamic provisioning; the cluster's default
    class when None), or bound to a :class:`PersistentVolume` given as ``volume``."""

    kind: ClassVar[str] = "PersistentVolumeClaim"
    api_version: ClassVar[str] = "v1"

    name: str = attrs.field(validator=k8s.NAME)
    storage: str = attrs.field(kw_only=True, validator=k8s.QUANTITY)
    access_modes: tuple[str, ...] = attrs.field(
        default=("ReadWriteOnce",), kw_only=True, converter=_modes, validator=_check_modes
    )
    storage_class: StorageClass | str | None = attrs.field(
        default=None, kw_only=True, validator=_checks.optional(_check_class)
    )
    volume: PersistentVolume | None = attrs.field(
        default=None,
        kw_only=True,
        validator=_checks.optional(_checks.instance_of(PersistentVolume)),
    )
    namespace: str = attrs.field(default="default", kw_only=True, validator=k8s.NAME)

    def __attrs_post_init__(self) -> None:
        pv = self.volume
        if pv is None:
            return
        if k8s.quantity_value(pv.storage) < k8s.quantity_value(self.storage):
            raise ModelError(
                f"PersistentVolumeClaim.storage: claims {self.storage} but PersistentVolume "
                f"{pv.name!r} has only {pv.storage}"
            )
        if not set(self.access_modes) <= set(pv.access_modes):
            raise ModelError(
                f"PersistentVolumeClaim.access_modes: {', '.join(self.access_modes)} not all "
                f"offered by PersistentVolume {pv.name!r} ({', '.join(pv.access_modes)})"
            )
        mine, theirs = class_name(self.storage_class), class_name(pv.storage_class)
        if mine is not None and mine != theirs:
            raise ModelError(
                f"PersistentVolumeClaim.storage_class: {mine!r} differs from "
                f"PersistentVolume {pv.name!r}'s {theirs!r}; leave it unset"
            )


@attrs.frozen(eq=False, repr=False)
class ClaimTemplate(Record):
    """A StatefulSet's per-pod claim (``volumeClaimTemplates``): each replica gets its own
    PersistentVolumeClaim ``<name>-<statefulset>-<n>``, kept when the pod is replaced."""

    name: str = attrs.field(validator=k8s.NAME)
    storage: str = attrs.field(kw_only=True, validator=k8s.QUANTITY)
    access_modes: tuple[str, ...] = attrs.field(
        default=("ReadWriteOnce",), kw_only=True, converter=_modes, validator=_check_modes
    )
    storage_class: StorageClass | str | None = attrs.field(
        default=None, kw_only=True, validator=_checks.optional(_check_class)
    )


@attrs.frozen(eq=False, repr=False)
class ClaimVolume(Record):
    """A pod volume backed by a :class:`PersistentVolumeClaim`."""

    name: str = attrs.field(validator=k8s.NAME)
    claim: PersistentVolumeClaim = attrs.field(validator=_checks.instance_of(PersistentVolumeClaim))


def _items(value: Mapping[str, str] | Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    return _checks.pairs(value)  # type: ignore[no-any-return]


_ITEM_PATH = _checks.matches(
    r"(?!/)(?!.*(^|/)\.\.(/|$))[^\x00\n\r]+",
    "a relative file path without '..' such as 'tls/cert.pem'",
)


def _check_items(keys: tuple[str, ...], owner: str, instance: Any, attribute: Any) -> None:
    """``items`` name keys of the object (each once) and relative file paths (each once)."""
    seen: set[str] = set()
    for pair in instance.items:
        if not (isinstance(pair, tuple) and len(pair) == 2):
            raise _checks.fail(instance, attribute, "expected a mapping of key to file path")
        key, path = pair
        if key not in keys:
            raise _checks.fail(
                instance,
                attribute,
                f"{owner} has no key {key!r}; its keys: {', '.join(keys) or 'none'}",
            )
        _ITEM_PATH(instance, attribute, path)
        if path in seen:
            raise _checks.fail(instance, attribute, f"two keys are written to {path!r}")
        seen.add(path)


@attrs.frozen(eq=False, repr=False)
class ConfigMapVolume(Record):
    """A pod volume whose files are a :class:`ConfigMap`'s keys (nginx configuration, ...);
    with ``items={"key": "file/path"}``, only those keys, at those paths."""

    name: str = attrs.field(validator=k8s.NAME)
    config_map: ConfigMap = attrs.field(validator=_checks.instance_of(ConfigMap))
    items: tuple[tuple[str, str], ...] = attrs.field(factory=tuple, kw_only=True, converter=_items)

    def __attrs_post_init__(self) -> None:
        field = attrs.fields(ConfigMapVolume).items
        _check_items(self.config_map.keys, f"ConfigMap {self.config_map.name!r}", self, field)


@attrs.frozen(eq=False, repr=False)
class SecretVolume(Record):
    """A pod volume whose files are a :class:`Secret`'s keys; with ``items={"tls.crt":
    "cert.pem"}``, only those keys, at those paths."""

    name: str = attrs.field(validator=k8s.NAME)
    secret: Secret = attrs.field(validator=_checks.instance_of(Secret))
    items: tuple[tuple[str, str], ...] = attrs.field(factory=tuple, kw_only=True, converter=_items)

    def __attrs_post_init__(self) -> None:
        field = attrs.fields(SecretVolume).items
        _check_items(self.secret.keys, f"Secret {self.secret.name!r}", self, field)


HOST_PATH_TYPES = (
    "DirectoryOrCreate",
    "Directory",
    "FileOrCreate",
    "File",
    "Socket",
    "CharDevice",
    "BlockDevice",
)


@attrs.frozen(eq=False, repr=False)
class HostPathVolume(Record):
    """A folder or file of the node the pod runs on (a log collector reading ``/var/log``).
    Allowed, with a warning: the pod sees whatever that node holds, its data stays on that one
    node, and a writable host path lets the pod change the node. Prefer a
    :class:`PersistentVolumeClaim`; mount it ``read_only=True`` when reading is enough."""

    name: str = attrs.field(validator=k8s.NAME)
    path: str = attrs.field(validator=k8s.ABSOLUTE_PATH)
    type: str = attrs.field(
        default="Directory", kw_only=True, validator=_checks.one_of(HOST_PATH_TYPES)
    )

    def __attrs_post_init__(self) -> None:
        warnings.warn(
            f"HostPathVolume {self.name!r} mounts {self.path} of whichever node runs the pod: "
            "its contents differ from node to node and a writable mount can change the node; "
            "prefer a PersistentVolumeClaim",
            PipedslWarning,
            stacklevel=3,  # the line that built the volume
        )


@attrs.frozen(eq=False, repr=False)
class EmptyDirVolume(Record):
    """Scratch space that lives as long as the pod."""

    name: str = attrs.field(validator=k8s.NAME)


Volume = (
    ClaimVolume | ConfigMapVolume | SecretVolume | EmptyDirVolume | HostPathVolume | ClaimTemplate
)
VOLUME_TYPES = (
    ClaimVolume,
    ConfigMapVolume,
    SecretVolume,
    EmptyDirVolume,
    HostPathVolume,
    ClaimTemplate,
)
PERSISTENT_VOLUME_TYPES = (ClaimVolume, ClaimTemplate)
