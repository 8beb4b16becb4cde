"""ConfigMap and Secret: settings a container reads, and the keys of credentials it needs."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

import attrs

from pipedsl.errors import ModelError
from pipedsl.model import _checks
from pipedsl.model.k8s import _checks as k8s
from pipedsl.record import Record

# Keys that name a credential: their values belong in a Secret, never in a ConfigMap.
_SECRET_WORDS = frozenset(
    {"password", "passwd", "pass", "pwd", "secret", "token", "key", "credential", "credentials"}
)
_WORDS = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")


# Last words that say a setting describes a credential rather than holds one.
_DESCRIBES = frozenset(
    {"ttl", "seconds", "minutes", "hours", "url", "uri", "column", "length", "name", "id",
     "file", "path", "header", "expiry", "expires", "algorithm", "type", "enabled"}
)  # fmt: skip


def looks_secret(key: str) -> bool:
    """Whether a setting's name says its value is a credential: one of its words (split at
    ``_``, ``-``, ``.`` and camelCase) is a secret word — ``DB_PASSWORD``, ``SECRET_KEY_BASE``,
    ``dbPass`` — unless its last word says it only describes one (``TOKEN_TTL_SECONDS``,
    ``PRIMARY_KEY_COLUMN``); ``MONKEY`` and ``KEYCLOAK_URL`` have no secret word."""
    words = [w.lower() for w in _WORDS.findall(key)]
    return any(w in _SECRET_WORDS for w in words) and words[-1] not in _DESCRIBES


def _config_value(key: object, value: object) -> str:
    # ConfigMap data are strings; a Python value is written the way the application will read
    # it back (Spring and most parsers read 'true'/'false', not 'True').
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    raise ModelError(
        f"ConfigMap.data: the value of {key!r} must be a str, int, float or bool, "
        f"got {type(value).__name__} {value!r}"
    )


def _data(value: object) -> tuple[tuple[str, str], ...]:
    if isinstance(value, tuple) and all(isinstance(i, tuple) for i in value):
        value = dict(value)
    if not isinstance(value, Mapping):
        raise ModelError(
            f"ConfigMap.data: expected a dict of settings, got {type(value).__name__} {value!r}"
        )
    return tuple((k, _config_value(k, v)) for k, v in value.items())


def _check_data(instance: ConfigMap, attribute: attrs.Attribute[Any], value: Any) -> None:
    for key, text in value:
        if not isinstance(key, str):
            raise _checks.fail(instance, attribute, f"keys must be str, got {key!r}")
        k8s.CONFIG_KEY(instance, attribute, key)
        if "\x00" in text:
            raise _checks.fail(instance, attribute, f"the value of {key!r} contains a NUL")
        if looks_secret(key):
            raise _checks.fail(
                instance,
                attribute,
                f"{key!r} looks like a credential; ConfigMaps are readable by anyone who can "
                f"read the namespace and are committed to the repository: declare the key in a "
                f'Secret("...", keys=[{key!r}]) instead',
            )


@attrs.frozen(eq=False, repr=False)
class ConfigMap(Record):
    """Settings as strings: ``ConfigMap("backend-config", {"REGION": "ap-northeast-2", "PORT":
    8080})``. Values become strings (``8080`` -> ``"8080"``, ``True`` -> ``"true"``); keys that
    name a credential (password, secret, token, key, credential) are refused: use a
    :class:`Secret`."""

    kind: ClassVar[str] = "ConfigMap"
    api_version: ClassVar[str] = "v1"

    name: str = attrs.field(validator=k8s.NAME)
    data: tuple[tuple[str, str], ...] = attrs.field(converter=_data, validator=_check_data)
    namespace: str = attrs.field(default="default", kw_only=True, validator=k8s.NAME)

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(k for k, _ in self.data)

    def key(self, key: str) -> ConfigMapKey:
        """One setting, for a container's ``env``: ``env={"REGION": config.key("REGION")}``."""
        return ConfigMapKey(self, key)


def _keys(value: str | Iterable[str]) -> tuple[str, ...]:
    return _checks.str_tuple(value)


def _check_keys(instance: Secret, attribute: attrs.Attribute[Any], value: Any) -> None:
    _checks.tuple_of(str)(instance, attribute, value)
    if not value:
        raise _checks.fail(instance, attribute, "declare at least one key")
    for key in value:
        k8s.CONFIG_KEY(instance, attribute, key)
    if len(set(value)) != len(value):
        raise _checks.fail(instance, attribute, f"duplicate keys in {list(value)!r}")


