"""Where sync finds Jenkins and its credentials: flags, then environment, then a config file."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import attrs

from pipedsl.errors import SyncError

DEFAULT_URL = "http://localhost:14149"
ENV_URL = "PIPEDSL_JENKINS_URL"
ENV_USER = "PIPEDSL_JENKINS_USER"
ENV_TOKEN = "PIPEDSL_JENKINS_TOKEN"  # noqa: S105  (the variable's name)


@attrs.frozen(repr=False)
class JenkinsSettings:
    url: str
    user: str | None
    token: str | None

    def __repr__(self) -> str:  # never show the token
        return f"JenkinsSettings(url={self.url!r}, user={self.user!r}, token={'***' if self.token else None})"


def resolve_settings(
    url: str | None, user: str | None, token: str | None, config: Path | None
) -> JenkinsSettings:
    """Each setting from the first place that has it: flag, environment variable, the
    ``[jenkins]`` table of the TOML ``config`` file (``url``, ``user``, ``token``)."""
    table: dict[str, object] = {}
    if config is not None:
        try:
            table = tomllib.loads(config.read_text(encoding="utf-8")).get("jenkins", {})
        except OSError as exc:
            raise SyncError(f"cannot read the config file {config}: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise SyncError(f"{config}: not valid TOML ({exc})") from None
        unknown = sorted(set(table) - {"url", "user", "token"})
        if unknown:
            raise SyncError(
                f"{config}: unknown key(s) in [jenkins]: {', '.join(unknown)}; allowed: url, user, token"
            )

    def pick(flag: str | None, env: str, key: str) -> str | None:
        value = flag or os.environ.get(env) or table.get(key)
        if value is not None and not isinstance(value, str):
            raise SyncError(f"{config}: [jenkins].{key} must be a string")
        return value or None

    return JenkinsSettings(
        url=pick(url, ENV_URL, "url") or DEFAULT_URL,
        user=pick(user, ENV_USER, "user"),
        token=pick(token, ENV_TOKEN, "token"),
    )
