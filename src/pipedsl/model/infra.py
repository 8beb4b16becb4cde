"""Where things go: container image repositories and the SSH servers deploys run on."""

from __future__ import annotations

import re
import string
from typing import Any

import attrs

from pipedsl.errors import ModelError
from pipedsl.model import _checks
from pipedsl.model.credentials import Credential
from pipedsl.model.values import BUILD_NUMBER, GroovyExpr, GString
from pipedsl.record import CachedRecord

_HOST = r"[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?"
_PATH = r"[a-z0-9]+([._-]+[a-z0-9]+)*(/[a-z0-9]+([._-]+[a-z0-9]+)*)*"

# What a tag template's placeholders become in the Jenkinsfile. Each expands to characters
# that are valid in a Docker tag and need no shell quoting. ``commit``, ``date`` and ``time``
# are known only once the build runs (after its checkout): the step that fixes such a tag
# (``FixImages``) binds these Groovy variables first. ``branch`` is whatever the caller of
# :meth:`Image.reference` knows the job builds (the entry here is not used).
TAG_PLACEHOLDERS: dict[str, GroovyExpr] = {
    "build": BUILD_NUMBER,
    "commit": GroovyExpr("pipedslCommit"),
    "date": GroovyExpr("pipedslClock[0]"),
    "time": GroovyExpr("pipedslClock[1]"),
    "branch": GroovyExpr("env.BRANCH_NAME"),
}
RUNTIME_PLACEHOLDERS = frozenset({"commit", "date", "time"})
"""Placeholders whose value exists only once the build runs (not when its environment is set)."""


def must_be_username_password(
    instance: object, attribute: attrs.Attribute[Any], value: Any
) -> None:
    if value is not None and (
        not isinstance(value, Credential) or value.kind != "username_password"
    ):
        raise _checks.fail(
            instance, attribute, "expected Credential.username_password(...) (registry login)"
        )


@attrs.frozen(eq=False, repr=False)
class Registry(CachedRecord):
    """A container registry, e.g. ``Registry("ghcr.io", login=Credential.username_password("gh"))``."""

    host: str = attrs.field(validator=_checks.matches(_HOST, "a host name, optionally with :port"))
    login: Credential | None = attrs.field(default=None, validator=must_be_username_password)

    def repository(self, path: str) -> Repository:
        """The repository ``path`` (``namespace/name``) in this registry."""
        return Repository(self, path)

    @property
    def has_login(self) -> bool:
        """Whether a push can log in to it."""
        return self.login is not None

    @staticmethod
    def ecr(account: str, *, region: str, aws: Credential | None = None) -> EcrRegistry:
        """An Amazon ECR registry, ``<account>.dkr.ecr.<region>.amazonaws.com``: the push logs
        in with ``aws ecr get-login-password`` (the AWS CLI on the agent), using ``aws`` — a
        username/password credential holding an access key id and secret access key — or,
        without it, the agent's own AWS identity (an instance or pod role)."""
        return EcrRegistry(
            f"{account}.dkr.ecr.{region}.amazonaws.com", account=account, region=region, aws=aws
        )


@attrs.frozen(eq=False, repr=False)
class EcrRegistry(Registry):
    """An Amazon ECR registry (see :meth:`Registry.ecr`)."""

    account: str = attrs.field(
        kw_only=True, validator=_checks.matches(r"[0-9]{12}", "a 12-digit AWS account id")
    )
    region: str = attrs.field(
        kw_only=True,
        validator=_checks.matches(r"[a-z]{2}(-[a-z]+)+-[0-9]", "an AWS region such as eu-west-1"),
    )
    aws: Credential | None = attrs.field(
        default=None, kw_only=True, validator=must_be_username_password
    )

    @property
    def has_login(self) -> bool:
        return True  # the AWS CLI logs in, with ``aws`` or the agent's role


DOCKER_HUB = "docker.io"


@attrs.frozen(eq=False, repr=False)
class Repository(CachedRecord):
    """An image repository: a registry and a path such as ``hosin/lat32t``."""

    registry: Registry = attrs.field(validator=_checks.instance_of(Registry))
    path: str = attrs.field(
        validator=_checks.matches(_PATH, "lower-case path components separated by '/'")
    )

    @property
    def reference(self) -> str:
        """The name ``docker push`` takes (Docker Hub's host is implied, as Docker writes it)."""
        if self.registry.host == DOCKER_HUB:
            return self.path
        return f"{self.registry.host}/{self.path}"

    def tagged(self, tag: str = "{build}", *, var: str = "IMAGE") -> Image:
        """An image of this repository whose tag is derived from ``tag`` once per build:
        ``hub.tagged("backend-{build}")``, ``hub.tagged("{branch}-{commit}")``.

        ``{build}`` is the Jenkins build number, ``{commit}`` the checked-out commit (7 hex
        digits), ``{date}``/``{time}`` the build's UTC date and time (``20261207``, ``153000``,
        read once), ``{branch}`` the branch built (``/`` and other characters a tag cannot hold
        become ``-``).
        """
        return Image(self, tag, var=var)


