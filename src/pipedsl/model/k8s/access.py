"""Who pods are to the cluster: ServiceAccounts, and what they may do (Roles, ClusterRoles and
their bindings)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

import attrs

from pipedsl.errors import ModelError
from pipedsl.model import _checks
from pipedsl.model.k8s import _checks as k8s
from pipedsl.record import Record


@attrs.frozen(eq=False, repr=False)
class ServiceAccount(Record):
    """The identity a pod runs as (``Deployment(..., service_account=account)``), e.g. one a
    cloud IAM role is bound to: ``ServiceAccount("api", namespace="shop",
    annotations={"eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/api"})``.

    ``automount_token=False`` keeps the API token out of pods that never call the API."""

    kind: ClassVar[str] = "ServiceAccount"
    api_version: ClassVar[str] = "v1"

    name: str = attrs.field(validator=k8s.NAME)
    namespace: str = attrs.field(default="default", kw_only=True, validator=k8s.NAME)
    annotations: tuple[tuple[str, str], ...] = attrs.field(
        factory=tuple, kw_only=True, converter=_checks.pairs, validator=k8s.check_annotations
    )
    automount_token: bool | None = attrs.field(
        default=None, kw_only=True, validator=_checks.optional(_checks.instance_of(bool))
    )


_VERBS = (
    "get",
    "list",
    "watch",
    "create",
    "update",
    "patch",
    "delete",
    "deletecollection",
    "impersonate",
    "bind",
    "escalate",
    "use",
    "*",
)
_GROUP = _checks.matches(
    r"|\*|[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*",
    "an API group: '' (the core group), '*', or a DNS name such as 'apps'",
)
_RESOURCE = _checks.matches(
    r"\*|[a-z][a-z0-9]*(/[a-z*]+)?", "a resource such as 'pods', 'pods/log' or '*'"
)


def _strings(value: str | Iterable[str]) -> tuple[str, ...]:
    return _checks.str_tuple(value)


def _each(validator: _checks.Validator, *, non_empty: bool = True) -> _checks.Validator:
    def check(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
        if non_empty and not value:
            raise _checks.fail(instance, attribute, "give at least one")
        for item in value:
            validator(instance, attribute, item)

    return check


@attrs.frozen(eq=False, repr=False)
class PolicyRule(Record):
    """What a Role allows: ``PolicyRule(["pods", "pods/log"], ["get", "list", "watch"])`` (the
    core API group), ``PolicyRule(["deployments"], ["get", "patch"], api_groups=["apps"])``."""

    resources: tuple[str, ...] = attrs.field(converter=_strings, validator=_each(_RESOURCE))
    verbs: tuple[str, ...] = attrs.field(
        converter=_strings, validator=_each(_checks.one_of(_VERBS))
    )
    api_groups: tuple[str, ...] = attrs.field(
        default=("",), kw_only=True, converter=_strings, validator=_each(_GROUP)
    )
    resource_names: tuple[str, ...] = attrs.field(
        factory=tuple,
        kw_only=True,
        converter=_strings,
        validator=_each(_checks.text(multiline=False), non_empty=False),
    )
    """Only these objects (by name); all of the resources' objects when empty."""


def _rules(value: Any) -> Any:
    return _checks.to_tuple(value)


def _check_rules(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    _checks.tuple_of(PolicyRule)(instance, attribute, value)
    if not value:
        raise _checks.fail(instance, attribute, "a role needs at least one PolicyRule")


@attrs.frozen(eq=False, repr=False)
class Role(Record):
    """Permissions within one namespace: ``Role("pod-reader", [PolicyRule(["pods"], ["get",
    "list"])], namespace="shop")``, granted by a :class:`RoleBinding`."""

    kind: ClassVar[str] = "Role"
    api_version: ClassVar[str] = "rbac.authorization.k8s.io/v1"

    name: str = attrs.field(validator=k8s.NAME)
    rules: tuple[PolicyRule, ...] = attrs.field(converter=_rules, validator=_check_rules)
    namespace: str = attrs.field(default="default", kw_only=True, validator=k8s.NAME)


@attrs.frozen(eq=False, repr=False)
class ClusterRole(Record):
    """Permissions in every namespace, or on cluster-scoped objects (nodes, namespaces),
    granted by a :class:`ClusterRoleBinding` (or, in one namespace, a :class:`RoleBinding`)."""

    kind: ClassVar[str] = "ClusterRole"
    api_version: ClassVar[str] = "rbac.authorization.k8s.io/v1"
    namespaced: ClassVar[bool] = False

    name: str = attrs.field(validator=k8s.NAME)
    rules: tuple[PolicyRule, ...] = attrs.field(converter=_rules, validator=_check_rules)


def _subjects(value: Any) -> Any:
    return _checks.to_tuple(value)


def _check_subjects(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    _checks.tuple_of(ServiceAccount)(instance, attribute, value)
    if not value:
        raise _checks.fail(instance, attribute, "bind at least one ServiceAccount")
    if len(set(value)) != len(value):
        raise _checks.fail(instance, attribute, "a ServiceAccount is listed twice")


@attrs.frozen(eq=False, repr=False)
class RoleBinding(Record):
    """Grants ``role`` (a :class:`Role` of the same namespace, or a :class:`ClusterRole`
    limited to this namespace) to ServiceAccounts: ``RoleBinding("api-reads-pods", role,
    [account], namespace="shop")``."""

    kind: ClassVar[str] = "RoleBinding"
    api_version: ClassVar[str] = "rbac.authorization.k8s.io/v1"

    name: str = attrs.field(validator=k8s.NAME)
    role: Role | ClusterRole = attrs.field(validator=_checks.instance_of((Role, ClusterRole)))
    subjects: tuple[ServiceAccount, ...] = attrs.field(
        converter=_subjects, validator=_check_subjects
    )
    namespace: str = attrs.field(default="default", kw_only=True, validator=k8s.NAME)

    def __attrs_post_init__(self) -> None:
        if isinstance(self.role, Role) and self.role.namespace != self.namespace:
            raise ModelError(
                f"RoleBinding.role: Role {self.role.namespace}/{self.role.name} is in another "
                f"namespace than the binding ({self.namespace}); a RoleBinding grants a Role "
                "of its own namespace (or a ClusterRole)"
            )


@attrs.frozen(eq=False, repr=False)
class ClusterRoleBinding(Record):
    """Grants a :class:`ClusterRole` in every namespace to ServiceAccounts."""

    kind: ClassVar[str] = "ClusterRoleBinding"
    api_version: ClassVar[str] = "rbac.authorization.k8s.io/v1"
    namespaced: ClassVar[bool] = False

    name: str = attrs.field(validator=k8s.NAME)
    role: ClusterRole = attrs.field(validator=_checks.instance_of(ClusterRole))
    subjects: tuple[ServiceAccount, ...] = attrs.field(
        converter=_subjects, validator=_check_subjects
    )
