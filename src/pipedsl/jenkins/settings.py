"""Where sync finds Jenkins (and GitHub) and their credentials: each setting from its flag, else
its environment variable, else the TOML config file, else its default.

The config file (``--config FILE``)::

    [jenkins]
    url = "http://jenkins.internal:14149"
    user = "deploy"
    token = "..."            # a Jenkins API token

    [github]                 # optional: webhook registration
    api = "https://api.github.com"
    token = "..."
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import attrs

from pipedsl.errors import PipedslError
from pipedsl.record import Record

DEFAULT_URL = "http://localhost:14149"
DEFAULT_GITHUB_API = "https://api.github.com"
ENV_URL = "PIPEDSL_JENKINS_URL"
ENV_USER = "PIPEDSL_JENKINS_USER"
ENV_TOKEN = "PIPEDSL_JENKINS_TOKEN"  # noqa: S105  (the variable's name)
ENV_GITHUB_TOKEN = "PIPEDSL_GITHUB_TOKEN"  # noqa: S105  (the variable's name)
ENV_GITHUB_API = "PIPEDSL_GITHUB_API"


class SettingsError(PipedslError):
    """Unusable settings: a config file that cannot be read, a URL that is not one, ... (a
    usage error: nothing was contacted)."""


@attrs.frozen(eq=False, repr=False)
class JenkinsSettings(Record):
    """Jenkins URL, user and API token; ``repr`` never shows the token."""

    url: str
    user: str | None
    token: str | None

    def __repr__(self) -> str:
        shown = "***" if self.token else None
        return f"JenkinsSettings(url={self.url!r}, user={self.user!r}, token={shown})"


@attrs.frozen(eq=False, repr=False)
class GitHubSettings(Record):
    """GitHub REST API URL and token (``None``: no webhook registration)."""

    api: str
    token: str | None

    def __repr__(self) -> str:
        shown = "***" if self.token else None
        return f"GitHubSettings(api={self.api!r}, token={shown})"


def _table(config: Path | None, name: str, allowed: tuple[str, ...]) -> dict[str, object]:
    if config is None:
        return {}
    try:
        document = tomllib.loads(config.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SettingsError(f"cannot read the config file {config}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise SettingsError(f"{config}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{config}: not valid TOML ({exc})") from None
    table = document.get(name, {})
    if not isinstance(table, dict):
        raise SettingsError(f"{config}: [{name}] must be a table")
    unknown = sorted(set(table) - set(allowed))
    if unknown:
        raise SettingsError(
            f"{config}: unknown key(s) in [{name}]: {', '.join(unknown)}; "
            f"allowed: {', '.join(allowed)}"
        )
    return table


def _pick(
    flag: str | None, env: str, table: dict[str, object], key: str, config: Path | None
) -> str | None:
    if flag:
        return flag
    if os.environ.get(env):
        return os.environ[env]
    value = table.get(key)
    if value is not None and not isinstance(value, str):
        raise SettingsError(f"{config}: {key} must be a string, got {type(value).__name__}")
    return value or None


# A host name: dot-separated labels of letters, digits, '-' (not first or last) and '_'.
_LABEL = re.compile(r"(?!-)[A-Za-z0-9_-]{1,63}(?<!-)")
_SCHEME = re.compile(r"^https?:/*", re.IGNORECASE)


def shown_url(url: str) -> str:
    """``url`` for a message: anything before its last ``@`` (credentials, however mistyped
    the URL around them) replaced by ``***``."""
    head, at, tail = url.rpartition("@")
    if not at:
        return url
    scheme = _SCHEME.match(head)
    return f"{scheme.group(0) if scheme else ''}***@{tail}"


def _checked_url(url: str, what: str, example: str) -> str:
    """``url`` without a trailing ``/`` if it is an http(s) URL that requests and urllib can
    send to; else a :class:`SettingsError` naming what is wrong and what is allowed."""

    def bad(reason: str) -> SettingsError:
        return SettingsError(f"{what} {shown_url(url)!r} {reason} (e.g. {example})")

    if any(c.isspace() or not c.isprintable() for c in url):
        raise bad("contains a space or a control character; percent-encode it (%20)")
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:  # e.g. an unclosed "[" of an IPv6 address
        raise bad("is not an http(s) URL: its host is malformed") from None
    if (
        parts.scheme.lower() in ("http", "https")
        and not parts.netloc.startswith("[")
        and parts.netloc.rpartition("@")[2].count(":") > 1
    ):
        raise bad("has a host with ':' in it; an IPv6 address goes in brackets ([::1])")
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or not host:
        raise bad("is not an http(s) URL: it must start with http:// or https:// and a host")
    if "@" in url.partition(parts.netloc)[2]:
        raise bad(
            "has an '@' after its host: in credentials written into the URL, '/', '@' and ':' "
            "must be percent-encoded (%2F, %40, %3A); better, give --user and --token"
        )
    if parts.query or parts.fragment or url.endswith(("?", "#")):
        raise bad("must not have a query (?...) or a fragment (#...)")
    _check_host(parts.netloc.rpartition("@")[2], host, bad)
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0:
        raise bad("has a port that is not a number from 1 to 65535")
    return url.rstrip("/")


def _check_host(netloc: str, host: str, bad: Callable[[str], SettingsError]) -> None:
    if netloc.startswith("["):
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise bad("has a malformed IPv6 address in [...]") from None
        if "%" in host:
            raise bad("has an IPv6 zone (%...), which pipedsl cannot send to")
        return
    labels = host.removesuffix(".").split(".")
    if len(host) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        raise bad(
            "has a host that is neither an IP address nor a DNS name (dot-separated labels of "
            "1 to 63 letters, digits, '-' and '_'; an international name in its xn-- form)"
        )
    if all(label.isdigit() for label in labels):
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            raise bad("has a malformed IPv4 address") from None


def resolve_settings(
    url: str | None, user: str | None, token: str | None, config: Path | None
) -> JenkinsSettings:
    """Each setting from the first place that has it: flag, environment variable
    (``PIPEDSL_JENKINS_URL``, ``_USER``, ``_TOKEN``), the ``[jenkins]`` table of the TOML
    ``config`` file (``url``, ``user``, ``token``); the URL defaults to
    ``http://localhost:14149``."""
    table = _table(config, "jenkins", ("url", "user", "token"))
    settings = JenkinsSettings(
        url=_checked_url(
            _pick(url, ENV_URL, table, "url", config) or DEFAULT_URL,
            "the Jenkins URL",
            DEFAULT_URL,
        ),
        user=_pick(user, ENV_USER, table, "user", config),
        token=_pick(token, ENV_TOKEN, table, "token", config),
    )
    if settings.user and not settings.token:
        raise SettingsError(
            f"a Jenkins user ({settings.user!r}) was given without an API token; give its token "
            f"(--token, {ENV_TOKEN} or token in the config file)"
        )
    if settings.token and not settings.user:
        raise SettingsError(
            "a Jenkins API token was given without a user; give the user it belongs to "
            f"(--user, {ENV_USER} or user in the config file)"
        )
    return settings


def resolve_github(token: str | None, api: str | None, config: Path | None) -> GitHubSettings:
    """The GitHub token and API URL: flag, environment (``PIPEDSL_GITHUB_TOKEN``,
    ``PIPEDSL_GITHUB_API``), the ``[github]`` table of the config file; the API defaults to
    ``https://api.github.com`` (GitHub Enterprise: ``https://<host>/api/v3``)."""
    table = _table(config, "github", ("api", "token"))
    return GitHubSettings(
        api=_checked_url(
            _pick(api, ENV_GITHUB_API, table, "api", config) or DEFAULT_GITHUB_API,
            "the GitHub API URL",
            DEFAULT_GITHUB_API,
        ),
        token=_pick(token, ENV_GITHUB_TOKEN, table, "token", config),
    )