SECRET_TYPES = {
    "Opaque": (),
    "kubernetes.io/tls": ("tls.crt", "tls.key"),
    "kubernetes.io/dockerconfigjson": (".dockerconfigjson",),
    "kubernetes.io/basic-auth": ("username", "password"),
    "kubernetes.io/ssh-auth": ("ssh-privatekey",),
}
"""The Secret types a person creates, with the keys each must hold (any for Opaque)."""

_ENV_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@attrs.frozen(eq=False, repr=False)
class Secret(Record):
    """A Secret the cluster must hold, by its keys; its values are never in the repository.

    ``Secret("backend", keys=["JWT_SECRET_KEY", "DB_PASSWORD"])``. pipedsl writes no manifest for
    it: a person creates it once (``kubectl create secret generic backend
    --from-env-file=backend.env``), and the deploy fails, naming it — with the command that
    creates one of its ``type`` — while it is missing. ``type`` is Kubernetes' own (``Opaque``,
    ``kubernetes.io/tls``...); a Secret of exactly the keys ``tls.crt`` and ``tls.key`` is a
    TLS Secret unless another type is given.
    """

    kind: ClassVar[str] = "Secret"
    api_version: ClassVar[str] = "v1"

    name: str = attrs.field(validator=k8s.NAME)
    keys: tuple[str, ...] = attrs.field(kw_only=True, converter=_keys, validator=_check_keys)
    namespace: str = attrs.field(default="default", kw_only=True, validator=k8s.NAME)
    type: str | None = attrs.field(
        default=None, kw_only=True, validator=_checks.optional(_checks.one_of(tuple(SECRET_TYPES)))
    )

    def __attrs_post_init__(self) -> None:
        missing = [k for k in SECRET_TYPES[self.secret_type] if k not in self.keys]
        if missing:
            raise ModelError(
                f"Secret.keys: a {self.secret_type} Secret holds {', '.join(SECRET_TYPES[self.secret_type])}; "
                f"{self.name!r} lacks {', '.join(missing)}"
            )

    @property
    def secret_type(self) -> str:
        """Its type: the one given, else TLS for exactly ``tls.crt`` and ``tls.key``, else
        ``Opaque``."""
        if self.type is not None:
            return self.type
        return "kubernetes.io/tls" if set(self.keys) == {"tls.crt", "tls.key"} else "Opaque"

    def key(self, key: str) -> SecretKey:
        """One key, for a container's ``env``: ``env={"DB_PASSWORD": secret.key("DB_PASSWORD")}``."""
        return SecretKey(self, key)

    def create_command(self) -> str:
        """The command a person runs once to put this Secret into the cluster (its values
        from local files, never typed on the command line)."""
        where = f"{self.name} -n {self.namespace}"
        kind = self.secret_type
        if kind == "kubernetes.io/tls":
            return f"kubectl create secret tls {where} --cert=tls.crt --key=tls.key"
        if kind == "kubernetes.io/dockerconfigjson":
            return (
                f"kubectl create secret generic {where} --type=kubernetes.io/dockerconfigjson "
                "--from-file=.dockerconfigjson=config.json"
            )
        typed = "" if kind == "Opaque" else f" --type={kind}"
        files = [k for k in self.keys if not _ENV_KEY.fullmatch(k)]
        if not files:
            return (
                f"kubectl create secret generic {where}{typed} "
                f"--from-env-file={self.name}.env  # with {', '.join(self.keys)}"
            )
        # Keys that are file names (or not variable names) come from files of that name.
        return f"kubectl create secret generic {where}{typed} " + " ".join(
            f"--from-file={key}={key}" for key in self.keys
        )


@attrs.frozen(eq=False, repr=False)
class ConfigMapKey(Record):
    """One key of a :class:`ConfigMap`, checked to exist."""

    config_map: ConfigMap = attrs.field(validator=_checks.instance_of(ConfigMap))
    key: str = attrs.field(validator=_checks.instance_of(str))

    def __attrs_post_init__(self) -> None:
        if self.key not in self.config_map.keys:
            raise ModelError(
                f"ConfigMapKey.key: ConfigMap {self.config_map.name!r} has no key {self.key!r}; "
                f"its keys are {', '.join(self.config_map.keys) or '(none)'}"
            )


@attrs.frozen(eq=False, repr=False)
class SecretKey(Record):
    """One key of a :class:`Secret`, checked to be declared."""

    secret: Secret = attrs.field(validator=_checks.instance_of(Secret))
    key: str = attrs.field(validator=_checks.instance_of(str))

    def __attrs_post_init__(self) -> None:
        if self.key not in self.secret.keys:
            raise ModelError(
                f"SecretKey.key: Secret {self.secret.name!r} declares no key {self.key!r}; "
                f"its keys are {', '.join(self.secret.keys)}"
            )
