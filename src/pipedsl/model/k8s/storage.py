"""Storage: PersistentVolume(Claim)s, StatefulSet claim templates, and the volumes pods mount."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

import attrs

from pipedsl.errors import ModelError
from pipedsl.model import _checks
from pipedsl.model.k8s import _checks as k8s
from pipedsl.model.k8s.config import ConfigMap, Secret

ACCESS_MODES = ("ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod")


def _modes(value: str | Iterable[str]) -> tuple[str, ...]:
    return _checks.str_tuple(value)


def _check_modes(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not value:
        raise _checks.fail(instance, attribute, "give at least one access mode")
    for mode in value:
        _checks.one_of(ACCESS_MODES)(instance, attribute, mode)


@attrs.frozen
class PersistentVolume:
    """A volume of the cluster, here a ``host_path`` on a node (clusters without a storage
    provisioner): ``PersistentVolume("mariadb-data", storage="10Gi", host_path="/srv/mariadb")``."""

    kind: ClassVar[str] = "PersistentVolume"
    api_version: ClassVar[str] = "v1"
    namespaced: ClassVar[bool] = False

    name: str = attrs.field(validator=k8s.NAME)
    storage: str = attrs.field(kw_only=True, validator=k8s.QUANTITY)
    host_path: str = attrs.field(kw_only=True, validator=k8s.ABSOLUTE_PATH)
    access_modes: tuple[str, ...] = attrs.field(
        default=("ReadWriteOnce",), kw_only=True, converter=_modes, validator=_check_modes
    )
    storage_class: str = attrs.field(default="manual", kw_only=True, validator=k8s.NAME)
    reclaim_policy: str = attrs.field(
        default="Retain", kw_only=True, validator=_checks.one_of(("Retain", "Delete", "Recycle"))
    )


@attrs.frozen
class PersistentVolumeClaim:
    """A claim on storage: from the cluster's provisioner (``storage_class``), or bound to a
    :class:`PersistentVolume` given as ``volume``."""

    kind: ClassVar[str] = "PersistentVolumeClaim"
    api_version: ClassVar[str] = "v1"

    name: str = attrs.field(validator=k8s.NAME)
    storage: str = attrs.field(kw_only=True, validator=k8s.QUANTITY)
    access_modes: tuple[str, ...] = attrs.field(
        default=("ReadWriteOnce",), kw_only=True, converter=_modes, validator=_check_modes
    )
    storage_class: str | None = attrs.field(
        default=None, kw_only=True, validator=_checks.optional(k8s.NAME)
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
        if self.storage_class is not None and self.storage_class != pv.storage_class:
            raise ModelError(
                f"PersistentVolumeClaim.storage_class: {self.storage_class!r} differs from "
                f"PersistentVolume {pv.name!r}'s {pv.storage_class!r}; leave it unset"
            )


@attrs.frozen
class ClaimTemplate:
    """A StatefulSet's per-pod claim (``volumeClaimTemplates``): each replica gets its own
    PersistentVolumeClaim ``<name>-<statefulset>-<n>``, kept when the pod is replaced."""

    name: str = attrs.field(validator=k8s.NAME)
    storage: str = attrs.field(kw_only=True, validator=k8s.QUANTITY)
    access_modes: tuple[str, ...] = attrs.field(
        default=("ReadWriteOnce",), kw_only=True, converter=_modes, validator=_check_modes
    )
    storage_class: str | None = attrs.field(
        default=None, kw_only=True, validator=_checks.optional(k8s.NAME)
    )


@attrs.frozen
class ClaimVolume:
    """A pod volume backed by a :class:`PersistentVolumeClaim`."""

    name: str = attrs.field(validator=k8s.NAME)
    claim: PersistentVolumeClaim = attrs.field(validator=_checks.instance_of(PersistentVolumeClaim))


@attrs.frozen
class ConfigMapVolume:
    """A pod volume whose files are a :class:`ConfigMap`'s keys (nginx configuration, ...)."""

    name: str = attrs.field(validator=k8s.NAME)
    config_map: ConfigMap = attrs.field(validator=_checks.instance_of(ConfigMap))


@attrs.frozen
class SecretVolume:
    """A pod volume whose files are a :class:`Secret`'s keys."""

    name: str = attrs.field(validator=k8s.NAME)
    secret: Secret = attrs.field(validator=_checks.instance_of(Secret))


@attrs.frozen
class EmptyDirVolume:
    """Scratch space that lives as long as the pod."""

    name: str = attrs.field(validator=k8s.NAME)


Volume = ClaimVolume | ConfigMapVolume | SecretVolume | EmptyDirVolume | ClaimTemplate
VOLUME_TYPES = (ClaimVolume, ConfigMapVolume, SecretVolume, EmptyDirVolume, ClaimTemplate)
PERSISTENT_VOLUME_TYPES = (ClaimVolume, ClaimTemplate)
