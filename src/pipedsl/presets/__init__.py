"""Presets: functions that build whole components and runtimes from a few arguments, every part
still editable. May import ``pipedsl.model`` and ``pipedsl.errors``."""

from pipedsl.presets.backend import spring_boot_backend
from pipedsl.presets.frontend import npm_frontend, pnpm_frontend, yarn_frontend
from pipedsl.presets.nginx import NginxLocation, Proxy, nginx_frontend
from pipedsl.presets.runtimes import (
    Database,
    mariadb,
    mysql,
    postgres,
    spring_boot_service,
)

__all__ = [
    "Database",
    "NginxLocation",
    "Proxy",
    "mariadb",
    "mysql",
    "nginx_frontend",
    "npm_frontend",
    "pnpm_frontend",
    "postgres",
    "spring_boot_backend",
    "spring_boot_service",
    "yarn_frontend",
]