def DockerHub(path: str, *, login: Credential | None = None) -> Repository:  # noqa: N802  (reads as the registry it names)
    """A repository on Docker Hub: ``DockerHub("hosin/lat32t", login=Credential.username_password("dockerhub"))``."""
    return Registry(DOCKER_HUB, login=login).repository(path)


_TAG_LITERAL = re.compile(r"[A-Za-z0-9_.-]*")
_NOT_IN_TAG = re.compile(r"[^A-Za-z0-9_.-]")


def tag_text(value: str) -> str:
    """``value`` as tag characters: each character a Docker tag cannot hold becomes ``-``."""
    return _NOT_IN_TAG.sub("-", value)


def _check_tag(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, str) or not value:
        raise _checks.fail(
            instance, attribute, "expected a non-empty tag template such as '{build}'"
        )
    allowed = ", ".join("{" + k + "}" for k in TAG_PLACEHOLDERS)
    try:
        parsed = list(string.Formatter().parse(value))
    except ValueError:
        raise _checks.fail(instance, attribute, f"unbalanced braces in {value!r}") from None
    for literal, name, spec, conversion in parsed:
        if not _TAG_LITERAL.fullmatch(literal):
            raise _checks.fail(
                instance,
                attribute,
                f"{value!r}: a tag may only contain letters, digits, '_', '.', '-' and {allowed}",
            )
        if name is not None and (name not in TAG_PLACEHOLDERS or spec or conversion):
            raise _checks.fail(
                instance, attribute, f"unknown placeholder {{{name}}}; allowed: {allowed}"
            )
    if value[0] in ".-":
        raise _checks.fail(instance, attribute, f"{value!r}: a tag cannot start with '.' or '-'")
    if len(value) > 100:
        raise _checks.fail(instance, attribute, "a tag template is limited to 100 characters")


@attrs.frozen(eq=False, repr=False)
class Image(CachedRecord):
    """A container image whose tag is computed once per build.

    The pipeline puts the full reference in the environment variable ``var`` (``IMAGE`` by
    default); building, pushing and deploying all read that one variable, so the tag pushed is
    the tag deployed.
    """

    repository: Repository = attrs.field(validator=_checks.instance_of(Repository))
    tag: str = attrs.field(default="{build}", validator=_check_tag)
    var: str = attrs.field(default="IMAGE", kw_only=True, validator=_checks.ENV_NAME)

    def reference(self, branch: str | GroovyExpr | None = None) -> GString:
        """``repository:tag`` with the tag's placeholders as Groovy expressions; ``{branch}``
        becomes ``branch`` (a branch name, made a valid tag here, or an expression that gives
        one during the build)."""
        parts: list[str | GroovyExpr] = [self.repository.reference, ":"]
        for literal, name, _, _ in string.Formatter().parse(self.tag):
            parts.append(literal)
            if name == "branch":
                if branch is None:
                    raise ModelError(f"{self.tag!r}: the branch is not known here")
                parts.append(tag_text(branch) if isinstance(branch, str) else branch)
            elif name is not None:
                parts.append(TAG_PLACEHOLDERS[name])
        return GString(*parts)

    @property
    def placeholders(self) -> frozenset[str]:
        """The placeholders its tag uses."""
        return frozenset(
            name for _, name, _, _ in string.Formatter().parse(self.tag) if name is not None
        )

    @property
    def fixed_at_start(self) -> bool:
        """Whether its reference is known when the build starts (no ``{commit}``, ``{date}``,
        ``{time}``), so the pipeline's environment can hold it."""
        return not (self.placeholders & RUNTIME_PLACEHOLDERS)

    @property
    def env_ref(self) -> GroovyExpr:
        """The Groovy expression that reads this image's reference during the build."""
        return GroovyExpr(f"env.{self.var}")


@attrs.frozen(eq=False, repr=False)
class SshServer(CachedRecord):
    """An SSH server configured in Jenkins' Publish Over SSH settings, by its name.

    ``remote_root`` is the absolute path that server's "Remote Directory" points at; leave it
    unset when that setting is blank (the login user's home directory), so that commands run
    relative to where files are sent.
    """

    config_name: str = attrs.field(validator=_checks.text(multiline=False))
    remote_root: str | None = attrs.field(
        default=None, kw_only=True, validator=_checks.optional(_checks.text(multiline=False))
    )

    def __attrs_post_init__(self) -> None:
        if self.remote_root is not None and not self.remote_root.startswith("/"):
            raise ModelError(
                f"SshServer.remote_root: {self.remote_root!r} must be an absolute path"
            )
